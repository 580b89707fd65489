//! The fetch handler: `/_gate/healthz`, `/_gate/auth`, `/_gate/setup/` (static assets), else proxy mode.
//!
//! Called for every request by the Worker's entry module (`shim.js`, worker-build's `CUSTOM_SHIM`). It answers
//! synchronously when no I/O is needed (`/_gate/auth` with a cached token, a bypass or a refusal); for a new
//! token whose issuer keys are cached it starts WebCrypto's signature check and returns `[promise, number]`,
//! which the entry module chains to [`resume`]; anything else returns a `Promise` (a Rust future). The hot path
//! costs one call into WebAssembly, no future and no microtask; a new token costs two calls and one `then`.

use std::rc::Rc;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsError, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Env, js_sys, web_sys};

use super::auth::{self, Outcome, Started, Verdict, config_error, deny_response, json_response};
use super::headers::{path_and_query, uri_path};
use super::keys::ExecutionContext;
use super::log;
use super::loglimit::Admit;
use super::proxy;
use super::state::{Gate, now_ms};
use super::waiting::{self, Parked};
use crate::config::LogMode;

const SETUP: &str = "/_gate/setup";
const AUTH: &str = "/_gate/auth";

/// The Worker's `fetch`: a `Response`, or a `Promise` of one. A failure to build the answer (a JavaScript
/// exception) is a 500 with a stable code, logged without request data. `ctx` (the handler's third argument)
/// keeps background key refreshes alive (`waitUntil`); it is only used when one starts.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: ExecutionContext) -> Result<JsValue, JsValue> {
    let started = now_ms();
    let gate = Gate::get(&env);
    let url = req.url();
    let path = uri_path(path_and_query(&url)).unwrap_or("/").to_owned();
    let method = req.method();
    if path == AUTH && (method == "GET" || method == "HEAD") {
        return forward_auth(gate, &req, &ctx, method, path, started);
    }
    later(async move {
        let (response, outcome) = route(&gate, &env, req, &path, &ctx).await;
        finish(&gate, &method, &path, response, outcome, started)
    })
}

/// `GET|HEAD /_gate/auth`: answered now (a cached token, a bypass, a refusal, an invalid configuration), parked
/// on WebCrypto's promise (a new token), or, when I/O is needed first, as a future.
fn forward_auth(
    gate: Rc<Gate>,
    req: &web_sys::Request,
    ctx: &ExecutionContext,
    method: String,
    path: String,
    started: u64,
) -> Result<JsValue, JsValue> {
    let cfg = match &gate.config {
        Ok(cfg) => cfg,
        Err(errors) => {
            let response = deny_response("", &config_error(errors), false);
            return finish(&gate, &method, &path, response, None, started);
        }
    };
    let outcome = match auth::forward_auth(&gate, cfg, req, ctx).map_err(|pending| auth::start(&gate, cfg, pending)) {
        Ok(outcome) | Err(Started::Now(outcome)) => outcome,
        Err(Started::Waiting(promise, waiting)) => {
            return park(Parked { gate: Rc::clone(&gate), waiting, method, path, started }, promise);
        }
        Err(Started::Async(pending)) => {
            let gate = Rc::clone(&gate);
            return later(async move {
                let (response, outcome) = auth_pending(&gate, pending).await;
                finish(&gate, &method, &path, response, outcome, started)
            });
        }
    };
    let response = auth::forward_auth_response(cfg, &outcome);
    finish(&gate, &method, &path, response, Some(outcome), started)
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
    let (response, outcome) = match &p.gate.config {
        Ok(cfg) => {
            let o = auth::resume(&p.gate, cfg, p.waiting, settled);
            (auth::forward_auth_response(cfg, &o), Some(o))
        }
        Err(errors) => (deny_response("", &config_error(errors), false), None),
    };
    finish(&p.gate, &p.method, &p.path, response, outcome, p.started)
}

/// Park a request whose signature WebCrypto is checking: `[promise, number]` for the entry module to chain to
/// [`resume`]. When too many are parked, the promise is awaited in a future instead.
fn park(p: Parked, promise: js_sys::Promise) -> Result<JsValue, JsValue> {
    match waiting::park(p) {
        Ok(id) => Ok(js_sys::Array::of2(&promise, &JsValue::from(id)).into()),
        Err(p) => later(async move { respond_resumed(*p, JsFuture::from(promise).await) }),
    }
}

/// Run `answer` as a `Promise`.
fn later(answer: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Result<JsValue, JsValue> {
    Ok(wasm_bindgen_futures::future_to_promise(answer).into())
}

/// `/_gate/auth` after [`auth::forward_auth`] asked for a verification.
async fn auth_pending(gate: &Gate, pending: auth::Pending) -> (worker::Result<web_sys::Response>, Option<Outcome>) {
    match &gate.config {
        Ok(cfg) => {
            let o = auth::decide_pending(gate, cfg, pending).await;
            (auth::forward_auth_response(cfg, &o), Some(o))
        }
        Err(errors) => (deny_response("", &config_error(errors), false), None),
    }
}

/// Every route except `GET|HEAD /_gate/auth`.
async fn route(
    gate: &Rc<Gate>,
    env: &Env,
    req: web_sys::Request,
    path: &str,
    ctx: &ExecutionContext,
) -> (worker::Result<web_sys::Response>, Option<Outcome>) {
    match path {
        "/_gate/healthz" => (auth::healthz(gate).await, None),
        // GET and HEAD are answered by `forward_auth`.
        AUTH => (json_response(405, r#"{"code":"method_not_allowed","message":"use GET or HEAD"}"#, &[]), None),
        p if p == SETUP || p.starts_with("/_gate/setup/") => (setup(env, &req, p).await, None),
        p if p.starts_with("/_gate/") => {
            (json_response(404, r#"{"code":"not_found","message":"no such gate endpoint"}"#, &[]), None)
        }
        _ => match &gate.config {
            Err(errors) => (deny_response("", &config_error(errors), false), None),
            Ok(cfg) => match &cfg.upstream {
                Some(upstream) => {
                    let (r, o) = proxy::proxy(gate, cfg, upstream, req, ctx).await;
                    (r, Some(o))
                }
                None => (
                    json_response(
                        404,
                        r#"{"code":"not_found","message":"UPSTREAM is not set: this gate answers /_gate/auth only"}"#,
                        &[],
                    ),
                    None,
                ),
            },
        },
    }
}

/// Log the request (per `LOG`) and hand the answer to JavaScript; an error becomes a 500.
fn finish(
    gate: &Gate,
    method: &str,
    path: &str,
    response: worker::Result<web_sys::Response>,
    outcome: Option<Outcome>,
    started: u64,
) -> Result<JsValue, JsValue> {
    let response = response.or_else(|e| {
        worker::console_error!("{}", serde_json::json!({"event": "internal_error", "message": e.to_string()}));
        json_response(500, r#"{"code":"internal_error","message":"the gate could not build its answer"}"#, &[])
    });
    let status = response.as_ref().map_or(500, |r| r.status());
    // `LOG=deny`: only refusals and errors (an invalid configuration logs everything).
    let refused = status >= 400 || outcome.as_ref().is_some_and(|o| matches!(o.verdict, Verdict::Deny { .. }));
    if refused || gate.config.as_ref().map_or(true, |c| c.log == LogMode::All) {
        // At most `LOG_LIMIT` lines per second; what is dropped is counted in the next line's preamble.
        let now = now_ms();
        if let Admit::Write { suppressed } = gate.log_limit.borrow_mut().admit(now / 1000) {
            if suppressed > 0 {
                log::suppressed(suppressed);
            }
            log::request("request", method, path, status, outcome.as_ref(), now.saturating_sub(started));
        }
    }
    // Not even a 500 could be built: throw, and workerd answers 500.
    response.map(Into::into).map_err(|e| JsError::new(&e.to_string()).into())
}

/// The setup page (another module's static files, wrangler `[assets]` bound as `ASSETS`), served below
/// `/_gate/setup/`.
async fn setup(env: &Env, req: &web_sys::Request, path: &str) -> worker::Result<web_sys::Response> {
    if path == SETUP {
        let headers = web_sys::Headers::new()?;
        headers.set("location", "/_gate/setup/")?;
        let init = web_sys::ResponseInit::new();
        init.set_status(308);
        init.set_headers(&headers);
        return Ok(web_sys::Response::new_with_opt_str_and_init(None, &init)?);
    }
    let Ok(assets) = env.assets("ASSETS") else {
        return json_response(404, r#"{"code":"not_found","message":"the setup page is not deployed"}"#, &[]);
    };
    let url = req.url();
    let origin_end = url.len() - path_and_query(&url).len();
    let rest = &url[origin_end + SETUP.len()..];
    let inner = worker::Request::new(&format!("{}{rest}", &url[..origin_end]), worker::Method::Get)?;
    Ok(assets.fetch_request(inner).await?.into())
}
