//! JWK / JWKS parsing into verifying keys; `kty`/`alg`/`use` fit; weak-key rejection.
//!
//! A key set is parsed member by member: one malformed or weak key is recorded in [`KeySet::rejected`] and
//! never poisons the others.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::alg::{Algorithm, Curve, KeyKind};
use crate::error::{Error, Part, clip};
use crate::token::b64_decode;

/// Largest JWKS document accepted, in bytes: 256 KiB (PocketID's is under 1 KiB).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Most keys read from one JWKS: 100. Further members are ignored (one rejected entry says so).
pub const MAX_KEYS: usize = 100;
/// Smallest RSA modulus accepted, in bits: 2048.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits: 8192.
pub const MAX_RSA_BITS: usize = 8192;
/// Largest RSA public exponent accepted: 2^33 - 1 (the bound `ring` and `rsa` share; larger ones are a DoS vector).
pub const MAX_RSA_EXPONENT: u64 = (1 << 33) - 1;

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
    /// Parse one JWK object. Private members (`d`, `p`, `q`, …) are ignored, never used.
    ///
    /// Errors are [`Error::KeyInvalid`] naming the key's `kid` and the reason (malformed, unsupported, weak):
    /// symmetric (`oct`) keys, unknown `kty` or `crv`, members that are missing, not strict base64url or of the
    /// wrong length, RSA moduli outside 2048–8192 bits, even or non-minimally encoded, exponents that are even,
    /// below 3, above 2^33 − 1 or non-minimal, moduli with the ROCA fingerprint, and EC / Ed25519 points that
    /// are not on the curve (checked when the `rustcrypto` feature is on).
    pub fn from_value(value: &Value) -> Result<Jwk, Error> {
        let Value::Object(map) = value else {
            return Err(invalid(None, "not a JSON object"));
        };
        let kid = match map.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(invalid(None, "kid is not a string")),
        };
        let bad = |reason: &str| invalid(kid.as_deref(), reason);
        let alg = opt_str(map, "alg").map_err(|_| bad("alg is not a string"))?;
        let key_use = match opt_str(map, "use").map_err(|_| bad("use is not a string"))? {
            None => None,
            Some(u) if u == "sig" => Some(KeyUse::Signature),
            Some(u) => Some(KeyUse::Other(u)),
        };
        let ops_forbid_verify = match map.get("key_ops") {
            None => false,
            Some(Value::Array(ops)) => {
                if ops.iter().any(|o| !o.is_string()) {
                    return Err(bad("key_ops contains a non-string"));
                }
                !ops.iter().any(|o| o.as_str() == Some("verify"))
            }
            Some(_) => return Err(bad("key_ops is not an array")),
        };
        let kty = match map.get("kty") {
            None => return Err(bad("kty is missing")),
            Some(Value::String(k)) => k.as_str(),
            Some(_) => return Err(bad("kty is not a string")),
        };
        let material = match kty {
            "RSA" => rsa_material(map).map_err(|r| bad(&r))?,
            "EC" => ec_material(map).map_err(|r| bad(&r))?,
            "OKP" => okp_material(map).map_err(|r| bad(&r))?,
            "oct" => return Err(bad("symmetric keys are never accepted")),
            other => return Err(bad(&format!("unsupported kty {:?}", clip(other, 16)))),
        };
        let thumbprint = thumbprint(&material);
        Ok(Jwk { kid, alg, key_use, ops_forbid_verify, material, thumbprint })
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
    /// Each failure is an [`Error::KeyMismatch`] saying which.
    pub fn fits(&self, alg: Algorithm) -> Result<(), Error> {
        self.require_kind(alg)?;
        if self.alg.as_deref().is_some_and(|a| a != alg.name()) {
            return Err(Error::KeyMismatch { reason: "the key's alg differs from the token's" });
        }
        if matches!(self.key_use, Some(KeyUse::Other(_))) {
            return Err(Error::KeyMismatch { reason: "the key's use is not sig" });
        }
        if self.ops_forbid_verify {
            return Err(Error::KeyMismatch { reason: "the key's key_ops do not include verify" });
        }
        Ok(())
    }

    /// For backends: [`Error::KeyMismatch`] unless the key material is of the kind `alg` needs.
    pub(crate) fn require_kind(&self, alg: Algorithm) -> Result<(), Error> {
        if self.kind() == alg.key_kind() {
            Ok(())
        } else {
            Err(Error::KeyMismatch { reason: "key type or curve does not fit the algorithm" })
        }
    }

    /// For backends: the [`Error::KeyInvalid`] for this key.
    #[cfg_attr(all(target_arch = "wasm32", not(feature = "rustcrypto")), allow(dead_code))]
    pub(crate) fn unusable(&self, reason: &str) -> Error {
        invalid(self.kid.as_deref(), reason)
    }
}

fn invalid(kid: Option<&str>, reason: &str) -> Error {
    Error::KeyInvalid { kid: kid.map(|k| clip(k, 64)), reason: reason.to_owned() }
}

fn opt_str(map: &Map<String, Value>, name: &str) -> Result<Option<String>, ()> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

/// A required base64url member, decoded strictly.
fn member(map: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    match map.get(name) {
        None => Err(format!("{name} is missing")),
        Some(Value::String(s)) => b64_decode(s, Part::Header).map_err(|_| format!("{name} is not strict base64url")),
        Some(_) => Err(format!("{name} is not a string")),
    }
}

fn rsa_material(map: &Map<String, Value>) -> Result<KeyMaterial, String> {
    let n = member(map, "n")?;
    let e = member(map, "e")?;
    if n.first().is_none_or(|b| *b == 0) {
        return Err("RSA modulus is empty or has a leading zero byte (non-minimal encoding)".into());
    }
    let bits = rsa_bits(&n);
    if bits < MIN_RSA_BITS {
        return Err(format!("RSA modulus is {bits} bits, fewer than {MIN_RSA_BITS}"));
    }
    if bits > MAX_RSA_BITS {
        return Err(format!("RSA modulus is {bits} bits, more than {MAX_RSA_BITS}"));
    }
    if n.last().is_some_and(|b| b & 1 == 0) {
        return Err("RSA modulus is even".into());
    }
    if e.first().is_none_or(|b| *b == 0) {
        return Err("RSA exponent is empty or has a leading zero byte (non-minimal encoding)".into());
    }
    if e.len() > 8 {
        return Err("RSA exponent is longer than 8 bytes".into());
    }
    let e_value = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if e_value < 3 {
        return Err(format!("RSA exponent {e_value} is below 3"));
    }
    if e_value & 1 == 0 {
        return Err("RSA exponent is even".into());
    }
    if e_value > MAX_RSA_EXPONENT {
        return Err("RSA exponent is larger than 2^33 - 1".into());
    }
    if has_roca_fingerprint(&n) {
        return Err("RSA modulus has the ROCA fingerprint (CVE-2017-15361)".into());
    }
    Ok(KeyMaterial::Rsa { n, e })
}

/// The ROCA test (Nemec et al., CCS 2017): a modulus made by the vulnerable Infineon library is, modulo each
/// of these small primes, a power of 65537. A random modulus passes all 38 tests with negligible probability.
fn has_roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107,
        109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n.iter().fold(0u32, |r, b| (r * 256 + u32::from(*b)) % p);
        // Walk the subgroup generated by 65537 mod p (at most p - 1 steps).
        let g = 65537 % p;
        let mut x = 1u32;
        for _ in 0..p {
            if x == residue {
                return true;
            }
            x = x * g % p;
            if x == 1 {
                break;
            }
        }
        false
    })
}

fn ec_material(map: &Map<String, Value>) -> Result<KeyMaterial, String> {
    let curve = match map.get("crv") {
        None => return Err("crv is missing".into()),
        Some(Value::String(c)) => {
            Curve::from_name(c).ok_or_else(|| format!("unsupported EC curve {:?}", clip(c, 16)))?
        }
        Some(_) => return Err("crv is not a string".into()),
    };
    let x = member(map, "x")?;
    let y = member(map, "y")?;
    let len = curve.coordinate_len();
    if x.len() != len || y.len() != len {
        return Err(format!("{} coordinates must be exactly {len} bytes each", curve.name()));
    }
    if !ec_point_valid(curve, &x, &y) {
        return Err(format!("the point is not on {}", curve.name()));
    }
    Ok(KeyMaterial::Ec { curve, x, y })
}

fn okp_material(map: &Map<String, Value>) -> Result<KeyMaterial, String> {
    match map.get("crv") {
        None => return Err("crv is missing".into()),
        Some(Value::String(c)) if c == "Ed25519" => {}
        Some(Value::String(c)) => return Err(format!("unsupported OKP curve {:?}", clip(c, 16))),
        Some(_) => return Err("crv is not a string".into()),
    }
    let x: [u8; 32] = member(map, "x")?.try_into().map_err(|_| "Ed25519 x must be exactly 32 bytes".to_owned())?;
    if !ed25519_point_valid(&x) {
        return Err("the Ed25519 public key is not a valid curve point".into());
    }
    Ok(KeyMaterial::Ed25519 { x })
}

/// Whether `(x, y)` is a point on `curve` (and not the identity). Without a pure-Rust backend the check is left
/// to the backend that imports the key.
#[cfg(feature = "rustcrypto")]
pub(crate) fn ec_point_valid(curve: Curve, x: &[u8], y: &[u8]) -> bool {
    let sec1 = [&[0x04u8][..], x, y].concat();
    match curve {
        Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).is_ok(),
        Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).is_ok(),
        Curve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).is_ok(),
    }
}

#[cfg(not(feature = "rustcrypto"))]
pub(crate) fn ec_point_valid(_curve: Curve, _x: &[u8], _y: &[u8]) -> bool {
    true
}

/// Whether `x` decodes to an Edwards point (see [`ec_point_valid`]).
#[cfg(feature = "rustcrypto")]
pub(crate) fn ed25519_point_valid(x: &[u8; 32]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(x).is_ok()
}

#[cfg(not(feature = "rustcrypto"))]
pub(crate) fn ed25519_point_valid(_x: &[u8; 32]) -> bool {
    true
}

/// RFC 7638 thumbprint: SHA-256 of the required members, lexicographically ordered, no whitespace.
fn thumbprint(material: &KeyMaterial) -> [u8; 32] {
    let b = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let canonical = match material {
        KeyMaterial::Rsa { n, e } => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b(e), b(n)),
        KeyMaterial::Ec { curve, x, y } => {
            format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, curve.name(), b(x), b(y))
        }
        KeyMaterial::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b(x)),
    };
    crate::crypto::sha256(canonical.as_bytes())
}

/// A parsed JWKS: the usable keys, and the members that were rejected with why.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
    rejected: Vec<Error>,
}

impl KeySet {
    /// Parse a JWKS document (`{"keys":[…]}`). Fails only when the document as a whole is unusable
    /// ([`Error::JwksInvalid`]: larger than [`MAX_JWKS_BYTES`], not JSON, a repeated member name, not an object,
    /// no `keys` array); bad members go to [`KeySet::rejected`], as do the first member beyond [`MAX_KEYS`] (the
    /// rest are ignored, so the list holds at most `MAX_KEYS + 1` entries) and later keys repeating a `kid`. A set
    /// with no usable key is not an error here: lookups then fail with [`Error::KeyNotFound`].
    pub fn from_json(bytes: &[u8]) -> Result<KeySet, Error> {
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(jwks_invalid(format!("document is {} bytes, more than {MAX_JWKS_BYTES}", bytes.len())));
        }
        let map = crate::json::parse_object(bytes, Part::Payload).map_err(|e| match e {
            Error::DuplicateJsonKey { .. } => jwks_invalid("a JSON object repeats a member name".into()),
            _ => jwks_invalid("not a JSON object".into()),
        })?;
        let members = match map.get("keys") {
            Some(Value::Array(members)) => members,
            Some(_) => return Err(jwks_invalid("\"keys\" is not an array".into())),
            None => return Err(jwks_invalid("no \"keys\" member".into())),
        };
        let mut keys = Vec::new();
        let mut rejected = Vec::new();
        for (i, value) in members.iter().enumerate() {
            if i >= MAX_KEYS {
                // One entry for all the members past the cap: a set's rejected list stays at most
                // `MAX_KEYS + 1` long whatever the document (thousands of `{}` fit in MAX_JWKS_BYTES).
                let kid = value.get("kid").and_then(Value::as_str);
                rejected.push(invalid(kid, &format!("more than {MAX_KEYS} keys in the set")));
                break;
            }
            match Jwk::from_value(value) {
                Ok(key) => keys.push(key),
                Err(e) => rejected.push(e),
            }
        }
        let mut set = KeySet::from_keys(keys);
        rejected.append(&mut set.rejected);
        set.rejected = rejected;
        Ok(set)
    }

    /// Build a set from already-parsed keys (duplicates by `kid` keep the first, the rest are rejected).
    pub fn from_keys(keys: Vec<Jwk>) -> KeySet {
        let mut set = KeySet::default();
        for key in keys {
            let duplicate = key.kid.is_some() && set.keys.iter().any(|k| k.kid == key.kid);
            if duplicate {
                set.rejected.push(invalid(key.kid.as_deref(), "duplicate kid; the first key with this kid is used"));
            } else {
                set.keys.push(key);
            }
        }
        set
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// Members that could not be used, each a [`Error::KeyInvalid`].
    pub fn rejected(&self) -> &[Error] {
        &self.rejected
    }

    /// A set without a single usable key is an outage ([`Error::KeysUnavailable`], 503), not a bad token (401):
    /// the gate and the page's inspector answer the same for it.
    pub fn require_usable(&self) -> Result<(), Error> {
        if self.keys.is_empty() {
            return Err(Error::KeysUnavailable {
                reason: format!("the key set has no usable key ({} rejected)", self.rejected.len()),
            });
        }
        Ok(())
    }

    /// Select the key for a token: by `kid` when the token has one (exact string comparison; kid is a lookup
    /// key only), else the single key that fits `alg`. Then require [`Jwk::fits`].
    ///
    /// Errors: [`Error::KeyNotFound`] (no key with that `kid`; without a `kid`, none or several keys fit), or
    /// the [`Error::KeyMismatch`] of [`Jwk::fits`].
    pub fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Jwk, Error> {
        self.select_index(kid, alg).map(|i| &self.keys[i])
    }

    /// [`KeySet::select`], as the key's index in [`KeySet::keys`] (for a holder of the set that keeps the key
    /// by position).
    pub fn select_index(&self, kid: Option<&str>, alg: Algorithm) -> Result<usize, Error> {
        match kid {
            Some(kid) => {
                let i = self
                    .keys
                    .iter()
                    .position(|k| k.kid.as_deref() == Some(kid))
                    .ok_or_else(|| Error::KeyNotFound { kid: Some(clip(kid, 64)) })?;
                self.keys[i].fits(alg)?;
                Ok(i)
            }
            None => {
                let mut fitting = self.keys.iter().enumerate().filter(|(_, k)| k.fits(alg).is_ok());
                match (fitting.next(), fitting.next()) {
                    (Some((i, _)), None) => Ok(i),
                    _ => Err(Error::KeyNotFound { kid: None }),
                }
            }
        }
    }

    /// Whether a key with this thumbprint is still in the set (used to drop cached verdicts of removed keys).
    pub fn contains_thumbprint(&self, thumbprint: &[u8; 32]) -> bool {
        self.keys.iter().any(|k| &k.thumbprint == thumbprint)
    }
}

fn jwks_invalid(reason: String) -> Error {
    Error::JwksInvalid { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The public members of a fixture key (private members stripped, as a JWKS would serve it).
    fn public(fixture: &str) -> Value {
        let mut v: Value = serde_json::from_str(fixture).unwrap();
        let map = v.as_object_mut().unwrap();
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            map.remove(private);
        }
        v
    }
    fn rs256() -> Value {
        public(include_str!("../tests/fixtures/rs256.jwk.json"))
    }
    fn es256() -> Value {
        public(include_str!("../tests/fixtures/es256.jwk.json"))
    }
    fn eddsa() -> Value {
        public(include_str!("../tests/fixtures/eddsa.jwk.json"))
    }
    fn with(mut v: Value, name: &str, value: Value) -> Value {
        v.as_object_mut().unwrap().insert(name.into(), value);
        v
    }
    fn without(mut v: Value, name: &str) -> Value {
        v.as_object_mut().unwrap().remove(name);
        v
    }
    fn b64(bytes: &[u8]) -> Value {
        Value::String(URL_SAFE_NO_PAD.encode(bytes))
    }
    fn n_of(v: &Value) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(v["n"].as_str().unwrap()).unwrap()
    }
    fn reason(v: &Value) -> String {
        match Jwk::from_value(v) {
            Err(Error::KeyInvalid { reason, .. }) => reason,
            other => panic!("expected KeyInvalid, got {other:?}"),
        }
    }

    #[test]
    fn parses_each_kind_and_ignores_private_members() {
        let private: Value = serde_json::from_str(include_str!("../tests/fixtures/rs256.jwk.json")).unwrap();
        let key = Jwk::from_value(&private).unwrap();
        assert_eq!(key, Jwk::from_value(&rs256()).unwrap(), "d, p, q… must not change the parsed key");
        assert_eq!(key.kind(), KeyKind::Rsa);
        assert_eq!(key.kid.as_deref(), rs256()["kid"].as_str());
        assert_eq!(key.key_use, Some(KeyUse::Signature));
        assert_eq!(key.alg.as_deref(), Some("RS256"));
        assert_eq!(format!("{:?}", key.material), "Rsa(2048 bits)");
        assert_eq!(Jwk::from_value(&es256()).unwrap().kind(), KeyKind::Ec(Curve::P256));
        let es512 = public(include_str!("../tests/fixtures/es512.jwk.json"));
        assert_eq!(Jwk::from_value(&es512).unwrap().kind(), KeyKind::Ec(Curve::P521));
        assert_eq!(Jwk::from_value(&eddsa()).unwrap().kind(), KeyKind::Ed25519);
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let key = json!({"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29",
            "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        let tp = Jwk::from_value(&key).unwrap().thumbprint;
        assert_eq!(URL_SAFE_NO_PAD.encode(tp), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        // Metadata does not change the thumbprint; the material does.
        let renamed = with(key.clone(), "kid", json!("other"));
        assert_eq!(Jwk::from_value(&renamed).unwrap().thumbprint, tp);
        assert_ne!(Jwk::from_value(&rs256()).unwrap().thumbprint, tp);
    }

    #[test]
    fn rejects_symmetric_and_unknown_kinds() {
        let oct = json!({"kty":"oct","kid":"h","k":"c2VjcmV0"});
        assert_eq!(
            Jwk::from_value(&oct).unwrap_err(),
            Error::KeyInvalid { kid: Some("h".into()), reason: "symmetric keys are never accepted".into() }
        );
        assert_eq!(reason(&with(rs256(), "kty", json!("DSA"))), "unsupported kty \"DSA\"");
        assert_eq!(reason(&without(rs256(), "kty")), "kty is missing");
        assert_eq!(reason(&with(rs256(), "kty", json!(1))), "kty is not a string");
        assert_eq!(reason(&with(es256(), "crv", json!("secp256k1"))), "unsupported EC curve \"secp256k1\"");
        assert_eq!(reason(&without(es256(), "crv")), "crv is missing");
        assert_eq!(reason(&with(eddsa(), "crv", json!("X25519"))), "unsupported OKP curve \"X25519\"");
        assert_eq!(reason(&with(eddsa(), "crv", json!("Ed448"))), "unsupported OKP curve \"Ed448\"");
        assert_eq!(
            Jwk::from_value(&json!([1])).unwrap_err(),
            Error::KeyInvalid { kid: None, reason: "not a JSON object".into() }
        );
    }

    #[test]
    fn metadata_members_must_be_strings() {
        assert_eq!(
            Jwk::from_value(&with(rs256(), "kid", json!(7))).unwrap_err(),
            Error::KeyInvalid { kid: None, reason: "kid is not a string".into() }
        );
        assert_eq!(reason(&with(rs256(), "alg", json!(["RS256"]))), "alg is not a string");
        assert_eq!(reason(&with(rs256(), "use", json!(null))), "use is not a string");
        assert_eq!(reason(&with(rs256(), "key_ops", json!("verify"))), "key_ops is not an array");
        assert_eq!(reason(&with(rs256(), "key_ops", json!([1]))), "key_ops contains a non-string");
    }

    #[test]
    fn members_are_strict_base64url() {
        let n = rs256()["n"].as_str().unwrap().to_owned();
        assert_eq!(reason(&with(rs256(), "n", json!(format!("{n}=")))), "n is not strict base64url");
        assert_eq!(reason(&with(rs256(), "n", json!(format!(" {n}")))), "n is not strict base64url");
        assert_eq!(
            reason(&with(rs256(), "n", json!(n.replace('-', "+").replace('_', "/") + "+"))),
            "n is not strict base64url"
        );
        assert_eq!(reason(&without(rs256(), "e")), "e is missing");
        assert_eq!(reason(&with(rs256(), "e", json!(65537))), "e is not a string");
        // 43 characters carry 258 bits for 256: non-zero trailing bits are not canonical.
        let x = eddsa()["x"].as_str().unwrap().to_owned();
        let last = x.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = alphabet.find(last).unwrap();
        let flipped = alphabet.chars().nth(idx ^ 1).unwrap();
        let bad = format!("{}{flipped}", &x[..x.len() - 1]);
        assert_eq!(reason(&with(eddsa(), "x", json!(bad))), "x is not strict base64url");
    }

    #[test]
    fn weak_or_malformed_rsa_keys_are_rejected() {
        let weak = public(include_str!("../tests/fixtures/rsa1024-weak.jwk.json"));
        assert_eq!(reason(&weak), "RSA modulus is 1024 bits, fewer than 2048");
        let n = n_of(&rs256());
        let mut huge = vec![0x01];
        huge.extend(std::iter::repeat_n(0xffu8, 1025));
        assert_eq!(reason(&with(rs256(), "n", b64(&huge))), "RSA modulus is 8201 bits, more than 8192");
        let padded = [&[0u8][..], &n].concat();
        assert_eq!(
            reason(&with(rs256(), "n", b64(&padded))),
            "RSA modulus is empty or has a leading zero byte (non-minimal encoding)"
        );
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert_eq!(reason(&with(rs256(), "n", b64(&even))), "RSA modulus is even");
        assert_eq!(reason(&with(rs256(), "e", json!("AQ"))), "RSA exponent 1 is below 3");
        assert_eq!(reason(&with(rs256(), "e", b64(&[2]))), "RSA exponent 2 is below 3");
        assert_eq!(reason(&with(rs256(), "e", b64(&[1, 0, 0]))), "RSA exponent is even");
        assert_eq!(reason(&with(rs256(), "e", b64(&[1; 9]))), "RSA exponent is longer than 8 bytes");
        assert_eq!(reason(&with(rs256(), "e", b64(&[2, 0, 0, 0, 1]))), "RSA exponent is larger than 2^33 - 1");
        assert_eq!(
            reason(&with(rs256(), "e", json!("AAEAAQ"))),
            "RSA exponent is empty or has a leading zero byte (non-minimal encoding)"
        );
        assert!(Jwk::from_value(&with(rs256(), "e", b64(&[3]))).is_ok(), "e = 3 is allowed");
    }

    /// Big-endian `a * m` for a small `m`.
    fn mul_small(a: &[u8], m: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(a.len() + 4);
        let mut carry = 0u64;
        for b in a.iter().rev() {
            let v = u64::from(*b) * u64::from(m) + carry;
            out.push((v & 0xff) as u8);
            carry = v >> 8;
        }
        while carry > 0 {
            out.push((carry & 0xff) as u8);
            carry >>= 8;
        }
        out.reverse();
        out
    }

    #[test]
    fn roca_fingerprint_is_detected() {
        // 65537^k is, modulo every prime, a power of 65537: the fingerprint by construction.
        assert!(has_roca_fingerprint(&[1]));
        assert!(has_roca_fingerprint(&[1, 0, 1]));
        let mut n = vec![1u8];
        while rsa_bits(&n) < 2048 {
            n = mul_small(&n, 65537);
        }
        assert_eq!(reason(&with(rs256(), "n", b64(&n))), "RSA modulus has the ROCA fingerprint (CVE-2017-15361)");
        for fixture in [
            include_str!("../tests/fixtures/rs256.jwk.json"),
            include_str!("../tests/fixtures/rs384.jwk.json"),
            include_str!("../tests/fixtures/rs512.jwk.json"),
        ] {
            assert!(!has_roca_fingerprint(&n_of(&public(fixture))));
        }
    }

    #[test]
    fn ec_and_okp_points_are_checked() {
        assert_eq!(reason(&with(es256(), "x", b64(&[7; 31]))), "P-256 coordinates must be exactly 32 bytes each");
        let y = URL_SAFE_NO_PAD.decode(es256()["y"].as_str().unwrap()).unwrap();
        let mut off = y.clone();
        off[31] ^= 1;
        assert_eq!(reason(&with(es256(), "y", b64(&off))), "the point is not on P-256");
        assert_eq!(reason(&without(es256(), "y")), "y is missing");
        assert_eq!(reason(&with(eddsa(), "x", b64(&[9; 31]))), "Ed25519 x must be exactly 32 bytes");
        // y = 2 is not the y of any Edwards25519 point (x² = (y² − 1)/(d·y² + 1) has no root).
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(reason(&with(eddsa(), "x", b64(&not_a_point))), "the Ed25519 public key is not a valid curve point");
    }

    #[test]
    fn fits_requires_kind_alg_use_and_ops() {
        let rsa = Jwk::from_value(&rs256()).unwrap();
        assert_eq!(rsa.fits(Algorithm::RS256), Ok(()));
        let mismatch = |r| Err(Error::KeyMismatch { reason: r });
        assert_eq!(rsa.fits(Algorithm::ES256), mismatch("key type or curve does not fit the algorithm"));
        assert_eq!(rsa.fits(Algorithm::RS384), mismatch("the key's alg differs from the token's"));
        let no_alg = Jwk::from_value(&without(rs256(), "alg")).unwrap();
        assert_eq!(no_alg.fits(Algorithm::RS512), Ok(()));
        let enc = Jwk::from_value(&with(rs256(), "use", json!("enc"))).unwrap();
        assert_eq!(enc.key_use, Some(KeyUse::Other("enc".into())));
        assert_eq!(enc.fits(Algorithm::RS256), mismatch("the key's use is not sig"));
        let ops = Jwk::from_value(&with(rs256(), "key_ops", json!(["encrypt"]))).unwrap();
        assert_eq!(ops.fits(Algorithm::RS256), mismatch("the key's key_ops do not include verify"));
        let ops_ok = Jwk::from_value(&with(rs256(), "key_ops", json!(["sign", "verify"]))).unwrap();
        assert_eq!(ops_ok.fits(Algorithm::RS256), Ok(()));
        let unknown_alg = Jwk::from_value(&with(rs256(), "alg", json!("PS256"))).unwrap();
        assert_eq!(unknown_alg.fits(Algorithm::RS256), mismatch("the key's alg differs from the token's"));
        let p256 = Jwk::from_value(&without(es256(), "alg")).unwrap();
        assert_eq!(p256.fits(Algorithm::ES384), mismatch("key type or curve does not fit the algorithm"));
        assert_eq!(p256.fits(Algorithm::ES256), Ok(()));
        let ed = Jwk::from_value(&eddsa()).unwrap();
        assert_eq!(ed.fits(Algorithm::EdDSA), Ok(()));
        assert_eq!(ed.fits(Algorithm::ES256), mismatch("key type or curve does not fit the algorithm"));
    }

    fn jwks(keys: &[Value]) -> Vec<u8> {
        serde_json::to_vec(&json!({ "keys": keys })).unwrap()
    }

    #[test]
    fn document_level_failures() {
        let invalid = |r: &str| Err::<(), _>(Error::JwksInvalid { reason: r.into() });
        let check = |b: &[u8]| KeySet::from_json(b).map(|_| ());
        assert_eq!(check(b"not json"), invalid("not a JSON object"));
        assert_eq!(check(b"[]"), invalid("not a JSON object"));
        assert_eq!(check(b"{}"), invalid("no \"keys\" member"));
        assert_eq!(check(br#"{"keys":{}}"#), invalid("\"keys\" is not an array"));
        assert_eq!(check(br#"{"keys":[],"keys":[]}"#), invalid("a JSON object repeats a member name"));
        let mut big = jwks(&[rs256()]);
        big.truncate(big.len() - 1);
        big.extend(std::iter::repeat_n(b' ', MAX_JWKS_BYTES));
        big.push(b'}');
        assert_eq!(check(&big), invalid(&format!("document is {} bytes, more than 262144", big.len())));
        let empty = KeySet::from_json(br#"{"keys":[]}"#).unwrap();
        assert!(empty.keys().is_empty() && empty.rejected().is_empty());
        assert_eq!(
            empty.select(Some("x"), Algorithm::RS256).unwrap_err(),
            Error::KeyNotFound { kid: Some("x".into()) }
        );
    }

    #[test]
    fn one_bad_key_does_not_poison_the_set() {
        let weak = public(include_str!("../tests/fixtures/rsa1024-weak.jwk.json"));
        let oct = json!({"kty":"oct","kid":"hmac","k":"c2VjcmV0"});
        let set = KeySet::from_json(&jwks(&[weak, rs256(), oct, json!("junk"), es256()])).unwrap();
        assert_eq!(set.keys().len(), 2);
        assert_eq!(set.rejected().len(), 3);
        assert!(set.rejected().iter().all(|e| e.code() == "key_invalid"));
        let kid = rs256()["kid"].as_str().unwrap().to_owned();
        assert_eq!(set.select(Some(&kid), Algorithm::RS256).unwrap().kid.as_deref(), Some(kid.as_str()));
        assert!(set.contains_thumbprint(&set.keys()[1].thumbprint));
        assert!(!set.contains_thumbprint(&[0; 32]));
    }

    #[test]
    fn duplicate_kids_keep_the_first() {
        let first = rs256();
        let second = with(es256(), "kid", first["kid"].clone());
        let kid = first["kid"].as_str().unwrap().to_owned();
        let set = KeySet::from_json(&jwks(&[first, second])).unwrap();
        assert_eq!(set.keys().len(), 1);
        assert_eq!(set.keys()[0].kind(), KeyKind::Rsa);
        assert_eq!(
            set.rejected(),
            &[Error::KeyInvalid {
                kid: Some(kid.clone()),
                reason: "duplicate kid; the first key with this kid is used".into()
            }]
        );
        // The token naming that kid with ES256 does not get the second key.
        assert_eq!(set.select(Some(&kid), Algorithm::ES256).unwrap_err().code(), "key_mismatch");
        // Keys without kid are never duplicates of each other.
        let set = KeySet::from_keys(vec![
            Jwk::from_value(&without(rs256(), "kid")).unwrap(),
            Jwk::from_value(&without(es256(), "kid")).unwrap(),
        ]);
        assert_eq!(set.keys().len(), 2);
    }

    #[test]
    fn at_most_100_keys_are_read() {
        let keys: Vec<Value> = (0..MAX_KEYS + 2).map(|i| with(eddsa(), "kid", json!(format!("k{i}")))).collect();
        let set = KeySet::from_json(&jwks(&keys)).unwrap();
        assert_eq!(set.keys().len(), MAX_KEYS);
        assert_eq!(
            set.rejected()[0],
            Error::KeyInvalid { kid: Some("k100".into()), reason: "more than 100 keys in the set".into() }
        );
        assert_eq!(set.rejected().len(), 1, "one entry for every member past the cap");
    }

    #[test]
    fn a_document_full_of_junk_members_keeps_a_short_rejected_list() {
        let doc = format!("{{\"keys\":[{}{{}}]}}", "{},".repeat(MAX_JWKS_BYTES / 4));
        assert!(doc.len() <= MAX_JWKS_BYTES);
        let set = KeySet::from_json(doc.as_bytes()).unwrap();
        assert_eq!(set.rejected().len(), MAX_KEYS + 1);
    }

    #[test]
    fn select_by_kid_then_fit() {
        let set = KeySet::from_json(&jwks(&[rs256(), es256(), eddsa()])).unwrap();
        let kid = |v: Value| v["kid"].as_str().unwrap().to_owned();
        assert_eq!(set.select(Some(&kid(es256())), Algorithm::ES256).unwrap().kind(), KeyKind::Ec(Curve::P256));
        assert_eq!(
            set.select(Some(&kid(es256())), Algorithm::RS256).unwrap_err(),
            Error::KeyMismatch { reason: "key type or curve does not fit the algorithm" }
        );
        // Exact comparison: no case folding, no trimming.
        let padded = format!("{} ", kid(eddsa()));
        assert_eq!(set.select(Some(&padded), Algorithm::EdDSA).unwrap_err(), Error::KeyNotFound { kid: Some(padded) });
        assert_eq!(set.select(Some(""), Algorithm::EdDSA).unwrap_err().code(), "key_not_found");
        let long = "k".repeat(100);
        assert_eq!(
            set.select(Some(&long), Algorithm::EdDSA).unwrap_err(),
            Error::KeyNotFound { kid: Some(format!("{}…", "k".repeat(64))) }
        );
        // No kid: the single key that fits.
        assert_eq!(set.select(None, Algorithm::EdDSA).unwrap().kind(), KeyKind::Ed25519);
        assert_eq!(set.select(None, Algorithm::ES384).unwrap_err(), Error::KeyNotFound { kid: None });
        let two = KeySet::from_json(&jwks(&[es256(), with(es256(), "kid", json!("other"))])).unwrap();
        assert_eq!(two.select(None, Algorithm::ES256).unwrap_err(), Error::KeyNotFound { kid: None });
    }
}
