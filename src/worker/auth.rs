//! From a request's route and `Authorization` header to a verdict; `/_gate/auth` (forward-auth) and
//! `/_gate/healthz`; refusal responses.

use std::rc::Rc;
use std::sync::Arc;

use serde_json::json;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::{JsValue, intern};
use worker::{js_sys, web_sys};

use super::headers::{
    Credential, Family, challenges, credential, error_body, forward_auth_headers, original_request, www_authenticate,
};
use super::keys::{self, ExecutionContext};
use super::read::header;
use super::state::{Gate, now};
use crate::config::{GateConfig, PatMode};
use crate::crypto::{AsyncSignatureVerifier, WebCrypto};
use crate::error::Error;
use crate::jwk::KeySet;
use crate::policy::{Decision, Identity, RouteAction, authorize};
use crate::verify::{Awaiting, Verified};

/// The gate's verdict on one request, with what the log needs.
pub struct Outcome {
    /// What to do.
    pub verdict: Verdict,
    /// Issuer of the token, when one was matched.
    pub issuer: Option<String>,
    /// `kid` of the verifying key, when verified.
    pub kid: Option<String>,
    /// Whether the verdict came from the verified-token cache.
    pub cached: bool,
}

/// What to do with a request.
pub enum Verdict {
    /// The route needs no token.
    Bypass,
    /// A personal access token passed through untouched (`PERSONAL_ACCESS_TOKENS=pass`).
    PatPass,
    /// An allowed user.
    Allow(Identity),
    /// Refused.
    Deny {
        /// Why (its status and stable code).
        error: Error,
        /// Whether the client sent a credential (the `WWW-Authenticate` challenge then says `invalid_token`).
        credential_sent: bool,
    },
}

impl Outcome {
    fn of(verdict: Verdict) -> Outcome {
        Outcome { verdict, issuer: None, kid: None, cached: false }
    }

    /// Log fields: decision name and stable code.
    pub fn summary(&self) -> (&'static str, Option<&'static str>) {
        match &self.verdict {
            Verdict::Bypass => ("bypass", None),
            Verdict::PatPass => ("pat_pass", None),
            Verdict::Allow(_) => ("allow", None),
            Verdict::Deny { error: e, .. } => ("deny", Some(e.code())),
        }
    }
}

/// What [`decide_now`] cannot finish without I/O: a bearer token that is not in the verified-token cache.
pub struct Pending {
    action: RouteAction,
    token: String,
}

/// Decide a request for `method` and `path` (query allowed; the route table normalises it). `ctx` receives a
/// background key refresh when a cached token's issuer keys are past their TTL (see [`decide_now`]).
pub async fn decide(
    gate: &Rc<Gate>,
    cfg: &GateConfig,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    ctx: &ExecutionContext,
) -> Outcome {
    match decide_now(gate, cfg, method, path, authorization, ctx) {
        Ok(outcome) => outcome,
        Err(pending) => decide_pending(gate, cfg, pending).await,
    }
}

/// The part of [`decide`] that needs no I/O: the route, the credential and the verified-token cache. `Err`: the
/// token must be verified ([`decide_pending`]).
///
/// A path the route table cannot judge safely is refused ([`Error::PathAmbiguous`], 400). A cached token is
/// answered at once; when its issuer's keys are past their TTL, a refresh starts in the background
/// ([`keys::refresh_if_expired`], through `ctx.waitUntil`), so a removed key stops verifying cached tokens as soon
/// as the issuer's new set is loaded.
pub fn decide_now(
    gate: &Rc<Gate>,
    cfg: &GateConfig,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    ctx: &ExecutionContext,
) -> Result<Outcome, Pending> {
    let action = match cfg.routes.action(method, path) {
        Ok(action) => action,
        Err(e) => return Ok(Outcome::of(Verdict::Deny { error: e, credential_sent: authorization.is_some() })),
    };
    if *action == RouteAction::Bypass {
        return Ok(Outcome::of(Verdict::Bypass));
    }
    let token = match credential(authorization) {
        Credential::Bearer(t) => t,
        Credential::Pat if cfg.pat == PatMode::Pass => return Ok(Outcome::of(Verdict::PatPass)),
        Credential::Pat => {
            return Ok(Outcome::of(Verdict::Deny { error: Error::PatNotAllowed, credential_sent: true }));
        }
        Credential::Other => {
            return Ok(Outcome::of(Verdict::Deny { error: Error::TokenMissing, credential_sent: true }));
        }
        Credential::None => {
            return Ok(Outcome::of(Verdict::Deny { error: Error::TokenMissing, credential_sent: false }));
        }
    };
    let t0 = now();
    let hit = gate.tokens.borrow_mut().get(token, t0, |v| {
        gate.keys
            .get(v.issuer)
            .and_then(|c| c.borrow().keys(t0).ok())
            .is_some_and(|set| set.contains_thumbprint(&v.thumbprint))
    });
    match hit {
        Some(verified) => {
            keys::refresh_if_expired(gate, verified.issuer, t0, ctx);
            Ok(outcome(cfg, action, &verified, true))
        }
        None => Err(Pending { action: action.clone(), token: token.to_owned() }),
    }
}

/// What [`start`] made of a [`Pending`] verification.
pub enum Started {
    /// Decided without WebCrypto (a malformed token, an untrusted issuer, a wrong signature length, …).
    Now(Outcome),
    /// The signature check is running: resume with its settled promise through [`resume`].
    Waiting(js_sys::Promise, Waiting),
    /// Needs I/O first (a key fetch, an unknown `kid`, a key import): use [`decide_pending`].
    Async(Pending),
}

/// A verification whose signature check runs in WebCrypto (see [`start`]).
pub struct Waiting {
    action: RouteAction,
    awaiting: Awaiting,
    token: String,
}

/// Verify `pending` as far as possible without a Rust future: with the issuer's keys fresh in the cache and the
/// token's key already imported, the same steps as [`decide_pending`] up to the signature, which is started
/// and handed back with what [`resume`] needs. Anything that needs I/O goes back as [`Started::Async`].
pub fn start(gate: &Gate, cfg: &GateConfig, pending: Pending) -> Started {
    let deny = |e| Started::Now(Outcome::of(Verdict::Deny { error: e, credential_sent: true }));
    let prepared = match cfg.verifier.prepare(&pending.token) {
        Ok(p) => p,
        Err(e) => return deny(e),
    };
    let t = now();
    let Some(cache) = gate.keys.get(prepared.issuer()) else {
        return Started::Async(pending);
    };
    let set = match cache.borrow().keys(t) {
        Ok(set) if cache.borrow().is_fresh(t) && !set.keys().is_empty() => set,
        _ => return Started::Async(pending),
    };
    let key = match prepared.select_key(&set) {
        Ok(key) => key,
        // Within the cooldown the unknown `kid` stands: refused now, as the refresh machinery would.
        Err(e) if e.wants_key_refresh() && cache.borrow().unknown_kid_stands(t) => return deny(e),
        Err(e) if e.wants_key_refresh() => return Started::Async(pending),
        Err(e) => return deny(e),
    };
    match gate.crypto.start_verify(key, prepared.alg(), prepared.signing_input(), prepared.signature()) {
        Ok(Some(promise)) => {
            let awaiting = prepared.awaiting(key);
            Started::Waiting(promise, Waiting { action: pending.action, awaiting, token: pending.token })
        }
        Ok(None) => Started::Async(pending),
        Err(e) => deny(e),
    }
}

/// Finish a [`Started::Waiting`] verification once WebCrypto's promise settled (`Ok`: fulfilled with the value,
/// `Err`: rejected): the verdict, the claims, the token cache, the group check.
pub fn resume(gate: &Gate, cfg: &GateConfig, waiting: Waiting, settled: Result<JsValue, JsValue>) -> Outcome {
    let verified = WebCrypto::verdict(settled).and_then(|()| waiting.awaiting.finish(&cfg.verifier, now()));
    conclude(gate, cfg, &waiting.action, &waiting.token, verified)
}

/// Finish what [`decide_now`] left: verify the token (keys, WebCrypto, claims), then the group check.
pub async fn decide_pending(gate: &Gate, cfg: &GateConfig, pending: Pending) -> Outcome {
    let verified = verify(gate, cfg, &pending.token).await;
    conclude(gate, cfg, &pending.action, &pending.token, verified)
}

/// The end of both verification paths ([`resume`], [`decide_pending`]): a verified token is offered to the token
/// cache and goes to the group check; an error is a refusal.
fn conclude(
    gate: &Gate,
    cfg: &GateConfig,
    action: &RouteAction,
    token: &str,
    verified: Result<Verified, Error>,
) -> Outcome {
    match verified {
        Ok(v) => {
            let verified = Arc::new(v);
            gate.tokens.borrow_mut().insert(token, Arc::clone(&verified), now());
            outcome(cfg, action, &verified, false)
        }
        Err(e) => Outcome::of(Verdict::Deny { error: e, credential_sent: true }),
    }
}

/// The verdict for a verified token on a route that requires a user.
fn outcome(cfg: &GateConfig, action: &RouteAction, verified: &Verified, cached: bool) -> Outcome {
    let issuer = cfg.verifier.issuers().get(verified.issuer).map(|c| c.issuer.clone());
    let kid = verified.kid.clone();
    let verdict = match authorize(action, cfg.verifier.issuers(), verified) {
        Decision::Allow(id) => Verdict::Allow(id),
        Decision::Bypass => Verdict::Bypass,
        Decision::Deny(e) => Verdict::Deny { error: e, credential_sent: true },
    };
    Outcome { verdict, issuer, kid, cached }
}

/// Verify a bearer token that missed the cache: parse → issuer's keys (refreshed once on an unknown `kid`,
/// within the cooldown) → WebCrypto → claims.
async fn verify(gate: &Gate, cfg: &GateConfig, token: &str) -> Result<Verified, Error> {
    let prepared = cfg.verifier.prepare(token)?;
    let i = prepared.issuer();
    let set = keys::key_set(gate, cfg, i).await?;
    let generation = gate.keys[i].borrow().generation();
    // The set that holds the token's key (a newer one after an unknown `kid`); the key is borrowed from it, not
    // copied.
    let set = match prepared.select_key(&set) {
        Ok(_) => set,
        Err(e) if e.wants_key_refresh() => match keys::refresh_for_unknown_kid(gate, cfg, i, generation).await {
            Some(newer) => newer,
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let key = prepared.select_key(&set)?;
    gate.crypto.verify_async(key, prepared.alg(), prepared.signing_input(), prepared.signature()).await?;
    prepared.finish(&cfg.verifier, key, now())
}

/// The set, if it holds a usable key ([`KeySet::require_usable`]).
fn usable(set: Arc<KeySet>) -> Result<Arc<KeySet>, Error> {
    set.require_usable().map(|()| set)
}

/// A JSON response with `Cache-Control: no-store`.
pub fn json_response(status: u16, body: &str, extra: &[(&str, String)]) -> worker::Result<web_sys::Response> {
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    for (k, v) in extra {
        headers.set(k, v)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    let body = if body.is_empty() { None } else { Some(body) };
    Ok(web_sys::Response::new_with_opt_str_and_init(body, &init)?)
}

/// The refusal for `e`: its status, `{"code","message"}`, and `WWW-Authenticate` on a 401.
pub fn deny_response(realm: &str, e: &Error, credential_sent: bool) -> worker::Result<web_sys::Response> {
    let mut extra = Vec::new();
    if challenges(e) {
        extra.push(("www-authenticate", www_authenticate(realm, credential_sent)));
    }
    json_response(e.http_status(), &error_body(e), &extra)
}

/// The first configuration error, as a refusal (503 `config_invalid`).
pub fn config_error(errors: &[Error]) -> Error {
    errors.first().cloned().unwrap_or(Error::Config { setting: "config".into(), message: "invalid".into() })
}

/// `GET|HEAD /_gate/auth` up to what needs I/O. The original method and URI come from exactly one header family,
/// per `FORWARDED_HEADERS` ([`original_request`]): `X-Original-Method`/`X-Original-URI` (nginx) or
/// `X-Forwarded-Method`/`X-Forwarded-Uri` (Caddy, Traefik); an incomplete family or two families that disagree
/// are refused (400 `forwarded_headers_incomplete` / `forwarded_headers_conflict`), never read as `GET` or as the
/// other family's request. `Err`: finish with [`decide_pending`], then answer with [`forward_auth_response`].
pub fn forward_auth(
    gate: &Rc<Gate>,
    cfg: &GateConfig,
    req: &web_sys::Request,
    ctx: &ExecutionContext,
) -> Result<Outcome, Pending> {
    let h = req.headers();
    // Constant names are interned: each crosses to JavaScript once per isolate, not once per request.
    let get = |name: &str| header(&h, intern(name));
    let (original_method, original_uri) = (get("x-original-method"), get("x-original-uri"));
    let (forwarded_method, forwarded_uri) = (get("x-forwarded-method"), get("x-forwarded-uri"));
    let original = Family::of(original_method.as_deref(), original_uri.as_deref());
    let forwarded = Family::of(forwarded_method.as_deref(), forwarded_uri.as_deref());
    let (method, uri) = match original_request(cfg.forwarded, original, forwarded) {
        Ok(request) => request,
        Err(e) => return Ok(Outcome::of(Verdict::Deny { error: e, credential_sent: false })),
    };
    let authorization = get("authorization");
    decide_now(gate, cfg, &method, uri, authorization.as_deref(), ctx)
}

/// The forward-auth answer for `outcome`: 200 with the identity headers, or the refusal.
pub fn forward_auth_response(cfg: &GateConfig, outcome: &Outcome) -> worker::Result<web_sys::Response> {
    match &outcome.verdict {
        Verdict::Allow(id) => forward_auth_ok(Some(id)),
        Verdict::Bypass | Verdict::PatPass => forward_auth_ok(None),
        Verdict::Deny { error, credential_sent } => deny_response(&cfg.realm, error, *credential_sent),
    }
}

/// The forward-auth 200 (no body, `Cache-Control: no-store`, the four identity headers, empty when unknown).
/// One call into JavaScript: `ok_response` keeps one template `Response` per identity (at most 1024, the oldest
/// dropped first) and answers with a clone of it, which costs less than building headers each time. The values
/// are [`header_value`](super::headers::header_value)s (visible ASCII and space only), so the newline-joined key
/// is unambiguous; the names are those of [`IDENTITY_HEADERS`](super::headers::IDENTITY_HEADERS), in that order.
fn forward_auth_ok(id: Option<&Identity>) -> worker::Result<web_sys::Response> {
    let [user, email, username, groups] = forward_auth_headers(id).map(|(_, v)| v);
    Ok(ok_response(&user, &email, &username, &groups)?)
}

#[wasm_bindgen(inline_js = r#"
const templates = new Map();
export function ok_response(user, email, username, groups) {
  const key = `${user}\n${email}\n${username}\n${groups}`;
  let template = templates.get(key);
  if (template === undefined) {
    template = new Response(null, {
      status: 200,
      headers: {
        "content-type": "application/json",
        "cache-control": "no-store",
        "x-auth-request-user": user,
        "x-auth-request-email": email,
        "x-auth-request-preferred-username": username,
        "x-auth-request-groups": groups,
      },
    });
    if (templates.size >= 1024) templates.delete(templates.keys().next().value);
    templates.set(key, template);
  }
  return template.clone();
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn ok_response(user: &str, email: &str, username: &str, groups: &str) -> Result<web_sys::Response, JsValue>;
}

/// `GET /_gate/healthz`: 200 when the configuration is valid and every issuer's keys are (or can be) loaded.
/// `caches` reports the isolate's cache sizes (verified tokens and their capacity, imported WebCrypto keys).
pub async fn healthz(gate: &Gate) -> worker::Result<web_sys::Response> {
    let cfg = match &gate.config {
        Ok(cfg) => cfg,
        Err(errors) => {
            let list: Vec<_> = errors
                .iter()
                .map(|e| match e {
                    Error::Config { setting, message } => json!({"setting": setting, "message": message}),
                    other => json!({"setting": "", "message": other.to_string()}),
                })
                .collect();
            let body = json!({"status": "config_invalid", "code": "config_invalid", "errors": list});
            return json_response(503, &body.to_string(), &[]);
        }
    };
    let mut issuers = Vec::new();
    let mut healthy = true;
    for (i, source) in cfg.keys.iter().enumerate() {
        issuers.push(match keys::key_set(gate, cfg, i).await.and_then(usable) {
            Ok(set) => {
                let kids: Vec<_> = set.keys().iter().filter_map(|k| k.kid.clone()).collect();
                json!({"issuer": source.issuer, "keys": set.keys().len(), "kids": kids,
                       "rejected_keys": set.rejected().len()})
            }
            Err(e) => {
                healthy = false;
                json!({"issuer": source.issuer, "code": e.code(), "message": e.to_string()})
            }
        });
    }
    let mode = if cfg.upstream.is_some() { "proxy" } else { "forward-auth" };
    let (status, state) = if healthy { (200, "ok") } else { (503, "keys_unavailable") };
    let tokens = gate.tokens.borrow();
    let caches = json!({"tokens": tokens.len(), "tokens_capacity": tokens.capacity(),
                        "crypto_keys": gate.crypto.cached_keys()});
    let mut body = json!({"status": state, "mode": mode, "issuers": issuers, "caches": caches});
    if !healthy {
        body["code"] = json!("keys_unavailable");
    }
    json_response(status, &body.to_string(), &[])
}
