//! The verified-token cache: a verdict for a token string, reused until the token's `exp`.
//!
//! - Keyed by the whole token: a hit is an exact byte-for-byte match, so no other string can hit an entry.
//!   (The token is kept in memory while cached; `Debug` never shows it.)
//! - Bounded: at most `capacity` entries (default 10 000) and at most [`DEFAULT_MAX_BYTES`] held: each entry
//!   counts its token, its verified identity's strings and a fixed [`ENTRY_OVERHEAD`] ([`entry_cost`]), so no
//!   token shape (300 groups, the largest token the caps admit) can grow the cache past its budget;
//!   when full, expired entries go first, then the oldest inserted.
//! - Optional admission on second sight ([`TokenCache::admit_on_second_sight`], off by default; the Worker turns
//!   it on): a token is cached only when it is verified a second time, so a stream of one-off tokens costs no
//!   inserts and evicts nothing (a token used once gains nothing from the cache). The first sightings are
//!   remembered by their map key (the hash of the token's length and end, below) in a fixed table of
//!   [`SEEN_SLOTS`] slots; a remembered key never admits a token to a lookup, only to an insert after a full
//!   verification.
//! - An entry dies at the token's `exp` (`now >= exp` is a miss and removes it; no leeway: a miss simply
//!   re-verifies) and as soon as its key is no longer in the issuer's key set.
//!
//! Costs: a lookup is one SipHash-1-3 of the token's length and last [`HASHED_SUFFIX`] bytes (its signature: as
//! good as random, and a hit still needs the whole token to match byte for byte), one hash-map probe and one
//! comparison, with no allocation. An insert is amortised
//! O(1): insertion order is a queue with lazy deletion (compacted when it grows past twice the capacity), and
//! expired entries are swept at most once per distinct `now` when the cache is full.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use crate::jwk::KeySet;
use crate::verify::Verified;

/// Default number of entries.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Slots of the first-sighting table used by [`TokenCache::admit_on_second_sight`]: 4096 (32 KiB).
pub const SEEN_SLOTS: usize = 4096;

/// Default budget for what the cache holds: 16 MiB (10 000 PocketID tokens of ~1 KB with their identities take
/// ~13 MB).
pub const DEFAULT_MAX_BYTES: usize = 16 << 20;

/// Bytes of a token's end that its cache key hashes: 64 (all of an EdDSA or ES256 signature's text, the last
/// 48 bytes of an RS256 one).
pub const HASHED_SUFFIX: usize = 64;

struct Entry {
    /// The exact token (a hit compares it whole).
    token: Arc<str>,
    verified: Arc<Verified>,
    /// What this entry counts against the byte budget ([`entry_cost`]).
    cost: usize,
    /// First second at which the entry is dead (`ceil(exp)`).
    dead_at: u64,
    /// Insertion number; matches the live record in `order`.
    seq: u64,
}

/// See the module documentation.
pub struct TokenCache {
    capacity: usize,
    max_bytes: usize,
    /// Sum of the cached tokens' lengths.
    bytes: usize,
    /// By [`TokenCache::key`]: two tokens with the same key replace each other (a lookup never confuses them).
    entries: HashMap<u64, Entry>,
    /// The key's hasher.
    hasher: RandomState,
    /// Insertion order (keys), oldest first; records whose `seq` no longer matches an entry are stale.
    order: VecDeque<(u64, u64)>,
    next_seq: u64,
    /// The `now` of the last sweep of expired entries.
    swept_at: Option<u64>,
    /// First sightings (fingerprints, 0 = empty) when admission on second sight is on.
    seen: Option<Box<[u64]>>,
}

/// Sizes only: never a token.
impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("len", &self.entries.len())
            .field("capacity", &self.capacity)
            .field("bytes", &self.bytes)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
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

/// The fixed bytes of one entry beyond its token and its identity's strings: the `Verified` value and its `Arc`
/// counts, the map's entry (key, value, control byte), the insertion queue's record, and one allocator header per
/// allocation, rounded up.
pub const ENTRY_OVERHEAD: usize =
    std::mem::size_of::<Verified>() + std::mem::size_of::<(u64, Entry)>() + std::mem::size_of::<(u64, u64)>() + 64;

/// What caching `token` with `verified` costs against the byte budget: the token, the identity's heap bytes
/// ([`Verified::heap_bytes`]) and [`ENTRY_OVERHEAD`].
pub fn entry_cost(token: &str, verified: &Verified) -> usize {
    token.len() + verified.heap_bytes() + ENTRY_OVERHEAD
}

impl TokenCache {
    /// An empty cache holding at most `capacity` entries (0 disables caching) and [`DEFAULT_MAX_BYTES`].
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache::with_max_bytes(capacity, DEFAULT_MAX_BYTES)
    }

    /// An empty cache holding at most `capacity` entries and `max_bytes` ([`entry_cost`]; an entry that alone costs
    /// more is not cached).
    pub fn with_max_bytes(capacity: usize, max_bytes: usize) -> TokenCache {
        TokenCache {
            capacity,
            max_bytes,
            bytes: 0,
            entries: HashMap::new(),
            hasher: RandomState::new(),
            order: VecDeque::new(),
            next_seq: 0,
            swept_at: None,
            seen: None,
        }
    }

    /// Cache a token only when it is verified a second time (see the module documentation).
    pub fn admit_on_second_sight(mut self) -> TokenCache {
        self.seen = Some(vec![0; SEEN_SLOTS].into_boxed_slice());
        self
    }

    /// With admission on second sight: whether the token with map key `key` ([`TokenCache::key`]) was seen before
    /// (and if not, remember it).
    fn second_sight(&mut self, key: u64) -> bool {
        let Some(slots) = &mut self.seen else {
            return true;
        };
        let fingerprint = key | 1;
        let slot = &mut slots[(fingerprint as usize) % SEEN_SLOTS];
        if *slot == fingerprint {
            *slot = 0;
            return true;
        }
        *slot = fingerprint;
        false
    }

    /// The cached verdict for `token` at `now`, if any and if `key_present` says its key (by
    /// [`Verified::issuer`] and [`Verified::thumbprint`]) is still in its issuer's key set; an entry whose key is
    /// gone, or that expired (`now >= exp`), is removed.
    pub fn get(&mut self, token: &str, now: u64, key_present: impl Fn(&Verified) -> bool) -> Option<Arc<Verified>> {
        let key = self.key(token);
        let entry = self.entries.get(&key).filter(|e| same_bytes(e.token.as_bytes(), token.as_bytes()))?;
        if now < entry.dead_at && key_present(&entry.verified) {
            return Some(Arc::clone(&entry.verified));
        }
        self.remove(key);
        None
    }

    /// The map key of `token`: its length and its last [`HASHED_SUFFIX`] bytes, hashed.
    fn key(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        self.hasher.hash_one((bytes.len(), &bytes[bytes.len().saturating_sub(HASHED_SUFFIX)..]))
    }

    /// Remember a successful verification. Ignored when caching is disabled, the token is already expired at
    /// `now` or longer than the byte budget; a token already cached is replaced (and counts as newly inserted).
    pub fn insert(&mut self, token: &str, verified: Arc<Verified>, now: u64) {
        let cost = entry_cost(token, &verified);
        if self.capacity == 0 || cost > self.max_bytes {
            return;
        }
        let Some(dead_at) = dead_at(verified.exp) else {
            return;
        };
        let key = self.key(token);
        if now >= dead_at || !self.second_sight(key) {
            return;
        }
        self.remove(key);
        while self.entries.len() >= self.capacity || self.bytes + cost > self.max_bytes {
            if !self.make_room(now) {
                break;
            }
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.bytes += cost;
        self.entries.insert(key, Entry { token: Arc::from(token), verified, cost, dead_at, seq });
        self.order.push_back((key, seq));
        if self.order.len() > self.capacity.saturating_mul(2).saturating_add(16) {
            let entries = &self.entries;
            self.order.retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
    }

    fn remove(&mut self, key: u64) {
        if let Some(entry) = self.entries.remove(&key) {
            self.bytes -= entry.cost;
        }
    }

    /// Free at least one slot: drop expired entries (once per distinct `now`), else the oldest inserted.
    /// `false` when nothing was left to drop.
    fn make_room(&mut self, now: u64) -> bool {
        if self.swept_at != Some(now) {
            self.swept_at = Some(now);
            let before = self.entries.len();
            self.entries.retain(|_, e| now < e.dead_at);
            if self.entries.len() < before {
                self.bytes = self.entries.values().map(|e| e.cost).sum();
                return true;
            }
        }
        while let Some((key, seq)) = self.order.pop_front() {
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                self.remove(key);
                return true;
            }
        }
        false
    }

    /// Drop every entry of issuer `issuer` whose key is not in `keys` (call after a key-set reload).
    pub fn retain_keys(&mut self, issuer: usize, keys: &KeySet) {
        self.entries.retain(|_, e| e.verified.issuer != issuer || keys.contains_thumbprint(&e.verified.thumbprint));
        self.bytes = self.entries.values().map(|e| e.cost).sum();
    }

    /// Drop every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
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

    /// What the entries cost ([`entry_cost`]; at most the budget given to [`TokenCache::with_max_bytes`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// `a == b`. In WebAssembly compared eight bytes at a time ([`same_words`]): its `memcmp` (compiler-builtins) goes
/// byte by byte, which for a ~900-byte token was the largest single cost of a cache hit in the Worker; native
/// `memcmp` is vectorised.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if cfg!(target_arch = "wasm32") { same_words(a, b) } else { a == b }
}

/// `a == b`, eight bytes at a time.
fn same_words(a: &[u8], b: &[u8]) -> bool {
    let ((words_a, rest_a), (words_b, rest_b)) = (a.as_chunks::<8>(), b.as_chunks::<8>());
    a.len() == b.len()
        && rest_a == rest_b
        && words_a.iter().zip(words_b).all(|(x, y)| u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::Algorithm;
    use crate::jwk::{Jwk, KeyMaterial};
    use crate::policy::Identity;

    #[test]
    fn same_words_agrees_with_slice_equality() {
        let base: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..base.len() {
            let a = &base[..len];
            assert!(same_words(a, a));
            assert!(!same_words(a, &base[..len + 1]), "a prefix is not equal");
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_words(a, &b), "a difference at byte {at} of {len}");
            }
        }
    }

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
            identity: Arc::new(Identity { sub: "u1".into(), email: None, preferred_username: None, groups: vec![] }),
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
    fn debug_output_never_shows_a_token() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        let dump = format!("{c:?}");
        assert!(!dump.contains(TOKEN) && !dump.contains("c2lnbmF0dXJl") && !dump.contains("eyJ"), "{dump}");
        assert!(dump.contains("len: 1"), "{dump}");
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
    fn the_byte_budget_is_never_exceeded_and_the_oldest_goes_first() {
        let one = entry_cost(&format!("{:019}", 0), &verified(0, 1, EXP));
        let budget = 5 * one + one / 2;
        let mut c = TokenCache::with_max_bytes(1000, budget);
        for i in 0..50 {
            c.insert(&format!("{i:019}"), verified(0, 1, EXP), T0); // 5 fit
            assert!(c.bytes() <= budget, "{} bytes", c.bytes());
        }
        assert_eq!(c.len(), 5);
        assert_eq!(c.bytes(), 5 * one);
        assert!(c.get(&format!("{:019}", 44), T0, present).is_none());
        for i in 45..50 {
            assert!(c.get(&format!("{i:019}"), T0, present).is_some(), "{i}");
        }
        c.insert(&"x".repeat(budget), verified(0, 1, EXP), T0);
        assert_eq!(c.len(), 5, "a token over the whole budget is not cached and evicts nothing");
        c.insert(&format!("{:019}", 49), verified(0, 2, EXP), T0);
        assert_eq!((c.len(), c.bytes()), (5, 5 * one), "replacing an entry does not count its bytes twice");
        c.retain_keys(0, &KeySet::from_keys(vec![key(2)]));
        assert_eq!((c.len(), c.bytes()), (1, one));
        c.clear();
        assert_eq!((c.len(), c.bytes()), (0, 0));
    }

    /// An identity's groups are part of what an entry holds: tokens with 300 groups fill the budget sooner, and
    /// never past it.
    #[test]
    fn identities_count_against_the_budget() {
        let groups: Vec<String> = (0..300).map(|i| format!("group-{i:04}")).collect();
        let mut big = (*verified(0, 1, EXP)).clone();
        Arc::make_mut(&mut big.identity).groups = groups;
        let big = Arc::new(big);
        let small = entry_cost(TOKEN, &verified(0, 1, EXP));
        assert!(entry_cost(TOKEN, &big) >= small + 300 * (std::mem::size_of::<String>() + 10));
        let budget = 10 * entry_cost(&format!("{TOKEN}00"), &big);
        let mut c = TokenCache::with_max_bytes(10_000, budget);
        for i in 0..100 {
            c.insert(&format!("{TOKEN}{i:02}"), Arc::clone(&big), T0);
            assert!(c.bytes() <= budget, "{} > {budget}", c.bytes());
        }
        assert_eq!(c.len(), 10);
    }

    #[test]
    fn admission_on_second_sight_caches_from_the_second_verification() {
        let mut c = TokenCache::new(DEFAULT_CAPACITY).admit_on_second_sight();
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        assert!(c.get(TOKEN, T0, present).is_none(), "first sight: not cached");
        assert!(c.is_empty());
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        assert!(c.get(TOKEN, T0, present).is_some(), "second sight: cached");
        // One-off tokens never enter, so they never evict anything.
        let mut small = TokenCache::new(2).admit_on_second_sight();
        for t in ["a", "b"] {
            small.insert(t, verified(0, 1, EXP), T0);
            small.insert(t, verified(0, 1, EXP), T0);
        }
        for i in 0..1000 {
            small.insert(&format!("one-off-{i}"), verified(0, 1, EXP), T0);
        }
        assert!(small.get("a", T0, present).is_some() && small.get("b", T0, present).is_some());
        assert_eq!(small.len(), 2);
        // Without admission, the first verification is cached (the default).
        let mut plain = TokenCache::new(DEFAULT_CAPACITY);
        plain.insert(TOKEN, verified(0, 1, EXP), T0);
        assert!(plain.get(TOKEN, T0, present).is_some());
    }

    #[test]
    fn capacity_zero_disables_caching() {
        let mut c = TokenCache::new(0);
        c.insert(TOKEN, verified(0, 1, EXP), T0);
        assert!(c.get(TOKEN, T0, present).is_none());
        assert!(c.is_empty());
        assert_eq!(c.capacity(), 0);
    }

    /// Tokens that share their length and their last bytes share a map key: a lookup of one never returns the
    /// other's verdict, and caching one replaces the other, with the byte count kept exact.
    #[test]
    fn tokens_sharing_a_key_are_never_confused() {
        let tail = "s".repeat(HASHED_SUFFIX);
        let (a, b) = (format!("aaaa.{tail}"), format!("bbbb.{tail}"));
        let mut c = TokenCache::new(DEFAULT_CAPACITY);
        c.insert(&a, verified(0, 1, EXP), T0);
        assert!(c.get(&a, T0, |_| true).is_some());
        assert!(c.get(&b, T0, |_| true).is_none(), "b must not hit a's entry");
        assert!(c.get(&a, T0, |_| true).is_some(), "a failed lookup of b leaves a cached");
        c.insert(&b, verified(0, 2, EXP), T0);
        assert_eq!(c.get(&b, T0, |_| true).map(|v| v.thumbprint), Some([2; 32]));
        assert!(c.get(&a, T0, |_| true).is_none());
        assert_eq!((c.len(), c.bytes()), (1, entry_cost(&b, &verified(0, 2, EXP))));
    }
}
