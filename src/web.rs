//! wasm-bindgen exports for the setup page (`www/`, feature `web`, wasm32 only).
//!
//! Every function takes and returns JSON text, so the page needs no generated TypeScript types. Nothing here
//! does I/O: the page fetches the issuer's discovery document and key set (user-triggered) and passes the bytes
//! in. Tokens and secrets never leave the page.
//!
//! Build (what `cargo xtask build` runs when `www/` exists):
//!
//! ```text
//! cargo build --target wasm32-unknown-unknown --release --no-default-features --features web
//! ~/.cache/pocketgate/tools/bin/wasm-bindgen --target web --out-dir www/pkg \
//!     target/wasm32-unknown-unknown/release/pocketgate.wasm
//! ~/.cache/pocketgate/node/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
//!     www/pkg/pocketgate_bg.wasm -o www/pkg/pocketgate_bg.wasm
//! ```
//!
//! Test: `node --test tests/e2e/setup-page.test.mjs` (Node 22 from `~/.cache/pocketgate/node`, Debian chromium).

use wasm_bindgen::prelude::*;

use crate::crypto::WebCrypto;
use crate::setup::{self, Finding, Level, SetupInput, discovery, inspect, render::json_compact};

fn parse_input(input_json: &str) -> Result<SetupInput, Finding> {
    serde_json::from_str(input_json).map_err(|_| Finding {
        field: "form",
        level: Level::Error,
        code: "form_invalid",
        message: "The form data could not be read.".into(),
    })
}

/// Validate the form (`SetupInput` JSON) → JSON array of findings.
#[wasm_bindgen]
pub fn validate(input_json: &str) -> String {
    match parse_input(input_json) {
        Ok(input) => json_compact(&setup::validate::validate(&input).0),
        Err(f) => json_compact(&[f]),
    }
}

/// Validate and generate → `Output` JSON (`{findings, sections}`; no sections while a finding is an error).
#[wasm_bindgen]
pub fn generate(input_json: &str) -> String {
    match parse_input(input_json) {
        Ok(input) => json_compact(&setup::generate(&input)),
        Err(f) => json_compact(&setup::Output { findings: vec![f], sections: vec![] }),
    }
}

/// Judge a discovery document fetched for `issuer` → `DiscoveryReport` JSON.
#[wasm_bindgen]
pub fn check_discovery(issuer: &str, body: &str) -> String {
    json_compact(&discovery::check_discovery(issuer, body.as_bytes()))
}

/// Judge a fetched key set → JSON array of checks.
#[wasm_bindgen]
pub fn check_jwks(body: &str) -> String {
    json_compact(&discovery::check_jwks(body.as_bytes()))
}

/// The issuer the gate would trust for this form (`null` while the form is invalid) → JSON string or null.
#[wasm_bindgen]
pub fn gate_issuer(input_json: &str) -> String {
    let issuer = parse_input(input_json)
        .ok()
        .and_then(|input| setup::validate::validate(&input).1)
        .map(|plan| setup::gate::issuer(&plan));
    json_compact(&issuer)
}

/// Decode a token for display (no verification) → `Decoded` JSON. `now` is Unix seconds.
#[wasm_bindgen]
pub fn decode_token(token: &str, now: f64) -> String {
    json_compact(&inspect::decode(token, now as u64))
}

/// Decode a token and give the gate's verdict under the form's configuration, verifying the signature with
/// WebCrypto against `jwks` (the key set fetched for `keys_issuer`; empty = not loaded) → `Inspection` JSON.
#[wasm_bindgen]
pub async fn inspect_token(token: String, input_json: String, keys_issuer: String, jwks: String, now: f64) -> String {
    let now = now as u64;
    let plan = match parse_input(&input_json) {
        Ok(input) => setup::validate::validate(&input).1,
        Err(_) => None,
    };
    let Some(plan) = plan else {
        let verdict = inspect::Verdict {
            allowed: false,
            status: 503,
            code: "config_invalid".into(),
            message: "The form has errors, so there is no gate configuration to judge with.".into(),
            hint: Some("Fix the messages in the form first.".into()),
        };
        return json_compact(&inspect::Inspection { decoded: inspect::decode(&token, now), verdict });
    };
    let keys = (!jwks.is_empty()).then_some((keys_issuer.as_str(), jwks.as_bytes()));
    let backend = WebCrypto::new();
    json_compact(&inspect::inspect(&token, &plan, keys, &backend, now).await)
}
