//! Proxy mode (`UPSTREAM` set): gate by the route rules, strip client identity headers, add the gate's own,
//! and send the request upstream untouched otherwise (method, body stream, WebSocket upgrade).

use std::rc::Rc;

use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys};

use super::auth::{Outcome, Verdict, decide, deny_response, json_response};
use super::headers::{identity_headers, is_spoofable, path_and_query};
use super::keys::ExecutionContext;
use super::state::Gate;
use crate::config::GateConfig;
use crate::policy::Identity;

/// Gate and forward one request to `upstream` (its own method and URI: forwarding headers play no part here).
pub async fn proxy(
    gate: &Rc<Gate>,
    cfg: &GateConfig,
    upstream: &str,
    req: web_sys::Request,
    ctx: &ExecutionContext,
) -> (worker::Result<web_sys::Response>, Outcome) {
    let url = req.url();
    let target = path_and_query(&url);
    let authorization = req.headers().get("authorization").ok().flatten();
    let outcome = decide(gate, cfg, &req.method(), target, authorization.as_deref(), ctx).await;
    let response = match &outcome.verdict {
        Verdict::Deny { error, credential_sent } => deny_response(&cfg.realm, error, *credential_sent),
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
) -> worker::Result<web_sys::Response> {
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
        Err(_) => {
            json_response(502, r#"{"code":"upstream_unavailable","message":"the upstream could not be reached"}"#, &[])
        }
    }
}
