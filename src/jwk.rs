//! JWK / JWKS parsing into verifying keys; `kty`/`alg`/`use` fit; weak-key rejection.
//!
//! A key set is parsed member by member: one malformed or weak key is recorded in [`KeySet::rejected`] and
//! never poisons the others.

use crate::alg::{Algorithm, Curve, KeyKind};
use crate::error::Error;

/// The public material of one verifying key, decoded from base64url (big-endian, as in the JWK).
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// `kty: RSA`: modulus `n` (no leading zero bytes) and public exponent `e`.
    Rsa {
        /// Modulus, big-endian.
        n: Vec<u8>,
        /// Public exponent, big-endian.
        e: Vec<u8>,
    },
    /// `kty: EC`: the affine point, each coordinate exactly [`Curve::coordinate_len`] bytes.
    Ec {
        /// The curve.
        curve: Curve,
        /// x coordinate.
        x: Vec<u8>,
        /// y coordinate.
        y: Vec<u8>,
    },
    /// `kty: OKP`, `crv: Ed25519`: the 32-byte public key.
    Ed25519 {
        /// The public key.
        x: [u8; 32],
    },
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Public material, but long and useless in logs: show the shape only.
        match self {
            KeyMaterial::Rsa { n, .. } => write!(f, "Rsa({} bits)", rsa_bits(n)),
            KeyMaterial::Ec { curve, .. } => write!(f, "Ec({})", curve.name()),
            KeyMaterial::Ed25519 { .. } => write!(f, "Ed25519"),
        }
    }
}

/// Bit length of a big-endian unsigned integer.
pub fn rsa_bits(n: &[u8]) -> usize {
    match n.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (n.len() - i) * 8 - n[i].leading_zeros() as usize,
    }
}

/// A JWK's declared `use`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// `sig`.
    Signature,
    /// Anything else (`enc`, …): never fits a signature.
    Other(String),
}

/// One verifying key from a JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    /// `kid`, if present.
    pub kid: Option<String>,
    /// `alg` as declared (raw, may name an algorithm PocketGate does not support).
    pub alg: Option<String>,
    /// `use`, if present.
    pub key_use: Option<KeyUse>,
    /// Whether `key_ops` was present without `verify`.
    pub ops_forbid_verify: bool,
    /// The key.
    pub material: KeyMaterial,
    /// RFC 7638 SHA-256 thumbprint: identifies the key material independently of `kid`.
    pub thumbprint: [u8; 32],
}

impl Jwk {
    /// Parse one JWK object. Rejects private keys' extra members? No: private members are ignored, never used.
    ///
    /// Errors are [`Error::KeyInvalid`] naming the key's `kid` and the reason (malformed, unsupported, weak).
    pub fn from_value(_value: &serde_json::Value) -> Result<Jwk, Error> {
        todo!("jwk parse")
    }

    /// The key kind of the material.
    pub fn kind(&self) -> KeyKind {
        match &self.material {
            KeyMaterial::Rsa { .. } => KeyKind::Rsa,
            KeyMaterial::Ec { curve, .. } => KeyKind::Ec(*curve),
            KeyMaterial::Ed25519 { .. } => KeyKind::Ed25519,
        }
    }

    /// Whether this key may verify a token signed with `alg`: kty/crv must match, `alg` (when present) must equal
    /// it, `use` (when present) must be `sig`, and `key_ops` (when present) must include `verify`.
    pub fn fits(&self, _alg: Algorithm) -> Result<(), Error> {
        todo!("jwk fits")
    }
}

/// A parsed JWKS: the usable keys, and the members that were rejected with why.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
    rejected: Vec<Error>,
}

impl KeySet {
    /// Parse a JWKS document (`{"keys":[…]}`). Fails only when the document as a whole is unusable
    /// ([`Error::JwksInvalid`]); bad members go to [`KeySet::rejected`]. A set with no usable key is not an error
    /// here: lookups then fail with [`Error::KeyNotFound`].
    pub fn from_json(_bytes: &[u8]) -> Result<KeySet, Error> {
        todo!("jwks parse")
    }

    /// Build a set from already-parsed keys (duplicates by `kid` keep the first, the rest are rejected).
    pub fn from_keys(_keys: Vec<Jwk>) -> KeySet {
        todo!("from keys")
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// Members that could not be used, each a [`Error::KeyInvalid`].
    pub fn rejected(&self) -> &[Error] {
        &self.rejected
    }

    /// Select the key for a token: by `kid` when the token has one (kid is a lookup key only), else the single key
    /// that fits `alg`. Then require [`Jwk::fits`].
    pub fn select(&self, _kid: Option<&str>, _alg: Algorithm) -> Result<&Jwk, Error> {
        todo!("select")
    }

    /// Whether a key with this thumbprint is still in the set (used to drop cached verdicts of removed keys).
    pub fn contains_thumbprint(&self, thumbprint: &[u8; 32]) -> bool {
        self.keys.iter().any(|k| &k.thumbprint == thumbprint)
    }
}
