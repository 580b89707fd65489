//! Verifications parked while WebCrypto checks their signature, without a Rust future: the entry module
//! (`shim.js`) chains the signature's promise to `entry::resume` with the number [`park`] gave.
//!
//! At most [`CAPACITY`] at once; beyond that [`park`] refuses and the caller awaits the promise in a future
//! instead. Each entry is taken exactly once (the promise settles once and both of its outcomes resume).
//!
//! Memory: the table itself is bounded by count (4096 slots of a [`Parked`], a few hundred bytes each with the
//! map's control bytes: about 1 MiB). What a parked request owns (its token, at most `token::Limits::max_token`
//! bytes, and what the core parsed from it) belongs to a request in flight: it is freed when the request is
//! answered, and a request the table refuses holds the same data in its future. A byte budget here would therefore
//! not bound the isolate; what bounds it is the number of requests in flight at once.

use std::cell::RefCell;
use std::rc::Rc;

use super::slab::Slab;
use super::state::Gate;
use crate::request::Check;

/// Parked verifications per isolate: 4096.
pub const CAPACITY: usize = 4096;

/// A parked request: its verification and what its answer and log line need.
pub struct Parked {
    /// The isolate's gate.
    pub gate: Rc<Gate>,
    /// The signature check in flight.
    pub check: Check,
    /// Request method, for the log.
    pub method: String,
    /// Request path, for the log.
    pub path: String,
    /// When the request started, unix milliseconds.
    pub started: u64,
}

thread_local! {
    static PARKED: RefCell<Slab<Parked>> = RefCell::new(Slab::new(CAPACITY));
}

/// Park `p`: its number, or `p` back when [`CAPACITY`] requests are already parked.
pub fn park(p: Parked) -> Result<u32, Box<Parked>> {
    PARKED.with(|s| s.borrow_mut().put(p).map_err(Box::new))
}

/// Take parked request `id` (once).
pub fn take(id: u32) -> Option<Parked> {
    PARKED.with(|s| s.borrow_mut().take(id))
}
