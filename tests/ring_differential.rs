//! `ring` built for wasm32-wasip1 (the Traefik plugin's backend, `crypto::Ring`) against native `ring`: the same
//! cases, the same verdicts.
//!
//! The cases are made the same way on every target (the test issuers' fixed keys, deterministic signatures —
//! RSA PKCS#1 v1.5, ECDSA RFC 6979, Ed25519 — and mutations chosen by a fixed-seed generator): a valid signature,
//! one bit flipped in the signature or the message, a truncated or extended signature, an all-zero and an all-ones
//! signature, a signature of another message, a key with one bit flipped. Natively the verdicts of native `ring`
//! must equal tests/fixtures/ring-differential.txt (`RING_DIFFERENTIAL_WRITE=1` rewrites it from native `ring`);
//! on wasm32-wasip1 (`cargo xtask test` runs it under Node's WASI with tests/wasi/run.mjs) the verdicts of `ring`
//! compiled to wasm must equal the same file. Both equal the file, so they equal each other.
#![cfg(any(not(target_arch = "wasm32"), all(target_os = "wasi", feature = "traefik")))]

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pocketgate::alg::Algorithm;
use pocketgate::crypto::{Ring, SignatureVerifier};
use pocketgate::error::Error;
use pocketgate::jwk::Jwk;
use serde_json::Value;
use support::Issuer;

/// The verdicts native `ring` gives, one line per case.
const EXPECTED: &str = include_str!("fixtures/ring-differential.txt");

/// Messages signed per algorithm (each gives [`MUTATIONS`] cases).
const MESSAGES: usize = 6;
const MUTATIONS: usize = 9;

/// xorshift64: the same sequence on every target.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn flip_bit(bytes: &mut [u8], rng: &mut Rng) {
    let i = rng.below(bytes.len());
    bytes[i] ^= 1 << rng.below(8);
}

/// The key with one bit of its main member (`n`, `x`) flipped.
fn damaged_key(issuer: &Issuer, rng: &mut Rng) -> Option<Jwk> {
    let mut jwk = issuer.public_jwk();
    let member = if jwk["kty"] == "RSA" { "n" } else { "x" };
    let mut bytes = URL_SAFE_NO_PAD.decode(jwk[member].as_str().expect("key member")).expect("base64url member");
    flip_bit(&mut bytes, rng);
    jwk[member] = Value::String(URL_SAFE_NO_PAD.encode(&bytes));
    // A key the parser refuses never reaches a backend.
    Jwk::from_value(&jwk).ok()
}

/// One verdict as a stable text: `ok`, or the error's code.
fn verdict(result: Result<(), Error>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(e) => e.code().to_owned(),
    }
}

/// Every case's verdict with `backend`, one line each: `ALG MESSAGE MUTATION VERDICT`.
fn verdicts(backend: &impl SignatureVerifier) -> Vec<String> {
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut out = Vec::new();
    for alg in Algorithm::ALL {
        let issuer = Issuer::for_alg(alg);
        let key = Jwk::from_value(&issuer.public_jwk()).expect("the test issuer's key parses");
        for m in 0..MESSAGES {
            let message = format!("differential case {} {m}", alg.name()).into_bytes();
            let signature = issuer.sign_bytes(&message);
            for mutation in 0..MUTATIONS {
                let (mut msg, mut sig, mut k) = (message.clone(), signature.clone(), Some(key.clone()));
                match mutation {
                    0 => {}
                    1 => flip_bit(&mut sig, &mut rng),
                    2 => flip_bit(&mut msg, &mut rng),
                    3 => sig.truncate(sig.len() - 1 - rng.below(4)),
                    4 => sig.push(0),
                    5 => sig.iter_mut().for_each(|b| *b = 0),
                    6 => sig.iter_mut().for_each(|b| *b = 0xff),
                    7 => sig = issuer.sign_bytes(b"another message"),
                    _ => k = damaged_key(&issuer, &mut rng),
                }
                let v = match &k {
                    Some(k) => verdict(backend.verify(k, alg, &msg, &sig)),
                    None => "key_refused_by_parser".into(),
                };
                out.push(format!("{} {m} {mutation} {v}", alg.name()));
            }
        }
    }
    out
}

#[test]
fn ring_gives_the_verdicts_native_ring_gives() {
    let got = verdicts(&Ring);
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var("RING_DIFFERENTIAL_WRITE").is_ok_and(|v| v == "1") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ring-differential.txt");
        std::fs::write(path, got.join("\n") + "\n").expect("write the verdicts");
        return;
    }
    let expected: Vec<&str> = EXPECTED.lines().collect();
    assert_eq!(got.len(), expected.len(), "case count differs from tests/fixtures/ring-differential.txt");
    let differ: Vec<String> =
        got.iter().zip(&expected).filter(|(g, e)| g != *e).map(|(g, e)| format!("got {g}, native ring {e}")).collect();
    assert!(differ.is_empty(), "{} verdicts differ from native ring:\n{}", differ.len(), differ.join("\n"));
    // The cases reach both outcomes and the key check, so agreement is not agreement on one answer.
    for needle in [" ok", " signature_invalid", " key_"] {
        assert!(got.iter().any(|l| l.contains(needle)), "no case ends in{needle}");
    }
}
