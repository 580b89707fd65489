//! Property tests (proptest, native): forged tokens never verify, no single-byte mutation of a valid token
//! verifies, group decisions are monotonic, path normalisation is idempotent and leaves no dot segment, a method is
//! judged in its canonical case, a Dex subject is local only when Dex's encoding and NetBird's reading agree.
//!
//! Both native backends (ring and RustCrypto) are checked where a signature is involved. Case counts are chosen
//! so the whole file stays well under 20 s in a debug build.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::sync::Arc;

use pocketgate::Error;
use pocketgate::alg::Algorithm;
use pocketgate::claims::{ClaimNames, Claims};
use pocketgate::crypto::{Ring, RustCrypto};
use pocketgate::jwk::KeySet;
use pocketgate::policy::{
    Allow, GroupRule, RouteAction, RouteRule, Routes, decode_subject, is_local_user, normalize_path,
    qufabric_default_routes,
};
use pocketgate::token::Limits;
use pocketgate::verify::{IssuerConfig, Verified, Verifier};
use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{Value, json};
use support::{CLIENT_ID, ISSUER, Issuer, NOW, b64, dex_subject, jwks_json_of};

fn verifier() -> Verifier {
    let any = GroupRule { allow: Allow::AnyUser, deny: vec![] };
    Verifier::new(vec![IssuerConfig::new(ISSUER, vec![CLIENT_ID.into()], any)], Limits::default()).unwrap()
}

/// The key set holding the public keys of `issuers`.
fn key_set(issuers: &[Issuer]) -> KeySet {
    let jwks: Vec<Value> = issuers.iter().map(Issuer::public_jwk).collect();
    let set = KeySet::from_json(jwks_json_of(&jwks).as_bytes()).unwrap();
    assert_eq!(set.keys().len(), issuers.len(), "{:?}", set.rejected());
    set
}

/// Verify with ring and RustCrypto; they must agree.
fn verify_both(verifier: &Verifier, keys: &KeySet, token: &str) -> Result<Verified, Error> {
    let ring = verifier.verify(token, |_| Some(keys), &Ring, NOW);
    let rust = verifier.verify(token, |_| Some(keys), &RustCrypto, NOW);
    assert_eq!(ring, rust, "ring and RustCrypto disagree on {token}");
    ring
}

// ------------------------------------------------------------------------------------------------ forgeries

/// Claims that would pass every claim check: only the signature can stop the token.
fn valid_claims() -> impl Strategy<Value = Value> {
    let groups = prop::collection::vec("[a-z-]{1,12}", 0..4);
    (groups, "[a-zA-Z0-9-]{1,36}", 0u64..3000, prop::option::of("[ -~]{0,20}")).prop_map(|(groups, sub, age, extra)| {
        let mut claims = support::id_token_claims(NOW - age, &sub, &[]);
        claims["groups"] = json!(groups);
        if let Some(extra) = extra {
            claims["x"] = json!(extra);
        }
        claims
    })
}

/// Which `kid` a forged header carries.
#[derive(Clone, Debug)]
enum KidChoice {
    /// The signer's own kid (not in the set).
    Own,
    /// The kid of key number `i` of the set (the classic forgery: claim a trusted kid).
    Trusted(usize),
    /// Some other string.
    Other(String),
    /// No kid: the set's single fitting key, if any, is used.
    Absent,
}

fn kid_choice() -> impl Strategy<Value = KidChoice> {
    prop_oneof![
        Just(KidChoice::Own),
        (0usize..7).prop_map(KidChoice::Trusted),
        "[A-Za-z0-9_-]{0,16}".prop_map(KidChoice::Other),
        Just(KidChoice::Absent),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Split the seven fixture keys into a trusted set (non-empty) and the rest; a token signed by a key of the
    /// rest, whatever its claims, `alg` and `kid`, never verifies.
    #[test]
    fn tokens_signed_by_a_key_outside_the_set_never_verify(
        trusted_mask in 1u8..127,
        signer_pick in 0usize..7,
        alg_pick in 0usize..7,
        kid in kid_choice(),
        claims in valid_claims(),
    ) {
        let all = Issuer::all();
        let (trusted, outside): (Vec<_>, Vec<_>) =
            all.into_iter().enumerate().partition(|(i, _)| trusted_mask & (1 << i) != 0);
        let trusted: Vec<Issuer> = trusted.into_iter().map(|(_, k)| k).collect();
        let outside: Vec<Issuer> = outside.into_iter().map(|(_, k)| k).collect();
        let signer = &outside[signer_pick % outside.len()];
        // The header names the signer's algorithm or one of the trusted keys' (alg confusion).
        let alg = if alg_pick % 2 == 0 { signer.alg } else { trusted[alg_pick % trusted.len()].alg };
        let mut header = json!({"alg": alg.name(), "typ": "JWT"});
        match &kid {
            KidChoice::Own => header["kid"] = json!(signer.kid),
            KidChoice::Trusted(i) => header["kid"] = json!(trusted[i % trusted.len()].kid),
            KidChoice::Other(s) => header["kid"] = json!(s),
            KidChoice::Absent => {}
        }
        let signing_input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = signer.sign_bytes_as(alg, signing_input.as_bytes());
        let token = format!("{signing_input}.{}", b64(sig));
        let keys = key_set(&trusted);
        let err = verify_both(&verifier(), &keys, &token).expect_err("a token from an untrusted key verified");
        prop_assert!(
            matches!(err.code(), "signature_invalid" | "key_not_found" | "key_mismatch"),
            "unexpected error {err:?}"
        );
        // The same claims signed by a trusted key do verify: the refusal above is about the key, nothing else.
        let good = trusted[0].sign_claims(&claims);
        prop_assert!(verify_both(&verifier(), &keys, &good).is_ok());
    }

    /// Random text, random base64url segments, and a real header and payload with a random signature: never.
    #[test]
    fn random_strings_never_verify(
        text in "\\PC{0,300}",
        h in "[A-Za-z0-9_-]{0,80}",
        p in "[A-Za-z0-9_-]{0,400}",
        s in "[A-Za-z0-9_-]{0,400}",
        sig in prop::collection::vec(any::<u8>(), 0..600),
        which in 0usize..7,
    ) {
        let all = Issuer::all();
        let keys = key_set(&all);
        let v = verifier();
        prop_assert!(verify_both(&v, &keys, &text).is_err());
        let segments = format!("{h}.{p}.{s}");
        prop_assert!(verify_both(&v, &keys, &segments).is_err());
        let real = all[which].id_token(json!({}));
        let signing_input = real.rsplit_once('.').unwrap().0;
        let forged = format!("{signing_input}.{}", b64(&sig));
        prop_assert_eq!(verify_both(&v, &keys, &forged).unwrap_err().code(), "signature_invalid");
    }
}

// ---------------------------------------------------------------------------------------------- mutations

/// Every single-byte change of `token` (each position × each byte value) is refused. Changes that make the text
/// invalid UTF-8 cannot reach the verifier (it takes `&str`) and count as refused.
fn assert_no_mutation_verifies(token: &str, keys: &KeySet, check: impl Fn(&Verifier, &KeySet, &str) -> bool) {
    let v = verifier();
    assert!(check(&v, keys, token), "the unmodified token verifies");
    let mut tried = 0usize;
    let mut bytes = token.as_bytes().to_vec();
    for pos in 0..bytes.len() {
        let original = bytes[pos];
        for value in 0..=255u8 {
            if value == original {
                continue;
            }
            bytes[pos] = value;
            if let Ok(mutated) = std::str::from_utf8(&bytes) {
                tried += 1;
                assert!(!check(&v, keys, mutated), "mutation at {pos} to {value:#04x} verified");
            }
        }
        bytes[pos] = original;
    }
    assert!(tried >= token.len() * 127, "every ASCII mutation was tried ({tried})");
}

#[test]
fn no_single_byte_mutation_of_an_eddsa_token_verifies_exhaustive() {
    // Exhaustive (positions × 255 values) with ring; the token is short (EdDSA) so this stays fast.
    let issuer = Issuer::eddsa();
    let keys = key_set(&Issuer::all());
    let token = issuer.id_token(json!({"groups": ["netbird-users"]}));
    assert_no_mutation_verifies(&token, &keys, |v, k, t| v.verify(t, |_| Some(k), &Ring, NOW).is_ok());
}

#[test]
fn no_single_byte_mutation_of_an_es256_token_verifies_exhaustive() {
    let keys = key_set(&Issuer::all());
    let token = Issuer::es256().id_token(json!({}));
    assert_no_mutation_verifies(&token, &keys, |v, k, t| v.verify(t, |_| Some(k), &Ring, NOW).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random single-byte mutations of tokens of every algorithm, checked with both backends.
    #[test]
    fn single_byte_mutations_are_rejected_by_both_backends(
        which in 0usize..7,
        pos_frac in 0.0f64..1.0,
        value in any::<u8>(),
    ) {
        let all = Issuer::all();
        let keys = key_set(&all);
        let token = all[which].id_token(json!({}));
        let pos = ((token.len() as f64) * pos_frac) as usize;
        let mut bytes = token.into_bytes();
        prop_assume!(bytes[pos] != value);
        bytes[pos] = value;
        if let Ok(mutated) = String::from_utf8(bytes) {
            let v = verifier();
            prop_assert!(verify_both(&v, &keys, &mutated).is_err());
        }
    }
}

// ------------------------------------------------------------------------------------------------- policy

const POOL: [&str; 8] = ["netbird-users", "admins", "ops", "banned", "contractors", "Admins", "a.b", "x"];

fn groups_from(pool: Vec<&str>) -> Vec<String> {
    pool.into_iter().map(str::to_owned).collect()
}

fn user_groups() -> impl Strategy<Value = Option<Vec<String>>> {
    prop::option::weighted(0.9, prop::collection::vec(prop::sample::select(POOL.to_vec()), 0..5).prop_map(groups_from))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Adding a group to the allow list never turns an allow into a deny (and `*` admits at least as many).
    #[test]
    fn adding_an_allowed_group_never_denies(
        allow in subsequence(POOL.to_vec(), 1..5).prop_map(groups_from),
        deny in subsequence(POOL.to_vec(), 0..3).prop_map(groups_from),
        extra in prop::sample::select(POOL.to_vec()),
        user in user_groups(),
    ) {
        let small = GroupRule { allow: Allow::Groups(allow.clone()), deny: deny.clone() };
        let mut bigger_list = allow;
        bigger_list.push(extra.to_owned());
        let bigger = GroupRule { allow: Allow::Groups(bigger_list), deny: deny.clone() };
        let star = GroupRule { allow: Allow::AnyUser, deny };
        if small.check(user.as_deref()).is_ok() {
            prop_assert_eq!(bigger.check(user.as_deref()), Ok(()));
        }
        if bigger.check(user.as_deref()).is_ok() {
            prop_assert_eq!(star.check(user.as_deref()), Ok(()));
        }
    }

    /// Adding a group to the user never turns an allow into a deny, unless that group is in the deny list (then
    /// it is `group_denied`, nothing else).
    #[test]
    fn adding_a_user_group_denies_only_through_the_deny_list(
        allow in prop_oneof![
            Just(Allow::AnyUser),
            subsequence(POOL.to_vec(), 1..5).prop_map(|g| Allow::Groups(groups_from(g))),
        ],
        deny in subsequence(POOL.to_vec(), 0..3).prop_map(groups_from),
        user in user_groups(),
        extra in prop::sample::select(POOL.to_vec()),
    ) {
        let rule = GroupRule { allow, deny };
        let before = rule.check(user.as_deref());
        let mut more = user.clone().unwrap_or_default();
        more.push(extra.to_owned());
        let after = rule.check(Some(&more));
        if before.is_ok() {
            if rule.deny.iter().any(|d| d == extra) {
                prop_assert_eq!(after, Err(Error::GroupDenied));
            } else {
                prop_assert_eq!(after, Ok(()));
            }
        }
        // The same verdicts through the claims, as the gate reads them.
        let payload = serde_json::to_vec(&json!({"groups": more})).unwrap();
        let claims = Claims::read(payload, &Arc::new(ClaimNames::new(["groups"]))).unwrap();
        prop_assert_eq!(rule.check(claims.groups("groups").as_deref()), rule.check(Some(&more)));
    }
}

// --------------------------------------------------------------------------------------------------- paths

/// Paths built from the pieces that matter to normalisation, plus arbitrary printable text.
fn tricky_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E%2e".to_owned()),
        Just(".%2e".to_owned()),
        Just("api".to_owned()),
        Just("API".to_owned()),
        Just("oauth2".to_owned()),
        Just("relay".to_owned()),
        Just("%61pi".to_owned()),
        Just("a.b".to_owned()),
        Just("%25".to_owned()),
        Just("%2f".to_owned()),
        Just("x?y=/../z".to_owned()),
        Just("zo%C3%AB".to_owned()),
        Just("zo\u{eb}".to_owned()),
        "[ -~]{0,6}",
    ];
    (prop::collection::vec(piece, 0..8), any::<bool>()).prop_map(|(pieces, slash)| {
        let mut p = pieces.join("/");
        if slash || p.is_empty() {
            p.insert(0, '/');
        }
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    /// `normalize_path` is idempotent, yields no `.`/`..`/empty segment, and a path never gets a looser action
    /// than its normal form: unnormalisable paths are refused (`path_ambiguous`), and nothing under `/api`
    /// bypasses but NetBird's public paths for their own methods.
    #[test]
    fn normalize_path_is_idempotent_without_dot_segments(path in tricky_path()) {
        let routes = [qufabric_default_routes(true), qufabric_default_routes(false)];
        match normalize_path(&path) {
            Some(n) => {
                prop_assert!(n.starts_with('/'));
                let again = normalize_path(&n);
                prop_assert_eq!(again.as_deref(), Some(n.as_str()), "not idempotent for {:?}", path);
                let segments: Vec<&str> = n[1..].split('/').collect();
                for (i, seg) in segments.iter().enumerate() {
                    prop_assert!(*seg != "." && *seg != "..", "dot segment in {:?} from {:?}", n, path);
                    prop_assert!(!seg.is_empty() || i + 1 == segments.len(), "empty segment in {:?}", n);
                }
                for r in &routes {
                    prop_assert_eq!(r.action("GET", &path), r.action("GET", &n));
                    let public = r.public().iter().any(|p| p.opens("GET", &n));
                    if (n == "/api" || n.starts_with("/api/")) && !public {
                        prop_assert_ne!(r.action("GET", &path), Ok(&RouteAction::Bypass));
                    }
                }
            }
            None => {
                // Never a bypass, and never a rule picked by guesswork: refused as ambiguous.
                for r in &routes {
                    prop_assert_eq!(r.action("GET", &path), Err(Error::PathAmbiguous), "{:?}", path);
                }
            }
        }
    }
}

/// Bytes shaped like Dex's message, or not: fields with any of a few tags (1 and 2 as strings, 3, a varint field, a
/// two-byte tag), lengths in their shortest or a longer form; or any bytes.
fn dex_message() -> impl Strategy<Value = Vec<u8>> {
    let field = (prop::sample::select(vec![0x0au8, 0x12, 0x1a, 0x08, 0x8a]), "[a-z]{0,3}", any::<bool>()).prop_map(
        |(tag, value, long)| {
            let mut out = vec![tag];
            if long {
                out.extend([value.len() as u8 | 0x80, 0])
            } else {
                out.push(value.len() as u8)
            }
            out.extend(value.bytes());
            out
        },
    );
    prop_oneof![prop::collection::vec(any::<u8>(), 0..64), prop::collection::vec(field, 0..4).prop_map(|f| f.concat())]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]).prop_flat_map(|m| {
            // Any mix of cases of a real method.
            prop::collection::vec(any::<bool>(), m.len()).prop_map(move |upper| {
                m.chars().zip(upper).map(|(c, u)| if u { c } else { c.to_ascii_lowercase() }).collect()
            })
        }),
        "[ -~\t]{0,8}",
        ".{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    /// A method is judged as its upper-case name whatever its case; anything that is not an HTTP token is
    /// refused (`method_invalid`), whatever the path; a GET-only admin rule holds HEAD.
    #[test]
    fn methods_are_judged_in_their_canonical_case(m in method(), path in "/api/users(/[a-z0-9]{1,6}){0,2}") {
        let admins = GroupRule { allow: Allow::Groups(vec!["admins".into()]), deny: vec![] };
        let routes = Routes::new(
            vec![
                RouteRule { prefix: "/api".into(), methods: None, action: RouteAction::issuer_default() },
                RouteRule {
                    prefix: "/api/users".into(),
                    methods: Some(vec!["DELETE".into(), "PUT".into(), "GET".into()]),
                    action: RouteAction::groups(admins.clone()),
                },
            ],
            RouteAction::Bypass,
        ).unwrap();
        let token = !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let got = routes.action(&m, &path);
        if token {
            prop_assert_eq!(got.clone(), routes.action(&m.to_ascii_uppercase(), &path));
            let upper = m.to_ascii_uppercase();
            let admin_rule = ["DELETE", "PUT", "GET", "HEAD"].contains(&upper.as_str());
            prop_assert_eq!(got == Ok(&RouteAction::groups(admins)), admin_rule, "{:?}", m);
        } else {
            prop_assert_eq!(got, Err(Error::MethodInvalid), "{:?}", m);
        }
    }

    /// Dex's subjects (varint lengths, base64url, as Dex writes them) decode exactly, and count as local only when
    /// NetBird's one-byte reading agrees: connector `local`, a user id under 128 bytes, and an encoding NetBird's
    /// standard base64 reads (no `-` or `_`).
    #[test]
    fn dex_subjects_are_local_only_when_both_readings_agree(
        user in prop_oneof![".{0,40}", "[a-z0-9-]{100,300}", "[ -~]{0,200}"],
        connector in prop_oneof![Just("local".to_owned()), Just("pocketid".to_owned()), Just("Local".to_owned()), "[a-z]{1,8}"],
    ) {
        let sub = dex_subject(&user, &connector);
        prop_assert_eq!(decode_subject(&sub), Some((user.clone(), connector.clone())));
        let both_local = connector == "local" && user.len() < 128 && !sub.contains(['-', '_']);
        prop_assert_eq!(is_local_user(&sub), both_local, "{:?} {:?} {}", user, connector, sub);
    }

    /// The strict decode accepts only the canonical encoding: whatever it decodes, Dex would write back byte for byte
    /// (no unknown or repeated field, no long varint, no trailing byte, no padding).
    #[test]
    fn the_strict_dex_decode_is_canonical(bytes in dex_message()) {
        let sub = b64(&bytes);
        if let Some((user, connector)) = decode_subject(&sub) {
            prop_assert_eq!(dex_subject(&user, &connector), sub);
        }
    }
}

#[test]
fn the_seven_algorithms_are_all_covered() {
    // The properties above pick keys by index into `Issuer::all()`: make sure it is one key per algorithm.
    let algs: Vec<Algorithm> = Issuer::all().iter().map(|i| i.alg).collect();
    assert_eq!(algs, Algorithm::ALL.to_vec());
}
