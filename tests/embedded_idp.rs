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

/// Issue 22, finding 5, through the whole pipeline: a PocketID user (Dex connector `pocketid`) whose user id is
/// 300 bytes and hides `12 05 local` where NetBird's one-byte length reading lands, with skipped fields that
/// swallow the real connector. Main decoded it as NetBird does (local) and admitted it without groups under
/// `LOCAL_USERS=allow`; the strict decode says `pocketid`, so the groups apply.
#[test]
fn a_federated_subject_hiding_local_needs_its_groups() {
    let mut user = vec![b'a'; (0x80 | (300 % 128)) - 1];
    user.extend_from_slice(b"\x12\x05local");
    let rest = 300 - user.len() - 12;
    user.extend_from_slice(&[0x1a, rest as u8]);
    user.resize(user.len() + rest, b'a');
    user.extend_from_slice(&[0x1a, 8 + 10]);
    user.resize(300, b'a');
    let user = String::from_utf8(user).unwrap();
    assert!(!dex_subject(&user, "pocketid").contains(['-', '_']), "NetBird's standard base64 reads it");
    let cfg = gate(&[("LOCAL_USERS", "allow")]);
    let attacker = dex_id_token_claims(NOW, &user, "pocketid", "netbird-dashboard", &[]);
    assert_eq!(verdict(&cfg, attacker), Decision::Deny(Error::GroupsMissing));
    // A local user with a user id NetBird misreads (two-byte length) is not local to QuFabric either.
    let long_local = dex_id_token_claims(NOW, &"u".repeat(200), "local", "netbird-dashboard", &[]);
    assert_eq!(verdict(&cfg, long_local), Decision::Deny(Error::GroupsMissing));
    let member = dex_id_token_claims(NOW, &user, "pocketid", "netbird-dashboard", &["netbird-users"]);
    assert!(matches!(verdict(&cfg, member), Decision::Allow(_)));
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
