//! Key sets for the Worker: discovery → `jwks_uri` → JWKS, fetched with a timeout into the issuer's
//! [`KeyCache`](crate::keycache::KeyCache), which decides when to fetch.
//!
//! Single flight across concurrent requests: workerd forbids using one request's I/O objects (a pending
//! `fetch`) from another request, so requests that find a fetch in flight do not await it; they poll the
//! shared cache with their own short timers until it completes (or is declared lost).
//!
//! Bodies (discovery and JWKS) are read as a stream and cancelled past [`MAX_JWKS_BYTES`]: a hostile or broken
//! key server cannot make the gate buffer more than that. A set past its TTL is also refreshed in the background
//! when only cached tokens arrive ([`refresh_in_background`]).

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;

use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys};

use super::entry::promise;
use super::log;
use super::state::{Gate, now, now_ms};
use crate::config::GateConfig;
use crate::error::Error;
use crate::jwk::{KeySet, MAX_JWKS_BYTES};
use crate::keycache::{FetchOutcome, FetchReason, Resolution, parse_cache_control};
use crate::request::Refresh;
use crate::url::is_fetchable_key_url;

/// Budget of one HTTP fetch (discovery or JWKS), milliseconds.
pub const FETCH_TIMEOUT_MS: u64 = 5_000;
/// How long a request waits for a fetch started by another request, milliseconds.
pub const WAIT_MS: u64 = 2 * FETCH_TIMEOUT_MS + 1_000;
/// Polling step while waiting, milliseconds.
const WAIT_STEP_MS: u64 = 20;

fn unavailable(reason: &str) -> Error {
    Error::KeysUnavailable { reason: reason.to_owned() }
}

#[wasm_bindgen]
extern "C" {
    /// The fetch handler's third argument (workerd's `ExecutionContext`).
    pub type ExecutionContext;

    /// `ctx.waitUntil(promise)`: keep the isolate working on `promise` after the response is sent.
    #[wasm_bindgen(method, catch, js_name = waitUntil)]
    fn wait_until(this: &ExecutionContext, promise: &js_sys::Promise) -> Result<(), JsValue>;
}

/// Run the background refresh the pipeline asked for ([`Outcome::refresh`](crate::request::Outcome::refresh):
/// this request holds the single-flight slot), kept alive by `ctx.waitUntil`: the request that noticed is
/// answered at once from the (stale) cache, and the new set replaces the old one when it arrives (dropping cached
/// tokens of removed keys).
pub fn refresh_in_background(gate: &Rc<Gate>, refresh: Refresh, ctx: &ExecutionContext) {
    let gate = Rc::clone(gate);
    let work = promise(Box::pin(async move {
        if let Ok(cfg) = &gate.config {
            run_fetch(&gate, cfg, refresh.issuer, refresh.reason).await;
        }
        Ok(JsValue::UNDEFINED)
    }));
    // Without a usable context the refresh still runs, only not past the end of this request.
    let _ = ctx.wait_until(&work);
}

/// The usable keys of issuer `i` (for `/_gate/healthz`): fetched first when the cache says so, or after waiting
/// for another request's fetch (at most [`WAIT_MS`]).
pub async fn key_set(gate: &Gate, cfg: &GateConfig, i: usize) -> Result<Arc<KeySet>, Error> {
    let deadline = now_ms() + WAIT_MS;
    loop {
        let resolution = match gate.caches.borrow_mut().keys.get_mut(i) {
            Some(cache) => cache.key_set(now()),
            None => return Err(unavailable("unknown issuer")),
        };
        match resolution {
            Resolution::Found(set) => return Ok(set),
            Resolution::Refused(e) => return Err(e),
            Resolution::Fetch(reason) => run_fetch(gate, cfg, i, reason).await,
            Resolution::Wait(e) if now_ms() >= deadline => return Err(e),
            Resolution::Wait(_) => pause().await,
        }
    }
}

/// One polling step while another request's fetch is in flight.
pub async fn pause() {
    let _ = Sleep::new(WAIT_STEP_MS).await;
}

/// Perform the fetch the cache asked for and report it back (this request holds the single-flight slot).
pub async fn run_fetch(gate: &Gate, cfg: &GateConfig, i: usize, reason: FetchReason) {
    let started = now_ms();
    let outcome = fetch_keys(gate, cfg, i).await;
    let result = gate.caches.borrow_mut().complete(i, outcome, now());
    if result.is_err() {
        // A stale discovery result may be the cause: look the issuer up again next time.
        *gate.discovered[i].borrow_mut() = None;
    }
    log::key_fetch(&cfg.keys[i].issuer, reason, &result, now_ms().saturating_sub(started));
}

async fn fetch_keys(gate: &Gate, cfg: &GateConfig, i: usize) -> FetchOutcome {
    let uri = match jwks_uri(gate, cfg, i).await {
        Ok(u) => u,
        Err(e) => return FetchOutcome::Failed(e),
    };
    // A set without a usable key is a failure too: `Caches::complete` decides.
    match get(&uri).await.and_then(|(body, cache_control)| Ok((KeySet::from_json(&body)?, cache_control))) {
        Ok((keys, cache_control)) => {
            FetchOutcome::Loaded { keys, max_age: cache_control.as_deref().and_then(parse_cache_control) }
        }
        Err(e) => FetchOutcome::Failed(e),
    }
}

/// The issuer's `jwks_uri`: configured, or from its discovery document (whose `issuer` must match exactly).
async fn jwks_uri(gate: &Gate, cfg: &GateConfig, i: usize) -> Result<String, Error> {
    let source = &cfg.keys[i];
    if let Some(uri) = &source.jwks_uri {
        return Ok(uri.clone());
    }
    if let Some(uri) = gate.discovered[i].borrow().clone() {
        return Ok(uri);
    }
    let (body, _) = get(&source.discovery_url()).await?;
    let doc: Value = serde_json::from_slice(&body).map_err(|_| unavailable("the discovery document is not JSON"))?;
    if doc.get("issuer").and_then(Value::as_str) != Some(source.issuer.as_str()) {
        return Err(unavailable("the discovery document's issuer differs from the configured issuer"));
    }
    let uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| unavailable("the discovery document has no jwks_uri"))?;
    if !is_fetchable_key_url(uri) {
        return Err(unavailable("the discovery document's jwks_uri is not https"));
    }
    *gate.discovered[i].borrow_mut() = Some(uri.to_owned());
    Ok(uri.to_owned())
}

/// GET `url` within [`FETCH_TIMEOUT_MS`]: the body (at most [`MAX_JWKS_BYTES`], read as a stream: see
/// [`read_capped`]) and the `Cache-Control` value. Redirects are not followed; any status but 200 is a failure.
async fn get(url: &str) -> Result<(Vec<u8>, Option<String>), Error> {
    let controller = web_sys::AbortController::new().map_err(|_| unavailable("no AbortController"))?;
    let signal = controller.signal();
    let work = async {
        let init = web_sys::RequestInit::new();
        init.set_method("GET");
        // workerd has no "error" mode: a redirect answers 3xx, refused below like every status but 200.
        init.set_redirect(web_sys::RequestRedirect::Manual);
        init.set_signal(Some(&signal));
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let fetched = JsFuture::from(global.fetch_with_str_and_init(url, &init))
            .await
            .map_err(|_| unavailable("the issuer could not be reached"))?;
        let resp: web_sys::Response = fetched.dyn_into().map_err(|_| unavailable("fetch returned no response"))?;
        if resp.status() != 200 {
            return Err(Error::KeysUnavailable { reason: format!("the issuer answered HTTP {}", resp.status()) });
        }
        let cache_control = resp.headers().get("cache-control").ok().flatten();
        let declared = resp.headers().get("content-length").ok().flatten().and_then(|l| l.parse::<usize>().ok());
        if declared.is_some_and(|l| l > MAX_JWKS_BYTES) {
            if let Some(body) = resp.body() {
                // Not read at all: release the connection.
                let _ = body.cancel();
            }
            return Err(too_big());
        }
        Ok((read_capped(&resp).await?, cache_control))
    };
    match with_timeout(work, FETCH_TIMEOUT_MS).await {
        Some(result) => result,
        None => {
            controller.abort();
            Err(unavailable("the issuer did not answer in time"))
        }
    }
}

fn too_big() -> Error {
    Error::KeysUnavailable { reason: format!("the issuer's document is larger than {MAX_JWKS_BYTES} bytes") }
}

/// The body of `resp`, read chunk by chunk into one buffer of at most [`MAX_JWKS_BYTES`]: past the cap the
/// stream is cancelled (the rest is never received into the isolate) and the read fails.
async fn read_capped(resp: &web_sys::Response) -> Result<Vec<u8>, Error> {
    let unreadable = || unavailable("the issuer's body could not be read");
    let Some(body) = resp.body() else {
        return Ok(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let (done_key, value_key) = (JsValue::from_str("done"), JsValue::from_str("value"));
    let mut bytes = Vec::new();
    loop {
        let step = JsFuture::from(reader.read()).await.map_err(|_| unreadable())?;
        if js_sys::Reflect::get(&step, &done_key).map_err(|_| unreadable())?.is_truthy() {
            return Ok(bytes);
        }
        let chunk: js_sys::Uint8Array =
            js_sys::Reflect::get(&step, &value_key).map_err(|_| unreadable())?.dyn_into().map_err(|_| unreadable())?;
        let start = bytes.len();
        let end = start.saturating_add(chunk.length() as usize);
        if end > MAX_JWKS_BYTES {
            let _ = reader.cancel();
            return Err(too_big());
        }
        bytes.resize(end, 0);
        chunk.copy_to(&mut bytes[start..]);
    }
}

/// `fut`'s output, or `None` if `ms` milliseconds pass first.
async fn with_timeout<F: Future>(fut: F, ms: u64) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut timer = pin!(Sleep::new(ms));
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// A `setTimeout` as a future, cleared when dropped (a fetch that wins its race leaves no timer behind). Bound
/// directly: `worker::Delay` links the workers-rs runtime glue into the bundle.
struct Sleep {
    future: JsFuture,
    id: JsValue,
}

impl Sleep {
    fn new(ms: u64) -> Sleep {
        let mut id = JsValue::UNDEFINED;
        let promise = js_sys::Promise::new(&mut |resolve, _reject| id = set_timeout(&resolve, ms as f64));
        Sleep { future: JsFuture::from(promise), id }
    }
}

impl Future for Sleep {
    type Output = Result<JsValue, JsValue>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        std::pin::Pin::new(&mut self.future).poll(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}
