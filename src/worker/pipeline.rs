//! The request pipeline's I/O ([`crate::request`] decides): key fetches, waiting for another request's fetch,
//! and WebCrypto's signature check, either awaited in a future ([`settle`]) or handed to the entry module as a
//! promise ([`start`], then [`resume`]).

use std::rc::Rc;

use worker::js_sys;
use worker::wasm_bindgen::JsValue;

use super::keys::{self, ExecutionContext, WAIT_MS};
use super::state::{Gate, now, now_ms};
use crate::config::GateConfig;
use crate::crypto::{AsyncSignatureVerifier, WebCrypto};
use crate::request::{self, Check, Head, Outcome, Step};

/// The pipeline's first step for `head` at `now` (unix seconds). A background key refresh it asks for (a cached
/// token whose issuer keys are past their TTL) starts at once, kept alive by `ctx.waitUntil`.
pub fn begin(gate: &Rc<Gate>, cfg: &GateConfig, head: Head<'_>, ctx: &ExecutionContext, now: u64) -> Step {
    let step = request::begin(cfg, &mut gate.caches.borrow_mut(), head, now);
    if let Step::Done(Outcome { refresh: Some(refresh), .. }) = &step {
        keys::refresh_in_background(gate, *refresh, ctx);
    }
    step
}

/// Run the pipeline from `step` to its outcome: fetch keys when asked (this request holds the single-flight
/// slot), wait for another request's fetch (polling, at most [`WAIT_MS`]), check the signature in WebCrypto.
pub async fn settle(gate: &Gate, cfg: &GateConfig, mut step: Step) -> Outcome {
    let deadline = now_ms() + WAIT_MS;
    loop {
        step = match step {
            Step::Done(outcome) => return outcome,
            Step::NeedKeys(need) => {
                match need.fetch {
                    Some(reason) => keys::run_fetch(gate, cfg, need.issuer, reason).await,
                    None if now_ms() >= deadline => return need.give_up(),
                    None => keys::pause().await,
                }
                need.resume(cfg, &mut gate.caches.borrow_mut(), now())
            }
            Step::CheckSignature(check) => {
                let (key, alg) = (check.key(), check.alg());
                let verdict = gate.crypto.verify_async(key, alg, check.signing_input(), check.signature()).await;
                return check.finish(cfg, &mut gate.caches.borrow_mut(), verdict, now());
            }
        }
    }
}

/// What [`start`] made of a step.
pub enum Started {
    /// Decided without I/O.
    Now(Outcome),
    /// WebCrypto is checking the signature: resume with its settled promise through [`resume`].
    Waiting(js_sys::Promise, Check),
    /// Needs I/O first (a key fetch, a wait, a key import): [`settle`] it in a future.
    Later(Step),
}

/// Take `step` as far as it goes without a Rust future: with the key already imported, WebCrypto's check is
/// started and handed back with the [`Check`] that [`resume`] needs.
pub fn start(gate: &Gate, cfg: &GateConfig, step: Step) -> Started {
    match step {
        Step::Done(outcome) => Started::Now(outcome),
        Step::CheckSignature(check) => {
            match gate.crypto.start_verify(check.key(), check.alg(), check.signing_input(), check.signature()) {
                Ok(Some(promise)) => Started::Waiting(promise, check),
                Ok(None) => Started::Later(Step::CheckSignature(check)),
                Err(e) => Started::Now(check.finish(cfg, &mut gate.caches.borrow_mut(), Err(e), now())),
            }
        }
        need => Started::Later(need),
    }
}

/// Finish a [`Started::Waiting`] check once WebCrypto's promise settled (`Ok`: fulfilled with the value, `Err`:
/// rejected).
pub fn resume(gate: &Gate, cfg: &GateConfig, check: Check, settled: Result<JsValue, JsValue>) -> Outcome {
    check.finish(cfg, &mut gate.caches.borrow_mut(), WebCrypto::verdict(settled), now())
}
