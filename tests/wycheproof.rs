//! Google Wycheproof vectors through PocketGate's signature path with BOTH backends (RustCrypto and Ring), which
//! must give identical verdicts on every case: natively, and on wasm32-wasip1 with the `traefik` feature (ring and
//! RustCrypto as the Traefik plugin builds them; `cargo xtask test` runs it under Node's WASI with
//! tests/wasi/run.mjs, the vector files read in place through WASI).
//!
//! (a) `json_web_signature_test.json`: every case through `token::parse` → `Header::check(AlgorithmSet::all())`
//!     → `KeySet` from the group's public JWK → `select` → `SignatureVerifier::verify`.
//! (b) `json_web_key_test.json`: key sets (weak, ROCA, wrong curve/kty/use/alg, symmetric, duplicate kid) through
//!     `KeySet::from_json` and the same path.
//! (c) Per-primitive vectors from the `wycheproof` crate: RSA PKCS#1 v1.5 (2048/3072 × SHA-256/384/512), ECDSA
//!     P1363 (P-256/384/521), Ed25519, with a `Jwk` built from each group's public key by `Jwk::from_value`.
//!
//! The JSON files of (a) and (b) are read in place from `$WYCHEPROOF_DIR` (default
//! `<CARGO_MANIFEST_DIR>/../shared/vectors/wycheproof`), never copied into the repository. When they are absent
//! the test says so loudly, and fails under `CI=true`.
// Both backends and file access: native, or the plugin's wasm32-wasip1 build (the browser wasm has its own suites).
#![cfg(any(not(target_arch = "wasm32"), all(target_os = "wasi", feature = "traefik")))]

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pocketgate::alg::{Algorithm, AlgorithmSet};
use pocketgate::crypto::{Ring, RustCrypto, SignatureVerifier};
use pocketgate::error::Error;
use pocketgate::jwk::{Jwk, KeySet};
use pocketgate::token::{self, Limits};
use serde_json::{Value, json};
use wycheproof::TestResult;

// ------------------------------------------------------------------------------------------ vector files

fn vectors_dir() -> PathBuf {
    match std::env::var_os("WYCHEPROOF_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/wycheproof"),
    }
}

/// The parsed vector file, or `None` (after a loud message; a panic under `CI=true`) when it is missing.
fn load(name: &str) -> Option<Value> {
    let path = vectors_dir().join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))),
        Err(e) => {
            let msg = format!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !! WYCHEPROOF VECTORS MISSING: {} ({e})\n\
                 !! Set WYCHEPROOF_DIR to the directory holding {name}. These cases were NOT run.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
                path.display()
            );
            // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and the Wycheproof vectors are missing: {msg}");
            }
            None
        }
    }
}

/// Print a count line even when the test passes (libtest captures `println!` of passing tests).
fn report(line: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
}

// ------------------------------------------------------------------------------------------ the JWS path

/// The core signature path with one backend: parse, header checks, key selection, signature.
fn jws_verdict(token: &str, set: &KeySet, backend: &impl SignatureVerifier) -> Result<(), Error> {
    let jws = token::parse(token, &Limits::default())?;
    let alg = jws.header.check(AlgorithmSet::all())?;
    let key = set.select(jws.header.kid.as_deref(), alg)?;
    backend.verify(key, alg, jws.signing_input, &jws.signature)
}

/// Both backends; they must agree exactly (same `Ok` or the same error).
fn both(token: &str, set: &KeySet, what: &str) -> Result<(), Error> {
    let rc = jws_verdict(token, set, &RustCrypto);
    let ring = jws_verdict(token, set, &Ring);
    assert_eq!(rc, ring, "{what}: RustCrypto and Ring disagree");
    rc
}

/// A Wycheproof `jws` member: the compact string, or a JSON serialization (an object) passed as its text.
fn token_text(jws: &Value) -> String {
    match jws {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The header's `alg`, read leniently (characters outside the base64url alphabet dropped): only to classify a
/// Wycheproof case, never part of verification.
fn lenient_alg(token: &str) -> Option<String> {
    let header: String =
        token.split('.').next()?.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let bytes = URL_SAFE_NO_PAD.decode(header.as_bytes()).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?.get("alg")?.as_str().map(str::to_owned)
}

/// A valid case PocketGate refuses on purpose, and why; `None` when the rejection is not a policy.
fn policy_reason(token: &str, err: &Error, set: &KeySet) -> Option<&'static str> {
    match lenient_alg(token) {
        Some(alg) if alg.starts_with("HS") => return Some("HS* (HMAC) never allowed"),
        Some(alg) if alg.starts_with("PS") => return Some("PS* (RSASSA-PSS) not supported"),
        _ => {}
    }
    match err {
        // RFC 7520's P-521 key declares `"alg":"ES521"`, which is not a JOSE algorithm: a key whose alg differs
        // from the token's never fits.
        Error::KeyMismatch { reason: "the key's alg differs from the token's" }
            if set.keys().iter().any(|k| k.alg.as_deref().is_some_and(|a| Algorithm::from_name(a).is_none())) =>
        {
            Some("the key declares an alg that is not a JOSE algorithm")
        }
        _ => None,
    }
}

#[derive(Default, Debug)]
struct JwsTally {
    cases: usize,
    accepted: usize,
    rejected: usize,
    policy: Vec<String>,
}

#[test]
fn json_web_signature_vectors() {
    let Some(file) = load("json_web_signature_test.json") else { return };
    let mut t = JwsTally::default();
    let mut failures = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        let set = match group.get("public") {
            Some(jwk) => KeySet::from_json(json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap(),
            None => KeySet::default(),
        };
        for case in group["tests"].as_array().unwrap() {
            t.cases += 1;
            let id = case["tcId"].as_u64().unwrap();
            let what = format!("tcId {id} ({} / {})", group["comment"], case["comment"]);
            let token = token_text(&case["jws"]);
            let verdict = both(&token, &set, &what);
            match (case["result"].as_str().unwrap(), &verdict) {
                ("valid", Ok(())) => t.accepted += 1,
                ("valid", Err(e)) => match policy_reason(&token, e, &set) {
                    Some(why) => t.policy.push(format!("{what}: {why} [{}]", e.code())),
                    None => failures.push(format!("{what}: valid but rejected: {e}")),
                },
                ("invalid", Err(_)) => t.rejected += 1,
                ("invalid", Ok(())) => failures.push(format!("{what}: INVALID BUT ACCEPTED")),
                (other, _) => failures.push(format!("{what}: unexpected result {other}")),
            }
        }
    }
    report("json_web_signature_test.json through RustCrypto and Ring (identical verdicts):");
    report(&format!(
        "  cases {}, accepted (valid) {}, rejected (invalid) {}, valid but rejected by policy {} (HS*, PS*, key alg)",
        t.cases,
        t.accepted,
        t.rejected,
        t.policy.len()
    ));
    for p in &t.policy {
        println!("    policy: {p}");
    }
    assert!(failures.is_empty(), "{} wrong verdicts:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(t.cases, file["numberOfTests"].as_u64().unwrap() as usize, "every case was run");
    assert_eq!(t.accepted + t.rejected + t.policy.len(), t.cases);
    assert!(t.accepted >= 10, "the valid asymmetric cases verify ({} did)", t.accepted);
}

// ------------------------------------------------------------------------------------------ JWK vectors

/// What PocketGate must say about each `json_web_key_test.json` group whose key set is refused or
/// unusable: the reason recorded in `KeySet::rejected`, or the selection error.
fn expected_key_outcome(comment: &str) -> Option<&'static str> {
    Some(match comment {
        "jws_rsa_roca_key" => "RSA modulus has the ROCA fingerprint (CVE-2017-15361)",
        "keysize_too_small" => "RSA modulus is 1024 bits, fewer than 2048",
        "exponentOne" => "RSA exponent 1 is below 3",
        "invalid_point" => "the point is not on P-256",
        "wrong_curve" => "P-384 coordinates must be exactly 48 bytes each",
        "wrong_kty" => "n is missing",
        "invalid_aes_gcm_key" | "invalid_aes_kw_key" | "HS256" | "HS384" | "HS512" => {
            "symmetric keys are never accepted"
        }
        _ => return None,
    })
}

#[test]
fn json_web_key_vectors() {
    let Some(file) = load("json_web_key_test.json") else { return };
    let (mut cases, mut accepted, mut rejected, mut policy) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        let comment = group["comment"].as_str().unwrap();
        // Use the public set when there is one; a private (or mixed) set is what the verifier would be handed.
        let jwks = group.get("public").or_else(|| group.get("private")).unwrap();
        let set = KeySet::from_json(jwks.to_string().as_bytes()).unwrap();
        if let Some(reason) = expected_key_outcome(comment) {
            let found = set.rejected().iter().any(|e| matches!(e, Error::KeyInvalid { reason: r, .. } if r == reason));
            if !found {
                failures.push(format!("group {comment}: expected a rejected key ({reason}), got {:?}", set.rejected()));
            }
        }
        for case in group["tests"].as_array().unwrap() {
            cases += 1;
            let what = format!("tcId {} ({comment} / {})", case["tcId"], case["comment"]);
            let verdict = both(&token_text(&case["jws"]), &set, &what);
            let shown = match &verdict {
                Ok(()) => "accepted".to_owned(),
                Err(e) => format!("{} ({e})", e.code()),
            };
            println!("  {what}: expected {}, got {shown}", case["result"]);
            match (case["result"].as_str().unwrap(), verdict) {
                ("valid", Ok(())) => accepted += 1,
                ("valid", Err(Error::AlgorithmNotAllowed { alg })) if alg.starts_with("HS") => policy += 1,
                ("valid", Err(e)) => failures.push(format!("{what}: valid but rejected: {e}")),
                ("invalid", Err(_)) => rejected += 1,
                (_, _) => failures.push(format!("{what}: INVALID BUT ACCEPTED")),
            }
        }
    }
    report(&format!(
        "json_web_key_test.json: cases {cases}, accepted {accepted}, rejected {rejected}, \
         valid but rejected by policy (HS*) {policy}"
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(cases, file["numberOfTests"].as_u64().unwrap() as usize);
}

// ------------------------------------------------------------------------------------------ primitives

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    accepted: usize,
    rejected: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    key_rejected: usize,
}

impl Tally {
    /// Print the tally of set `name` and require that some valid signature verified.
    fn settle(&self, name: &str) {
        report(&format!(
            "  {name:<34} cases {:>4}  accepted {:>4}  rejected {:>4}  acceptable: accepted {} / rejected {}  \
             (key refused by the JWK parser: {})",
            self.cases,
            self.accepted,
            self.rejected,
            self.acceptable_accepted,
            self.acceptable_rejected,
            self.key_rejected
        ));
        assert!(self.accepted > 0, "{name}: some valid signature verifies");
    }
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(URL_SAFE_NO_PAD.encode(bytes))
}

fn unsigned(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    &v[start..]
}

/// Run one group's cases through both backends with `key` (or record that the parser refused the key).
fn run_group(
    tally: &mut Tally,
    failures: &mut Vec<String>,
    name: &str,
    key: Result<Jwk, Error>,
    alg: Algorithm,
    cases: impl Iterator<Item = (usize, TestResult, Vec<u8>, Vec<u8>)>,
) {
    for (id, expected, msg, sig) in cases {
        tally.cases += 1;
        let what = format!("{name} tcId {id}");
        let key = match &key {
            Ok(k) => k,
            Err(e) => {
                // A key our parser refuses rejects every signature; that is only right for non-valid cases.
                tally.key_rejected += 1;
                match expected {
                    TestResult::Valid => failures.push(format!("{what}: valid, but the key was refused: {e}")),
                    TestResult::Invalid => tally.rejected += 1,
                    TestResult::Acceptable => tally.acceptable_rejected += 1,
                }
                continue;
            }
        };
        let rc = RustCrypto.verify(key, alg, &msg, &sig);
        let ring = Ring.verify(key, alg, &msg, &sig);
        if rc != ring {
            failures.push(format!("{what}: backends disagree: RustCrypto {rc:?}, Ring {ring:?}"));
        }
        match (expected, rc.is_ok()) {
            (TestResult::Valid, true) => tally.accepted += 1,
            (TestResult::Invalid, false) => tally.rejected += 1,
            (TestResult::Acceptable, true) => tally.acceptable_accepted += 1,
            (TestResult::Acceptable, false) => tally.acceptable_rejected += 1,
            (TestResult::Valid, false) => failures.push(format!("{what}: valid but rejected: {rc:?}")),
            (TestResult::Invalid, true) => failures.push(format!("{what}: INVALID BUT ACCEPTED")),
        }
    }
}

#[test]
fn rsa_pkcs1_vectors() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let sets = [
        (TestName::Rsa2048Sha256, Algorithm::RS256),
        (TestName::Rsa2048Sha384, Algorithm::RS384),
        (TestName::Rsa2048Sha512, Algorithm::RS512),
        (TestName::Rsa3072Sha256, Algorithm::RS256),
        (TestName::Rsa3072Sha384, Algorithm::RS384),
        (TestName::Rsa3072Sha512, Algorithm::RS512),
    ];
    let mut failures = Vec::new();
    report("Wycheproof RSA PKCS#1 v1.5 (RustCrypto and Ring, identical verdicts):");
    for (name, alg) in sets {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::default();
        for group in set.test_groups {
            let jwk = json!({"kty": "RSA", "n": b64(unsigned(&group.key.n)), "e": b64(unsigned(&group.key.e))});
            let cases = group.tests.into_iter().map(|t| (t.tc_id, t.result, t.msg.to_vec(), t.sig.to_vec()));
            run_group(&mut tally, &mut failures, &format!("{name:?}"), Jwk::from_value(&jwk), alg, cases);
        }
        tally.settle(&format!("{name:?}"));
    }
    assert!(failures.is_empty(), "{} wrong verdicts:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn ecdsa_p1363_vectors() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let sets = [
        (TestName::EcdsaSecp256r1Sha256P1363, Algorithm::ES256, "P-256"),
        (TestName::EcdsaSecp384r1Sha384P1363, Algorithm::ES384, "P-384"),
        (TestName::EcdsaSecp521r1Sha512P1363, Algorithm::ES512, "P-521"),
    ];
    let mut failures = Vec::new();
    report("Wycheproof ECDSA P1363 (RustCrypto and Ring, identical verdicts):");
    for (name, alg, crv) in sets {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::default();
        for group in set.test_groups {
            let point = &group.key.key; // 0x04 || x || y
            let len = (point.len() - 1) / 2;
            let jwk = json!({"kty": "EC", "crv": crv, "x": b64(&point[1..1 + len]), "y": b64(&point[1 + len..])});
            let cases = group.tests.into_iter().map(|t| (t.tc_id, t.result, t.msg.to_vec(), t.sig.to_vec()));
            run_group(&mut tally, &mut failures, &format!("{name:?}"), Jwk::from_value(&jwk), alg, cases);
        }
        tally.settle(&format!("{name:?}"));
    }
    assert!(failures.is_empty(), "{} wrong verdicts:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn ed25519_vectors() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut failures = Vec::new();
    let mut tally = Tally::default();
    report("Wycheproof Ed25519 (RustCrypto and Ring, identical verdicts):");
    for group in set.test_groups {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&group.key.pk)});
        let cases = group.tests.into_iter().map(|t| (t.tc_id, t.result, t.msg.to_vec(), t.sig.to_vec()));
        run_group(&mut tally, &mut failures, "Ed25519", Jwk::from_value(&jwk), Algorithm::EdDSA, cases);
    }
    tally.settle("Ed25519");
    assert!(failures.is_empty(), "{} wrong verdicts:\n{}", failures.len(), failures.join("\n"));
}
