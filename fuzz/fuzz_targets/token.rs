//! Token parser (`token::parse`) and the verifier's first step (`Verifier::prepare`).
//!
//! Invariants: a parsed token has exactly three segments, its signing input is everything before the last dot,
//! its payload and signature re-encode to exactly their segments (strict, canonical base64url), its header
//! segment decodes to a JSON object whose `alg` is the parsed `alg`, the caps hold; `prepare` never accepts what
//! `parse` refuses and agrees with it; error messages stay short (attacker data is clipped).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pocketgate::token::{Limits, parse};
use pocketgate_fuzz::{b64, verifier};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static VERIFIER: OnceLock<pocketgate::verify::Verifier> = OnceLock::new();
    let Ok(token) = std::str::from_utf8(data) else { return };
    let limits = Limits::default();
    let parsed = parse(token, &limits);
    match &parsed {
        Ok(jws) => {
            let segments: Vec<&str> = token.split('.').collect();
            assert_eq!(segments.len(), 3);
            assert!(token.len() <= limits.max_token);
            assert!(segments[0].len() <= limits.max_header && !segments[0].is_empty());
            assert!(segments[2].len() <= limits.max_signature);
            let last_dot = token.rfind('.').expect("three segments");
            assert_eq!(jws.signing_input, &token.as_bytes()[..last_dot]);
            assert_eq!(b64(&jws.payload), segments[1], "payload re-encodes to its segment");
            assert_eq!(b64(&jws.signature), segments[2], "signature re-encodes to its segment");
            let header = pocketgate::token::b64_decode(segments[0], pocketgate::error::Part::Header)
                .expect("header decodes again");
            let header: serde_json::Value = serde_json::from_slice(&header).expect("header is JSON");
            assert_eq!(header["alg"].as_str(), Some(jws.header.alg.as_str()));
            assert_eq!(header.get("kid").and_then(|v| v.as_str()), jws.header.kid.as_deref());
        }
        Err(e) => assert!(e.to_string().len() <= 1024, "error messages are clipped: {}", e.to_string().len()),
    }
    let verifier = VERIFIER.get_or_init(verifier);
    match verifier.prepare(token) {
        Ok(prepared) => {
            let jws = parsed.expect("prepare accepts only what parse accepts");
            assert_eq!(prepared.signing_input(), jws.signing_input);
            assert_eq!(prepared.signature(), &jws.signature[..]);
            assert_eq!(prepared.kid(), jws.header.kid.as_deref());
            assert_eq!(prepared.alg().name(), jws.header.alg);
            assert_eq!(prepared.issuer(), 0);
        }
        Err(e) => {
            if let Err(p) = &parsed {
                assert_eq!(&e, p, "prepare fails exactly like parse");
            }
            assert!(e.to_string().len() <= 1024);
        }
    }
});
