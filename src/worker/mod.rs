//! The Cloudflare Worker: a thin adapter over the core.
//!
//! - [`headers`]: pure HTTP helpers (compiled natively for unit tests).
//! - `state`: the per-isolate [`state::Gate`] (configuration parsed once, key caches, token cache, WebCrypto).
//! - `keys`: discovery and JWKS fetches into the key caches (timeout, single flight across requests, bodies
//!   streamed with a byte cap, a background refresh through `ctx.waitUntil` once a set is past its TTL).
//! - `read`: request headers into WebAssembly memory with one `encodeInto`.
//! - `auth`: token → verdict, `/_gate/auth` (forward-auth: the original request from one header family, see
//!   [`headers::original_request`]) and refusal responses.
//! - `waiting`: requests whose signature WebCrypto is checking, resumed without a Rust future.
//! - `proxy`: route rules, header stripping, the upstream fetch (streams and WebSockets pass through).
//! - `log`: one structured JSON line per request, never a token; [`loglimit`]: at most `LOG_LIMIT` per second.

mod headers;
mod loglimit;
mod slab;

#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod auth;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod entry;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod keys;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod log;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod proxy;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod read;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod state;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod waiting;
