//! The fetch handler: `/_gate/healthz`, `/_gate/auth`, `/_gate/setup/` (static assets), else proxy mode.
//!
//! Called for every request by the Worker's entry module (`shim.js`, worker-build's `CUSTOM_SHIM`). It answers
//! synchronously when no I/O is needed (`/_gate/auth` with a cached token, a bypass or a refusal); for a new
//! token whose issuer keys are cached it starts WebCrypto's signature check and returns its promise, with the
//! request's number left for [`parked`], and the entry module chains the promise to [`resume`]; anything else
//! returns a `Promise` (a Rust future). The hot path costs one call into WebAssembly, no future and no
//! microtask; a new token costs three calls and one `then`.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Env, js_sys, web_sys};

use super::head::{AUTHORIZATION, Head as RequestHead};
use super::keys::{self, ExecutionContext};
use super::loglimit::Admit;
use super::pipeline::{self, Started};
use super::read::read_head;
use super::respond::{into_response, template_sizes};
use super::state::{Gate, now_ms};
use super::waiting::{self, Parked};
use super::{log, proxy};
use crate::answer::{self, Answer, CacheSizes, config_error};
use crate::config::{GateConfig, LogMode};
use crate::error::Error;
use crate::http::{AUTH_PATH, Family, original_request, path_and_query, uri_path};
use crate::request::{Head, Outcome, Step, Verdict};

const SETUP: &str = "/_gate/setup";

/// The Worker's `fetch`: a `Response`, or a `Promise` of one. A failure to build the answer (a JavaScript
/// exception) is a 500 with a stable code, logged without request data. `ctx` (the handler's third argument)
/// keeps background key refreshes alive (`waitUntil`); it is only used when one starts.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: ExecutionContext) -> Result<JsValue, JsValue> {
    PARKED.set(0);
    let started = now_ms();
    let gate = Gate::get(&env);
    // One call across for the method, the URL and the headers the gate reads (forward-auth and proxy mode).
    // `None` only if the runtime broke the Fetch standard's header-value rules (see `head`): closed, 500.
    let Some(head) = read_head(&req) else {
        let response = into_response(&Answer::error(Error::Internal), "");
        return finish(&gate, "", "", response, None, started);
    };
    let path = uri_path(path_and_query(head.url())).unwrap_or("/").to_owned();
    let method = head.method().to_owned();
    if path == AUTH_PATH && (method == "GET" || method == "HEAD") {
        return forward_auth(gate, &head, &ctx, method, path, started);
    }
    later(async move {
        let (response, outcome) = route(&gate, &env, req, &head, &path, &ctx).await;
        finish(&gate, &method, &path, response, outcome.as_ref(), started)
    })
}

/// `GET|HEAD /_gate/auth`: answered now (a cached token, a bypass, a refusal, an invalid configuration), parked
/// on WebCrypto's promise (a new token), or, when I/O is needed first, as a future.
fn forward_auth(
    gate: Rc<Gate>,
    head: &RequestHead,
    ctx: &ExecutionContext,
    method: String,
    path: String,
    started: u64,
) -> Result<JsValue, JsValue> {
    let cfg = match &gate.config {
        Ok(cfg) => cfg,
        Err(errors) => {
            let response = into_response(&Answer::error(config_error(errors)), "");
            return finish(&gate, &method, &path, response, None, started);
        }
    };
    let step = forward_auth_step(&gate, cfg, head, ctx, started);
    match pipeline::start(&gate, cfg, step) {
        Started::Now(outcome) => answer_auth(&gate, &method, &path, Some(outcome), started),
        Started::Waiting(promise, check) => park(Parked { gate, check, method, path, started }, promise),
        Started::Later(step) => later(async move {
            let outcome = match &gate.config {
                Ok(cfg) => Some(pipeline::settle(&gate, cfg, step).await),
                Err(_) => None,
            };
            answer_auth(&gate, &method, &path, outcome, started)
        }),
    }
}

/// The forward-auth answer for `outcome` ([`Answer::of`]), logged; `None` (no valid configuration, which never
/// reaches the pipeline) is a 500.
fn answer_auth(
    gate: &Gate,
    method: &str,
    path: &str,
    outcome: Option<Outcome>,
    started: u64,
) -> Result<JsValue, JsValue> {
    let (answer, realm) = match (&gate.config, &outcome) {
        (Ok(cfg), Some(outcome)) => (Answer::of(outcome), cfg.realm.as_str()),
        _ => (Answer::error(Error::Internal), ""),
    };
    let response = into_response(&answer, realm).map(|r| (answer.status(), r));
    finish_known(gate, method, path, response, outcome.as_ref(), started)
}

/// The pipeline's first step for a forward-auth call. The original method and URI come from exactly one header
/// family, per `FORWARDED_HEADERS` ([`original_request`]): `X-Original-Method`/`X-Original-URI` (nginx) or
/// `X-Forwarded-Method`/`X-Forwarded-Uri` (Caddy, Traefik); an incomplete family or two families that disagree
/// are refused (400 `forwarded_headers_incomplete` / `forwarded_headers_conflict`), never read as `GET` or as the
/// other family's request.
fn forward_auth_step(
    gate: &Rc<Gate>,
    cfg: &GateConfig,
    head: &RequestHead,
    ctx: &ExecutionContext,
    now_ms: u64,
) -> Step {
    // The order of `head::HEADERS`.
    let original = Family::of(head.header(0), head.header(1));
    let forwarded = Family::of(head.header(2), head.header(3));
    match original_request(cfg.forwarded, original, forwarded) {
        Ok((method, path)) => {
            let head = Head { method, path, authorization: head.header(AUTHORIZATION) };
            pipeline::begin(gate, cfg, head, ctx, now_ms / 1000)
        }
        Err(e) => Step::Done(Outcome::deny(e, false)),
    }
}

/// Resume a request parked by [`fetch`] (see [`waiting`]): `value` is what WebCrypto's promise settled with,
/// `fulfilled` whether it was fulfilled (else rejected). Returns the `Response`.
#[wasm_bindgen]
pub fn resume(id: u32, value: JsValue, fulfilled: bool) -> Result<JsValue, JsValue> {
    let Some(p) = waiting::take(id) else {
        return Err(JsError::new("no parked request with this number").into());
    };
    let settled = if fulfilled { Ok(value) } else { Err(value) };
    respond_resumed(p, settled)
}

fn respond_resumed(p: Parked, settled: Result<JsValue, JsValue>) -> Result<JsValue, JsValue> {
    let outcome = p.gate.config.as_ref().ok().map(|cfg| pipeline::resume(&p.gate, cfg, p.check, settled));
    answer_auth(&p.gate, &p.method, &p.path, outcome, p.started)
}

/// Park a request whose signature WebCrypto is checking: its promise, the request's number left for [`parked`],
/// for the entry module to chain the promise to [`resume`]. When too many are parked, the promise is awaited in a
/// future instead.
fn park(p: Parked, promise: js_sys::Promise) -> Result<JsValue, JsValue> {
    match waiting::park(p) {
        Ok(id) => {
            PARKED.set(id + 1);
            Ok(promise.into())
        }
        Err(p) => later(async move { respond_resumed(*p, JsFuture::from(promise).await) }),
    }
}

thread_local! {
    /// The number of the request [`fetch`] just parked, plus one; 0 when its `Promise` is a future's.
    static PARKED: Cell<u32> = const { Cell::new(0) };
}

/// Read once after each [`fetch`] that returned a `Promise`: the parked request's number plus one when the promise
/// is WebCrypto's (chain it to [`resume`]), 0 when it is a future's. A number, not a `[promise, number]` array:
/// no array and no second object to hand across per new token.
#[wasm_bindgen]
pub fn parked() -> u32 {
    PARKED.replace(0)
}

/// Run `answer` as a `Promise`.
fn later(answer: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Result<JsValue, JsValue> {
    Ok(promise(Box::pin(answer)).into())
}

/// A boxed future as a `Promise`: one instance of wasm-bindgen's promise machinery for every future of the
/// Worker (each future type would otherwise get its own copy of it in the bundle).
pub fn promise(answer: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(answer)
}

/// Every route except `GET|HEAD /_gate/auth`.
async fn route(
    gate: &Rc<Gate>,
    env: &Env,
    req: web_sys::Request,
    head: &RequestHead,
    path: &str,
    ctx: &ExecutionContext,
) -> (Result<web_sys::Response, JsValue>, Option<Outcome>) {
    let not_found = |what| (into_response(&Answer::error(Error::NotFound { what }), ""), None);
    match path {
        "/_gate/healthz" => (healthz(gate).await, None),
        // GET and HEAD are answered by `forward_auth`.
        AUTH_PATH => (into_response(&Answer::error(Error::MethodNotAllowed), ""), None),
        p if p == SETUP || p.starts_with("/_gate/setup/") => (setup(env, &req, p).await, None),
        p if p.starts_with("/_gate/") => not_found("no such gate endpoint"),
        _ => match &gate.config {
            Err(errors) => (into_response(&Answer::error(config_error(errors)), ""), None),
            Ok(GateConfig { upstream: None, .. }) => {
                not_found("UPSTREAM is not set: this gate answers /_gate/auth only")
            }
            Ok(cfg) => {
                let (response, outcome) = proxy::proxy(gate, cfg, req, head, ctx).await;
                (response, Some(outcome))
            }
        },
    }
}

/// `GET /_gate/healthz`: the configuration and every issuer's keys (loaded first if need be), with the isolate's
/// cache sizes ([`answer::healthz`]).
async fn healthz(gate: &Gate) -> Result<web_sys::Response, JsValue> {
    let mut sets = Vec::new();
    if let Ok(cfg) = &gate.config {
        for i in 0..cfg.keys.len() {
            sets.push(keys::key_set(gate, cfg, i).await);
        }
    }
    let caches = {
        let caches = gate.caches.borrow();
        let (identities, identity_bytes) = template_sizes();
        CacheSizes {
            tokens: caches.tokens.len(),
            tokens_capacity: caches.tokens.capacity(),
            token_bytes: caches.tokens.bytes(),
            identities,
            identity_bytes,
            crypto_keys: gate.crypto.cached_keys(),
            wasm_memory: core::arch::wasm32::memory_size::<0>() * 65536,
        }
    };
    into_response(&answer::healthz(&gate.config, &sets, caches), "")
}

/// Log the request (per `LOG`) and hand the answer to JavaScript; an error becomes a 500.
fn finish(
    gate: &Gate,
    method: &str,
    path: &str,
    response: Result<web_sys::Response, JsValue>,
    outcome: Option<&Outcome>,
    started: u64,
) -> Result<JsValue, JsValue> {
    finish_known(gate, method, path, response.map(|r| (r.status(), r)), outcome, started)
}

/// [`finish`] for a response whose status the gate already knows (its own answers): no call across to read it.
fn finish_known(
    gate: &Gate,
    method: &str,
    path: &str,
    response: Result<(u16, web_sys::Response), JsValue>,
    outcome: Option<&Outcome>,
    started: u64,
) -> Result<JsValue, JsValue> {
    let response = response.or_else(|e| {
        // The JavaScript exception's own message: never request data.
        let message = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_default();
        worker::console_error!("{}", serde_json::json!({"event": "internal_error", "message": message}));
        let answer = Answer::error(Error::Internal);
        into_response(&answer, "").map(|r| (answer.status(), r))
    });
    let status = response.as_ref().map_or(500, |(status, _)| *status);
    // `LOG=deny`: only refusals and errors (an invalid configuration logs everything).
    let refused = status >= 400 || outcome.is_some_and(|o| matches!(o.verdict, Verdict::Deny { .. }));
    if refused || gate.config.as_ref().map_or(true, |c| c.log == LogMode::All) {
        // At most `LOG_LIMIT` lines per second; what is dropped is counted in the next line's preamble.
        let now = now_ms();
        if let Admit::Write { suppressed } = gate.log_limit.borrow_mut().admit(now / 1000) {
            if suppressed > 0 {
                log::suppressed(suppressed);
            }
            log::request(gate.config.as_ref().ok(), method, path, status, outcome, now.saturating_sub(started));
        }
    }
    // Not even a 500 could be built: throw, and workerd answers 500.
    response.map(|(_, r)| r.into())
}

/// The setup page (another module's static files, wrangler `[assets]` bound as `ASSETS`), served below
/// `/_gate/setup/`.
async fn setup(env: &Env, req: &web_sys::Request, path: &str) -> Result<web_sys::Response, JsValue> {
    if path == SETUP {
        return into_response(&Answer::Redirect("/_gate/setup/"), "");
    }
    let assets = js_sys::Reflect::get(env, &JsValue::from_str("ASSETS"))?;
    if assets.is_undefined() {
        return into_response(&Answer::error(Error::NotFound { what: "the setup page is not deployed" }), "");
    }
    let url = req.url();
    let origin_end = url.len() - path_and_query(&url).len();
    let rest = &url[origin_end + SETUP.len()..];
    let inner = web_sys::Request::new_with_str(&format!("{}{rest}", &url[..origin_end]))?;
    JsFuture::from(assets.unchecked_into::<Assets>().fetch(&inner)).await.map(JsCast::unchecked_into)
}

#[wasm_bindgen]
extern "C" {
    /// The `[assets]` binding (a Fetcher).
    type Assets;

    /// `ASSETS.fetch(request)`.
    #[wasm_bindgen(method)]
    fn fetch(this: &Assets, request: &web_sys::Request) -> js_sys::Promise;
}
