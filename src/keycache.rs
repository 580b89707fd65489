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
mod tests;
