//! The issuer checks: the discovery document names exactly the configured issuer, and its key set holds a key the
//! gate accepts. The gate's own judgement does the work: [`crate::setup::discovery`] reads the document as the
//! setup page's "Check issuer" does, and [`crate::jwk::KeySet`] parses the key set exactly as the gate loads it
//! (weak, malformed and symmetric keys rejected).

use crate::alg::Algorithm;
use crate::jwk::{KeyMaterial, KeySet};
use crate::setup::discovery::{CheckLevel, check_discovery};

use super::judge::Answer;
use super::report::Outcome;

/// Where an issuer publishes its discovery document: `{issuer}/.well-known/openid-configuration`, the issuer's
/// trailing `/` dropped first (the gate refuses such an issuer; the check still reads the document to say so).
pub fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

/// The issuer row, and the `jwks_uri` to fetch next (when the document has one).
pub fn issuer(configured: &str, url: &str, fetched: &Result<Answer, String>) -> (Outcome, Option<String>) {
    let a = match fetched {
        Err(e) => {
            let fix = "make the issuer reachable over HTTPS from here and from the gate (DNS, firewall, \
                       certificate), or correct the issuer URL";
            return (Outcome::fail(format!("{url}: {e}"), fix), None);
        }
        Ok(a) if a.status != 200 => {
            let fix = "check the issuer URL: PocketID serves its discovery document at \
                       APP_URL/.well-known/openid-configuration";
            return (Outcome::fail(format!("{url}: HTTP {}", a.status), fix), None);
        }
        Ok(a) => a,
    };
    let report = check_discovery(configured, &a.body);
    let errors: Vec<_> = report.checks.iter().filter(|c| c.level == CheckLevel::Error).collect();
    let warnings: Vec<_> = report.checks.iter().filter(|c| c.level == CheckLevel::Warning).collect();
    let jwks_uri = report.jwks_uri.clone();
    if let Some(first) = errors.first() {
        let found = report.issuer.as_deref().unwrap_or("");
        let fix = match first.code {
            "issuer_slash_mismatch" | "issuer_case_mismatch" | "issuer_mismatch" => format!(
                "use exactly {found} as the issuer everywhere: the gate's ISSUER and QuFabric's IdP settings (tokens \
                 carry it byte for byte; PocketID's APP_URL decides it)"
            ),
            _ => first.message.clone(),
        };
        let detail: Vec<String> = errors.iter().map(|c| format!("{}: {}", c.code, c.message)).collect();
        return (Outcome::fail(detail.join(" "), fix), jwks_uri);
    }
    let mut detail = format!("issuer {} exactly as configured", report.issuer.as_deref().unwrap_or(""));
    for w in warnings {
        detail.push_str(&format!("; note {}: {}", w.code, w.message));
    }
    (Outcome::pass(detail), jwks_uri)
}

/// A short description of one key: `kid RS256 (RSA 2048)`.
fn describe_key(key: &crate::jwk::Jwk) -> String {
    let shape = match &key.material {
        KeyMaterial::Rsa { n, .. } => format!("RSA {}", crate::jwk::rsa_bits(n)),
        KeyMaterial::Ec { curve, .. } => format!("EC {}", curve.name()),
        KeyMaterial::Ed25519 { .. } => "Ed25519".to_owned(),
    };
    format!(
        "{} {}({shape})",
        key.kid.as_deref().unwrap_or("(no kid)"),
        key.alg.as_deref().map(|a| format!("{a} ")).unwrap_or_default()
    )
}

/// The key set row: at least one key the gate would verify a token with. `qufabric_verifies`: QuFabric itself
/// verifies this issuer's tokens too (standalone mode), and it cannot verify EdDSA.
pub fn keys(url: &str, fetched: &Result<Answer, String>, qufabric_verifies: bool) -> Outcome {
    let a = match fetched {
        Err(e) => {
            return Outcome::fail(format!("{url}: {e}"), "the key set must be reachable from the gate: check jwks_uri");
        }
        Ok(a) if a.status != 200 => {
            return Outcome::fail(
                format!("{url}: HTTP {}", a.status),
                "the discovery document's jwks_uri must serve the key set",
            );
        }
        Ok(a) => a,
    };
    let set = match KeySet::from_json(&a.body) {
        Ok(set) => set,
        Err(e) => return Outcome::fail(format!("{url}: {e}"), "serve a JWKS document ({\"keys\": [...]})"),
    };
    let usable: Vec<_> = set.keys().iter().filter(|k| Algorithm::ALL.iter().any(|alg| k.fits(*alg).is_ok())).collect();
    let rejected: Vec<String> = set.rejected().iter().map(ToString::to_string).collect();
    if usable.is_empty() {
        let why =
            if rejected.is_empty() { "no key fits a signature algorithm".to_owned() } else { rejected.join("; ") };
        return Outcome::fail(
            format!("no key the gate accepts ({} keys, {} rejected: {why})", set.keys().len(), rejected.len()),
            "rotate the issuer's signing key to RS256 (pocket-id key-rotate --alg RS256) or another algorithm the gate \
             supports, with at least 2048-bit RSA",
        );
    }
    let eddsa_only = usable.iter().all(|k| matches!(k.material, KeyMaterial::Ed25519 { .. }));
    if qufabric_verifies && eddsa_only {
        return Outcome::fail(
            format!("only Ed25519 keys ({}): QuFabric's management server cannot verify EdDSA", usable.len()),
            "rotate PocketID's key with `pocket-id key-rotate --alg RS256` (existing tokens become invalid)",
        );
    }
    let names: Vec<String> = usable.iter().map(|k| describe_key(k)).collect();
    let mut detail = format!("{} key(s) the gate accepts: {}", usable.len(), names.join(", "));
    if !rejected.is_empty() {
        detail.push_str(&format!("; {} rejected: {}", rejected.len(), rejected.join("; ")));
    }
    Outcome::pass(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;
    use serde_json::json;

    fn ok(body: &serde_json::Value) -> Result<Answer, String> {
        Ok(Answer { status: 200, headers: vec![], body: serde_json::to_vec(body).unwrap() })
    }

    fn doc(issuer: &str) -> serde_json::Value {
        json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "groups"],
        })
    }

    #[test]
    fn discovery_urls() {
        assert_eq!(discovery_url("https://id.example.com"), "https://id.example.com/.well-known/openid-configuration");
        assert_eq!(discovery_url("https://id.example.com/"), "https://id.example.com/.well-known/openid-configuration");
        assert_eq!(
            discovery_url("https://q.example.com/oauth2"),
            "https://q.example.com/oauth2/.well-known/openid-configuration"
        );
    }

    #[test]
    fn issuer_exact() {
        let (o, jwks) = issuer("https://id.example.com", "u", &ok(&doc("https://id.example.com")));
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.detail, "issuer https://id.example.com exactly as configured");
        assert_eq!(jwks.as_deref(), Some("https://id.example.com/.well-known/jwks.json"));
    }

    #[test]
    fn issuer_with_a_trailing_slash_fails_naming_the_right_value() {
        let (o, _) = issuer("https://id.example.com/", "u", &ok(&doc("https://id.example.com")));
        assert_eq!(o.status, Status::Fail);
        assert!(o.detail.starts_with("issuer_slash_mismatch:"), "{}", o.detail);
        assert!(o.fix.unwrap().starts_with("use exactly https://id.example.com as the issuer everywhere"));
        let (o, _) = issuer("https://other.example.com", "u", &ok(&doc("https://id.example.com")));
        assert!(o.detail.starts_with("issuer_mismatch:"));
    }

    #[test]
    fn issuer_unreachable_or_not_json() {
        let (o, _) = issuer("https://id.example.com", "u", &Err("connection refused".into()));
        assert_eq!((o.status, o.detail.as_str()), (Status::Fail, "u: connection refused"));
        let not_found = Ok(Answer { status: 404, ..Answer::default() });
        assert!(issuer("https://id.example.com", "u", &not_found).0.detail.ends_with("HTTP 404"));
        let html = Ok(Answer { status: 200, body: b"<html>".to_vec(), ..Answer::default() });
        assert!(issuer("https://id.example.com", "u", &html).0.detail.starts_with("discovery_invalid"));
    }

    /// A fixture key's public members, `kid` replaced.
    fn fixture(text: &str, kid: &str) -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        let m = v.as_object_mut().unwrap();
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            m.remove(private);
        }
        m.insert("kid".into(), json!(kid));
        v
    }

    fn rsa(kid: &str) -> serde_json::Value {
        fixture(include_str!("../../tests/fixtures/rs256.jwk.json"), kid)
    }

    #[test]
    fn keys_the_gate_accepts() {
        let o = keys("u", &ok(&json!({"keys": [rsa("k1")]})), true);
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert_eq!(o.detail, "1 key(s) the gate accepts: k1 RS256 (RSA 2048)");
        let mixed = keys("u", &ok(&json!({"keys": [rsa("k1"), {"kty": "oct", "kid": "h", "k": "AAAA"}]})), true);
        assert_eq!(mixed.status, Status::Pass);
        assert!(mixed.detail.contains("1 rejected"), "{}", mixed.detail);
    }

    #[test]
    fn keys_refused() {
        let none = keys("u", &ok(&json!({"keys": [{"kty": "oct", "kid": "h", "k": "AAAA"}]})), false);
        assert_eq!(none.status, Status::Fail);
        assert!(none.detail.contains("symmetric keys are never accepted"), "{}", none.detail);
        let mut enc_key = rsa("e");
        enc_key["use"] = json!("enc");
        let enc = keys("u", &ok(&json!({"keys": [enc_key]})), false);
        assert!(enc.detail.contains("no key fits"), "{}", enc.detail);
        assert_eq!(keys("u", &ok(&json!({"nope": 1})), false).status, Status::Fail);
        let ed = json!({"keys": [fixture(include_str!("../../tests/fixtures/eddsa.jwk.json"), "e")]});
        assert_eq!(
            keys("u", &ok(&ed), false).status,
            Status::Pass,
            "embedded mode: the gate verifies the IdP's tokens"
        );
        let standalone = keys("u", &ok(&ed), true);
        assert_eq!(standalone.status, Status::Fail);
        assert!(standalone.fix.unwrap().contains("key-rotate --alg RS256"));
    }
}
