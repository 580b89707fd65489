//! JWKS parser (`KeySet::from_json`) and key selection.
//!
//! Invariants: a document fails only as `jwks_invalid` (503); when it parses, every member of `keys` is either a
//! usable key or a rejection (`key_invalid`), at most `MAX_KEYS` keys load, `kid`s are unique among the loaded
//! keys, no loaded key is symmetric, every loaded key is found again by its `kid` (and then fits its declared
//! algorithm, if it names a supported one), and parsing is deterministic (same keys, same thumbprints).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pocketgate::Error;
use pocketgate::alg::Algorithm;
use pocketgate::jwk::{KeySet, MAX_KEYS};

fuzz_target!(|data: &[u8]| {
    let set = match KeySet::from_json(data) {
        Ok(set) => set,
        Err(e) => {
            assert!(matches!(e, Error::JwksInvalid { .. }), "document errors are jwks_invalid: {e:?}");
            assert_eq!(e.http_status(), 503);
            return;
        }
    };
    let doc: serde_json::Value = serde_json::from_slice(data).expect("a parsed JWKS is JSON");
    let members = doc["keys"].as_array().expect("a parsed JWKS has a keys array").len();
    assert_eq!(set.keys().len() + set.rejected().len(), members, "every member is a key or a rejection");
    assert!(set.keys().len() <= MAX_KEYS);
    assert!(set.rejected().iter().all(|e| matches!(e, Error::KeyInvalid { .. })), "{:?}", set.rejected());
    for (i, key) in set.keys().iter().enumerate() {
        if let Some(kid) = &key.kid {
            assert!(set.keys()[..i].iter().all(|k| k.kid.as_deref() != Some(kid)), "duplicate kid loaded");
        }
        assert!(set.contains_thumbprint(&key.thumbprint));
        let declared = key.alg.as_deref().and_then(Algorithm::from_name);
        for alg in Algorithm::ALL {
            if key.kind() != alg.key_kind() {
                assert!(key.fits(alg).is_err(), "a key fits only algorithms of its kind");
            }
        }
        if let (Some(kid), Some(alg)) = (&key.kid, declared)
            && key.fits(alg).is_ok()
        {
            let found = set.select(Some(kid), alg).expect("a loaded key is found by its kid");
            assert_eq!(found, key);
        }
    }
    let again = KeySet::from_json(data).expect("deterministic");
    assert_eq!(again.keys(), set.keys());
    assert_eq!(again.rejected(), set.rejected());
});
