//! Structured logs: one JSON line per request and per key fetch. Never a token, a secret or a query string.

use serde::Serialize;
use serde_json::json;

use crate::config::GateConfig;
use crate::error::Error;
use crate::keycache::FetchReason;
use crate::request::Outcome;

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
pub fn request(
    cfg: Option<&GateConfig>,
    method: &str,
    path: &str,
    status: u16,
    outcome: Option<&Outcome>,
    latency_ms: u64,
) {
    let line = RequestLine {
        cached: outcome.is_some_and(|o| o.cached),
        code: outcome.and_then(Outcome::code),
        decision: outcome.map_or("none", Outcome::decision),
        event: "request",
        issuer: outcome.zip(cfg).and_then(|(o, cfg)| o.issuer(cfg)),
        kid: outcome.and_then(Outcome::kid),
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

/// One key-set fetch: the number of keys loaded, or the failure's stable code and the gate's own message (fixed
/// texts: no secrets, no URLs).
pub fn key_fetch(issuer: &str, reason: FetchReason, result: &Result<usize, Error>, latency_ms: u64) {
    let failure = result.as_ref().err();
    let line = json!({
        "event": "key_fetch",
        "issuer": issuer,
        "reason": reason.name(),
        "ok": failure.is_none(),
        "code": failure.map(Error::code),
        "message": failure.map(Error::to_string),
        "keys": result.as_ref().map_or(0, |n| *n),
        "latency_ms": latency_ms,
    });
    worker::console_log!("{line}");
}
