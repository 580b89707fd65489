//! The operator's notes in the gate section: what the gate trusts, what the proxies send where, and what the
//! public API paths expose.

use super::super::{Dashboard, LocalUsers, Mode, Plan, PublicApi};
use super::routing::host_only;
use super::{
    API_PATH, AUTH_PATH, EMBEDDED_AUDIENCES, GRPC_SERVICES, IDENTITY_HEADERS, IDP_PATH, WEBSOCKET_PATHS, issuer,
};
use crate::config::NETBIRD_PUBLIC_API;

/// NetBird's unauthenticated API paths as the gate itself opens them ([`NETBIRD_PUBLIC_API`]), one line each:
/// the methods, the path (`*`: one path segment) and what it exposes to anyone who can reach it.
pub fn public_api_paths() -> Vec<String> {
    NETBIRD_PUBLIC_API.iter().map(|r| format!("{} {}: {}", r.methods.join("/"), r.pattern, r.exposes())).collect()
}

/// The notes every gate mode starts with: the issuer, local users, the public API choice.
pub fn common(plan: &Plan) -> Vec<String> {
    let mut notes = vec![match plan.mode {
        Mode::Embedded => format!(
            "Embedded mode: the tokens QuFabric's API receives are issued by its embedded IdP, so the gate trusts \
             ISSUER={} with AUDIENCE={} (not PocketID directly); PocketID's groups are carried through.",
            issuer(plan),
            EMBEDDED_AUDIENCES
        ),
        Mode::Standalone => format!(
            "Standalone mode: the gate trusts PocketID ID tokens: ISSUER={}, AUDIENCE={} (the client id).",
            plan.issuer, plan.client_id
        ),
    }];
    if plan.mode == Mode::Embedded {
        notes.push(match plan.local_users {
            LocalUsers::Groups => "LOCAL_USERS = \"groups\": the embedded IdP's local users (the owner account \
                 created at QuFabric's setup, and users added with a password in the dashboard) carry no groups, \
                 so the gate refuses them on /api: behind the gate the owner cannot use the dashboard. Choose \
                 \"allow\" to let them in as QuFabric itself does, or sign in through PocketID with an allowed \
                 group."
                .to_owned(),
            LocalUsers::Allow => "LOCAL_USERS = \"allow\": the embedded IdP's local users (the owner created at \
                 setup, password users added in the dashboard) pass without groups, as QuFabric itself skips its \
                 JWT allow-groups for them; PocketID users still need an allowed group."
                .to_owned(),
        });
    }
    let paths = public_api_paths();
    notes.push(match plan.public_api {
        PublicApi::Bypass => format!(
            "PUBLIC_API = \"bypass\" (the gate's default): QuFabric's unauthenticated API paths pass without a \
             token, exactly as QuFabric serves them, so first-run setup, invitations and the NetBird Proxy work. \
             They expose: {}. Choose \"gate\" to require a signed-in user there too.",
            paths.join("; ")
        ),
        PublicApi::Gate => format!(
            "PUBLIC_API = \"gate\": QuFabric's unauthenticated API paths need a token like the rest of /api: \
             first-run setup (the dashboard calls /api/instance and /api/setup without one), accepting an \
             invitation and the NetBird Proxy callback fail behind the gate. The paths: {}.",
            paths.join("; ")
        ),
    });
    notes
}

/// Forward-auth: what the proxies send where.
pub fn forward_auth(plan: &Plan, gate_url: &str) -> Vec<String> {
    let dashboard = match plan.dashboard {
        Dashboard::Bypass => "The dashboard (everything else) goes straight to its container without asking the gate \
             (DASHBOARD = bypass): it keeps working while the gate is down."
            .to_owned(),
        Dashboard::Protect => "The dashboard (everything else) asks the gate too (DASHBOARD = protect): with the gate \
             down, it is down."
            .to_owned(),
    };
    let direct = match plan.mode {
        Mode::Embedded => format!("gRPC ({}), {} and {IDP_PATH}", GRPC_SERVICES.join(", "), WEBSOCKET_PATHS.join(", ")),
        Mode::Standalone => {
            format!("gRPC ({}), /relay and /ws-proxy/signal, /ws-proxy/management", GRPC_SERVICES.join(", "))
        }
    };
    vec![
        format!(
            "Forward-auth: your proxy asks {gate_url}{AUTH_PATH} before each request to {API_PATH} (in any spelling \
             that could reach it: case, encoded / or \\, dot segments) and copies the identity headers {} to \
             QuFabric. {direct} go straight to their container without asking the gate: they carry their own \
             authentication (peers' WireGuard keys, the IdP), and peers keep working while the gate is \
             unreachable. {dashboard}",
            IDENTITY_HEADERS.join(", "),
        ),
        "Each snippet sets one family of forwarding headers for the gate and clears the other: set the gate's \
         FORWARDED_HEADERS to your proxy (\"nginx\", \"caddy\" or \"traefik\"; see wrangler.toml [vars]). Traefik: \
         never set trustForwardHeader: true on this middleware, and give Traefik the static configuration below \
         (flags or traefik.yml, as your Traefik is configured: NetBird's timeouts for long gRPC streams, and the \
         path and header refusals)."
            .to_owned(),
    ]
}

/// Proxy mode: route only the API to the Worker.
pub fn proxy_mode(plan: &Plan) -> String {
    format!(
        "Proxy mode: route only {host}{API_PATH} and {host}{API_PATH}/* to the Worker (the [[routes]] below, in \
         the zone {zone}); it forwards allowed requests to UPSTREAM. Everything else (gRPC {}, {}, {IDP_PATH} and \
         the dashboard) must reach QuFabric directly: a Worker's fetch() cannot carry gRPC (no trailers, no \
         bidirectional streams), so a route on {host}/* would cut every peer off. Enable gRPC in the zone's Network \
         settings for the proxied hostname. `cargo xtask deploy` refuses a proxy-mode wrangler.toml without routes.",
        GRPC_SERVICES.join(", "),
        WEBSOCKET_PATHS.join(", "),
        host = host_only(&plan.domain),
        zone = plan.zone.as_deref().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::fixtures::{embedded, plan};

    #[test]
    fn the_public_api_note_lists_every_path_the_gate_opens_with_its_methods() {
        let note = common(&plan(&embedded())).into_iter().find(|n| n.starts_with("PUBLIC_API")).unwrap();
        for r in NETBIRD_PUBLIC_API {
            let line = format!("{} {}: {}", r.methods.join("/"), r.pattern, r.exposes());
            assert!(note.contains(&line), "{line} missing from: {note}");
        }
        assert_eq!(public_api_paths().len(), NETBIRD_PUBLIC_API.len());
    }
}
