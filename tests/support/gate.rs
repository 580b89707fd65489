//! The gate's request pipeline for tests and benches ([`pocketgate::request`]): a configuration from variables,
//! and one request decided with a key set that the pipeline "fetches" when it asks. Unlike the minter, this calls
//! PocketGate's own code.

use pocketgate::config::GateConfig;
use pocketgate::crypto::SignatureVerifier;
use pocketgate::jwk::KeySet;
use pocketgate::keycache::FetchOutcome;
use pocketgate::request::{self, Caches, Head, Outcome};
use pocketgate::tokencache::TokenCache;

use super::{CLIENT_ID, ISSUER, NOW};

/// The configuration from `vars` over the defaults `ISSUER` = [`ISSUER`], `AUDIENCE` = [`CLIENT_ID`],
/// `ALLOW_GROUPS=netbird-users` and a `JWKS_URI` (a later entry of `vars` wins).
pub fn config(vars: &[(&str, &str)]) -> GateConfig {
    let defaults = [
        ("ISSUER", ISSUER),
        ("AUDIENCE", CLIENT_ID),
        ("ALLOW_GROUPS", "netbird-users"),
        ("JWKS_URI", "https://id.example.com/.well-known/jwks.json"),
    ];
    let get =
        |name: &str| vars.iter().rev().chain(defaults.iter()).find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
    match GateConfig::from_env(get) {
        Ok(cfg) => cfg,
        Err(errors) => panic!("test configuration is invalid: {errors:?}"),
    }
}

/// Empty caches for `cfg`, with a token cache of `tokens` entries (0: no caching).
pub fn caches(cfg: &GateConfig, tokens: usize) -> Caches {
    Caches::new(cfg, TokenCache::new(tokens))
}

/// The pipeline's outcome for `method path` with `authorization` at [`NOW`]; every issuer's fetch returns `keys`.
pub fn decide(
    cfg: &GateConfig,
    caches: &mut Caches,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    keys: &KeySet,
    backend: &impl SignatureVerifier,
) -> Outcome {
    let head = Head { method, path, authorization };
    let fetch = |_| FetchOutcome::Loaded { keys: keys.clone(), max_age: None };
    request::decide(cfg, caches, head, NOW, fetch, backend)
}
