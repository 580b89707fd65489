//! Group policy: extract the groups claim, check allow / deny lists, choose per-route rules, decide.
//!
//! Semantics follow QuFabric's own JWT group checks: any-of, exact and case-sensitive; a string claim counts as a
//! one-item list; non-string items are ignored; a missing or empty claim is denied (unless the allow list is `*`).
//!
//! The flow of one request is [`decide`] (or [`decide_async`]): route ([`Routes::action`]) → verification (a
//! closure supplied by the adapter, run only when the route needs a token) → group check ([`authorize`]).

mod decision;
mod dex;
#[cfg(test)]
mod fixtures;
mod groups;
mod path;
mod routes;

pub use decision::{Decision, Identity, LocalUsers, authorize, decide, decide_async};
pub use dex::{LOCAL_CONNECTOR, decode_subject, is_local_user};
pub use groups::{Allow, GroupRule, GroupsRef, extract_groups};
pub use path::normalize_path;
pub use routes::{Requirement, RouteAction, RouteRule, Routes, qufabric_default_routes};
