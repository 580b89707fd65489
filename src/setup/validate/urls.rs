//! The URL-shaped fields: the PocketID issuer, QuFabric's domain and the origins of the upstreams and the gate.

use super::{Finding, err, warn};
use crate::url::{split as split_url, split_host_port};

/// Whether `host` is a loopback name (plain http is accepted there for local tests): the gate's own rule.
pub fn is_loopback(host: &str) -> bool {
    crate::url::is_loopback_host(&host.to_ascii_lowercase())
}

fn valid_host(host: &str) -> bool {
    if host.starts_with('[') && host.ends_with(']') && host.len() > 2 {
        return host[1..host.len() - 1].chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn valid_port(port: Option<&str>) -> bool {
    port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0))
}

/// The PocketID issuer: https (http only for loopback), lowercase, a bare origin without trailing slash.
pub fn check_issuer(issuer: &str) -> Vec<Finding> {
    const F: &str = "issuer";
    let mut out = Vec::new();
    let t = issuer.trim();
    if t.is_empty() {
        out.push(err(F, "issuer_missing", "Enter the PocketID issuer, e.g. https://id.example.com.".into()));
        return out;
    }
    if t != issuer || t.contains(char::is_whitespace) {
        out.push(err(F, "issuer_whitespace", "Remove the spaces: the issuer is compared byte for byte.".into()));
        return out;
    }
    let Some(url) = split_url(t) else {
        out.push(err(
            F,
            "issuer_scheme",
            format!("Start the issuer with https://, e.g. https://{}.", t.trim_end_matches('/')),
        ));
        return out;
    };
    if !valid_host(&url.host.to_ascii_lowercase()) || !valid_port(url.port) || url.host.contains('@') {
        out.push(err(F, "issuer_host", "The issuer's host is not a valid host name.".into()));
        return out;
    }
    let scheme = url.scheme.to_ascii_lowercase();
    if scheme == "http" && !is_loopback(url.host) {
        out.push(err(
            F,
            "issuer_not_https",
            "Use https:// for the issuer: plain http is accepted only for localhost.".into(),
        ));
    } else if scheme != "http" && scheme != "https" {
        out.push(err(F, "issuer_scheme", "Start the issuer with https://.".into()));
    }
    if t.chars().any(|c| c.is_ascii_uppercase()) {
        out.push(err(
            F,
            "issuer_uppercase",
            format!(
                "Use lowercase: PocketID lowercases its URL, so tokens carry iss {}.",
                t.to_ascii_lowercase().trim_end_matches('/')
            ),
        ));
    }
    let origin = &t[..t.len() - url.rest.len()];
    if url.rest == "/" {
        out.push(err(
            F,
            "issuer_trailing_slash",
            format!("Remove the trailing slash: PocketID issuers never end with '/', tokens carry iss {origin}."),
        ));
    } else if url.rest.contains(['?', '#']) {
        out.push(err(F, "issuer_query", format!("Remove the query or fragment: use {origin}.")));
    } else if !url.rest.is_empty() {
        out.push(err(
            F,
            "issuer_path",
            format!(
                "Remove the path {}: a PocketID issuer is the bare instance URL, e.g. {origin}.",
                url.rest.trim_end_matches('/')
            ),
        ));
    }
    out
}

/// The QuFabric management domain: a host (optionally `:port`), no scheme, no path.
pub fn check_domain(domain: &str) -> Vec<Finding> {
    const F: &str = "domain";
    let t = domain.trim();
    if t.is_empty() {
        return vec![err(
            F,
            "domain_missing",
            "Enter the QuFabric management domain, e.g. qufabric.example.com.".into(),
        )];
    }
    if let Some(url) = split_url(t) {
        return vec![err(
            F,
            "domain_scheme",
            format!("Remove the scheme {}://: enter only the host, e.g. {}.", url.scheme, url.host),
        )];
    }
    if let Some(i) = t.find(['/', '?', '#']) {
        return vec![err(F, "domain_path", format!("Remove the path: enter only the host, e.g. {}.", &t[..i]))];
    }
    let (host, port) = split_host_port(t);
    if !valid_host(&host.to_ascii_lowercase()) || !valid_port(port) {
        return vec![err(
            F,
            "domain_invalid",
            "The domain is not a valid host name (letters, digits, dots and hyphens).".into(),
        )];
    }
    if t.chars().any(|c| c.is_ascii_uppercase()) {
        return vec![warn(F, "domain_uppercase", format!("Use lowercase: {}.", t.to_ascii_lowercase()))];
    }
    Vec::new()
}

/// An `http(s)://host[:port]` origin (an optional single trailing `/` is dropped).
pub fn check_origin(field: &'static str, what: &str, value: &str) -> (Vec<Finding>, Option<String>) {
    let t = value.trim();
    if t.is_empty() {
        return (vec![err(field, "origin_missing", format!("Enter {what}, e.g. https://host.example.com."))], None);
    }
    let bad = |code, msg: String| (vec![err(field, code, msg)], None);
    let Some(url) = split_url(t) else {
        return bad("origin_scheme", format!("Start {what} with https:// (or http:// on a private network)."));
    };
    let scheme = url.scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return bad("origin_scheme", format!("Start {what} with https:// or http://."));
    }
    if !valid_host(&url.host.to_ascii_lowercase()) || !valid_port(url.port) {
        return bad("origin_host", format!("The host of {what} is not a valid host name."));
    }
    if !url.rest.is_empty() && url.rest != "/" {
        return bad("origin_path", format!("Remove the path: {what} is an origin, e.g. {scheme}://{}.", url.host));
    }
    (Vec::new(), Some(t.trim_end_matches('/').to_ascii_lowercase()))
}
