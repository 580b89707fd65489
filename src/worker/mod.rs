//! The Cloudflare Worker: an adapter that only does I/O over the core's request pipeline ([`crate::request`]).
//!
//! - `entry`: the fetch handler: `/_gate/auth` (forward-auth; the original request from one header family, see
//!   [`crate::http::original_request`]), `/_gate/healthz`, the setup page's assets, else proxy mode.
//! - `pipeline`: the pipeline's I/O: key fetches, waits, WebCrypto (awaited, or parked on its promise).
//! - `state`: the per-isolate [`state::Gate`] (configuration parsed once, the pipeline's caches, WebCrypto).
//! - `keys`: discovery and JWKS fetches (timeout, single flight across requests, bodies streamed with a byte
//!   cap, a background refresh through `ctx.waitUntil` once a set is past its TTL).
//! - `read`: request headers into WebAssembly memory with one `encodeInto`; `head`: what one read of a
//!   forward-auth request's head (method, URL, five headers) splits into.
//! - `respond`: [`crate::answer::Answer`] into a `Response`, the one place responses are built; `templates`:
//!   which slot of its forward-auth 200 templates answers for which identity.
//! - `waiting`: requests whose signature WebCrypto is checking, resumed without a Rust future.
//! - `proxy`: header stripping, the upstream fetch (streams and WebSockets pass through).
//! - `log`: one structured JSON line per request, never a token; [`loglimit`]: at most `LOG_LIMIT` per second.

mod head;
mod loglimit;
mod slab;
mod templates;

#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod entry;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod keys;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod log;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod pipeline;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod proxy;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod read;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod respond;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod state;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod waiting;
