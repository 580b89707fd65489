//! Verifications parked while WebCrypto checks their signature, without a Rust future: the entry module
//! (`shim.js`) chains the signature's promise to [`super::entry::resume`] with the number [`park`] gave.
//!
//! At most [`CAPACITY`] at once; beyond that [`park`] refuses and the caller awaits the promise in a future
//! instead. Each entry is taken exactly once (the promise settles once and both of its outcomes resume).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::auth::Waiting;
use super::state::Gate;

/// Parked verifications per isolate: 4096.
pub const CAPACITY: usize = 4096;

/// A parked request: its verification and what its answer and log line need.
pub struct Parked {
    /// The isolate's gate.
    pub gate: Rc<Gate>,
    /// The verification in flight.
    pub waiting: Waiting,
    /// Request method, for the log.
    pub method: String,
    /// Request path, for the log.
    pub path: String,
    /// When the request started, unix milliseconds.
    pub started: u64,
}

#[derive(Default)]
struct Slots {
    next: u32,
    parked: HashMap<u32, Parked>,
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
}

/// Park `p`: its number, or `p` back when [`CAPACITY`] requests are already parked.
pub fn park(p: Parked) -> Result<u32, Box<Parked>> {
    SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        if s.parked.len() >= CAPACITY {
            return Err(Box::new(p));
        }
        let mut id = s.next;
        while s.parked.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        s.next = id.wrapping_add(1);
        s.parked.insert(id, p);
        Ok(id)
    })
}

/// Take parked request `id` (once).
pub fn take(id: u32) -> Option<Parked> {
    SLOTS.with(|s| s.borrow_mut().parked.remove(&id))
}
