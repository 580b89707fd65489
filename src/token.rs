//! Compact JWS parsing: size caps first, then strict base64url, then the protected header.
//!
//! The payload is decoded but not interpreted here (it need not be JSON for a JWS); claims are the business of
//! [`crate::claims`], and only after the signature has verified.

use std::sync::OnceLock;

use crate::alg::{Algorithm, AlgorithmSet};
use crate::error::{Error, Part, clip};
use crate::json::scan::{self, Names, Span};

/// Size caps, checked before any decoding. Lengths are of the base64url text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Whole token. Default 32 768 bytes: a PocketID ID token with 500 groups of 40 characters is about 28 KB.
    pub max_token: usize,
    /// Header segment. Default 2 048 bytes (PocketID's is about 60).
    pub max_header: usize,
    /// Signature segment. Default 1 368 bytes (an RSA-8192 signature; RSA-2048 is 342).
    pub max_signature: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_token: 32_768, max_header: 2_048, max_signature: 1_368 }
    }
}

/// The protected header, as far as PocketGate reads it. `jwk`, `jku`, `x5u`, `x5c` are never read: keys come
/// only from the issuer's key set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// `alg` as sent.
    pub alg: String,
    /// `kid`, when present (a lookup key, nothing more).
    pub kid: Option<String>,
    /// `typ`, when present.
    pub typ: Option<String>,
    /// `cty`, when present.
    pub cty: Option<String>,
    /// Whether `crit` is present.
    pub has_crit: bool,
}

/// A parsed compact JWS. Borrowing the token keeps the signing input zero-copy.
#[derive(Clone, Debug)]
pub struct Jws<'t> {
    /// The protected header.
    pub header: Header,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers.
    pub signing_input: &'t [u8],
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Strict base64url: no padding, no whitespace, canonical trailing bits ([`crate::base64url`]).
pub fn b64_decode(text: &str, part: Part) -> Result<Vec<u8>, Error> {
    crate::base64url::decode(text, part)
}

/// Parse a compact JWS under `limits`.
pub fn parse<'t>(token: &'t str, limits: &Limits) -> Result<Jws<'t>, Error> {
    if token.is_empty() {
        return Err(Error::TokenMissing);
    }
    if token.len() > limits.max_token {
        return Err(Error::TokenTooLarge { part: None, len: token.len(), max: limits.max_token });
    }
    if token.starts_with('{') {
        return Err(Error::TokenMalformed { reason: "JSON serialization is not accepted" });
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::TokenMalformed { reason: "expected three dot-separated segments" });
    };
    if parts.next().is_some() {
        return Err(Error::TokenMalformed { reason: "more than three segments (JWE is not accepted)" });
    }
    if h.len() > limits.max_header {
        return Err(Error::TokenTooLarge { part: Some(Part::Header), len: h.len(), max: limits.max_header });
    }
    if s.len() > limits.max_signature {
        return Err(Error::TokenTooLarge { part: Some(Part::Signature), len: s.len(), max: limits.max_signature });
    }
    if h.is_empty() {
        return Err(Error::TokenMalformed { reason: "empty header segment" });
    }
    let header = parse_header(&b64_decode(h, Part::Header)?)?;
    let payload = b64_decode(p, Part::Payload)?;
    let signature = b64_decode(s, Part::Signature)?;
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    Ok(Jws { header, signing_input, payload, signature })
}

/// The header members read, in [`parse_header`]'s order.
const HEADER_MEMBERS: [&str; 5] = ["alg", "kid", "typ", "cty", "crit"];

fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    static NAMES: OnceLock<Names> = OnceLock::new();
    let bytes = std::str::from_utf8(bytes).map_err(|_| scan::not_utf8(Part::Header))?;
    let mut at = [None; HEADER_MEMBERS.len()];
    scan::members(bytes, Part::Header, NAMES.get_or_init(|| Names::new(HEADER_MEMBERS)), &mut at)?;
    let [alg, kid, typ, cty, crit] = at;
    let alg = match alg {
        Some(span) => text(bytes, span, "alg is not a string")?,
        None => return Err(Error::AlgorithmNotAllowed { alg: String::new() }),
    };
    let opt = |span: Option<Span>, reason| span.map(|s| text(bytes, s, reason)).transpose();
    Ok(Header {
        alg,
        kid: opt(kid, "kid is not a string")?,
        typ: opt(typ, "typ is not a string")?,
        cty: opt(cty, "cty is not a string")?,
        has_crit: crit.is_some(),
    })
}

fn text(doc: &str, span: Span, reason: &'static str) -> Result<String, Error> {
    scan::string(doc, span).map(String::from).ok_or(Error::Json { part: Part::Header, reason })
}

impl Header {
    /// The header checks that precede key selection, in order: [`Header::check_shape`], then
    /// [`Header::algorithm`].
    pub fn check(&self, allowed: AlgorithmSet) -> Result<Algorithm, Error> {
        self.check_shape()?;
        self.algorithm(allowed)
    }

    /// `crit` (no extension is understood, so any `crit` is refused), nested JWT (`cty: JWT`), token type (`typ`
    /// absent, `JWT` or `application/jwt`; an OAuth access token's `at+jwt` is refused).
    pub fn check_shape(&self) -> Result<(), Error> {
        if self.has_crit {
            return Err(Error::CritUnsupported);
        }
        if self.cty.as_deref().is_some_and(is_jwt_media_type) {
            return Err(Error::NestedJwt);
        }
        match &self.typ {
            Some(typ) if !is_jwt_media_type(typ) => {
                Err(Error::TokenTypeNotAccepted { seen: format!("typ {}", clip(typ, 32)) })
            }
            _ => Ok(()),
        }
    }

    /// The header's `alg`, if it is in `allowed`. `none`, HMAC and unknown names never are.
    pub fn algorithm(&self, allowed: AlgorithmSet) -> Result<Algorithm, Error> {
        match Algorithm::from_name(&self.alg) {
            Some(alg) if allowed.contains(alg) => Ok(alg),
            _ => Err(Error::AlgorithmNotAllowed { alg: clip(&self.alg, 32) }),
        }
    }
}

/// `JWT` or `application/jwt`, case-insensitively (RFC 7515 §4.1.9–10).
fn is_jwt_media_type(s: &str) -> bool {
    s.eq_ignore_ascii_case("JWT") || s.eq_ignore_ascii_case("application/jwt")
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn tok(h: &str, p: &str) -> String {
        format!("{}.{}.{}", b64(h), b64(p), b64("sig"))
    }

    #[test]
    fn parses_a_minimal_token() {
        let t = tok(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#, r#"{"a":1}"#);
        let jws = parse(&t, &Limits::default()).unwrap();
        assert_eq!(jws.header.alg, "RS256");
        assert_eq!(jws.header.kid.as_deref(), Some("k1"));
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.signing_input, t.rsplit_once('.').unwrap().0.as_bytes());
        assert_eq!(jws.header.check(AlgorithmSet::all()), Ok(Algorithm::RS256));
    }

    #[test]
    fn a_header_that_is_not_utf8_is_invalid_json() {
        let header = URL_SAFE_NO_PAD.encode(b"{\"alg\":\"RS256\",\"kid\":\"\xff\"}");
        let t = format!("{header}.{}.{}", b64("{}"), b64("sig"));
        let e = parse(&t, &Limits::default()).unwrap_err();
        assert_eq!(e, Error::Json { part: Part::Header, reason: "invalid JSON" });
    }

    #[test]
    fn rejects_wrong_shapes() {
        let l = Limits::default();
        assert_eq!(parse("", &l).unwrap_err(), Error::TokenMissing);
        assert_eq!(parse("a.b", &l).unwrap_err().code(), "token_malformed");
        assert_eq!(parse("a.b.c.d.e", &l).unwrap_err().code(), "token_malformed");
        assert_eq!(parse(r#"{"payload":"x"}"#, &l).unwrap_err().code(), "token_malformed");
        assert_eq!(parse(".e30.c2ln", &l).unwrap_err().code(), "token_malformed");
        // An empty signature parses (alg `none` must be refused by the alg check, not by accident here).
        let none = format!("{}.e30.", b64(r#"{"alg":"none"}"#));
        let jws = parse(&none, &l).unwrap();
        assert!(jws.signature.is_empty());
        assert_eq!(jws.header.check(AlgorithmSet::all()).unwrap_err().code(), "alg_not_allowed");
    }

    #[test]
    fn size_caps_come_first() {
        let l = Limits::default();
        let big = "a".repeat(l.max_token + 1);
        assert_eq!(parse(&big, &l).unwrap_err().code(), "token_too_large");
        let long_header = format!("{}.e30.c2ln", "a".repeat(l.max_header + 1));
        assert_eq!(
            parse(&long_header, &l).unwrap_err(),
            Error::TokenTooLarge { part: Some(Part::Header), len: l.max_header + 1, max: l.max_header }
        );
    }

    #[test]
    fn base64_is_strict() {
        let l = Limits::default();
        let h = b64(r#"{"alg":"RS256"}"#);
        for bad in
            [format!("{h}=.e30.c2ln"), format!("{h}.e30=.c2ln"), format!("{h}.e3 0.c2ln"), format!("{h}.e30.c2l+")]
        {
            assert_eq!(parse(&bad, &l).unwrap_err().code(), "token_base64", "{bad}");
        }
        // "e31" decodes to the same byte as "e30" in lax decoders: non-canonical trailing bits.
        assert_eq!(parse(&format!("{h}.e31.c2ln"), &l).unwrap_err(), Error::Base64 { part: Part::Payload });
    }

    #[test]
    fn header_checks() {
        let all = AlgorithmSet::all();
        let check = |h: &str| {
            let t = tok(h, "{}");
            parse(&t, &Limits::default()).and_then(|j| j.header.check(all))
        };
        assert_eq!(check(r#"{"alg":"none"}"#).unwrap_err().code(), "alg_not_allowed");
        assert_eq!(check(r#"{"alg":"HS256"}"#).unwrap_err().code(), "alg_not_allowed");
        assert_eq!(check(r#"{"kid":"x"}"#).unwrap_err().code(), "alg_not_allowed");
        assert_eq!(check(r#"{"alg":"RS256","crit":["exp"]}"#).unwrap_err(), Error::CritUnsupported);
        assert_eq!(check(r#"{"alg":"RS256","cty":"JWT"}"#).unwrap_err(), Error::NestedJwt);
        assert_eq!(check(r#"{"alg":"RS256","typ":"at+jwt"}"#).unwrap_err().code(), "token_type_not_accepted");
        assert_eq!(check(r#"{"alg":"RS256","alg":"none"}"#).unwrap_err().code(), "token_duplicate_key");
        assert_eq!(check(r#"{"alg":"RS256","kid":7}"#).unwrap_err().code(), "token_json");
        assert_eq!(check(r#"{"alg":"ES256","typ":"jwt"}"#), Ok(Algorithm::ES256));
        let only_rs: AlgorithmSet = [Algorithm::RS256].into_iter().collect();
        let t = tok(r#"{"alg":"ES256"}"#, "{}");
        let j = parse(&t, &Limits::default()).unwrap();
        assert_eq!(j.header.check(only_rs).unwrap_err().code(), "alg_not_allowed");
    }
}
