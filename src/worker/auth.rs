//! From a request's route and `Authorization` header to a verdict; `/_gate/auth` (forward-auth) and
//! `/_gate/healthz`; refusal responses.

use std::cell::RefCell;
use std::sync::Arc;

use serde_json::json;
use worker::wasm_bindgen::intern;
use worker::web_sys;

use super::headers::{Credential, challenges, credential, error_body, forward_auth_headers, www_authenticate};
use super::keys;
use super::state::{Gate, now};
use crate::config::{GateConfig, PatMode};
use crate::crypto::AsyncSignatureVerifier;
use crate::error::Error;
use crate::jwk::KeySet;
use crate::policy::{Decision, Identity, RouteAction, authorize};
use crate::tokencache::TokenCache;
use crate::verify::Verified;

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
    /// Refused; `bool`: whether the client sent a credential.
    Deny(Error, bool),
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
            Verdict::Deny(e, _) => ("deny", Some(e.code())),
        }
    }
}

/// Decide a request for `method` and `path` (query allowed; the route table normalises it).
pub async fn decide(gate: &Gate, cfg: &GateConfig, method: &str, path: &str, authorization: Option<&str>) -> Outcome {
    let action = cfg.routes.action(method, path);
    if *action == RouteAction::Bypass {
        return Outcome::of(Verdict::Bypass);
    }
    let token = match credential(authorization) {
        Credential::Bearer(t) => t,
        Credential::Pat if cfg.pat == PatMode::Pass => return Outcome::of(Verdict::PatPass),
        Credential::Pat => return Outcome::of(Verdict::Deny(Error::PatNotAllowed, true)),
        Credential::Other => return Outcome::of(Verdict::Deny(Error::TokenMissing, true)),
        Credential::None => return Outcome::of(Verdict::Deny(Error::TokenMissing, false)),
    };
    match verify(gate, cfg, token).await {
        Ok((verified, cached)) => {
            let issuer = cfg.verifier.issuers().get(verified.issuer).map(|c| c.issuer.clone());
            let kid = verified.kid.clone();
            let verdict = match authorize(action, cfg.verifier.issuers(), &verified) {
                Decision::Allow(id) => Verdict::Allow(id),
                Decision::Bypass => Verdict::Bypass,
                Decision::Deny(e) => Verdict::Deny(e, true),
            };
            Outcome { verdict, issuer, kid, cached }
        }
        Err(e) => Outcome::of(Verdict::Deny(e, true)),
    }
}

/// Verify a bearer token: the token cache first, else parse → issuer's keys (refreshed once on an unknown
/// `kid`, within the cooldown) → WebCrypto → claims. Returns the verdict and whether it was cached.
async fn verify(gate: &Gate, cfg: &GateConfig, token: &str) -> Result<(Arc<Verified>, bool), Error> {
    let t0 = now();
    // One SHA-256 of the token per request: the same key serves the lookup and, on a miss, the insert.
    let cache_key = TokenCache::key(token);
    let hit = gate.tokens.borrow_mut().get_key(&cache_key, t0, |v| {
        gate.keys
            .get(v.issuer)
            .and_then(|c| c.borrow().keys(t0).ok())
            .is_some_and(|set| set.contains_thumbprint(&v.thumbprint))
    });
    if let Some(v) = hit {
        return Ok((v, true));
    }
    let prepared = cfg.verifier.prepare(token)?;
    let i = prepared.issuer();
    let set = usable(keys::key_set(gate, cfg, i).await?)?;
    let generation = gate.keys[i].borrow().generation();
    // The set that holds the token's key (a newer one after an unknown `kid`); the key is borrowed from it, not
    // copied.
    let set = match prepared.select_key(&set) {
        Ok(_) => set,
        Err(e) if e.wants_key_refresh() => match keys::refresh_for_unknown_kid(gate, cfg, i, generation).await {
            Some(newer) => usable(newer)?,
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let key = prepared.select_key(&set)?;
    gate.crypto.verify_async(key, prepared.alg(), prepared.signing_input(), prepared.signature()).await?;
    let verified = Arc::new(prepared.finish(&cfg.verifier, key, now())?);
    gate.tokens.borrow_mut().insert_key(cache_key, Arc::clone(&verified), now());
    Ok((verified, false))
}

/// A set without a single usable key is an outage (503), not a bad token (401).
fn usable(set: Arc<KeySet>) -> Result<Arc<KeySet>, Error> {
    if set.keys().is_empty() {
        return Err(Error::KeysUnavailable {
            reason: format!("the key set has no usable key ({} rejected)", set.rejected().len()),
        });
    }
    Ok(set)
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

/// `GET|HEAD /_gate/auth`: the original method and URI come from `X-Forwarded-Method`/`X-Forwarded-Uri`
/// (Caddy, Traefik) or `X-Original-Method`/`X-Original-URI` (nginx); without a URI the strictest rule applies.
pub async fn forward_auth(
    gate: &Gate,
    cfg: &GateConfig,
    req: &web_sys::Request,
) -> (worker::Result<web_sys::Response>, Outcome) {
    let h = req.headers();
    // Constant names are interned: each crosses to JavaScript once per isolate, not once per request.
    let get = |name: &str| h.get(intern(name)).ok().flatten();
    let method = get("x-forwarded-method").or_else(|| get("x-original-method")).unwrap_or_else(|| "GET".into());
    // An absent or absolute URI is not a normal path: the route table then applies its strictest rule.
    let uri = get("x-forwarded-uri").or_else(|| get("x-original-uri")).unwrap_or_default();
    let authorization = get("authorization");
    let outcome = decide(gate, cfg, &method.to_ascii_uppercase(), &uri, authorization.as_deref()).await;
    let response = match &outcome.verdict {
        Verdict::Allow(id) => forward_auth_ok(Some(id)),
        Verdict::Bypass | Verdict::PatPass => forward_auth_ok(None),
        Verdict::Deny(e, sent) => deny_response(&cfg.realm, e, *sent),
    };
    (response, outcome)
}

/// The forward-auth 200 (no body, `Cache-Control: no-store`, the four identity headers). One `Headers` and one
/// `ResponseInit` per isolate: `new Response` copies the init's headers, so this request's identity values are
/// set on the shared object and copied at once (nothing awaits in between). Five calls into JavaScript instead
/// of twelve.
fn forward_auth_ok(id: Option<&Identity>) -> worker::Result<web_sys::Response> {
    thread_local! {
        static OK: RefCell<Option<(web_sys::Headers, web_sys::ResponseInit)>> = const { RefCell::new(None) };
    }
    OK.with(|ok| {
        let mut ok = ok.borrow_mut();
        let (headers, init) = match &mut *ok {
            Some(template) => template,
            slot => {
                let headers = web_sys::Headers::new()?;
                headers.set("content-type", "application/json")?;
                headers.set("cache-control", "no-store")?;
                let init = web_sys::ResponseInit::new();
                init.set_status(200);
                init.set_headers(&headers);
                slot.insert((headers, init))
            }
        };
        for (name, value) in forward_auth_headers(id) {
            headers.set(intern(name), &value)?;
        }
        Ok(web_sys::Response::new_with_opt_str_and_init(None, init)?)
    })
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
