//! The http-wasm I/O of the plugin, and nothing else: read the request's method, URI and `Authorization`, strip
//! spoofable headers, run [`request::decide`] with ring (RustCrypto for ES512) and the wall clock, then either add
//! the identity headers and let Traefik call the next handler, or answer the refusal.
//!
//! Traefik builds one guest instance per request in flight and pools them (http-wasm-host-go
//! `handler/middleware.go`): each instance runs `main` (so [`start`]) once and keeps its own [`State`] — its
//! own key caches and verified-token cache.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use http_wasm_guest::host::{Bytes, Request, Response, admin, log};
use http_wasm_guest::{Guest, register};

use super::keys::Keys;
use super::options;
use crate::answer::{Answer, config_error};
use crate::config::{DEFAULT_REALM, GateConfig};
use crate::crypto::Ring;
use crate::error::Error;
use crate::http::{identity_headers, is_spoofable};
use crate::keycache::FetchOutcome;
use crate::request::{self, Caches, Head, Outcome, Verdict};
use crate::tokencache::TokenCache;

/// http-wasm's error level (`api/api.go` of http-wasm-host-go: debug −1, info 0, warn 1, error 2). Traefik logs
/// at its default level only errors (`pkg/observability/logs/wasm.go` maps level + 1 onto zerolog).
const ERROR: i32 = 2;
/// http-wasm's debug level: Traefik prints it only at `log.level: DEBUG`.
const DEBUG: i32 = -1;

/// Verified tokens one instance keeps. Traefik runs as many instances as requests in flight (tens under load,
/// each with its own cache), so the Worker's 10 000 entries and 16 MiB would be multiplied by the pool: at 1024
/// entries and 2 MiB, 32 connections of new tokens grew Traefik by 110–180 MB (issue 22). A self-hosted QuFabric
/// has far fewer concurrent users than this; a user whose token falls out is verified again (one signature check).
const TOKEN_CACHE_ENTRIES: usize = 128;
/// Bytes of cached tokens one instance keeps (PocketID's ID tokens are about 1 KB; an entry costs about 1.3 KB).
const TOKEN_CACHE_BYTES: usize = 192 << 10;

fn log_error(message: &str) {
    log::write(ERROR, format!("pocketgate: {message}").as_bytes());
}

/// One instance's configuration and caches.
struct State {
    /// The configuration, or every reason it is invalid (then every request is refused with 503).
    config: Result<GateConfig, Vec<Error>>,
    caches: Caches,
    keys: Keys,
}

struct Plugin(RefCell<State>);

/// Now, unix seconds: Traefik gives the guest the real wall clock (`WithSysWalltime`); its monotonic clock is
/// wazero's fake one, so `Instant` is never used.
fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The guest's `main`: read the options, log every mistake once, load the keys, register the handler. Never
/// panics on bad input: a trap here makes Traefik drop the router, and requests would fall through to a broader
/// one (so a bad option answers 503 instead).
pub fn start() {
    std::panic::set_hook(Box::new(|info| log_error(&format!("panic: {info}"))));
    // One line per guest instance (Traefik pools them): bench/traefik.mjs counts them at debug level.
    log::write(DEBUG, b"pocketgate: instance started");
    // Admitted at first sight (not the Worker's second sight): every instance verifies a token once before it
    // caches it, and second sight would double that per instance; only verified tokens are ever inserted.
    let tokens = TokenCache::with_max_bytes(TOKEN_CACHE_ENTRIES, TOKEN_CACHE_BYTES);
    let state = match options::load(&admin::config()) {
        Ok((cfg, sources)) => {
            let mut caches = Caches::new(&cfg, tokens);
            let mut keys = Keys::new(sources);
            keys.check(&mut caches, now(), log_error);
            State { config: Ok(cfg), caches, keys }
        }
        Err(errors) => {
            for e in &errors {
                log_error(&format!(
                    "invalid option {e}; every request through this middleware is refused (503 config_invalid) until \
                     it is fixed"
                ));
            }
            State { config: Err(errors), caches: Caches { keys: Vec::new(), tokens }, keys: Keys::new(Vec::new()) }
        }
    };
    register(Plugin(RefCell::new(state)));
}

impl Guest for Plugin {
    fn handle_request(&self, req: &Request, res: &Response) -> (bool, i32) {
        // A trap inside an earlier request can leave the state borrowed; that instance then refuses (500).
        let Ok(mut state) = self.0.try_borrow_mut() else {
            refuse(res, &Answer::error(Error::Internal), DEFAULT_REALM);
            return (false, 0);
        };
        strip_spoofable(req);
        let State { config, caches, keys } = &mut *state;
        let cfg = match config {
            Ok(cfg) => cfg,
            Err(errors) => {
                refuse(res, &Answer::error(config_error(errors)), DEFAULT_REALM);
                return (false, 0);
            }
        };
        let now = now();
        // Every jwksFile is read and compared at every request (one small read; a parse only when it changed).
        keys.check(caches, now, log_error);
        let outcome = decide(cfg, caches, keys, req, now);
        match &outcome.verdict {
            Verdict::Allow(id) => {
                for (name, value) in identity_headers(id) {
                    req.header.set(name.as_bytes(), value.as_bytes());
                }
                (true, 0)
            }
            Verdict::Bypass | Verdict::PatPass => (true, 0),
            Verdict::Deny { .. } => {
                refuse(res, &Answer::of(&outcome), &cfg.realm);
                (false, 0)
            }
        }
    }
}

/// The verdict on `req`: several `Authorization` headers are refused before any of them is judged.
fn decide(cfg: &GateConfig, caches: &mut Caches, keys: &mut Keys, req: &Request, now: u64) -> Outcome {
    let authorization = req.header.values(b"Authorization");
    if authorization.len() > 1 {
        return Outcome::deny(Error::AuthorizationRepeated, true);
    }
    let authorization = authorization.into_iter().next().map(text);
    // The method as Go's server kept it (any case): the route table makes it canonical before any rule sees it.
    let (method, uri) = (text(req.method()), text(req.uri()));
    let head = Head { method: &method, path: &uri, authorization: authorization.as_deref() };
    // A failed read is logged where it happens: the key cache spaces the attempts (retry delay, cooldown), so a
    // missing file does not log once per request.
    let fetch = |issuer: usize| {
        let outcome = keys.fetch(issuer);
        if let FetchOutcome::Failed(e) = &outcome {
            log_error(&format!("{}: {e}", keys.describe(issuer)));
        }
        outcome
    };
    request::decide(cfg, caches, head, now, fetch, &Ring)
}

/// Bytes from the host as text, without a copy when they are UTF-8 (a ~1 KB token at every request); invalid
/// sequences become U+FFFD, which no token, method or path the pipeline accepts contains.
fn text(bytes: Bytes) -> String {
    String::from_utf8(Vec::from(bytes)).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Remove every identity header the client sent, in any case and in its `_` spelling ([`is_spoofable`]).
fn strip_spoofable(req: &Request) {
    for name in req.header.names() {
        if is_spoofable(&String::from_utf8_lossy(&name)) {
            req.header.remove(&name);
        }
    }
}

/// Answer `answer` without calling the next handler. Headers first: without `BufferResponse` the host commits the
/// status and headers at `set_status` (http-wasm-host-go `handler/nethttp/host.go`, `SetStatusCode` calls
/// `WriteHeader`), and a body write before it would send 200. `BufferResponse` is never enabled: at init it would
/// buffer every upstream response and break WebSockets.
fn refuse(res: &Response, answer: &Answer<'_>, realm: &str) {
    let body = answer.body().unwrap_or_default();
    for (name, value) in answer.headers(realm) {
        res.header.set(name.as_bytes(), value.as_bytes());
    }
    res.header.set(b"content-length", body.len().to_string().as_bytes());
    res.set_status(i32::from(answer.status()));
    res.body.write(body.as_bytes());
}
