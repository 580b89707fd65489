//! Group policy: extract the groups claim, check allow / deny lists, choose per-route rules, decide.
//!
//! Semantics follow QuFabric's own JWT group checks: any-of, exact and case-sensitive; a string claim counts as a
//! one-item list; non-string items are ignored; a missing or empty claim is denied (unless the allow list is `*`).
//!
//! The flow of one request is [`decide`] (or [`decide_async`]): route ([`Routes::action`]) → verification (a
//! closure supplied by the adapter, run only when the route needs a token) → group check ([`authorize`]).

use std::borrow::{Borrow, Cow};
use std::future::Future;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::verify::{IssuerConfig, Verified};

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
    /// ([`Error::Config`]) naming `setting`.
    pub fn parse_allow(setting: &str, list: &str) -> Result<Allow, Error> {
        let bad = |message: String| Error::Config { setting: setting.to_owned(), message };
        if list.trim().is_empty() {
            return Err(bad("the allow list is empty; name at least one group, or `*` for any verified user".into()));
        }
        let mut groups: Vec<String> = Vec::new();
        for item in list.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(bad("the allow list has an empty item; remove the extra comma".into()));
            }
            if groups.iter().any(|g| g == item) {
                return Err(bad(format!("group {item:?} is listed twice; list each group once")));
            }
            groups.push(item.to_owned());
        }
        if groups.iter().any(|g| g == "*") {
            if groups.len() > 1 {
                return Err(bad(
                    "`*` (any verified user) cannot be combined with group names; use one or the other".into()
                ));
            }
            return Ok(Allow::AnyUser);
        }
        Ok(Allow::Groups(groups))
    }

    /// Check a user's groups (`None` = the claim is absent). Order: deny list, then allow list.
    /// Errors: [`Error::GroupDenied`], [`Error::GroupsMissing`] (claim absent or with no string item, unless the
    /// allow list is `*`), [`Error::GroupNotAllowed`].
    pub fn check(&self, groups: Option<&[String]>) -> Result<(), Error> {
        self.evaluate(groups.map(|g| g.iter().map(String::as_str)))
    }

    /// [`GroupRule::check`] on the groups found in verified claims under `claim` (see [`extract_groups`]),
    /// without copying them.
    pub fn check_claims(&self, claims: &Map<String, Value>, claim: &str) -> Result<(), Error> {
        self.evaluate(GroupsRef::find(claims, claim).map(GroupsRef::iter))
    }

    fn evaluate<'a, I>(&self, groups: Option<I>) -> Result<(), Error>
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        if let Some(groups) = &groups
            && !self.deny.is_empty()
            && groups.clone().any(|g| self.deny.iter().any(|d| d == g))
        {
            return Err(Error::GroupDenied);
        }
        let allowed = match &self.allow {
            Allow::AnyUser => return Ok(()),
            Allow::Groups(allowed) => allowed,
        };
        let mut seen_any = false;
        for g in groups.ok_or(Error::GroupsMissing)? {
            if allowed.iter().any(|a| a == g) {
                return Ok(());
            }
            seen_any = true;
        }
        Err(if seen_any { Error::GroupNotAllowed } else { Error::GroupsMissing })
    }
}

/// The groups claim as found in verified claims, borrowed (no allocation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GroupsRef<'a> {
    /// The claim is a string: a one-item list.
    One(&'a str),
    /// The claim is an array; only its string items count.
    Many(&'a [Value]),
}

impl<'a> GroupsRef<'a> {
    /// Find the groups claim: the literal member `claim` first (so `cognito:groups` or a name with dots works);
    /// only when there is no such member, the dotted path (`realm_access.roles`). `None` when absent or when the
    /// value found is neither a string nor an array.
    pub fn find(claims: &'a Map<String, Value>, claim: &str) -> Option<GroupsRef<'a>> {
        let value = match claims.get(claim) {
            Some(v) => v,
            None if claim.contains('.') => {
                let mut parts = claim.split('.');
                let mut v = claims.get(parts.next()?)?;
                for part in parts {
                    v = v.as_object()?.get(part)?;
                }
                v
            }
            None => return None,
        };
        match value {
            Value::String(s) => Some(GroupsRef::One(s)),
            Value::Array(items) => Some(GroupsRef::Many(items)),
            _ => None,
        }
    }

    /// The group names (string items only), in claim order.
    pub fn iter(self) -> impl Iterator<Item = &'a str> + Clone {
        let (one, many): (Option<&'a str>, &'a [Value]) = match self {
            GroupsRef::One(s) => (Some(s), &[]),
            GroupsRef::Many(items) => (None, items),
        };
        one.into_iter().chain(many.iter().filter_map(Value::as_str))
    }

    /// The group names, copied.
    pub fn to_vec(self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

/// Extract the groups from verified claims: the literal member `claim` first (so `cognito:groups` or a name
/// with dots works), then a dotted path (`realm_access.roles`). `None` when absent; a string is a one-item list;
/// non-string array items are ignored; any other type counts as absent.
pub fn extract_groups(claims: &Map<String, Value>, claim: &str) -> Option<Vec<String>> {
    GroupsRef::find(claims, claim).map(GroupsRef::to_vec)
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
    /// Path prefix, starting with `/`, already normal (see [`normalize_path`]).
    pub prefix: String,
    /// Methods this rule applies to; `None` = all.
    pub methods: Option<Vec<String>>,
    /// What it requires.
    pub action: RouteAction,
}

impl RouteRule {
    fn matches_path(&self, path: &str) -> bool {
        let p = self.prefix.as_str();
        if p.ends_with('/') {
            path.starts_with(p)
        } else {
            path.starts_with(p) && matches!(path.as_bytes().get(p.len()), None | Some(b'/'))
        }
    }

    fn matches_method(&self, method: &str) -> bool {
        self.methods.as_ref().is_none_or(|ms| ms.iter().any(|m| m == method))
    }
}

/// An ordered rule table with a default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    rules: Vec<RouteRule>,
    default: RouteAction,
    /// The action for paths that cannot be normalised safely: never `Bypass`.
    strict: RouteAction,
}

impl Routes {
    /// Build and validate (prefixes start with `/` and are normal paths, methods are non-empty lists of
    /// upper-case tokens, no two rules with the same prefix may both apply to one method). Errors
    /// ([`Error::Config`]) name the setting `ROUTES`.
    ///
    /// Precomputes the fail-closed action for unsafe paths (see [`Routes::action`]).
    pub fn new(rules: Vec<RouteRule>, default: RouteAction) -> Result<Routes, Error> {
        let bad = |message: String| Err(Error::Config { setting: "ROUTES".into(), message });
        for (i, rule) in rules.iter().enumerate() {
            if !rule.prefix.starts_with('/') {
                return bad(format!("route prefix {:?} must start with `/`", rule.prefix));
            }
            if normalize(&rule.prefix).as_deref() != Some(rule.prefix.as_str()) {
                return bad(format!(
                    "route prefix {:?} is not a normal path; write it without `//`, `.`/`..` segments, `%`, `?`, \
                     `;` or backslashes",
                    rule.prefix
                ));
            }
            if let Some(methods) = &rule.methods {
                if methods.is_empty() {
                    return bad(format!(
                        "route {:?} lists no method; omit `methods` to match every method",
                        rule.prefix
                    ));
                }
                if let Some(m) = methods.iter().find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase())) {
                    return bad(format!(
                        "route {:?}: method {m:?} must be an upper-case name such as GET",
                        rule.prefix
                    ));
                }
            }
            for other in &rules[..i] {
                if other.prefix == rule.prefix && methods_overlap(&other.methods, &rule.methods) {
                    return bad(format!(
                        "route prefix {:?} is listed twice for the same method; merge the two rules",
                        rule.prefix
                    ));
                }
            }
        }
        Ok(Routes::build(rules, default))
    }

    fn build(rules: Vec<RouteRule>, default: RouteAction) -> Routes {
        let strict = rules
            .iter()
            .map(|r| &r.action)
            .chain(std::iter::once(&default))
            .filter_map(|a| strictness(a).map(|s| (s, a)))
            // max_by_key keeps the last maximum; reverse so that ties go to table order, the default last.
            .rev()
            .max_by_key(|(s, _)| *s)
            .map_or(RouteAction::Authenticate(None), |(_, a)| a.clone());
        Routes { rules, default, strict }
    }

    /// The rules, in table order.
    pub fn rules(&self) -> &[RouteRule] {
        &self.rules
    }

    /// The action when no rule matches.
    pub fn default_action(&self) -> &RouteAction {
        &self.default
    }

    /// The action for a request: the longest matching prefix whose methods include `method` wins (at equal
    /// prefixes a rule listing methods beats one without); else the default. The path is normalised first (see
    /// [`normalize_path`]); a path that cannot be normalised safely never gets a `Bypass`: it gets the strictest
    /// `Authenticate` action of the table (rules naming groups rank above the issuer default, which ranks above
    /// `*`; fewer allowed and more denied groups rank stricter; ties go to table order, the default last), or
    /// `Authenticate(None)` when the table has none.
    pub fn action(&self, method: &str, path: &str) -> &RouteAction {
        let Some(path) = normalize(path) else {
            return &self.strict;
        };
        let mut best: Option<&RouteRule> = None;
        for rule in &self.rules {
            if !rule.matches_path(&path) || !rule.matches_method(method) {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => {
                    rule.prefix.len() > b.prefix.len()
                        || (rule.prefix.len() == b.prefix.len() && b.methods.is_none() && rule.methods.is_some())
                }
            };
            if better {
                best = Some(rule);
            }
        }
        best.map_or(&self.default, |r| &r.action)
    }
}

fn methods_overlap(a: &Option<Vec<String>>, b: &Option<Vec<String>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
        _ => false,
    }
}

/// Rank of an action for the fail-closed choice; `None` for `Bypass`. Larger is stricter.
fn strictness(action: &RouteAction) -> Option<(u8, usize, usize)> {
    match action {
        RouteAction::Bypass => None,
        RouteAction::Authenticate(None) => Some((1, 0, 0)),
        RouteAction::Authenticate(Some(GroupRule { allow: Allow::AnyUser, deny })) => Some((0, 0, deny.len())),
        RouteAction::Authenticate(Some(GroupRule { allow: Allow::Groups(g), deny })) => {
            Some((2, usize::MAX - g.len(), deny.len()))
        }
    }
}

/// QuFabric's (NetBird's) paths on the management domain, per `reference/qufabric.md`:
/// - `/api` (and below): [`RouteAction::Authenticate`] with the issuer's default groups;
/// - `/management.ManagementService/`, `/signal.SignalExchange/`, `/relay` (and below), `/ws-proxy/`,
///   `/oauth2/`: [`RouteAction::Bypass`] (they carry their own authentication);
/// - everything else (the dashboard's static pages): `Bypass` when `static_pages_bypass` (the default
///   configuration), else `Authenticate(None)`.
pub fn qufabric_default_routes(static_pages_bypass: bool) -> Routes {
    let rule = |prefix: &str, action: RouteAction| RouteRule { prefix: prefix.to_owned(), methods: None, action };
    let rules = vec![
        rule("/api", RouteAction::Authenticate(None)),
        rule("/management.ManagementService/", RouteAction::Bypass),
        rule("/signal.SignalExchange/", RouteAction::Bypass),
        rule("/relay", RouteAction::Bypass),
        rule("/ws-proxy/", RouteAction::Bypass),
        rule("/oauth2/", RouteAction::Bypass),
    ];
    let default = if static_pages_bypass { RouteAction::Bypass } else { RouteAction::Authenticate(None) };
    // Constant, valid input (checked by a test through `Routes::new`): no validation needed here.
    Routes::build(rules, default)
}

/// Normalise a request path the way upstream routers (Go's `net/http`, gorilla/mux) resolve it: strip the
/// query; percent-decode once; collapse `//`; remove `.` and `..` segments (RFC 3986 §5.2.4); keep a trailing
/// `/`.
///
/// `None` (ambiguous, treated fail-closed by [`Routes::action`]) for paths that: do not start with `/`; contain
/// an invalid percent-escape, an encoded `/`, `\`, `?` or `#`, a backslash, `#`, `;`, a NUL or other control
/// character, or bytes that do not decode to UTF-8; climb above the root with `..`; or have a segment ending in
/// `.` or a space other than `.`/`..` (some servers strip those, e.g. `/api./x`).
pub fn normalize_path(path: &str) -> Option<String> {
    normalize(path).map(Cow::into_owned)
}

/// [`normalize_path`] without an allocation when the path is already normal.
fn normalize(path: &str) -> Option<Cow<'_, str>> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if !path.starts_with('/') {
        return None;
    }
    let decoded: Cow<'_, str> =
        if path.contains('%') { Cow::Owned(percent_decode(path)?) } else { Cow::Borrowed(path) };
    if decoded.bytes().any(|b| b < 0x20 || b == 0x7f || matches!(b, b'\\' | b'#' | b';')) {
        return None;
    }
    let segments: Vec<&str> = decoded[1..].split('/').collect();
    let last = segments.len() - 1;
    let mut rewrite = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "" if i == last => {}
            "" | "." | ".." => rewrite = true,
            s if s.ends_with('.') || s.ends_with(' ') => return None,
            _ => {}
        }
    }
    if !rewrite {
        return Some(decoded);
    }
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        let is_last = i == last;
        match *seg {
            "" | "." => trailing_slash = is_last,
            ".." => {
                out.pop()?;
                trailing_slash = is_last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut normal = String::with_capacity(decoded.len());
    for seg in &out {
        normal.push('/');
        normal.push_str(seg);
    }
    if out.is_empty() || trailing_slash {
        normal.push('/');
    }
    Some(Cow::Owned(normal))
}

/// Decode every `%XX` once; `None` on an invalid escape, an encoded `/`, `\`, `?`, `#` or NUL, or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            let b = hi << 4 | lo;
            if matches!(b, b'/' | b'\\' | b'?' | b'#' | 0) {
                return None;
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
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

/// The group check for a route that requires a user, after `verified` passed verification: the route's own rule,
/// or (for `Authenticate(None)`) the default rule of the token's issuer in `issuers` (the [`Verifier`]'s list,
/// `verifier.issuers()`). Groups are read from that issuer's `groups_claim`. `Bypass` gives [`Decision::Bypass`];
/// an issuer index outside `issuers` gives `Deny(IssuerNotTrusted)` (fail closed).
///
/// [`Verifier`]: crate::verify::Verifier
pub fn authorize(action: &RouteAction, issuers: &[IssuerConfig], verified: &Verified) -> Decision {
    let route_rule = match action {
        RouteAction::Bypass => return Decision::Bypass,
        RouteAction::Authenticate(rule) => rule.as_ref(),
    };
    let Some(issuer) = issuers.get(verified.issuer) else {
        return Decision::Deny(Error::IssuerNotTrusted);
    };
    let rule = route_rule.unwrap_or(&issuer.groups);
    match rule.check_claims(&verified.claims, &issuer.groups_claim) {
        Ok(()) => Decision::Allow(verified.identity(&issuer.groups_claim)),
        Err(e) => Decision::Deny(e),
    }
}

/// Decide one request: route → verification → groups, so adapters do not re-implement the order.
///
/// `verify` runs only when the route requires a user; it returns the verified token (owned, or an
/// `Arc<Verified>` from the token cache) or the error to deny with (e.g. [`Error::TokenMissing`],
/// [`Error::KeysUnavailable`]). See [`authorize`] for the group check.
pub fn decide<V: Borrow<Verified>>(
    routes: &Routes,
    issuers: &[IssuerConfig],
    method: &str,
    path: &str,
    verify: impl FnOnce() -> Result<V, Error>,
) -> Decision {
    match routes.action(method, path) {
        RouteAction::Bypass => Decision::Bypass,
        action => match verify() {
            Ok(v) => authorize(action, issuers, v.borrow()),
            Err(e) => Decision::Deny(e),
        },
    }
}

/// [`decide`] with an asynchronous verification (WebCrypto backend, key fetches).
pub async fn decide_async<V, F, Fut>(
    routes: &Routes,
    issuers: &[IssuerConfig],
    method: &str,
    path: &str,
    verify: F,
) -> Decision
where
    V: Borrow<Verified>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<V, Error>>,
{
    match routes.action(method, path) {
        RouteAction::Bypass => Decision::Bypass,
        action => match verify().await {
            Ok(v) => authorize(action, issuers, v.borrow()),
            Err(e) => Decision::Deny(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::alg::Algorithm;

    const EXP: f64 = 1_700_003_600.0;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("test claims must be an object"),
        }
    }

    fn groups(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn allow(list: &[&str]) -> GroupRule {
        GroupRule { allow: Allow::Groups(groups(list)), deny: vec![] }
    }

    fn any_user() -> GroupRule {
        GroupRule { allow: Allow::AnyUser, deny: vec![] }
    }

    fn config_setting(r: Result<impl std::fmt::Debug, Error>) -> String {
        match r {
            Err(Error::Config { setting, .. }) => setting,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    // ---- parse_allow ----

    #[test]
    fn parse_allow_trims_and_keeps_order() {
        let a = GroupRule::parse_allow("ALLOW_GROUPS", " admins , netbird-users,Ops ").unwrap();
        assert_eq!(a, Allow::Groups(groups(&["admins", "netbird-users", "Ops"])));
    }

    #[test]
    fn parse_allow_star_alone_is_any_user() {
        assert_eq!(GroupRule::parse_allow("ALLOW_GROUPS", " * ").unwrap(), Allow::AnyUser);
    }

    #[test]
    fn parse_allow_rejects_bad_lists_naming_the_setting() {
        for bad in ["", "   ", "a,,b", "a,", ",a", "a,b,a", "*,admins", "admins,*", "*,*"] {
            assert_eq!(config_setting(GroupRule::parse_allow("ALLOW_GROUPS", bad)), "ALLOW_GROUPS", "input {bad:?}");
        }
    }

    #[test]
    fn parse_allow_is_case_sensitive_about_duplicates() {
        assert_eq!(GroupRule::parse_allow("X", "Admins,admins").unwrap(), Allow::Groups(groups(&["Admins", "admins"])));
    }

    // ---- check ----

    #[test]
    fn check_allows_any_of() {
        let rule = allow(&["admins", "users"]);
        assert_eq!(rule.check(Some(&groups(&["other", "users"]))), Ok(()));
        assert_eq!(rule.check(Some(&groups(&["admins"]))), Ok(()));
    }

    #[test]
    fn check_is_exact_and_case_sensitive() {
        let rule = allow(&["admins"]);
        assert_eq!(rule.check(Some(&groups(&["Admins"]))), Err(Error::GroupNotAllowed));
        assert_eq!(rule.check(Some(&groups(&["admins "]))), Err(Error::GroupNotAllowed));
        assert_eq!(rule.check(Some(&groups(&["admin"]))), Err(Error::GroupNotAllowed));
        assert_eq!(rule.check(Some(&groups(&["adminsx"]))), Err(Error::GroupNotAllowed));
    }

    #[test]
    fn check_missing_claim_with_groups_is_groups_missing() {
        assert_eq!(allow(&["admins"]).check(None), Err(Error::GroupsMissing));
    }

    #[test]
    fn check_empty_array_is_groups_missing() {
        assert_eq!(allow(&["admins"]).check(Some(&[])), Err(Error::GroupsMissing));
    }

    #[test]
    fn check_star_allows_missing_and_empty_claims() {
        assert_eq!(any_user().check(None), Ok(()));
        assert_eq!(any_user().check(Some(&[])), Ok(()));
        assert_eq!(any_user().check(Some(&groups(&["x"]))), Ok(()));
    }

    #[test]
    fn check_deny_wins_over_allow_and_star() {
        let rule = GroupRule { allow: Allow::Groups(groups(&["users"])), deny: groups(&["banned"]) };
        assert_eq!(rule.check(Some(&groups(&["users", "banned"]))), Err(Error::GroupDenied));
        assert_eq!(rule.check(Some(&groups(&["banned", "users"]))), Err(Error::GroupDenied));
        let star = GroupRule { allow: Allow::AnyUser, deny: groups(&["banned"]) };
        assert_eq!(star.check(Some(&groups(&["banned"]))), Err(Error::GroupDenied));
        assert_eq!(star.check(None), Ok(()));
        assert_eq!(star.check(Some(&groups(&["Banned"]))), Ok(()));
    }

    #[test]
    fn check_is_monotonic_in_the_allow_list() {
        let user_sets: Vec<Option<Vec<String>>> = vec![
            None,
            Some(vec![]),
            Some(groups(&["a"])),
            Some(groups(&["b", "c"])),
            Some(groups(&["x", "a", "d"])),
            Some(groups(&["banned", "a"])),
        ];
        let pool = ["a", "b", "c", "d", "e"];
        // Every allow list over `pool` (as a bitmask) and every superset obtained by adding one more group.
        for mask in 1u32..(1 << pool.len()) {
            let base: Vec<&str> =
                pool.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, g)| *g).collect();
            for extra in pool.iter().filter(|g| !base.contains(g)) {
                let mut bigger = base.clone();
                bigger.push(extra);
                for deny in [vec![], groups(&["banned"])] {
                    let small = GroupRule { allow: Allow::Groups(groups(&base)), deny: deny.clone() };
                    let large = GroupRule { allow: Allow::Groups(groups(&bigger)), deny };
                    for user in &user_sets {
                        if small.check(user.as_deref()).is_ok() {
                            assert_eq!(large.check(user.as_deref()), Ok(()), "allow {base:?} + {extra} for {user:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn check_handles_300_groups() {
        let many: Vec<String> = (0..300).map(|i| format!("group-{i:03}")).collect();
        assert_eq!(allow(&["group-299"]).check(Some(&many)), Ok(()));
        assert_eq!(allow(&["group-300"]).check(Some(&many)), Err(Error::GroupNotAllowed));
        let c = claims(json!({ "groups": many }));
        assert_eq!(allow(&["group-299"]).check_claims(&c, "groups"), Ok(()));
        assert_eq!(extract_groups(&c, "groups").map(|g| g.len()), Some(300));
    }

    // ---- extract_groups ----

    #[test]
    fn extract_string_is_one_item() {
        let c = claims(json!({ "groups": "admins" }));
        assert_eq!(extract_groups(&c, "groups"), Some(groups(&["admins"])));
        assert_eq!(allow(&["admins"]).check_claims(&c, "groups"), Ok(()));
    }

    #[test]
    fn extract_ignores_non_string_items() {
        let c = claims(json!({ "groups": [1, "a", null, {"x": "b"}, ["c"], true, "d"] }));
        assert_eq!(extract_groups(&c, "groups"), Some(groups(&["a", "d"])));
        let only_junk = claims(json!({ "groups": [1, null, ["admins"]] }));
        assert_eq!(extract_groups(&only_junk, "groups"), Some(vec![]));
        assert_eq!(allow(&["admins"]).check_claims(&only_junk, "groups"), Err(Error::GroupsMissing));
    }

    #[test]
    fn extract_other_types_are_absent() {
        for v in [json!(1), json!(true), json!(null), json!({"admins": true})] {
            let c = claims(json!({ "groups": v }));
            assert_eq!(extract_groups(&c, "groups"), None, "value {v}");
            assert_eq!(allow(&["admins"]).check_claims(&c, "groups"), Err(Error::GroupsMissing));
        }
        assert_eq!(extract_groups(&claims(json!({})), "groups"), None);
    }

    #[test]
    fn extract_literal_key_first_then_dotted_path() {
        let c = claims(json!({
            "realm_access.roles": ["literal"],
            "realm_access": { "roles": ["nested"] },
            "cognito:groups": ["cog"],
            "a": { "b": { "c": "deep" } },
        }));
        assert_eq!(extract_groups(&c, "realm_access.roles"), Some(groups(&["literal"])));
        assert_eq!(extract_groups(&c, "cognito:groups"), Some(groups(&["cog"])));
        assert_eq!(extract_groups(&c, "a.b.c"), Some(groups(&["deep"])));
        let nested_only = claims(json!({ "realm_access": { "roles": ["nested"] } }));
        assert_eq!(extract_groups(&nested_only, "realm_access.roles"), Some(groups(&["nested"])));
    }

    #[test]
    fn extract_dotted_path_through_non_objects_is_absent() {
        let c = claims(json!({ "realm_access": ["roles"], "a": { "b": 5 } }));
        assert_eq!(extract_groups(&c, "realm_access.roles"), None);
        assert_eq!(extract_groups(&c, "a.b.c"), None);
        assert_eq!(extract_groups(&c, "a.b"), None);
        assert_eq!(extract_groups(&c, "missing.x"), None);
        assert_eq!(extract_groups(&c, "a."), None);
    }

    // ---- normalize_path ----

    #[test]
    fn normalize_keeps_normal_paths() {
        for p in ["/", "/api", "/api/", "/api/users/1", "/peers", "/relay", "/a.b/c.d"] {
            assert_eq!(normalize_path(p).as_deref(), Some(p));
        }
    }

    #[test]
    fn normalize_resolves_dots_slashes_and_queries() {
        let cases = [
            ("/api/../oauth2/x", "/oauth2/x"),
            ("/oauth2/../api/x", "/api/x"),
            ("/oauth2/%2e%2e/api/x", "/api/x"),
            ("/oauth2/%2E%2E/api/x", "/api/x"),
            ("/oauth2/.%2E/api/x", "/api/x"),
            ("/%2e/api/x", "/api/x"),
            ("//api/x", "/api/x"),
            ("/api//x", "/api/x"),
            ("/./api/./x", "/api/x"),
            ("/api/x/.", "/api/x/"),
            ("/api/x/..", "/api/"),
            ("/api/x?y=/../z", "/api/x"),
            ("/%61pi/x", "/api/x"),
            ("/.", "/"),
            ("//", "/"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input).as_deref(), Some(want), "input {input:?}");
        }
    }

    #[test]
    fn normalize_refuses_ambiguous_paths() {
        let cases = [
            "",
            "api/x",
            "*",
            "/api%2fx",
            "/api%2Fx",
            "/api\\x",
            "/oauth2\\..\\api",
            "/api%5cx",
            "/api%00",
            "/api\0",
            "/api%",
            "/api%2",
            "/api%zz",
            "/api%ff",
            "/..",
            "/../api",
            "/api/../../x",
            "/%2e%2e/api",
            "/api./x",
            "/api%2e/x",
            "/api../x",
            "/api /x",
            "/api%20/x",
            "/api;x=1/y",
            "/api#x",
            "/api%23x",
            "/api%3fx",
            "/api\n/x",
        ];
        for input in cases {
            assert_eq!(normalize_path(input), None, "input {input:?}");
        }
    }

    // ---- routes ----

    fn rule(prefix: &str, methods: Option<&[&str]>, action: RouteAction) -> RouteRule {
        RouteRule { prefix: prefix.into(), methods: methods.map(groups), action }
    }

    #[test]
    fn routes_new_validates() {
        let bypass = RouteAction::Bypass;
        let bad_tables = [
            vec![rule("api", None, bypass.clone())],
            vec![rule("/api/../x", None, bypass.clone())],
            vec![rule("//api", None, bypass.clone())],
            vec![rule("/api%2f", None, bypass.clone())],
            vec![rule("/api", Some(&[]), bypass.clone())],
            vec![rule("/api", Some(&["get"]), bypass.clone())],
            vec![rule("/api", Some(&[""]), bypass.clone())],
            vec![rule("/api", None, bypass.clone()), rule("/api", None, RouteAction::Authenticate(None))],
            vec![rule("/api", Some(&["GET", "POST"]), bypass.clone()), rule("/api", Some(&["POST"]), bypass.clone())],
        ];
        for rules in bad_tables {
            assert_eq!(config_setting(Routes::new(rules.clone(), RouteAction::Bypass)), "ROUTES", "{rules:?}");
        }
        let ok = Routes::new(
            vec![
                rule("/api", None, RouteAction::Authenticate(None)),
                rule("/api", Some(&["GET"]), bypass.clone()),
                rule("/api", Some(&["POST"]), bypass.clone()),
                rule("/api/", None, bypass.clone()),
            ],
            RouteAction::Bypass,
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn routes_longest_segment_aware_prefix_wins() {
        let admins = RouteAction::Authenticate(Some(allow(&["admins"])));
        let routes = Routes::new(
            vec![
                rule("/api", None, RouteAction::Authenticate(None)),
                rule("/api/public", None, RouteAction::Bypass),
                rule("/api/admin/", None, admins.clone()),
            ],
            RouteAction::Bypass,
        )
        .unwrap();
        assert_eq!(routes.action("GET", "/api"), &RouteAction::Authenticate(None));
        assert_eq!(routes.action("GET", "/api/x"), &RouteAction::Authenticate(None));
        assert_eq!(routes.action("GET", "/apix"), &RouteAction::Bypass);
        assert_eq!(routes.action("GET", "/api/public"), &RouteAction::Bypass);
        assert_eq!(routes.action("GET", "/api/public/x"), &RouteAction::Bypass);
        assert_eq!(routes.action("GET", "/api/publicx"), &RouteAction::Authenticate(None));
        assert_eq!(routes.action("GET", "/api/admin/users"), &admins);
        assert_eq!(routes.action("GET", "/api/admin/"), &admins);
        assert_eq!(routes.action("GET", "/api/admin"), &RouteAction::Authenticate(None));
        assert_eq!(routes.action("GET", "/other"), &RouteAction::Bypass);
    }

    #[test]
    fn routes_methods_select_rules() {
        let routes = Routes::new(
            vec![
                rule("/api", None, RouteAction::Authenticate(None)),
                rule("/api/hooks", Some(&["POST"]), RouteAction::Bypass),
                rule("/api", Some(&["OPTIONS"]), RouteAction::Bypass),
            ],
            RouteAction::Authenticate(None),
        )
        .unwrap();
        assert_eq!(routes.action("POST", "/api/hooks"), &RouteAction::Bypass);
        assert_eq!(routes.action("GET", "/api/hooks"), &RouteAction::Authenticate(None));
        assert_eq!(routes.action("post", "/api/hooks"), &RouteAction::Authenticate(None));
        assert_eq!(routes.action("OPTIONS", "/api/x"), &RouteAction::Bypass);
        assert_eq!(routes.action("GET", "/api/x"), &RouteAction::Authenticate(None));
    }

    #[test]
    fn routes_unsafe_path_gets_the_strictest_authenticate() {
        let admins = RouteAction::Authenticate(Some(allow(&["admins"])));
        let wide = RouteAction::Authenticate(Some(allow(&["a", "b", "c"])));
        let routes = Routes::new(
            vec![
                rule("/open", None, RouteAction::Bypass),
                rule("/star", None, RouteAction::Authenticate(Some(any_user()))),
                rule("/wide", None, wide),
                rule("/admin", None, admins.clone()),
                rule("/api", None, RouteAction::Authenticate(None)),
            ],
            RouteAction::Bypass,
        )
        .unwrap();
        assert_eq!(routes.action("GET", "/open%2fx"), &admins);
        assert_eq!(routes.action("GET", "/open/../../x"), &admins);

        // Only bypass rules: the default when it authenticates, else Authenticate(None).
        let bypass_only = vec![rule("/open", None, RouteAction::Bypass)];
        let d = RouteAction::Authenticate(Some(allow(&["x"])));
        let r = Routes::new(bypass_only.clone(), d.clone()).unwrap();
        assert_eq!(r.action("GET", "/open\\x"), &d);
        let r = Routes::new(bypass_only, RouteAction::Bypass).unwrap();
        assert_eq!(r.action("GET", "/open\\x"), &RouteAction::Authenticate(None));
        // The issuer default ranks above `*`.
        let r = Routes::new(
            vec![rule("/s", None, RouteAction::Authenticate(Some(any_user()))), rule("/o", None, RouteAction::Bypass)],
            RouteAction::Authenticate(None),
        )
        .unwrap();
        assert_eq!(r.action("GET", "/o/../.."), &RouteAction::Authenticate(None));
    }

    #[test]
    fn qufabric_routes_are_valid_through_new() {
        for bypass in [true, false] {
            let built = qufabric_default_routes(bypass);
            let checked = Routes::new(built.rules().to_vec(), built.default_action().clone()).unwrap();
            assert_eq!(checked, built);
        }
    }

    #[test]
    fn qufabric_routes_gate_the_api_and_bypass_the_rest() {
        let r = qufabric_default_routes(true);
        let auth = &RouteAction::Authenticate(None);
        let bypass = &RouteAction::Bypass;
        let cases = [
            ("/api", auth),
            ("/api/", auth),
            ("/api/users", auth),
            ("/api/accounts/1?x=y", auth),
            ("/management.ManagementService/Login", bypass),
            ("/signal.SignalExchange/Send", bypass),
            ("/relay", bypass),
            ("/relay?session=1", bypass),
            ("/relay/x", bypass),
            ("/ws-proxy/signal", bypass),
            ("/oauth2/token", bypass),
            ("/", bypass),
            ("/peers", bypass),
            ("/apix", bypass),
        ];
        for (path, want) in cases {
            assert_eq!(r.action("GET", path), want, "path {path:?}");
        }
        let strict = qufabric_default_routes(false);
        assert_eq!(strict.action("GET", "/peers"), auth);
        assert_eq!(strict.action("GET", "/relayx"), auth);
        assert_eq!(strict.action("GET", "/oauth2/keys"), bypass);
    }

    #[test]
    fn qufabric_routes_resist_path_tricks() {
        let r = qufabric_default_routes(true);
        let auth = &RouteAction::Authenticate(None);
        let bypass = &RouteAction::Bypass;
        let cases = [
            ("/api/../oauth2/x", bypass), // really is /oauth2/x upstream
            ("/oauth2/../api/x", auth),
            ("/oauth2/%2e%2e/api/x", auth),
            ("/oauth2/%2E%2E/api/x", auth),
            ("/oauth2/%2E./api/x", auth),
            ("/relay/../api/x", auth),
            ("/ws-proxy/..%2fapi/x", auth),
            ("//api/x", auth),
            ("/%61pi/x", auth),
            ("/api%2fx", auth),
            ("/oauth2%2f..%2fapi", auth),
            ("/oauth2\\..\\api\\x", auth),
            ("/oauth2/..\\api", auth),
            ("/api./x", auth),
            ("/oauth2./x", auth),
            ("/oauth2/x;/../../api", auth),
            ("/../api/x", auth),
            ("api/x", auth),
            ("/API/x", bypass), // case-sensitive: not the API (NetBird's router is case-sensitive too)
        ];
        for (path, want) in cases {
            assert_eq!(r.action("GET", path), want, "path {path:?}");
        }
    }

    // ---- decide / authorize ----

    fn verified(issuer: usize, c: Value) -> Verified {
        Verified {
            issuer,
            alg: Algorithm::RS256,
            kid: Some("k1".into()),
            thumbprint: [7; 32],
            exp: EXP,
            claims: claims(c),
        }
    }

    fn issuers() -> Vec<IssuerConfig> {
        let mut embedded =
            IssuerConfig::new("https://qf.example.com/oauth2", vec!["netbird-dashboard".into()], allow(&["qf"]));
        embedded.groups_claim = "realm_access.roles".into();
        vec![IssuerConfig::new("https://id.example.com", vec!["netbird".into()], allow(&["netbird-users"])), embedded]
    }

    #[test]
    fn decide_bypass_never_runs_verification() {
        let d = decide::<Verified>(&qufabric_default_routes(true), &issuers(), "GET", "/oauth2/x", || {
            panic!("verification must not run on a bypass route")
        });
        assert_eq!(d, Decision::Bypass);
    }

    #[test]
    fn decide_denies_with_the_verification_error() {
        let d = decide::<Verified>(&qufabric_default_routes(true), &issuers(), "GET", "/api/x", || {
            Err(Error::TokenMissing)
        });
        assert_eq!(d, Decision::Deny(Error::TokenMissing));
        let d = decide::<Verified>(&qufabric_default_routes(true), &issuers(), "GET", "/api/x", || {
            Err(Error::KeysUnavailable { reason: "down".into() })
        });
        assert_eq!(d, Decision::Deny(Error::KeysUnavailable { reason: "down".into() }));
    }

    #[test]
    fn decide_uses_the_issuer_default_rule_and_claim() {
        let routes = qufabric_default_routes(true);
        let iss = issuers();
        let user = verified(
            0,
            json!({"sub": "u1", "email": "a@example.com", "preferred_username": "alice", "groups": ["netbird-users"]}),
        );
        let d = decide(&routes, &iss, "GET", "/api/peers", || Ok(Arc::new(user.clone())));
        assert_eq!(
            d,
            Decision::Allow(Identity {
                sub: "u1".into(),
                email: Some("a@example.com".into()),
                preferred_username: Some("alice".into()),
                groups: groups(&["netbird-users"]),
            })
        );
        // The same groups under the second issuer, whose rule wants `qf` in `realm_access.roles`.
        let other = verified(1, json!({"sub": "u2", "groups": ["netbird-users"]}));
        assert_eq!(decide(&routes, &iss, "GET", "/api/x", || Ok(other)), Decision::Deny(Error::GroupsMissing));
        let nested = verified(1, json!({"sub": "u3", "realm_access": {"roles": ["qf"]}}));
        match decide(&routes, &iss, "GET", "/api/x", || Ok(nested)) {
            Decision::Allow(id) => assert_eq!(id.groups, groups(&["qf"])),
            other => panic!("expected allow, got {other:?}"),
        }
        let wrong = verified(0, json!({"sub": "u4", "groups": ["NetBird-Users"]}));
        assert_eq!(decide(&routes, &iss, "GET", "/api/x", || Ok(wrong)), Decision::Deny(Error::GroupNotAllowed));
    }

    #[test]
    fn decide_route_rule_overrides_the_issuer_default() {
        let routes = Routes::new(
            vec![rule("/api/admin", None, RouteAction::Authenticate(Some(allow(&["admins"]))))],
            RouteAction::Authenticate(None),
        )
        .unwrap();
        let iss = issuers();
        let user = verified(0, json!({"sub": "u1", "groups": ["netbird-users"]}));
        assert_eq!(decide(&routes, &iss, "GET", "/api/admin/x", || Ok(&user)), Decision::Deny(Error::GroupNotAllowed));
        assert!(matches!(decide(&routes, &iss, "GET", "/api/x", || Ok(&user)), Decision::Allow(_)));
    }

    #[test]
    fn authorize_fails_closed_on_an_unknown_issuer_index() {
        let user = verified(9, json!({"sub": "u1", "groups": ["netbird-users"]}));
        assert_eq!(
            authorize(&RouteAction::Authenticate(None), &issuers(), &user),
            Decision::Deny(Error::IssuerNotTrusted)
        );
        assert_eq!(authorize(&RouteAction::Bypass, &issuers(), &user), Decision::Bypass);
    }

    #[test]
    fn decide_async_matches_decide() {
        let routes = qufabric_default_routes(true);
        let iss = issuers();
        let user = verified(0, json!({"sub": "u1", "groups": ["netbird-users"]}));
        let fut = decide_async(&routes, &iss, "GET", "/api/x", || async { Ok::<_, Error>(&user) });
        let got = block_on(fut);
        assert_eq!(got, decide(&routes, &iss, "GET", "/api/x", || Ok(&user)));
        assert!(matches!(got, Decision::Allow(_)));
    }

    /// Minimal executor for futures that never wait (no runtime in dev-dependencies).
    fn block_on<F: Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("test future is not immediately ready"),
        }
    }
}
