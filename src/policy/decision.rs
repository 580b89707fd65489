//! The verdict on one request: route, then verification, then the group check.

use std::borrow::Borrow;
use std::future::Future;

use super::routes::{RouteAction, Routes};
use crate::error::Error;
use crate::verify::{IssuerConfig, Verified};

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

    use serde_json::{Value, json};

    use super::*;
    use crate::alg::Algorithm;
    use crate::policy::fixtures::{allow, claims, groups, rule};
    use crate::policy::qufabric_default_routes;

    const EXP: f64 = 1_700_003_600.0;

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
