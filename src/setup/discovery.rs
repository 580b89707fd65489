//! "Check issuer": judge a fetched discovery document and key set against the configured issuer.
//!
//! The page fetches `{issuer}/.well-known/openid-configuration` and then `jwks_uri`; these functions only read
//! the bytes, so they are tested natively.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::url::split as split_url;

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckLevel {
    /// Fine.
    Ok,
    /// Works, but will bite (EdDSA, internal `jwks_uri`).
    Warning,
    /// Will not work as configured.
    Error,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Ok, warning or error.
    pub level: CheckLevel,
    /// Stable code (e.g. `issuer_slash_mismatch`).
    pub code: &'static str,
    /// What was found and what to do.
    pub message: String,
}

/// The discovery report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiscoveryReport {
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// `jwks_uri`, when present: the page fetches it next.
    pub jwks_uri: Option<String>,
    /// The discovery document's `issuer`, when present.
    pub issuer: Option<String>,
}

fn check(level: CheckLevel, code: &'static str, message: String) -> Check {
    Check { level, code, message }
}

const EDDSA_FIX: &str = "QuFabric's management server cannot verify EdDSA tokens (RSA and EC only): rotate \
     PocketID's key with `pocket-id key-rotate --alg RS256` (every existing token becomes invalid).";

fn strings<'a>(doc: &'a Map<String, Value>, name: &str) -> Vec<&'a str> {
    doc.get(name).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn host(url: &str) -> Option<String> {
    split_url(url).map(|u| u.host.to_ascii_lowercase())
}

/// Judge a discovery document fetched for `configured` (the issuer typed in the form).
pub fn check_discovery(configured: &str, body: &[u8]) -> DiscoveryReport {
    let mut checks = Vec::new();
    let doc = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => {
            checks.push(check(
                CheckLevel::Error,
                "discovery_invalid",
                "The discovery document is not a JSON object: is this a PocketID URL?".into(),
            ));
            return DiscoveryReport { checks, jwks_uri: None, issuer: None };
        }
    };
    let issuer = doc.get("issuer").and_then(Value::as_str).map(str::to_owned);
    match &issuer {
        None => checks.push(check(CheckLevel::Error, "issuer_missing", "The discovery document has no issuer.".into())),
        Some(i) if i == configured => {
            checks.push(check(CheckLevel::Ok, "issuer_match", format!("Issuer matches byte for byte: {i}")))
        }
        Some(i) if i.trim_end_matches('/') == configured.trim_end_matches('/') => checks.push(check(
            CheckLevel::Error,
            "issuer_slash_mismatch",
            format!(
                "The issuer differs by a trailing slash: PocketID says {i}, the form says {configured}. \
                 Use {i} exactly, everywhere."
            ),
        )),
        Some(i) if i.eq_ignore_ascii_case(configured) => checks.push(check(
            CheckLevel::Error,
            "issuer_case_mismatch",
            format!("The issuer differs in case: PocketID says {i}. Use it exactly."),
        )),
        Some(i) => checks.push(check(
            CheckLevel::Error,
            "issuer_mismatch",
            format!("The discovery document names issuer {i}, not {configured}: check PocketID's APP_URL."),
        )),
    }
    let jwks_uri = doc.get("jwks_uri").and_then(Value::as_str).map(str::to_owned);
    match &jwks_uri {
        None => {
            checks.push(check(CheckLevel::Error, "jwks_uri_missing", "The discovery document has no jwks_uri.".into()))
        }
        Some(j) if host(j).is_some() && host(j) == issuer.as_deref().and_then(host) => {
            checks.push(check(CheckLevel::Ok, "jwks_uri", format!("Keys at {j}")))
        }
        Some(j) => checks.push(check(
            CheckLevel::Warning,
            "jwks_uri_internal_host",
            format!(
                "jwks_uri {j} is on another host than the issuer (PocketID's INTERNAL_APP_URL is set). \
                 The gate and this page must reach it; otherwise set JWKS_URI to a public URL of the key set."
            ),
        )),
    }
    let algs = strings(&doc, "id_token_signing_alg_values_supported");
    if algs.contains(&"EdDSA") {
        checks.push(check(CheckLevel::Warning, "eddsa_key", format!("The signing key is EdDSA. {EDDSA_FIX}")));
    } else if algs.is_empty() {
        checks.push(check(
            CheckLevel::Warning,
            "alg_unknown",
            "The document lists no ID token signing algorithm.".into(),
        ));
    } else {
        checks.push(check(CheckLevel::Ok, "alg", format!("Signing algorithm: {}", algs.join(", "))));
    }
    if strings(&doc, "scopes_supported").contains(&"groups") {
        checks.push(check(CheckLevel::Ok, "groups_scope", "The groups scope is supported.".into()));
    } else {
        checks.push(check(
            CheckLevel::Error,
            "groups_scope_missing",
            "The groups scope is not supported: tokens will carry no groups and every user is denied.".into(),
        ));
    }
    DiscoveryReport { checks, jwks_uri, issuer }
}

/// Judge the key set: one usable signing key, and its algorithm (from the key, not from discovery).
pub fn check_jwks(body: &[u8]) -> Vec<Check> {
    let keys = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m.get("keys").and_then(Value::as_array).cloned(),
        _ => None,
    };
    let Some(keys) = keys else {
        return vec![check(CheckLevel::Error, "jwks_invalid", "The key set is not a JWKS ({\"keys\": [...]}).".into())];
    };
    if keys.is_empty() {
        return vec![check(CheckLevel::Error, "jwks_empty", "The key set has no key.".into())];
    }
    keys.iter()
        .map(|k| {
            let s = |n: &str| k.get(n).and_then(Value::as_str).unwrap_or("");
            let (kty, alg, kid) = (s("kty"), s("alg"), s("kid"));
            if kty == "OKP" || alg == "EdDSA" {
                check(CheckLevel::Warning, "jwks_eddsa", format!("Key {kid} is EdDSA ({}). {EDDSA_FIX}", s("crv")))
            } else if kty == "RSA" || kty == "EC" {
                check(CheckLevel::Ok, "jwks_key", format!("Key {kid}: {kty} {alg}"))
            } else {
                check(CheckLevel::Error, "jwks_key_unsupported", format!("Key {kid} has unsupported type {kty:?}."))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(issuer: &str, jwks: &str, alg: &str, scopes: &[&str]) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "issuer": issuer,
            "jwks_uri": jwks,
            "id_token_signing_alg_values_supported": [alg],
            "scopes_supported": scopes,
        }))
        .unwrap()
    }

    fn codes(r: &[Check]) -> Vec<&'static str> {
        r.iter().map(|c| c.code).collect()
    }

    const SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

    #[test]
    fn matching_pocketid() {
        let r = check_discovery(
            "https://id.example.com",
            &doc("https://id.example.com", "https://id.example.com/.well-known/jwks.json", "RS256", &SCOPES),
        );
        assert_eq!(codes(&r.checks), ["issuer_match", "jwks_uri", "alg", "groups_scope"]);
        assert!(r.checks.iter().all(|c| c.level == CheckLevel::Ok));
        assert_eq!(r.jwks_uri.as_deref(), Some("https://id.example.com/.well-known/jwks.json"));
    }

    #[test]
    fn slash_mismatch_is_an_error_naming_the_right_value() {
        let r = check_discovery(
            "https://id.example.com/",
            &doc("https://id.example.com", "https://id.example.com/.well-known/jwks.json", "RS256", &SCOPES),
        );
        assert_eq!(r.checks[0].code, "issuer_slash_mismatch");
        assert_eq!(r.checks[0].level, CheckLevel::Error);
        assert!(r.checks[0].message.contains("Use https://id.example.com exactly"));
    }

    #[test]
    fn other_mismatches() {
        let d = doc("https://id.example.com", "https://id.example.com/k", "RS256", &SCOPES);
        assert_eq!(check_discovery("https://ID.example.com", &d).checks[0].code, "issuer_case_mismatch");
        assert_eq!(check_discovery("https://other.example.com", &d).checks[0].code, "issuer_mismatch");
        assert_eq!(codes(&check_discovery("x", b"[1]").checks), ["discovery_invalid"]);
    }

    #[test]
    fn eddsa_internal_jwks_and_missing_groups_scope() {
        let r = check_discovery(
            "https://id.example.com",
            &doc("https://id.example.com", "http://pocket-id:1411/.well-known/jwks.json", "EdDSA", &["openid"]),
        );
        assert_eq!(codes(&r.checks), ["issuer_match", "jwks_uri_internal_host", "eddsa_key", "groups_scope_missing"]);
        assert_eq!(r.checks[1].level, CheckLevel::Warning);
        assert!(r.checks[2].message.contains("key-rotate --alg RS256"));
        assert_eq!(r.checks[3].level, CheckLevel::Error);
    }

    #[test]
    fn jwks_checks() {
        let rsa = br#"{"keys":[{"kty":"RSA","alg":"RS256","kid":"8uHDw3M6rf8","n":"x","e":"AQAB","use":"sig"}]}"#;
        assert_eq!(codes(&check_jwks(rsa)), ["jwks_key"]);
        let okp = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"k","x":"x"}]}"#;
        assert_eq!(codes(&check_jwks(okp)), ["jwks_eddsa"]);
        assert_eq!(codes(&check_jwks(br#"{"keys":[]}"#)), ["jwks_empty"]);
        assert_eq!(codes(&check_jwks(b"nope")), ["jwks_invalid"]);
        assert_eq!(codes(&check_jwks(br#"{"keys":[{"kty":"oct"}]}"#)), ["jwks_key_unsupported"]);
    }
}
