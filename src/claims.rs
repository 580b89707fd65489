//! Registered-claim checks, run only after the signature has verified: `iss`, `aud`, `exp`, `nbf`, `iat`, and
//! the token type (PocketID signs access and session tokens with the same key as ID tokens).

use serde_json::{Map, Value};

use crate::error::Error;

/// What the claims must satisfy. Built from an [`crate::verify::IssuerConfig`].
#[derive(Clone, Copy, Debug)]
pub struct ClaimRules<'a> {
    /// The exact issuer string.
    pub issuer: &'a str,
    /// Accepted audiences: the token's `aud` must contain at least one.
    pub audiences: &'a [String],
    /// Clock leeway in seconds for `exp`, `nbf` and `iat`.
    pub leeway: u64,
}

/// The numeric `exp` of verified claims.
pub fn validate(claims: &Map<String, Value>, rules: &ClaimRules<'_>, now: u64) -> Result<f64, Error> {
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == rules.issuer => {}
        Some(Value::String(_)) => return Err(Error::IssuerNotTrusted),
        Some(_) => return Err(Error::ClaimInvalid { claim: "iss" }),
        None => return Err(Error::ClaimMissing { claim: "iss" }),
    }
    check_audience(claims.get("aud"), rules.audiences)?;
    check_type(claims)?;
    let now = now as f64;
    let leeway = rules.leeway as f64;
    let exp = numeric(claims, "exp")?.ok_or(Error::ClaimMissing { claim: "exp" })?;
    if now >= exp + leeway {
        return Err(Error::Expired);
    }
    if numeric(claims, "nbf")?.is_some_and(|nbf| now + leeway < nbf) {
        return Err(Error::NotYetValid);
    }
    if numeric(claims, "iat")?.is_some_and(|iat| now + leeway < iat) {
        return Err(Error::IssuedInFuture);
    }
    Ok(exp)
}

fn check_audience(aud: Option<&Value>, accepted: &[String]) -> Result<(), Error> {
    let hit = |s: &str| accepted.iter().any(|a| a == s);
    match aud {
        None => Err(Error::ClaimMissing { claim: "aud" }),
        Some(Value::String(s)) => {
            if hit(s) {
                Ok(())
            } else {
                Err(Error::AudienceMismatch)
            }
        }
        Some(Value::Array(items)) => {
            if items.iter().any(|v| !v.is_string()) {
                return Err(Error::ClaimInvalid { claim: "aud" });
            }
            if items.iter().filter_map(Value::as_str).any(hit) { Ok(()) } else { Err(Error::AudienceMismatch) }
        }
        Some(_) => Err(Error::ClaimInvalid { claim: "aud" }),
    }
}

/// PocketID marks its tokens with a `type` claim: only `id-token` (or no `type` at all, as other issuers and
/// QuFabric's embedded IdP send) is an ID token.
fn check_type(claims: &Map<String, Value>) -> Result<(), Error> {
    match claims.get("type") {
        None => Ok(()),
        Some(Value::String(t)) if t == "id-token" => Ok(()),
        Some(Value::String(t)) => {
            Err(Error::TokenTypeNotAccepted { seen: format!("type {}", crate::error::clip(t, 32)) })
        }
        Some(_) => Err(Error::ClaimInvalid { claim: "type" }),
    }
}

/// A NumericDate claim: `Ok(None)` when absent, an error when not a finite number.
fn numeric(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, Error> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            n.as_f64().filter(|f| f.is_finite()).map(Some).ok_or(Error::ClaimInvalid { claim: name })
        }
        Some(_) => Err(Error::ClaimInvalid { claim: name }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_767_225_600;

    fn rules(aud: &[String]) -> ClaimRules<'_> {
        ClaimRules { issuer: "https://id.example.com", audiences: aud, leeway: 60 }
    }

    fn check(claims: Value) -> Result<f64, Error> {
        let aud = vec!["netbird".to_string()];
        validate(claims.as_object().unwrap(), &rules(&aud), NOW)
    }

    fn base() -> Value {
        json!({"iss":"https://id.example.com","aud":["netbird"],"exp":NOW + 3600,"iat":NOW,"sub":"u"})
    }

    fn with(k: &str, v: Value) -> Value {
        let mut c = base();
        c[k] = v;
        c
    }

    #[test]
    fn accepts_pocketid_id_token_shapes() {
        assert_eq!(check(base()), Ok((NOW + 3600) as f64));
        assert!(check(with("aud", json!("netbird"))).is_ok(), "≤v2.9 string aud");
        assert!(check(with("type", json!("id-token"))).is_ok());
        assert!(check(with("exp", json!(NOW as f64 + 10.5))).is_ok(), "fractional NumericDate");
    }

    #[test]
    fn issuer_is_byte_for_byte() {
        assert_eq!(check(with("iss", json!("https://id.example.com/"))), Err(Error::IssuerNotTrusted));
        assert_eq!(check(with("iss", json!("https://ID.example.com"))), Err(Error::IssuerNotTrusted));
        assert_eq!(check(with("iss", json!(["https://id.example.com"]))), Err(Error::ClaimInvalid { claim: "iss" }));
    }

    #[test]
    fn audience_rules() {
        assert_eq!(check(with("aud", json!(["other"]))), Err(Error::AudienceMismatch));
        assert_eq!(check(with("aud", json!("https://id.example.com"))), Err(Error::AudienceMismatch), "session token");
        assert_eq!(check(with("aud", json!(["netbird", 5]))), Err(Error::ClaimInvalid { claim: "aud" }));
        let mut c = base();
        c.as_object_mut().unwrap().remove("aud");
        assert_eq!(check(c), Err(Error::ClaimMissing { claim: "aud" }));
    }

    #[test]
    fn time_rules_with_leeway() {
        assert!(check(with("exp", json!(NOW - 59))).is_ok());
        assert_eq!(check(with("exp", json!(NOW - 60))), Err(Error::Expired));
        assert_eq!(check(with("exp", json!("soon"))), Err(Error::ClaimInvalid { claim: "exp" }));
        let mut c = base();
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(check(c), Err(Error::ClaimMissing { claim: "exp" }));
        assert!(check(with("nbf", json!(NOW + 60))).is_ok());
        assert_eq!(check(with("nbf", json!(NOW + 61))), Err(Error::NotYetValid));
        assert_eq!(check(with("iat", json!(NOW + 61))), Err(Error::IssuedInFuture));
    }

    #[test]
    fn other_pocketid_tokens_are_refused() {
        assert_eq!(check(with("type", json!("access-token"))).unwrap_err().code(), "token_type_not_accepted");
        assert_eq!(check(with("type", json!("oauth-access-token"))).unwrap_err().code(), "token_type_not_accepted");
    }
}
