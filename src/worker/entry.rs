//! The fetch handler: `/_gate/healthz`, `/_gate/auth`, `/_gate/setup/` (static assets), else proxy mode.

use worker::{Context, Env, event, web_sys};

use super::auth::{self, Verdict, config_error, deny_response, json_response};
use super::headers::{path_and_query, uri_path};
use super::log;
use super::proxy;
use super::state::{Gate, now_ms};
use crate::config::LogMode;

const SETUP: &str = "/_gate/setup";

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
    let started = now_ms();
    let gate = Gate::get(&env);
    let url = req.url();
    let path = uri_path(path_and_query(&url)).unwrap_or("/");
    let method = req.method();
    let (response, outcome) = match path {
        "/_gate/healthz" => (auth::healthz(&gate).await, None),
        "/_gate/auth" if method != "GET" && method != "HEAD" => {
            (json_response(405, r#"{"code":"method_not_allowed","message":"use GET or HEAD"}"#, &[]), None)
        }
        "/_gate/auth" => match &gate.config {
            Ok(cfg) => {
                let (r, o) = auth::forward_auth(&gate, cfg, &req).await;
                (r, Some(o))
            }
            Err(errors) => (deny_response("", &config_error(errors), false), None),
        },
        p if p == SETUP || p.starts_with("/_gate/setup/") => (setup(&env, &req, p).await, None),
        p if p.starts_with("/_gate/") => {
            (json_response(404, r#"{"code":"not_found","message":"no such gate endpoint"}"#, &[]), None)
        }
        _ => match &gate.config {
            Err(errors) => (deny_response("", &config_error(errors), false), None),
            Ok(cfg) => match &cfg.upstream {
                Some(upstream) => {
                    let (r, o) = proxy::proxy(&gate, cfg, upstream, req).await;
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
    };
    let status = response.as_ref().map_or(500, |r| r.status());
    // `LOG=deny`: only refusals and errors (an invalid configuration logs everything).
    let refused = status >= 400 || outcome.as_ref().is_some_and(|o| matches!(o.verdict, Verdict::Deny(..)));
    if refused || gate.config.as_ref().map_or(true, |c| c.log == LogMode::All) {
        log::request("request", &method, path, status, outcome.as_ref(), now_ms().saturating_sub(started));
    }
    response
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
