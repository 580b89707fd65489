//! The few URL facts the gate and the setup page need, in one place: splitting `scheme://authority/rest`,
//! loopback hosts, and which key-set URLs may be fetched.
//!
//! Written here rather than with the `url` crate: the checks are about the text exactly as the operator typed it
//! (a WHATWG parser lower-cases, percent-encodes and resolves, which would hide the mistakes these rules report),
//! and the Worker's bundle stays small.

/// A URL split into its parts, as typed (nothing decoded or lower-cased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// Scheme as typed.
    pub scheme: &'a str,
    /// Everything between `://` and the first `/`, `?` or `#`: user info, host and port.
    pub authority: &'a str,
    /// Host, without port (brackets kept for IPv6; user info, if any, kept: see [`UrlParts::has_user_info`]).
    pub host: &'a str,
    /// `:port` text after the host, without the colon.
    pub port: Option<&'a str>,
    /// Everything after the authority: path, query, fragment.
    pub rest: &'a str,
}

impl UrlParts<'_> {
    /// Whether the authority carries user info (`user@host`): never accepted, since in
    /// `http://127.0.0.1:1@other.host/` the host is `other.host`.
    pub fn has_user_info(&self) -> bool {
        self.authority.contains('@')
    }
}

/// Split `scheme://authority/rest`. `None` when there is no `://`.
pub fn split(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (host, port) = split_host_port(authority);
    Some(UrlParts { scheme, authority, host, port, rest })
}

/// Split an authority (`host[:port]`, `[v6]:port`) into host and port text.
pub fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(i) => {
                let (h, p) = authority.split_at(i + 1);
                (h, p.strip_prefix(':'))
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    }
}

/// True for `localhost`, `127.x.x.x` and `[::1]` (exact, lower case).
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host.strip_prefix("127.").is_some_and(|r| {
            let parts: Vec<&str> = r.split('.').collect();
            parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.parse::<u8>().is_ok())
        })
}

/// Whether a key-set URL learnt from a discovery document may be fetched: `https://` with a host, or `http://` on a
/// loopback host; never with user info.
pub fn is_fetchable_key_url(url: &str) -> bool {
    split(url).is_some_and(|u| {
        !u.has_user_info()
            && match u.scheme {
                "https" => !u.host.is_empty(),
                "http" => is_loopback_host(u.host),
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_parts() {
        let u = split("https://[::1]:8443/a?b").unwrap();
        assert_eq!((u.scheme, u.host, u.port, u.rest), ("https", "[::1]", Some("8443"), "/a?b"));
        let u = split("http://user:pw@host:1/x").unwrap();
        assert_eq!((u.authority, u.port), ("user:pw@host:1", Some("1")));
        assert!(u.has_user_info());
        let u = split("https://id.example.com").unwrap();
        assert_eq!((u.host, u.port, u.rest), ("id.example.com", None, ""));
        assert_eq!(split("id.example.com"), None);
    }

    #[test]
    fn fetchable_key_urls() {
        for ok in ["https://id.example.com/.well-known/jwks.json", "http://127.0.0.1:9/jwks", "http://localhost/j"] {
            assert!(is_fetchable_key_url(ok), "{ok}");
        }
        for bad in [
            "http://id.example.com/jwks",
            "http://127.0.0.1:1@id.example.com/jwks",
            "http://localhost@0.0.0.0:8080/jwks",
            "https://user@id.example.com/jwks",
            "http://0.0.0.0/jwks",
            "https:///jwks",
            "/.well-known/jwks.json",
            "file:///etc/passwd",
            "ftp://id.example.com/jwks",
            "HTTP://127.0.0.1/jwks",
        ] {
            assert!(!is_fetchable_key_url(bad), "{bad}");
        }
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("127.0.0.1") && is_loopback_host("localhost") && is_loopback_host("[::1]"));
        assert!(!is_loopback_host("127.0.0.1.evil.test") && !is_loopback_host("localhost.test"));
        assert!(!is_loopback_host("127.0.0") && !is_loopback_host("127.0.0.256"));
    }
}
