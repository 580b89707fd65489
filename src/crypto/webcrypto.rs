//! WebCrypto backend (wasm32): `SubtleCrypto.verify` with imported `CryptoKey`s cached per key.

use super::AsyncSignatureVerifier;
use crate::alg::Algorithm;
use crate::error::Error;
use crate::jwk::Jwk;

/// Signature verification through the host's WebCrypto (workerd, browsers, Node).
#[derive(Debug, Default)]
pub struct WebCrypto;

impl AsyncSignatureVerifier for WebCrypto {
    async fn verify_async(&self, _key: &Jwk, _alg: Algorithm, _message: &[u8], _signature: &[u8]) -> Result<(), Error> {
        todo!("webcrypto")
    }
}
