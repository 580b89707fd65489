//! # PocketGate
//!
//! Verify PocketID-issued JWTs against the issuer's key set and enforce group policies in front of a QuFabric
//! (NetBird) deployment. This crate is the core: no I/O and no clock (time is a parameter, fetching belongs to
//! adapters). The same code runs natively, in the Cloudflare Worker (feature `worker`), in Traefik as a
//! WebAssembly plugin (feature `traefik`, [`traefik`]) and in the setup page (feature `web`).
//!
//! The path of one request is [`request`], the pipeline every adapter drives: route ([`policy`]) → credential →
//! [`tokencache`] → [`token`] (caps, strict [`base64url`], header read by [`json::scan`]) → [`verify`] (the claims
//! located in one strict pass, [`claims::Claims`]; issuer, header checks) → key by `kid` from the issuer's
//! [`keycache`] ([`jwk::KeySet`]) → [`crypto`] (signature, run by the adapter) → [`claims`] → [`policy`] (groups).
//! [`answer`] and [`http`] say what goes back over HTTP, the same for every adapter; [`config`] reads the settings;
//! [`setup`] generates them; `check` (feature `check`, native only: `pocketgate check`) checks a live deployment
//! from outside.
//!
//! ```
//! use pocketgate::{alg::AlgorithmSet, policy::{Allow, GroupRule}, token::Limits, verify::{IssuerConfig, Verifier}};
//!
//! let users = GroupRule { allow: Allow::Groups(vec!["netbird-users".into()]), deny: vec![] };
//! let issuer = IssuerConfig::new("https://id.example.com", vec!["netbird".into()], users);
//! let verifier = Verifier::new(vec![issuer], Limits::default()).unwrap();
//! // A token whose issuer is not trusted is refused before any key or signature work:
//! let err = verifier.prepare("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwifQ.c2ln").unwrap_err();
//! assert_eq!(err.code(), "issuer_not_trusted");
//! assert_eq!(err.http_status(), 401);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod alg;
pub mod answer;
pub mod base64url;
#[cfg(all(feature = "check", not(target_arch = "wasm32")))]
pub mod check;
pub mod claims;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod json;
pub mod jwk;
pub mod keycache;
pub mod policy;
pub mod request;
pub mod setup;
pub mod token;
pub mod tokencache;
pub mod traefik;
pub mod url;
pub mod verify;
#[cfg(all(target_arch = "wasm32", feature = "web"))]
pub mod web;
#[cfg(any(test, all(target_arch = "wasm32", feature = "worker")))]
mod worker;

pub use error::{Error, Status};
