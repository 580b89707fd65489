//! The per-isolate state: configuration parsed once from the environment, the pipeline's caches (one key cache
//! per issuer, the verified-token cache) and the WebCrypto backend. Nothing here holds a request's I/O object.

use std::cell::RefCell;
use std::rc::Rc;

use worker::wasm_bindgen::JsValue;
use worker::{Env, js_sys};

use super::loglimit::LogLimit;
use crate::config::{DEFAULT_LOG_LIMIT, GateConfig};
use crate::crypto::WebCrypto;
use crate::error::Error;
use crate::request::Caches;
use crate::tokencache::{DEFAULT_CAPACITY, TokenCache};

/// Everything one isolate keeps between requests.
pub struct Gate {
    /// The configuration, or every reason it is invalid.
    pub config: Result<GateConfig, Vec<Error>>,
    /// The pipeline's key and token caches (empty when the configuration is invalid). Borrowed for one step at a
    /// time, never across an `await`.
    pub caches: RefCell<Caches>,
    /// Per issuer: the `jwks_uri` found through discovery (when `JWKS_URI` is not configured).
    pub discovered: Vec<RefCell<Option<String>>>,
    /// Signature backend with its imported-key cache.
    pub crypto: WebCrypto,
    /// The request log's budget (`LOG_LIMIT`).
    pub log_limit: RefCell<LogLimit>,
}

thread_local! {
    static GATE: RefCell<Option<Rc<Gate>>> = const { RefCell::new(None) };
}

/// A variable as a string: a plain var or secret, or a `[vars]` table/array as JSON text (`JSON.stringify`).
/// Read from the binding object directly: `Env::object_var` links a serde deserializer for JavaScript values.
fn read_var(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    if value.is_undefined() || value.is_null() {
        return None;
    }
    js_sys::JSON::stringify(&value).ok()?.as_string()
}

impl Gate {
    /// The isolate's gate, built from `env` on first use.
    pub fn get(env: &Env) -> Rc<Gate> {
        if let Some(g) = GATE.with(|g| g.borrow().clone()) {
            return g;
        }
        // The configuration asks for each variable by name: no list here to keep in step with `crate::config`.
        let gate = Rc::new(Gate::new(|name| read_var(env, name)));
        GATE.with(|g| *g.borrow_mut() = Some(Rc::clone(&gate)));
        gate
    }

    fn new(get: impl Fn(&str) -> Option<String>) -> Gate {
        let config = GateConfig::from_env(&get);
        let n = config.as_ref().map_or(0, |c| c.keys.len());
        let tokens = TokenCache::new(DEFAULT_CAPACITY).admit_on_second_sight();
        let caches = match &config {
            Ok(cfg) => Caches::new(cfg, tokens),
            Err(_) => Caches { keys: Vec::new(), tokens },
        };
        Gate {
            caches: RefCell::new(caches),
            discovered: (0..n).map(|_| RefCell::new(None)).collect(),
            crypto: WebCrypto::new(),
            log_limit: RefCell::new(LogLimit::new(config.as_ref().map_or(DEFAULT_LOG_LIMIT, |c| c.log_limit))),
            config,
        }
    }
}

/// Now, unix seconds (workerd's clock advances only across I/O).
pub fn now() -> u64 {
    now_ms() / 1000
}

/// Now, unix milliseconds. `Date.now()`: one call into JavaScript, no `Date` object (this runs several times
/// per request).
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}
