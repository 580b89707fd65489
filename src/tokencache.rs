//! The verified-token cache: a verdict for a token string, reused until the token's `exp`.
//!
//! - Keyed by the SHA-256 of the whole token: no other byte string can hit an entry.
//! - Bounded: at most `capacity` entries (default 10 000); when full, expired entries go first, then the
//!   oldest inserted.
//! - An entry dies at the token's `exp` (no leeway: a miss simply re-verifies) and as soon as its key is no
//!   longer in the issuer's key set.

use std::sync::Arc;

use crate::jwk::KeySet;
use crate::verify::Verified;

/// Default number of entries.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// See the module documentation.
#[derive(Debug)]
pub struct TokenCache {
    capacity: usize,
}

impl TokenCache {
    /// An empty cache holding at most `capacity` entries (0 disables caching).
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache { capacity }
    }

    /// The cached verdict for `token` at `now`, if any and if `key_present` says its key (by
    /// [`Verified::issuer`] and [`Verified::thumbprint`]) is still in its issuer's key set; an entry whose key is
    /// gone is removed.
    pub fn get(&mut self, _token: &str, _now: u64, _key_present: impl Fn(&Verified) -> bool) -> Option<Arc<Verified>> {
        todo!("get")
    }

    /// Remember a successful verification.
    pub fn insert(&mut self, _token: &str, _verified: Arc<Verified>, _now: u64) {
        todo!("insert")
    }

    /// Drop every entry whose key is not in `keys` (call after a key-set reload).
    pub fn retain_keys(&mut self, _issuer: usize, _keys: &KeySet) {
        todo!("retain")
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        todo!("len")
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}
