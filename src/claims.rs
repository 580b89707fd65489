//! Registered-claim checks, run only after the signature has verified: `iss`, `aud`, `sub`, `exp`, `nbf`, `iat`,
//! the token's lifetime, and the token type (PocketID signs access and session tokens with the same key as ID
//! tokens).

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Part};
use crate::json::{self, Names, ObjectReader, Scalar, Skip, StringList};

/// Claims the gate reads itself; a groups claim may not be one of them (nor start with one of them as a dotted
/// path), so that every member is read one way.
pub const READ_CLAIMS: [&str; 9] = ["iss", "aud", "sub", "exp", "nbf", "iat", "type", "email", "preferred_username"];

/// The claims of a token's payload that the gate uses, read in one strict pass ([`json::read_object`]): no map
/// per token, every other member validated and skipped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    iss: Option<Scalar>,
    aud: Option<StringList>,
    sub: Option<Scalar>,
    token_type: Option<Scalar>,
    exp: Option<Scalar>,
    nbf: Option<Scalar>,
    iat: Option<Scalar>,
    email: Option<Scalar>,
    preferred_username: Option<Scalar>,
    /// Per [`GroupPaths`] index: the groups found there, `None` when absent or neither a string nor an array.
    groups: Vec<Option<Vec<String>>>,
}

/// Where the issuers' groups claims are. Each is a member name, or, when no member has the whole name, a dotted
/// path into nested objects (`realm_access.roles`); the same rule as [`crate::policy::GroupsRef::find`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupPaths {
    /// Each distinct claim with its segments (one segment when it has no dot).
    paths: Vec<(String, Vec<String>)>,
}

impl GroupPaths {
    /// The distinct claims among `claims`, in first-seen order.
    pub fn new<'a>(claims: impl IntoIterator<Item = &'a str>) -> GroupPaths {
        let mut paths: Vec<(String, Vec<String>)> = Vec::new();
        for claim in claims {
            if !paths.iter().any(|(p, _)| p == claim) {
                paths.push((claim.to_owned(), claim.split('.').map(str::to_owned).collect()));
            }
        }
        GroupPaths { paths }
    }

    /// The index of `claim`, if it is one of the paths.
    pub fn index(&self, claim: &str) -> Option<usize> {
        self.paths.iter().position(|(p, _)| p == claim)
    }
}

impl Claims {
    /// Read `payload` strictly (a JSON object, no member name repeated at any depth), keeping the registered
    /// claims and the groups at every path of `paths`.
    pub fn read(payload: &[u8], paths: &GroupPaths) -> Result<Claims, Error> {
        let mut reader = Reader { claims: Claims::default(), paths, found: Found::new(paths.paths.len()) };
        json::read_object(payload, Part::Payload, &mut reader)?;
        let Reader { mut claims, found, .. } = reader;
        claims.groups = found.literal.into_iter().zip(found.nested).map(|(l, n)| l.unwrap_or(n)).collect();
        Ok(claims)
    }

    /// `iss`: `Ok(None)` when absent; an error when present but not a string.
    pub fn issuer(&self) -> Result<Option<&str>, Error> {
        match &self.iss {
            None => Ok(None),
            Some(Scalar::Str(s)) => Ok(Some(s)),
            Some(_) => Err(Error::ClaimInvalid { claim: "iss" }),
        }
    }

    /// `sub` when a string (empty when absent or of another type; [`validate`] refuses both).
    pub fn sub(&self) -> &str {
        str_of(&self.sub).unwrap_or_default()
    }

    /// `email` when a string.
    pub fn email(&self) -> Option<&str> {
        str_of(&self.email)
    }

    /// `preferred_username` when a string.
    pub fn preferred_username(&self) -> Option<&str> {
        str_of(&self.preferred_username)
    }

    /// The groups at path `index` of the [`GroupPaths`] the claims were read with, moved out.
    pub fn take_groups(&mut self, index: usize) -> Option<Vec<String>> {
        self.groups.get_mut(index).and_then(Option::take)
    }
}

fn str_of(v: &Option<Scalar>) -> Option<&str> {
    match v {
        Some(Scalar::Str(s)) => Some(s),
        _ => None,
    }
}

/// Groups found while reading: at a member with the whole name (`Some(found)` once seen, whatever its type), and
/// through the dotted path.
struct Found {
    literal: Vec<Option<Option<Vec<String>>>>,
    nested: Vec<Option<Vec<String>>>,
}

impl Found {
    fn new(n: usize) -> Found {
        Found { literal: vec![None; n], nested: vec![None; n] }
    }

    fn set(&mut self, target: Target<'_>, groups: Option<Vec<String>>) {
        if target.literal {
            self.literal[target.index] = Some(groups);
        } else {
            self.nested[target.index] = groups;
        }
    }
}

/// One groups path being followed: the segments still to descend (none: this value is the groups).
#[derive(Clone, Copy)]
struct Target<'p> {
    index: usize,
    rest: &'p [String],
    literal: bool,
}

struct Reader<'p> {
    claims: Claims,
    paths: &'p GroupPaths,
    found: Found,
}

impl<'de> ObjectReader<'de> for Reader<'_> {
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let c = &mut self.claims;
        let slot = match key {
            "iss" => &mut c.iss,
            "sub" => &mut c.sub,
            "type" => &mut c.token_type,
            "exp" => &mut c.exp,
            "nbf" => &mut c.nbf,
            "iat" => &mut c.iat,
            "email" => &mut c.email,
            "preferred_username" => &mut c.preferred_username,
            "aud" => {
                c.aud = Some(map.next_value_seed(StringList::Other)?);
                return Ok(());
            }
            _ => {
                let targets: Vec<Target<'_>> = (self.paths.paths.iter().enumerate())
                    .filter_map(|(index, (whole, segments))| {
                        if whole == key {
                            Some(Target { index, rest: &[], literal: true })
                        } else if segments.len() > 1 && segments[0] == key {
                            Some(Target { index, rest: &segments[1..], literal: false })
                        } else {
                            None
                        }
                    })
                    .collect();
                if targets.is_empty() {
                    return map.next_value_seed(Skip);
                }
                return map.next_value_seed(GroupsAt { targets, found: &mut self.found });
            }
        };
        *slot = Some(map.next_value_seed(Scalar::Other)?);
        Ok(())
    }
}

/// Follows groups paths into one value.
struct GroupsAt<'p, 'f> {
    targets: Vec<Target<'p>>,
    found: &'f mut Found,
}

impl GroupsAt<'_, '_> {
    /// The value here is `groups` for every path that ends here (the others, expecting an object, find none).
    fn here(self, groups: Option<Vec<String>>) {
        for t in self.targets.iter().filter(|t| t.rest.is_empty()) {
            self.found.set(*t, groups.clone());
        }
    }

    fn ends_here(&self) -> bool {
        self.targets.iter().any(|t| t.rest.is_empty())
    }
}

impl<'de> DeserializeSeed<'de> for GroupsAt<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GroupsAt<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.here(None);
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.here(None);
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.here(None);
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.here(None);
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.here(None);
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.here(Some(vec![v.to_owned()]));
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        if !self.ends_here() {
            return Skip.visit_seq(seq);
        }
        let list = StringList::Other.visit_list(seq)?;
        self.here(list.into_strings());
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let GroupsAt { targets, found } = self;
        // An object is not a list of groups for the paths that end here.
        for t in targets.iter().filter(|t| t.rest.is_empty()) {
            found.set(*t, None);
        }
        let mut names = Names::default();
        while let Some(key) = map.next_key_seed(json::Key)? {
            let deeper: Vec<Target<'_>> = targets
                .iter()
                .filter(|t| t.rest.first().is_some_and(|s| *s == *key))
                .map(|t| Target { rest: &t.rest[1..], ..*t })
                .collect();
            if deeper.is_empty() {
                map.next_value_seed(Skip)?;
            } else {
                map.next_value_seed(GroupsAt { targets: deeper, found: &mut *found })?;
            }
            names.add(key)?;
        }
        Ok(())
    }
}

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
pub fn validate(claims: &Claims, rules: &ClaimRules<'_>, now: u64) -> Result<f64, Error> {
    match claims.issuer()? {
        Some(iss) if iss == rules.issuer => {}
        Some(_) => return Err(Error::IssuerNotTrusted),
        None => return Err(Error::ClaimMissing { claim: "iss" }),
    }
    check_audience(claims.aud.as_ref(), rules.audiences)?;
    check_type(claims.token_type.as_ref())?;
    match &claims.sub {
        Some(Scalar::Str(sub)) if !sub.is_empty() => {}
        Some(_) => return Err(Error::ClaimInvalid { claim: "sub" }),
        None => return Err(Error::ClaimMissing { claim: "sub" }),
    }
    let now = now as f64;
    let leeway = rules.leeway as f64;
    let max_age = rules.max_token_age as f64;
    let exp = numeric(&claims.exp, "exp")?.ok_or(Error::ClaimMissing { claim: "exp" })?;
    if now >= exp + leeway {
        return Err(Error::Expired);
    }
    if numeric(&claims.nbf, "nbf")?.is_some_and(|nbf| now + leeway < nbf) {
        return Err(Error::NotYetValid);
    }
    let iat = numeric(&claims.iat, "iat")?;
    if iat.is_some_and(|iat| now + leeway < iat) {
        return Err(Error::IssuedInFuture);
    }
    if exp - now > max_age + leeway || iat.is_some_and(|iat| exp - iat > max_age) {
        return Err(Error::TokenLifetimeTooLong);
    }
    Ok(exp)
}

fn check_audience(aud: Option<&StringList>, accepted: &[String]) -> Result<(), Error> {
    let hit = |s: &String| accepted.contains(s);
    match aud {
        None => Err(Error::ClaimMissing { claim: "aud" }),
        Some(StringList::One(s)) => {
            if hit(s) {
                Ok(())
            } else {
                Err(Error::AudienceMismatch)
            }
        }
        Some(StringList::Many { only_strings: false, .. }) | Some(StringList::Other) => {
            Err(Error::ClaimInvalid { claim: "aud" })
        }
        Some(StringList::Many { strings, .. }) => {
            if strings.iter().any(hit) {
                Ok(())
            } else {
                Err(Error::AudienceMismatch)
            }
        }
    }
}

/// PocketID marks its tokens with a `type` claim: only `id-token` (or no `type` at all, as other issuers and
/// QuFabric's embedded IdP send) is an ID token.
fn check_type(token_type: Option<&Scalar>) -> Result<(), Error> {
    match token_type {
        None => Ok(()),
        Some(Scalar::Str(t)) if t == "id-token" => Ok(()),
        Some(Scalar::Str(t)) => {
            Err(Error::TokenTypeNotAccepted { seen: format!("type {}", crate::error::clip(t, 32)) })
        }
        Some(_) => Err(Error::ClaimInvalid { claim: "type" }),
    }
}

/// A NumericDate claim: `Ok(None)` when absent, an error when not a finite number.
fn numeric(value: &Option<Scalar>, name: &'static str) -> Result<Option<f64>, Error> {
    match value {
        None => Ok(None),
        Some(Scalar::Num(n)) if n.is_finite() => Ok(Some(*n)),
        Some(_) => Err(Error::ClaimInvalid { claim: name }),
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
        let claims = Claims::read(claims.to_string().as_bytes(), &GroupPaths::new(["groups"]))?;
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

    /// The groups read in the claims pass are what [`crate::policy::extract_groups`] finds in the whole map, for
    /// every path shape: a member, a dotted path, a member whose name has a dot, wrong types, two paths sharing a
    /// prefix.
    #[test]
    fn groups_paths_agree_with_the_map_reading() {
        let paths = ["groups", "realm_access.roles", "realm_access.groups", "a.b.c", "cognito:groups", "x.y"];
        let docs = [
            json!({"groups": ["g1", 2, "g2"], "realm_access": {"roles": ["r1"], "groups": "one"}}),
            json!({"groups": "solo", "realm_access": ["not", "an", "object"]}),
            json!({"groups": {"nested": true}, "realm_access": {"roles": 5}}),
            json!({"realm_access.roles": ["literal"], "realm_access": {"roles": ["nested"]}}),
            json!({"realm_access.roles": 7, "realm_access": {"roles": ["nested"]}}),
            json!({"a": {"b": {"c": ["deep"]}, "c": 1}, "cognito:groups": ["cg"]}),
            json!({"a": {"b": "not an object"}, "x": {"y": null}}),
            json!({"a.b.c": "whole", "a": {"b": {"c": ["deep"]}}}),
            json!({"other": 1}),
        ];
        let gp = GroupPaths::new(paths);
        for doc in docs {
            let map = doc.as_object().unwrap();
            let mut claims = Claims::read(doc.to_string().as_bytes(), &gp).unwrap();
            for p in paths {
                let i = gp.index(p).unwrap();
                assert_eq!(claims.take_groups(i), crate::policy::extract_groups(map, p), "{p} in {doc}");
            }
        }
    }

    #[test]
    fn a_repeated_member_is_refused_in_read_and_skipped_parts() {
        let gp = GroupPaths::new(["realm_access.roles"]);
        for doc in [
            r#"{"iss":"a","iss":"b"}"#,
            r#"{"realm_access":{"roles":["a"],"roles":["b"]}}"#,
            r#"{"realm_access":{"x":1,"x":2}}"#,
            r#"{"custom":{"k":[{"z":1,"z":1}]}}"#,
            r#"{"aud":["a"],"aud":"b"}"#,
        ] {
            assert_eq!(
                Claims::read(doc.as_bytes(), &gp),
                Err(Error::DuplicateJsonKey { part: Part::Payload }),
                "{doc}"
            );
        }
    }

    #[test]
    fn other_pocketid_tokens_are_refused() {
        assert_eq!(check(with("type", json!("access-token"))).unwrap_err().code(), "token_type_not_accepted");
        assert_eq!(check(with("type", json!("oauth-access-token"))).unwrap_err().code(), "token_type_not_accepted");
    }
}
