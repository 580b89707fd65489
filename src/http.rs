//! The gate's HTTP contract, the same for every adapter: identity headers, which client headers are stripped,
//! refusals (status, `WWW-Authenticate`, JSON body) and what the forward-auth proxies send. The setup page's
//! generated proxy configurations use the same names ([`crate::setup::gate`]); [`crate::answer::Answer`] is
//! the one description of a response that an adapter turns into its own.

use crate::config::ForwardedHeaders;
use crate::error::{Error, Status};
use crate::policy::Identity;

/// The forward-auth endpoint.
pub const AUTH_PATH: &str = "/_gate/auth";
/// Client headers that downstream software may read as identity and that the gate never sets: always removed
/// before a request goes upstream, like every `X-Auth-Request-*` header.
pub const FOREIGN_IDENTITY_HEADERS: [&str; 4] =
    ["X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username"];
/// Prefix of the identity headers the gate sets (matched case-insensitively).
pub const IDENTITY_PREFIX: &str = "x-auth-request-";
/// nginx's family of forward-auth headers (`FORWARDED_HEADERS = "nginx"`): method, URI.
pub const ORIGINAL_HEADERS: [&str; 2] = ["X-Original-Method", "X-Original-URI"];
/// Caddy's and Traefik's family (`FORWARDED_HEADERS = "caddy"` / `"traefik"`): method, URI.
pub const FORWARDED_HEADERS: [&str; 2] = ["X-Forwarded-Method", "X-Forwarded-Uri"];

/// Whether a request header (any case) must be stripped before the upstream sees it.
///
/// `_` counts as `-`: Go keeps `X_Auth_Request_User` as a header of its own, and CGI, WSGI and PHP read it as
/// `HTTP_X_AUTH_REQUEST_USER`, the same variable as `X-Auth-Request-User`.
pub fn is_spoofable(name: &str) -> bool {
    name.get(..IDENTITY_PREFIX.len()).is_some_and(|p| same_name(p, IDENTITY_PREFIX))
        || FOREIGN_IDENTITY_HEADERS.iter().any(|h| same_name(h, name))
}

/// Header names equal ignoring ASCII case, with `_` and `-` alike.
fn same_name(a: &str, b: &str) -> bool {
    let fold = |c: u8| if c == b'_' { b'-' } else { c.to_ascii_lowercase() };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

/// A header value safe for any HTTP stack: bytes outside visible ASCII and space, and `%` itself, are
/// percent-encoded (so a value is always percent-decodable; plain ASCII values without `%` are unchanged).
pub fn header_value(s: &str) -> String {
    encode(s, b'%')
}

/// One element of a comma-separated header value: [`header_value`] that also percent-encodes `,` (as `%2C`), so
/// the joined list splits on `,` into exactly its elements and each element percent-decodes to its name.
pub fn list_element(s: &str) -> String {
    encode(s, b',')
}

/// Percent-encode (upper-case hex) every byte outside visible ASCII and space, `%`, and `also`.
fn encode(s: &str, also: u8) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s, also);
    out
}

/// [`encode`] appended to `out`. Runs of plain bytes are copied whole (a value with nothing to encode is one
/// copy: the plugin encodes the identity at every request, and a character at a time was a tenth of its work on
/// a cached token).
fn encode_into(out: &mut String, s: &str, also: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let plain = |b: u8| (b' '..=b'~').contains(&b) && b != b'%' && b != also;
    // The common value has nothing to encode: one tight scan, then one copy; otherwise the loop starts at the
    // first byte to encode.
    let Some(first) = s.bytes().position(|b| !plain(b)) else {
        out.push_str(s);
        return;
    };
    let mut start = 0;
    for (i, b) in s.bytes().enumerate().skip(first) {
        if plain(b) {
            continue;
        }
        // A run of plain bytes is ASCII, so both of its ends are character boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

/// The identity headers for an allowed user: `X-Auth-Request-User` (`sub`), `-Email`, `-Preferred-Username`,
/// `-Groups` (the names joined with `,`, each a [`list_element`]: a `,` inside a name is sent as `%2C`, `%` as
/// `%25`). Absent claims give no header.
pub fn identity_headers(id: &Identity) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(4);
    out.push(("X-Auth-Request-User", header_value(&id.sub)));
    if let Some(email) = &id.email {
        out.push(("X-Auth-Request-Email", header_value(email)));
    }
    if let Some(name) = &id.preferred_username {
        out.push(("X-Auth-Request-Preferred-Username", header_value(name)));
    }
    if !id.groups.is_empty() {
        // One string for the list (its elements encoded in place, not one string each and then a join).
        let mut groups = String::with_capacity(id.groups.iter().map(|g| g.len() + 1).sum());
        for (i, g) in id.groups.iter().enumerate() {
            if i > 0 {
                groups.push(',');
            }
            encode_into(&mut groups, g, b',');
        }
        out.push(("X-Auth-Request-Groups", groups));
    }
    out
}

/// The four identity header names, in a fixed order.
pub const IDENTITY_HEADERS: [&str; 4] =
    ["X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X-Auth-Request-Groups"];

/// The headers of a forward-auth 200: all four identity headers, empty when unknown (bypass, pass-through PAT,
/// absent claim). Proxies that copy headers then never see a missing one (Caddy 2.6 would forward its
/// unreplaced placeholder text; nginx drops empty values).
pub fn forward_auth_headers(id: Option<&Identity>) -> [(&'static str, String); 4] {
    let mut known = id.map(identity_headers).unwrap_or_default();
    IDENTITY_HEADERS.map(|name| {
        (name, known.iter_mut().find(|(n, _)| *n == name).map(|(_, v)| std::mem::take(v)).unwrap_or_default())
    })
}

/// `WWW-Authenticate` for a 401 (RFC 6750): `error="invalid_token"` when a credential was sent.
pub fn www_authenticate(realm: &str, credential_sent: bool) -> String {
    if credential_sent {
        format!("Bearer realm=\"{realm}\", error=\"invalid_token\"")
    } else {
        format!("Bearer realm=\"{realm}\"")
    }
}

/// The client-facing message for a refusal. Never token contents: errors whose text would echo a header value
/// (`alg`, `kid`, `typ`/`type`) get a fixed text, configuration errors point at `/_gate/healthz`.
pub fn public_message(e: &Error) -> String {
    match e {
        Error::AlgorithmNotAllowed { .. } => "the token's algorithm is not allowed".into(),
        Error::KeyNotFound { .. } => "no key in the issuer's key set matches the token".into(),
        Error::TokenTypeNotAccepted { .. } => "only ID tokens are accepted".into(),
        Error::Config { .. } => {
            "the gate is misconfigured; /_gate/healthz (Worker) or the proxy's log (Traefik plugin) names the setting"
                .into()
        }
        Error::KeysUnavailable { .. } | Error::JwksInvalid { .. } | Error::KeyInvalid { .. } => {
            "the issuer's keys are unavailable; try again later".into()
        }
        other => other.to_string(),
    }
}

/// The JSON body of a refusal: `{"code":…,"message":…}`.
pub fn error_body(e: &Error) -> String {
    serde_json::json!({ "code": e.code(), "message": public_message(e) }).to_string()
}

/// Whether a refusal gets a `WWW-Authenticate` challenge.
pub fn challenges(e: &Error) -> bool {
    e.status() == Status::Unauthenticated
}

/// The path of a request URI (`/a/b?x` → `/a/b`); `None` when it is not origin-form.
pub fn uri_path(uri: &str) -> Option<&str> {
    let path = uri.split(['?', '#']).next().unwrap_or("");
    path.starts_with('/').then_some(path)
}

/// The path and query of an absolute URL (`https://h/a?x` → `/a?x`), `/` when it has none.
pub fn path_and_query(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    match after_scheme.find(['/', '?']) {
        Some(i) if after_scheme[i..].starts_with('/') => &after_scheme[i..],
        _ => "/",
    }
}

/// One family of forward-auth headers (`X-Original-Method` + `X-Original-URI`, or `X-Forwarded-Method` +
/// `X-Forwarded-Uri`) as the request carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family<'a> {
    /// Neither header.
    Absent,
    /// Only one of the two, or an empty value: present, but not a description of a request.
    Partial,
    /// Both, non-empty.
    Complete {
        /// The method as sent (any case).
        method: &'a str,
        /// The request URI as sent.
        uri: &'a str,
    },
}

impl<'a> Family<'a> {
    /// The family's state from its two header values (`None`: absent).
    pub fn of(method: Option<&'a str>, uri: Option<&'a str>) -> Family<'a> {
        match (method, uri) {
            (None, None) => Family::Absent,
            (Some(method), Some(uri)) if !method.is_empty() && !uri.is_empty() => Family::Complete { method, uri },
            _ => Family::Partial,
        }
    }

    /// Whether both families describe the same request: same method (ASCII case-insensitive), same URI (exact).
    fn agrees_with(self, other: Family<'_>) -> bool {
        match (self, other) {
            (Family::Complete { method: m1, uri: u1 }, Family::Complete { method: m2, uri: u2 }) => {
                m1.eq_ignore_ascii_case(m2) && u1 == u2
            }
            _ => false,
        }
    }
}

/// The original request of a forward-auth call: its method (as sent: the route table makes it canonical) and URI,
/// from exactly one header family.
///
/// - `Original` / `Forwarded` (`FORWARDED_HEADERS` = `nginx` / `caddy`, `traefik`): that family must be complete,
///   else [`Error::ForwardedHeadersIncomplete`]; the other must be absent or describe the same request, else
///   [`Error::ForwardedHeadersConflict`].
/// - `Auto` (the default): neither family → incomplete; one family → it must be complete; both → both complete
///   and in agreement, else conflict.
///
/// A missing method is never taken as `GET`: the request is refused (400) instead.
pub fn original_request<'a>(
    mode: ForwardedHeaders,
    original: Family<'a>,
    forwarded: Family<'a>,
) -> Result<(&'a str, &'a str), Error> {
    let (chosen, other) = match (mode, original, forwarded) {
        (ForwardedHeaders::Original, ..) => (original, forwarded),
        (ForwardedHeaders::Forwarded, ..) => (forwarded, original),
        (ForwardedHeaders::Auto, Family::Absent, Family::Absent) => return Err(Error::ForwardedHeadersIncomplete),
        (ForwardedHeaders::Auto, f, Family::Absent) | (ForwardedHeaders::Auto, Family::Absent, f) => {
            (f, Family::Absent)
        }
        (ForwardedHeaders::Auto, ..) if original.agrees_with(forwarded) => (original, forwarded),
        (ForwardedHeaders::Auto, ..) => return Err(Error::ForwardedHeadersConflict),
    };
    let Family::Complete { method, uri } = chosen else {
        return Err(Error::ForwardedHeadersIncomplete);
    };
    if other != Family::Absent && !chosen.agrees_with(other) {
        return Err(Error::ForwardedHeadersConflict);
    }
    Ok((method, uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoofable_headers() {
        for h in [
            "X-Auth-Request-User",
            "x-auth-request-groups",
            "X-Auth-Request-Anything",
            "X-Forwarded-Email",
            "X_Auth_Request_User",
            "x_forwarded_user",
            "X-Auth_Request-Email",
        ] {
            assert!(is_spoofable(h), "{h}");
        }
        for h in ["Authorization", "X-Forwarded-For", "X-Forwarded-Proto", "Cookie", "X_Forwarded_For", "X-Auth"] {
            assert!(!is_spoofable(h), "{h}");
        }
    }

    #[test]
    fn identity_header_values_are_safe() {
        let id = Identity {
            sub: "u-1".into(),
            email: Some("zoë@example.com".into()),
            preferred_username: None,
            groups: vec!["a b".into(), "c%d".into(), "x\r\ny".into()],
        };
        let hs = identity_headers(&id);
        assert_eq!(
            hs,
            vec![
                ("X-Auth-Request-User", "u-1".to_string()),
                ("X-Auth-Request-Email", "zo%C3%AB@example.com".to_string()),
                ("X-Auth-Request-Groups", "a b,c%25d,x%0D%0Ay".to_string()),
            ]
        );
    }

    #[test]
    fn group_names_with_commas_stay_one_group() {
        let id = Identity {
            sub: "u".into(),
            email: None,
            preferred_username: None,
            groups: vec!["x,admins".into(), "netbird-users".into(), "a%2Cb".into(), ",".into()],
        };
        let groups = identity_headers(&id).into_iter().find(|(n, _)| *n == "X-Auth-Request-Groups").unwrap().1;
        assert_eq!(groups, "x%2Cadmins,netbird-users,a%252Cb,%2C");
        // Split on `,`, then percent-decode each element: exactly the names, in order.
        let decode = |s: &str| {
            let (mut out, b) = (Vec::new(), s.as_bytes());
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        };
        let back: Vec<String> = groups.split(',').map(decode).collect();
        assert_eq!(back, id.groups);
        assert_eq!(list_element("dev ops"), "dev ops", "plain names are unchanged");
        assert_eq!(header_value("a,b"), "a,b", "other headers keep their commas");
        assert_eq!(header_value("é x\u{7f}%ü"), "%C3%A9 x%7F%25%C3%BC", "runs between escapes, at both ends");
        assert_eq!(list_element(",,"), "%2C%2C");
        assert_eq!(header_value("ab%cd é"), "ab%25cd %C3%A9", "the plain bytes before the first escape are kept");
    }

    #[test]
    fn forwarded_families() {
        use ForwardedHeaders::{Auto, Forwarded, Original};
        let c = |method, uri| Family::Complete { method, uri };
        assert_eq!(Family::of(None, None), Family::Absent);
        assert_eq!(Family::of(Some("GET"), None), Family::Partial);
        assert_eq!(Family::of(None, Some("/api")), Family::Partial);
        assert_eq!(Family::of(Some(""), Some("/api")), Family::Partial, "an empty value is not a method");
        assert_eq!(Family::of(Some("GET"), Some("")), Family::Partial);
        assert_eq!(Family::of(Some("get"), Some("/api")), c("get", "/api"));

        let ok = |m: &'static str, u: &'static str| Ok((m, u));
        let incomplete = Err(Error::ForwardedHeadersIncomplete);
        let conflict = Err(Error::ForwardedHeadersConflict);
        let (a, p) = (Family::Absent, Family::Partial);
        let cases = [
            // (mode, original, forwarded, result)
            (Auto, a, a, incomplete.clone()),
            (Auto, c("get", "/api/x"), a, ok("get", "/api/x")), // as sent: the route table canonicalises
            (Auto, a, c("DELETE", "/api/x"), ok("DELETE", "/api/x")),
            (Auto, p, a, incomplete.clone()),
            (Auto, a, p, incomplete.clone()),
            (Auto, c("GET", "/api/users"), c("GET", "/relay"), conflict.clone()),
            (Auto, c("DELETE", "/api/x"), c("GET", "/api/x"), conflict.clone()),
            (Auto, c("GET", "/api/x"), c("get", "/api/x"), ok("GET", "/api/x")),
            (Auto, c("GET", "/api/x"), p, conflict.clone()),
            (Auto, p, c("GET", "/api/x"), conflict.clone()),
            (Auto, p, p, conflict.clone()),
            (Auto, c("GET", "/api/x"), c("GET", "/api/x?"), conflict.clone()),
            (Original, c("PUT", "/api/x"), a, ok("PUT", "/api/x")),
            (Original, a, c("GET", "/api/x"), incomplete.clone()),
            (Original, p, c("GET", "/api/x"), incomplete.clone()),
            (Original, c("GET", "/api/users"), c("GET", "/relay"), conflict.clone()),
            (Original, c("GET", "/api/x"), p, conflict.clone()),
            (Original, c("GET", "/api/x"), c("GET", "/api/x"), ok("GET", "/api/x")),
            (Forwarded, a, c("POST", "/api/x"), ok("POST", "/api/x")),
            (Forwarded, c("GET", "/api/x"), a, incomplete.clone()),
            (Forwarded, c("GET", "/relay"), c("GET", "/api/x"), conflict.clone()),
            (Forwarded, p, c("GET", "/api/x"), conflict),
            (Forwarded, a, p, incomplete),
        ];
        for (mode, original, forwarded, want) in cases {
            assert_eq!(original_request(mode, original, forwarded), want, "{mode:?} {original:?} {forwarded:?}");
        }
    }

    #[test]
    fn forward_auth_always_sends_all_four() {
        let id = Identity { sub: "u".into(), email: None, preferred_username: Some("al".into()), groups: vec![] };
        let hs = forward_auth_headers(Some(&id));
        assert_eq!(hs.iter().map(|(n, _)| *n).collect::<Vec<_>>(), IDENTITY_HEADERS.to_vec());
        assert_eq!(hs.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(), vec!["u", "", "al", ""]);
        assert!(forward_auth_headers(None).iter().all(|(_, v)| v.is_empty()));
    }

    #[test]
    fn challenges_and_bodies() {
        assert_eq!(www_authenticate("pocketgate", false), r#"Bearer realm="pocketgate""#);
        assert_eq!(www_authenticate("q", true), r#"Bearer realm="q", error="invalid_token""#);
        let kid = Error::KeyNotFound { kid: Some("SECRET-LOOKING-KID".into()) };
        assert!(!error_body(&kid).contains("SECRET"));
        assert_eq!(error_body(&Error::Expired), r#"{"code":"token_expired","message":"token has expired"}"#);
        let alg = Error::AlgorithmNotAllowed { alg: "HS256-evil".into() };
        assert!(!error_body(&alg).contains("evil"));
        assert!(challenges(&Error::TokenMissing) && !challenges(&Error::GroupNotAllowed));
    }

    #[test]
    fn uris() {
        assert_eq!(uri_path("/api/peers?x=1"), Some("/api/peers"));
        assert_eq!(uri_path("http://evil/api"), None);
        assert_eq!(path_and_query("https://gate.test/api/x?y=1"), "/api/x?y=1");
        assert_eq!(path_and_query("https://gate.test"), "/");
    }
}
