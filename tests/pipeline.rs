//! The request pipeline (`pocketgate::request`), step by step, with the native backends: the order of the steps,
//! what each step asks the adapter for, and the agreement of the setup page's inspector with the gate on every
//! outcome a token can produce. Native (the wasm32 side of the same pipeline runs in workerd, tests/e2e).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::cell::Cell;

use pocketgate::alg::Algorithm;
use pocketgate::crypto::{Native, RustCrypto, SignatureVerifier};
use pocketgate::error::Error;
use pocketgate::jwk::{Jwk, KeySet};
use pocketgate::keycache::{FetchOutcome, FetchReason};
use pocketgate::request::{self, Caches, Head, Outcome, Step, Verdict};
use pocketgate::setup::inspect::{SAMPLE_PATH, gate_config, inspect};
use pocketgate::setup::validate::validate;
use pocketgate::setup::{Mode, SetupInput};
use pocketgate::tokencache::TokenCache;
use serde_json::json;
use support::{Issuer, NOW, gate};

/// A backend that counts its calls and defers to the native one.
struct Counting(Cell<usize>);

impl SignatureVerifier for Counting {
    fn verify(&self, key: &Jwk, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        self.0.set(self.0.get() + 1);
        Native {}.verify(key, alg, message, signature)
    }
}

fn keys(issuer: &Issuer) -> KeySet {
    KeySet::from_json(issuer.jwks_json().as_bytes()).expect("minter JWKS parses")
}

fn code(o: &Outcome) -> &'static str {
    o.code().unwrap_or(o.decision())
}

fn head<'a>(path: &'a str, authorization: Option<&'a str>) -> Head<'a> {
    Head { method: "GET", path, authorization }
}

#[test]
fn bypass_and_ambiguous_paths_are_decided_before_any_key_or_signature() {
    let cfg = gate::config(&[]);
    let mut caches = gate::caches(&cfg, 0);
    let fetches = Cell::new(0);
    let fetch = |_| {
        fetches.set(fetches.get() + 1);
        FetchOutcome::Failed(Error::KeysUnavailable { reason: "unused".into() })
    };
    let backend = Counting(Cell::new(0));
    let garbage = Some("Bearer not.a.token");
    let bypass = request::decide(&cfg, &mut caches, head("/oauth2/authorize", garbage), NOW, fetch, &backend);
    assert_eq!(bypass.verdict, Verdict::Bypass);
    let ambiguous = request::decide(&cfg, &mut caches, head("/api%2Fpeers", garbage), NOW, fetch, &backend);
    assert_eq!((code(&ambiguous), ambiguous.status()), ("path_ambiguous", 400));
    assert_eq!((fetches.get(), backend.0.get()), (0, 0), "no key fetch and no signature");
}

/// The method is made canonical before the route (issue 22): any case of `DELETE` meets the docs' admins rule, a
/// `HEAD` meets a GET-only rule, and a method that is not a token is refused (400 `method_invalid`) before any
/// credential, key or signature, even on a bypass path.
#[test]
fn the_method_is_canonical_before_the_route_and_refused_when_not_a_token() {
    let issuer = Issuer::rs256();
    let set = keys(&issuer);
    let routes = r#"[{"prefix": "/api/users", "methods": ["DELETE", "PUT"], "allow_groups": ["admins"]},
                     {"prefix": "/api/audit", "methods": ["GET"], "allow_groups": ["admins"]}]"#;
    let cfg = gate::config(&[("ROUTES", routes)]);
    let mut caches = gate::caches(&cfg, 16);
    let user = format!("Bearer {}", issuer.id_token_for(NOW, support::SUB, &["netbird-users"]));
    let admin = format!("Bearer {}", issuer.id_token_for(NOW, support::SUB, &["netbird-users", "admins"]));
    let mut decide = |method: &str, path: &str, authorization: &str| {
        code(&gate::decide(&cfg, &mut caches, method, path, Some(authorization), &set, &RustCrypto))
    };
    for method in ["DELETE", "delete", "Delete", "PUT", "put"] {
        assert_eq!(decide(method, "/api/users/1", &user), "group_not_allowed", "{method}");
        assert_eq!(decide(method, "/api/users/1", &admin), "allow", "{method}");
    }
    for method in ["GET", "get", "HEAD", "head", "Head"] {
        assert_eq!(decide(method, "/api/audit", &user), "group_not_allowed", "{method}");
    }
    assert_eq!(decide("get", "/api/users/1", &user), "allow");
    let fetches = Cell::new(0);
    let backend = Counting(Cell::new(0));
    for (method, path) in [("", "/api/users/1"), ("DE LETE", "/api/users/1"), ("GET\t", "/relay"), ("G/ET", "/")] {
        let fetch = |_| {
            fetches.set(fetches.get() + 1);
            FetchOutcome::Failed(Error::KeysUnavailable { reason: "unused".into() })
        };
        let head = Head { method, path, authorization: Some(&user) };
        let o = request::decide(&cfg, &mut caches, head, NOW, fetch, &backend);
        assert_eq!((code(&o), o.status()), ("method_invalid", 400), "{method:?} {path}");
    }
    assert_eq!((fetches.get(), backend.0.get()), (0, 0), "no key fetch and no signature");
}

/// NetBird's public API paths pass without a token for their handlers' methods by default; with
/// `PUBLIC_API=gate` they need one like the rest of `/api`.
#[test]
fn public_api_paths_pass_without_a_token_unless_gated() {
    let set = keys(&Issuer::rs256());
    let open = [
        ("GET", "/api/instance"),
        ("POST", "/api/setup"),
        ("GET", "/api/users/invites/nbi_3xAmPlE"),
        ("POST", "/api/users/invites/nbi_3xAmPlE/accept"),
        ("OPTIONS", "/api/users/invites/nbi_3xAmPlE/accept"),
        ("GET", "/api/reverse-proxy/callback?state=s&code=c"),
    ];
    let closed = [
        ("GET", "/api/instance/version"),
        ("HEAD", "/api/instance"),
        ("DELETE", "/api/users/invites/nbi_3xAmPlE"),
        ("GET", "/api/users/invites/nbi_3xAmPlE/accept"),
        ("POST", "/api/setup/"),
    ];
    let cfg = gate::config(&[]);
    let mut caches = gate::caches(&cfg, 0);
    for (method, path) in open {
        assert_eq!(code(&gate::decide(&cfg, &mut caches, method, path, None, &set, &RustCrypto)), "bypass", "{path}");
    }
    for (method, path) in closed {
        let o = gate::decide(&cfg, &mut caches, method, path, None, &set, &RustCrypto);
        assert_eq!(code(&o), "token_missing", "{method} {path}");
    }
    let cfg = gate::config(&[("PUBLIC_API", "gate")]);
    let mut caches = gate::caches(&cfg, 0);
    for (method, path) in open {
        let o = gate::decide(&cfg, &mut caches, method, path, None, &set, &RustCrypto);
        assert_eq!(code(&o), "token_missing", "PUBLIC_API=gate: {method} {path}");
    }
}

#[test]
fn credentials_are_read_before_the_token_cache() {
    let issuer = Issuer::rs256();
    let set = keys(&issuer);
    for (pat, authorization, expected, sent) in [
        ("deny", None, "token_missing", false),
        ("deny", Some("Basic dXNlcjpwdw=="), "token_missing", true),
        ("deny", Some("Token nbp_abc"), "pat_not_allowed", true),
        ("pass", Some("Token nbp_abc"), "pat_pass", false),
    ] {
        let cfg = gate::config(&[("PERSONAL_ACCESS_TOKENS", pat)]);
        let mut caches = gate::caches(&cfg, 16);
        let o = gate::decide(&cfg, &mut caches, "GET", "/api/users", authorization, &set, &RustCrypto);
        assert_eq!(code(&o), expected, "{authorization:?} with PERSONAL_ACCESS_TOKENS={pat}");
        if let Verdict::Deny { credential_sent, .. } = o.verdict {
            assert_eq!(credential_sent, sent, "{authorization:?}");
        }
    }
}

#[test]
fn the_steps_ask_for_keys_then_the_signature_and_a_second_request_waits() {
    let issuer = Issuer::es256();
    let cfg = gate::config(&[]);
    let mut caches = gate::caches(&cfg, 16);
    let bearer = format!("Bearer {}", issuer.id_token(json!({})));
    let first = request::begin(&cfg, &mut caches, head("/api/users", Some(&bearer)), NOW);
    let Step::NeedKeys(need) = first else { panic!("expected NeedKeys, got {first:?}") };
    assert_eq!((need.issuer, need.fetch), (0, Some(FetchReason::Initial)));
    // A second request while the fetch is in flight waits; if it gives up, the outage stands (503).
    let second = request::begin(&cfg, &mut caches, head("/api/users", Some(&bearer)), NOW);
    let Step::NeedKeys(waiting) = second else { panic!("expected a wait, got {second:?}") };
    assert_eq!(waiting.fetch, None);
    let gave_up = waiting.give_up();
    assert_eq!((code(&gave_up), gave_up.status()), ("keys_unavailable", 503));
    // The fetch arrives; the first request resumes to the signature.
    assert_eq!(caches.complete(0, FetchOutcome::Loaded { keys: keys(&issuer), max_age: None }, NOW), Ok(1));
    let Step::CheckSignature(check) = need.resume(&cfg, &mut caches, NOW) else { panic!("expected the signature") };
    assert_eq!(check.alg(), Algorithm::ES256);
    let verdict = Native {}.verify(check.key(), check.alg(), check.signing_input(), check.signature());
    // A signature the backend refused is a refusal, whatever the claims.
    let Step::CheckSignature(again) = request::begin(&cfg, &mut caches, head("/api/users", Some(&bearer)), NOW) else {
        panic!("keys are loaded now: straight to the signature")
    };
    let refused = again.finish(&cfg, &mut caches, Err(Error::SignatureInvalid), NOW);
    assert_eq!((code(&refused), refused.status()), ("signature_invalid", 401));
    let allowed = check.finish(&cfg, &mut caches, verdict, NOW);
    assert!(matches!(allowed.verdict, Verdict::Allow(_)), "{allowed:?}");
    assert_eq!(allowed.kid(), Some(issuer.kid.as_str()));
    assert_eq!(allowed.issuer(&cfg), Some(support::ISSUER));
}

#[test]
fn a_cached_token_skips_the_signature_and_asks_for_a_background_refresh_once_past_the_ttl() {
    let issuer = Issuer::eddsa();
    let cfg = gate::config(&[]);
    let mut caches = Caches::new(&cfg, TokenCache::new(16));
    let set = keys(&issuer);
    let backend = Counting(Cell::new(0));
    let bearer = format!("Bearer {}", issuer.id_token(json!({})));
    let serving = std::cell::RefCell::new(set.clone());
    let fetch = |_| FetchOutcome::Loaded { keys: serving.borrow().clone(), max_age: Some(300) };
    let at = || head("/api/users", Some(&bearer));
    let first = request::decide(&cfg, &mut caches, at(), NOW, fetch, &backend);
    assert!(!first.cached && matches!(first.verdict, Verdict::Allow(_)));
    let hit = request::begin(&cfg, &mut caches, at(), NOW + 10);
    let Step::Done(hit) = hit else { panic!("a cached token is decided at once") };
    assert!(hit.cached && hit.refresh.is_none(), "fresh keys: no refresh");
    assert_eq!(backend.0.get(), 1, "one signature for two requests");
    // Past the 300 s TTL: still answered from the cache, with one refresh to run in the background.
    let Step::Done(stale) = request::begin(&cfg, &mut caches, at(), NOW + 301) else { panic!() };
    assert!(stale.cached);
    let refresh = stale.refresh.expect("a refresh is due");
    assert_eq!((refresh.issuer, refresh.reason), (0, FetchReason::Expired));
    let Step::Done(next) = request::begin(&cfg, &mut caches, at(), NOW + 302) else { panic!() };
    assert!(next.refresh.is_none(), "single flight: the refresh is already running");
    // The issuer rotated: the refreshed set no longer has the key, and the cached verdict dies with it.
    *serving.borrow_mut() = keys(&Issuer::rs256());
    assert_eq!(caches.complete(0, fetch(0), NOW + 303), Ok(1));
    let gone = request::decide(&cfg, &mut caches, at(), NOW + 304, fetch, &backend);
    assert_eq!(code(&gone), "key_not_found");
}

#[test]
fn an_unknown_kid_refreshes_once_per_cooldown_and_a_set_without_usable_keys_is_an_outage() {
    let old = Issuer::rs256();
    let rotated = Issuer::rs256().with_kid("rotated");
    let cfg = gate::config(&[]);
    let mut caches = gate::caches(&cfg, 0);
    let sets = [keys(&old), keys(&rotated)];
    let served = Cell::new(0);
    let fetch = |_| {
        served.set(served.get() + 1);
        FetchOutcome::Loaded { keys: sets[usize::from(served.get() > 1)].clone(), max_age: None }
    };
    let bearer = |i: &Issuer| format!("Bearer {}", i.id_token(json!({})));
    let (old_token, new_token) = (bearer(&old), bearer(&rotated));
    let run = |caches: &mut Caches, token: &str, t: u64| {
        request::decide(&cfg, caches, head("/api/users", Some(token)), t, fetch, &RustCrypto)
    };
    assert!(matches!(run(&mut caches, &old_token, NOW).verdict, Verdict::Allow(_)));
    assert_eq!(served.get(), 1);
    // The new kid: one refresh, which brings the rotated set.
    assert!(matches!(run(&mut caches, &new_token, NOW + 1).verdict, Verdict::Allow(_)));
    assert_eq!(served.get(), 2);
    // The old kid is gone now, and within the cooldown it does not cause another fetch.
    assert_eq!(code(&run(&mut caches, &old_token, NOW + 2)), "key_not_found");
    assert_eq!(served.get(), 2, "cooldown: no refetch storm");

    // A key set without a usable key (here: only a 1024-bit RSA key) is never loaded: 503, not 401.
    let weak = Issuer::rsa1024_weak();
    let mut fresh = gate::caches(&cfg, 0);
    let o = gate::decide(&cfg, &mut fresh, "GET", "/api/users", Some(&bearer(&weak)), &keys(&weak), &RustCrypto);
    assert_eq!((code(&o), o.status()), ("keys_unavailable", 503));
}

/// Every outcome a token can produce, judged by the setup page's inspector (for its sample request) and by the
/// gate's pipeline with the configuration the page generates: the same code and the same status.
#[test]
fn the_inspector_and_the_gate_agree_on_every_outcome() {
    let issuer = Issuer::rs256().with_iss("https://id.example.com");
    let input = SetupInput {
        domain: "vpn.example.com".into(),
        issuer: "https://id.example.com".into(),
        mode: Mode::Standalone,
        client_id: "netbird".into(),
        groups: "netbird-users".into(),
        display_name: "QuFabric".into(),
        pkce_ports: "53000".into(),
        upstream: "https://mgmt.internal.example.com".into(),
        cloudflare_zone: "example.com".into(),
        ..SetupInput::default()
    };
    let (findings, plan) = validate(&input);
    let plan = plan.unwrap_or_else(|| panic!("valid form: {findings:?}"));
    let cfg = gate_config(&plan).expect("the page's configuration is valid");
    let jwks = issuer.jwks_json();
    let set = keys(&issuer);
    let stranger = Issuer::es256().with_iss("https://id.example.com").with_kid("stranger");
    let aud = cfg.verifier.issuers()[0].audiences[0].clone();
    let claims = |extra: serde_json::Value| {
        let mut c = support::id_token_claims(NOW, support::SUB, &["netbird-users"]);
        c["aud"] = json!(aud);
        for (k, v) in extra.as_object().unwrap() {
            // `null` removes the claim.
            match v {
                serde_json::Value::Null => drop(c.as_object_mut().unwrap().remove(k)),
                v => c[k] = v.clone(),
            }
        }
        c
    };
    let cases: Vec<(&str, String)> = vec![
        ("allowed", issuer.sign_claims(&claims(json!({})))),
        ("token_malformed", "abc".into()),
        ("token_base64", "a*b.c.d".into()),
        ("issuer_not_trusted", issuer.sign_claims(&claims(json!({"iss": "https://evil.example.com"})))),
        ("audience_mismatch", issuer.sign_claims(&claims(json!({"aud": "someone-else"})))),
        ("token_expired", issuer.sign_claims(&claims(json!({"exp": NOW - 3600, "iat": NOW - 7200})))),
        ("token_not_yet_valid", issuer.sign_claims(&claims(json!({"nbf": NOW + 3600})))),
        ("token_lifetime_too_long", issuer.sign_claims(&claims(json!({"exp": NOW + 90_000, "iat": NOW})))),
        ("claim_missing", issuer.sign_claims(&claims(json!({"sub": null})))),
        ("claim_invalid", issuer.sign_claims(&claims(json!({"sub": ""})))),
        ("groups_missing", issuer.sign_claims(&claims(json!({"groups": []})))),
        ("group_not_allowed", issuer.sign_claims(&claims(json!({"groups": ["guests"]})))),
        ("key_not_found", stranger.sign_claims(&claims(json!({})))),
        ("signature_invalid", {
            let t = issuer.sign_claims(&claims(json!({})));
            let (head, _) = t.rsplit_once('.').unwrap();
            format!("{head}.{}", support::b64([7u8; 256]))
        }),
        ("token_type_not_accepted", issuer.access_token(json!({"aud": aud}))),
    ];
    let mut seen = Vec::new();
    for (expected, token) in &cases {
        let page = block_on(inspect(token, &plan, Some((&plan.issuer, jwks.as_bytes())), &RustCrypto, NOW)).verdict;
        let bearer = format!("Bearer {token}");
        let mut caches = gate::caches(&cfg, 0);
        let gate = gate::decide(&cfg, &mut caches, "GET", SAMPLE_PATH, Some(&bearer), &set, &RustCrypto);
        let gate_code = if matches!(gate.verdict, Verdict::Allow(_)) { "allowed" } else { code(&gate) };
        assert_eq!((page.code.as_str(), page.status), (gate_code, gate.status()), "{expected}");
        assert_eq!(gate_code, *expected, "the case reaches the outcome it is named after");
        seen.push(gate_code);
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), cases.len(), "every case reaches a different outcome: {seen:?}");
}

/// Futures here never wait (the backends are synchronous).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    match std::pin::pin!(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a synchronous backend's future must be ready"),
    }
}
