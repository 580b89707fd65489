//! Key sets through the public API: PocketID-shaped JWKS, one bad key not poisoning the others, weak keys,
//! and the kty/alg/use/key_ops fit rules — with tokens from the independent minter in `tests/support`.
#![cfg(not(target_arch = "wasm32"))] // native backends (ring) and file access; wasm has its own suites

mod support;

use pocketgate::alg::{Algorithm, Curve, KeyKind};
use pocketgate::crypto::{Ring, RustCrypto, SignatureVerifier};
use pocketgate::error::Error;
use pocketgate::jwk::{Jwk, KeySet};
use pocketgate::token::{self, Limits};
use serde_json::{Value, json};
use support::{Issuer, jwks_json_of};

/// Parse `token`, select its key from `set` and verify it with both native backends (which must agree).
fn verify(set: &KeySet, token: &str) -> Result<(), Error> {
    let jws = token::parse(token, &Limits::default())?;
    let alg = jws.header.check(pocketgate::alg::AlgorithmSet::all())?;
    let key = set.select(jws.header.kid.as_deref(), alg)?;
    let rc = RustCrypto.verify(key, alg, jws.signing_input, &jws.signature);
    let ring = Ring.verify(key, alg, jws.signing_input, &jws.signature);
    assert_eq!(rc, ring, "backends disagree");
    rc
}

fn with(mut v: Value, name: &str, value: Value) -> Value {
    v.as_object_mut().unwrap().insert(name.into(), value);
    v
}

#[test]
fn pocketid_jwks_for_every_algorithm_parses_and_verifies() {
    for issuer in Issuer::all() {
        let jwks = issuer.jwks_json();
        assert!(jwks.starts_with(r#"{"keys":[{"alg":""#), "{jwks}");
        let set = KeySet::from_json(jwks.as_bytes()).unwrap();
        assert!(set.rejected().is_empty(), "{:?}", set.rejected());
        assert_eq!(set.keys().len(), 1);
        let key = &set.keys()[0];
        assert_eq!(key.kid.as_deref(), Some(issuer.kid.as_str()));
        assert_eq!(key.kid.as_ref().unwrap().len(), 11, "PocketID kids are 11 characters");
        assert_eq!(key.kind(), issuer.alg.key_kind());
        assert_eq!(verify(&set, &issuer.id_token(json!({}))), Ok(()), "{}", issuer.alg);
    }
}

#[test]
fn pocketid_jwks_has_exactly_pocketids_members() {
    let rsa: Value = serde_json::from_str(&Issuer::rs256().jwks_json()).unwrap();
    let names: Vec<&str> = rsa["keys"][0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
    let ec: Value = serde_json::from_str(&Issuer::es384().jwks_json()).unwrap();
    let names: Vec<&str> = ec["keys"][0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert_eq!(ec["keys"][0]["crv"], "P-384");
}

#[test]
fn one_bad_key_does_not_poison_the_others() {
    let good = Issuer::es256();
    let keys = vec![
        Issuer::rsa1024_weak().public_jwk(),
        json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0LWtleQ"}),
        with(Issuer::rs256().public_jwk(), "e", json!("AQ")),
        json!({"kty": "EC", "kid": "short", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
        json!(42),
        good.public_jwk(),
    ];
    let set = KeySet::from_json(jwks_json_of(&keys).as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 1);
    assert_eq!(set.rejected().len(), 5);
    assert!(set.rejected().iter().all(|e| e.code() == "key_invalid" && e.http_status() == 503));
    assert_eq!(verify(&set, &good.id_token(json!({}))), Ok(()));
    // The weak key's own tokens find no key: it was never loaded.
    let weak = Issuer::rsa1024_weak();
    assert_eq!(verify(&set, &weak.id_token(json!({}))), Err(Error::KeyNotFound { kid: Some(weak.kid.clone()) }));
}

#[test]
fn weak_keys_are_rejected_with_precise_reasons() {
    let weak = Issuer::rsa1024_weak();
    assert_eq!(
        Jwk::from_value(&weak.public_jwk()).unwrap_err(),
        Error::KeyInvalid { kid: Some(weak.kid.clone()), reason: "RSA modulus is 1024 bits, fewer than 2048".into() }
    );
    let rs = Issuer::rs256();
    let e1 = Jwk::from_value(&with(rs.public_jwk(), "e", json!("AQ"))).unwrap_err();
    assert_eq!(e1, Error::KeyInvalid { kid: Some(rs.kid.clone()), reason: "RSA exponent 1 is below 3".into() });
    let oct = Jwk::from_value(&json!({"kty": "oct", "k": "c2VjcmV0"})).unwrap_err();
    assert_eq!(oct, Error::KeyInvalid { kid: None, reason: "symmetric keys are never accepted".into() });
}

#[test]
fn key_must_fit_the_token_algorithm() {
    let rs = Issuer::rs256();
    let mismatch = |reason| Err(Error::KeyMismatch { reason });
    // alg present and different: an RS256 key is not used for RS384, even with the same RSA material.
    let set = KeySet::from_json(rs.jwks_json().as_bytes()).unwrap();
    let rs384_same_key = rs.clone();
    let token = rs384_same_key.sign_raw(
        &format!(r#"{{"alg":"RS384","kid":"{}","typ":"JWT"}}"#, rs.kid),
        &support::id_token_claims(support::NOW, support::SUB, &["netbird-users"]).to_string(),
    );
    assert_eq!(verify(&set, &token), mismatch("the key's alg differs from the token's"));
    // kty mismatch: an ES256 token naming the RSA key's kid.
    let es = Issuer::es256().with_kid(&rs.kid);
    assert_eq!(verify(&set, &es.id_token(json!({}))), mismatch("key type or curve does not fit the algorithm"));
    // use: enc.
    let enc = KeySet::from_json(jwks_json_of(&[with(rs.public_jwk(), "use", json!("enc"))]).as_bytes()).unwrap();
    assert_eq!(verify(&enc, &rs.id_token(json!({}))), mismatch("the key's use is not sig"));
    // key_ops without verify; with verify it is fine.
    let ops = KeySet::from_json(jwks_json_of(&[with(rs.public_jwk(), "key_ops", json!(["encrypt"]))]).as_bytes());
    assert_eq!(verify(&ops.unwrap(), &rs.id_token(json!({}))), mismatch("the key's key_ops do not include verify"));
    let ops = KeySet::from_json(jwks_json_of(&[with(rs.public_jwk(), "key_ops", json!(["verify"]))]).as_bytes());
    assert_eq!(verify(&ops.unwrap(), &rs.id_token(json!({}))), Ok(()));
    // A P-256 key does not fit ES384 even without alg.
    let p256 = Issuer::es256();
    let bare = with(p256.bare_public_jwk(), "kid", json!(p256.kid));
    let set = KeySet::from_json(jwks_json_of(&[bare]).as_bytes()).unwrap();
    assert_eq!(set.keys()[0].kind(), KeyKind::Ec(Curve::P256));
    assert_eq!(set.select(Some(&p256.kid), Algorithm::ES384).unwrap_err().code(), "key_mismatch");
    assert_eq!(verify(&set, &p256.id_token(json!({}))), Ok(()));
}

#[test]
fn key_rotation_old_tokens_stop_verifying() {
    // PocketID rotates by replacing its only key: the new set no longer holds the old kid.
    let old = Issuer::rs256();
    let new = Issuer::es256();
    let token = old.id_token(json!({}));
    let before = KeySet::from_json(old.jwks_json().as_bytes()).unwrap();
    assert_eq!(verify(&before, &token), Ok(()));
    let after = KeySet::from_json(new.jwks_json().as_bytes()).unwrap();
    assert_eq!(verify(&after, &token), Err(Error::KeyNotFound { kid: Some(old.kid.clone()) }));
    assert!(!after.contains_thumbprint(&before.keys()[0].thumbprint));
}

#[test]
fn kid_is_only_a_lookup_key() {
    let a = Issuer::es256();
    let b = Issuer::eddsa();
    let set = KeySet::from_json(jwks_json_of(&[a.public_jwk(), b.public_jwk()]).as_bytes()).unwrap();
    // A token signed by b's key but naming a's kid is checked against a's key only.
    let forged = b.clone().with_kid(&a.kid);
    assert_eq!(verify(&set, &forged.id_token(json!({}))).unwrap_err().code(), "key_mismatch");
    // A kid that is not in the set is never "close enough" (no trimming, no case folding).
    let padded = a.clone().with_kid(&format!("{} ", a.kid));
    assert_eq!(verify(&set, &padded.id_token(json!({}))), Err(Error::KeyNotFound { kid: Some(padded.kid.clone()) }));
    // Right kid, right algorithm, signature over other bytes: the signature fails.
    let tampered = a.clone().id_token(json!({}));
    let (head, _) = tampered.rsplit_once('.').unwrap();
    let sig = support::b64(Issuer::es256().sign_bytes(b"something else"));
    assert_eq!(verify(&set, &format!("{head}.{sig}")), Err(Error::SignatureInvalid));
}

// ------------------------------------------------------------------------------------------ backend contract

/// Both native backends on one key; they must agree.
fn both(key: &Jwk, alg: Algorithm, msg: &[u8], sig: &[u8]) -> Result<(), Error> {
    let rc = RustCrypto.verify(key, alg, msg, sig);
    assert_eq!(rc, Ring.verify(key, alg, msg, sig), "backends disagree for {alg}");
    rc
}

fn key_of(issuer: &Issuer) -> Jwk {
    Jwk::from_value(&issuer.public_jwk()).unwrap()
}

#[test]
fn backends_require_exact_signature_lengths() {
    for issuer in Issuer::all() {
        let key = key_of(&issuer);
        let sig = issuer.sign_bytes(b"message");
        assert_eq!(both(&key, issuer.alg, b"message", &sig), Ok(()), "{}", issuer.alg);
        assert_eq!(both(&key, issuer.alg, b"messagE", &sig), Err(Error::SignatureInvalid));
        let longer = [&[0u8][..], &sig].concat();
        assert_eq!(both(&key, issuer.alg, b"message", &longer), Err(Error::SignatureInvalid), "{}", issuer.alg);
        assert_eq!(both(&key, issuer.alg, b"message", &sig[1..]), Err(Error::SignatureInvalid), "{}", issuer.alg);
        assert_eq!(both(&key, issuer.alg, b"message", &[]), Err(Error::SignatureInvalid));
    }
}

#[test]
fn backends_refuse_a_key_of_the_wrong_kind() {
    let rsa = key_of(&Issuer::rs256());
    let p384 = key_of(&Issuer::es384());
    let sig = Issuer::es256().sign_bytes(b"m");
    let mismatch = Err(Error::KeyMismatch { reason: "key type or curve does not fit the algorithm" });
    assert_eq!(both(&rsa, Algorithm::ES256, b"m", &sig), mismatch);
    assert_eq!(both(&p384, Algorithm::ES256, b"m", &sig), mismatch);
    assert_eq!(both(&p384, Algorithm::EdDSA, b"m", &sig), mismatch);
    assert_eq!(both(&key_of(&Issuer::eddsa()), Algorithm::RS256, b"m", &sig), mismatch);
}

#[test]
fn backends_report_points_off_the_curve_as_key_invalid() {
    // The parser refuses such keys; a hand-built Jwk reaches the backends anyway.
    let mut key = key_of(&Issuer::es256());
    let sig = Issuer::es256().sign_bytes(b"m");
    if let pocketgate::jwk::KeyMaterial::Ec { y, .. } = &mut key.material {
        y[31] ^= 1;
    }
    let err = both(&key, Algorithm::ES256, b"m", &sig).unwrap_err();
    assert_eq!(err, Error::KeyInvalid { kid: key.kid.clone(), reason: "the point is not on the curve".into() });
    let mut ed = key_of(&Issuer::eddsa());
    ed.material = pocketgate::jwk::KeyMaterial::Ed25519 {
        x: {
            let mut x = [0u8; 32];
            x[0] = 2;
            x
        },
    };
    let sig = Issuer::eddsa().sign_bytes(b"m");
    assert_eq!(both(&ed, Algorithm::EdDSA, b"m", &sig).unwrap_err().code(), "key_invalid");
}

/// `a - b` for equal-length big-endian numbers, `a >= b`.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

#[test]
fn ecdsa_accepts_high_s_and_rejects_zero_or_out_of_range_scalars() {
    // P-256 group order n.
    let n = hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let issuer = Issuer::es256();
    let key = key_of(&issuer);
    let sig = issuer.sign_bytes(b"m");
    let (r, s) = sig.split_at(32);
    // (r, n - s) is the other valid signature: JWS does not require low-S, so both verify.
    let flipped = [r, &sub_be(&n, s)].concat();
    assert_eq!(both(&key, Algorithm::ES256, b"m", &flipped), Ok(()));
    let zero = [0u8; 32];
    assert_eq!(both(&key, Algorithm::ES256, b"m", &[r, &zero].concat()), Err(Error::SignatureInvalid));
    assert_eq!(both(&key, Algorithm::ES256, b"m", &[&zero, s].concat()), Err(Error::SignatureInvalid));
    assert_eq!(both(&key, Algorithm::ES256, b"m", &[r, &n].concat()), Err(Error::SignatureInvalid));
    assert_eq!(both(&key, Algorithm::ES256, b"m", &[&n, s].concat()), Err(Error::SignatureInvalid));
}

fn hex32(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn rsa_hash_must_match_the_algorithm() {
    // The same RSA key signing with SHA-384 does not verify as RS256 (PKCS#1 DigestInfo differs).
    let issuer = Issuer::rs256();
    let key = Jwk::from_value(&issuer.bare_public_jwk()).unwrap();
    let sig384 = issuer.sign_bytes_as(Algorithm::RS384, b"m");
    assert_eq!(both(&key, Algorithm::RS384, b"m", &sig384), Ok(()));
    assert_eq!(both(&key, Algorithm::RS256, b"m", &sig384), Err(Error::SignatureInvalid));
    assert_eq!(both(&key, Algorithm::RS512, b"m", &sig384), Err(Error::SignatureInvalid));
}
