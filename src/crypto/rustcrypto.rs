//! Pure-Rust backend (RustCrypto crates).

use super::SignatureVerifier;
use crate::alg::Algorithm;
use crate::error::Error;
use crate::jwk::Jwk;

/// Pure-Rust signature verification: `rsa`, `p256`, `p384`, `p521`, `ed25519-dalek`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

impl SignatureVerifier for RustCrypto {
    fn verify(&self, _key: &Jwk, _alg: Algorithm, _message: &[u8], _signature: &[u8]) -> Result<(), Error> {
        todo!("rustcrypto")
    }
}
