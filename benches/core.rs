//! Native benchmarks of the core (criterion): `cargo xtask bench` (= `cargo bench --bench core -- --warm-up-time 1
//! --measurement-time 3 --noplot`). Figures and the machine they came from are in BENCHMARKS.md.
//!
//! - `verify/<alg>/primitive`: the bare signature check with the native backend ([`Native`]) on a PocketID ID
//!   token's signing input and signature.
//! - `verify/<alg>/full`: the whole gate decision for `GET /api/users` with the same backend, through the
//!   request pipeline (`pocketgate::request::decide`, token cache off): route → credential → strict parsing,
//!   header checks, key by `kid` from the key cache, signature, claims → group policy → identity.
//!   `full` minus `primitive` is what parsing, claims and policy add.
//! - `verify/<alg>/full_without_signature`: the same decision with a backend that accepts every signature: what
//!   parsing, claims and policy add, measured directly (against `primitive` in the same run).
//! - `verify/RS256/full_200_groups`: the same with a token carrying 200 groups.
//! - `cache_hit/RS256`: the same pipeline when the token is in the verified-token cache (no signature).
//! - `policy_200_groups/*`: the group check alone on claims with 200 groups (the allowed group last, a deny list).
//!
//! Tokens come from the shared test minter (tests/support), which signs independently of the verifier.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use pocketgate::alg::Algorithm;
use pocketgate::claims::{ClaimNames, Claims};
use pocketgate::config::GateConfig;
use pocketgate::crypto::{Native, SignatureVerifier};
use pocketgate::jwk::{Jwk, KeySet};
use pocketgate::policy::{Allow, GroupRule, qufabric_default_routes};
use pocketgate::request::{Outcome, Verdict};
use pocketgate::token::Limits;
use pocketgate::verify::{IssuerConfig, Verifier};
use serde_json::{Map, Value};
use support::{CLIENT_ID, Issuer, NOW, SUB, gate};

/// The native default backend (the type alias [`Native`]), used by both `primitive` and `full`.
const BACKEND: Native = Native {};
const METHOD: &str = "GET";
const PATH: &str = "/api/users";

fn group_rule() -> GroupRule {
    GroupRule { allow: Allow::Groups(vec!["netbird-users".into()]), deny: vec![] }
}

fn verifier(issuer: &Issuer) -> Verifier {
    let cfg = IssuerConfig::new(issuer.iss.clone(), vec![CLIENT_ID.into()], group_rule());
    Verifier::new(vec![cfg], Limits::default()).expect("valid configuration")
}

fn keys(issuer: &Issuer) -> KeySet {
    let keys = KeySet::from_json(issuer.jwks_json().as_bytes()).expect("minter JWKS parses");
    assert!(keys.rejected().is_empty(), "minter JWKS has a rejected key");
    keys
}

fn assert_allowed(outcome: &Outcome) {
    match &outcome.verdict {
        Verdict::Allow(id) => assert_eq!(id.sub, SUB),
        other => panic!("bench setup: expected Allow, got {other:?}"),
    }
}

/// The gate's configuration for `issuer` (its `iss`, audience [`CLIENT_ID`], `ALLOW_GROUPS=netbird-users`).
fn gate_config(issuer: &Issuer) -> GateConfig {
    gate::config(&[("ISSUER", &issuer.iss)])
}

/// A backend that accepts every signature, for `full_without_signature` only.
struct AcceptAll;

impl SignatureVerifier for AcceptAll {
    fn verify(&self, _: &Jwk, _: Algorithm, _: &[u8], _: &[u8]) -> Result<(), pocketgate::Error> {
        Ok(())
    }
}

fn verify(c: &mut Criterion) {
    for issuer in [Issuer::rs256(), Issuer::es256(), Issuer::eddsa()] {
        let alg = issuer.alg.name();
        let verifier = verifier(&issuer);
        let keys = keys(&issuer);
        let token = issuer.id_token(serde_json::json!({}));
        let prepared = verifier.prepare(&token).expect("token parses");
        let key = prepared.select_key(&keys).expect("key found");
        let (input, sig) = (prepared.signing_input(), prepared.signature().to_vec());
        BACKEND.verify(key, prepared.alg(), input, &sig).expect("signature verifies");

        let cfg = gate_config(&issuer);
        let mut caches = gate::caches(&cfg, 0);
        let bearer = format!("Bearer {token}");
        let mut full = || gate::decide(&cfg, &mut caches, METHOD, PATH, Some(black_box(&bearer)), &keys, &BACKEND);
        assert_allowed(&full());

        let mut g = c.benchmark_group(format!("verify/{alg}"));
        g.bench_function("primitive", |b| {
            b.iter(|| BACKEND.verify(key, prepared.alg(), black_box(input), black_box(&sig)))
        });
        g.bench_function("full", |b| b.iter(&mut full));
        // The same decision around a signature check that costs nothing: what the core adds, in the same run.
        let mut caches = gate::caches(&cfg, 0);
        let mut around = || gate::decide(&cfg, &mut caches, METHOD, PATH, Some(black_box(&bearer)), &keys, &AcceptAll);
        assert_allowed(&around());
        g.bench_function("full_without_signature", |b| b.iter(&mut around));
        if issuer.alg == Algorithm::RS256 {
            let groups: Vec<String> = support::many_groups(199).into_iter().chain(["netbird-users".into()]).collect();
            let big = issuer.sign_claims(&support::id_token_claims(NOW, SUB, &refs(&groups)));
            let bearer = format!("Bearer {big}");
            let mut caches = gate::caches(&cfg, 0);
            let mut full_big =
                || gate::decide(&cfg, &mut caches, METHOD, PATH, Some(black_box(&bearer)), &keys, &BACKEND);
            assert_allowed(&full_big());
            g.bench_function("full_200_groups", |b| b.iter(&mut full_big));
        }
        g.finish();
    }
}

/// Where the fixed cost of `full − primitive` goes (RS256 token): each stage alone.
fn stages(c: &mut Criterion) {
    let routes = qufabric_default_routes(true);
    let issuer = Issuer::rs256();
    let verifier = verifier(&issuer);
    let keys = keys(&issuer);
    let token = issuer.id_token(serde_json::json!({}));
    let limits = Limits::default();
    let payload = pocketgate::token::parse(&token, &limits).expect("parses").payload;
    let mut g = c.benchmark_group("stages/RS256");
    g.bench_function("route_action", |b| b.iter(|| routes.action(black_box(METHOD), black_box(PATH))));
    g.bench_function("token_parse", |b| b.iter(|| pocketgate::token::parse(black_box(&token), &limits)));
    g.bench_function("payload_json", |b| {
        b.iter(|| pocketgate::json::parse_object(black_box(&payload), pocketgate::error::Part::Payload))
    });
    let names = std::sync::Arc::new(pocketgate::claims::ClaimNames::new(["groups"]));
    g.bench_function("payload_scan", |b| {
        b.iter(|| pocketgate::claims::Claims::read(black_box(payload.clone()), &names))
    });
    g.bench_function("payload_json_serde_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&payload)))
    });
    g.bench_function("prepare", |b| b.iter(|| verifier.prepare(black_box(&token))));
    g.bench_function("prepare_select_finish", |b| {
        b.iter(|| {
            let p = verifier.prepare(black_box(&token)).expect("parses");
            let key = p.select_key(&keys).expect("key");
            p.finish(&verifier, key, NOW)
        })
    });
    g.finish();
}

fn cache_hit(c: &mut Criterion) {
    let issuer = Issuer::rs256();
    let keys = keys(&issuer);
    let bearer = format!("Bearer {}", issuer.id_token(serde_json::json!({})));
    let cfg = gate_config(&issuer);
    let mut caches = gate::caches(&cfg, pocketgate::tokencache::DEFAULT_CAPACITY);
    let mut hit = || gate::decide(&cfg, &mut caches, METHOD, PATH, Some(black_box(&bearer)), &keys, &BACKEND);
    assert!(!hit().cached, "the first request verifies");
    let second = hit();
    assert!(second.cached, "bench setup: the token must come from the cache");
    assert_allowed(&second);
    c.bench_function("cache_hit/RS256", |b| b.iter(&mut hit));
}

fn policy(c: &mut Criterion) {
    let groups: Vec<String> = support::many_groups(199).into_iter().chain(["netbird-users".into()]).collect();
    let claims = support::id_token_claims(NOW, SUB, &refs(&groups));
    let claims: Map<String, Value> = match claims {
        Value::Object(m) => m,
        _ => unreachable!("the minter's claims are an object"),
    };
    let rule = GroupRule {
        allow: Allow::Groups(vec!["admins".into(), "netbird-users".into()]),
        deny: vec!["banned".into(), "contractors".into(), "suspended".into()],
    };
    let payload = serde_json::to_vec(&claims).expect("claims serialise");
    let read = Claims::read(payload, &Arc::new(ClaimNames::new(["groups"]))).expect("strict claims");
    assert_eq!(read.groups("groups").as_deref(), Some(&groups[..]));
    assert_eq!(rule.check(Some(&groups)), Ok(()));
    let mut g = c.benchmark_group("policy_200_groups");
    g.bench_function("check", |b| b.iter(|| rule.check(Some(black_box(&groups)))));
    g.bench_function("extract_and_check", |b| b.iter(|| rule.check(black_box(&read).groups("groups").as_deref())));
    g.finish();
}

fn refs(groups: &[String]) -> Vec<&str> {
    groups.iter().map(String::as_str).collect()
}

criterion_group!(benches, verify, stages, cache_hit, policy);
criterion_main!(benches);
