//! The one error type of PocketGate: every failure has a stable machine code, a human message and exactly
//! one HTTP status ([`Error::status`]).
//!
//! Messages never contain token contents, key material or secrets: they name the part that failed and why.

use std::fmt;

/// Which part of a compact JWS a format error refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The protected header (first segment).
    Header,
    /// The payload (second segment).
    Payload,
    /// The signature (third segment).
    Signature,
}

impl Part {
    /// Lower-case name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        }
    }
}

/// How a request ends when verification or policy fails: the HTTP status class of an [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 400: the request itself cannot be judged safely (an ambiguous path, a method that is not a token,
    /// conflicting forwarding headers).
    BadRequest,
    /// 401: no valid credentials were presented.
    Unauthenticated,
    /// 403: a valid user who is not allowed here.
    Forbidden,
    /// 404: no such endpoint (a `/_gate/` path the gate does not serve, proxy mode without `UPSTREAM`).
    NotFound,
    /// 405: an endpoint called with a method it does not take.
    MethodNotAllowed,
    /// 500: the gate could not build its answer.
    Internal,
    /// 502: proxy mode could not reach the upstream.
    BadGateway,
    /// 503: the gate cannot decide (configuration invalid, keys unavailable); fail closed.
    Unavailable,
}

impl Status {
    /// The HTTP status code.
    pub fn http(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::Unauthenticated => 401,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::Internal => 500,
            Status::BadGateway => 502,
            Status::Unavailable => 503,
        }
    }
}

/// Every way a token, a key, a key set, a policy or a configuration can fail.
///
/// Match on the variant or on [`Error::code`] (stable, `snake_case`); display for the human message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // ---- the request carried no usable token (401) ----
    /// No bearer token was presented.
    TokenMissing,
    /// The token (or one of its segments) is longer than the documented cap.
    TokenTooLarge {
        /// Which segment, or `None` for the whole token.
        part: Option<Part>,
        /// Its length in bytes.
        len: usize,
        /// The cap in bytes.
        max: usize,
    },
    /// Not a compact JWS: wrong number of segments, empty segment, JWE, JSON serialization.
    TokenMalformed {
        /// What is wrong, in a few words.
        reason: &'static str,
    },
    /// A segment is not strict base64url (padding, whitespace, non-alphabet or non-canonical trailing bits).
    Base64 {
        /// The segment.
        part: Part,
    },
    /// A segment is not a JSON object, or is invalid JSON.
    Json {
        /// The segment.
        part: Part,
        /// What is wrong, in a few words.
        reason: &'static str,
    },
    /// A JSON object in the header or payload repeats a member name.
    DuplicateJsonKey {
        /// The segment.
        part: Part,
    },
    /// The header's `alg` is missing, not allowed for this issuer, `none`, HMAC, or unknown.
    AlgorithmNotAllowed {
        /// The `alg` value (a short identifier; truncated to 32 bytes).
        alg: String,
    },
    /// The header lists a `crit` extension the gate does not understand (it understands none).
    CritUnsupported,
    /// The header says the payload is itself a JWT (`cty: JWT`); nested tokens are refused.
    NestedJwt,
    /// The token is not an ID token: an OAuth access token (`typ: at+jwt`) or PocketID's own session token.
    TokenTypeNotAccepted {
        /// What was seen, e.g. `typ at+jwt` or `type access-token`.
        seen: String,
    },
    /// No key in the issuer's key set has the token's `kid` (the adapter may refresh the set once).
    KeyNotFound {
        /// The `kid` from the header, if any (truncated to 64 bytes).
        kid: Option<String>,
    },
    /// The key with the token's `kid` does not fit the token's `alg` (kty, crv, alg or use differ).
    KeyMismatch {
        /// What does not fit, in a few words.
        reason: &'static str,
    },
    /// The signature does not verify.
    SignatureInvalid,
    /// The token's `iss` is not a trusted issuer (byte-for-byte comparison).
    IssuerNotTrusted,
    /// The token's `aud` does not contain a configured audience.
    AudienceMismatch,
    /// A required claim is missing.
    ClaimMissing {
        /// The claim name.
        claim: &'static str,
    },
    /// A claim has the wrong type (e.g. `exp` not a number).
    ClaimInvalid {
        /// The claim name.
        claim: &'static str,
    },
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// A personal access token (`Authorization: Token …`) on a route that denies them.
    PatNotAllowed,
    /// The token's lifetime is longer than `MAX_TOKEN_AGE` (`exp − iat`, or `exp − now`, beyond the leeway).
    TokenLifetimeTooLong,

    // ---- the request cannot be judged safely (400) ----
    /// The path cannot be normalised safely (an encoded `/`, a backslash, non-ASCII, a case that changes the
    /// rule, …) and the route table is not all bypass: refused rather than matched by guesswork.
    PathAmbiguous,
    /// Forward-auth: the two families of forwarding headers (`X-Forwarded-Method`/`-Uri` and
    /// `X-Original-Method`/`-URI`) disagree, so the original request is unknown.
    ForwardedHeadersConflict,
    /// Forward-auth: the proxy did not send the original method and URI in the header family `FORWARDED_HEADERS`
    /// names.
    ForwardedHeadersIncomplete,
    /// The request carries more than one `Authorization` header (a singleton field, RFC 9110 §11.6.2): proxies
    /// and upstreams disagree on which one counts (the first, the last, or both joined), so neither is judged.
    AuthorizationRepeated,
    /// The request method is empty or not an HTTP token (RFC 9110 §9.1, §5.6.2), so no rule can be chosen for it.
    MethodInvalid,

    // ---- a verified user who may not pass (403) ----
    /// The user's groups claim is missing or empty.
    GroupsMissing,
    /// None of the user's groups is in the allow list.
    GroupNotAllowed,
    /// One of the user's groups is in the deny list.
    GroupDenied,
    /// The route's rule is bound to other issuers than the token's (`ROUTES` `issuers`).
    IssuerNotAllowedHere,

    // ---- the request does not reach the gate's judgement (404, 405, 500, 502) ----
    /// No such endpoint; `what` says which (a fixed text).
    NotFound {
        /// What is missing, e.g. `no such gate endpoint`.
        what: &'static str,
    },
    /// `/_gate/auth` takes `GET` and `HEAD` only.
    MethodNotAllowed,
    /// The gate could not build its answer (a JavaScript exception); logged without request data.
    Internal,
    /// Proxy mode: the upstream could not be reached.
    UpstreamUnavailable,

    // ---- the gate cannot decide (503) ----
    /// No usable keys for the issuer (never fetched, or stale beyond the maximum age).
    KeysUnavailable {
        /// Why, in a few words (no secrets).
        reason: String,
    },
    /// The JWKS document as a whole is unusable (not JSON, no `keys` array).
    JwksInvalid {
        /// What is wrong.
        reason: String,
    },
    /// One JWK member is unusable: malformed, unsupported or weak. Other keys of the set still load.
    KeyInvalid {
        /// The key's `kid`, if it has one.
        kid: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// A configuration setting is invalid; the gate fails closed until it is fixed.
    Config {
        /// The setting's name (e.g. `ISSUER`).
        setting: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl Error {
    /// The stable machine code, `snake_case`. Part of the public contract: never renamed.
    pub fn code(&self) -> &'static str {
        match self {
            Error::TokenMissing => "token_missing",
            Error::TokenTooLarge { .. } => "token_too_large",
            Error::TokenMalformed { .. } => "token_malformed",
            Error::Base64 { .. } => "token_base64",
            Error::Json { .. } => "token_json",
            Error::DuplicateJsonKey { .. } => "token_duplicate_key",
            Error::AlgorithmNotAllowed { .. } => "alg_not_allowed",
            Error::CritUnsupported => "crit_unsupported",
            Error::NestedJwt => "nested_jwt",
            Error::TokenTypeNotAccepted { .. } => "token_type_not_accepted",
            Error::KeyNotFound { .. } => "key_not_found",
            Error::KeyMismatch { .. } => "key_mismatch",
            Error::SignatureInvalid => "signature_invalid",
            Error::IssuerNotTrusted => "issuer_not_trusted",
            Error::AudienceMismatch => "audience_mismatch",
            Error::ClaimMissing { .. } => "claim_missing",
            Error::ClaimInvalid { .. } => "claim_invalid",
            Error::Expired => "token_expired",
            Error::NotYetValid => "token_not_yet_valid",
            Error::IssuedInFuture => "token_issued_in_future",
            Error::PatNotAllowed => "pat_not_allowed",
            Error::TokenLifetimeTooLong => "token_lifetime_too_long",
            Error::PathAmbiguous => "path_ambiguous",
            Error::ForwardedHeadersConflict => "forwarded_headers_conflict",
            Error::ForwardedHeadersIncomplete => "forwarded_headers_incomplete",
            Error::AuthorizationRepeated => "authorization_repeated",
            Error::MethodInvalid => "method_invalid",
            Error::IssuerNotAllowedHere => "issuer_not_allowed_here",
            Error::GroupsMissing => "groups_missing",
            Error::GroupNotAllowed => "group_not_allowed",
            Error::GroupDenied => "group_denied",
            Error::NotFound { .. } => "not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::Internal => "internal_error",
            Error::UpstreamUnavailable => "upstream_unavailable",
            Error::KeysUnavailable { .. } => "keys_unavailable",
            Error::JwksInvalid { .. } => "jwks_invalid",
            Error::KeyInvalid { .. } => "key_invalid",
            Error::Config { .. } => "config_invalid",
        }
    }

    /// The status class: the one mapping from errors to HTTP.
    pub fn status(&self) -> Status {
        match self {
            Error::GroupsMissing | Error::GroupNotAllowed | Error::GroupDenied | Error::IssuerNotAllowedHere => {
                Status::Forbidden
            }
            Error::PathAmbiguous
            | Error::ForwardedHeadersConflict
            | Error::ForwardedHeadersIncomplete
            | Error::AuthorizationRepeated
            | Error::MethodInvalid => Status::BadRequest,
            Error::NotFound { .. } => Status::NotFound,
            Error::MethodNotAllowed => Status::MethodNotAllowed,
            Error::Internal => Status::Internal,
            Error::UpstreamUnavailable => Status::BadGateway,
            Error::KeysUnavailable { .. }
            | Error::JwksInvalid { .. }
            | Error::KeyInvalid { .. }
            | Error::Config { .. } => Status::Unavailable,
            _ => Status::Unauthenticated,
        }
    }

    /// Shorthand for `self.status().http()`.
    pub fn http_status(&self) -> u16 {
        self.status().http()
    }

    /// Whether a refresh of the issuer's key set could change the verdict (an unknown `kid`).
    pub fn wants_key_refresh(&self) -> bool {
        matches!(self, Error::KeyNotFound { .. })
    }
}

/// Shorten an attacker-controlled identifier before it goes into an error (and from there into logs).
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TokenMissing => write!(f, "no bearer token was presented"),
            Error::TokenTooLarge { part: Some(p), len, max } => {
                write!(f, "token {} is {len} bytes, more than the {max}-byte cap", p.name())
            }
            Error::TokenTooLarge { part: None, len, max } => {
                write!(f, "token is {len} bytes, more than the {max}-byte cap")
            }
            Error::TokenMalformed { reason } => write!(f, "not a compact JWS: {reason}"),
            Error::Base64 { part } => write!(f, "token {} is not strict base64url", part.name()),
            Error::Json { part, reason } => write!(f, "token {} is not a JSON object: {reason}", part.name()),
            Error::DuplicateJsonKey { part } => write!(f, "token {} repeats a JSON member name", part.name()),
            Error::AlgorithmNotAllowed { alg } => write!(f, "algorithm {alg:?} is not allowed"),
            Error::CritUnsupported => write!(f, "header lists a critical extension the gate does not support"),
            Error::NestedJwt => write!(f, "nested JWTs (cty: JWT) are not accepted"),
            Error::TokenTypeNotAccepted { seen } => {
                write!(f, "only ID tokens are accepted, this is not one ({seen})")
            }
            Error::KeyNotFound { kid: Some(k) } => write!(f, "no key with kid {k:?} in the issuer's key set"),
            Error::KeyNotFound { kid: None } => write!(f, "token has no kid and no single key fits it"),
            Error::KeyMismatch { reason } => write!(f, "the key does not fit the token's algorithm: {reason}"),
            Error::SignatureInvalid => write!(f, "signature does not verify"),
            Error::IssuerNotTrusted => write!(f, "token issuer is not trusted (compared byte for byte)"),
            Error::AudienceMismatch => write!(f, "token audience does not contain a configured audience"),
            Error::ClaimMissing { claim } => write!(f, "required claim {claim:?} is missing"),
            Error::ClaimInvalid { claim } => write!(f, "claim {claim:?} has the wrong type or an empty value"),
            Error::Expired => write!(f, "token has expired"),
            Error::NotYetValid => write!(f, "token is not valid yet (nbf)"),
            Error::IssuedInFuture => write!(f, "token was issued in the future (iat)"),
            Error::PatNotAllowed => write!(f, "personal access tokens are not allowed on this route"),
            Error::TokenLifetimeTooLong => write!(f, "token lifetime exceeds the maximum (MAX_TOKEN_AGE)"),
            Error::PathAmbiguous => {
                write!(f, "the request path cannot be normalised safely (encoded slash, backslash, non-ASCII, …)")
            }
            Error::ForwardedHeadersConflict => write!(
                f,
                "the forwarding headers disagree (X-Forwarded-Method/-Uri vs X-Original-Method/-URI); the proxy \
                 must set one family and clear the other"
            ),
            Error::ForwardedHeadersIncomplete => {
                write!(f, "the proxy sent no complete original method and URI (see FORWARDED_HEADERS)")
            }
            Error::AuthorizationRepeated => write!(f, "send exactly one Authorization header"),
            Error::MethodInvalid => write!(f, "the request method is not an HTTP token (RFC 9110)"),
            Error::IssuerNotAllowedHere => write!(f, "this route does not accept tokens of this issuer"),
            Error::GroupsMissing => write!(f, "the token carries no groups"),
            Error::GroupNotAllowed => write!(f, "none of the user's groups is allowed here"),
            Error::GroupDenied => write!(f, "one of the user's groups is denied here"),
            Error::NotFound { what } => write!(f, "{what}"),
            Error::MethodNotAllowed => write!(f, "use GET or HEAD"),
            Error::Internal => write!(f, "the gate could not build its answer"),
            Error::UpstreamUnavailable => write!(f, "the upstream could not be reached"),
            Error::KeysUnavailable { reason } => write!(f, "issuer keys are unavailable: {reason}"),
            Error::JwksInvalid { reason } => write!(f, "key set is invalid: {reason}"),
            Error::KeyInvalid { kid: Some(k), reason } => write!(f, "key {k:?} is unusable: {reason}"),
            Error::KeyInvalid { kid: None, reason } => write!(f, "key without kid is unusable: {reason}"),
            Error::Config { setting, message } => write!(f, "{setting}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_three_classes() {
        assert_eq!(Error::SignatureInvalid.http_status(), 401);
        assert_eq!(Error::GroupNotAllowed.http_status(), 403);
        assert_eq!(Error::IssuerNotAllowedHere.http_status(), 403);
        assert_eq!(Error::PathAmbiguous.http_status(), 400);
        assert_eq!(Error::ForwardedHeadersConflict.http_status(), 400);
        assert_eq!(Error::ForwardedHeadersIncomplete.http_status(), 400);
        assert_eq!(Error::AuthorizationRepeated.http_status(), 400);
        assert_eq!(Error::MethodInvalid.http_status(), 400);
        assert_eq!(Error::MethodInvalid.code(), "method_invalid");
        assert_eq!(Error::TokenLifetimeTooLong.http_status(), 401);
        assert_eq!(Error::KeysUnavailable { reason: "down".into() }.http_status(), 503);
        assert_eq!(Error::Config { setting: "ISSUER".into(), message: "x".into() }.http_status(), 503);
        assert_eq!(Error::NotFound { what: "x" }.http_status(), 404);
        assert_eq!(Error::MethodNotAllowed.http_status(), 405);
        assert_eq!(Error::Internal.http_status(), 500);
        assert_eq!(Error::UpstreamUnavailable.http_status(), 502);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("abc", 8), "abc");
        assert_eq!(clip("ééé", 3), "é…");
    }
}
