//! One named test per item of the security catalogue (`../shared/reference/anchors.md`), each asserting the exact
//! error code, run through the public pipeline with two backends that must agree on every verdict:
//! natively ring and RustCrypto; compiled to wasm32 (under Node 22, `cargo xtask test`) RustCrypto and WebCrypto.
//! Also: PocketID-shaped ID tokens for every algorithm PocketID can sign with.

mod support;

use hmac::{KeyInit, Mac};
use pocketgate::crypto::{AsyncSignatureVerifier, RustCrypto};
use pocketgate::jwk::KeySet;
use pocketgate::policy::{Allow, GroupRule};
use pocketgate::token::Limits;
use pocketgate::verify::{IssuerConfig, Verified, Verifier};
use pocketgate::{Error, alg::Algorithm};
use serde_json::json;
use support::{CLIENT_ID, Issuer, NOW, b64, many_groups};

fn config(iss: &str) -> IssuerConfig {
    let users = GroupRule { allow: Allow::Groups(vec!["netbird-users".into()]), deny: vec![] };
    IssuerConfig::new(iss, vec![CLIENT_ID.into()], users)
}

/// The backend compared with RustCrypto: ring natively, WebCrypto in wasm.
#[cfg(not(target_arch = "wasm32"))]
fn other_backend() -> impl AsyncSignatureVerifier {
    pocketgate::crypto::Ring
}
#[cfg(target_arch = "wasm32")]
fn other_backend() -> impl AsyncSignatureVerifier {
    pocketgate::crypto::WebCrypto::new()
}

/// Each test body is an `async` block: natively it runs to completion at once (both native backends are
/// synchronous); in wasm it is a `wasm_bindgen_test` awaiting WebCrypto.
macro_rules! catalogue_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() {
            block_on(async $body)
        }
        $(#[$meta])*
        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() $body
    };
}

#[cfg(not(target_arch = "wasm32"))]
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("native backends are synchronous: the future must be ready at once"),
    }
}

/// Verify `token` against `jwks` with both backends, assert they agree, return the verdict.
async fn verify_with(jwks: &str, token: &str, cfg: IssuerConfig) -> Result<Verified, Error> {
    let keys = KeySet::from_json(jwks.as_bytes()).expect("JWKS document parses");
    let verifier = Verifier::new(vec![cfg], Limits::default()).expect("valid config");
    let a = verifier.verify(token, |_| Some(&keys), &RustCrypto, NOW);
    let b = verifier.verify_async(token, |_| Some(&keys), &other_backend(), NOW).await;
    assert_eq!(a, b, "the two backends disagree");
    a
}

async fn verify(issuer: &Issuer, token: &str) -> Result<Verified, Error> {
    verify_with(&issuer.jwks_json(), token, config(&issuer.iss)).await
}

async fn code(issuer: &Issuer, token: &str) -> &'static str {
    match verify(issuer, token).await {
        Ok(_) => "ACCEPTED",
        Err(e) => e.code(),
    }
}

fn claims(issuer: &Issuer) -> String {
    support::merge(support::id_token_claims_for(&issuer.iss, NOW, support::SUB, &["netbird-users"]), json!({}))
        .to_string()
}

/// Replace the signature segment of a token.
fn with_signature(token: &str, sig: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64(sig))
}

// ---------------------------------------------------------------- PocketID's own tokens

catalogue_test! {
    fn pocketid_id_tokens_verify_for_every_algorithm() {
        for issuer in Issuer::all() {
            let v = verify(&issuer, &issuer.id_token(json!({}))).await.unwrap_or_else(|e| panic!("{:?}: {e}", issuer.alg));
            assert_eq!(v.alg, issuer.alg);
            assert_eq!(v.kid.as_deref(), Some(issuer.kid.as_str()));
            assert_eq!(v.exp, (NOW + 3600) as f64);
            let id = &v.identity;
            assert_eq!(id.sub, support::SUB);
            assert_eq!(id.groups, vec!["netbird-users".to_string()]);
        }
    }
}

catalogue_test! {
    fn audience_as_string_and_as_array() {
        let issuer = Issuer::rs256();
        assert!(verify(&issuer, &issuer.id_token(json!({"aud": "netbird"}))).await.is_ok(), "≤v2.9 string aud");
        assert!(verify(&issuer, &issuer.id_token(json!({"aud": ["netbird"]}))).await.is_ok(), "v2.10+ array aud");
        assert!(verify(&issuer, &issuer.id_token(json!({"aud": ["other", "netbird"]}))).await.is_ok());
        assert_eq!(code(&issuer, &issuer.id_token(json!({"aud": ["other"]}))).await, "audience_mismatch");
    }
}

catalogue_test! {
    fn many_groups_still_pass_the_size_caps() {
        let issuer = Issuer::rs256();
        // Realistic group names (PocketID group *names*, ~25 characters), 300 of them.
        let groups: Vec<String> = (0..300).map(|i| format!("netbird-team-{i:04}-members")).collect();
        let token = issuer.id_token(json!({ "groups": groups }));
        assert!(token.len() > 8_000, "a realistic large token ({} bytes)", token.len());
        let v = verify(&issuer, &token).await.expect("300 groups verify");
        assert_eq!(v.identity.groups, groups);
    }
}

catalogue_test! {
    fn signature_is_checked_before_claims() {
        let issuer = Issuer::rs256();
        let expired = issuer.id_token(json!({"exp": NOW - 3600, "iat": NOW - 7200}));
        assert_eq!(code(&issuer, &expired).await, "token_expired");
        let mut sig = issuer.sign_bytes(b"something else");
        sig[0] ^= 1;
        assert_eq!(code(&issuer, &with_signature(&expired, &sig)).await, "signature_invalid");
    }
}

catalogue_test! {
    fn issuer_with_trailing_slash_is_not_the_issuer() {
        let issuer = Issuer::rs256();
        let token = issuer.id_token(json!({}));
        let r = verify_with(&issuer.jwks_json(), &token, config("https://id.example.com/")).await;
        assert_eq!(r.unwrap_err(), Error::IssuerNotTrusted);
    }
}

// ---------------------------------------------------------------- the catalogue

catalogue_test! {
    fn catalogue_alg_none_is_rejected() {
        let issuer = Issuer::rs256();
        for alg in ["none", "None", "NONE", "nOnE"] {
            let h = json!({"alg": alg, "kid": issuer.kid, "typ": "JWT"}).to_string();
            let token = format!("{}.{}.", b64(&h), b64(claims(&issuer)));
            assert_eq!(code(&issuer, &token).await, "alg_not_allowed", "{alg}");
            // …also with a signature segment present.
            assert_eq!(code(&issuer, &format!("{token}c2ln")).await, "alg_not_allowed", "{alg}");
        }
    }
}

catalogue_test! {
    fn catalogue_rs_hs_confusion_public_key_as_hmac_secret() {
        let issuer = Issuer::rs256();
        // The attacker HMACs with every public form of the key they can find: the JWK text and its modulus bytes.
        let secrets = [issuer.jwks_json().into_bytes(), issuer.public_jwk().to_string().into_bytes()];
        for alg in ["HS256", "HS384", "HS512"] {
            for secret in &secrets {
                let h = json!({"alg": alg, "kid": issuer.kid, "typ": "JWT"}).to_string();
                let input = format!("{}.{}", b64(&h), b64(claims(&issuer)));
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
                mac.update(input.as_bytes());
                let token = format!("{input}.{}", b64(mac.finalize().into_bytes()));
                assert_eq!(code(&issuer, &token).await, "alg_not_allowed", "{alg}");
            }
        }
    }
}

catalogue_test! {
    fn catalogue_embedded_jwk_header_is_never_trusted() {
        let issuer = Issuer::rs256();
        let attacker = Issuer::rs384().with_kid(&issuer.kid);
        // Attacker signs with its own key, names the legitimate kid and embeds its own public key in `jwk`.
        let h = json!({"alg": "RS256", "kid": issuer.kid, "typ": "JWT", "jwk": attacker.public_jwk()}).to_string();
        let input = format!("{}.{}", b64(&h), b64(claims(&issuer)));
        let token = format!("{input}.{}", b64(attacker.sign_bytes_as(Algorithm::RS256, input.as_bytes())));
        assert_eq!(code(&issuer, &token).await, "signature_invalid");
        // With its own kid, the key is simply unknown: the header's key is not a key source.
        let h = json!({"alg": "RS256", "kid": "attackerkid", "jwk": attacker.public_jwk()}).to_string();
        let input = format!("{}.{}", b64(&h), b64(claims(&issuer)));
        let token = format!("{input}.{}", b64(attacker.sign_bytes_as(Algorithm::RS256, input.as_bytes())));
        assert_eq!(code(&issuer, &token).await, "key_not_found");
    }
}

catalogue_test! {
    fn catalogue_jku_x5u_x5c_are_never_used() {
        let issuer = Issuer::rs256();
        let attacker = Issuer::rs384().with_kid(&issuer.kid);
        for (name, value) in [
            ("jku", json!("https://attacker.example/jwks.json")),
            ("x5u", json!("https://attacker.example/cert.pem")),
            ("x5c", json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"])),
        ] {
            let mut h = json!({"alg": "RS256", "kid": issuer.kid, "typ": "JWT"});
            h[name] = value;
            let input = format!("{}.{}", b64(h.to_string()), b64(claims(&issuer)));
            let forged = format!("{input}.{}", b64(attacker.sign_bytes_as(Algorithm::RS256, input.as_bytes())));
            assert_eq!(code(&issuer, &forged).await, "signature_invalid", "{name}");
            // The same header signed by the real key is fine: the parameter is ignored, not trusted, not fetched.
            let genuine = issuer.sign_raw(&h.to_string(), &claims(&issuer));
            assert!(verify(&issuer, &genuine).await.is_ok(), "{name}");
        }
    }
}

catalogue_test! {
    fn catalogue_kid_is_only_a_lookup_key() {
        let issuer = Issuer::rs256();
        for kid in ["../../etc/passwd", "' OR '1'='1", "8uHDw3M6rf8\u{0}", "", "*"] {
            let h = json!({"alg": "RS256", "kid": kid, "typ": "JWT"}).to_string();
            let token = issuer.sign_raw(&h, &claims(&issuer));
            assert_eq!(code(&issuer, &token).await, "key_not_found", "{kid:?}");
        }
        let h = json!({"alg": "RS256", "kid": 12345, "typ": "JWT"}).to_string();
        assert_eq!(code(&issuer, &issuer.sign_raw(&h, &claims(&issuer))).await, "token_json");
        // A kid of the right key but a token alg that key does not declare: mismatch, no guessing.
        let token = issuer.sign_raw(&json!({"alg": "RS384", "kid": issuer.kid}).to_string(), &claims(&issuer));
        assert_eq!(code(&issuer, &token).await, "key_mismatch");
        // A kid naming an RSA key, with an EC algorithm.
        let token = issuer.sign_raw(&json!({"alg": "ES256", "kid": issuer.kid}).to_string(), &claims(&issuer));
        assert_eq!(code(&issuer, &token).await, "key_mismatch");
    }
}

catalogue_test! {
    fn catalogue_crit_with_unknown_entries_is_rejected() {
        let issuer = Issuer::es256();
        for crit in [json!(["exp"]), json!(["b64"]), json!(["http://example.invalid/UNDEFINED"]), json!([])] {
            let h = json!({"alg": "ES256", "kid": issuer.kid, "crit": crit, "b64": true}).to_string();
            assert_eq!(code(&issuer, &issuer.sign_raw(&h, &claims(&issuer))).await, "crit_unsupported", "{crit}");
        }
    }
}

catalogue_test! {
    fn catalogue_nested_jwt_is_rejected() {
        let issuer = Issuer::rs256();
        let inner = issuer.id_token(json!({}));
        for cty in ["JWT", "jwt", "application/jwt"] {
            let h = json!({"alg": "RS256", "kid": issuer.kid, "cty": cty}).to_string();
            let token = issuer.sign_raw(&h, &json!({"token": inner}).to_string());
            assert_eq!(code(&issuer, &token).await, "nested_jwt", "{cty}");
        }
    }
}

catalogue_test! {
    fn catalogue_oversized_tokens_and_headers_are_rejected_before_decoding() {
        let issuer = Issuer::rs256();
        let limits = Limits::default();
        let huge = issuer.id_token(json!({ "groups": many_groups(4_000) }));
        assert!(huge.len() > limits.max_token);
        assert_eq!(code(&issuer, &huge).await, "token_too_large");
        let padding = "x".repeat(limits.max_header);
        let h = json!({"alg": "RS256", "kid": issuer.kid, "pad": padding}).to_string();
        assert_eq!(code(&issuer, &issuer.sign_raw(&h, &claims(&issuer))).await, "token_too_large");
        // Garbage of the right overall size is still refused for its size, not parsed.
        assert_eq!(code(&issuer, &"!".repeat(limits.max_token + 1)).await, "token_too_large");
    }
}

catalogue_test! {
    fn catalogue_duplicate_json_keys_are_rejected() {
        let issuer = Issuer::rs256();
        let h = format!(r#"{{"alg":"RS256","kid":"{}","alg":"RS256"}}"#, issuer.kid);
        assert_eq!(code(&issuer, &issuer.sign_raw(&h, &claims(&issuer))).await, "token_duplicate_key");
        let header = issuer.header_json(Some("JWT"));
        let body = claims(&issuer);
        for dup in [r#""iss":"https://evil.example","#, r#""groups":["admins"],"#, r#""aud":"netbird","#] {
            let payload = format!("{{{dup}{}", &body[1..]);
            assert_eq!(code(&issuer, &issuer.sign_raw(&header, &payload)).await, "token_duplicate_key", "{dup}");
        }
    }
}

catalogue_test! {
    fn catalogue_non_canonical_base64url_is_rejected() {
        let issuer = Issuer::rs256();
        let token = issuer.id_token(json!({}));
        let (h, rest) = token.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let cases = [
            format!("{h}=.{p}.{s}"),                                      // padding
            format!("{h}.{p}.{s}=="),                                     // padding on the signature
            format!("{h}.{p} .{s}"),                                      // whitespace
            format!("{h}.{p}.{}", s.replace('-', "+").replace('_', "/")), // standard alphabet
            format!("{h}.{p}\n.{s}"),                                     // newline
        ];
        for t in &cases {
            assert_eq!(code(&issuer, t).await, "token_base64", "{t:.40}");
        }
        // A signature whose last character carries non-zero unused bits decodes to the same bytes in lax decoders.
        // RSA-2048: 256 bytes = 341⅓ chars → the last char has 4 unused bits.
        let last = s.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = alphabet.find(last).unwrap();
        let twin = alphabet.as_bytes()[idx | 1] as char;
        assert_ne!(twin, last, "fixture signature ends on a canonical char with a free low bit");
        let t = format!("{h}.{p}.{}{twin}", &s[..s.len() - 1]);
        assert_eq!(code(&issuer, &t).await, "token_base64");
    }
}

catalogue_test! {
    fn catalogue_ecdsa_r_s_edge_cases_are_rejected() {
        // Group orders, big-endian.
        let n256 = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
        let n384 = hex("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973");
        for (issuer, n) in [(Issuer::es256(), n256), (Issuer::es384(), n384)] {
            let len = n.len();
            let token = issuer.id_token(json!({}));
            let genuine = {
                let s = token.rsplit_once('.').unwrap().1;
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s).unwrap()
            };
            let (r, s) = genuine.split_at(len);
            let zero = vec![0u8; len];
            let mut one = vec![0u8; len];
            one[len - 1] = 1;
            let cases: Vec<(&str, Vec<u8>)> = vec![
                ("r=0", [&zero[..], s].concat()),
                ("s=0", [r, &zero[..]].concat()),
                ("r=s=0", [&zero[..], &zero[..]].concat()),
                ("r=n", [&n[..], s].concat()),
                ("s=n", [r, &n[..]].concat()),
                ("r=1,s=1", [&one[..], &one[..]].concat()),
                ("truncated", genuine[..genuine.len() - 1].to_vec()),
                ("extended", [&genuine[..], &[0u8][..]].concat()),
                ("DER-like", [&[0x30u8, 0x44, 0x02, 0x20][..], r, &[0x02, 0x20][..], s].concat()),
            ];
            for (name, sig) in cases {
                assert_eq!(code(&issuer, &with_signature(&token, &sig)).await, "signature_invalid", "{:?} {name}", issuer.alg);
            }
            assert!(verify(&issuer, &token).await.is_ok());
        }
    }
}

catalogue_test! {
    fn catalogue_rsa_padding_tampering_is_rejected() {
        let issuer = Issuer::rs256();
        let token = issuer.id_token(json!({}));
        let sig = {
            let s = token.rsplit_once('.').unwrap().1;
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s).unwrap()
        };
        let mut flipped_first = sig.clone();
        flipped_first[0] ^= 0x80;
        let mut flipped_last = sig.clone();
        flipped_last[255] ^= 1;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("first byte", flipped_first),
            ("last byte", flipped_last),
            ("short by one", sig[1..].to_vec()),
            ("long by one", [&[0u8][..], &sig[..]].concat()),
            ("zero", vec![0u8; 256]),
            ("one", [vec![0u8; 255], vec![1]].concat()),
            ("all ff", vec![0xff; 256]),
            // A signature made with SHA-384 under an RS256 header: right key, wrong DigestInfo in the padding.
            ("other hash", issuer.sign_bytes_as(Algorithm::RS384, token.rsplit_once('.').unwrap().0.as_bytes())),
        ];
        for (name, s) in cases {
            assert_eq!(code(&issuer, &with_signature(&token, &s)).await, "signature_invalid", "{name}");
        }
    }
}

catalogue_test! {
    fn catalogue_weak_keys_are_rejected() {
        let weak = Issuer::rsa1024_weak();
        let keys = KeySet::from_json(weak.jwks_json().as_bytes()).unwrap();
        assert!(keys.keys().is_empty());
        assert_eq!(keys.rejected().len(), 1);
        assert_eq!(keys.rejected()[0].code(), "key_invalid");
        // The weak key never verifies anything: with no other key, the set is an outage (503), as the gate says.
        assert_eq!(code(&weak, &weak.id_token(json!({}))).await, "keys_unavailable");
        // e = 1 makes "signature" = message: a 2048-bit modulus with e = 1 must never load.
        let good = Issuer::rs256();
        let mut jwk = good.public_jwk();
        jwk["e"] = json!("AQ");
        let keys = KeySet::from_json(support::jwks_json_of(&[jwk]).as_bytes()).unwrap();
        assert!(keys.keys().is_empty());
        assert_eq!(keys.rejected()[0].code(), "key_invalid");
        // Even exponent.
        let mut jwk = good.public_jwk();
        jwk["e"] = json!("AQAA");
        let keys = KeySet::from_json(support::jwks_json_of(&[jwk]).as_bytes()).unwrap();
        assert_eq!(keys.rejected()[0].code(), "key_invalid");
    }
}

catalogue_test! {
    fn catalogue_token_type_confusion_is_rejected() {
        let issuer = Issuer::rs256();
        // PocketID's OAuth access token: aud contains the client id, but typ is at+jwt.
        assert_eq!(code(&issuer, &issuer.access_token(json!({}))).await, "token_type_not_accepted");
        // PocketID's admin-UI session token: aud is the issuer itself.
        assert_eq!(code(&issuer, &issuer.session_token(json!({}))).await, "audience_mismatch");
        // …even when it happens to name the client id, its type gives it away.
        let session_as_client = issuer.session_token(json!({"aud": [CLIENT_ID]}));
        assert_eq!(code(&issuer, &session_as_client).await, "token_type_not_accepted");
        // ≤v2.9 access tokens carried `type: oauth-access-token` and a string aud.
        let old = issuer.id_token(json!({"type": "oauth-access-token", "aud": CLIENT_ID}));
        assert_eq!(code(&issuer, &old).await, "token_type_not_accepted");
    }
}

catalogue_test! {
    /// OIDC Core requires `sub` in every ID token: without one (or with a number), a token used to be admitted
    /// and the identity header forwarded upstream was empty.
    fn catalogue_token_without_a_string_sub_is_rejected() {
        let issuer = Issuer::rs256();
        assert_eq!(code(&issuer, &issuer.id_token(json!({"sub": null}))).await, "claim_missing");
        for sub in [json!(""), json!(12345), json!(["u"]), json!(true)] {
            assert_eq!(code(&issuer, &issuer.id_token(json!({"sub": sub}))).await, "claim_invalid", "{sub}");
        }
    }
}

catalogue_test! {
    /// No maximum lifetime used to be enforced (Envoy: `max_lifetime`, jose: `maxTokenAge`): a token whose `exp`
    /// is years away is refused, as is one issued long ago with a late `exp`; a one-day token (QuFabric's embedded
    /// IdP) passes.
    fn catalogue_overlong_token_lifetime_is_rejected() {
        let issuer = Issuer::rs256();
        let years = issuer.id_token(json!({"exp": NOW + 5 * 365 * 86_400}));
        assert_eq!(code(&issuer, &years).await, "token_lifetime_too_long");
        let stale = issuer.id_token(json!({"iat": NOW - 2 * 86_400, "exp": NOW + 600}));
        assert_eq!(code(&issuer, &stale).await, "token_lifetime_too_long");
        let day = issuer.id_token(json!({"iat": NOW, "exp": NOW + 86_400}));
        assert_eq!(code(&issuer, &day).await, "ACCEPTED");
        let mut short = config(&issuer.iss);
        short.max_token_age = 600;
        let hour = issuer.id_token(json!({}));
        assert_eq!(verify_with(&issuer.jwks_json(), &hour, short).await.unwrap_err().code(), "token_lifetime_too_long");
    }
}

catalogue_test! {
    fn catalogue_unknown_kid_does_not_fall_back_to_another_key() {
        let issuer = Issuer::rs256();
        let other = Issuer::rs256().with_kid("rotatedKey01");
        let token = other.id_token(json!({}));
        // Same key material, new kid: the set only knows the old kid, and the gate must not try keys at random.
        assert_eq!(code(&issuer, &token).await, "key_not_found");
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

catalogue_test! {
    fn catalogue_unknown_kid_flood_causes_bounded_refetches() {
        use pocketgate::keycache::{Action, FetchOutcome, FetchReason, KeyCache, KeyCachePolicy};
        let issuer = Issuer::rs256();
        let verifier = Verifier::new(vec![config(&issuer.iss)], Limits::default()).unwrap();
        let load =
            || FetchOutcome::Loaded { keys: KeySet::from_json(issuer.jwks_json().as_bytes()).unwrap(), max_age: None };
        let mut cache = KeyCache::new(KeyCachePolicy::default());
        assert_eq!(cache.poll(NOW), Action::Fetch(FetchReason::Initial));
        cache.complete(load(), NOW);
        // 6 000 forged tokens, each with a fresh kid, spread over two minutes (50 per second).
        let mut fetches = Vec::new();
        for i in 0..6_000u64 {
            let now = NOW + i / 50;
            // The signature never matters: the lookup fails first (signing 6 000 RSA tokens would only slow the test).
            let header = json!({"alg": "RS256", "kid": format!("flood{i:06}"), "typ": "JWT"}).to_string();
            let token = format!("{}.{}.{}", b64(header), b64(claims(&issuer)), b64([7u8; 256]));
            let prepared = verifier.prepare(&token).unwrap();
            let keys = cache.keys(now).unwrap();
            let err = prepared.select_key(&keys).unwrap_err();
            assert!(err.wants_key_refresh(), "{err:?}");
            if let Action::Fetch(reason) = cache.on_unknown_kid(now) {
                assert_eq!(reason, FetchReason::UnknownKid);
                fetches.push(now - NOW);
                cache.complete(load(), now);
            }
        }
        // One refresh per 30-second cooldown, never more: t = 0, 30, 60, 90 within 120 seconds.
        assert_eq!(fetches, vec![0, 30, 60, 90]);
    }
}
