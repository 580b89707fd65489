//! Native fast backend (`ring`).

use super::SignatureVerifier;
use crate::alg::Algorithm;
use crate::error::Error;
use crate::jwk::Jwk;

/// Native signature verification with `ring`; ES512 (P-521, which ring lacks) goes to RustCrypto.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ring;

impl SignatureVerifier for Ring {
    fn verify(&self, _key: &Jwk, _alg: Algorithm, _message: &[u8], _signature: &[u8]) -> Result<(), Error> {
        todo!("ring")
    }
}
