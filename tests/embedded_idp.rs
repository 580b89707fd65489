//! QuFabric's embedded IdP (Dex) as the gate's issuer: Dex-shaped ID tokens through the gate's configuration, the
//! verifier and the policy, natively. The tokens follow dexidp/dex `server/tokens/claims.go`; the local-user rule
//! follows NetBird `management/server/auth/manager.go` (`dex.IsLocalUserID`), and the `pocketid` connector's groups
//! NetBird's `idp/dex/connector.go` (the `groups` scope with `insecureEnableGroups: true`).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use pocketgate::Error;
use pocketgate::config::GateConfig;
use pocketgate::crypto::RustCrypto;
use pocketgate::jwk::KeySet;
use pocketgate::policy::{Decision, is_local_user};
use pocketgate::request::Verdict;
use serde_json::json;
use support::{EMBEDDED_ISSUER, Issuer, NOW, dex_id_token_claims, dex_subject};

const OWNER: &str = "7aad8c05-3287-473f-b42a-365504bf25e7";

fn gate(extra: &[(&str, &str)]) -> GateConfig {
    let mut vars = vec![
        ("ISSUER", EMBEDDED_ISSUER),
        ("AUDIENCE", "netbird-dashboard,netbird-cli"),
        ("ALLOW_GROUPS", "netbird-users"),
        ("JWKS_URI", "https://vpn.example.com/oauth2/keys"),
    ];
    vars.extend_from_slice(extra);
    GateConfig::from_env(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())).expect("valid")
}

/// The gate's verdict for `GET /api/users` with `claims` signed by Dex's (stand-in) key.
fn verdict(cfg: &GateConfig, claims: serde_json::Value) -> Decision {
    let dex = Issuer::rs256().with_iss(EMBEDDED_ISSUER);
    let keys = KeySet::from_json(dex.jwks_json().as_bytes()).unwrap();
    let token = dex.sign_claims(&claims);
    let bearer = format!("Bearer {token}");
    let mut caches = support::gate::caches(cfg, 0);
    let outcome = support::gate::decide(cfg, &mut caches, "GET", "/api/users", Some(&bearer), &keys, &RustCrypto);
    match outcome.verdict {
        Verdict::Allow(id) => Decision::Allow(id),
        Verdict::Deny { error, .. } => Decision::Deny(error),
        Verdict::Bypass | Verdict::PatPass => Decision::Bypass,
    }
}

#[test]
fn dex_subjects_name_their_connector() {
    assert!(is_local_user(&dex_subject(OWNER, "local")));
    assert!(!is_local_user(&dex_subject(OWNER, "pocketid")));
}

#[test]
fn the_owner_is_refused_by_default_and_admitted_with_local_users_allow() {
    let owner = dex_id_token_claims(NOW, OWNER, "local", "netbird-dashboard", &[]);
    assert_eq!(verdict(&gate(&[]), owner.clone()), Decision::Deny(Error::GroupsMissing));
    match verdict(&gate(&[("LOCAL_USERS", "allow")]), owner) {
        Decision::Allow(id) => {
            assert_eq!(id.sub, dex_subject(OWNER, "local"));
            assert_eq!(id.email.as_deref(), Some("owner@example.com"));
            assert!(id.groups.is_empty());
        }
        other => panic!("the owner should pass with LOCAL_USERS=allow: {other:?}"),
    }
    // The CLI's audience works the same way.
    let cli = dex_id_token_claims(NOW, OWNER, "local", "netbird-cli", &[]);
    assert!(matches!(verdict(&gate(&[("LOCAL_USERS", "allow")]), cli), Decision::Allow(_)));
}

#[test]
fn pocketid_users_through_dex_need_their_groups() {
    let cfg = gate(&[("LOCAL_USERS", "allow")]);
    let member = dex_id_token_claims(NOW, "3b1e5f0a", "pocketid", "netbird-dashboard", &["netbird-users"]);
    assert!(matches!(verdict(&cfg, member), Decision::Allow(_)));
    let guest = dex_id_token_claims(NOW, "3b1e5f0a", "pocketid", "netbird-dashboard", &["guests"]);
    assert_eq!(verdict(&cfg, guest), Decision::Deny(Error::GroupNotAllowed));
    let none = dex_id_token_claims(NOW, "3b1e5f0a", "pocketid", "netbird-dashboard", &[]);
    assert_eq!(verdict(&cfg, none), Decision::Deny(Error::GroupsMissing));
}

#[test]
fn dex_tokens_meet_the_claim_checks() {
    let cfg = gate(&[("LOCAL_USERS", "allow")]);
    let mut other_aud = dex_id_token_claims(NOW, OWNER, "local", "some-other-client", &[]);
    assert_eq!(verdict(&cfg, other_aud.clone()), Decision::Deny(Error::AudienceMismatch));
    other_aud["aud"] = json!(["some-other-client", "netbird-dashboard"]);
    assert!(matches!(verdict(&cfg, other_aud), Decision::Allow(_)), "cross-client audience array");
    let expired = dex_id_token_claims(NOW - 90_000, OWNER, "local", "netbird-dashboard", &[]);
    assert_eq!(verdict(&cfg, expired), Decision::Deny(Error::Expired));
    // A local user's deny-listed group would still count (none today, but the deny list is checked).
    let cfg = gate(&[("LOCAL_USERS", "allow"), ("DENY_GROUPS", "contractors")]);
    let denied = dex_id_token_claims(NOW, OWNER, "local", "netbird-dashboard", &["contractors"]);
    assert_eq!(verdict(&cfg, denied), Decision::Deny(Error::GroupDenied));
}
