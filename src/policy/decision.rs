//! The group check once a token is verified ([`authorize`]), and the identity it yields. The order of a whole
//! request (route, credential, verification, this check) is [`crate::request`].

use std::sync::Arc;

use super::dex::is_local_user;
use super::routes::RouteAction;
use crate::error::Error;
use crate::verify::{IssuerConfig, Verified};

/// The verified user, as forwarded to the upstream.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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

impl Identity {
    /// The heap bytes of its strings and the groups' list.
    pub fn heap_bytes(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        self.sub.capacity()
            + opt(&self.email)
            + opt(&self.preferred_username)
            + self.groups.capacity() * std::mem::size_of::<String>()
            + self.groups.iter().map(String::capacity).sum::<usize>()
    }
}

/// How an issuer's tokens for users of the embedded IdP's `local` connector (a Dex `sub` naming connector
/// `local`: the owner created at setup, users added in QuFabric's dashboard) meet the issuer's own group rule.
/// They sign in with a password and carry no groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LocalUsers {
    /// Like every user: they need one of the allowed groups, so without groups they are refused (default).
    #[default]
    Groups,
    /// They pass the issuer's own group rule, as QuFabric itself lets them past its JWT allow groups (NetBird
    /// `management/server/auth/manager.go`). Routes with their own `allow_groups` still apply to them.
    Allow,
}

/// The gate's verdict on one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The route needs no token.
    Bypass,
    /// A verified, allowed user.
    Allow(Arc<Identity>),
    /// Refused: 401, 403 or 503 per [`Error::status`].
    Deny(Error),
}

/// The group check for a route that requires a user, after `verified` passed verification, in this order:
/// 1. the route's issuers ([`Requirement::issuers`]): a token of another issuer is refused
///    ([`Error::IssuerNotAllowedHere`]);
/// 2. the deny list of the token's issuer (`DENY_GROUPS`), on every route, whatever the route allows;
/// 3. the route's own rule (its deny list, then its allow list), or, without one, the issuer's allow list (which
///    the embedded IdP's local users pass when the issuer's [`LocalUsers`] is `Allow`).
///
/// The issuer is the token's entry in `issuers` (the [`Verifier`]'s list, `verifier.issuers()`); groups are read
/// from its `groups_claim`. `Bypass` gives [`Decision::Bypass`]; an issuer index outside `issuers` gives
/// `Deny(IssuerNotTrusted)` (fail closed).
///
/// [`Verifier`]: crate::verify::Verifier
pub fn authorize(action: &RouteAction, issuers: &[IssuerConfig], verified: &Verified) -> Decision {
    let need = match action {
        RouteAction::Bypass => return Decision::Bypass,
        RouteAction::Authenticate(need) => need,
    };
    let Some(issuer) = issuers.get(verified.issuer) else {
        return Decision::Deny(Error::IssuerNotTrusted);
    };
    if need.issuers.as_ref().is_some_and(|names| !names.contains(&issuer.issuer)) {
        return Decision::Deny(Error::IssuerNotAllowedHere);
    }
    let user = &verified.identity;
    let groups = Some(user.groups.as_slice());
    let verdict = match &need.groups {
        None if issuer.local_users == LocalUsers::Allow && is_local_user(&user.sub) => {
            issuer.groups.check_deny(&user.groups)
        }
        None => issuer.groups.check(groups),
        Some(route) => issuer.groups.check_deny(&user.groups).and_then(|()| route.check(groups)),
    };
    match verdict {
        Ok(()) => Decision::Allow(Arc::clone(&verified.identity)),
        Err(e) => Decision::Deny(e),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::alg::Algorithm;
    use crate::policy::Requirement;
    use crate::policy::fixtures::{allow, any_user, groups, rule};
    use crate::policy::{Routes, qufabric_default_routes};

    const EXP: f64 = 1_700_003_600.0;

    // ---- authorize ----

    /// A verified token of issuer `issuer` (of [`issuers`]) with claims `c`, its groups read from that issuer's
    /// groups claim.
    fn verified(issuer: usize, c: Value) -> Verified {
        let claim = issuers().get(issuer).map_or("groups".to_owned(), |i| i.groups_claim.clone());
        Verified {
            issuer,
            alg: Algorithm::RS256,
            kid: Some("k1".into()),
            thumbprint: [7; 32],
            exp: EXP,
            identity: Arc::new(crate::claims::Claims::of(&c, &claim).identity(&claim)),
        }
    }

    fn issuers() -> Vec<IssuerConfig> {
        let mut embedded =
            IssuerConfig::new("https://qf.example.com/oauth2", vec!["netbird-dashboard".into()], allow(&["qf"]));
        embedded.groups_claim = "realm_access.roles".into();
        vec![IssuerConfig::new("https://id.example.com", vec!["netbird".into()], allow(&["netbird-users"])), embedded]
    }

    /// The route's action, then the group check: what the pipeline does once a token is verified.
    fn judge(routes: &Routes, iss: &[IssuerConfig], path: &str, user: &Verified) -> Decision {
        match routes.action("GET", path) {
            Ok(action) => authorize(action, iss, user),
            Err(e) => Decision::Deny(e),
        }
    }

    #[test]
    fn issuer_default_rule_and_claim_apply() {
        let routes = qufabric_default_routes(true);
        let iss = issuers();
        let user = verified(
            0,
            json!({"sub": "u1", "email": "a@example.com", "preferred_username": "alice", "groups": ["netbird-users"]}),
        );
        let d = judge(&routes, &iss, "/api/peers", &user);
        assert_eq!(
            d,
            Decision::Allow(Arc::new(Identity {
                sub: "u1".into(),
                email: Some("a@example.com".into()),
                preferred_username: Some("alice".into()),
                groups: groups(&["netbird-users"]),
            }))
        );
        // The same groups under the second issuer, whose rule wants `qf` in `realm_access.roles`.
        let other = verified(1, json!({"sub": "u2", "groups": ["netbird-users"]}));
        assert_eq!(judge(&routes, &iss, "/api/x", &other), Decision::Deny(Error::GroupsMissing));
        let nested = verified(1, json!({"sub": "u3", "realm_access": {"roles": ["qf"]}}));
        match judge(&routes, &iss, "/api/x", &nested) {
            Decision::Allow(id) => assert_eq!(id.groups, groups(&["qf"])),
            other => panic!("expected allow, got {other:?}"),
        }
        let wrong = verified(0, json!({"sub": "u4", "groups": ["NetBird-Users"]}));
        assert_eq!(judge(&routes, &iss, "/api/x", &wrong), Decision::Deny(Error::GroupNotAllowed));
    }

    #[test]
    fn route_rule_overrides_the_issuer_default() {
        let routes = Routes::new(
            vec![rule("/api/admin", None, RouteAction::groups(allow(&["admins"])))],
            RouteAction::issuer_default(),
        )
        .unwrap();
        let iss = issuers();
        let user = verified(0, json!({"sub": "u1", "groups": ["netbird-users"]}));
        assert_eq!(judge(&routes, &iss, "/api/admin/x", &user), Decision::Deny(Error::GroupNotAllowed));
        assert!(matches!(judge(&routes, &iss, "/api/x", &user), Decision::Allow(_)));
    }

    /// Finding 3 of the outside attack: `DENY_GROUPS` was dropped on any route with its own `allow_groups`.
    #[test]
    fn issuer_deny_list_holds_on_routes_with_their_own_rule() {
        let mut iss = issuers();
        iss[0].groups.deny = vec!["contractors".into()];
        let contractor = verified(0, json!({"sub": "u1", "groups": ["admins", "contractors"]}));
        let admin = verified(0, json!({"sub": "u2", "groups": ["admins"]}));
        for rule in [allow(&["admins"]), any_user()] {
            let action = RouteAction::groups(rule);
            assert_eq!(authorize(&action, &iss, &contractor), Decision::Deny(Error::GroupDenied));
            assert!(matches!(authorize(&action, &iss, &admin), Decision::Allow(_)));
        }
        // The route's own deny list applies as well.
        let mut rule = allow(&["admins"]);
        rule.deny = vec!["interns".into()];
        let intern = verified(0, json!({"sub": "u3", "groups": ["admins", "interns"]}));
        assert_eq!(authorize(&RouteAction::groups(rule), &iss, &intern), Decision::Deny(Error::GroupDenied));
        // And on the issuer-default route, as before.
        assert_eq!(
            authorize(
                &RouteAction::issuer_default(),
                &iss,
                &verified(0, json!({"sub": "u4", "groups": ["netbird-users", "contractors"]}))
            ),
            Decision::Deny(Error::GroupDenied)
        );
    }

    /// Finding 3, second half: with several issuers, a route's group names matched groups of any issuer. A rule
    /// bound to one issuer refuses the other's tokens, whatever their groups.
    #[test]
    fn route_rules_are_bound_to_their_issuers() {
        let iss = issuers();
        let bound = RouteAction::Authenticate(Requirement {
            groups: Some(allow(&["admins"])),
            issuers: Some(vec!["https://id.example.com".into()]),
        });
        let pocketid_admin = verified(0, json!({"sub": "u1", "groups": ["admins"]}));
        let embedded_admin = verified(1, json!({"sub": "u2", "realm_access": {"roles": ["admins"]}}));
        assert!(matches!(authorize(&bound, &iss, &pocketid_admin), Decision::Allow(_)));
        assert_eq!(authorize(&bound, &iss, &embedded_admin), Decision::Deny(Error::IssuerNotAllowedHere));
        // Bound to every issuer (`"*"` in ROUTES): each issuer's own groups claim is read.
        let all = RouteAction::groups(allow(&["admins"]));
        assert!(matches!(authorize(&all, &iss, &embedded_admin), Decision::Allow(_)));
        // An issuer binding without a rule of its own: that issuer's default rule.
        let only_embedded = RouteAction::Authenticate(Requirement {
            groups: None,
            issuers: Some(vec!["https://qf.example.com/oauth2".into()]),
        });
        let pocketid_user = verified(0, json!({"sub": "u3", "groups": ["netbird-users"]}));
        assert_eq!(authorize(&only_embedded, &iss, &pocketid_user), Decision::Deny(Error::IssuerNotAllowedHere));
        let embedded_user = verified(1, json!({"sub": "u4", "realm_access": {"roles": ["qf"]}}));
        assert!(matches!(authorize(&only_embedded, &iss, &embedded_user), Decision::Allow(_)));
    }

    /// QuFabric's embedded IdP: the owner (Dex connector `local`) has no groups. Refused by default, admitted on
    /// issuer-default routes with `LocalUsers::Allow`, never on a route with its own groups, never another
    /// connector's user.
    #[test]
    fn embedded_local_users_follow_the_issuer_setting() {
        // NetBird `idp/dex/provider_test.go`'s local subject, and the same user id under connector `pocketid`.
        let local = "CiQ3YWFkOGMwNS0zMjg3LTQ3M2YtYjQyYS0zNjU1MDRiZjI1ZTcSBWxvY2Fs";
        let federated = "CiQ3YWFkOGMwNS0zMjg3LTQ3M2YtYjQyYS0zNjU1MDRiZjI1ZTcSCHBvY2tldGlk";
        let owner = verified(1, json!({"sub": local, "email": "owner@example.com"}));
        let remote = verified(1, json!({"sub": federated}));
        let mut iss = issuers();
        let default = RouteAction::issuer_default();
        assert_eq!(authorize(&default, &iss, &owner), Decision::Deny(Error::GroupsMissing), "default: groups");
        iss[1].local_users = LocalUsers::Allow;
        match authorize(&default, &iss, &owner) {
            Decision::Allow(id) => assert_eq!((id.sub.as_str(), id.groups.len()), (local, 0)),
            other => panic!("expected the local owner to pass, got {other:?}"),
        }
        assert_eq!(authorize(&default, &iss, &remote), Decision::Deny(Error::GroupsMissing));
        assert_eq!(
            authorize(&RouteAction::groups(allow(&["admins"])), &iss, &owner),
            Decision::Deny(Error::GroupsMissing)
        );
        // Only the issuer whose setting says so: the same subject from issuer 0 needs groups.
        assert_eq!(
            authorize(&default, &iss, &verified(0, json!({"sub": local}))),
            Decision::Deny(Error::GroupsMissing)
        );
    }

    #[test]
    fn authorize_fails_closed_on_an_unknown_issuer_index() {
        let user = verified(9, json!({"sub": "u1", "groups": ["netbird-users"]}));
        assert_eq!(
            authorize(&RouteAction::issuer_default(), &issuers(), &user),
            Decision::Deny(Error::IssuerNotTrusted)
        );
        assert_eq!(authorize(&RouteAction::Bypass, &issuers(), &user), Decision::Bypass);
    }
}
