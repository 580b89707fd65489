//! Validation as you type: each check returns [`Finding`]s that say how to fix the value, and [`validate`]
//! turns a clean [`SetupInput`] into a [`Plan`].

use super::{Finding, GateHost, GateMode, Groups, Level, Mode, Plan, SetupInput};

mod urls;

pub use urls::{check_domain, check_issuer, check_origin, is_loopback};

/// Default PKCE ports of the QuFabric (NetBird) CLI.
pub const DEFAULT_PKCE_PORTS: [u16; 2] = [53000, 54000];

fn err(field: &'static str, code: &'static str, message: String) -> Finding {
    Finding { field, level: Level::Error, code, message }
}

fn warn(field: &'static str, code: &'static str, message: String) -> Finding {
    Finding { field, level: Level::Warning, code, message }
}

/// Split a comma-separated list, trimming items (empty items are kept so they can be reported).
pub fn split_list(list: &str) -> Vec<&str> {
    if list.trim().is_empty() {
        return Vec::new();
    }
    list.split(',').map(str::trim).collect()
}

/// The allowed groups: names as they appear in the `groups` claim, or `*` alone.
pub fn check_groups(list: &str) -> (Vec<Finding>, Option<Groups>) {
    const F: &str = "groups";
    let items = split_list(list);
    let mut out = Vec::new();
    if items.is_empty() {
        out.push(err(
            F,
            "groups_missing",
            "Enter at least one group name, e.g. netbird-users (or * to allow any PocketID user).".into(),
        ));
        return (out, None);
    }
    if items.contains(&"*") {
        if items.len() > 1 {
            out.push(err(F, "groups_star_mixed", "Use * alone (any user) or a list of group names, not both.".into()));
            return (out, None);
        }
        out.push(warn(
            F,
            "groups_any_user",
            "* lets every PocketID user through the gate; prefer a group such as netbird-users.".into(),
        ));
        return (out, Some(Groups::Any));
    }
    for (i, item) in items.iter().enumerate() {
        if item.is_empty() {
            out.push(err(F, "groups_empty_item", "Remove the empty item (two commas or a trailing comma).".into()));
        } else if items[..i].contains(item) {
            out.push(err(F, "groups_duplicate", format!("Group {item} is listed twice: list it once.")));
        } else if item.chars().count() < 2 || item.chars().count() > 255 {
            // PocketID's UserGroupCreateDto: name min=2, max=255 (backend/internal/dto/user_group_dto.go).
            out.push(err(
                F,
                "groups_name_length",
                format!("\"{item}\": PocketID group names are 2 to 255 characters long."),
            ));
        } else if super::pocketid::friendly(item).chars().count() < 2 {
            // The page derives the friendly name (min=2, max=50 in PocketID) from the name.
            out.push(err(
                F,
                "groups_friendly_name_length",
                format!(
                    "\"{item}\" would give the friendly name \"{}\": PocketID needs 2 to 50 characters; use a \
                     longer group name.",
                    super::pocketid::friendly(item)
                ),
            ));
        } else if item.contains(char::is_whitespace) {
            out.push(err(
                F,
                "groups_friendly_name",
                format!(
                    "\"{item}\" looks like a friendly name: the groups claim carries the group's name, \
                     e.g. {}.",
                    suggest_name(item)
                ),
            ));
        } else if item.chars().any(|c| c.is_uppercase()) {
            out.push(warn(
                F,
                "groups_uppercase",
                format!(
                    "\"{item}\" has capitals: group names are matched case-sensitively; check it is the group's \
                     name (e.g. {}), not its friendly name.",
                    suggest_name(item)
                ),
            ));
        } else if !item.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            out.push(warn(
                F,
                "groups_characters",
                format!("\"{item}\" has unusual characters; PocketID group names are usually like netbird-users."),
            ));
        }
    }
    if out.iter().any(|f| f.level == Level::Error) {
        return (out, None);
    }
    (out, Some(Groups::Names(items.iter().map(|s| (*s).to_owned()).collect())))
}

/// A group name suggestion for a friendly name: lowercase, runs of other characters become `-`.
pub fn suggest_name(friendly: &str) -> String {
    let mut s = String::new();
    for c in friendly.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-').to_owned()
}

/// The OIDC client id: 2–128 characters of `[A-Za-z0-9._-]` (PocketID's rule for a chosen id).
pub fn check_client_id(id: &str) -> Vec<Finding> {
    const F: &str = "client_id";
    if id.trim().is_empty() {
        return vec![err(F, "client_id_missing", "Enter the OIDC client id, e.g. qufabric.".into())];
    }
    if id.len() < 2 || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return vec![err(
            F,
            "client_id_invalid",
            "Use 2–128 letters, digits, dots, underscores or hyphens for the client id (PocketID's rule).".into(),
        )];
    }
    Vec::new()
}

/// The client secret: needed by the confidential client of embedded mode, unused in standalone mode.
pub fn check_secret(secret: &str, mode: Mode) -> Vec<Finding> {
    const F: &str = "client_secret";
    match (mode, secret.trim().is_empty()) {
        (Mode::Embedded, true) => vec![warn(
            F,
            "secret_missing",
            "Embedded mode uses a confidential client: create the client in PocketID (step 1), generate its \
             secret, and paste it here. The QuFabric request shows a placeholder until then."
                .into(),
        )],
        (Mode::Standalone, false) => vec![warn(
            F,
            "secret_unused",
            "Standalone mode uses a public client with PKCE: no secret is needed; clear this field.".into(),
        )],
        _ if secret != secret.trim() => {
            vec![err(F, "secret_whitespace", "Remove the spaces around the secret.".into())]
        }
        _ => Vec::new(),
    }
}

/// Longest OIDC client name PocketID accepts (`OidcClientCreateDto.Name`, `max=50`).
pub const CLIENT_NAME_MAX: usize = 50;

/// The display name (the PocketID client's name): non-empty, one line, at most 50 characters.
pub fn check_display_name(name: &str) -> Vec<Finding> {
    if name.trim().is_empty() {
        return vec![err("display_name", "display_name_missing", "Enter a display name, e.g. QuFabric.".into())];
    }
    let n = name.trim().chars().count();
    if n > CLIENT_NAME_MAX {
        return vec![err(
            "display_name",
            "display_name_too_long",
            format!(
                "Shorten the display name to {CLIENT_NAME_MAX} characters (it has {n}): PocketID refuses longer client names."
            ),
        )];
    }
    if name.contains(char::is_control) {
        return vec![err(
            "display_name",
            "display_name_invalid",
            "Use a single line without control characters.".into(),
        )];
    }
    Vec::new()
}

/// The identity provider's name in QuFabric (embedded mode; empty = `PocketID`): one line.
pub fn check_idp_name(name: &str) -> Vec<Finding> {
    if name.contains(char::is_control) {
        return vec![err("idp_name", "idp_name_invalid", "Use a single line without control characters.".into())];
    }
    Vec::new()
}

/// The CLI's PKCE callback ports: at least one, 1024–65535, no duplicates.
pub fn check_ports(list: &str) -> (Vec<Finding>, Vec<u16>) {
    const F: &str = "pkce_ports";
    let items = split_list(list);
    if items.is_empty() {
        return (
            vec![err(F, "ports_missing", "Enter at least one PKCE port; QuFabric's CLI uses 53000, 54000.".into())],
            Vec::new(),
        );
    }
    let mut out = Vec::new();
    let mut ports = Vec::new();
    for item in items {
        match item.parse::<u16>() {
            Ok(p) if p >= 1024 => {
                if ports.contains(&p) {
                    out.push(err(F, "ports_duplicate", format!("Port {p} is listed twice: list it once.")));
                } else {
                    ports.push(p);
                }
            }
            _ => out.push(err(
                F,
                "ports_invalid",
                format!("\"{item}\" is not a port from 1024 to 65535; the CLI's defaults are 53000, 54000."),
            )),
        }
    }
    (out, ports)
}

/// Every check, in form order. The plan is `Some` when no finding is an error.
pub fn validate(input: &SetupInput) -> (Vec<Finding>, Option<Plan>) {
    let mut findings = check_domain(&input.domain);
    findings.extend(check_issuer(&input.issuer));
    findings.extend(check_display_name(&input.display_name));
    if input.mode == Mode::Embedded {
        findings.extend(check_idp_name(&input.idp_name));
    }
    findings.extend(check_client_id(&input.client_id));
    findings.extend(check_secret(&input.client_secret, input.mode));
    let (group_findings, groups) = check_groups(&input.groups);
    findings.extend(group_findings);
    let ports = match input.mode {
        Mode::Standalone => {
            let (f, ports) = check_ports(&input.pkce_ports);
            findings.extend(f);
            ports
        }
        Mode::Embedded => Vec::new(),
    };
    let deployment = super::deployment::check(input, &mut findings);
    let traefik = super::deployment::check_traefik(input, &mut findings);
    let jwks = match (input.gate_mode, input.gate_host) {
        (GateMode::ForwardAuth, GateHost::Traefik) => {
            let (f, jwks) = check_jwks(&input.jwks);
            findings.extend(f);
            jwks
        }
        _ => None,
    };
    if findings.iter().any(|f| f.level == Level::Error) {
        return (findings, None);
    }
    let Some(groups) = groups else { return (findings, None) };
    let secret = input.client_secret.trim();
    let plan = Plan {
        domain: input.domain.trim().to_ascii_lowercase(),
        issuer: input.issuer.clone(),
        mode: input.mode,
        display_name: input.display_name.trim().to_owned(),
        idp_name: match input.idp_name.trim() {
            "" => "PocketID".to_owned(),
            n => n.to_owned(),
        },
        client_id: input.client_id.clone(),
        client_secret: (input.mode == Mode::Embedded && !secret.is_empty()).then(|| secret.to_owned()),
        groups,
        pkce_ports: ports,
        gate_mode: input.gate_mode,
        upstream: deployment.upstream,
        gate_url: deployment.gate_url,
        gate_host: input.gate_host,
        dashboard_upstream: deployment.dashboard,
        signal_upstream: deployment.signal,
        relay_upstream: deployment.relay,
        dashboard: input.dashboard,
        public_api: input.public_api,
        traefik,
        zone: deployment.zone,
        local_users: input.local_users,
        jwks,
    };
    (findings, Some(plan))
}

/// The Traefik plugin's key set as the page fetched it: empty is a warning (the operator provides jwks.json), an
/// unusable set an error.
fn check_jwks(text: &str) -> (Vec<Finding>, Option<String>) {
    if text.trim().is_empty() {
        let message = "The page has not fetched the issuer's key set (Check issuer): put the issuer's JWKS into \
                       jwks.json yourself (see the key refresh script)."
            .into();
        return (vec![Finding { field: "jwks", level: Level::Warning, code: "jwks_not_fetched", message }], None);
    }
    match crate::jwk::KeySet::from_json(text.as_bytes()).and_then(|set| set.require_usable()) {
        Ok(()) => (Vec::new(), Some(text.trim().to_owned())),
        Err(e) => {
            let message = format!("The fetched key set is not usable ({e}); check the issuer's jwks_uri.");
            (vec![Finding { field: "jwks", level: Level::Error, code: "jwks_unusable", message }], None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::codes;
    use super::*;

    #[test]
    fn issuer_good_ones_pass() {
        assert!(check_issuer("https://id.example.com").is_empty());
        assert!(check_issuer("https://id.example.com:8443").is_empty());
        assert!(check_issuer("http://localhost:1411").is_empty());
        assert!(check_issuer("http://127.0.0.1:1411").is_empty());
    }

    #[test]
    fn issuer_mistakes_each_have_a_code_and_fix() {
        let f = check_issuer("https://id.example.com/");
        assert_eq!(codes(&f), ["issuer_trailing_slash"]);
        assert!(f[0].message.contains("tokens carry iss https://id.example.com."), "{}", f[0].message);
        assert_eq!(codes(&check_issuer("https://id.example.com/pocket")), ["issuer_path"]);
        assert_eq!(codes(&check_issuer("https://id.example.com?x=1")), ["issuer_query"]);
        let up = check_issuer("https://ID.example.com");
        assert_eq!(codes(&up), ["issuer_uppercase"]);
        assert!(up[0].message.contains("https://id.example.com"));
        assert_eq!(codes(&check_issuer("http://id.example.com")), ["issuer_not_https"]);
        assert_eq!(codes(&check_issuer("id.example.com")), ["issuer_scheme"]);
        assert_eq!(codes(&check_issuer("ftp://id.example.com")), ["issuer_scheme"]);
        assert_eq!(codes(&check_issuer("")), ["issuer_missing"]);
        assert_eq!(codes(&check_issuer(" https://id.example.com")), ["issuer_whitespace"]);
        assert_eq!(codes(&check_issuer("https://id_x!.com")), ["issuer_host"]);
        assert_eq!(codes(&check_issuer("https://user@id.example.com")), ["issuer_host"]);
        assert_eq!(
            codes(&check_issuer("HTTP://ID.EXAMPLE.COM/")),
            ["issuer_not_https", "issuer_uppercase", "issuer_trailing_slash"]
        );
    }

    #[test]
    fn domain_checks() {
        assert!(check_domain("qufabric.example.com").is_empty());
        assert!(check_domain("qufabric.example.com:8443").is_empty());
        let f = check_domain("https://qufabric.example.com");
        assert_eq!(codes(&f), ["domain_scheme"]);
        assert!(f[0].message.contains("e.g. qufabric.example.com."));
        assert_eq!(codes(&check_domain("qufabric.example.com/dashboard")), ["domain_path"]);
        assert_eq!(codes(&check_domain("")), ["domain_missing"]);
        assert_eq!(codes(&check_domain("bad host")), ["domain_invalid"]);
        assert_eq!(codes(&check_domain("QuFabric.example.com")), ["domain_uppercase"]);
        assert_eq!(check_domain("QuFabric.example.com")[0].level, Level::Warning);
    }

    #[test]
    fn group_checks() {
        let (f, g) = check_groups("netbird-users, netbird-admins");
        assert!(f.is_empty());
        assert_eq!(g, Some(Groups::Names(vec!["netbird-users".into(), "netbird-admins".into()])));
        assert_eq!(
            check_groups("*"),
            (vec![warn("groups", "groups_any_user", check_groups("*").0[0].message.clone())], Some(Groups::Any))
        );
        assert_eq!(codes(&check_groups("").0), ["groups_missing"]);
        assert_eq!(codes(&check_groups("ab,,cd").0), ["groups_empty_item"]);
        assert_eq!(codes(&check_groups("ab,").0), ["groups_empty_item"]);
        assert_eq!(codes(&check_groups("ab, ab").0), ["groups_duplicate"]);
        assert_eq!(codes(&check_groups("*, ab").0), ["groups_star_mixed"]);
        let (f, g) = check_groups("NetBird Users");
        assert_eq!(codes(&f), ["groups_friendly_name"]);
        assert!(f[0].message.contains("e.g. netbird-users."), "{}", f[0].message);
        assert_eq!(g, None);
        let (f, g) = check_groups("NetBird");
        assert_eq!(codes(&f), ["groups_uppercase"]);
        assert!(g.is_some(), "capitals are a warning only");
        assert_eq!(codes(&check_groups("a$b").0), ["groups_characters"]);
    }

    #[test]
    fn client_id_secret_name_checks() {
        assert!(check_client_id("qufabric").is_empty());
        assert_eq!(codes(&check_client_id("")), ["client_id_missing"]);
        assert_eq!(codes(&check_client_id("a")), ["client_id_invalid"]);
        assert_eq!(codes(&check_client_id("has space")), ["client_id_invalid"]);
        assert_eq!(codes(&check_secret("", Mode::Embedded)), ["secret_missing"]);
        assert_eq!(codes(&check_secret("x", Mode::Standalone)), ["secret_unused"]);
        assert_eq!(codes(&check_secret(" x", Mode::Embedded)), ["secret_whitespace"]);
        assert!(check_secret("x", Mode::Embedded).is_empty());
        assert!(check_secret("", Mode::Standalone).is_empty());
        assert_eq!(codes(&check_display_name(" ")), ["display_name_missing"]);
        assert_eq!(codes(&check_display_name("a\nb")), ["display_name_invalid"]);
        assert!(check_display_name(&"x".repeat(50)).is_empty());
        let long = check_display_name(&"x".repeat(51));
        assert_eq!(codes(&long), ["display_name_too_long"]);
        assert!(long[0].message.contains("50"), "{}", long[0].message);
    }

    #[test]
    fn pocketid_group_limits_are_checked() {
        // PocketID v2.14 backend/internal/dto/user_group_dto.go: name 2–255, friendly name 2–50.
        assert_eq!(codes(&check_groups("a").0), ["groups_name_length"]);
        assert_eq!(codes(&check_groups(&"a".repeat(256)).0), ["groups_name_length"]);
        let f = check_groups("x-").0;
        assert_eq!(codes(&f), ["groups_friendly_name_length"]);
        assert!(f[0].message.contains("2 to 50"), "{}", f[0].message);
        assert!(check_groups("ab").0.is_empty());
    }

    #[test]
    fn port_checks() {
        assert_eq!(check_ports("53000, 54000"), (vec![], vec![53000, 54000]));
        assert_eq!(codes(&check_ports("").0), ["ports_missing"]);
        assert_eq!(codes(&check_ports("80").0), ["ports_invalid"]);
        assert_eq!(codes(&check_ports("70000").0), ["ports_invalid"]);
        assert_eq!(codes(&check_ports("53000,53000").0), ["ports_duplicate"]);
    }

    #[test]
    fn origin_checks() {
        assert_eq!(check_origin("upstream", "u", "https://a.example.com/").1, Some("https://a.example.com".into()));
        assert_eq!(codes(&check_origin("upstream", "u", "https://a.example.com/x").0), ["origin_path"]);
        assert_eq!(codes(&check_origin("upstream", "u", "a.example.com").0), ["origin_scheme"]);
        assert_eq!(codes(&check_origin("upstream", "u", "").0), ["origin_missing"]);
        assert_eq!(codes(&check_origin("upstream", "u", "https://a b").0), ["origin_host"]);
    }

    #[test]
    fn validate_collects_in_form_order_and_builds_a_plan() {
        let input = super::super::fixtures::standalone();
        let (f, plan) = validate(&input);
        assert!(f.is_empty(), "{f:?}");
        let plan = plan.unwrap();
        assert_eq!(plan.pkce_ports, DEFAULT_PKCE_PORTS);
        assert_eq!(plan.client_secret, None);
        let bad = SetupInput { domain: "https://x".into(), issuer: "https://x/".into(), ..input };
        let (f, plan) = validate(&bad);
        assert_eq!(codes(&f), ["domain_scheme", "issuer_trailing_slash"]);
        assert_eq!(plan, None);
    }

    #[test]
    fn the_plugins_key_set_is_a_warning_when_not_fetched_and_an_error_when_unusable() {
        let (f, jwks) = check_jwks(" ");
        assert_eq!((codes(&f), jwks), (vec!["jwks_not_fetched"], None));
        // Fails on main: a missing line continuation left a run of 24 spaces in the sentence.
        assert!(f[0].message.contains("JWKS into jwks.json yourself"), "{}", f[0].message);
        assert_eq!(codes(&check_jwks(r#"{"keys":[]}"#).0), ["jwks_unusable"]);
    }

    #[test]
    fn loopback_is_the_gates_rule_case_folded() {
        assert!(is_loopback("[::1]") && is_loopback("LOCALHOST") && !is_loopback("example.com"));
    }
}
