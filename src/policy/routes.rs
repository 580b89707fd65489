//! Per-route rules: which paths pass without a token, which require a user and which groups.

use super::groups::{Allow, GroupRule};
use super::path::normalize;
use crate::error::Error;

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
    ///
    /// A path whose action would change if prefixes matched ASCII case-insensitively (`/API/x` against the `/api`
    /// rule, `/admin` against a `/Admin` rule) gets that strictest action too: a front proxy or upstream that routes case-insensitively must not
    /// reach a gated route through a bypass.
    ///
    /// [`normalize_path`]: super::normalize_path
    pub fn action(&self, method: &str, path: &str) -> &RouteAction {
        let Some(path) = normalize(path) else {
            return &self.strict;
        };
        let action = self.select(method, &path, false);
        if *self.select(method, &path, true) != *action {
            return &self.strict;
        }
        action
    }

    /// The longest matching rule's action for a normal `path` (`fold`: prefixes match case-insensitively).
    fn select(&self, method: &str, path: &str, fold: bool) -> &RouteAction {
        let mut best: Option<&RouteRule> = None;
        for rule in &self.rules {
            if !rule.matches_path(path, fold) || !rule.matches_method(method) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::fixtures::{allow, any_user, config_setting, rule};

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
    fn routes_case_ambiguous_paths_fail_closed() {
        let admins = RouteAction::Authenticate(Some(allow(&["admins"])));
        let routes = Routes::new(
            vec![rule("/Admin", None, admins.clone()), rule("/hooks", Some(&["POST"]), RouteAction::Bypass)],
            RouteAction::Authenticate(None),
        )
        .unwrap();
        assert_eq!(routes.action("GET", "/Admin/x"), &admins);
        assert_eq!(routes.action("GET", "/admin/x"), &admins, "folded, it would reach the admins rule");
        assert_eq!(routes.action("GET", "/ADMIN"), &admins);
        assert_eq!(routes.action("GET", "/Adminx"), &RouteAction::Authenticate(None));
        assert_eq!(routes.action("POST", "/hooks/x"), &RouteAction::Bypass);
        assert_eq!(routes.action("POST", "/Hooks/x"), &admins, "a bypass only by its exact case");
        assert_eq!(routes.action("GET", "/Other"), &RouteAction::Authenticate(None));
        // With DASHBOARD=protect, `/OAUTH2/` folded is a bypass: ambiguous, so the strictest action.
        let strict = qufabric_default_routes(false);
        assert_eq!(strict.action("GET", "/OAUTH2/keys"), &RouteAction::Authenticate(None));
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
            // Case variants: NetBird's router is case-sensitive, but a front proxy may not be: fail closed.
            ("/API/x", auth),
            ("/Api", auth),
            ("/aPi/../API/x", auth),
            ("/%41PI/x", auth),
            ("/Peers", bypass),
            ("/management.ManagementService/Login", bypass),
            ("/management.managementservice/Login", bypass),
            ("/RELAY", bypass),
            ("/OAuth2/../API/x", auth),
        ];
        for (path, want) in cases {
            assert_eq!(r.action("GET", path), want, "path {path:?}");
        }
    }
}
