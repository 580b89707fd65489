//! Request path normalisation, resolving paths the way upstream routers do.

use std::borrow::Cow;

/// Normalise a request path the way upstream routers (Go's `net/http`, gorilla/mux) resolve it: strip the
/// query; percent-decode once; collapse `//`; remove `.` and `..` segments (RFC 3986 §5.2.4); keep a trailing
/// `/`.
///
/// `None` (ambiguous, treated fail-closed by [`Routes::action`]) for paths that: do not start with `/`; contain
/// an invalid percent-escape, an encoded `/`, `\`, `?`, `#` or `%` (double encoding: `%252e` would decode to
/// `%2e`, which a second decoder turns into `.`; refusing it also keeps normalisation idempotent), a backslash,
/// `#`, `;`, a NUL or other control character, or bytes that do not decode to UTF-8; climb above the root with
/// `..`; or have a segment ending in `.` or a space other than `.`/`..` (some servers strip those, e.g. `/api./x`).
/// Also `None` for any non-ASCII character, raw or percent-encoded: an HTTP stack may have replaced invalid bytes
/// (U+FFFD) or re-encoded raw ones (Latin-1 header values), so the upstream may see other bytes than the gate;
/// QuFabric's routes are ASCII. (The output is therefore ASCII, which keeps normalisation idempotent.)
///
/// [`Routes::action`]: super::Routes::action
pub fn normalize_path(path: &str) -> Option<String> {
    normalize(path).map(Cow::into_owned)
}

/// [`normalize_path`] without an allocation when the path is already normal.
pub(super) fn normalize(path: &str) -> Option<Cow<'_, str>> {
    if plainly_normal(path) { Some(Cow::Borrowed(path)) } else { resolve(path) }
}

/// Whether `path` is normal on sight, in one pass over its bytes: it starts with `/`, every byte is a letter, a
/// digit or one of `-._~!$&'()*+,=:@`, and no segment is empty (but the last), `.`, `..` or ends in `.`. Such a
/// path is what [`resolve`] returns unchanged (the test `plainly_normal_paths_resolve_to_themselves` checks the two
/// against each other); anything else (a query, `%`, `;`, a dot segment, `//`, a space, a byte outside
/// ASCII) goes through [`resolve`]. Every request's path is normalised, so the common case is one scan, not the
/// resolver's segment list (a sixth of the plugin's work on a cached token, by a profile at opt-level "z").
fn plainly_normal(path: &str) -> bool {
    let Some(rest) = path.as_bytes().strip_prefix(b"/") else { return false };
    // The byte before: `/` at a segment's start. A segment is empty when `/` follows `/`, and `.`, `..` or
    // ends in `.` when `.` comes before a `/` or the end; an empty last segment (a trailing `/`) is normal.
    let mut before = b'/';
    for &b in rest {
        let plain = match b {
            b'/' => before != b'/' && before != b'.',
            _ => b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&b),
        };
        if !plain {
            return false;
        }
        before = b;
    }
    before != b'.'
}

/// [`normalize`] for any path (see [`normalize_path`]).
fn resolve(path: &str) -> Option<Cow<'_, str>> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if !path.starts_with('/') || !path.is_ascii() {
        return None;
    }
    let decoded: Cow<'_, str> =
        if path.contains('%') { Cow::Owned(percent_decode(path)?) } else { Cow::Borrowed(path) };
    if !decoded.is_ascii() {
        return None;
    }
    if decoded.bytes().any(|b| b < 0x20 || b == 0x7f || matches!(b, b'\\' | b'#' | b';')) {
        return None;
    }
    let segments: Vec<&str> = decoded[1..].split('/').collect();
    let last = segments.len() - 1;
    let mut rewrite = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "" if i == last => {}
            "" | "." | ".." => rewrite = true,
            s if s.ends_with('.') || s.ends_with(' ') => return None,
            _ => {}
        }
    }
    if !rewrite {
        return Some(decoded);
    }
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        let is_last = i == last;
        match *seg {
            "" | "." => trailing_slash = is_last,
            ".." => {
                out.pop()?;
                trailing_slash = is_last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut normal = String::with_capacity(decoded.len());
    for seg in &out {
        normal.push('/');
        normal.push_str(seg);
    }
    if out.is_empty() || trailing_slash {
        normal.push('/');
    }
    Some(Cow::Owned(normal))
}

/// Decode every `%XX` once; `None` on an invalid escape, an encoded `/`, `\`, `?`, `#`, `%` or NUL, or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            let b = hi << 4 | lo;
            if matches!(b, b'/' | b'\\' | b'?' | b'#' | b'%' | 0) {
                return None;
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- normalize_path ----

    /// The fast path and the general one agree: every string over an alphabet of the bytes that matter (dots,
    /// slashes, escapes, a query, `;`, a space, a control byte, a non-ASCII letter, upper and lower case), every
    /// length up to 5 and 200 000 random ones up to 14; a path the fast path accepts is one the general path
    /// returns unchanged.
    #[test]
    fn plainly_normal_paths_resolve_to_themselves() {
        const ALPHABET: [&str; 16] =
            ["/", ".", "a", "Z", "%", "2", "e", "?", ";", " ", "\u{1}", "é", "~", "_", "#", "@"];
        let check = |p: &str| {
            if plainly_normal(p) {
                assert_eq!(resolve(p).as_deref(), Some(p), "{p:?}");
            }
            assert_eq!(normalize(p), resolve(p), "{p:?}");
        };
        let mut fast = 0;
        let mut stack = vec![String::new()];
        while let Some(p) = stack.pop() {
            check(&p);
            fast += usize::from(plainly_normal(&p));
            if p.chars().count() < 5 {
                stack.extend(ALPHABET.iter().map(|c| format!("{p}{c}")));
            }
        }
        let mut x: u32 = 22;
        for _ in 0..200_000 {
            let mut p = String::from("/");
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            for k in 0..x % 14 {
                p.push_str(ALPHABET[((x >> (k % 28)) as usize + k as usize * 7) % ALPHABET.len()]);
            }
            check(&p);
        }
        assert!(fast > 1000, "the fast path took {fast} paths");
    }

    #[test]
    fn normalize_keeps_normal_paths() {
        for p in ["/", "/api", "/api/", "/api/users/1", "/peers", "/relay", "/a.b/c.d"] {
            assert_eq!(normalize_path(p).as_deref(), Some(p));
        }
    }

    #[test]
    fn normalize_resolves_dots_slashes_and_queries() {
        let cases = [
            ("/api/../oauth2/x", "/oauth2/x"),
            ("/oauth2/../api/x", "/api/x"),
            ("/oauth2/%2e%2e/api/x", "/api/x"),
            ("/oauth2/%2E%2E/api/x", "/api/x"),
            ("/oauth2/.%2E/api/x", "/api/x"),
            ("/%2e/api/x", "/api/x"),
            ("//api/x", "/api/x"),
            ("/api//x", "/api/x"),
            ("/./api/./x", "/api/x"),
            ("/api/x/.", "/api/x/"),
            ("/api/x/..", "/api/"),
            ("/api/x?y=/../z", "/api/x"),
            ("/%61pi/x", "/api/x"),
            ("/.", "/"),
            ("//", "/"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input).as_deref(), Some(want), "input {input:?}");
        }
    }

    #[test]
    fn normalize_refuses_non_ascii_raw_or_encoded() {
        for input in
            ["/api\u{a0}/x", "/relay\u{ff}/../api/x", "/zoë", "/api\u{FFFD}/x", "/api%EF%BF%BD/x", "/peers/zo%C3%AB"]
        {
            assert_eq!(normalize_path(input), None, "input {input:?}");
        }
    }

    #[test]
    fn normalize_refuses_ambiguous_paths() {
        let cases = [
            "",
            "api/x",
            "*",
            "/api%2fx",
            "/api%2Fx",
            "/api\\x",
            "/oauth2\\..\\api",
            "/api%5cx",
            "/api%00",
            "/api\0",
            "/api%",
            "/api%2",
            "/api%zz",
            "/api%ff",
            "/..",
            "/../api",
            "/api/../../x",
            "/%2e%2e/api",
            "/api./x",
            "/api%2e/x",
            "/api../x",
            "/api /x",
            "/api%20/x",
            "/api;x=1/y",
            "/api#x",
            "/api%23x",
            "/api%3fx",
            "/api%25x",
            "/%252e%252e/api",
            "/api\n/x",
        ];
        for input in cases {
            assert_eq!(normalize_path(input), None, "input {input:?}");
        }
    }
}
