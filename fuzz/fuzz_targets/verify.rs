//! The full verifier (`Verifier::verify`) over a fixed key set (one key per algorithm), differentially with the
//! Ring and RustCrypto backends, at the minter's fixed time.
//!
//! Invariants: both backends give the same verdict (same `Verified` or the same error); a verified token
//! re-serialises consistently (its claims are exactly its payload segment, re-encoding the decoded segments gives
//! back the token), was signed with a key of the set (kid and thumbprint), carries the trusted issuer and
//! audience and is not expired; flipping one bit of its signature makes it fail with `signature_invalid`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pocketgate::crypto::{Ring, RustCrypto};
use pocketgate::error::{Error, Part};
use pocketgate::jwk::KeySet;
use pocketgate::token::b64_decode;
use pocketgate::verify::Verifier;
use pocketgate_fuzz::{CLIENT_ID, ISSUER, NOW, b64, key_set, verifier};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static FIXED: OnceLock<(Verifier, KeySet)> = OnceLock::new();
    let (verifier, keys) = FIXED.get_or_init(|| (verifier(), key_set()));
    let Ok(token) = std::str::from_utf8(data) else { return };
    let ring = verifier.verify(token, |_| Some(keys), &Ring, NOW);
    let rust = verifier.verify(token, |_| Some(keys), &RustCrypto, NOW);
    assert_eq!(ring, rust, "Ring and RustCrypto disagree");
    let Ok(verified) = ring else { return };

    let segments: Vec<&str> = token.split('.').collect();
    let payload = b64_decode(segments[1], Part::Payload).expect("payload decodes");
    let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&payload).expect("payload JSON");
    assert_eq!(claims, verified.claims, "claims are exactly the payload");
    let header = b64_decode(segments[0], Part::Header).expect("header decodes");
    let signature = b64_decode(segments[2], Part::Signature).expect("signature decodes");
    assert_eq!(format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature)), token, "re-serialises");

    assert!(keys.contains_thumbprint(&verified.thumbprint), "verified by a key of the set");
    let key = keys.keys().iter().find(|k| k.thumbprint == verified.thumbprint).expect("key");
    assert_eq!(key.kid, verified.kid);
    assert_eq!(verified.claims.get("iss").and_then(|v| v.as_str()), Some(ISSUER));
    let aud = &verified.claims["aud"];
    assert!(aud == CLIENT_ID || aud.as_array().is_some_and(|a| a.iter().any(|v| v == CLIENT_ID)), "audience");
    assert!((NOW as f64) < verified.exp + 60.0, "not expired");

    let mut tampered = signature.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let forged = format!("{}.{}", segments[..2].join("."), b64(&tampered));
    for result in [
        verifier.verify(&forged, |_| Some(keys), &Ring, NOW),
        verifier.verify(&forged, |_| Some(keys), &RustCrypto, NOW),
    ] {
        assert_eq!(result, Err(Error::SignatureInvalid), "a flipped signature bit must not verify");
    }
});
