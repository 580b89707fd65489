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

use std::sync::Arc;

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

/// What the adapter should do before verifying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Use the current keys; no fetch.
    UseKeys,
    /// Start a fetch now (this call took the single-flight slot: call [`KeyCache::complete`] when done).
    Fetch(FetchReason),
    /// A fetch is in flight elsewhere: use the current keys if any, or wait for it.
    InFlight,
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

/// The cache: current keys plus the bookkeeping of the rules above.
#[derive(Debug)]
pub struct KeyCache {
    policy: KeyCachePolicy,
    // Implementation detail: filled in by keycache's implementer.
    keys: Option<Arc<KeySet>>,
}

/// Extract a usable `max-age` from a `Cache-Control` header value: `None` when absent or when `no-store` or
/// `no-cache` is present.
pub fn parse_cache_control(_value: &str) -> Option<u64> {
    todo!("cache-control")
}

impl KeyCache {
    /// An empty cache with this policy.
    pub fn new(policy: KeyCachePolicy) -> KeyCache {
        KeyCache { policy, keys: None }
    }

    /// The policy.
    pub fn policy(&self) -> &KeyCachePolicy {
        &self.policy
    }

    /// The keys to verify with at `now`: the current set if fresh or stale within `max_stale`.
    /// Errors with [`Error::KeysUnavailable`] when there are none (never loaded, or too stale).
    pub fn keys(&self, _now: u64) -> Result<Arc<KeySet>, Error> {
        todo!("keys")
    }

    /// Before a lookup: fetch needed (initial, expired, retry due)?
    pub fn poll(&mut self, _now: u64) -> Action {
        todo!("poll")
    }

    /// After a lookup failed with an unknown `kid`: may a refresh start now (cooldown, single flight)?
    pub fn on_unknown_kid(&mut self, _now: u64) -> Action {
        todo!("unknown kid")
    }

    /// Report the end of the fetch started by a [`Action::Fetch`].
    pub fn complete(&mut self, _outcome: FetchOutcome, _now: u64) {
        todo!("complete")
    }

    /// A monotonically increasing number that changes whenever a new set is loaded.
    pub fn generation(&self) -> u64 {
        todo!("generation")
    }
}
