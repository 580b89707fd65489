//! The key-set cache policy: a pure state machine. Time is passed in (unix seconds); the adapter performs the
//! fetches the machine asks for and reports back.
//!
//! Rules (defaults in [`KeyCachePolicy::default`]):
//! - TTL = the response's `max-age`, clamped to `[min_ttl, max_ttl]`; `default_ttl` when the issuer sends no
//!   `max-age` or `no-store`/`no-cache` (PocketID sends `private, no-store`): a gate never refetches per request.
//! - An unknown `kid` triggers at most one refresh per `unknown_kid_cooldown`.
//! - Single flight: while one fetch is in flight no other is started (a fetch older than `fetch_timeout` is
//!   considered lost).
//! - A failed refresh keeps the last good keys, until they are older than `max_stale`; then lookups fail with
//!   [`Error::KeysUnavailable`] (a 503, never a 401).
//! - A successful refresh replaces the set at once: removed keys stop verifying immediately.
//!
//! Deadlines are half-open: keys loaded at `t` with TTL `ttl` are fresh while `now < t + ttl`, served stale while
//! `now < t + ttl + max_stale`; a fetch started at `s` is lost from `now >= s + fetch_timeout`; cooldowns end at
//! `now >= start + cooldown`.
//!
//! An adapter asks [`KeyCache::resolve`] for a token's key (or [`KeyCache::key_set`] for the set) and gets one
//! [`Resolution`]: the key, a fetch to perform (report it with [`KeyCache::complete`], then ask again), a wait for
//! another request's fetch, or a refusal. [`crate::request`] does this for the gate; after a new set is loaded,
//! cached verdicts of removed keys are dropped ([`crate::request::Caches::complete`]).

use std::sync::Arc;

use crate::alg::Algorithm;
use crate::error::Error;
use crate::jwk::KeySet;

/// Tunables of the key-set cache, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyCachePolicy {
    /// Lower bound on a TTL taken from `max-age`. Default 60.
    pub min_ttl: u64,
    /// Upper bound on a TTL taken from `max-age`. Default 86 400 (1 day).
    pub max_ttl: u64,
    /// TTL when the response has no usable `max-age` (absent, `no-store`, `no-cache`). Default 600 (10 min, as
    /// Envoy and jose).
    pub default_ttl: u64,
    /// Minimum time between two refreshes caused by unknown `kid`s. Default 30.
    pub unknown_kid_cooldown: u64,
    /// Minimum time between two attempts after a failed fetch. Default 10.
    pub retry_after_failure: u64,
    /// How long after a fetch was started it is considered lost (single-flight guard). Default 10.
    pub fetch_timeout: u64,
    /// How long past their TTL the last good keys are still served while refreshes fail. Default 21 600 (6 h).
    pub max_stale: u64,
}

impl Default for KeyCachePolicy {
    fn default() -> Self {
        KeyCachePolicy {
            min_ttl: 60,
            max_ttl: 86_400,
            default_ttl: 600,
            unknown_kid_cooldown: 30,
            retry_after_failure: 10,
            fetch_timeout: 10,
            max_stale: 21_600,
        }
    }
}

/// Why the adapter should fetch now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchReason {
    /// Nothing has ever been loaded.
    Initial,
    /// The TTL ran out.
    Expired,
    /// A token named a `kid` the set does not have.
    UnknownKid,
    /// Retrying after a failed fetch.
    Retry,
}

impl FetchReason {
    /// The stable name used in logs: `initial`, `expired`, `unknown_kid`, `retry`.
    pub fn name(self) -> &'static str {
        match self {
            FetchReason::Initial => "initial",
            FetchReason::Expired => "expired",
            FetchReason::UnknownKid => "unknown_kid",
            FetchReason::Retry => "retry",
        }
    }
}

/// What the adapter should do before verifying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Use the current keys; no fetch now ([`KeyCache::keys`] may still fail with [`Error::KeysUnavailable`], e.g.
    /// when a failed fetch is waiting for `retry_after_failure`, or an unknown-`kid` refresh is cooling down).
    UseKeys,
    /// Start a fetch now (this call took the single-flight slot: call [`KeyCache::complete`] when done).
    Fetch(FetchReason),
    /// A fetch is in flight elsewhere: use the current keys if any, or wait for it.
    InFlight,
}

/// The answer of [`KeyCache::key_set`] and [`KeyCache::resolve`].
#[derive(Clone, Debug)]
pub enum Resolution<T> {
    /// Use this.
    Found(T),
    /// Fetch now, for this reason: the call took the single-flight slot ([`KeyCache::complete`] when done).
    Fetch(FetchReason),
    /// Another fetch is in flight: wait for it, then ask again; if it does not end in time, this error stands.
    Wait(Error),
    /// Refused now, no fetch allowed (cooldown, retry delay, no usable key).
    Refused(Error),
}

/// The outcome of a fetch, as the adapter saw it.
#[derive(Clone, Debug)]
pub enum FetchOutcome {
    /// A key set was fetched and parsed. `max_age` is the response's `Cache-Control: max-age`, `None` when it has
    /// none or says `no-store`/`no-cache` (see [`parse_cache_control`]).
    Loaded {
        /// The parsed set.
        keys: KeySet,
        /// Usable `max-age`, if any.
        max_age: Option<u64>,
    },
    /// The fetch failed (network, timeout, status, invalid document); the reason is for logs.
    Failed(Error),
}

/// A key set its source *states*, unlike a fetched one ([`FetchOutcome::Loaded`]): the Traefik plugin's `jwksFile`
/// is the operator's own statement of the keys. It is loaded as it is — an empty set, or one without a usable key,
/// revokes every key at once — whereas a fetched set without a usable key counts as a failed fetch (an issuer that
/// serves `{"keys":[]}` is having an outage): [`crate::request::Caches::state`] vs
/// [`crate::request::Caches::complete`].
#[derive(Clone, Debug, Default)]
pub struct StatedKeys(pub KeySet);

/// The cache: current keys plus the bookkeeping of the rules above.
///
/// Memory: one [`KeySet`] (and, for a moment, the replaced one that a request in flight may still hold), parsed
/// from at most [`MAX_JWKS_BYTES`](crate::jwk::MAX_JWKS_BYTES) (256 KiB): at most
/// [`MAX_KEYS`](crate::jwk::MAX_KEYS) keys, whose strings come from that document, each key at most an 8192-bit
/// RSA modulus, and at most `MAX_KEYS + 1` rejected entries (a `kid` clipped to 64 characters and a short reason).
/// That is under 0.5 MiB per issuer whatever the issuer serves, and nothing here grows with traffic.
#[derive(Debug)]
pub struct KeyCache {
    policy: KeyCachePolicy,
    /// The last good set.
    keys: Option<Arc<KeySet>>,
    /// `now` of the last successful load plus its TTL (meaningful when `keys` is some).
    fresh_until: u64,
    /// Incremented at every successful load.
    generation: u64,
    /// Start of the fetch in flight, if any (the single-flight slot).
    in_flight_since: Option<u64>,
    /// Set when the last fetch failed (or was lost): when the next attempt may start. Cleared by a load.
    retry_at: Option<u64>,
    /// Code of the last failure, for [`Error::KeysUnavailable`] (a stable code: never secrets or URLs).
    failure_code: Option<&'static str>,
    /// Start of the last refresh caused by an unknown `kid`.
    unknown_kid_fetch_at: Option<u64>,
}

/// Extract a usable `max-age` from a `Cache-Control` header value: `None` when absent or when `no-store` or
/// `no-cache` is present.
///
/// Directive names are case-insensitive; `max-age` must be decimal digits (optionally quoted; values too large
/// for `u64` saturate), other values are ignored; the first usable `max-age` counts; `s-maxage` (for shared
/// caches) is ignored.
pub fn parse_cache_control(value: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in value.split(',') {
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return None;
        }
        if max_age.is_none() && name.eq_ignore_ascii_case("max-age") {
            max_age = arg.and_then(parse_seconds);
        }
    }
    max_age
}

fn parse_seconds(arg: &str) -> Option<u64> {
    let digits = arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')).unwrap_or(arg);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0'))))
}

impl KeyCache {
    /// An empty cache with this policy.
    pub fn new(policy: KeyCachePolicy) -> KeyCache {
        KeyCache {
            policy,
            keys: None,
            fresh_until: 0,
            generation: 0,
            in_flight_since: None,
            retry_at: None,
            failure_code: None,
            unknown_kid_fetch_at: None,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &KeyCachePolicy {
        &self.policy
    }

    /// The keys to verify with at `now`: the current set if fresh or stale within `max_stale`.
    /// Errors with [`Error::KeysUnavailable`] when there are none (never loaded, or too stale); its reason says
    /// which, and the stable code of the last fetch failure if any.
    pub fn keys(&self, now: u64) -> Result<Arc<KeySet>, Error> {
        match &self.keys {
            Some(keys) if now < self.fresh_until.saturating_add(self.policy.max_stale) => Ok(Arc::clone(keys)),
            Some(_) => Err(self.unavailable("the last good key set is older than the maximum stale age")),
            None => Err(self.unavailable("the key set has not been loaded yet")),
        }
    }

    fn unavailable(&self, what: &str) -> Error {
        let reason = match self.failure_code {
            Some(code) => format!("{what}; the last fetch failed ({code})"),
            None => what.to_owned(),
        };
        Error::KeysUnavailable { reason }
    }

    /// Whether the current keys are within their TTL at `now`.
    pub fn is_fresh(&self, now: u64) -> bool {
        self.keys.is_some() && now < self.fresh_until
    }

    /// Whether a fetch holds the single-flight slot at `now` (started less than `fetch_timeout` ago).
    pub fn in_flight(&self, now: u64) -> bool {
        self.in_flight_since.is_some_and(|s| now < s.saturating_add(self.policy.fetch_timeout))
    }

    /// Before a lookup: fetch needed (initial, expired, retry due)?
    ///
    /// [`Action::InFlight`] while another fetch holds the slot; [`Action::UseKeys`] when the keys are fresh or a
    /// retry is not due yet (`retry_after_failure` after a failure); else [`Action::Fetch`] (this call takes the
    /// slot) with [`FetchReason::Initial`], [`FetchReason::Expired`] or, after a failure, [`FetchReason::Retry`].
    pub fn poll(&mut self, now: u64) -> Action {
        if self.check_in_flight(now) {
            return Action::InFlight;
        }
        if self.is_fresh(now) {
            return Action::UseKeys;
        }
        if self.retry_pending(now) {
            return Action::UseKeys;
        }
        let reason = if self.retry_at.is_some() {
            FetchReason::Retry
        } else if self.keys.is_none() {
            FetchReason::Initial
        } else {
            FetchReason::Expired
        };
        self.start(now, reason)
    }

    /// After a lookup failed with an unknown `kid`: may a refresh start now (cooldown, single flight)?
    ///
    /// [`Action::InFlight`] while another fetch holds the slot; [`Action::UseKeys`] (the `KeyNotFound` stands)
    /// within `unknown_kid_cooldown` of the last unknown-`kid` refresh or within `retry_after_failure` of a failure;
    /// else [`Action::Fetch`]`(`[`FetchReason::UnknownKid`]`)`.
    pub fn on_unknown_kid(&mut self, now: u64) -> Action {
        if self.check_in_flight(now) {
            return Action::InFlight;
        }
        let cooling =
            self.unknown_kid_fetch_at.is_some_and(|t| now < t.saturating_add(self.policy.unknown_kid_cooldown));
        if cooling || self.retry_pending(now) {
            return Action::UseKeys;
        }
        self.unknown_kid_fetch_at = Some(now);
        self.start(now, FetchReason::UnknownKid)
    }

    /// The usable key set at `now`, in one call (the shape of jose's `RemoteJWKSet.getKey`, for the whole set):
    /// [`Resolution::Found`] (fresh, or stale within `max_stale` while no refresh is due), [`Resolution::Fetch`]
    /// (this call took the single-flight slot), [`Resolution::Wait`] (another fetch is in flight and there is
    /// nothing to serve meanwhile) or [`Resolution::Refused`] ([`Error::KeysUnavailable`]: a failed fetch is
    /// waiting for `retry_after_failure`, or the last good set is too old).
    pub fn key_set(&mut self, now: u64) -> Resolution<Arc<KeySet>> {
        match self.poll(now) {
            Action::Fetch(reason) => Resolution::Fetch(reason),
            Action::InFlight => match self.keys(now) {
                Ok(set) => Resolution::Found(set),
                Err(e) => Resolution::Wait(e),
            },
            Action::UseKeys => match self.keys(now) {
                Ok(set) => Resolution::Found(set),
                Err(e) => Resolution::Refused(e),
            },
        }
    }

    /// The key for a token's `kid` and `alg` at `now`, in one call: [`KeyCache::key_set`], then the key by
    /// [`KeySet::select`]. An unknown `kid` asks for one refresh per `unknown_kid_cooldown`
    /// ([`KeyCache::on_unknown_kid`]): [`Resolution::Fetch`]`(`[`FetchReason::UnknownKid`]`)`, [`Resolution::Wait`]
    /// while another fetch is in flight, else [`Resolution::Refused`]`(`[`Error::KeyNotFound`]`)`. A key that does
    /// not fit `alg` is refused at once. `Found` holds the set and the key's index in it.
    pub fn resolve(&mut self, kid: Option<&str>, alg: Algorithm, now: u64) -> Resolution<(Arc<KeySet>, usize)> {
        let set = match self.key_set(now) {
            Resolution::Found(set) => set,
            Resolution::Fetch(reason) => return Resolution::Fetch(reason),
            Resolution::Wait(e) => return Resolution::Wait(e),
            Resolution::Refused(e) => return Resolution::Refused(e),
        };
        if let Err(e) = set.require_usable() {
            return Resolution::Refused(e);
        }
        match set.select_index(kid, alg) {
            Ok(index) => Resolution::Found((set, index)),
            Err(e) if e.wants_key_refresh() => match self.on_unknown_kid(now) {
                Action::Fetch(reason) => Resolution::Fetch(reason),
                Action::InFlight => Resolution::Wait(e),
                Action::UseKeys => Resolution::Refused(e),
            },
            Err(e) => Resolution::Refused(e),
        }
    }

    /// Report the end of the fetch started by a [`Action::Fetch`]; frees the single-flight slot.
    ///
    /// `Loaded` replaces the set at once (TTL = `max_age` clamped to `[min_ttl, max_ttl]`, or `default_ttl` when
    /// `None`), clears any failure and increments [`KeyCache::generation`]. `Failed` keeps the last good set and
    /// delays the next attempt by `retry_after_failure`.
    pub fn complete(&mut self, outcome: FetchOutcome, now: u64) {
        self.in_flight_since = None;
        match outcome {
            FetchOutcome::Loaded { keys, max_age } => {
                let ttl = match max_age {
                    Some(age) => age.max(self.policy.min_ttl).min(self.policy.max_ttl),
                    None => self.policy.default_ttl,
                };
                self.keys = Some(Arc::new(keys));
                self.fresh_until = now.saturating_add(ttl);
                self.generation = self.generation.wrapping_add(1);
                self.retry_at = None;
                self.failure_code = None;
            }
            FetchOutcome::Failed(error) => {
                self.retry_at = Some(now.saturating_add(self.policy.retry_after_failure));
                self.failure_code = Some(error.code());
            }
        }
    }

    /// The keys' source stopped vouching for them at `at`: their TTL ends there (unless it ended earlier), so they
    /// are served stale for `max_stale` from `at`, then refused. For a source that confirms its keys at every
    /// request (the Traefik plugin's `jwksFile`), `at` is the last confirmation, not the end of a TTL.
    pub fn expire_at(&mut self, at: u64) {
        self.fresh_until = self.fresh_until.min(at);
    }

    /// A monotonically increasing number that changes whenever a new set is loaded (0 before the first load).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the slot is held at `now`; a fetch that outlived `fetch_timeout` is lost: the slot is freed and
    /// the loss counts as a failure whose retry is due at once (the timeout already spaced the attempts).
    fn check_in_flight(&mut self, now: u64) -> bool {
        let Some(started) = self.in_flight_since else {
            return false;
        };
        let deadline = started.saturating_add(self.policy.fetch_timeout);
        if now < deadline {
            return true;
        }
        self.in_flight_since = None;
        self.retry_at = Some(deadline);
        self.failure_code = Some("fetch_timeout");
        false
    }

    fn retry_pending(&self, now: u64) -> bool {
        self.retry_at.is_some_and(|t| now < t)
    }

    fn start(&mut self, now: u64, reason: FetchReason) -> Action {
        self.in_flight_since = Some(now);
        Action::Fetch(reason)
    }
}

#[cfg(test)]
mod tests {
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
        FetchOutcome::Failed(Error::KeysUnavailable {
            reason: "connect to https://id.example.com?secret=s3cr3t".into(),
        })
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
        assert!(matches!(
            c.resolve(Some("k1"), Algorithm::RS256, T0 + 1),
            Resolution::Refused(Error::KeyMismatch { .. })
        ));
        // An unknown kid: one refresh, a wait while it runs, then the cooldown refuses.
        assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 2), Resolution::Fetch(FetchReason::UnknownKid)));
        assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 2), Resolution::Wait(Error::KeyNotFound { .. })));
        c.complete(loaded(None), T0 + 3);
        for t in [T0 + 3, T0 + 31] {
            assert!(matches!(
                c.resolve(Some("k9"), Algorithm::EdDSA, t),
                Resolution::Refused(Error::KeyNotFound { .. })
            ));
        }
        assert!(matches!(c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 32), Resolution::Fetch(FetchReason::UnknownKid)));
        // A failed refresh keeps the last good keys; the unknown kid stands during the retry delay.
        c.complete(failed(), T0 + 33);
        assert!(matches!(c.resolve(Some("k1"), Algorithm::EdDSA, T0 + 34), Resolution::Found(_)));
        assert!(matches!(
            c.resolve(Some("k9"), Algorithm::EdDSA, T0 + 40),
            Resolution::Refused(Error::KeyNotFound { .. })
        ));
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
}
