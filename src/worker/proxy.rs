//! Proxy mode (`UPSTREAM` set): gate by the route rules, strip client identity headers, add the gate's own,
//! and send the request upstream untouched otherwise (method, body stream, WebSocket upgrade).

use std::rc::Rc;

use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys};

use super::head::{AUTHORIZATION, Head as RequestHead};
use super::keys::ExecutionContext;
use super::pipeline;
use super::respond::into_response;
use super::state::{Gate, now};
use crate::answer::Answer;
use crate::config::GateConfig;
use crate::error::Error;
use crate::http::{identity_headers, is_spoofable, path_and_query};
use crate::policy::Identity;
use crate::request::{Head, Outcome, Verdict};

/// Gate and forward one request to `UPSTREAM` (its own method and URI, as `read` holds them: forwarding headers
/// play no part here).
pub async fn proxy(
    gate: &Rc<Gate>,
    cfg: &GateConfig,
    req: web_sys::Request,
    read: &RequestHead,
    ctx: &ExecutionContext,
) -> (Result<web_sys::Response, JsValue>, Outcome) {
    let target = path_and_query(read.url());
    let head = Head { method: read.method(), path: target, authorization: read.header(AUTHORIZATION) };
    let step = pipeline::begin(gate, cfg, head, ctx, now());
    let outcome = pipeline::settle(gate, cfg, step).await;
    let upstream = cfg.upstream.as_deref().unwrap_or_default();
    let response = match &outcome.verdict {
        Verdict::Deny { .. } => into_response(&Answer::of(&outcome), &cfg.realm),
        Verdict::Allow(id) => forward(upstream, target, &req, Some(id)).await,
        Verdict::Bypass | Verdict::PatPass => forward(upstream, target, &req, None).await,
    };
    (response, outcome)
}

async fn forward(
    upstream: &str,
    target: &str,
    req: &web_sys::Request,
    identity: Option<&Identity>,
) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new_with_headers(&req.headers())?;
    let mut spoofed = Vec::new();
    if let Ok(Some(entries)) = js_sys::try_iter(&headers) {
        for entry in entries.flatten() {
            let name = js_sys::Array::from(&entry).get(0).as_string();
            spoofed.extend(name.filter(|n| is_spoofable(n)));
        }
    }
    for name in spoofed {
        headers.delete(&name)?;
    }
    if let Some(id) = identity {
        for (name, value) in identity_headers(id) {
            headers.set(name, &value)?;
        }
    }
    let init = web_sys::RequestInit::new();
    init.set_method(&req.method());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(body) = req.body() {
        init.set_body(&body);
    }
    let outbound = web_sys::Request::new_with_str_and_init(&format!("{upstream}{target}"), &init)?;
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    match JsFuture::from(global.fetch_with_request(&outbound)).await {
        Ok(resp) => Ok(resp.unchecked_into()),
        Err(_) => into_response(&Answer::error(Error::UpstreamUnavailable), ""),
    }
}
