//! The syntax of `pocketgate check`'s option values: ports, `--domain`, the issuer URLs, `--ungated` prefixes and
//! `--connect-to`. Each error names the option and never echoes the value.

use super::{ConnectTo, UsageError, err};
use crate::url::{is_fetchable_key_url, is_loopback_host, split, split_host_port};

/// A port from 1 to 65535, written without a leading zero.
fn parse_port(setting: &str, text: &str) -> Result<u16, UsageError> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 && !text.starts_with('0') => Ok(p),
        _ => err(setting, "has a port that is not a number from 1 to 65535"),
    }
}

/// `host[:port]` → (lower-case host, port).
pub(super) fn parse_domain(domain: &str) -> Result<(String, u16), UsageError> {
    if domain.contains("://") || domain.contains(['/', '?', '#', '@']) {
        return err("--domain", "give the host only, e.g. qufabric.example.com (no https://, no path)");
    }
    let (host, port) = split_host_port(domain);
    let port = match port {
        Some(p) => parse_port("--domain", p)?,
        None => 443,
    };
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !valid {
        return err("--domain", "must be a host name such as qufabric.example.com");
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// An issuer the check may fetch: `https://host…`, or `http://` on a loopback host (a test issuer), as the
/// gate's own rule for key URLs ([`is_fetchable_key_url`]).
pub(super) fn check_issuer_url(setting: &str, url: &str) -> Result<(), UsageError> {
    if !is_fetchable_key_url(url) || split(url).is_some_and(|u| u.rest.contains(['?', '#'])) {
        let hint = match split(url) {
            Some(u) if u.scheme == "http" && !is_loopback_host(u.host) => "must use https:// (PocketID behind TLS)",
            _ => "must be a URL such as https://id.example.com (https://, a host, no user info, query or fragment)",
        };
        return err(setting, hint);
    }
    Ok(())
}

/// An `--ungated` prefix: a plain path (no escapes, `\`, query, `;` or dot segments), never `/api` or below it.
pub(super) fn check_ungated(prefix: &str) -> Result<(), UsageError> {
    let bad = !prefix.starts_with('/')
        || prefix.len() < 2
        || !prefix.bytes().all(|b| b.is_ascii_graphic())
        || prefix.contains(['%', '\\', '?', '#', ';'])
        || prefix.split('/').any(|s| s == "." || s == "..");
    if bad {
        return err("--ungated", "must be a plain path prefix such as /relay or /oauth2/ (no %, \\, ?, #, ;, dots)");
    }
    if prefix.trim_end_matches('/').eq_ignore_ascii_case("/api") || prefix.to_ascii_lowercase().starts_with("/api/") {
        return err("--ungated", "/api is never ungated: the gate judges every /api request");
    }
    Ok(())
}

/// `HOST:PORT:ADDR:PORT` (ADDR may be `[v6]`).
pub(super) fn parse_connect_to(value: &str) -> Result<ConnectTo, UsageError> {
    const SETTING: &str = "--connect-to";
    let bad = || err(SETTING, "must be HOST:PORT:ADDR:PORT, e.g. qufabric.example.com:443:192.0.2.10:443");
    let Some((host, rest)) = value.split_once(':') else { return bad() };
    let Some((port, rest)) = rest.split_once(':') else { return bad() };
    let Some((addr, addr_port)) = rest.rsplit_once(':') else { return bad() };
    let addr = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(addr);
    if host.is_empty() || addr.is_empty() || addr.contains(['[', ']', '/']) {
        return bad();
    }
    Ok(ConnectTo {
        host: host.to_ascii_lowercase(),
        port: parse_port(SETTING, port)?,
        addr: addr.to_owned(),
        addr_port: parse_port(SETTING, addr_port)?,
    })
}
