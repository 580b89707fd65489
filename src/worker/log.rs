//! Structured logs: one JSON line per request and per key fetch. Never a token, a secret or a query string.

use serde::Serialize;
use serde_json::json;

use super::auth::Outcome;
use crate::keycache::FetchReason;

/// One request line. Fields in alphabetical order: the same bytes `serde_json::json!` (a sorted map) wrote,
/// without building a map per request (the request line is on every request's path).
#[derive(Serialize)]
struct RequestLine<'a> {
    cached: bool,
    code: Option<&'a str>,
    decision: &'a str,
    event: &'a str,
    issuer: Option<&'a str>,
    kid: Option<&'a str>,
    latency_ms: u64,
    method: &'a str,
    path: &'a str,
    status: u16,
}

/// One request: decision, code, status, issuer, kid, method, path (without query), latency.
pub fn request(kind: &str, method: &str, path: &str, status: u16, outcome: Option<&Outcome>, latency_ms: u64) {
    let (decision, code) = outcome.map_or(("none", None), Outcome::summary);
    let line = RequestLine {
        cached: outcome.is_some_and(|o| o.cached),
        code,
        decision,
        event: kind,
        issuer: outcome.and_then(|o| o.issuer.as_deref()),
        kid: outcome.and_then(|o| o.kid.as_deref()),
        latency_ms,
        method,
        path,
        status,
    };
    if let Ok(text) = serde_json::to_string(&line) {
        worker::web_sys::console::log_1(&text.into());
    }
}

/// Request lines dropped by `LOG_LIMIT` since the last line written.
pub fn suppressed(lines: u64) {
    worker::console_log!("{}", json!({"event": "log_suppressed", "lines": lines}));
}

/// One key-set fetch.
/// `failure`: the stable code and the gate's own message when it failed.
pub fn key_fetch(issuer: &str, reason: FetchReason, failure: Option<(&str, String)>, keys: usize, latency_ms: u64) {
    let line = json!({
        "event": "key_fetch",
        "issuer": issuer,
        "reason": reason.name(),
        "ok": failure.is_none(),
        "code": failure.as_ref().map(|f| f.0),
        "message": failure.as_ref().map(|f| f.1.as_str()),
        "keys": keys,
        "latency_ms": latency_ms,
    });
    worker::console_log!("{line}");
}
