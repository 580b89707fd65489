//! A bounded table of values under small numbers, each taken back exactly once: what the Worker parks while
//! WebCrypto checks a signature (see `waiting`). Numbers are reused only after their value was taken.

use std::collections::HashMap;

/// At most `capacity` values at once.
#[derive(Debug)]
pub struct Slab<T> {
    capacity: usize,
    next: u32,
    values: HashMap<u32, T>,
}

impl<T> Slab<T> {
    /// An empty table for at most `capacity` values.
    pub fn new(capacity: usize) -> Slab<T> {
        Slab { capacity, next: 0, values: HashMap::new() }
    }

    /// Store `value`: its number, or the value back when the table is full.
    pub fn put(&mut self, value: T) -> Result<u32, T> {
        if self.values.len() >= self.capacity {
            return Err(value);
        }
        let mut id = self.next;
        while self.values.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next = id.wrapping_add(1);
        self.values.insert(id, value);
        Ok(id)
    }

    /// Take the value stored under `id` (once).
    pub fn take(&mut self, id: u32) -> Option<T> {
        self.values.remove(&id)
    }

    /// Number of values stored.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_comes_back_once_under_its_own_number() {
        let mut s = Slab::new(8);
        let ids: Vec<u32> = (0..8).map(|i| s.put(i * 10).unwrap()).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 8);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(s.take(*id), Some(i * 10));
            assert_eq!(s.take(*id), None, "taken once");
        }
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn a_full_table_gives_the_value_back() {
        let mut s = Slab::new(2);
        let a = s.put("a").unwrap();
        s.put("b").unwrap();
        assert_eq!(s.put("c"), Err("c"));
        assert_eq!(s.len(), 2);
        s.take(a);
        assert!(s.put("c").is_ok(), "room again after a take");
    }

    #[test]
    fn numbers_wrap_around_without_reusing_a_live_one() {
        let mut s = Slab::new(4);
        s.next = u32::MAX;
        let a = s.put(1).unwrap();
        let b = s.put(2).unwrap();
        assert_eq!((a, b), (u32::MAX, 0));
        s.next = u32::MAX;
        let c = s.put(3).unwrap();
        assert_ne!(c, a);
        assert_ne!(c, b);
        assert_eq!(s.take(a), Some(1));
        assert_eq!(s.take(c), Some(3));
    }
}
