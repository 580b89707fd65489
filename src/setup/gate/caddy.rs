//! Caddy `forward_auth`: one site block routing the stack's containers as NetBird's Caddyfile does
//! (getting-started.sh `render_external_caddyfile`, gs.sh:1356-1367), inside one `route` (Caddy runs it in order):
//!
//! 1. strip client identity headers in any spelling: `request_header` deletes by prefix (`X-Auth-Request-*`) and
//!    by substring (`*_*`: every name with `_`), besides the four `X-Forwarded-User`-family names (Caddy's
//!    `headers` handler, `caddyhttp/headers/headers.go` `DeleteHeader` wildcards; checked in Debian's Caddy 2.6 by
//!    tests/setup_snippets.rs);
//! 2. `/api` in any case, and any path naming it after a `\` (the path matchers see the decoded path, `%2F` and
//!    `%5C` decoded): remove the `X-Original-*` family (forward_auth sets `X-Forwarded-Method`/`-Uri`), ask the
//!    gate, copy its identity headers, proxy to the API's container;
//! 3. gRPC (path **and** gRPC content type: a content type alone never opens another path) over h2c, then the
//!    WebSocket and IdP paths, each to its container;
//! 4. the rest to the dashboard container, through the gate only with `DASHBOARD=protect`.
//!
//! Caddy's `reverse_proxy` sets `X-Forwarded-For`, `-Proto` and `-Host` itself and replaces the client's (no
//! `trusted_proxies`), so QuFabric sees the client's address.

use super::super::{Dashboard, Plan};
use super::routing::{Kind, Layout, PathMatch, Role, layout};
use super::*;

/// The API matcher's regexp (Go syntax; `\x5c` is `\`): `/api` in any case, or `api` after a `\`, followed by a
/// separator or the end.
pub const CADDY_API_REGEXP: &str = r"(?i)(^/|\x5c)api(/|\x5c|$)";

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Management => "management",
        Role::Signal => "signal",
        Role::Relay => "relay",
        Role::Dashboard => "dashboard",
    }
}

fn caddy_path(p: &PathMatch) -> String {
    match p {
        PathMatch::Exact(s) => (*s).to_owned(),
        PathMatch::Prefix(s) => format!("{s}*"),
    }
}

/// The forward_auth block and the lines around it.
fn ask_gate(gate_url: &str, indent: &str) -> String {
    let mut s = format!("{indent}# forward_auth sets X-Forwarded-Method/-Uri; clear the other family.\n");
    for h in ORIGINAL_HEADERS {
        s.push_str(&format!("{indent}request_header -{h}\n"));
    }
    s.push_str(&format!("{indent}forward_auth {gate_url} {{\n{indent}\turi {AUTH_PATH}\n"));
    if gate_url.starts_with("https://") {
        s.push_str(&format!("{indent}\theader_up Host {{upstream_hostport}}\n"));
    }
    s.push_str(&format!("{indent}\tcopy_headers {}\n{indent}}}\n", IDENTITY_HEADERS.join(" ")));
    s
}

/// gRPC and the other direct paths, per container.
fn direct(l: &Layout) -> String {
    let mut s = String::new();
    for b in &l.backends {
        let grpc: Vec<String> = l
            .direct
            .iter()
            .filter(|r| r.role == b.role && r.kind == Kind::Grpc)
            .flat_map(|r| r.paths.iter().map(caddy_path))
            .collect();
        let name = role_name(b.role);
        if !grpc.is_empty() {
            s.push_str(&format!("\t\t# gRPC to {} (HTTP/2; its own auth).\n", b.container));
            s.push_str(&format!(
                "\t\t@grpc_{name} {{\n\t\t\tpath {}\n\t\t\theader Content-Type application/grpc*\n\t\t}}\n",
                grpc.join(" ")
            ));
            s.push_str(&format!("\t\treverse_proxy @grpc_{name} {}\n", grpc_origin(&b.origin, "h2c")));
        }
        let other: Vec<String> = l
            .direct
            .iter()
            .filter(|r| r.role == b.role && r.kind != Kind::Grpc)
            .flat_map(|r| r.paths.iter().map(caddy_path))
            .collect();
        if !other.is_empty() {
            s.push_str(&format!(
                "\t\t# Straight to {} (their own auth; Caddy passes WebSocket upgrades).\n\t\t@direct_{name} path {}\n\t\t\
                 reverse_proxy @direct_{name} {}\n",
                b.container,
                other.join(" "),
                b.origin
            ));
        }
    }
    s
}

/// A Caddyfile site block for `plan`'s stack asking `gate_url`.
pub fn caddy(plan: &Plan, gate_url: &str) -> String {
    let l = layout(plan);
    let mut s = Proxy::Caddy.gate_setting_comment();
    s.push_str(&routing_comment(plan));
    s.push_str(&format!("{} {{\n\troute {{\n", plan.domain));
    s.push_str(
        "\t\t# Never trust identity headers sent by the client: every X-Auth-Request-* name, every name with _\n\
         \t\t# (X_Auth_Request_Groups), and the X-Forwarded-User family.\n\t\trequest_header -X-Auth-Request-*\n\
         \t\trequest_header -*_*\n",
    );
    for h in FOREIGN_IDENTITY_HEADERS {
        s.push_str(&format!("\t\trequest_header -{h}\n"));
    }
    s.push_str(&format!(
        "\t\t# The REST API, in any case or after a \\: the gate decides (and refuses ambiguous paths).\n\t\t\
         @api path_regexp {CADDY_API_REGEXP}\n\t\troute @api {{\n"
    ));
    s.push_str(&ask_gate(gate_url, "\t\t\t"));
    s.push_str(&format!("\t\t\treverse_proxy {}\n\t\t}}\n", l.backend(l.api).origin));
    s.push_str(&direct(&l));
    let dash = &l.dashboard().origin;
    match plan.dashboard {
        Dashboard::Bypass => {
            s.push_str("\t\t# The dashboard (everything else), straight to its container (DASHBOARD = bypass).\n")
        }
        Dashboard::Protect => {
            s.push_str("\t\t# The dashboard (everything else): the gate decides (DASHBOARD = protect).\n");
            s.push_str(&ask_gate(gate_url, "\t\t"));
        }
    }
    s.push_str(&format!("\t\treverse_proxy {dash}\n\t}}\n}}\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::super::super::SetupInput;
    use super::super::super::fixtures::*;
    use super::*;

    #[test]
    fn caddy_strips_every_spelling_then_asks_then_copies() {
        let c = caddy(&plan(&external()), "https://pocketgate.example.workers.dev");
        // Fails on main: only the eight dashed names were removed (X_Auth_Request_Groups, X-Auth-Request-Other passed).
        let strip = c.find("\t\trequest_header -X-Auth-Request-*\n\t\trequest_header -*_*\n").expect(&c);
        let auth = c.find("forward_auth https://pocketgate.example.workers.dev").unwrap();
        assert!(strip < auth, "stripping must come first inside route");
        assert!(c.contains("\t\trequest_header -X-Forwarded-Groups\n"));
        assert!(c.contains("uri /_gate/auth") && c.contains("header_up Host {upstream_hostport}"));
        assert!(c.contains("copy_headers X-Auth-Request-User X-Auth-Request-Email X-Auth-Request-Preferred-Username X-Auth-Request-Groups"));
        assert_eq!(c.matches('{').count(), c.matches('}').count());
        let api = block(&c, "\t\troute @api {\n", "\n\t\t}\n");
        for h in ["X-Original-Method", "X-Original-URI"] {
            assert!(api.contains(&format!("request_header -{h}\n")), "{h}: {api}");
        }
        assert!(!c.contains("-X-Forwarded-Method") && !c.contains("header_up X-Forwarded"), "{c}");
        assert!(c.starts_with("# Gate setting for this proxy: FORWARDED_HEADERS = \"caddy\"\n"));
    }

    #[test]
    fn the_api_comes_first_and_the_dashboard_skips_the_gate_unless_protected() {
        let c = caddy(&plan(&external()), "https://g.example.com");
        let api = c.find("\t\t@api path_regexp (?i)(^/|\\x5c)api(/|\\x5c|$)\n").expect(&c);
        let grpc = c.find("\t\t@grpc_server {").unwrap();
        assert!(api < grpc, "{c}");
        assert!(block(&c, "\t\troute @api {\n", "\n\t\t}\n").contains("reverse_proxy http://127.0.0.1:8081"));
        // Fails on main: the dashboard went through forward_auth whatever DASHBOARD said.
        assert_eq!(c.matches("\tforward_auth ").count(), 1, "{c}");
        assert!(c.ends_with("\t\treverse_proxy http://127.0.0.1:8080\n\t}\n}\n"), "{c}");
        let p = caddy(&plan(&SetupInput { dashboard: Dashboard::Protect, ..external() }), "https://g.example.com");
        assert_eq!(p.matches("\tforward_auth ").count(), 2, "{p}");
    }

    #[test]
    fn caddy_sends_grpc_over_h2c_and_the_rest_to_its_container() {
        let c = caddy(&plan(&external()), "https://g.example.com");
        let m = block(&c, "@grpc_server {", "\t\t}\n");
        assert!(m.contains(
            "path /signalexchange.SignalExchange/* /management.ManagementService/* /management.ProxyService/*"
        ));
        assert!(m.contains("header Content-Type application/grpc*"));
        assert!(c.contains("\t\treverse_proxy @grpc_server h2c://127.0.0.1:8081\n"));
        assert!(c.contains("@direct_server path /relay /relay/* /ws-proxy/* /oauth2/*\n"), "{c}");
        let l = caddy(&plan(&standalone()), "https://g.example.com");
        assert!(l.contains("\t\treverse_proxy @grpc_signal h2c://127.0.0.1:10000\n"), "{l}");
        assert!(l.contains("\t\treverse_proxy @grpc_management h2c://127.0.0.1:8012\n"));
        assert!(l.contains(
            "@direct_signal path /ws-proxy/signal*\n\t\treverse_proxy @direct_signal http://127.0.0.1:10000\n"
        ));
        assert!(
            l.contains("@direct_relay path /relay /relay/*\n\t\treverse_proxy @direct_relay http://127.0.0.1:33080\n")
        );
        assert!(l.contains("@direct_management path /ws-proxy/management*\n"));
        let tls = caddy(
            &plan(&SetupInput { upstream: "https://mgmt.example.com".into(), ..external() }),
            "https://g.example.com",
        );
        assert!(tls.contains("reverse_proxy @grpc_server https://mgmt.example.com:443\n"), "{tls}");
    }
}
