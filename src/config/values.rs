//! Values shared by the settings: lists, URLs, issuers, numbers; errors that name the setting and never echo a value.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::policy::{Allow, GroupRule, LocalUsers};
use crate::url::{self, UrlParts};

use super::MAX_LEEWAY;

/// Smallest accepted `MAX_TOKEN_AGE`.
const MIN_MAX_TOKEN_AGE: u64 = 60;
/// Largest accepted `MAX_TOKEN_AGE` (30 days).
const MAX_MAX_TOKEN_AGE: u64 = 2_592_000;

pub(super) fn config_err(setting: &str, message: impl Into<String>) -> Error {
    Error::Config { setting: setting.to_owned(), message: message.into() }
}

/// Where a JSON setting stops parsing: "line L, column C". Never the parser's message: formatting it pulls
/// float printing (15 KB) into the Worker, and the position is what the operator needs to find the typo.
pub(crate) fn json_syntax(e: &serde_json::Error) -> String {
    format!("line {}, column {}", e.line(), e.column())
}

/// Keep the value, or record the error.
pub(super) fn keep<T>(errors: &mut Vec<Error>, r: Result<T, Error>) -> Option<T> {
    r.map_err(|err| errors.push(err)).ok()
}

pub(super) fn message(e: Error) -> String {
    match e {
        Error::Config { message, .. } => message,
        other => other.to_string(),
    }
}

pub(super) fn check_members(obj: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown member {k:?}; known members are {}", known.join(", "))),
        None => Ok(()),
    }
}

/// A list member: a JSON array of strings (joined with `,`) or a comma-separated string.
pub(super) fn list_member(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(s) if !s.contains(',') => out.push(s),
                    _ => return Err(format!("{name:?} items must be strings without commas")),
                }
            }
            Ok(Some(out.join(",")))
        }
        Some(_) => Err(format!("{name:?} must be an array of strings or a comma-separated string")),
    }
}

/// A comma-separated list: items trimmed, none empty, no duplicates, at least one.
pub(super) fn parse_list(setting: &str, value: &str) -> Result<Vec<String>, Error> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
    if items.iter().any(String::is_empty) {
        return Err(config_err(setting, "has an empty item; separate values with single commas, e.g. \"a,b\""));
    }
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            // The value itself is never echoed (healthz is public): its position is.
            return Err(config_err(setting, format!("item {} repeats an earlier item; list each value once", i + 1)));
        }
    }
    Ok(items)
}

pub(super) fn parse_deny(setting: &str, value: &str) -> Result<Vec<String>, Error> {
    match GroupRule::parse_allow(setting, value)? {
        Allow::Groups(groups) => Ok(groups),
        Allow::AnyUser => Err(config_err(setting, "cannot be \"*\" (that would deny everyone); list groups")),
    }
}

pub(super) fn parse_groups_claim(setting: &str, value: &str) -> Result<String, Error> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(config_err(setting, "must be a claim name without spaces, e.g. \"groups\""));
    }
    Ok(value.to_owned())
}

pub(super) fn parse_leeway(setting: &str, value: &str) -> Result<u64, Error> {
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_LEEWAY => Ok(n),
        _ => Err(config_err(setting, format!("must be a whole number of seconds from 0 to {MAX_LEEWAY}, e.g. 60"))),
    }
}

/// `LOCAL_USERS`: `groups` or `allow`.
pub(super) fn parse_local_users(setting: &str, value: &str) -> Result<LocalUsers, Error> {
    match value {
        "groups" => Ok(LocalUsers::Groups),
        "allow" => Ok(LocalUsers::Allow),
        _ => Err(config_err(
            setting,
            "must be \"groups\" (the default: local users of QuFabric's embedded IdP need an allowed group like \
             everyone) or \"allow\" (they pass the issuer's group rule, as QuFabric lets them past its own JWT \
             allow groups)",
        )),
    }
}

/// `MAX_TOKEN_AGE`: seconds, 60 to 30 days.
pub(super) fn parse_max_age(setting: &str, value: &str) -> Result<u64, Error> {
    match value.parse::<u64>() {
        Ok(n) if (MIN_MAX_TOKEN_AGE..=MAX_MAX_TOKEN_AGE).contains(&n) => Ok(n),
        _ => Err(config_err(
            setting,
            format!(
                "must be a whole number of seconds from {MIN_MAX_TOKEN_AGE} to {MAX_MAX_TOKEN_AGE}, e.g. 86400 (one \
                 day: PocketID's tokens live an hour, the embedded IdP's a day)"
            ),
        )),
    }
}

/// An issuer: a URL per [`parse_url`] that does not end with `/`.
pub(super) fn parse_issuer(setting: &str, value: &str) -> Result<String, Error> {
    let url = parse_url(setting, value, false)?;
    if url.ends_with('/') {
        return Err(config_err(
            setting,
            "must not end with '/': PocketID issuers never do, and tokens are compared byte for byte; remove the \
             trailing '/'",
        ));
    }
    Ok(url)
}

/// `UPSTREAM`: an origin (scheme, host, optional port); http allowed (internal origins); one trailing `/` is
/// dropped.
pub(super) fn parse_upstream(value: &str) -> Result<String, Error> {
    let url = parse_url("UPSTREAM", value, true)?;
    let origin = url.strip_suffix('/').unwrap_or(&url);
    let rest = origin.split_once("://").map_or("", |(_, r)| r);
    if rest.contains('/') {
        return Err(config_err(
            "UPSTREAM",
            "must be an origin such as \"https://mgmt.internal:443\", without a path; the request's path is kept",
        ));
    }
    Ok(origin.to_owned())
}

/// An absolute URL: `https://`, or `http://` on a loopback host (any http host when `any_http`); lower-case
/// scheme and host; no user info, query, fragment or whitespace. Errors never echo the value: a URL may carry
/// credentials or a secret query, and `/_gate/healthz` is public.
pub(super) fn parse_url(setting: &str, value: &str, any_http: bool) -> Result<String, Error> {
    let fail = |m: &str| Err(config_err(setting, m));
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail("must be a URL without spaces");
    }
    let Some(UrlParts { scheme, host, port, .. }) = url::split(value) else {
        return fail("must be an absolute URL such as https://id.example.com");
    };
    if scheme != "https" && scheme != "http" {
        return fail("must start with https:// (lower case)");
    }
    if url::split(value).is_some_and(|u| u.has_user_info()) {
        return fail("must not contain user info (user@host)");
    }
    if host.is_empty() {
        return fail("has no host");
    }
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return fail("has an invalid port");
    }
    if host != host.to_ascii_lowercase() {
        return fail("must have a lower-case host, exactly as the issuer writes it (PocketID lowercases it)");
    }
    if value.contains(['?', '#']) {
        return fail("must not contain a query or fragment");
    }
    if scheme == "http" && !any_http && !url::is_loopback_host(host) {
        return fail("must use https:// (plain http is allowed only for localhost/127.0.0.1/[::1])");
    }
    Ok(value.to_owned())
}
