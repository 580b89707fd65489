//! The `ring` backend: native, and in the Traefik plugin (wasm32-wasip1, ring's 32-bit C and Rust paths built with
//! clang), where a new RS256 token costs Traefik 0.7× and an ES256 one 0.56× the CPU RustCrypto's check did
//! (BENCHMARKS.md, "Reading the Traefik figures").

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

use super::SignatureVerifier;
use crate::alg::{Algorithm, Curve};
use crate::error::Error;
use crate::jwk::{Jwk, KeyMaterial};

/// Signature verification with `ring`; ES512 (P-521, which ring lacks) goes to RustCrypto when the
/// `rustcrypto` feature is on, and is [`Error::AlgorithmNotAllowed`] otherwise.
///
/// Same rules as the `RustCrypto` backend: exact signature lengths, [`Error::KeyMismatch`] for a key of the wrong
/// kind, [`Error::KeyInvalid`] for a point not on the curve (ring does not say why a verification failed, so a
/// failure is re-examined with the RustCrypto point check when that feature is on).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ring;

impl SignatureVerifier for Ring {
    fn verify(&self, key: &Jwk, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        key.require_kind(alg)?;
        match &key.material {
            KeyMaterial::Rsa { n, e } => {
                if signature.len() != n.len() {
                    return Err(Error::SignatureInvalid);
                }
                let params = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA512,
                };
                RsaPublicKeyComponents { n, e }.verify(params, message, signature).map_err(|_| Error::SignatureInvalid)
            }
            KeyMaterial::Ec { curve, x, y } => {
                if signature.len() != 2 * curve.coordinate_len() {
                    return Err(Error::SignatureInvalid);
                }
                let params = match curve {
                    Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
                    Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
                    Curve::P521 => return es512(key, *curve, x, y, message, signature),
                };
                let sec1 = [&[0x04u8][..], x, y].concat();
                UnparsedPublicKey::new(params, &sec1).verify(message, signature).map_err(|_| {
                    if crate::jwk::ec_point_valid(*curve, x, y) {
                        Error::SignatureInvalid
                    } else {
                        key.unusable("the point is not on the curve")
                    }
                })
            }
            KeyMaterial::Ed25519 { x } => {
                if signature.len() != 64 {
                    return Err(Error::SignatureInvalid);
                }
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature).map_err(|_| {
                    if crate::jwk::ed25519_point_valid(x) {
                        Error::SignatureInvalid
                    } else {
                        key.unusable("the Ed25519 public key is not a valid curve point")
                    }
                })
            }
        }
    }
}

/// ES512: RustCrypto's P-521 over the message's SHA-512 computed by ring (`verify_prehash` is ECDSA on that
/// digest, the same check as `verify` on the message), so a build with ring links one SHA-512, not two: the Traefik
/// plugin is 11 KB of code smaller.
#[cfg(feature = "rustcrypto")]
fn es512(key: &Jwk, curve: Curve, x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    let digest = ring::digest::digest(&ring::digest::SHA512, message);
    super::rustcrypto::ecdsa_p521_verify_prehash(key, curve, x, y, digest.as_ref(), signature)
}

#[cfg(not(feature = "rustcrypto"))]
fn es512(_key: &Jwk, _curve: Curve, _x: &[u8], _y: &[u8], _message: &[u8], _signature: &[u8]) -> Result<(), Error> {
    Err(Error::AlgorithmNotAllowed { alg: Algorithm::ES512.name().to_owned() })
}
