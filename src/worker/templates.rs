//! The bookkeeping of the forward-auth 200 templates (`respond`): which numbered slot of JavaScript's template
//! array answers for which identity, bounded by count and by bytes, the oldest dropped first.
//!
//! An identity is found by a hash of its content (`key`), so the same user's next token finds the same template.
//! Each entry holds its identity (`T`): a caller compares it with the identity it answers for before using the
//! slot, so two identities whose hashes collide never share a template.

use std::collections::{HashMap, VecDeque};

/// Templates at most: 1024.
pub const MAX_TEMPLATES: usize = 1024;
/// What they may cost in all: 4 MiB.
pub const MAX_TEMPLATE_BYTES: usize = 4 << 20;

struct Entry<T> {
    key: u64,
    held: T,
    cost: usize,
}

/// Slots for at most `max_count` templates costing at most `max_bytes` together.
pub struct Templates<T> {
    by_key: HashMap<u64, u32>,
    slots: Vec<Option<Entry<T>>>,
    /// Occupied slots, oldest first.
    order: VecDeque<u32>,
    free: Vec<u32>,
    bytes: usize,
    max_count: usize,
    max_bytes: usize,
}

/// Where a new template goes.
#[derive(Debug, PartialEq, Eq)]
pub struct Placed {
    /// Its slot.
    pub slot: u32,
    /// Slots whose templates were dropped to make room (JavaScript must let go of them).
    pub evicted: Vec<u32>,
}

impl<T> Templates<T> {
    /// [`MAX_TEMPLATES`] and [`MAX_TEMPLATE_BYTES`].
    pub fn new() -> Templates<T> {
        Templates::with_limits(MAX_TEMPLATES, MAX_TEMPLATE_BYTES)
    }

    /// At most `max_count` templates and `max_bytes`.
    pub fn with_limits(max_count: usize, max_bytes: usize) -> Templates<T> {
        Templates {
            by_key: HashMap::new(),
            slots: Vec::new(),
            order: VecDeque::new(),
            free: Vec::new(),
            bytes: 0,
            max_count,
            max_bytes,
        }
    }

    /// The slot under `key` and the identity it holds, if any (compare it before using the slot).
    pub fn get(&self, key: u64) -> Option<(u32, &T)> {
        let slot = *self.by_key.get(&key)?;
        let entry = self.slots.get(slot as usize)?.as_ref()?;
        Some((slot, &entry.held))
    }

    /// Give `held` (an identity whose hash is `key`) a slot for a template costing `cost` bytes, dropping the
    /// oldest templates until both bounds hold. A template larger than the whole budget gets a slot with nothing
    /// else beside it. Replaces any template under `key`.
    pub fn insert(&mut self, key: u64, held: T, cost: usize) -> Placed {
        let mut evicted = Vec::new();
        if let Some((slot, _)) = self.get(key) {
            self.remove(slot);
            evicted.push(slot);
        }
        while !self.order.is_empty() && (self.order.len() >= self.max_count || self.bytes + cost > self.max_bytes) {
            if let Some(oldest) = self.order.front().copied() {
                self.remove(oldest);
                evicted.push(oldest);
            }
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            (self.slots.len() - 1) as u32
        });
        // A slot evicted above and taken again at once is overwritten by the new template: not let go of.
        evicted.retain(|&s| s != slot);
        self.slots[slot as usize] = Some(Entry { key, held, cost });
        self.by_key.insert(key, slot);
        self.order.push_back(slot);
        self.bytes += cost;
        Placed { slot, evicted }
    }

    /// Drop the template in `slot` (a template JavaScript could not make).
    pub fn remove(&mut self, slot: u32) {
        if let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::take) {
            self.by_key.remove(&entry.key);
            if self.order.front() == Some(&slot) {
                self.order.pop_front();
            } else {
                self.order.retain(|&s| s != slot);
            }
            self.free.push(slot);
            self.bytes -= entry.cost;
        }
    }

    /// Templates held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// What they cost, bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    fn slot<T>(t: &Templates<T>, key: u64) -> Option<u32> {
        t.get(key).map(|(slot, _)| slot)
    }

    #[test]
    fn the_default_bounds_are_1024_templates_and_4_mib() {
        let mut t = Templates::new();
        for key in 0..2000 {
            t.insert(key, (), 100);
        }
        assert_eq!(t.len(), MAX_TEMPLATES);
        let mut t = Templates::new();
        for key in 0..100 {
            t.insert(key, (), 64 << 10);
        }
        assert_eq!((t.len(), t.bytes()), (64, MAX_TEMPLATE_BYTES));
    }

    #[test]
    fn finds_what_it_placed_and_reuses_freed_slots() {
        let mut t = Templates::with_limits(2, 1000);
        assert_eq!(t.insert(10, (), 100), Placed { slot: 0, evicted: vec![] });
        assert_eq!(t.insert(20, (), 100), Placed { slot: 1, evicted: vec![] });
        assert_eq!((slot(&t, 10), slot(&t, 20), slot(&t, 30)), (Some(0), Some(1), None));
        // At the count: the oldest (10, slot 0) goes, and its slot is taken again at once.
        assert_eq!(t.insert(30, (), 100), Placed { slot: 0, evicted: vec![] });
        assert_eq!((slot(&t, 10), slot(&t, 20), slot(&t, 30)), (None, Some(1), Some(0)));
        assert_eq!((t.len(), t.bytes()), (2, 200));
    }

    #[test]
    fn the_byte_budget_drops_the_oldest_until_it_fits() {
        let mut t = Templates::with_limits(100, 1000);
        for a in 0..4 {
            t.insert(a, (), 250);
        }
        // 600 more: the three oldest go (1000 - 3 * 250 + 600 = 850); one slot is reused, two are let go of.
        let placed = t.insert(9, (), 600);
        assert_eq!(placed.slot, 2);
        assert_eq!(placed.evicted, vec![0, 1]);
        assert_eq!((t.len(), t.bytes()), (2, 850));
        assert_eq!(
            (slot(&t, 0), slot(&t, 1), slot(&t, 2), slot(&t, 3), slot(&t, 9)),
            (None, None, None, Some(3), Some(2))
        );
    }

    #[test]
    fn a_template_over_the_whole_budget_stands_alone() {
        let mut t = Templates::with_limits(100, 1000);
        t.insert(1, (), 10);
        let placed = t.insert(2, (), 5000);
        assert_eq!(placed, Placed { slot: 0, evicted: vec![] });
        assert_eq!((t.len(), t.bytes(), slot(&t, 1)), (1, 5000, None));
        // The next one drops it.
        t.insert(3, (), 10);
        assert_eq!((t.len(), t.bytes(), slot(&t, 2)), (1, 10, None));
    }

    #[test]
    fn an_address_placed_again_replaces_its_template() {
        let mut t = Templates::with_limits(10, 1000);
        t.insert(1, (), 10);
        t.insert(2, (), 10);
        let placed = t.insert(1, (), 30);
        assert_eq!(placed, Placed { slot: 0, evicted: vec![] });
        assert_eq!((t.len(), t.bytes(), slot(&t, 1)), (2, 40, Some(0)));
    }

    #[test]
    fn removal_frees_the_slot_and_the_identity() {
        let identity = Rc::new("alice");
        let mut t = Templates::with_limits(10, 1000);
        let placed = t.insert(7, Rc::clone(&identity), 50).slot;
        assert_eq!(t.get(7), Some((placed, &identity)), "the entry holds the identity, for the caller to compare");
        assert_eq!(Rc::strong_count(&identity), 2);
        t.remove(placed);
        assert_eq!(Rc::strong_count(&identity), 1);
        assert_eq!((t.len(), t.bytes(), slot(&t, 7)), (0, 0, None));
        t.remove(placed);
        assert_eq!(t.len(), 0, "removing twice is harmless");
    }

    #[test]
    fn many_inserts_stay_within_both_bounds() {
        let mut t = Templates::with_limits(8, 300);
        let mut live = std::collections::HashSet::new();
        for a in 0..1000u64 {
            let placed = t.insert(a, (), 1 + (a as usize * 37) % 120);
            for e in &placed.evicted {
                assert!(live.remove(e), "evicted slot {e} was live");
            }
            live.insert(placed.slot);
            assert!(t.len() <= 8 && t.bytes() <= 300, "{} templates, {} bytes", t.len(), t.bytes());
            assert!(t.slots.len() <= 8, "slots are reused");
        }
    }
}
