//! Registered-claim checks, run only after the signature has verified: `iss`, `aud`, `sub`, `exp`, `nbf`, `iat`,
//! the token's lifetime, and the token type (PocketID signs access and session tokens with the same key as ID
//! tokens).
//!
//! The claims are read from the payload by one strict pass ([`Claims::read`], [`crate::json::scan`]): no map is
//! built, only the members the gate uses are located, and the values are decoded when a check reads them.

use std::borrow::Cow;
use std::sync::Arc;

use crate::error::{Error, Part};
use crate::json::scan::{self, Names, Span};
use crate::policy::Identity;

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

/// The claims every token is read for, by index in [`ClaimNames`].
const REGISTERED: [&str; 9] = ["iss", "aud", "sub", "exp", "nbf", "iat", "type", "email", "preferred_username"];
const ISS: usize = 0;
const AUD: usize = 1;
const SUB: usize = 2;
const EXP: usize = 3;
const NBF: usize = 4;
const IAT: usize = 5;
const TYPE: usize = 6;
const EMAIL: usize = 7;
const PREFERRED_USERNAME: usize = 8;

/// The top-level members a verifier reads from payloads: the registered claims above, then each issuer's groups
/// claim and, for a dotted one (`realm_access.roles`), its first segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimNames {
    names: Names,
}

impl ClaimNames {
    /// The names for issuers with these groups claims.
    pub fn new<'a>(groups_claims: impl IntoIterator<Item = &'a str>) -> ClaimNames {
        let mut all: Vec<&str> = REGISTERED.to_vec();
        for claim in groups_claims {
            let root = claim.split('.').next().unwrap_or(claim);
            for name in [claim, root] {
                if !all.contains(&name) {
                    all.push(name);
                }
            }
        }
        ClaimNames { names: Names::new(all) }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.index(name)
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

/// A payload and where its claims are: owns the payload's bytes (so it can wait for a signature check), holds
/// no decoded value.
#[derive(Clone, Debug)]
pub struct Claims {
    payload: String,
    names: Arc<ClaimNames>,
    at: Vec<Option<Span>>,
}

impl Claims {
    /// Read a decoded payload: one strict JSON object (no repeated member at any depth), its `names` located.
    pub fn read(payload: Vec<u8>, names: &Arc<ClaimNames>) -> Result<Claims, Error> {
        let payload = String::from_utf8(payload).map_err(|_| scan::not_utf8(Part::Payload))?;
        let mut at = vec![None; names.len()];
        scan::members(&payload, Part::Payload, &names.names, &mut at)?;
        Ok(Claims { payload, names: Arc::clone(names), at })
    }

    fn span(&self, name: &str) -> Option<Span> {
        self.at.get(self.names.index(name)?).copied().flatten()
    }

    /// A string claim: `Ok(None)` when absent, `Err(())` when present but not a string.
    fn string(&self, index: usize) -> Result<Option<Cow<'_, str>>, ()> {
        match self.at[index] {
            None => Ok(None),
            Some(span) => scan::string(&self.payload, span).map(Some).ok_or(()),
        }
    }

    /// A string claim, `None` unless a string.
    fn text(&self, index: usize) -> Option<String> {
        self.string(index).ok().flatten().map(Cow::into_owned)
    }

    /// The unverified `iss`, to select the issuer before the signature: absent and non-string are errors.
    pub fn issuer(&self) -> Result<Cow<'_, str>, Error> {
        match self.string(ISS) {
            Ok(Some(iss)) => Ok(iss),
            Ok(None) => Err(Error::ClaimMissing { claim: "iss" }),
            Err(()) => Err(Error::ClaimInvalid { claim: "iss" }),
        }
    }

    /// The groups under `claim`: the literal member `claim` first (so `cognito:groups` or a name with dots
    /// works); only when there is no such member, the dotted path (`realm_access.roles`). `None` when absent or
    /// neither a string nor an array; a string is a one-item list; non-string items are ignored.
    pub fn groups(&self, claim: &str) -> Option<Vec<String>> {
        let doc = &self.payload[..];
        let span = match self.span(claim) {
            Some(span) => span,
            None if claim.contains('.') => {
                let mut parts = claim.split('.');
                let mut span = self.span(parts.next()?)?;
                for part in parts {
                    span = scan::member(doc, span, part)?;
                }
                span
            }
            None => return None,
        };
        if let Some(one) = scan::string(doc, span) {
            return Some(vec![one.into_owned()]);
        }
        let items = scan::items(doc, span)?;
        Some(items.into_iter().filter_map(|i| scan::string(doc, i).map(Cow::into_owned)).collect())
    }

    /// The identity: `sub` (empty when absent), `email` and `preferred_username` when they are strings, and the
    /// groups under `groups_claim` ([`Claims::groups`]; none when absent).
    pub fn identity(&self, groups_claim: &str) -> Identity {
        Identity {
            sub: self.text(SUB).unwrap_or_default(),
            email: self.text(EMAIL),
            preferred_username: self.text(PREFERRED_USERNAME),
            groups: self.groups(groups_claim).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
impl Claims {
    /// Test claims from a JSON value, read for issuers with `groups_claim`.
    pub(crate) fn of(value: &serde_json::Value, groups_claim: &str) -> Claims {
        let names = Arc::new(ClaimNames::new([groups_claim]));
        Claims::read(serde_json::to_vec(value).expect("serializable"), &names).expect("an object")
    }
}

/// The numeric `exp` of verified claims.
///
/// `sub` is required, a non-empty string (OIDC Core §2 requires it in every ID token): an admitted user always has
/// an identity to forward. A token living longer than `max_token_age` is refused
/// ([`Error::TokenLifetimeTooLong`]): measured from `iat` when present, and from `now` always, so a stolen token
/// with a far `exp` is not honoured for years.
pub fn validate(claims: &Claims, rules: &ClaimRules<'_>, now: u64) -> Result<f64, Error> {
    match claims.string(ISS) {
        Ok(Some(iss)) if iss == rules.issuer => {}
        Ok(Some(_)) => return Err(Error::IssuerNotTrusted),
        Err(()) => return Err(Error::ClaimInvalid { claim: "iss" }),
        Ok(None) => return Err(Error::ClaimMissing { claim: "iss" }),
    }
    check_audience(claims, rules.audiences)?;
    check_type(claims)?;
    match claims.string(SUB) {
        Ok(Some(sub)) if !sub.is_empty() => {}
        Ok(None) => return Err(Error::ClaimMissing { claim: "sub" }),
        _ => return Err(Error::ClaimInvalid { claim: "sub" }),
    }
    let now = now as f64;
    let leeway = rules.leeway as f64;
    let max_age = rules.max_token_age as f64;
    let exp = numeric(claims, EXP, "exp")?.ok_or(Error::ClaimMissing { claim: "exp" })?;
    if now >= exp + leeway {
        return Err(Error::Expired);
    }
    if numeric(claims, NBF, "nbf")?.is_some_and(|nbf| now + leeway < nbf) {
        return Err(Error::NotYetValid);
    }
    let iat = numeric(claims, IAT, "iat")?;
    if iat.is_some_and(|iat| now + leeway < iat) {
        return Err(Error::IssuedInFuture);
    }
    if exp - now > max_age + leeway || iat.is_some_and(|iat| exp - iat > max_age) {
        return Err(Error::TokenLifetimeTooLong);
    }
    Ok(exp)
}

/// `aud`: a string, or an array of strings only; at least one accepted.
fn check_audience(claims: &Claims, accepted: &[String]) -> Result<(), Error> {
    let doc = &claims.payload[..];
    let span = claims.at[AUD].ok_or(Error::ClaimMissing { claim: "aud" })?;
    let hit = |s: &str| accepted.iter().any(|a| a == s);
    if let Some(one) = scan::string(doc, span) {
        return if hit(&one) { Ok(()) } else { Err(Error::AudienceMismatch) };
    }
    let items = scan::items(doc, span).ok_or(Error::ClaimInvalid { claim: "aud" })?;
    let mut found = false;
    for item in items {
        let aud = scan::string(doc, item).ok_or(Error::ClaimInvalid { claim: "aud" })?;
        found |= hit(&aud);
    }
    if found { Ok(()) } else { Err(Error::AudienceMismatch) }
}

/// PocketID marks its tokens with a `type` claim: only `id-token` (or no `type` at all, as other issuers and
/// QuFabric's embedded IdP send) is an ID token.
fn check_type(claims: &Claims) -> Result<(), Error> {
    match claims.string(TYPE) {
        Ok(None) => Ok(()),
        Ok(Some(t)) if t == "id-token" => Ok(()),
        Ok(Some(t)) => Err(Error::TokenTypeNotAccepted { seen: format!("type {}", crate::error::clip(&t, 32)) }),
        Err(()) => Err(Error::ClaimInvalid { claim: "type" }),
    }
}

/// A NumericDate claim: `Ok(None)` when absent, an error when not a finite number.
fn numeric(claims: &Claims, index: usize, name: &'static str) -> Result<Option<f64>, Error> {
    match claims.at[index] {
        None => Ok(None),
        Some(span) => scan::number(&claims.payload, span).map(Some).ok_or(Error::ClaimInvalid { claim: name }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: u64 = 1_767_225_600;

    fn rules(aud: &[String]) -> ClaimRules<'_> {
        ClaimRules { issuer: "https://id.example.com", audiences: aud, leeway: 60, max_token_age: 86_400 }
    }

    fn check(claims: Value) -> Result<f64, Error> {
        let aud = vec!["netbird".to_string()];
        let claims =
            Claims::read(serde_json::to_vec(&claims).unwrap(), &Arc::new(ClaimNames::new(["groups"]))).unwrap();
        validate(&claims, &rules(&aud), NOW)
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
