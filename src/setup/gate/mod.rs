//! The gate: `wrangler.toml` `[vars]` and `[[routes]]`, and the nginx / Caddy / Traefik forward-auth configurations
//! (Traefik's static configuration too), routed as NetBird's stacks route their containers ([`routing`]).
//!
//! Every forward-auth snippet sets exactly one family of forwarding headers for the gate and clears the other
//! (docs/CONFIG.md "Behind your own proxy", SECURITY.md "Forward-auth"): nginx `auth_request` passes every client
//! header to the auth call, so it sets `X-Original-*` and empties `X-Forwarded-Method`/`-Uri`; Caddy's
//! `forward_auth` overwrites `X-Forwarded-Method`/`-Uri`, so it removes `X-Original-*` first; Traefik's
//! `forwardAuth` overwrites them only with `trustForwardHeader: false` (traefik pkg/middlewares/auth/forward.go,
//! `writeHeader`), and `authRequestHeaders` keeps every other client header away from the gate.
//!
//! Which issuer the gate trusts depends on the mode: in embedded mode the tokens that reach QuFabric's API are
//! issued by QuFabric's embedded IdP (`https://<domain>/oauth2`, audiences `netbird-dashboard` and `netbird-cli`);
//! in standalone mode they are PocketID ID tokens (`iss` = the PocketID issuer, `aud` = the client id).

mod caddy;
mod nginx;
mod notes;
pub mod routing;
pub mod traefik;
pub mod traefik_static;
mod wrangler;

pub use caddy::caddy;
pub use nginx::nginx;
pub use notes::public_api_paths;
use routing::*;
pub use routing::{API_PATH, GRPC_SERVICES, IDP_PATH, WEBSOCKET_PATHS, direct_path_samples, host_only};
pub use traefik::{traefik, traefik_labels};
pub use wrangler::*;

use super::{Artifact, Dashboard, GateHost, GateMode, Groups, LocalUsers, Mode, Plan, PublicApi, Section};
pub use crate::http::{AUTH_PATH, FOREIGN_IDENTITY_HEADERS, FORWARDED_HEADERS, IDENTITY_HEADERS, ORIGINAL_HEADERS};
use crate::verify::{DEFAULT_GROUPS_CLAIM, DEFAULT_LEEWAY};

/// Audiences of the embedded IdP's tokens.
pub const EMBEDDED_AUDIENCES: &str = "netbird-dashboard,netbird-cli";
/// What Traefik's `forwardAuth` may pass from the client to the gate (`authRequestHeaders`): the credential only.
/// Traefik adds `X-Forwarded-Method`/`-Uri` itself after this filter (forward.go, `writeHeader`).
pub const AUTH_REQUEST_HEADERS: [&str; 1] = ["Authorization"];

/// Which proxy a snippet is for, and the `FORWARDED_HEADERS` value that goes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proxy {
    /// nginx `auth_request`.
    Nginx,
    /// Caddy `forward_auth`.
    Caddy,
    /// Traefik `forwardAuth`.
    Traefik,
}

impl Proxy {
    /// The gate's `FORWARDED_HEADERS` for this proxy.
    pub fn forwarded_headers(self) -> &'static str {
        match self {
            Proxy::Nginx => "nginx",
            Proxy::Caddy => "caddy",
            Proxy::Traefik => "traefik",
        }
    }

    /// The comment line naming the gate setting that goes with a snippet.
    fn gate_setting_comment(self) -> String {
        format!("# Gate setting for this proxy: FORWARDED_HEADERS = \"{}\"\n", self.forwarded_headers())
    }
}

/// The gate's `ISSUER` for `plan`.
pub fn issuer(plan: &Plan) -> String {
    match plan.mode {
        Mode::Embedded => format!("{}/oauth2", plan.domain_url()),
        Mode::Standalone => plan.issuer.clone(),
    }
}

/// The gate's `AUDIENCE` (comma-separated) for `plan`.
pub fn audience(plan: &Plan) -> String {
    match plan.mode {
        Mode::Embedded => EMBEDDED_AUDIENCES.to_owned(),
        Mode::Standalone => plan.client_id.clone(),
    }
}

/// `ALLOW_GROUPS`: the names, comma-separated, or `*`.
pub fn allow_groups(plan: &Plan) -> String {
    match &plan.groups {
        Groups::Any => "*".to_owned(),
        Groups::Names(n) => n.join(","),
    }
}

/// The gate's `LOCAL_USERS` value for a choice.
pub fn local_users(choice: LocalUsers) -> &'static str {
    match choice {
        LocalUsers::Groups => "groups",
        LocalUsers::Allow => "allow",
    }
}

/// The `[vars]` in order: `ISSUER`, `AUDIENCE`, `ALLOW_GROUPS`, `GROUPS_CLAIM`, `LEEWAY_SECONDS`, `LOCAL_USERS` in
/// embedded mode (explicit, even at the default), `DASHBOARD` and `PUBLIC_API` when not the gate's default
/// (`protect`, `gate`), and `UPSTREAM` in proxy mode. `JWKS_URI` is left to discovery.
pub fn vars(plan: &Plan) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("ISSUER", issuer(plan)),
        ("AUDIENCE", audience(plan)),
        ("ALLOW_GROUPS", allow_groups(plan)),
        ("GROUPS_CLAIM", DEFAULT_GROUPS_CLAIM.to_owned()),
        ("LEEWAY_SECONDS", DEFAULT_LEEWAY.to_string()),
    ];
    if plan.mode == Mode::Embedded {
        v.push(("LOCAL_USERS", local_users(plan.local_users).to_owned()));
    }
    if plan.dashboard == Dashboard::Protect {
        v.push(("DASHBOARD", "protect".to_owned()));
    }
    if plan.public_api == PublicApi::Gate {
        v.push(("PUBLIC_API", "gate".to_owned()));
    }
    if let (GateMode::Proxy, Some(up)) = (plan.gate_mode, &plan.upstream) {
        v.push(("UPSTREAM", up.clone()));
    }
    v
}

fn artifact(id: &'static str, title: &str, filename: &str, content: String) -> Artifact {
    Artifact { id, title: title.to_owned(), filename: filename.to_owned(), content }
}

/// The gate section.
pub fn section(plan: &Plan) -> Section {
    let mut notes = notes::common(plan);
    let mut artifacts = vec![
        artifact("gate_wrangler_vars", "wrangler.toml [vars]", "wrangler.vars.toml", wrangler_vars(plan)),
        artifact("gate_secrets", "Secrets (wrangler secret put)", "wrangler-secrets.sh", secrets()),
    ];
    match (plan.gate_mode, &plan.gate_url) {
        (GateMode::ForwardAuth, _) if plan.gate_host == GateHost::Traefik => {
            // No Worker: its [vars] and secrets do not apply.
            notes.extend(super::traefik_plugin::notes(plan));
            artifacts = super::traefik_plugin::artifacts(plan);
        }
        (GateMode::ForwardAuth, Some(gate_url)) => {
            notes.extend(notes::forward_auth(plan, gate_url));
            if plan.gate_host == GateHost::Workerd {
                notes.push(super::workerd::note(gate_url));
                artifacts.extend(super::workerd::artifacts(plan, gate_url));
            }
            artifacts.extend([
                artifact("gate_caddy", "Caddyfile (forward_auth)", "Caddyfile", caddy(plan, gate_url)),
                artifact("gate_nginx", "nginx (auth_request)", "pocketgate-nginx.conf", nginx(plan, gate_url)),
                artifact(
                    "gate_traefik_static",
                    traefik_static::title(plan),
                    traefik_static::filename(plan),
                    traefik_static::static_config(plan, None),
                ),
                artifact(
                    "gate_traefik",
                    "Traefik (forwardAuth, file provider)",
                    "pocketgate-traefik.yml",
                    traefik(plan, gate_url),
                ),
                artifact(
                    "gate_traefik_labels",
                    "Traefik (forwardAuth, Docker labels)",
                    "pocketgate-traefik-labels.yml",
                    traefik_labels(plan, gate_url),
                ),
            ]);
        }
        _ => {
            notes.push(notes::proxy_mode(plan));
            artifacts.push(artifact(
                "gate_wrangler_routes",
                "wrangler.toml routes (proxy mode: /api only)",
                "wrangler.routes.toml",
                wrangler_routes(plan),
            ));
        }
    }
    Section { id: "gate", title: "3. PocketGate".into(), notes, artifacts }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::setup::SetupInput;

    #[test]
    fn embedded_trusts_the_embedded_idp() {
        let v = vars(&plan(&embedded()));
        assert_eq!(get(&v, "ISSUER"), Some("https://qufabric.example.com/oauth2"));
        assert_eq!(get(&v, "AUDIENCE"), Some("netbird-dashboard,netbird-cli"));
        assert_eq!(get(&v, "ALLOW_GROUPS"), Some("netbird-users,netbird-admins"));
        assert_eq!(get(&v, "UPSTREAM"), Some("https://mgmt.internal.example.com"));
        assert_eq!(get(&v, "GROUPS_CLAIM"), Some("groups"));
        assert_eq!(get(&v, "LEEWAY_SECONDS"), Some("60"));
    }

    #[test]
    fn local_users_is_explicit_in_embedded_mode_only_and_accepted_by_the_gate() {
        assert_eq!(get(&vars(&plan(&embedded())), "LOCAL_USERS"), Some("groups"));
        let allow = plan(&SetupInput { local_users: LocalUsers::Allow, ..embedded() });
        assert_eq!(get(&vars(&allow), "LOCAL_USERS"), Some("allow"));
        assert!(crate::setup::inspect::gate_config(&allow).is_ok());
        assert!(section(&allow).notes.iter().any(|n| n.starts_with("LOCAL_USERS = \"allow\"")));
        assert!(section(&plan(&embedded())).notes.iter().any(|n| n.contains("the owner cannot use the dashboard")));
        let standalone = plan(&SetupInput { local_users: LocalUsers::Allow, ..standalone() });
        assert_eq!(get(&vars(&standalone), "LOCAL_USERS"), None, "no embedded IdP tokens in standalone mode");
    }

    #[test]
    fn standalone_trusts_pocketid_and_forward_auth_has_no_upstream_var() {
        let v = vars(&plan(&standalone()));
        assert_eq!(get(&v, "ISSUER"), Some("https://id.example.com"));
        assert_eq!(get(&v, "AUDIENCE"), Some("qufabric"));
        assert_eq!(get(&v, "UPSTREAM"), None);
        let star = plan(&SetupInput { groups: "*".into(), ..standalone() });
        assert_eq!(allow_groups(&star), "*");
    }

    #[test]
    fn section_artifacts_per_gate_mode() {
        let ids = |p: &Plan| section(p).artifacts.iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(&plan(&embedded())), ["gate_wrangler_vars", "gate_secrets", "gate_wrangler_routes"]);
        assert_eq!(
            ids(&plan(&standalone())),
            [
                "gate_wrangler_vars",
                "gate_secrets",
                "gate_caddy",
                "gate_nginx",
                "gate_traefik_static",
                "gate_traefik",
                "gate_traefik_labels"
            ]
        );
        assert!(wrangler_vars(&plan(&standalone())).contains("# FORWARDED_HEADERS = \"traefik\"\n"));
        assert!(!wrangler_vars(&plan(&embedded())).contains("FORWARDED_HEADERS"));
    }
}
