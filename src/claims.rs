//! Registered-claim checks, run only after the signature has verified: `iss`, `aud`, `sub`, `exp`, `nbf`, `iat`,
//! the token's lifetime, and the token type (PocketID signs access and session tokens with the same key as ID
//! tokens).

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
    /// Longest accepted lifetime in seconds: `exp − iat` may not exceed it, nor `exp − now` beyond the leeway.
    pub max_token_age: u64,
}

/// The numeric `exp` of verified claims.
///
/// `sub` is required, a non-empty string (OIDC Core §2 requires it in every ID token): an admitted user always has
/// an identity to forward. A token living longer than `max_token_age` is refused
/// ([`Error::TokenLifetimeTooLong`]): measured from `iat` when present, and from `now` always, so a stolen token
/// with a far `exp` is not honoured for years.
pub fn validate(claims: &Map<String, Value>, rules: &ClaimRules<'_>, now: u64) -> Result<f64, Error> {
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == rules.issuer => {}
        Some(Value::String(_)) => return Err(Error::IssuerNotTrusted),
        Some(_) => return Err(Error::ClaimInvalid { claim: "iss" }),
        None => return Err(Error::ClaimMissing { claim: "iss" }),
    }
    check_audience(claims.get("aud"), rules.audiences)?;
    check_type(claims)?;
    match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => {}
        Some(_) => return Err(Error::ClaimInvalid { claim: "sub" }),
        None => return Err(Error::ClaimMissing { claim: "sub" }),
    }
    let now = now as f64;
    let leeway = rules.leeway as f64;
    let max_age = rules.max_token_age as f64;
    let exp = numeric(claims, "exp")?.ok_or(Error::ClaimMissing { claim: "exp" })?;
    if now >= exp + leeway {
        return Err(Error::Expired);
    }
    if numeric(claims, "nbf")?.is_some_and(|nbf| now + leeway < nbf) {
        return Err(Error::NotYetValid);
    }
    let iat = numeric(claims, "iat")?;
    if iat.is_some_and(|iat| now + leeway < iat) {
        return Err(Error::IssuedInFuture);
    }
    if exp - now > max_age + leeway || iat.is_some_and(|iat| exp - iat > max_age) {
        return Err(Error::TokenLifetimeTooLong);
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
        ClaimRules { issuer: "https://id.example.com", audiences: aud, leeway: 60, max_token_age: 86_400 }
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

    /// OIDC Core requires `sub` in every ID token; without it the identity forwarded upstream was empty.
    #[test]
    fn sub_is_a_required_non_empty_string() {
        let mut c = base();
        c.as_object_mut().unwrap().remove("sub");
        assert_eq!(check(c), Err(Error::ClaimMissing { claim: "sub" }));
        for bad in [json!(""), json!(42), json!(null), json!(["u"]), json!({"id": "u"})] {
            assert_eq!(check(with("sub", bad.clone())), Err(Error::ClaimInvalid { claim: "sub" }), "{bad}");
        }
        // Dex's `sub` (base64 of a protobuf) is an ordinary non-empty string.
        assert!(check(with("sub", json!("CiQ3YjQ5ZWVjMi0yN2FiLTRhOTItYTBiZi0zZjM1OGFiNGI2MjISBWxvY2Fs"))).is_ok());
    }

    /// `MAX_TOKEN_AGE` (here one day, leeway 60): measured as `exp − iat` and as `exp − now`.
    #[test]
    fn token_lifetime_is_capped() {
        let day = 86_400;
        // Dex's 24 h ID token is exactly at the cap: accepted.
        let dex = json!({"iss":"https://id.example.com","aud":"netbird","sub":"u","iat":NOW,"exp":NOW + day});
        assert!(check(dex).is_ok());
        let long = json!({"iss":"https://id.example.com","aud":"netbird","sub":"u","iat":NOW,"exp":NOW + day + 1});
        assert_eq!(check(long), Err(Error::TokenLifetimeTooLong));
        // Issued long ago with a far `exp`: still within `exp − now`, but not `exp − iat`.
        let old = json!({"iss":"https://id.example.com","aud":"netbird","sub":"u","iat":NOW - day,"exp":NOW + 10});
        assert_eq!(check(old), Err(Error::TokenLifetimeTooLong));
        // Without `iat`, `exp − now` alone (plus the leeway) decides.
        let mut no_iat = with("exp", json!(NOW + day + 60));
        no_iat.as_object_mut().unwrap().remove("iat");
        assert!(check(no_iat.clone()).is_ok());
        no_iat["exp"] = json!(NOW + day + 61);
        assert_eq!(check(no_iat), Err(Error::TokenLifetimeTooLong));
        let years = with("exp", json!(NOW + 10 * 365 * day));
        assert_eq!(check(years).unwrap_err().code(), "token_lifetime_too_long");
    }

    #[test]
    fn other_pocketid_tokens_are_refused() {
        assert_eq!(check(with("type", json!("access-token"))).unwrap_err().code(), "token_type_not_accepted");
        assert_eq!(check(with("type", json!("oauth-access-token"))).unwrap_err().code(), "token_type_not_accepted");
    }
}
