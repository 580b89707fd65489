//! Shared fixtures of the fuzz targets: a fixed issuer, a fixed key set (the public halves of the test fixtures
//! in `tests/fixtures/`, one key per algorithm) and a fixed clock. Nothing here signs: valid tokens reach the
//! targets through the seed corpus (`cargo run --example fuzz_seed`, run by `cargo xtask fuzz`).
#![forbid(unsafe_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pocketgate::jwk::KeySet;
use pocketgate::policy::{Allow, GroupRule};
use pocketgate::token::Limits;
use pocketgate::verify::{IssuerConfig, Verifier};
use serde_json::Value;

/// The fixed "now" of the minter in `tests/support` (2026-01-01T00:00:00Z): seed tokens are valid at this time.
pub const NOW: u64 = 1_767_225_600;
/// The issuer of the seed tokens.
pub const ISSUER: &str = "https://id.example.com";
/// Their audience.
pub const CLIENT_ID: &str = "netbird";

const FIXTURES: [&str; 7] = [
    include_str!("../../tests/fixtures/rs256.jwk.json"),
    include_str!("../../tests/fixtures/rs384.jwk.json"),
    include_str!("../../tests/fixtures/rs512.jwk.json"),
    include_str!("../../tests/fixtures/es256.jwk.json"),
    include_str!("../../tests/fixtures/es384.jwk.json"),
    include_str!("../../tests/fixtures/es512.jwk.json"),
    include_str!("../../tests/fixtures/eddsa.jwk.json"),
];

/// The JWKS the issuer serves: the seven fixture keys without their private members.
pub fn jwks_json() -> String {
    let keys: Vec<Value> = FIXTURES
        .iter()
        .map(|text| {
            let mut jwk: serde_json::Map<String, Value> = serde_json::from_str(text).expect("fixture is JSON");
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                jwk.remove(private);
            }
            Value::Object(jwk)
        })
        .collect();
    serde_json::json!({ "keys": keys }).to_string()
}

/// The fixed key set; every fixture key must load.
pub fn key_set() -> KeySet {
    let set = KeySet::from_json(jwks_json().as_bytes()).expect("fixture JWKS parses");
    assert_eq!(set.keys().len(), 7, "every fixture key loads: {:?}", set.rejected());
    set
}

/// A verifier trusting [`ISSUER`] for [`CLIENT_ID`], any user, default limits and leeway.
pub fn verifier() -> Verifier {
    let rule = GroupRule { allow: Allow::AnyUser, deny: vec![] };
    Verifier::new(vec![IssuerConfig::new(ISSUER, vec![CLIENT_ID.into()], rule)], Limits::default())
        .expect("fixed verifier is valid")
}

/// Strict base64url encoding (the inverse of `pocketgate::token::b64_decode`).
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
