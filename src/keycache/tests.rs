//! The key-set cache policy's tests: Cache-Control, TTLs, single flight, cooldowns, the stale window and refusals,
//! with the time passed in by hand.

use super::*;
use crate::jwk::{Jwk, KeyMaterial};

const T0: u64 = 1_700_000_000;

fn key(kid: &str, n: u8) -> Jwk {
    Jwk {
        kid: Some(kid.into()),
        alg: None,
        key_use: None,
        ops_forbid_verify: false,
        material: KeyMaterial::Ed25519 { x: [n; 32] },
        thumbprint: [n; 32],
    }
}

fn set(kids: &[(&str, u8)]) -> KeySet {
    KeySet::from_keys(kids.iter().map(|(k, n)| key(k, *n)).collect())
}

fn loaded(max_age: Option<u64>) -> FetchOutcome {
    FetchOutcome::Loaded { keys: set(&[("k1", 1)]), max_age }
}

fn failed() -> FetchOutcome {
    FetchOutcome::Failed(Error::KeysUnavailable { reason: "connect to https://id.example.com?secret=s3cr3t".into() })
}

/// A cache loaded at T0 with `max_age` (through the normal poll → fetch → complete flow).
fn cache_loaded_at_t0(max_age: Option<u64>) -> KeyCache {
    let mut c = KeyCache::new(KeyCachePolicy::default());
    assert_eq!(c.poll(T0), Action::Fetch(FetchReason::Initial));
    c.complete(loaded(max_age), T0);
    c
}

fn reason(e: Error) -> String {
    match e {
        Error::KeysUnavailable { reason } => reason,
        other => panic!("expected keys_unavailable, got {other:?}"),
    }
}

// ---- parse_cache_control ----

#[test]
fn cache_control_max_age() {
    assert_eq!(parse_cache_control("max-age=300"), Some(300));
    assert_eq!(parse_cache_control("public, max-age=0"), Some(0));
    assert_eq!(parse_cache_control("Public, MAX-AGE=120, must-revalidate"), Some(120));
    assert_eq!(parse_cache_control(" max-age = 60 "), Some(60));
    assert_eq!(parse_cache_control("max-age=\"90\""), Some(90));
    assert_eq!(parse_cache_control("max-age=99999999999999999999999"), Some(u64::MAX));
}

#[test]
fn cache_control_no_store_and_no_cache_win() {
    assert_eq!(parse_cache_control("private, no-store"), None);
    assert_eq!(parse_cache_control("max-age=300, no-store"), None);
    assert_eq!(parse_cache_control("NO-CACHE, max-age=300"), None);
    assert_eq!(parse_cache_control("no-cache=\"set-cookie\", max-age=300"), None);
}

#[test]
fn cache_control_bad_values_and_s_maxage_are_ignored() {
    assert_eq!(parse_cache_control(""), None);
    assert_eq!(parse_cache_control("private"), None);
    assert_eq!(parse_cache_control("s-maxage=600"), None);
    assert_eq!(parse_cache_control("s-maxage=600, max-age=60"), Some(60));
    for bad in ["max-age", "max-age=", "max-age=-1", "max-age=1.5", "max-age=abc", "max-age=+5", "max-age=\"\""] {
        assert_eq!(parse_cache_control(bad), None, "{bad:?}");
    }
    assert_eq!(parse_cache_control("max-age=x, max-age=30"), Some(30));
    assert_eq!(parse_cache_control("max-age=30, max-age=40"), Some(30));
    assert_eq!(parse_cache_control("x-max-age=30"), None);
}

// ---- initial load, keys() ----

#[test]
fn empty_cache_has_no_keys_and_asks_for_an_initial_fetch() {
    let mut c = KeyCache::new(KeyCachePolicy::default());
    assert_eq!(c.generation(), 0);
    assert_eq!(reason(c.keys(T0).unwrap_err()), "the key set has not been loaded yet");
    assert_eq!(c.poll(T0), Action::Fetch(FetchReason::Initial));
    assert_eq!(c.poll(T0), Action::InFlight);
    c.complete(loaded(None), T0 + 1);
    assert_eq!(c.generation(), 1);
    assert!(c.keys(T0 + 1).unwrap().contains_thumbprint(&[1; 32]));
    assert_eq!(c.poll(T0 + 1), Action::UseKeys);
}

#[test]
fn failed_initial_fetch_is_keys_unavailable_without_secrets() {
    let mut c = KeyCache::new(KeyCachePolicy::default());
    assert_eq!(c.poll(T0), Action::Fetch(FetchReason::Initial));
    c.complete(failed(), T0);
    let err = c.keys(T0).unwrap_err();
    assert_eq!(err.code(), "keys_unavailable");
    assert_eq!(err.http_status(), 503);
    let r = reason(err);
    assert_eq!(r, "the key set has not been loaded yet; the last fetch failed (keys_unavailable)");
    assert!(!r.contains("secret") && !r.contains("https"));
    // Retry only after retry_after_failure (10 s); meanwhile no fetch and still no keys.
    assert_eq!(c.poll(T0 + 9), Action::UseKeys);
    assert_eq!(c.keys(T0 + 9).unwrap_err().code(), "keys_unavailable");
    assert_eq!(c.poll(T0 + 10), Action::Fetch(FetchReason::Retry));
}

// ---- TTL ----

#[test]
fn ttl_from_max_age_expires_at_the_exact_second() {
    let mut c = cache_loaded_at_t0(Some(300));
    assert_eq!(c.poll(T0 + 299), Action::UseKeys);
    assert!(c.is_fresh(T0 + 299));
    assert!(!c.is_fresh(T0 + 300));
    assert_eq!(c.poll(T0 + 300), Action::Fetch(FetchReason::Expired));
}

#[test]
fn ttl_is_clamped_to_the_floor() {
    for age in [0, 1, 59] {
        let mut c = cache_loaded_at_t0(Some(age));
        assert_eq!(c.poll(T0 + 59), Action::UseKeys, "max-age {age}");
        assert_eq!(c.poll(T0 + 60), Action::Fetch(FetchReason::Expired), "max-age {age}");
    }
}

#[test]
fn ttl_is_clamped_to_the_ceiling() {
    let mut c = cache_loaded_at_t0(Some(u64::MAX));
    assert_eq!(c.poll(T0 + 86_399), Action::UseKeys);
    assert_eq!(c.poll(T0 + 86_400), Action::Fetch(FetchReason::Expired));
}

#[test]
fn no_store_uses_the_default_ttl() {
    let mut c = cache_loaded_at_t0(parse_cache_control("private, no-store"));
    for t in [T0, T0 + 1, T0 + 300, T0 + 599] {
        assert_eq!(c.poll(t), Action::UseKeys, "t={t}");
    }
    assert_eq!(c.poll(T0 + 600), Action::Fetch(FetchReason::Expired));
}

#[test]
fn clamp_does_not_panic_with_inverted_bounds() {
    let policy = KeyCachePolicy { min_ttl: 100, max_ttl: 10, ..KeyCachePolicy::default() };
    let mut c = KeyCache::new(policy);
    assert_eq!(c.poll(T0), Action::Fetch(FetchReason::Initial));
    c.complete(loaded(Some(50)), T0);
    assert_eq!(c.poll(T0 + 9), Action::UseKeys);
    assert_eq!(c.poll(T0 + 10), Action::Fetch(FetchReason::Expired));
}

// ---- single flight, lost fetches ----

#[test]
fn concurrent_pollers_get_one_fetch_and_the_others_in_flight() {
    let mut c = cache_loaded_at_t0(Some(60));
    let actions: Vec<Action> = (0..20).map(|_| c.poll(T0 + 60)).collect();
    assert_eq!(actions[0], Action::Fetch(FetchReason::Expired));
    assert!(actions[1..].iter().all(|a| *a == Action::InFlight));
    // While in flight the old keys are still served, and unknown kids do not start a second fetch.
    assert!(c.keys(T0 + 61).unwrap().contains_thumbprint(&[1; 32]));
    assert_eq!(c.on_unknown_kid(T0 + 61), Action::InFlight);
    assert!(c.in_flight(T0 + 69));
}

#[test]
fn lost_fetch_frees_the_slot_after_fetch_timeout() {
    let mut c = KeyCache::new(KeyCachePolicy::default());
    assert_eq!(c.poll(T0), Action::Fetch(FetchReason::Initial));
    assert_eq!(c.poll(T0 + 9), Action::InFlight);
    assert!(!c.in_flight(T0 + 10));
    assert_eq!(c.poll(T0 + 10), Action::Fetch(FetchReason::Retry));
    assert_eq!(c.poll(T0 + 10), Action::InFlight);
    assert_eq!(
        reason(c.keys(T0 + 10).unwrap_err()),
        "the key set has not been loaded yet; the last fetch failed (fetch_timeout)"
    );
    // A late completion of either fetch is still accepted.
    c.complete(loaded(None), T0 + 12);
    assert_eq!(c.generation(), 1);
    assert_eq!(c.poll(T0 + 12), Action::UseKeys);
}

#[test]
fn lost_unknown_kid_fetch_frees_the_slot_too() {
    let mut c = cache_loaded_at_t0(None);
    assert_eq!(c.on_unknown_kid(T0 + 100), Action::Fetch(FetchReason::UnknownKid));
    assert_eq!(c.poll(T0 + 109), Action::InFlight);
    assert_eq!(c.poll(T0 + 110), Action::UseKeys); // fresh keys; the lost fetch is forgotten
    assert_eq!(c.on_unknown_kid(T0 + 110), Action::UseKeys); // cooldown from T0 + 100
    assert_eq!(c.on_unknown_kid(T0 + 130), Action::Fetch(FetchReason::UnknownKid));
}

// ---- unknown kid cooldown ----

#[test]
fn unknown_kid_flood_gives_one_fetch_per_cooldown() {
    let mut c = cache_loaded_at_t0(None);
    let mut fetches = Vec::new();
    // 1000 unknown-kid lookups per second for 95 s; each fetch completes 1 s later with the same set.
    for t in T0 + 1..T0 + 96 {
        if c.in_flight(t) {
            c.complete(loaded(None), t);
        }
        for _ in 0..1000 {
            match c.on_unknown_kid(t) {
                Action::Fetch(r) => {
                    assert_eq!(r, FetchReason::UnknownKid);
                    fetches.push(t);
                }
                Action::UseKeys | Action::InFlight => {}
            }
        }
    }
    assert_eq!(fetches, vec![T0 + 1, T0 + 31, T0 + 61, T0 + 91]);
}

#[test]
fn resolve_answers_key_fetch_wait_or_refused() {
    let mut c = KeyCache::new(KeyCachePolicy::default());
    assert!(matches!(c.resolve(Some("k1"), Algorithm::EdDSA, T0), Resolution::Fetch(FetchReason::Initial)));
    match c.resolve(Some("k1"), Algorithm::EdDSA, T0) {
        Resolution::Wait(e) => assert_eq!(e.code(), "keys_unavailable"),
        other => panic!("expected a wait for the initial fetch, got {other:?}"),
    }
    c.complete(loaded(None), T0 + 1);
    assert!(matches!(c.resolve(Some("k1"), Algorithm::EdDSA, T0 + 1), Resolution::Found((_, 0))));
    // The key exists but does not fit the algorithm: refused, no refresh.
    assert!(matches!(c.resolve(Some("k1"), Algorithm::RS256, T0 + 1), Resolution::Refused(Error::KeyMismatch { .. })));
    // An unknown kid: one refresh, a wait while it runs, then the cooldown refuses.
    assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 2), Resolution::Fetch(FetchReason::UnknownKid)));
    assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 2), Resolution::Wait(Error::KeyNotFound { .. })));
    c.complete(loaded(None), T0 + 3);
    for t in [T0 + 3, T0 + 31] {
        assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, t), Resolution::Refused(Error::KeyNotFound { .. })));
    }
    assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 32), Resolution::Fetch(FetchReason::UnknownKid)));
    // A failed refresh keeps the last good keys; the unknown kid stands during the retry delay.
    c.complete(failed(), T0 + 33);
    assert!(matches!(c.resolve(Some("k1"), Algorithm::EdDSA, T0 + 34), Resolution::Found(_)));
    assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 40), Resolution::Refused(Error::KeyNotFound { .. })));
    // Past the retry delay and the cooldown, the unknown kid may ask again.
    assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 70), Resolution::Fetch(FetchReason::UnknownKid)));
}

#[test]
fn key_set_refuses_during_the_retry_delay_and_past_max_stale() {
    let mut c = KeyCache::new(KeyCachePolicy::default());
    assert!(matches!(c.key_set(T0), Resolution::Fetch(FetchReason::Initial)));
    c.complete(failed(), T0);
    assert!(matches!(c.key_set(T0 + 5), Resolution::Refused(Error::KeysUnavailable { .. })));
    assert!(matches!(c.key_set(T0 + 10), Resolution::Fetch(FetchReason::Retry)));
    c.complete(loaded(None), T0 + 10);
    assert!(matches!(c.key_set(T0 + 609), Resolution::Found(_)));
    assert!(matches!(c.key_set(T0 + 610), Resolution::Fetch(FetchReason::Expired)));
    // While the refresh runs, the stale set is served.
    assert!(matches!(c.key_set(T0 + 611), Resolution::Found(_)));
}

#[test]
fn unknown_kid_cooldown_boundary() {
    let mut c = cache_loaded_at_t0(None);
    assert_eq!(c.on_unknown_kid(T0 + 5), Action::Fetch(FetchReason::UnknownKid));
    c.complete(loaded(None), T0 + 5);
    assert_eq!(c.on_unknown_kid(T0 + 34), Action::UseKeys);
    assert_eq!(c.on_unknown_kid(T0 + 35), Action::Fetch(FetchReason::UnknownKid));
}

#[test]
fn unknown_kid_waits_for_retry_after_a_failure() {
    let mut c = cache_loaded_at_t0(None);
    assert_eq!(c.on_unknown_kid(T0 + 5), Action::Fetch(FetchReason::UnknownKid));
    c.complete(failed(), T0 + 6);
    // Cooldown (until T0 + 35) dominates here; after it, the failure's retry is long due.
    assert_eq!(c.on_unknown_kid(T0 + 34), Action::UseKeys);
    assert_eq!(c.on_unknown_kid(T0 + 35), Action::Fetch(FetchReason::UnknownKid));
    c.complete(failed(), T0 + 35);
    // Expiry-driven polls also respect retry_after_failure.
    assert_eq!(c.poll(T0 + 600), Action::Fetch(FetchReason::Retry));
    c.complete(failed(), T0 + 600);
    assert_eq!(c.on_unknown_kid(T0 + 609), Action::UseKeys);
    assert_eq!(c.on_unknown_kid(T0 + 610), Action::Fetch(FetchReason::UnknownKid));
}

// ---- stale serving ----

#[test]
fn stale_keys_are_served_after_failures_up_to_max_stale() {
    let mut c = cache_loaded_at_t0(Some(300)); // fresh until T0 + 300, stale until T0 + 300 + 21 600
    assert_eq!(c.poll(T0 + 300), Action::Fetch(FetchReason::Expired));
    c.complete(failed(), T0 + 301);
    assert_eq!(c.generation(), 1);
    assert_eq!(c.poll(T0 + 310), Action::UseKeys);
    assert!(c.keys(T0 + 310).unwrap().contains_thumbprint(&[1; 32]));
    assert_eq!(c.poll(T0 + 311), Action::Fetch(FetchReason::Retry));
    c.complete(failed(), T0 + 311);
    let last = T0 + 300 + 21_600;
    assert!(c.keys(last - 1).is_ok());
    let err = c.keys(last).unwrap_err();
    assert_eq!(err.http_status(), 503);
    assert_eq!(
        reason(err),
        "the last good key set is older than the maximum stale age; the last fetch failed (keys_unavailable)"
    );
}

#[test]
fn success_after_failures_clears_them() {
    let mut c = cache_loaded_at_t0(Some(300));
    assert_eq!(c.poll(T0 + 300), Action::Fetch(FetchReason::Expired));
    c.complete(failed(), T0 + 300);
    assert_eq!(c.poll(T0 + 310), Action::Fetch(FetchReason::Retry));
    c.complete(loaded(Some(300)), T0 + 310);
    assert_eq!(c.generation(), 2);
    assert_eq!(c.poll(T0 + 609), Action::UseKeys);
    assert_eq!(c.poll(T0 + 610), Action::Fetch(FetchReason::Expired));
}

#[test]
fn expire_at_starts_the_stale_window_at_the_last_confirmation() {
    let policy = KeyCachePolicy { max_stale: 30, ..KeyCachePolicy::default() };
    let mut c = KeyCache::new(policy);
    assert_eq!(c.poll(T0), Action::Fetch(FetchReason::Initial));
    c.complete(loaded(Some(86_400)), T0);
    c.expire_at(T0 + 100);
    assert!(!c.is_fresh(T0 + 100));
    c.complete(failed(), T0 + 105);
    assert!(c.keys(T0 + 129).is_ok(), "stale within max_stale of the last confirmation");
    assert_eq!(c.keys(T0 + 130).unwrap_err().code(), "keys_unavailable");
    c.expire_at(T0 + 120); // a later confirmation never extends the window
    assert_eq!(c.keys(T0 + 130).unwrap_err().code(), "keys_unavailable");
    let mut zero = KeyCache::new(KeyCachePolicy { max_stale: 0, ..KeyCachePolicy::default() });
    zero.complete(loaded(None), T0);
    zero.expire_at(T0 + 5);
    assert!(zero.keys(T0 + 5).is_err(), "max_stale 0: refused at once");
}

// ---- rotation ----

#[test]
fn rotation_replaces_the_set_at_once() {
    let mut c = KeyCache::new(KeyCachePolicy::default());
    assert_eq!(c.poll(T0), Action::Fetch(FetchReason::Initial));
    c.complete(FetchOutcome::Loaded { keys: set(&[("old", 1)]), max_age: None }, T0);
    let before = c.keys(T0).unwrap();
    assert!(before.select(Some("old"), Algorithm::EdDSA).is_ok());
    assert_eq!(before.select(Some("new"), Algorithm::EdDSA), Err(Error::KeyNotFound { kid: Some("new".into()) }));

    assert_eq!(c.on_unknown_kid(T0 + 100), Action::Fetch(FetchReason::UnknownKid));
    c.complete(FetchOutcome::Loaded { keys: set(&[("new", 2)]), max_age: None }, T0 + 101);
    assert_eq!(c.generation(), 2);
    let after = c.keys(T0 + 101).unwrap();
    assert!(after.select(Some("new"), Algorithm::EdDSA).is_ok());
    assert_eq!(after.select(Some("old"), Algorithm::EdDSA), Err(Error::KeyNotFound { kid: Some("old".into()) }));
    assert!(!after.contains_thumbprint(&[1; 32]));
    // A holder of the old Arc still sees the old set; the cache does not.
    assert!(before.contains_thumbprint(&[1; 32]));
    // A new TTL starts at the reload.
    assert_eq!(c.poll(T0 + 700), Action::UseKeys);
    assert_eq!(c.poll(T0 + 701), Action::Fetch(FetchReason::Expired));
}
