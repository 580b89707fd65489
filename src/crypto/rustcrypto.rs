//! Pure-Rust backend (RustCrypto crates).

use rsa::BoxedUint;
use rsa::pkcs1v15::{Signature as RsaSignature, VerifyingKey as RsaVerifyingKey};
use sha2::{Sha256, Sha384, Sha512};
use signature::Verifier;

use super::SignatureVerifier;
use crate::alg::{Algorithm, Curve};
use crate::error::Error;
use crate::jwk::{Jwk, KeyMaterial};

/// Pure-Rust signature verification: `rsa`, `p256`, `p384`, `p521`, `ed25519-dalek`.
///
/// Signature lengths are exact: RSA the modulus length, ECDSA 2 × the coordinate length (P1363 `r‖s`), Ed25519
/// 64 bytes; anything else is [`Error::SignatureInvalid`]. ECDSA accepts high-S signatures (JWS does not require
/// low-S) and rejects `r` or `s` equal to 0 or ≥ n. Ed25519 uses the cofactorless check with canonical `S`,
/// the same rule as `ring`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

impl SignatureVerifier for RustCrypto {
    fn verify(&self, key: &Jwk, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        key.require_kind(alg)?;
        match (&key.material, alg) {
            (KeyMaterial::Rsa { n, e }, _) => rsa_verify(key, alg, n, e, message, signature),
            (KeyMaterial::Ec { curve, x, y }, _) => ecdsa_verify(key, *curve, x, y, message, signature),
            (KeyMaterial::Ed25519 { x }, Algorithm::EdDSA) => ed25519_verify(key, x, message, signature),
            _ => Err(Error::KeyMismatch { reason: "key type or curve does not fit the algorithm" }),
        }
    }
}

fn rsa_verify(key: &Jwk, alg: Algorithm, n: &[u8], e: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    if signature.len() != n.len() {
        return Err(Error::SignatureInvalid);
    }
    let public = rsa::PublicKey::new(BoxedUint::from_be_slice_vartime(n), BoxedUint::from_be_slice_vartime(e))
        .map_err(|_| key.unusable("the RSA key is rejected by the rsa crate"))?;
    let sig = RsaSignature::try_from(signature).map_err(|_| Error::SignatureInvalid)?;
    let verdict = match alg {
        Algorithm::RS256 => RsaVerifyingKey::<Sha256>::new(public).verify(message, &sig),
        Algorithm::RS384 => RsaVerifyingKey::<Sha384>::new(public).verify(message, &sig),
        Algorithm::RS512 => RsaVerifyingKey::<Sha512>::new(public).verify(message, &sig),
        _ => return Err(Error::KeyMismatch { reason: "key type or curve does not fit the algorithm" }),
    };
    verdict.map_err(|_| Error::SignatureInvalid)
}

/// Verify ECDSA; the curve fixes the hash (ES256 ↔ P-256 with SHA-256, …), the caller has matched it to `alg`.
pub(crate) fn ecdsa_verify(
    key: &Jwk,
    curve: Curve,
    x: &[u8],
    y: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    if signature.len() != 2 * curve.coordinate_len() {
        return Err(Error::SignatureInvalid);
    }
    let sec1 = [&[0x04u8][..], x, y].concat();
    let not_on_curve = || key.unusable("the point is not on the curve");
    let ok = match curve {
        Curve::P256 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| not_on_curve())?;
            p256::ecdsa::Signature::from_slice(signature).is_ok_and(|s| vk.verify(message, &s).is_ok())
        }
        Curve::P384 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| not_on_curve())?;
            p384::ecdsa::Signature::from_slice(signature).is_ok_and(|s| vk.verify(message, &s).is_ok())
        }
        Curve::P521 => {
            let vk = p521::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| not_on_curve())?;
            p521::ecdsa::Signature::from_slice(signature).is_ok_and(|s| vk.verify(message, &s).is_ok())
        }
    };
    if ok { Ok(()) } else { Err(Error::SignatureInvalid) }
}

/// ECDSA P-521 over a SHA-512 `prehash` of the message (the ring backend hashes with ring's SHA-512): the same
/// length and point rules as [`ecdsa_verify`].
#[cfg(any(not(target_arch = "wasm32"), feature = "traefik"))]
pub(crate) fn ecdsa_p521_verify_prehash(
    key: &Jwk,
    curve: Curve,
    x: &[u8],
    y: &[u8],
    prehash: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    use signature::hazmat::PrehashVerifier;
    if curve != Curve::P521 {
        return Err(Error::KeyMismatch { reason: "key type or curve does not fit the algorithm" });
    }
    if signature.len() != 2 * curve.coordinate_len() {
        return Err(Error::SignatureInvalid);
    }
    let sec1 = [&[0x04u8][..], x, y].concat();
    let vk =
        p521::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| key.unusable("the point is not on the curve"))?;
    let ok = p521::ecdsa::Signature::from_slice(signature).is_ok_and(|s| vk.verify_prehash(prehash, &s).is_ok());
    if ok { Ok(()) } else { Err(Error::SignatureInvalid) }
}

fn ed25519_verify(key: &Jwk, x: &[u8; 32], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    let sig: [u8; 64] = signature.try_into().map_err(|_| Error::SignatureInvalid)?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(x)
        .map_err(|_| key.unusable("the Ed25519 public key is not a valid curve point"))?;
    vk.verify(message, &ed25519_dalek::Signature::from_bytes(&sig)).map_err(|_| Error::SignatureInvalid)
}
