//! The Traefik plugin (feature `traefik`, target `wasm32-wasip1`): the gate inside Traefik as a WebAssembly
//! middleware on the http-wasm ABI (crate `http-wasm-guest`), built into `plugin.wasm` by `cargo xtask build`.
//!
//! - `options`: Traefik's middleware options → the gate's variables, so a setting means the same as in the
//!   Worker (pure; tested natively).
//! - `keys`: each issuer's key set from `jwks` (inline) or `jwksFile` (a mounted file, read and compared before
//!   every request: the operator's statement of the keys, an empty or deleted file revokes): never the network.
//! - `keyfile`: the open `jwksFile` and which file its path names (the operating-system calls behind `keys`).
//! - `handler` (wasm32 only): the http-wasm I/O around [`crate::request::decide`].
//!
//! The HTTP contract is the Worker's ([`crate::answer`], [`crate::http`]); one refusal is the plugin's own: a
//! request with several `Authorization` headers (`400 authorization_repeated`).

#[cfg(all(target_arch = "wasm32", feature = "traefik"))]
mod handler;
#[cfg(any(not(target_arch = "wasm32"), feature = "traefik"))]
mod keyfile;
#[cfg(any(not(target_arch = "wasm32"), feature = "traefik"))]
pub mod keys;
pub mod options;

#[cfg(all(target_arch = "wasm32", feature = "traefik"))]
pub use handler::start;
