//! Benchmark exports (wasm-bindgen, `--target nodejs`): verify PocketID tokens with the RustCrypto backend
//! compiled to wasm or with the WebCrypto backend, through PocketGate's full token path
//! ([`Verifier::verify`] / [`Verifier::verify_async`]: parse, header checks, key by `kid`, signature, claims).
//!
//! The driver is `bench.mjs`: it mints keys and tokens in JavaScript, calls [`setup`] and [`add_token`], then times
//! these exports next to plain JavaScript WebCrypto in the same process.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::rc::Rc;

use pocketgate::alg::Algorithm;
use pocketgate::crypto::{AsyncSignatureVerifier, RustCrypto, WebCrypto};
use pocketgate::jwk::{Jwk, KeySet};
use pocketgate::policy::{Allow, GroupRule};
use pocketgate::token::Limits;
use pocketgate::verify::{IssuerConfig, Verifier};
use wasm_bindgen::prelude::*;

struct State {
    verifier: Verifier,
    keys: KeySet,
    web: WebCrypto,
    tokens: RefCell<Vec<String>>,
    /// Per token: what the signature step receives (key, alg, signing input, signature).
    parts: RefCell<Vec<Rc<Parts>>>,
    now: u64,
}

struct Parts {
    key: Jwk,
    alg: Algorithm,
    input: Vec<u8>,
    signature: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
}

fn state() -> Result<Rc<State>, JsError> {
    STATE.with(|s| s.borrow().clone()).ok_or_else(|| JsError::new("call setup() first"))
}

fn token(state: &State, i: usize) -> Result<String, JsError> {
    state.tokens.borrow().get(i).cloned().ok_or_else(|| JsError::new("no token with this index"))
}

/// Configure one trusted issuer with one audience, its JWKS document, and the verification time (seconds).
/// Replaces any previous state (tokens and the WebCrypto key cache included).
#[wasm_bindgen]
pub fn setup(issuer: &str, audience: &str, jwks: &str, now: f64) -> Result<(), JsError> {
    let rule = GroupRule { allow: Allow::AnyUser, deny: vec![] };
    let cfg = IssuerConfig::new(issuer, vec![audience.to_owned()], rule);
    let verifier = Verifier::new(vec![cfg], Limits::default()).map_err(|e| JsError::new(&e.to_string()))?;
    let keys = KeySet::from_json(jwks.as_bytes()).map_err(|e| JsError::new(&e.to_string()))?;
    if !keys.rejected().is_empty() {
        return Err(JsError::new(&format!("JWKS member rejected: {}", keys.rejected()[0])));
    }
    let state = State {
        verifier,
        keys,
        web: WebCrypto::new(),
        tokens: RefCell::new(Vec::new()),
        parts: RefCell::new(Vec::new()),
        now: now as u64,
    };
    STATE.with(|s| *s.borrow_mut() = Some(Rc::new(state)));
    Ok(())
}

/// Remember a token (it must verify); returns its index for the other calls.
#[wasm_bindgen]
pub fn add_token(token: String) -> Result<usize, JsError> {
    let state = state()?;
    let prepared = state.verifier.prepare(&token).map_err(|e| JsError::new(e.code()))?;
    let key = prepared.select_key(&state.keys).map_err(|e| JsError::new(e.code()))?;
    let parts = Parts {
        key: key.clone(),
        alg: prepared.alg(),
        input: prepared.signing_input().to_vec(),
        signature: prepared.signature().to_vec(),
    };
    state.parts.borrow_mut().push(Rc::new(parts));
    let mut tokens = state.tokens.borrow_mut();
    tokens.push(token);
    Ok(tokens.len() - 1)
}

/// Verify token `i` `n` times with RustCrypto (in wasm). Returns `n`; throws on the first failure.
#[wasm_bindgen]
pub fn rust_verify(i: usize, n: u32) -> Result<u32, JsError> {
    let state = state()?;
    let token = token(&state, i)?;
    for _ in 0..n {
        state
            .verifier
            .verify(&token, |_| Some(&state.keys), &RustCrypto, state.now)
            .map_err(|e| JsError::new(e.code()))?;
    }
    Ok(n)
}

/// Verify token `i` `n` times through everything except the signature (parse, header, key selection, claims):
/// PocketGate's own cost around the primitive.
#[wasm_bindgen]
pub fn rust_overhead(i: usize, n: u32) -> Result<u32, JsError> {
    let state = state()?;
    let token = token(&state, i)?;
    for _ in 0..n {
        let prepared = state.verifier.prepare(&token).map_err(|e| JsError::new(e.code()))?;
        let key = prepared.select_key(&state.keys).map_err(|e| JsError::new(e.code()))?;
        prepared.finish(&state.verifier, key, state.now).map_err(|e| JsError::new(e.code()))?;
    }
    Ok(n)
}

/// Verify token `i` once with WebCrypto (one promise per verification, as a Worker request would).
#[wasm_bindgen]
pub async fn web_verify(i: usize) -> Result<u32, JsError> {
    let state = state()?;
    let token = token(&state, i)?;
    state
        .verifier
        .verify_async(&token, |_| Some(&state.keys), &state.web, state.now)
        .await
        .map_err(|e| JsError::new(e.code()))?;
    Ok(1)
}

/// Verify token `i` `n` times with WebCrypto, one after the other, looping in Rust.
#[wasm_bindgen]
pub async fn web_verify_loop(i: usize, n: u32) -> Result<u32, JsError> {
    let state = state()?;
    let token = token(&state, i)?;
    for _ in 0..n {
        state
            .verifier
            .verify_async(&token, |_| Some(&state.keys), &state.web, state.now)
            .await
            .map_err(|e| JsError::new(e.code()))?;
    }
    Ok(n)
}

/// The WebCrypto backend alone, once: `verify_async` on the already decoded key, signing input and signature
/// (no parsing, no claims). Isolates the Rust-to-WebCrypto glue from the core's own work.
#[wasm_bindgen]
pub async fn web_signature_only(i: usize) -> Result<u32, JsError> {
    let state = state()?;
    let p = state.parts.borrow().get(i).cloned().ok_or_else(|| JsError::new("no token with this index"))?;
    state.web.verify_async(&p.key, p.alg, &p.input, &p.signature).await.map_err(|e| JsError::new(e.code()))?;
    Ok(1)
}
