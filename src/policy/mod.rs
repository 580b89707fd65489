//! Group policy: extract the groups claim, check allow / deny lists, choose per-route rules, authorize.
//!
//! Semantics follow QuFabric's own JWT group checks: any-of, exact and case-sensitive; a string claim counts as a
//! one-item list; non-string items are ignored; a missing or empty claim is denied (unless the allow list is `*`).
//!
//! A request's route comes from [`Routes::action`] (its method made canonical by [`Method`], its path by
//! [`normalize_path`]); once its token is verified, [`authorize`] gives the verdict. The order of the whole request
//! is [`crate::request`].

mod decision;
mod dex;
#[cfg(test)]
mod fixtures;
mod groups;
mod method;
mod path;
mod public;
mod routes;

pub use decision::{Decision, Identity, LocalUsers, authorize};
pub use dex::{LOCAL_CONNECTOR, decode_subject, is_local_user};
pub use groups::{Allow, GroupRule};
pub use method::Method;
pub use path::normalize_path;
pub use public::{NETBIRD_PUBLIC_API, PublicRoute};
pub use routes::{Requirement, RouteAction, RouteRule, Routes, qufabric_default_routes};
