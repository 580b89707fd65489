//! Signature verification behind one small interface, with interchangeable backends.
//!
//! - [`RustCrypto`] (feature `rustcrypto`, default): pure Rust, every target; the wasm fallback.
//! - [`Ring`] (native targets, and wasm32 with the `traefik` feature: the Traefik plugin's backend, ring's
//!   32-bit C and Rust paths built with clang): faster RSA and ECDSA; P-521 is delegated to RustCrypto.
//! - `WebCrypto` (feature `webcrypto`, wasm32): `SubtleCrypto` with imported `CryptoKey`s cached per key.
//!
//! [`Native`] is the backend native callers should use by default.

use crate::alg::Algorithm;
use crate::error::Error;
use crate::jwk::Jwk;

#[cfg(any(not(target_arch = "wasm32"), feature = "traefik"))]
mod ring_backend;
#[cfg(feature = "rustcrypto")]
mod rustcrypto;
#[cfg(all(target_arch = "wasm32", feature = "webcrypto"))]
mod webcrypto;

#[cfg(any(not(target_arch = "wasm32"), feature = "traefik"))]
pub use ring_backend::Ring;
#[cfg(feature = "rustcrypto")]
pub use rustcrypto::RustCrypto;
#[cfg(all(target_arch = "wasm32", feature = "webcrypto"))]
pub use webcrypto::WebCrypto;

/// The default native backend.
#[cfg(not(target_arch = "wasm32"))]
pub type Native = Ring;

/// SHA-256 of `bytes` (key thumbprints): ring's where ring is linked (native, the Traefik plugin), so the plugin
/// carries one SHA-256, not two (the `sha2` crate's is 8 KB of code); the `sha2` crate's elsewhere (the Worker and
/// the page, which have no ring).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    #[cfg(any(not(target_arch = "wasm32"), feature = "traefik"))]
    {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "traefik")))]
    {
        use sha2::{Digest, Sha256};
        Sha256::digest(bytes).into()
    }
}

/// A synchronous signature verifier.
pub trait SignatureVerifier {
    /// Verify `signature` over `message` with `key` under `alg`. The caller has already checked
    /// [`Jwk::fits`]; implementations still refuse a key of the wrong kind.
    ///
    /// Returns [`Error::SignatureInvalid`] for a bad signature (including a wrong length or a malformed encoding)
    /// and [`Error::KeyInvalid`] when the key material itself cannot be used (e.g. a point not on the curve).
    fn verify(&self, key: &Jwk, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), Error>;
}

/// An asynchronous signature verifier (WebCrypto's `verify` returns a promise). Every
/// [`SignatureVerifier`] is one.
#[allow(async_fn_in_trait)]
pub trait AsyncSignatureVerifier {
    /// As [`SignatureVerifier::verify`].
    async fn verify_async(&self, key: &Jwk, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), Error>;
}

impl<T: SignatureVerifier> AsyncSignatureVerifier for T {
    async fn verify_async(&self, key: &Jwk, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.verify(key, alg, message, signature)
    }
}
