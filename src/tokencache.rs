//! The verified-token cache: a verdict for a token string, reused until the token's `exp`.
//!
//! - Keyed by the SHA-256 of the whole token: no other byte string can hit an entry. Only the digest is stored,
//!   never the token.
//! - Bounded: at most `capacity` entries (default 10 000); when full, expired entries go first, then the
//!   oldest inserted.
//! - An entry dies at the token's `exp` (`now >= exp` is a miss and removes it; no leeway: a miss simply
//!   re-verifies) and as soon as its key is no longer in the issuer's key set.
//!
//! Costs: a lookup is one SHA-256 of the token and one hash-map probe, with no allocation. A caller that may
//! both look up and insert the same token hashes it once with [`TokenCache::key`] and uses
//! [`TokenCache::get_key`]/[`TokenCache::insert_key`]. An insert is amortised
//! O(1): insertion order is a queue with lazy deletion (compacted when it grows past twice the capacity), and
//! expired entries are swept at most once per distinct `now` when the cache is full.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::jwk::KeySet;
use crate::verify::Verified;

/// Default number of entries.
pub const DEFAULT_CAPACITY: usize = 10_000;

type TokenHash = [u8; 32];

/// A token's cache key: the SHA-256 of the whole token (the token itself is not kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenKey(TokenHash);

#[derive(Debug)]
struct Entry {
    verified: Arc<Verified>,
    /// First second at which the entry is dead (`ceil(exp)`).
    dead_at: u64,
    /// Insertion number; matches the live record in `order`.
    seq: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct TokenCache {
    capacity: usize,
    entries: HashMap<TokenHash, Entry>,
    /// Insertion order, oldest first; records whose `seq` no longer matches an entry are stale.
    order: VecDeque<(TokenHash, u64)>,
    next_seq: u64,
    /// The `now` of the last sweep of expired entries.
    swept_at: Option<u64>,
}

fn digest(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// First whole second at which a token with this `exp` is expired (`now >= exp`); `None` when `exp` is not a
/// usable positive number.
fn dead_at(exp: f64) -> Option<u64> {
    if !exp.is_finite() || exp <= 0.0 {
        return None;
    }
    // Saturating float-to-int conversion: an absurdly far `exp` becomes u64::MAX.
    Some(exp.ceil() as u64)
}

impl TokenCache {
    /// An empty cache holding at most `capacity` entries (0 disables caching).
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache { capacity, entries: HashMap::new(), order: VecDeque::new(), next_seq: 0, swept_at: None }
    }

    /// The cached verdict for `token` at `now`, if any and if `key_present` says its key (by
    /// [`Verified::issuer`] and [`Verified::thumbprint`]) is still in its issuer's key set; an entry whose key is
    /// gone, or that expired (`now >= exp`), is removed.
    pub fn get(&mut self, token: &str, now: u64, key_present: impl Fn(&Verified) -> bool) -> Option<Arc<Verified>> {
        if self.entries.is_empty() {
            return None;
        }
        self.get_key(&TokenCache::key(token), now, key_present)
    }

    /// The cache key of `token` (one SHA-256), for [`TokenCache::get_key`] and [`TokenCache::insert_key`].
    pub fn key(token: &str) -> TokenKey {
        TokenKey(digest(token))
    }

    /// [`TokenCache::get`] by a key from [`TokenCache::key`].
    pub fn get_key(
        &mut self,
        key: &TokenKey,
        now: u64,
        key_present: impl Fn(&Verified) -> bool,
    ) -> Option<Arc<Verified>> {
        let hash = key.0;
        let entry = self.entries.get(&hash)?;
        if now < entry.dead_at && key_present(&entry.verified) {
            return Some(Arc::clone(&entry.verified));
        }
        self.entries.remove(&hash);
        None
    }

    /// Remember a successful verification. Ignored when caching is disabled or the token is already expired at
    /// `now`; a token already cached is replaced (and counts as newly inserted).
    pub fn insert(&mut self, token: &str, verified: Arc<Verified>, now: u64) {
        if self.capacity == 0 {
            return;
        }
        self.insert_key(TokenCache::key(token), verified, now);
    }

    /// [`TokenCache::insert`] by a key from [`TokenCache::key`].
    pub fn insert_key(&mut self, key: TokenKey, verified: Arc<Verified>, now: u64) {
        if self.capacity == 0 {
            return;
        }
        let Some(dead_at) = dead_at(verified.exp) else {
            return;
        };
        if now >= dead_at {
            return;
        }
        let hash = key.0;
        if !self.entries.contains_key(&hash) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.entries.insert(hash, Entry { verified, dead_at, seq });
        self.order.push_back((hash, seq));
        if self.order.len() > self.capacity.saturating_mul(2).saturating_add(16) {
            let entries = &self.entries;
            self.order.retain(|(h, s)| entries.get(h).is_some_and(|e| e.seq == *s));
        }
    }

    /// Free at least one slot: drop expired entries (once per distinct `now`), else the oldest inserted.
    fn make_room(&mut self, now: u64) {
        if self.swept_at != Some(now) {
            self.swept_at = Some(now);
            self.entries.retain(|_, e| now < e.dead_at);
            if self.entries.len() < self.capacity {
                return;
            }
        }
        while let Some((hash, seq)) = self.order.pop_front() {
            if self.entries.get(&hash).is_some_and(|e| e.seq == seq) {
                self.entries.remove(&hash);
                return;
            }
        }
    }

    /// Drop every entry of issuer `issuer` whose key is not in `keys` (call after a key-set reload).
    pub fn retain_keys(&mut self, issuer: usize, keys: &KeySet) {
        self.entries.retain(|_, e| e.verified.issuer != issuer || keys.contains_thumbprint(&e.verified.thumbprint));
    }

    /// Drop every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    /// Number of entries (expired entries not yet removed included).
    pub fn len(&self) -> usize {
        self.entries.len()
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

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::alg::Algorithm;
    use crate::jwk::{Jwk, KeyMaterial};

    const T0: u64 = 1_700_000_000;
    const EXP: f64 = 1_700_003_600.0;
    const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";

    fn verified(issuer: usize, thumb: u8, exp: f64) -> Arc<Verified> {
        Arc::new(Verified {
            issuer,
            alg: Algorithm::RS256,
            kid: Some("k1".into()),
            thumbprint: [thumb; 32],
            exp,
            claims: Map::new(),
        })
    }

    fn present(_: &Verified) -> bool {
        true
    }

    fn key(n: u8) -> Jwk {
        Jwk {
            kid: Some(format!("k{n}")),
            alg: None,
            key_use: None,
            ops_forbid_verify: false,
            material: KeyMaterial::Ed25519 { x: [n; 32] },
            thumbprint: [n; 32],
        }
    }

    #[test]
    fn hit_returns_the_same_verdict() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        let v = verified(0, 1, EXP);
        c.insert(TOKEN, Arc::clone(&v), T0);
        let got = c.get(TOKEN, T0 + 1, present).unwrap();
        assert!(Arc::ptr_eq(&got, &v));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_token_differing_in_one_byte_misses() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        let mut other = TOKEN.as_bytes().to_vec();
        let last = other.len() - 1;
        other[last] ^= 1;
        let other = String::from_utf8(other).unwrap();
        assert!(c.get(&other, T0, present).is_none());
        assert!(c.get(&TOKEN[..TOKEN.len() - 1], T0, present).is_none());
        assert!(c.get(&format!("{TOKEN}x"), T0, present).is_none());
        assert!(c.get(TOKEN, T0, present).is_some());
    }

    #[test]
    fn only_the_digest_is_stored() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        let dump = format!("{c:?}");
        assert!(!dump.contains(TOKEN) && !dump.contains("c2lnbmF0dXJl"));
    }

    #[test]
    fn entry_dies_at_exp() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        assert!(c.get(TOKEN, EXP as u64 - 1, present).is_some());
        assert!(c.get(TOKEN, EXP as u64, present).is_none());
        assert_eq!(c.len(), 0, "an expired entry is removed on lookup");
    }

    #[test]
    fn fractional_exp_rounds_towards_the_safe_side() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert(TOKEN, verified(0, 1, EXP + 0.5), T0);
        assert!(c.get(TOKEN, EXP as u64, present).is_some(), "now < exp");
        assert!(c.get(TOKEN, EXP as u64 + 1, present).is_none(), "now >= exp");
    }

    #[test]
    fn expired_or_unusable_exp_is_not_cached() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert(TOKEN, verified(0, 1, T0 as f64), T0);
        c.insert("b", verified(0, 1, f64::NAN), T0);
        c.insert("c", verified(0, 1, f64::INFINITY), T0);
        c.insert("d", verified(0, 1, -5.0), T0);
        assert!(c.is_empty());
    }

    #[test]
    fn a_removed_key_invalidates_on_lookup() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        assert!(c.get(TOKEN, T0, |v| v.thumbprint != [1; 32]).is_none());
        assert_eq!(c.len(), 0);
        // Gone for good, even if the key came back: the token must be verified again.
        assert!(c.get(TOKEN, T0, present).is_none());
    }

    #[test]
    fn retain_keys_drops_entries_of_removed_keys_of_that_issuer_only() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert("a", verified(0, 1, EXP), T0);
        c.insert("b", verified(0, 2, EXP), T0);
        c.insert("c", verified(1, 1, EXP), T0);
        c.retain_keys(0, &KeySet::from_keys(vec![key(2), key(3)]));
        assert!(c.get("a", T0, present).is_none());
        assert!(c.get("b", T0, present).is_some());
        assert!(c.get("c", T0, present).is_some(), "another issuer's entries stay");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn capacity_is_never_exceeded_and_the_oldest_goes_first() {
        let cap = 50;
        let mut c = TokenCache::new(cap);
        for i in 0..cap * 10 {
            c.insert(&format!("token-{i}"), verified(0, 1, EXP), T0);
            assert!(c.len() <= cap);
            assert!(c.order.len() <= cap * 2 + 16, "the order queue stays bounded");
        }
        assert_eq!(c.len(), cap);
        let n = cap * 10;
        assert!(c.get(&format!("token-{}", n - cap - 1), T0, present).is_none());
        for i in n - cap..n {
            assert!(c.get(&format!("token-{i}"), T0, present).is_some(), "token-{i}");
        }
    }

    #[test]
    fn expired_entries_are_evicted_before_the_oldest() {
        let mut c = TokenCache::new(3);
        c.insert("old-long", verified(0, 1, EXP), T0);
        c.insert("short", verified(0, 1, (T0 + 10) as f64), T0);
        c.insert("young", verified(0, 1, EXP), T0);
        c.insert("new", verified(0, 1, EXP), T0 + 10);
        assert_eq!(c.len(), 3);
        for t in ["old-long", "young", "new"] {
            assert!(c.get(t, T0 + 10, present).is_some(), "{t}");
        }
        assert!(c.get("short", T0 + 5, present).is_none());
    }

    #[test]
    fn reinserting_refreshes_age_without_growing() {
        let mut c = TokenCache::new(2);
        c.insert("a", verified(0, 1, EXP), T0);
        c.insert("b", verified(0, 1, EXP), T0);
        c.insert("a", verified(0, 2, EXP), T0);
        assert_eq!(c.len(), 2);
        c.insert("c", verified(0, 1, EXP), T0);
        assert!(c.get("b", T0, present).is_none(), "b is now the oldest");
        assert_eq!(c.get("a", T0, present).map(|v| v.thumbprint), Some([2; 32]));
        assert!(c.get("c", T0, present).is_some());
        for i in 0..1000 {
            c.insert("a", verified(0, 1, EXP), T0 + i);
        }
        assert!(c.order.len() <= 2 * 2 + 16);
    }

    #[test]
    fn key_api_matches_the_token_api() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        let k = TokenCache::key(TOKEN);
        assert_eq!(k, TokenCache::key(TOKEN));
        assert_ne!(k, TokenCache::key(&TOKEN[..TOKEN.len() - 1]));
        assert!(c.get_key(&k, T0, present).is_none());
        let v = verified(0, 1, EXP);
        c.insert_key(k, Arc::clone(&v), T0);
        assert!(Arc::ptr_eq(&c.get(TOKEN, T0, present).unwrap(), &v), "insert_key then get");
        c.insert("b", verified(0, 2, EXP), T0);
        assert_eq!(c.get_key(&TokenCache::key("b"), T0, present).map(|v| v.thumbprint), Some([2; 32]));
        assert!(c.get_key(&k, EXP as u64, present).is_none(), "dies at exp");
        assert!(!format!("{k:?}").contains(TOKEN));
        let mut off = TokenCache::new(0);
        off.insert_key(k, verified(0, 1, EXP), T0);
        assert!(off.is_empty());
    }

    #[test]
    fn capacity_zero_disables_caching() {
        let mut c = TokenCache::new(0);
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        assert!(c.get(TOKEN, T0, present).is_none());
        assert!(c.is_empty());
        assert_eq!(c.capacity(), 0);
    }
}
