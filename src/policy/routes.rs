//! Per-route rules: which paths pass without a token, which require a user and which groups.

use super::groups::GroupRule;
use super::method::Method;
use super::path::normalize;
use super::public::{NETBIRD_PUBLIC_API, PublicRoute};
use crate::error::Error;

/// What a route requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteAction {
    /// Pass without a token (the upstream authenticates by itself).
    Bypass,
    /// Require a verified user (see [`Requirement`]).
    Authenticate(Requirement),
}

impl RouteAction {
    /// A verified user of any trusted issuer, allowed by that issuer's own group rule (`ALLOW_GROUPS`,
    /// `DENY_GROUPS`).
    pub fn issuer_default() -> RouteAction {
        RouteAction::Authenticate(Requirement::default())
    }

    /// A verified user of any trusted issuer, allowed by `rule` (the issuer's deny list applies too).
    pub fn groups(rule: GroupRule) -> RouteAction {
        RouteAction::Authenticate(Requirement { groups: Some(rule), issuers: None })
    }
}

/// What an authenticated route asks of a verified token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirement {
    /// The route's own group rule; `None` (default) = the token issuer's rule. Either way the issuer's deny list
    /// applies as well: a deny list holds on every route.
    pub groups: Option<GroupRule>,
    /// The issuers (exact `iss`) whose tokens this route accepts; `None` (default) = every trusted issuer. A route
    /// that names groups is bound to the issuers whose groups it means, so one issuer's `admins` never satisfies a
    /// rule written for another's.
    pub issuers: Option<Vec<String>>,
}

/// One route rule: a path prefix (segment-aware: `/api` matches `/api` and `/api/x`, not `/apix`; a prefix
/// ending in `/` matches below it) and optional methods (upper-case; `None` = any). A rule that requires a user
/// and lists `GET` holds `HEAD` too (see [`Routes::action`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRule {
    /// Path prefix, starting with `/`, already normal (see [`normalize_path`]).
    ///
    /// [`normalize_path`]: super::normalize_path
    pub prefix: String,
    /// Methods this rule applies to; `None` = all.
    pub methods: Option<Vec<String>>,
    /// What it requires.
    pub action: RouteAction,
}

impl RouteRule {
    /// Segment-aware prefix match; `fold`: ASCII case-insensitive.
    fn matches_path(&self, path: &str, fold: bool) -> bool {
        let (p, path) = (self.prefix.as_bytes(), path.as_bytes());
        let starts =
            path.get(..p.len()).is_some_and(|head| if fold { head.eq_ignore_ascii_case(p) } else { head == p });
        starts && (p.ends_with(b"/") || matches!(path.get(p.len()), None | Some(b'/')))
    }

    /// How this rule holds `method`: [`LISTED`], [`THROUGH_GET`] (`HEAD` on a rule that lists `GET` and requires
    /// a user), [`ANY`] (no `methods`), or not at all.
    fn holds(&self, method: &Method<'_>) -> Option<u8> {
        let Some(methods) = &self.methods else {
            return Some(ANY);
        };
        let listed = |name: &str| methods.iter().any(|m| m == name);
        if listed(method.as_str()) {
            Some(LISTED)
        } else if *method == Method::HEAD && self.action != RouteAction::Bypass && listed("GET") {
            Some(THROUGH_GET)
        } else {
            None
        }
    }
}

/// A rule lists the method.
const LISTED: u8 = 2;
/// A rule holds `HEAD` because it lists `GET`.
const THROUGH_GET: u8 = 1;
/// A rule without `methods`.
const ANY: u8 = 0;

/// What a public path's rule does: pass.
static BYPASS: RouteAction = RouteAction::Bypass;

/// An ordered rule table with a default, and the public paths it opens ([`Routes::with_public`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    rules: Vec<RouteRule>,
    public: &'static [PublicRoute],
    default: RouteAction,
    /// Every rule and the default bypass: nothing to protect, so an ambiguous path may pass too.
    all_bypass: bool,
}

impl Routes {
    /// Build and validate (prefixes start with `/` and are normal paths, methods are non-empty lists of
    /// upper-case names, no two rules with the same prefix may both list one method). Errors ([`Error::Config`])
    /// name the setting `ROUTES`. No public path is open: see [`Routes::with_public`].
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
        let all_bypass = default == RouteAction::Bypass && rules.iter().all(|r| r.action == RouteAction::Bypass);
        Routes { rules, public: &[], default, all_bypass }
    }

    /// The same table, with `public` paths open without a token for their methods (`PUBLIC_API = "bypass"`:
    /// [`NETBIRD_PUBLIC_API`]). A public path is more specific than any shorter prefix (the `/api` rule, a
    /// `ROUTES` rule for `/api/users`); a rule whose prefix is at least as long as the public path's literal part
    /// and matches the request (`{"prefix": "/api/instance", …}`) wins over it, for the methods it holds.
    pub fn with_public(self, public: &'static [PublicRoute]) -> Routes {
        Routes { public, ..self }
    }

    /// The rules, in table order.
    pub fn rules(&self) -> &[RouteRule] {
        &self.rules
    }

    /// The public paths open without a token ([`Routes::with_public`]).
    pub fn public(&self) -> &[PublicRoute] {
        self.public
    }

    /// The action when no rule matches.
    pub fn default_action(&self) -> &RouteAction {
        &self.default
    }

    /// The action for a request whose method is `method` as received (any case): [`Method::parse`] makes it
    /// canonical first ([`Error::MethodInvalid`], 400, when it is not an HTTP token), then
    /// [`Routes::action_for`].
    pub fn action(&self, method: &str, path: &str) -> Result<&RouteAction, Error> {
        self.action_for(&Method::parse(method)?, path)
    }

    /// The action for a request: among the rules and public paths that match the path and hold `method`, the
    /// most specific wins: the longest prefix (or public path, counted without its `*`); at equal length a
    /// prefix rule before a public path, then a rule listing the method before one holding it through `GET`,
    /// before one without `methods`; else the default. The path is normalised first (see [`normalize_path`]).
    ///
    /// `HEAD` is held by a rule that lists `GET` and requires a user: Go's `net/http` `ServeMux` (Go 1.22
    /// patterns) serves `HEAD` from a `GET` handler, so an upstream may answer a `HEAD` with what `GET` guards. A
    /// bypass rule opens only the methods it lists.
    ///
    /// [`Error::PathAmbiguous`] (400) for a path that cannot be normalised safely, and for a path whose action
    /// would change if prefixes matched ASCII case-insensitively (`/API/x` against the `/api` rule, `/admin`
    /// against a `/Admin` rule): a front proxy or an upstream router may read such a path differently from the
    /// gate, so no rule is picked for it by guesswork (as Envoy's `path_with_escaped_slashes_action:
    /// REJECT_REQUEST`). Only a table that bypasses everything lets such a path through.
    ///
    /// [`normalize_path`]: super::normalize_path
    pub fn action_for(&self, method: &Method<'_>, path: &str) -> Result<&RouteAction, Error> {
        let ambiguous = || if self.all_bypass { Ok(&self.default) } else { Err(Error::PathAmbiguous) };
        let Some(path) = normalize(path) else {
            return ambiguous();
        };
        let (action, folded) = self.select(method, &path);
        if *folded != *action {
            return ambiguous();
        }
        Ok(action)
    }

    /// The most specific matching rule's action for a normal `path`, and the same when paths match ASCII
    /// case-insensitively: one pass over the table for both (a rule that matches exactly matches folded too).
    fn select(&self, method: &Method<'_>, path: &str) -> (&RouteAction, &RouteAction) {
        let mut best = Bests::default();
        for rule in &self.rules {
            if let Some(held) = rule.holds(method) {
                best.offer((rule.prefix.len(), 1, held), &rule.action, |fold| rule.matches_path(path, fold));
            }
        }
        for public in self.public.iter().filter(|p| p.methods.contains(&method.as_str())) {
            best.offer((public.literal_len(), 0, LISTED), &BYPASS, |fold| public.matches_path(path, fold));
        }
        (best.exact.or(&self.default), best.folded.or(&self.default))
    }
}

/// The best exact and the best case-folded match of one pass over the table.
#[derive(Default)]
struct Bests<'a> {
    exact: Best<'a>,
    folded: Best<'a>,
}

impl<'a> Bests<'a> {
    /// Offer a candidate; `matches(fold)` says whether it matches the path, and the folded match is asked only
    /// when the exact one fails (an exact match is a folded one too).
    fn offer(&mut self, rank: (usize, u8, u8), action: &'a RouteAction, matches: impl Fn(bool) -> bool) {
        if matches(false) {
            self.exact.offer(rank, action);
            self.folded.offer(rank, action);
        } else if matches(true) {
            self.folded.offer(rank, action);
        }
    }
}

/// The best rule offered so far: (length, a prefix rule over a public path, how the method is held), the
/// greatest wins, the first of equals.
#[derive(Default)]
struct Best<'a>(Option<((usize, u8, u8), &'a RouteAction)>);

impl<'a> Best<'a> {
    fn offer(&mut self, rank: (usize, u8, u8), action: &'a RouteAction) {
        if self.0.is_none_or(|(b, _)| rank > b) {
            self.0 = Some((rank, action));
        }
    }

    fn or(self, default: &'a RouteAction) -> &'a RouteAction {
        self.0.map_or(default, |(_, action)| action)
    }
}

fn methods_overlap(a: &Option<Vec<String>>, b: &Option<Vec<String>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
        _ => false,
    }
}

/// QuFabric's (NetBird's) paths on the management domain, per `reference/qufabric.md`:
/// - `/api` (and below): [`RouteAction::Authenticate`] with the issuer's default groups;
/// - the gRPC services `/management.ManagementService/`, `/management.ProxyService/` and
///   `/signalexchange.SignalExchange/` (proto package `signalexchange`: NetBird's
///   `shared/signal/proto/signalexchange.proto`; the three prefixes NetBird's `infrastructure_files/getting-started.sh`
///   routes as gRPC), `/relay` (and below), `/ws-proxy/`, `/oauth2/`: [`RouteAction::Bypass`] (they carry their
///   own authentication);
/// - everything else (the dashboard's static pages): `Bypass` when `static_pages_bypass` (the default
///   configuration), else [`RouteAction::issuer_default`];
/// - NetBird's public API paths ([`NETBIRD_PUBLIC_API`]): `Bypass` for their handlers' methods (`PUBLIC_API`'s
///   default).
pub fn qufabric_default_routes(static_pages_bypass: bool) -> Routes {
    let rule = |prefix: &str, action: RouteAction| RouteRule { prefix: prefix.to_owned(), methods: None, action };
    let rules = vec![
        rule("/api", RouteAction::issuer_default()),
        rule("/management.ManagementService/", RouteAction::Bypass),
        rule("/management.ProxyService/", RouteAction::Bypass),
        rule("/signalexchange.SignalExchange/", RouteAction::Bypass),
        rule("/relay", RouteAction::Bypass),
        rule("/ws-proxy/", RouteAction::Bypass),
        rule("/oauth2/", RouteAction::Bypass),
    ];
    let default = if static_pages_bypass { RouteAction::Bypass } else { RouteAction::issuer_default() };
    // Constant, valid input (checked by a test through `Routes::new`): no validation needed here.
    Routes::build(rules, default).with_public(&NETBIRD_PUBLIC_API)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::fixtures::{allow, any_user, config_setting, rule};

    /// The two passes [`Routes::select`] replaced (one exact, one folded), kept as the reference it must equal.
    fn select_in_two_passes<'r>(r: &'r Routes, method: &Method<'_>, path: &str, fold: bool) -> &'r RouteAction {
        let mut best = Best::default();
        for rule in &r.rules {
            if let Some(held) = rule.holds(method).filter(|_| rule.matches_path(path, fold)) {
                best.offer((rule.prefix.len(), 1, held), &rule.action);
            }
        }
        for public in r.public {
            if public.methods.contains(&method.as_str()) && public.matches_path(path, fold) {
                best.offer((public.literal_len(), 0, LISTED), &BYPASS);
            }
        }
        best.or(&r.default)
    }

    /// One pass gives what the two gave, for QuFabric's table with public paths and a table whose prefixes
    /// differ only in case, over paths in every case and several methods.
    #[test]
    fn one_pass_select_equals_two_passes() {
        let admins = RouteAction::groups(allow(&["admins"]));
        let tables = [
            qufabric_default_routes(true).with_public(&NETBIRD_PUBLIC_API),
            qufabric_default_routes(false),
            Routes::new(
                vec![
                    rule("/api", None, RouteAction::issuer_default()),
                    rule("/Admin", Some(&["GET"]), admins.clone()),
                    rule("/admin/", Some(&["POST", "DELETE"]), admins.clone()),
                    rule("/api/users", Some(&["GET"]), RouteAction::Bypass),
                    rule("/API/Users/x", None, admins),
                ],
                RouteAction::Bypass,
            )
            .unwrap()
            .with_public(&NETBIRD_PUBLIC_API),
        ];
        let paths = [
            "/",
            "/api",
            "/API",
            "/api/",
            "/Api/users",
            "/api/users",
            "/api/users/x",
            "/API/USERS/X",
            "/admin",
            "/ADMIN",
            "/admin/x",
            "/Admin/x",
            "/api/instance",
            "/API/instance",
            "/api/users/invites/nbi_1",
            "/api/users/invites/NBI_1",
            "/api/users/invites/nbi_1/accept",
            "/management.ManagementService/Sync",
            "/MANAGEMENT.managementservice/x",
            "/signalexchange.SignalExchange/",
            "/relay",
            "/RELAY/x",
            "/oauth2/x",
            "/apix",
        ];
        let mut compared = 0;
        for r in &tables {
            for m in ["GET", "HEAD", "POST", "DELETE", "OPTIONS", "PATCH"] {
                let method = Method::parse(m).unwrap();
                for path in paths {
                    let (exact, folded) = r.select(&method, path);
                    assert_eq!(exact, select_in_two_passes(r, &method, path, false), "{m} {path}");
                    assert_eq!(folded, select_in_two_passes(r, &method, path, true), "{m} {path} (folded)");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 3 * 6 * paths.len());
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
            vec![rule("/api", None, bypass.clone()), rule("/api", None, RouteAction::issuer_default())],
            vec![rule("/api", Some(&["GET", "POST"]), bypass.clone()), rule("/api", Some(&["POST"]), bypass.clone())],
        ];
        for rules in bad_tables {
            assert_eq!(config_setting(Routes::new(rules.clone(), RouteAction::Bypass)), "ROUTES", "{rules:?}");
        }
        let ok = Routes::new(
            vec![
                rule("/api", None, RouteAction::issuer_default()),
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
        let admins = RouteAction::groups(allow(&["admins"]));
        let routes = Routes::new(
            vec![
                rule("/api", None, RouteAction::issuer_default()),
                rule("/api/public", None, RouteAction::Bypass),
                rule("/api/admin/", None, admins.clone()),
            ],
            RouteAction::Bypass,
        )
        .unwrap();
        assert_eq!(routes.action("GET", "/api"), Ok(&RouteAction::issuer_default()));
        assert_eq!(routes.action("GET", "/api/x"), Ok(&RouteAction::issuer_default()));
        assert_eq!(routes.action("GET", "/apix"), Ok(&RouteAction::Bypass));
        assert_eq!(routes.action("GET", "/api/public"), Ok(&RouteAction::Bypass));
        assert_eq!(routes.action("GET", "/api/public/x"), Ok(&RouteAction::Bypass));
        assert_eq!(routes.action("GET", "/api/publicx"), Ok(&RouteAction::issuer_default()));
        assert_eq!(routes.action("GET", "/api/admin/users"), Ok(&admins));
        assert_eq!(routes.action("GET", "/api/admin/"), Ok(&admins));
        assert_eq!(routes.action("GET", "/api/admin"), Ok(&RouteAction::issuer_default()));
        assert_eq!(routes.action("GET", "/other"), Ok(&RouteAction::Bypass));
    }

    #[test]
    fn routes_methods_select_rules() {
        let routes = Routes::new(
            vec![
                rule("/api", None, RouteAction::issuer_default()),
                rule("/api/hooks", Some(&["POST"]), RouteAction::Bypass),
                rule("/api", Some(&["OPTIONS"]), RouteAction::Bypass),
            ],
            RouteAction::issuer_default(),
        )
        .unwrap();
        assert_eq!(routes.action("POST", "/api/hooks"), Ok(&RouteAction::Bypass));
        assert_eq!(routes.action("GET", "/api/hooks"), Ok(&RouteAction::issuer_default()));
        assert_eq!(routes.action("OPTIONS", "/api/x"), Ok(&RouteAction::Bypass));
        assert_eq!(routes.action("GET", "/api/x"), Ok(&RouteAction::issuer_default()));
    }

    /// Issue 22, finding 1: the Traefik plugin passed the method as received, and rules compared it exactly, so
    /// `delete`, `Delete` and `put` missed the docs' `[DELETE, PUT]` admins rule (200 for any user) and `get` a
    /// GET-only rule. Every spelling is now judged as its upper-case name; a method that is not a token is refused.
    #[test]
    fn methods_are_judged_in_their_canonical_case() {
        let admins = RouteAction::groups(allow(&["admins"]));
        let routes = Routes::new(
            vec![
                rule("/api", None, RouteAction::issuer_default()),
                rule("/api/users", Some(&["DELETE", "PUT"]), admins.clone()),
                rule("/api/audit", Some(&["GET"]), admins.clone()),
                rule("/api/hooks", Some(&["POST"]), RouteAction::Bypass),
            ],
            RouteAction::Bypass,
        )
        .unwrap();
        for method in ["DELETE", "delete", "Delete", "dElEtE", "PUT", "put", "Put"] {
            assert_eq!(routes.action(method, "/api/users/1"), Ok(&admins), "{method}");
        }
        for method in ["GET", "get", "Get"] {
            assert_eq!(routes.action(method, "/api/users/1"), Ok(&RouteAction::issuer_default()), "{method}");
            assert_eq!(routes.action(method, "/api/audit"), Ok(&admins), "{method}");
        }
        assert_eq!(routes.action("post", "/api/hooks"), Ok(&RouteAction::Bypass), "a bypass holds its case variants");
        for method in ["", "DE LETE", "DELETE ", "GET\t", "GET/", "D\u{c9}LETE", "GET\r\nX: y"] {
            assert_eq!(routes.action(method, "/api/users/1"), Err(Error::MethodInvalid), "{method:?}");
            assert_eq!(routes.action(method, "/relay"), Err(Error::MethodInvalid), "{method:?} on a bypass path");
        }
    }

    /// Issue 22, finding 2: a `methods: [GET]` rule did not cover `HEAD`, so a `HEAD` to a GET-only admin path
    /// passed with the broader rule. A rule that requires a user holds `HEAD` through `GET`; a bypass rule does
    /// not open `HEAD` unless it lists it; a rule listing `HEAD` itself comes first.
    #[test]
    fn a_get_rule_holds_head() {
        let admins = RouteAction::groups(allow(&["admins"]));
        let ops = RouteAction::groups(allow(&["ops"]));
        let routes = Routes::new(
            vec![
                rule("/api", None, RouteAction::issuer_default()),
                rule("/api/audit", Some(&["GET"]), admins.clone()),
                rule("/api/audit", None, ops.clone()),
                rule("/api/public", Some(&["GET"]), RouteAction::Bypass),
                rule("/api/probe", Some(&["GET"]), admins.clone()),
                rule("/api/probe", Some(&["HEAD"]), RouteAction::Bypass),
            ],
            RouteAction::Bypass,
        )
        .unwrap();
        for method in ["HEAD", "head", "GET"] {
            assert_eq!(routes.action(method, "/api/audit/log"), Ok(&admins), "{method}");
        }
        assert_eq!(routes.action("POST", "/api/audit/log"), Ok(&ops), "other methods: the rule without methods");
        assert_eq!(routes.action("GET", "/api/public"), Ok(&RouteAction::Bypass));
        assert_eq!(routes.action("HEAD", "/api/public"), Ok(&RouteAction::issuer_default()), "a bypass opens GET only");
        assert_eq!(routes.action("HEAD", "/api/probe"), Ok(&RouteAction::Bypass), "listed HEAD beats HEAD via GET");
        assert_eq!(routes.action("GET", "/api/probe"), Ok(&admins));
        // A longer prefix still wins over a HEAD held through GET by a shorter one.
        let nested = Routes::new(
            vec![rule("/api", Some(&["GET"]), admins.clone()), rule("/api/x", None, RouteAction::issuer_default())],
            RouteAction::Bypass,
        )
        .unwrap();
        assert_eq!(nested.action("HEAD", "/api/x/1"), Ok(&RouteAction::issuer_default()));
        assert_eq!(nested.action("HEAD", "/api/y"), Ok(&admins));
    }

    /// Finding 2 of the outside attack: with the docs' example `ROUTES`, `/api%2Fpeers` used to get "the strictest"
    /// rule (the `admins` DELETE rule, ranked by group count, methods ignored), so a user only in `admins` passed
    /// there while `/api/peers` refused them. No rule is picked for such a path any more.
    #[test]
    fn routes_unsafe_paths_are_refused_not_ranked() {
        let admins = RouteAction::groups(allow(&["admins"]));
        let routes = Routes::new(
            vec![
                rule("/open", None, RouteAction::Bypass),
                rule("/star", None, RouteAction::groups(any_user())),
                rule("/admin", None, admins.clone()),
                rule("/api", None, RouteAction::issuer_default()),
                rule("/api/users", Some(&["DELETE", "PUT"]), admins),
            ],
            RouteAction::Bypass,
        )
        .unwrap();
        for path in [
            "/open%2fx",
            "/open/../../x",
            "/api%2Fpeers",
            "/api/accounts%2F1",
            "/api%2fusers",
            "/api\\peers",
            "/api/p\u{e9}ers",
            "/API/peers",
        ] {
            for method in ["GET", "DELETE"] {
                assert_eq!(routes.action(method, path), Err(Error::PathAmbiguous), "{method} {path:?}");
            }
        }
        // Only a table that bypasses everything lets an ambiguous path through (there is nothing to protect).
        let open = Routes::new(vec![rule("/open", None, RouteAction::Bypass)], RouteAction::Bypass).unwrap();
        assert_eq!(open.action("GET", "/open\\x"), Ok(&RouteAction::Bypass));
        // A single authenticated default is enough to refuse.
        let d = RouteAction::groups(allow(&["x"]));
        let r = Routes::new(vec![rule("/open", None, RouteAction::Bypass)], d).unwrap();
        assert_eq!(r.action("GET", "/open\\x"), Err(Error::PathAmbiguous));
    }

    #[test]
    fn routes_case_ambiguous_paths_are_refused() {
        let admins = RouteAction::groups(allow(&["admins"]));
        let routes = Routes::new(
            vec![rule("/Admin", None, admins.clone()), rule("/hooks", Some(&["POST"]), RouteAction::Bypass)],
            RouteAction::issuer_default(),
        )
        .unwrap();
        assert_eq!(routes.action("GET", "/Admin/x"), Ok(&admins));
        assert_eq!(routes.action("GET", "/admin/x"), Err(Error::PathAmbiguous), "folded, it would reach /Admin");
        assert_eq!(routes.action("GET", "/ADMIN"), Err(Error::PathAmbiguous));
        assert_eq!(routes.action("GET", "/Adminx"), Ok(&RouteAction::issuer_default()));
        assert_eq!(routes.action("POST", "/hooks/x"), Ok(&RouteAction::Bypass));
        assert_eq!(routes.action("POST", "/Hooks/x"), Err(Error::PathAmbiguous), "a bypass only by its exact case");
        assert_eq!(routes.action("GET", "/Hooks/x"), Ok(&RouteAction::issuer_default()), "same rule either way");
        assert_eq!(routes.action("GET", "/Other"), Ok(&RouteAction::issuer_default()));
        // With DASHBOARD=protect, `/OAUTH2/` folded is a bypass: ambiguous.
        let strict = qufabric_default_routes(false);
        assert_eq!(strict.action("GET", "/OAUTH2/keys"), Err(Error::PathAmbiguous));
    }

    #[test]
    fn qufabric_routes_are_valid_through_new() {
        for bypass in [true, false] {
            let built = qufabric_default_routes(bypass);
            let checked = Routes::new(built.rules().to_vec(), built.default_action().clone()).unwrap();
            assert_eq!(checked.with_public(&NETBIRD_PUBLIC_API), built);
        }
    }

    #[test]
    fn qufabric_routes_gate_the_api_and_bypass_the_rest() {
        let r = qufabric_default_routes(true);
        let auth = &RouteAction::issuer_default();
        let bypass = &RouteAction::Bypass;
        let cases = [
            ("/api", auth),
            ("/api/", auth),
            ("/api/users", auth),
            ("/api/accounts/1?x=y", auth),
            ("/management.ManagementService/Login", bypass),
            ("/signalexchange.SignalExchange/Send", bypass),
            ("/management.ProxyService/GetMappingUpdate", bypass),
            ("/signal.SignalExchange/Send", bypass), // the old, wrong name is just a dashboard path
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
            assert_eq!(r.action("GET", path), Ok(want), "path {path:?}");
        }
        let strict = qufabric_default_routes(false);
        assert_eq!(strict.action("GET", "/peers"), Ok(auth));
        assert_eq!(strict.action("GET", "/relayx"), Ok(auth));
        assert_eq!(strict.action("GET", "/oauth2/keys"), Ok(bypass));
    }

    #[test]
    fn qufabric_routes_resist_path_tricks() {
        let r = qufabric_default_routes(true);
        let auth = Ok(&RouteAction::issuer_default());
        let bypass = Ok(&RouteAction::Bypass);
        let refused = Err(Error::PathAmbiguous);
        let cases = [
            ("/api/../oauth2/x", bypass.clone()), // really is /oauth2/x upstream
            ("/oauth2/../api/x", auth.clone()),
            ("/oauth2/%2e%2e/api/x", auth.clone()),
            ("/oauth2/%2E%2E/api/x", auth.clone()),
            ("/oauth2/%2E./api/x", auth.clone()),
            ("/relay/../api/x", auth.clone()),
            ("//api/x", auth.clone()),
            ("/%61pi/x", auth.clone()),
            ("/ws-proxy/..%2fapi/x", refused.clone()),
            ("/api%2fx", refused.clone()),
            ("/oauth2%2f..%2fapi", refused.clone()),
            ("/oauth2\\..\\api\\x", refused.clone()),
            ("/oauth2/..\\api", refused.clone()),
            ("/api./x", refused.clone()),
            ("/oauth2./x", refused.clone()),
            ("/oauth2/x;/../../api", refused.clone()),
            ("/../api/x", refused.clone()),
            ("api/x", refused.clone()),
            // Case variants: NetBird's router is case-sensitive, but a front proxy may not be.
            ("/API/x", refused.clone()),
            ("/Api", refused.clone()),
            ("/aPi/../API/x", refused.clone()),
            ("/%41PI/x", refused.clone()),
            ("/OAuth2/../API/x", refused.clone()),
            ("/Peers", bypass.clone()),
            ("/management.ManagementService/Login", bypass.clone()),
            ("/management.managementservice/Login", bypass.clone()),
            ("/RELAY", bypass.clone()),
        ];
        for (path, want) in cases {
            assert_eq!(r.action("GET", path), want, "path {path:?}");
        }
    }
}
