//! Wycheproof vectors in wasm32 through BOTH signature backends (RustCrypto compiled to wasm, and WebCrypto), with
//! identical verdicts required.
//!
//! - Per-primitive vectors from the `wycheproof` crate (embedded, so they work in wasm): RSA PKCS#1 v1.5
//!   (2048/3072, SHA-256/384/512), ECDSA P1363 (P-256/384/521) and Ed25519.
//! - Google's `json_web_signature_test.json`, read in place from `$WYCHEPROOF_DIR` through Node's `fs` (wasm has no
//!   file system of its own); absent: a loud message, and a failure under `CI=true`.
//!
//! Run: `cargo test --target wasm32-unknown-unknown --no-default-features --features webcrypto,rustcrypto
//! --test wasm_vectors` with `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner` and Node 22 first
//! on `PATH` (see `cargo xtask test`).
#![cfg(target_arch = "wasm32")]

use pocketgate::alg::{Algorithm, AlgorithmSet, Curve};
use pocketgate::crypto::{AsyncSignatureVerifier, RustCrypto, SignatureVerifier, WebCrypto};
use pocketgate::error::Error;
use pocketgate::jwk::{Jwk, KeyMaterial, KeySet};
use pocketgate::token::{self, Limits};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};
use wycheproof::TestResult;

// ---------------------------------------------------------------- helpers

fn thumbprint(tag: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(tag.as_bytes());
    for p in parts {
        h.update((p.len() as u32).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn jwk(material: KeyMaterial) -> Jwk {
    let thumbprint = match &material {
        KeyMaterial::Rsa { n, e } => thumbprint("RSA", &[n, e]),
        KeyMaterial::Ec { curve, x, y } => thumbprint(curve.name(), &[x, y]),
        KeyMaterial::Ed25519 { x } => thumbprint("Ed25519", &[x]),
    };
    Jwk { kid: None, alg: None, key_use: None, ops_forbid_verify: false, material, thumbprint }
}

/// Big-endian integer without leading zero bytes (Wycheproof's hex is two's complement, sometimes with a 00).
fn unsigned(v: &[u8]) -> Vec<u8> {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v[start..].to_vec()
}

/// A coordinate left-padded to exactly `len` bytes; `None` when it does not fit.
fn coordinate(v: &[u8], len: usize) -> Option<Vec<u8>> {
    let v = unsigned(v);
    (v.len() <= len).then(|| {
        let mut out = vec![0; len - v.len()];
        out.extend_from_slice(&v);
        out
    })
}

/// The verdict of one backend, as a comparable string: `ok` or the error code.
fn verdict(r: &Result<(), Error>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    accepted: usize,
    rejected: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
}

/// One key of one vector set, checked through both backends.
struct Group<'a> {
    web: &'a WebCrypto,
    set: &'a str,
    key: &'a Jwk,
    alg: Algorithm,
}

/// Run one case through both backends; they must agree, and agree with Wycheproof when it is not "acceptable".
async fn check(g: &Group<'_>, tc_id: usize, msg: &[u8], sig: &[u8], expected: TestResult, tally: &mut Tally) {
    let Group { web, set, key, alg } = *g;
    let rc = RustCrypto.verify(key, alg, msg, sig);
    let wc = web.verify_async(key, alg, msg, sig).await;
    assert_eq!(verdict(&rc), verdict(&wc), "{set} tcId {tc_id}: RustCrypto and WebCrypto disagree");
    tally.cases += 1;
    match (expected, rc.is_ok()) {
        (TestResult::Valid, true) => tally.accepted += 1,
        (TestResult::Invalid, false) => tally.rejected += 1,
        (TestResult::Acceptable, true) => tally.acceptable_accepted += 1,
        (TestResult::Acceptable, false) => tally.acceptable_rejected += 1,
        (TestResult::Valid, false) => panic!("{set} tcId {tc_id}: valid vector rejected: {}", verdict(&rc)),
        (TestResult::Invalid, true) => panic!("{set} tcId {tc_id}: invalid vector accepted"),
    }
    if let Err(e) = &rc {
        assert!(
            matches!(e, Error::SignatureInvalid | Error::KeyInvalid { .. }),
            "{set} tcId {tc_id}: unexpected error {e:?}"
        );
    }
}

/// The end of one vector set: every vector ran (`expected` of them), both verdicts occurred, and the tally is
/// printed.
fn settle(set: &str, t: &Tally, expected: usize) {
    assert_eq!(t.cases, expected, "{set}: every vector ran");
    assert!(t.accepted > 0 && t.rejected > 0, "{set}: both verdicts exercised");
    console_log!(
        "wycheproof {set}: {} cases, {} valid accepted, {} invalid rejected, acceptable: {} accepted / {} rejected \
         (RustCrypto and WebCrypto agree on all)",
        t.cases,
        t.accepted,
        t.rejected,
        t.acceptable_accepted,
        t.acceptable_rejected
    );
}

// ---------------------------------------------------------------- per-primitive vectors (wycheproof crate)

#[wasm_bindgen_test]
async fn wycheproof_rsa_pkcs1_both_backends_agree() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let sets = [
        (TestName::Rsa2048Sha256, Algorithm::RS256, "rsa_2048_sha256"),
        (TestName::Rsa2048Sha384, Algorithm::RS384, "rsa_2048_sha384"),
        (TestName::Rsa2048Sha512, Algorithm::RS512, "rsa_2048_sha512"),
        (TestName::Rsa3072Sha256, Algorithm::RS256, "rsa_3072_sha256"),
        (TestName::Rsa3072Sha384, Algorithm::RS384, "rsa_3072_sha384"),
        (TestName::Rsa3072Sha512, Algorithm::RS512, "rsa_3072_sha512"),
    ];
    let web = WebCrypto::new();
    let mut total = 0;
    for (name, alg, label) in sets {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::default();
        for group in &set.test_groups {
            let key = jwk(KeyMaterial::Rsa { n: unsigned(&group.key.n), e: unsigned(&group.key.e) });
            for t in &group.tests {
                let g = Group { web: &web, set: label, key: &key, alg };
                check(&g, t.tc_id, &t.msg, &t.sig, t.result, &mut tally).await;
            }
        }
        settle(label, &tally, set.number_of_tests);
        total += tally.cases;
    }
    console_log!("wycheproof RSA PKCS#1 total: {total} cases");
}

#[wasm_bindgen_test]
async fn wycheproof_ecdsa_p1363_both_backends_agree() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let sets = [
        (TestName::EcdsaSecp256r1Sha256P1363, Algorithm::ES256, Curve::P256, "ecdsa_p256_sha256_p1363"),
        (TestName::EcdsaSecp384r1Sha384P1363, Algorithm::ES384, Curve::P384, "ecdsa_p384_sha384_p1363"),
        (TestName::EcdsaSecp521r1Sha512P1363, Algorithm::ES512, Curve::P521, "ecdsa_p521_sha512_p1363"),
    ];
    let web = WebCrypto::new();
    let mut total = 0;
    for (name, alg, curve, label) in sets {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::default();
        for group in &set.test_groups {
            let len = curve.coordinate_len();
            let x = coordinate(&group.key.affine_x, len).expect("x fits the curve");
            let y = coordinate(&group.key.affine_y, len).expect("y fits the curve");
            let key = jwk(KeyMaterial::Ec { curve, x, y });
            for t in &group.tests {
                let g = Group { web: &web, set: label, key: &key, alg };
                check(&g, t.tc_id, &t.msg, &t.sig, t.result, &mut tally).await;
            }
        }
        settle(label, &tally, set.number_of_tests);
        total += tally.cases;
    }
    console_log!("wycheproof ECDSA P1363 total: {total} cases");
}

#[wasm_bindgen_test]
async fn wycheproof_ed25519_both_backends_agree() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let web = WebCrypto::new();
    let mut tally = Tally::default();
    for group in &set.test_groups {
        let x: [u8; 32] = group.key.pk.as_slice().try_into().expect("32-byte Ed25519 key");
        let key = jwk(KeyMaterial::Ed25519 { x });
        for t in &group.tests {
            let g = Group { web: &web, set: "ed25519", key: &key, alg: Algorithm::EdDSA };
            check(&g, t.tc_id, &t.msg, &t.sig, t.result, &mut tally).await;
        }
    }
    settle("ed25519", &tally, set.number_of_tests);
}

// ---------------------------------------------------------------- WebCrypto-specific contract

#[wasm_bindgen_test]
async fn webcrypto_refuses_key_of_wrong_kind_and_bad_lengths_before_calling_subtle() {
    let web = WebCrypto::new();
    let ed = jwk(KeyMaterial::Ed25519 { x: [7; 32] });
    let err = web.verify_async(&ed, Algorithm::ES256, b"m", &[0; 64]).await.unwrap_err();
    assert_eq!(err.code(), "key_mismatch");
    let ec = jwk(KeyMaterial::Ec { curve: Curve::P384, x: vec![1; 48], y: vec![2; 48] });
    let err = web.verify_async(&ec, Algorithm::ES256, b"m", &[0; 64]).await.unwrap_err();
    assert_eq!(err.code(), "key_mismatch", "P-384 key for ES256");
    // Wrong lengths fail as signature_invalid without importing anything (the bogus keys above never reach subtle).
    let err = web.verify_async(&ed, Algorithm::EdDSA, b"m", &[0; 63]).await.unwrap_err();
    assert_eq!(err, Error::SignatureInvalid);
    let err = web.verify_async(&ec, Algorithm::ES384, b"m", &[0; 97]).await.unwrap_err();
    assert_eq!(err, Error::SignatureInvalid);
    assert_eq!(web.cached_keys(), 0, "nothing was imported");
}

#[wasm_bindgen_test]
async fn webcrypto_import_failure_is_key_invalid_without_material() {
    let web = WebCrypto::new();
    // (1, 1) is not on P-256: WebCrypto refuses the raw import.
    let mut x = vec![0; 32];
    x[31] = 1;
    let key = Jwk { kid: Some("bad-point".into()), ..jwk(KeyMaterial::Ec { curve: Curve::P256, x: x.clone(), y: x }) };
    let err = web.verify_async(&key, Algorithm::ES256, b"m", &[1; 64]).await.unwrap_err();
    assert_eq!(err.code(), "key_invalid");
    let Error::KeyInvalid { kid, reason } = &err else { unreachable!() };
    assert_eq!(kid.as_deref(), Some("bad-point"));
    assert!(!reason.contains("AAAA") && !reason.contains("0000"), "no key material in {reason:?}");
    assert_eq!(web.cached_keys(), 0, "a failed import is not cached");
}

#[wasm_bindgen_test]
async fn webcrypto_caches_imports_per_thumbprint_and_alg_and_stays_bounded() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let web = WebCrypto::new();
    let group = &set.test_groups[0];
    let t = group.tests.iter().find(|t| t.result == TestResult::Valid).unwrap();
    let x: [u8; 32] = group.key.pk.as_slice().try_into().unwrap();
    let key = jwk(KeyMaterial::Ed25519 { x });
    web.verify_async(&key, Algorithm::EdDSA, &t.msg, &t.sig).await.unwrap();
    web.verify_async(&key, Algorithm::EdDSA, &t.msg, &t.sig).await.unwrap();
    assert_eq!(web.cached_keys(), 1);
    assert!(web.is_cached(&key.thumbprint, Algorithm::EdDSA));
    // 70 distinct thumbprints of the same key: at most 64 stay, the oldest go first, verdicts unchanged.
    for i in 0..70u8 {
        let k = Jwk { thumbprint: [i; 32], ..key.clone() };
        web.verify_async(&k, Algorithm::EdDSA, &t.msg, &t.sig).await.unwrap();
    }
    assert_eq!(web.cached_keys(), WebCrypto::CACHE_CAPACITY);
    assert!(!web.is_cached(&key.thumbprint, Algorithm::EdDSA), "oldest evicted");
    assert!(web.is_cached(&[69; 32], Algorithm::EdDSA), "newest kept");
    web.clear();
    assert_eq!(web.cached_keys(), 0);
}

// ---------------------------------------------------------------- json_web_signature_test.json via node:fs

#[wasm_bindgen(module = "node:fs")]
extern "C" {
    #[wasm_bindgen(catch, js_name = readFileSync)]
    fn read_file_sync(path: &str, encoding: &str) -> Result<String, JsValue>;
}

/// `process.env[name]` in Node; `None` elsewhere or when unset.
fn node_env(name: &str) -> Option<String> {
    let process = js_sys::Reflect::get(&js_sys::global(), &"process".into()).ok()?;
    let env = js_sys::Reflect::get(&process, &"env".into()).ok()?;
    js_sys::Reflect::get(&env, &name.into()).ok()?.as_string()
}

/// What the core says about one JWS with one key: the steps the token path runs, minus JWT claims (the JWS
/// payloads here are not JWTs): strict parse → header checks (`alg` allowlist, `crit`, `cty`) → JWK parse →
/// key fit → signature.
async fn jws_verdict(
    jws: &str,
    public: Option<&serde_json::Value>,
    web: &WebCrypto,
) -> (Result<(), Error>, Result<(), Error>) {
    let pre = || -> Result<(Jwk, Algorithm, Vec<u8>, Vec<u8>), Error> {
        let parsed = token::parse(jws, &Limits::default())?;
        let alg = parsed.header.check(AlgorithmSet::all())?;
        let public = public.ok_or(Error::KeyNotFound { kid: None })?;
        let set = KeySet::from_keys(vec![Jwk::from_value(public)?]);
        let key = set.select(parsed.header.kid.as_deref(), alg)?.clone();
        Ok((key, alg, parsed.signing_input.to_vec(), parsed.signature))
    };
    match pre() {
        Err(e) => (Err(e.clone()), Err(e)),
        Ok((key, alg, input, sig)) => {
            (RustCrypto.verify(&key, alg, &input, &sig), web.verify_async(&key, alg, &input, &sig).await)
        }
    }
}

/// The header's `alg`, read leniently (non-alphabet characters dropped): only to classify "valid" cases that the
/// gate refuses by policy.
fn lenient_alg(jws: &str) -> Option<String> {
    use base64::Engine;
    let header: String =
        jws.split('.').next()?.chars().filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c)).collect();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT.decode(header).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v["alg"].as_str().map(str::to_owned)
}

#[wasm_bindgen_test]
async fn wycheproof_json_web_signature_file_both_backends_agree() {
    let ci = node_env("CI").is_some_and(|v| v == "true");
    let Some(dir) = node_env("WYCHEPROOF_DIR") else {
        console_log!(
            "!!! WYCHEPROOF_DIR is not set: json_web_signature_test.json NOT RUN in wasm (set it to the \
                      directory holding the Wycheproof JSON files; `cargo xtask test` does)"
        );
        assert!(!ci, "WYCHEPROOF_DIR must be set under CI=true");
        return;
    };
    let path = format!("{dir}/json_web_signature_test.json");
    let text = match read_file_sync(&path, "utf8") {
        Ok(t) => t,
        Err(e) => {
            console_log!("!!! cannot read {path}: {e:?}: json_web_signature_test.json NOT RUN in wasm");
            assert!(!ci, "{path} must exist under CI=true");
            return;
        }
    };
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let web = WebCrypto::new();
    let (mut cases, mut accepted, mut rejected, mut policy_alg, mut policy_key) = (0, 0, 0, 0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        for t in group["tests"].as_array().unwrap() {
            let id = t["tcId"].as_u64().unwrap();
            let jws = t["jws"].as_str().unwrap();
            let expected_valid = t["result"] == "valid";
            let (rc, wc) = jws_verdict(jws, group.get("public"), &web).await;
            assert_eq!(verdict(&rc), verdict(&wc), "JWS tcId {id}: RustCrypto and WebCrypto disagree");
            cases += 1;
            match (expected_valid, &rc) {
                (true, Ok(())) => accepted += 1,
                (false, Err(_)) => rejected += 1,
                // HS*/PS* "valid" cases (some with MACs over non-base64url text): refused by policy, counted apart.
                (true, Err(_)) if lenient_alg(jws).is_none_or(|a| Algorithm::from_name(&a).is_none()) => {
                    policy_alg += 1
                }
                // The key declares another `alg` (e.g. the unregistered "ES521" for an ES512 token): refused.
                (true, Err(Error::KeyMismatch { .. })) => policy_key += 1,
                (true, Err(e)) => panic!("JWS tcId {id}: valid case rejected: {e:?}"),
                (false, Ok(())) => panic!("JWS tcId {id}: invalid case accepted"),
            }
        }
    }
    assert_eq!(policy_key, 2, "only the two P-521 keys declaring the unregistered alg \"ES521\" are refused so");
    assert_eq!(cases, doc["numberOfTests"].as_u64().unwrap() as usize, "every JWS case ran");
    console_log!(
        "wycheproof json_web_signature (wasm): {cases} cases: {accepted} valid accepted, {rejected} invalid \
         rejected; valid but refused by policy: {policy_alg} unsupported alg (HS*/PS*), {policy_key} key declaring \
         another alg; RustCrypto and WebCrypto agree"
    );
}
