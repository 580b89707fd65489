//! Structured logs: one JSON line per request and per key fetch. Never a token, a secret or a query string.

use serde_json::json;

use super::auth::Outcome;
use crate::keycache::FetchReason;

/// One request: decision, code, status, issuer, kid, method, path (without query), latency.
pub fn request(kind: &str, method: &str, path: &str, status: u16, outcome: Option<&Outcome>, latency_ms: u64) {
    let (decision, code) = outcome.map_or(("none", None), Outcome::summary);
    let line = json!({
        "event": kind,
        "method": method,
        "path": path,
        "status": status,
        "decision": decision,
        "code": code,
        "issuer": outcome.and_then(|o| o.issuer.as_deref()),
        "kid": outcome.and_then(|o| o.kid.as_deref()),
        "cached": outcome.is_some_and(|o| o.cached),
        "latency_ms": latency_ms,
    });
    worker::console_log!("{line}");
}

/// One key-set fetch.
/// `failure`: the stable code and the gate's own message when it failed.
pub fn key_fetch(issuer: &str, reason: FetchReason, failure: Option<(&str, String)>, keys: usize, latency_ms: u64) {
    let line = json!({
        "event": "key_fetch",
        "issuer": issuer,
        "reason": format!("{reason:?}"),
        "ok": failure.is_none(),
        "code": failure.as_ref().map(|f| f.0),
        "message": failure.as_ref().map(|f| f.1.as_str()),
        "keys": keys,
        "latency_ms": latency_ms,
    });
    worker::console_log!("{line}");
}
