//! Group policy: extract the groups claim, check allow / deny lists, choose per-route rules, decide.
//!
//! Semantics follow QuFabric's own JWT group checks: any-of, exact and case-sensitive; a string claim counts as a
//! one-item list; non-string items are ignored; a missing or empty claim is denied (unless the allow list is `*`).

use serde_json::{Map, Value};

use crate::error::Error;

/// Who may pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allow {
    /// `*`: any verified user, groups or not.
    AnyUser,
    /// Members of at least one of these groups (exact, case-sensitive).
    Groups(Vec<String>),
}

/// An allow list plus an optional deny list (deny wins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRule {
    /// Who may pass.
    pub allow: Allow,
    /// Members of any of these groups never pass. Default empty.
    pub deny: Vec<String>,
}

impl GroupRule {
    /// Parse an allow list as written in configuration (`ALLOW_GROUPS`): comma-separated, items trimmed,
    /// `*` alone means any user. Empty items, duplicates, an empty list, and `*` mixed with groups are errors
    /// naming `setting`.
    pub fn parse_allow(_setting: &str, _list: &str) -> Result<Allow, Error> {
        todo!("parse allow")
    }

    /// Check a user's groups (`None` = the claim is absent). Order: deny list, then allow list.
    /// Errors: [`Error::GroupDenied`], [`Error::GroupsMissing`], [`Error::GroupNotAllowed`].
    pub fn check(&self, _groups: Option<&[String]>) -> Result<(), Error> {
        todo!("check")
    }
}

/// Extract the groups from verified claims: the literal member `claim` first (so `cognito:groups` or a name
/// with dots works), then a dotted path (`realm_access.roles`). `None` when absent; a string is a one-item list;
/// non-string array items are ignored; any other type counts as absent.
pub fn extract_groups(_claims: &Map<String, Value>, _claim: &str) -> Option<Vec<String>> {
    todo!("extract")
}

/// What a route requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteAction {
    /// Pass without a token (the upstream authenticates by itself).
    Bypass,
    /// Require a verified user; `None` uses the issuer's default group rule.
    Authenticate(Option<GroupRule>),
}

/// One route rule: a path prefix (segment-aware: `/api` matches `/api` and `/api/x`, not `/apix`; a prefix
/// ending in `/` matches below it) and optional methods (upper-case; `None` = any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRule {
    /// Path prefix, starting with `/`.
    pub prefix: String,
    /// Methods this rule applies to; `None` = all.
    pub methods: Option<Vec<String>>,
    /// What it requires.
    pub action: RouteAction,
}

/// An ordered rule table with a default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    rules: Vec<RouteRule>,
    default: RouteAction,
}

impl Routes {
    /// Build and validate (prefixes start with `/`, no duplicates of prefix+methods, methods upper-case
    /// tokens). Errors name the setting `ROUTES`.
    pub fn new(_rules: Vec<RouteRule>, _default: RouteAction) -> Result<Routes, Error> {
        todo!("routes new")
    }

    /// The action for a request: the longest matching prefix whose methods include `method` wins; else the
    /// default. The path is normalised first (see [`normalize_path`]); a path that cannot be normalised safely
    /// never matches a `Bypass` rule: it gets the strictest action in the table.
    pub fn action(&self, _method: &str, _path: &str) -> &RouteAction {
        todo!("action")
    }
}

/// Normalise a request path the way upstream routers resolve it: decode `%2e`/`%2E` to `.`, collapse `//`,
/// remove `.` and `..` segments (RFC 3986 §5.2.4), strip the query. `None` for paths that are ambiguous
/// (encoded `/` or `\`, backslashes, NUL, not starting with `/`, `..` above the root).
pub fn normalize_path(_path: &str) -> Option<String> {
    todo!("normalize")
}

/// The verified user, as forwarded to the upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `sub`.
    pub sub: String,
    /// `email`, if present and a string.
    pub email: Option<String>,
    /// `preferred_username`, if present and a string.
    pub preferred_username: Option<String>,
    /// The groups found (empty when none).
    pub groups: Vec<String>,
}

/// The gate's verdict on one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The route needs no token.
    Bypass,
    /// A verified, allowed user.
    Allow(Identity),
    /// Refused: 401, 403 or 503 per [`Error::status`].
    Deny(Error),
}
