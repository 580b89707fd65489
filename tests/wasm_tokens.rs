//! The core token scenarios compiled to wasm32, run through BOTH backends: RustCrypto in wasm
//! ([`Verifier::verify`]) and WebCrypto ([`Verifier::verify_async`]). Every scenario asserts the exact verdict and
//! that the two backends return identical results (the whole `Verified`, or the same error).
//!
//! Tokens come from the independent minter in `tests/support` (RustCrypto signing keys, fixed fixtures).
#![cfg(target_arch = "wasm32")]

mod support;

use std::rc::Rc;

use pocketgate::alg::Algorithm;
use pocketgate::crypto::{RustCrypto, WebCrypto};
use pocketgate::error::Error;
use pocketgate::jwk::KeySet;
use pocketgate::policy::{Allow, GroupRule};
use pocketgate::token::Limits;
use pocketgate::verify::{IssuerConfig, Verified, Verifier};
use serde_json::{Value, json};
use support::{CLIENT_ID, ISSUER, Issuer, NOW, b64, fixtures, many_groups};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

fn verifier() -> Verifier {
    let rule = GroupRule { allow: Allow::AnyUser, deny: vec![] };
    Verifier::new(vec![IssuerConfig::new(ISSUER, vec![CLIENT_ID.into()], rule)], Limits::default()).unwrap()
}

fn keys_of(issuer: &Issuer) -> KeySet {
    KeySet::from_json(issuer.jwks_json().as_bytes()).unwrap()
}

/// Verify `token` against `keys` with both backends at `now`; assert they agree exactly and return the verdict.
async fn both(web: &WebCrypto, token: &str, keys: &KeySet, now: u64) -> Result<Verified, Error> {
    let v = verifier();
    let rc = v.verify(token, |_| Some(keys), &RustCrypto, now);
    let wc = v.verify_async(token, |_| Some(keys), web, now).await;
    assert_eq!(rc, wc, "RustCrypto (wasm) and WebCrypto disagree");
    rc
}

fn code(r: &Result<Verified, Error>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

/// The token with its signature's first byte changed (still canonical base64url of the same length).
fn tamper_signature(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    format!("{input}.{first}{}", &sig[1..])
}

/// A signer that publishes `issuer`'s public key under its `kid` but signs with a DIFFERENT private key.
fn impostor(issuer: &Issuer) -> Issuer {
    match issuer.alg {
        // Another RSA-2048 fixture, announced as this issuer's kid.
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
            let other = if issuer.alg == Algorithm::RS256 { fixtures::RS384 } else { fixtures::RS256 };
            Issuer::from_fixture(other, issuer.alg).with_kid(&issuer.kid)
        }
        // Same public members, another private scalar / seed.
        alg => {
            let fixture = match alg {
                Algorithm::ES256 => fixtures::ES256,
                Algorithm::ES384 => fixtures::ES384,
                Algorithm::ES512 => fixtures::ES512,
                _ => fixtures::EDDSA,
            };
            let mut jwk: Value = serde_json::from_str(fixture).unwrap();
            let len = match alg {
                Algorithm::ES384 => 48,
                Algorithm::ES512 => 66,
                _ => 32,
            };
            let mut d = vec![0x11u8; len];
            d[0] = 0x01; // below every group order
            jwk["d"] = json!(b64(&d));
            Issuer::from_fixture(&jwk.to_string(), alg).with_kid(&issuer.kid)
        }
    }
}

#[wasm_bindgen_test]
async fn id_tokens_for_every_algorithm_verify_identically() {
    let web = WebCrypto::new();
    for issuer in Issuer::all() {
        let keys = keys_of(&issuer);
        let alg = issuer.alg;

        let array_aud = issuer.id_token(json!({}));
        let ok = both(&web, &array_aud, &keys, NOW).await.unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(ok.alg, alg);
        assert_eq!(ok.kid.as_deref(), Some(issuer.kid.as_str()));
        assert_eq!(ok.identity.sub, support::SUB);
        assert_eq!(ok.exp, (NOW + support::LIFETIME) as f64);

        let string_aud = issuer.id_token(json!({"aud": CLIENT_ID}));
        assert_eq!(code(&both(&web, &string_aud, &keys, NOW).await), "ok", "{alg}: aud as a string");

        let groups = many_groups(300);
        let big = issuer.id_token(json!({ "groups": groups }));
        let ok = both(&web, &big, &keys, NOW).await.unwrap_or_else(|e| panic!("{alg} 300 groups: {e:?}"));
        assert_eq!(ok.identity.groups.len(), 300, "{alg}: {} bytes", big.len());

        assert!(web.is_cached(&ok.thumbprint, alg), "{alg}: imported key cached");
    }
    assert_eq!(web.cached_keys(), 7, "one import per key");
}

#[wasm_bindgen_test]
async fn tampered_signatures_and_wrong_keys_are_refused_identically() {
    let web = WebCrypto::new();
    for issuer in Issuer::all() {
        let keys = keys_of(&issuer);
        let alg = issuer.alg;
        let good = issuer.id_token(json!({}));

        let tampered = tamper_signature(&good);
        assert_eq!(code(&both(&web, &tampered, &keys, NOW).await), "signature_invalid", "{alg}: tampered");

        // Truncated signature (one byte short): refused before WebCrypto is called, same verdict.
        let (input, sig) = good.rsplit_once('.').unwrap();
        let raw = base64_decode(sig);
        let short = format!("{input}.{}", b64(&raw[..raw.len() - 1]));
        assert_eq!(code(&both(&web, &short, &keys, NOW).await), "signature_invalid", "{alg}: short signature");

        // Payload swapped under a valid signature.
        let forged = issuer.id_token(json!({"groups": ["admins"]}));
        let (_, forged_sig) = forged.rsplit_once('.').unwrap();
        let spliced = format!("{input}.{forged_sig}");
        let r = both(&web, &spliced, &keys, NOW).await;
        assert_eq!(code(&r), "signature_invalid", "{alg}: signature of another payload");

        let wrong = impostor(&issuer).id_token(json!({}));
        assert_eq!(code(&both(&web, &wrong, &keys, NOW).await), "signature_invalid", "{alg}: wrong private key");

        // A key of another kind published under the token's kid.
        let other_kind = if alg == Algorithm::EdDSA { Issuer::es256() } else { Issuer::eddsa() };
        let swapped = keys_of(&other_kind.with_kid(&issuer.kid));
        let r = both(&web, &good, &swapped, NOW).await;
        assert_eq!(code(&r), "key_mismatch", "{alg}: key of another kind");
    }
}

#[wasm_bindgen_test]
async fn claims_failures_are_identical_after_a_good_signature() {
    let web = WebCrypto::new();
    for issuer in [Issuer::rs256(), Issuer::es256(), Issuer::eddsa()] {
        let keys = keys_of(&issuer);
        let alg = issuer.alg;
        let cases: [(&str, String, &str); 7] = [
            ("expired", issuer.id_token(json!({"exp": NOW - 3600, "iat": NOW - 7200})), "token_expired"),
            ("expired within leeway", issuer.id_token(json!({"exp": NOW - 30})), "ok"),
            ("wrong audience", issuer.id_token(json!({"aud": "other-client"})), "audience_mismatch"),
            ("audience array without client", issuer.id_token(json!({"aud": ["a", "b"]})), "audience_mismatch"),
            (
                "wrong issuer",
                issuer.clone().with_iss("https://evil.example.com").id_token(json!({})),
                "issuer_not_trusted",
            ),
            (
                "issuer with trailing slash",
                issuer.clone().with_iss("https://id.example.com/").id_token(json!({})),
                "issuer_not_trusted",
            ),
            ("missing exp", issuer.id_token(json!({"exp": null})), "claim_missing"),
        ];
        for (what, token, want) in cases {
            assert_eq!(code(&both(&web, &token, &keys, NOW).await), want, "{alg}: {what}");
        }
        let session = issuer.session_token(json!({}));
        assert_ne!(code(&both(&web, &session, &keys, NOW).await), "ok", "{alg}: PocketID session token");
        let access = issuer.access_token(json!({}));
        assert_ne!(code(&both(&web, &access, &keys, NOW).await), "ok", "{alg}: access token");
    }
}

#[wasm_bindgen_test]
async fn concurrent_webcrypto_verifications_share_one_backend() {
    // 3 algorithms x 8 tokens in flight at once against one WebCrypto: interleaved awaits must not trip the key
    // cache, and every verdict must be right.
    let web = Rc::new(WebCrypto::new());
    let v = Rc::new(verifier());
    let promises = js_sys::Array::new();
    for issuer in [Issuer::rs256(), Issuer::es256(), Issuer::eddsa()] {
        let keys = Rc::new(keys_of(&issuer));
        for i in 0..8 {
            let token =
                if i % 2 == 0 { issuer.id_token(json!({})) } else { tamper_signature(&issuer.id_token(json!({}))) };
            let (web, v, keys) = (web.clone(), v.clone(), keys.clone());
            promises.push(&wasm_bindgen_futures::future_to_promise(async move {
                let r = v.verify_async(&token, |_| Some(&*keys), &*web, NOW).await;
                Ok(JsValue::from_str(code(&r)))
            }));
        }
    }
    let results = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::all(&promises)).await.unwrap();
    let codes: Vec<String> = js_sys::Array::from(&results).iter().map(|v| v.as_string().unwrap()).collect();
    assert_eq!(codes.len(), 24);
    for (i, c) in codes.iter().enumerate() {
        assert_eq!(c, if i % 2 == 0 { "ok" } else { "signature_invalid" }, "promise {i}");
    }
    assert_eq!(web.cached_keys(), 3, "concurrent first uses of a key leave one cache entry");
    console_log!("24 concurrent WebCrypto verifications: {} keys cached", web.cached_keys());
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}
