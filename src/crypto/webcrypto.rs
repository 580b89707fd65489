//! WebCrypto backend (wasm32): `SubtleCrypto.verify` with imported `CryptoKey`s cached per key.
//!
//! `crypto.subtle` is read from the global object (`globalThis`), never from `window`, so the same code runs in
//! workerd, Node and browsers (browsers expose it only in secure contexts: https or localhost).
//!
//! Keys are imported once per (RFC 7638 thumbprint, algorithm) and kept in a small cache
//! ([`WebCrypto::CACHE_CAPACITY`] entries, oldest evicted first): RSA as a JWK (`n`, `e`), EC as the raw uncompressed
//! point, Ed25519 as the raw 32-byte key. Signature lengths are checked before WebCrypto is called.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, VecDeque};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use super::AsyncSignatureVerifier;
use crate::alg::{Algorithm, KeyKind};
use crate::error::{Error, clip};
use crate::jwk::{Jwk, KeyMaterial, rsa_bits};

const KEY_CACHE_CAPACITY: usize = 64;

type CacheKey = ([u8; 32], Algorithm);

/// An imported key with the algorithm parameters `verify` needs for it.
struct Imported {
    key: CryptoKey,
    params: Object,
}

/// Insertion-ordered, bounded map of imported keys.
#[derive(Default)]
struct ImportCache {
    map: HashMap<CacheKey, Imported>,
    order: VecDeque<CacheKey>,
}

impl ImportCache {
    fn insert(&mut self, k: CacheKey, v: Imported) {
        if self.map.insert(k, v).is_some() {
            return; // a concurrent import of the same key: keep its place in the order
        }
        self.order.push_back(k);
        while self.order.len() > KEY_CACHE_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

/// Signature verification through the host's WebCrypto (workerd, browsers, Node).
///
/// Holds the `SubtleCrypto` handle (looked up on first use) and the cache of imported keys. Not `Send`: wasm32
/// is single-threaded; keep one per isolate (e.g. in a `thread_local!` or the Worker's state).
#[derive(Default)]
pub struct WebCrypto {
    subtle: OnceCell<SubtleCrypto>,
    keys: RefCell<ImportCache>,
}

impl std::fmt::Debug for WebCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebCrypto").field("cached_keys", &self.cached_keys()).finish()
    }
}

impl WebCrypto {
    /// How many imported keys one [`WebCrypto`] keeps: 64. The oldest import is dropped first. Bounded by count:
    /// an entry is one of the issuers' keys (at most an 8192-bit RSA key, `jwk::MAX_RSA_BITS`) imported with its
    /// algorithm parameters, a few KiB, so the cache stays under 0.5 MiB whatever the traffic.
    pub const CACHE_CAPACITY: usize = KEY_CACHE_CAPACITY;

    /// A backend with an empty key cache. `crypto.subtle` is looked up on first use.
    pub fn new() -> WebCrypto {
        WebCrypto::default()
    }

    /// Number of imported keys currently cached (at most [`WebCrypto::CACHE_CAPACITY`]).
    pub fn cached_keys(&self) -> usize {
        self.keys.try_borrow().map(|c| c.map.len()).unwrap_or(0)
    }

    /// Whether a key with this thumbprint is cached for `alg`.
    pub fn is_cached(&self, thumbprint: &[u8; 32], alg: Algorithm) -> bool {
        self.keys.try_borrow().map(|c| c.map.contains_key(&(*thumbprint, alg))).unwrap_or(false)
    }

    /// Drop every cached key (e.g. after the issuer's key set changed; entries are keyed by thumbprint, so this is
    /// only needed to free memory).
    pub fn clear(&self) {
        if let Ok(mut c) = self.keys.try_borrow_mut() {
            *c = ImportCache::default();
        }
    }

    fn subtle(&self) -> Result<&SubtleCrypto, Error> {
        if let Some(s) = self.subtle.get() {
            return Ok(s);
        }
        let s = find_subtle().ok_or_else(|| Error::Config {
            setting: "backend".into(),
            message: "WebCrypto (globalThis.crypto.subtle) is not available in this runtime; browsers expose it only \
                      in secure contexts (https or localhost). Use the RustCrypto backend instead"
                .into(),
        })?;
        Ok(self.subtle.get_or_init(|| s))
    }

    /// Start `verify` with the cached key, if there is one. The cache borrow ends before any await.
    fn verify_cached(
        &self,
        subtle: &SubtleCrypto,
        cache_key: &CacheKey,
        message: &[u8],
        signature: &[u8],
    ) -> Option<Result<js_sys::Promise, JsValue>> {
        let cache = self.keys.borrow();
        let hit = cache.map.get(cache_key)?;
        Some(subtle.verify_with_object_and_u8_array_and_u8_array(&hit.params, &hit.key, signature, message))
    }

    /// Import `key` for `alg` and cache it.
    async fn import(&self, subtle: &SubtleCrypto, key: &Jwk, alg: Algorithm) -> Result<(CryptoKey, Object), Error> {
        let invalid = || Error::KeyInvalid {
            kid: key.kid.as_deref().map(|k| clip(k, 64)),
            reason: format!("WebCrypto refused to import the key for {}", alg.name()),
        };
        let (format, data, import_params) = import_args(key, alg).map_err(|_| invalid())?;
        let usages = Array::of1(&JsValue::from_str("verify"));
        let promise =
            subtle.import_key_with_object(format, &data, &import_params, false, &usages).map_err(|_| invalid())?;
        let crypto_key: CryptoKey = JsFuture::from(promise).await.map_err(|_| invalid())?.unchecked_into();
        let params = verify_params(alg).map_err(|_| invalid())?;
        let imported = Imported { key: crypto_key.clone(), params: params.clone() };
        self.keys.borrow_mut().insert((key.thumbprint, alg), imported);
        Ok((crypto_key, params))
    }
}

impl WebCrypto {
    /// Start verifying with an already imported key, without waiting: `Ok(Some(promise))` settles with the
    /// verdict (read it with [`WebCrypto::verdict`]); `Ok(None)`: the key is not imported yet (use
    /// [`AsyncSignatureVerifier::verify_async`]); `Err`: refused before WebCrypto (the key does not fit `alg`, or
    /// the signature has the wrong length).
    pub fn start_verify(
        &self,
        key: &Jwk,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Option<js_sys::Promise>, Error> {
        precheck(key, alg, signature)?;
        let subtle = self.subtle()?;
        match self.verify_cached(subtle, &(key.thumbprint, alg), message, signature) {
            Some(started) => started.map(Some).map_err(|_| Error::SignatureInvalid),
            None => Ok(None),
        }
    }

    /// The verdict of a settled `verify` promise: only a fulfilment with `true` is a valid signature.
    pub fn verdict(settled: Result<JsValue, JsValue>) -> Result<(), Error> {
        match settled {
            Ok(v) if v.as_bool() == Some(true) => Ok(()),
            _ => Err(Error::SignatureInvalid),
        }
    }
}

/// The checks before WebCrypto is called: the key fits the algorithm, the signature has the only length it can.
fn precheck(key: &Jwk, alg: Algorithm, signature: &[u8]) -> Result<(), Error> {
    if key.kind() != alg.key_kind() {
        return Err(Error::KeyMismatch { reason: "the key's type or curve does not match the algorithm" });
    }
    if signature.len() != expected_signature_len(&key.material) {
        return Err(Error::SignatureInvalid);
    }
    Ok(())
}

impl AsyncSignatureVerifier for WebCrypto {
    async fn verify_async(&self, key: &Jwk, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        let promise = match self.start_verify(key, alg, message, signature)? {
            Some(promise) => promise,
            None => {
                let subtle = self.subtle()?;
                let (crypto_key, params) = self.import(subtle, key, alg).await?;
                subtle
                    .verify_with_object_and_u8_array_and_u8_array(&params, &crypto_key, signature, message)
                    .map_err(|_| Error::SignatureInvalid)?
            }
        };
        WebCrypto::verdict(JsFuture::from(promise).await)
    }
}

/// `globalThis.crypto.subtle`, if the runtime has one.
fn find_subtle() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
    if !crypto.is_object() {
        return None;
    }
    let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle")).ok()?;
    subtle.is_object().then(|| subtle.unchecked_into())
}

/// The only signature length each key admits: the modulus length for RSA (RFC 8017 §8.2.2), `r‖s` for ECDSA
/// (RFC 7518 §3.4), 64 bytes for Ed25519.
fn expected_signature_len(material: &KeyMaterial) -> usize {
    match material {
        KeyMaterial::Rsa { n, .. } => rsa_bits(n).div_ceil(8),
        KeyMaterial::Ec { curve, .. } => 2 * curve.coordinate_len(),
        KeyMaterial::Ed25519 { .. } => 64,
    }
}

fn hash_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 | Algorithm::ES256 => "SHA-256",
        Algorithm::RS384 | Algorithm::ES384 => "SHA-384",
        Algorithm::RS512 | Algorithm::ES512 | Algorithm::EdDSA => "SHA-512",
    }
}

/// A plain JS object from string members.
fn object(members: &[(&str, &str)]) -> Result<Object, JsValue> {
    let o = Object::new();
    for (k, v) in members {
        Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v))?;
    }
    Ok(o)
}

/// `importKey` format, key data and algorithm for `key` used with `alg` (kinds already checked to match).
fn import_args(key: &Jwk, alg: Algorithm) -> Result<(&'static str, Object, Object), JsValue> {
    match (&key.material, alg.key_kind()) {
        (KeyMaterial::Rsa { n, e }, KeyKind::Rsa) => {
            let b64 = |v: &[u8]| URL_SAFE_NO_PAD.encode(strip_leading_zeros(v));
            let (n, e) = (b64(n), b64(e));
            let jwk = object(&[("kty", "RSA"), ("n", &n), ("e", &e)])?;
            Ok(("jwk", jwk, object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", hash_name(alg))])?))
        }
        (KeyMaterial::Ec { curve, x, y }, KeyKind::Ec(want)) if *curve == want => {
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(0x04);
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            let raw: Object = Uint8Array::from(point.as_slice()).into();
            Ok(("raw", raw, object(&[("name", "ECDSA"), ("namedCurve", curve.name())])?))
        }
        (KeyMaterial::Ed25519 { x }, KeyKind::Ed25519) => {
            let raw: Object = Uint8Array::from(x.as_slice()).into();
            Ok(("raw", raw, object(&[("name", "Ed25519")])?))
        }
        _ => Err(JsValue::NULL),
    }
}

/// The `verify` algorithm parameters for `alg` (RSA keys carry their hash from the import).
fn verify_params(alg: Algorithm) -> Result<Object, JsValue> {
    match alg.key_kind() {
        KeyKind::Rsa => object(&[("name", "RSASSA-PKCS1-v1_5")]),
        KeyKind::Ec(_) => object(&[("name", "ECDSA"), ("hash", hash_name(alg))]),
        KeyKind::Ed25519 => object(&[("name", "Ed25519")]),
    }
}

fn strip_leading_zeros(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len().saturating_sub(1));
    &v[start..]
}
