//! NetBird's public API paths: the few `/api` endpoints its management server serves without a token, which the
//! gate bypasses by default (`PUBLIC_API = "bypass"`) so that first-run setup, invite acceptance and the NetBird
//! Proxy's login keep working behind it.
//!
//! NetBird `ee253fe`, `management/server/http/handler.go:67-83` registers the paths with
//! `bypass.AddBypassPath`; its auth middleware (`middleware/auth_middleware.go:74`) skips them by
//! `bypass.ShouldBypass(r.URL.Path, …)`, which matches each with Go's `path.Match`
//! (`middleware/bypass/bypass.go:56`: `*` is any run of non-`/` bytes, possibly empty). The middleware runs only for
//! a route gorilla/mux matched, method included (gorilla/mux v1.8.1 `mux.go`, `Router.Match`: a method mismatch
//! answers 405 without the middlewares), so what is really open is each handler's registered methods: the gate
//! bypasses exactly those, nothing more.

/// One public path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicRoute {
    /// The path as NetBird lists it: exact, or with one `*` standing for any run of bytes other than `/` (possibly
    /// empty), as Go's `path.Match` reads it. Matched against the normalised path (query removed), case-sensitively
    /// like NetBird; the route table refuses a case variant that folding would send here (`path_ambiguous`).
    pub pattern: &'static str,
    /// The methods its handler registers (gorilla/mux `Methods(…)`).
    pub methods: &'static [&'static str],
    /// Where the `*` is (`pattern.len()` without one): found once, when the table is built.
    star: usize,
}

impl PublicRoute {
    /// A route for `pattern` (at most one `*`) and `methods`.
    pub const fn new(pattern: &'static str, methods: &'static [&'static str]) -> PublicRoute {
        let bytes = pattern.as_bytes();
        let mut star = 0;
        while star < bytes.len() && bytes[star] != b'*' {
            star += 1;
        }
        PublicRoute { pattern, methods, star }
    }

    /// Whether the normal path `path` is this route's path (`fold`: ASCII case-insensitively). Lengths first: the
    /// route table asks every public route about every request.
    pub(super) fn matches_path(&self, path: &str, fold: bool) -> bool {
        let eq = |a: &[u8], b: &[u8]| if fold { a.eq_ignore_ascii_case(b) } else { a == b };
        let (pattern, path) = (self.pattern.as_bytes(), path.as_bytes());
        if self.star == pattern.len() {
            return path.len() == pattern.len() && eq(path, pattern);
        }
        let (head, tail) = (&pattern[..self.star], &pattern[self.star + 1..]);
        let Some(middle_len) = path.len().checked_sub(head.len() + tail.len()) else {
            return false;
        };
        let (start, middle) = path.split_at(head.len());
        let (middle, end) = middle.split_at(middle_len);
        eq(start, head) && eq(end, tail) && !middle.contains(&b'/')
    }

    /// Whether this route opens `path` for `method` (canonical: upper-case) without a token.
    pub fn opens(&self, method: &str, path: &str) -> bool {
        self.methods.contains(&method) && self.matches_path(path, false)
    }

    /// What it gives a client without a token, in one sentence (docs/CONFIG.md, the setup page). A function, not a
    /// field: no adapter calls it, so the texts stay out of their binaries.
    pub fn exposes(&self) -> &'static str {
        match self.pattern {
            // instance_handler.go:45-56 `getInstanceStatus` writes `api.InstanceStatus`.
            "/api/instance" => {
                "whether the instance still needs its first-run setup ({\"setup_required\": true|false}), nothing else"
            }
            // instance_handler.go:60-91 `setup` → `SetupService.SetupOwner` → `CreateOwnerUser`
            // (management/server/instance/manager.go): only while the embedded IdP has no user and the store no
            // account.
            "/api/setup" => {
                "creates the owner (a local user with the given email, name and password) of an instance that has no \
                 account and no user yet, and with NB_SETUP_PAT_ENABLED=true a personal access token for it; refused \
                 (412 setup already completed) once anyone exists, and without the embedded IdP"
            }
            // invites_handler.go:143-166 `getInviteInfo` → `GetUserInviteInfo` (management/server/user.go); rate
            // limited per IP (lines 21-27).
            "/api/users/invites/nbi_*" => {
                "for whoever holds an invite token: the invited email and name, the expiry, whether it is still valid, \
                 and the inviter's name"
            }
            // invites_handler.go:169-191 `acceptInvite` → `AcceptUserInvite` (user.go): the invited user is
            // created in the embedded IdP with the password sent, and the invite deleted.
            "/api/users/invites/nbi_*/accept" => {
                "for whoever holds an unexpired invite token: creates the invited local user with the password sent \
                 (its role and groups are the invite's)"
            }
            // handlers/proxy/auth.go:52-126 `handleCallback`: checks the OAuth `state` the NetBird Proxy issued,
            // exchanges `code` at the IdP and redirects with a session token.
            "/api/reverse-proxy/callback" => {
                "the NetBird Proxy's OIDC login callback: with a valid state and code from the IdP, a redirect to the \
                 proxied service carrying a session token (rate limited per IP); without them, an error"
            }
            _ => "",
        }
    }

    /// The bytes of the pattern other than `*`: how specific it is, against a route prefix's length.
    pub(super) fn literal_len(&self) -> usize {
        self.pattern.len() - usize::from(self.star < self.pattern.len())
    }
}

/// NetBird's public API paths (`management/server/http/handler.go:67-83`) with their handlers' methods.
pub const NETBIRD_PUBLIC_API: [PublicRoute; 5] = [
    // handlers/instance/instance_handler.go:30 `/instance` GET, OPTIONS. `/instance/version` (line 40) is not in the
    // bypass list.
    PublicRoute::new("/api/instance", &["GET", "OPTIONS"]),
    // instance_handler.go:31 `/setup` POST, OPTIONS.
    PublicRoute::new("/api/setup", &["POST", "OPTIONS"]),
    // handlers/users/invites_handler.go:77 (`AddPublicInvitesEndpoints`) `/users/invites/{token}` GET, OPTIONS.
    PublicRoute::new("/api/users/invites/nbi_*", &["GET", "OPTIONS"]),
    // invites_handler.go:78 `/users/invites/{token}/accept` POST, OPTIONS.
    PublicRoute::new("/api/users/invites/nbi_*/accept", &["POST", "OPTIONS"]),
    // types/proxy.go:7 `ProxyCallbackEndpointFull`; handlers/proxy/auth.go:49 GET only.
    PublicRoute::new("/api/reverse-proxy/callback", &["GET"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::policy::fixtures::{allow, rule};
    use crate::policy::{RouteAction, Routes, normalize_path, qufabric_default_routes};

    fn route(pattern: &str) -> PublicRoute {
        *NETBIRD_PUBLIC_API.iter().find(|r| r.pattern == pattern).unwrap()
    }

    /// Each pattern is a normal path and each method an upper-case token, as the route table needs them.
    #[test]
    fn patterns_are_normal_paths_and_methods_canonical() {
        for r in NETBIRD_PUBLIC_API {
            assert!(r.pattern.starts_with("/api/"), "{r:?}");
            assert_eq!(normalize_path(r.pattern).as_deref(), Some(r.pattern), "{r:?}");
            assert!(r.pattern.matches('*').count() <= 1, "{r:?}");
            assert!(!r.methods.is_empty() && r.methods.iter().all(|m| m.bytes().all(|b| b.is_ascii_uppercase())));
            assert!(!r.exposes().is_empty(), "{r:?}");
        }
    }

    /// Go's `path.Match` on the paths NetBird lists: exact paths are exact (no trailing `/`, no longer segment,
    /// nothing below), and `*` is one run of non-`/` bytes, possibly empty.
    #[test]
    fn patterns_match_as_go_path_match_does() {
        let instance = route("/api/instance");
        for (path, want) in [
            ("/api/instance", true),
            ("/api/instance/", false),
            ("/api/instancex", false),
            ("/api/instance/version", false),
            ("/api/Instance", false),
            ("/api", false),
        ] {
            assert_eq!(instance.matches_path(path, false), want, "{path}");
        }
        let invite = route("/api/users/invites/nbi_*");
        for (path, want) in [
            ("/api/users/invites/nbi_AbC123", true),
            ("/api/users/invites/nbi_", true),
            ("/api/users/invites/nbi_x/", false),
            ("/api/users/invites/nbi_x/accept", false),
            ("/api/users/invites/nbi_/x", false),
            ("/api/users/invites/nbi", false),
            ("/api/users/invites/xnbi_1", false),
            ("/api/users/invites/inv-1", false),
            ("/api/users/invites", false),
        ] {
            assert_eq!(invite.matches_path(path, false), want, "{path}");
        }
        let accept = route("/api/users/invites/nbi_*/accept");
        for (path, want) in [
            ("/api/users/invites/nbi_AbC123/accept", true),
            ("/api/users/invites/nbi_/accept", true),
            ("/api/users/invites/nbi_a/b/accept", false),
            ("/api/users/invites/nbi_a/accept/", false),
            ("/api/users/invites/nbi_a/acceptx", false),
            ("/api/users/invites/nbi_a/accepted", false),
            ("/api/users/invites/nbi_accept", false),
            ("/api/users/invites/nbi_a", false),
        ] {
            assert_eq!(accept.matches_path(path, false), want, "{path}");
        }
        assert!(accept.matches_path("/API/users/invites/NBI_a/Accept", true), "folded");
        assert!(!accept.matches_path("/API/users/invites/NBI_a/Accept", false));
    }

    #[test]
    fn only_the_handlers_methods_open_a_path() {
        assert!(route("/api/instance").opens("GET", "/api/instance"));
        assert!(route("/api/instance").opens("OPTIONS", "/api/instance"));
        assert!(!route("/api/instance").opens("HEAD", "/api/instance"));
        assert!(!route("/api/instance").opens("POST", "/api/instance"));
        assert!(route("/api/setup").opens("POST", "/api/setup"));
        assert!(!route("/api/setup").opens("GET", "/api/setup"));
        assert!(!route("/api/users/invites/nbi_*").opens("DELETE", "/api/users/invites/nbi_x"));
        assert!(!route("/api/users/invites/nbi_*/accept").opens("GET", "/api/users/invites/nbi_x/accept"));
        assert!(route("/api/reverse-proxy/callback").opens("GET", "/api/reverse-proxy/callback"));
        assert!(!route("/api/reverse-proxy/callback").opens("OPTIONS", "/api/reverse-proxy/callback"));
        assert_eq!(route("/api/users/invites/nbi_*/accept").literal_len(), "/api/users/invites/nbi_/accept".len());
        assert_eq!(route("/api/setup").literal_len(), "/api/setup".len());
    }

    /// NetBird's public paths (issue 20) in QuFabric's default table: open for their handlers' methods only, at
    /// their exact paths (no trailing `/`, no longer segment, nothing below, `nbi_*` one segment), and a case
    /// variant that folding would send to one is refused like any other.
    #[test]
    fn public_paths_open_exactly_their_paths_and_methods() {
        let r = qufabric_default_routes(true);
        let auth = Ok(&RouteAction::issuer_default());
        let bypass = Ok(&RouteAction::Bypass);
        let refused = Err(Error::PathAmbiguous);
        let cases = [
            ("GET", "/api/instance", bypass.clone()),
            ("get", "/api/instance", bypass.clone()),
            ("OPTIONS", "/api/instance", bypass.clone()),
            ("GET", "/api/instance?x=1", bypass.clone()),
            ("GET", "/api/./instance", bypass.clone()),
            ("GET", "/api/x/../instance", bypass.clone()),
            ("HEAD", "/api/instance", auth.clone()),
            ("POST", "/api/instance", auth.clone()),
            ("DELETE", "/api/instance", auth.clone()),
            ("GET", "/api/instance/", auth.clone()),
            ("GET", "/api/instancex", auth.clone()),
            ("GET", "/api/instance/version", auth.clone()),
            ("GET", "/api/Instance", refused.clone()),
            // Either reading of the case is open here (the dashboard's default, the public path)...
            ("GET", "/API/instance", bypass.clone()),
            // ...but not for a method the public path does not open.
            ("POST", "/API/instance", refused.clone()),
            ("GET", "/api/instance%2F", refused.clone()),
            ("POST", "/api/setup", bypass.clone()),
            ("OPTIONS", "/api/setup", bypass.clone()),
            ("GET", "/api/setup", auth.clone()),
            ("PUT", "/api/setup", auth.clone()),
            ("POST", "/api/setup/", auth.clone()),
            ("POST", "/api/setup-keys", auth.clone()),
            ("GET", "/api/users/invites/nbi_3xAmPlE", bypass.clone()),
            ("OPTIONS", "/api/users/invites/nbi_3xAmPlE", bypass.clone()),
            ("GET", "/api/users/invites/nbi_", bypass.clone()),
            ("DELETE", "/api/users/invites/nbi_3xAmPlE", auth.clone()),
            ("POST", "/api/users/invites/nbi_3xAmPlE", auth.clone()),
            ("GET", "/api/users/invites/nbi_x/", auth.clone()),
            ("GET", "/api/users/invites/nbi_x/y", auth.clone()),
            ("GET", "/api/users/invites/inv-1", auth.clone()),
            ("GET", "/api/users/invites", auth.clone()),
            ("GET", "/api/users/invites/NBI_x", refused.clone()),
            ("POST", "/api/users/invites/nbi_3xAmPlE/accept", bypass.clone()),
            ("OPTIONS", "/api/users/invites/nbi_3xAmPlE/accept", bypass.clone()),
            ("POST", "/api/users/invites/nbi_/accept", bypass.clone()),
            ("GET", "/api/users/invites/nbi_3xAmPlE/accept", auth.clone()),
            ("POST", "/api/users/invites/nbi_a/b/accept", auth.clone()),
            ("POST", "/api/users/invites/nbi_a/accept/", auth.clone()),
            ("POST", "/api/users/invites/nbi_a/accept/x", auth.clone()),
            ("POST", "/api/users/invites/nbi_a%2Faccept", refused.clone()),
            ("POST", "/api/users/invites/nbi_a/Accept", refused.clone()),
            ("GET", "/api/reverse-proxy/callback", bypass.clone()),
            ("GET", "/api/reverse-proxy/callback?state=s&code=c", bypass.clone()),
            ("OPTIONS", "/api/reverse-proxy/callback", auth.clone()),
            ("HEAD", "/api/reverse-proxy/callback", auth.clone()),
            ("POST", "/api/reverse-proxy/callback", auth.clone()),
            ("GET", "/api/reverse-proxy/callback/x", auth.clone()),
        ];
        for (method, path, want) in cases {
            assert_eq!(r.action(method, path), want, "{method} {path}");
        }
        // Without them (PUBLIC_API = "gate"), every one needs a token like the rest of /api.
        let gated = Routes::new(r.rules().to_vec(), RouteAction::Bypass).unwrap();
        assert!(gated.public().is_empty());
        for (method, path) in [("GET", "/api/instance"), ("POST", "/api/setup"), ("GET", "/api/users/invites/nbi_x")] {
            assert_eq!(gated.action(method, path), auth, "{method} {path}");
        }
    }

    /// How `ROUTES` rules meet the public paths: the most specific wins. A broader rule (`/api`, `/api/users`)
    /// leaves them open; a rule at the public path itself (or longer) replaces it for the methods it holds.
    #[test]
    fn routes_rules_and_public_paths() {
        let admins = RouteAction::groups(allow(&["admins"]));
        let mut rules = qufabric_default_routes(true).rules().to_vec();
        rules.retain(|r| r.prefix != "/api");
        rules.extend([
            rule("/api", None, admins.clone()),
            rule("/api/users", Some(&["DELETE", "PUT", "POST", "GET"]), admins.clone()),
            rule("/api/instance", Some(&["GET"]), admins.clone()),
            rule("/api/setup", None, RouteAction::issuer_default()),
            rule("/api/users/invites/nbi_blocked", None, admins.clone()),
        ]);
        let r = Routes::new(rules, RouteAction::Bypass).unwrap().with_public(&NETBIRD_PUBLIC_API);
        let bypass = Ok(&RouteAction::Bypass);
        assert_eq!(r.action("GET", "/api/users/invites/nbi_x"), bypass, "/api/users is shorter: the public path");
        assert_eq!(r.action("POST", "/api/users/invites/nbi_x/accept"), bypass);
        assert_eq!(r.action("GET", "/api/reverse-proxy/callback"), bypass, "/api is shorter");
        assert_eq!(r.action("GET", "/api/instance"), Ok(&admins), "a rule at the path itself wins");
        assert_eq!(r.action("OPTIONS", "/api/instance"), bypass, "for the methods it holds only");
        assert_eq!(r.action("POST", "/api/setup"), Ok(&RouteAction::issuer_default()), "a rule without methods");
        assert_eq!(r.action("OPTIONS", "/api/setup"), Ok(&RouteAction::issuer_default()));
        assert_eq!(r.action("GET", "/api/users/invites/nbi_blocked"), Ok(&admins), "a longer prefix wins");
        assert_eq!(r.action("GET", "/api/users/invites/nbi_open"), bypass);
        assert_eq!(r.action("GET", "/api/users"), Ok(&admins));
    }
}
