//! nginx `auth_request`: one `server` block routing the stack's containers as NetBird's templates do
//! (getting-started.sh `render_nginx_conf`, gs.sh:1264-1331; `nginx.tmpl.conf:38-106` for the legacy stack).
//!
//! - Every proxied location sets NetBird's client-address headers (gs.sh:1296-1301): `X-Real-IP`,
//!   `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host`, and `grpc_set_header X-Forwarded-For` for gRPC.
//!   They are repeated in each location because a location with any `proxy_set_header` of its own inherits none
//!   from the server level (nginx `ngx_http_proxy_module`, "proxy_set_header").
//! - An `https://` upstream gets SNI (`proxy_ssl_server_name on`, `grpc_ssl_server_name on`; off by default).
//! - The API location comes first among the regex locations (nginx uses the first regex that matches) and matches
//!   `/api` in any case, and after a `\` (nginx decodes `%2F`, resolves `..` and merges slashes before matching,
//!   so `/relay/..%2fapi/users` and `/%2Fapi/users` arrive here as `/api/…`; a `\` is not a separator for it):
//!   every spelling of the API reaches the gate, which refuses the ambiguous ones from `$request_uri`.
//! - Client identity headers are emptied on every location. Names with `_` never reach an upstream: nginx ignores
//!   them (`underscores_in_headers off`, the default; tests/setup_snippets.rs checks it in Debian's nginx).
//! - `listen 443 ssl http2;` is the form Debian's nginx 1.22 knows; nginx ≥ 1.25.1 still accepts it (with a
//!   deprecation warning) and prefers `listen 443 ssl;` + `http2 on;`.

use super::super::render::conf_string;
use super::super::{Dashboard, Plan};
use super::routing::{Backend, Kind, Layout, PathMatch, layout};
use super::*;

fn nginx_var(header: &str) -> String {
    header.to_ascii_lowercase().replace('-', "_")
}

/// NetBird's client-address headers (gs.sh:1296-1301) for a `proxy_pass` location.
const CLIENT_ADDRESS: &str = "        proxy_set_header X-Real-IP $remote_addr;\n        proxy_set_header \
     X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Forwarded-Proto https;\n        \
     proxy_set_header X-Forwarded-Host $host;\n";

/// `<directive> NAME "";` for every client identity header (an empty value drops the header).
fn clear_identity(directive: &str) -> String {
    IDENTITY_HEADERS
        .iter()
        .chain(&FOREIGN_IDENTITY_HEADERS)
        .map(|h| format!("        {directive} {h} \"\";\n"))
        .collect()
}

/// `proxy_pass` to `origin` (with SNI for `https://`), `Host` kept.
fn proxy_pass(origin: &str) -> String {
    let mut s = format!("        proxy_set_header Host $host;\n        proxy_pass {origin};\n");
    if origin.starts_with("https://") {
        s.push_str("        proxy_ssl_server_name on;\n");
    }
    s
}

/// The `auth_request` lines of a gated location, then the proxy to `target`.
fn gated(target: &str) -> String {
    let mut s = format!("        auth_request {AUTH_PATH};\n");
    for h in IDENTITY_HEADERS {
        let v = nginx_var(h);
        s.push_str(&format!("        auth_request_set ${v} $upstream_http_{v};\n"));
    }
    s.push_str("        # proxy_set_header replaces any value the client sent.\n");
    for h in IDENTITY_HEADERS {
        s.push_str(&format!("        proxy_set_header {h} ${};\n", nginx_var(h)));
    }
    for h in FOREIGN_IDENTITY_HEADERS {
        s.push_str(&format!("        proxy_set_header {h} \"\";\n"));
    }
    s.push_str(CLIENT_ADDRESS);
    s.push_str(&proxy_pass(target));
    s
}

/// A regex over the paths of one location: `^(/relay$|/relay/|/ws-proxy/)`.
fn path_regex(paths: &[PathMatch]) -> String {
    let alts: Vec<String> = paths
        .iter()
        .map(|p| match p {
            PathMatch::Exact(s) => format!("{}$", s.replace('.', "\\.")),
            PathMatch::Prefix(s) => s.replace('.', "\\."),
        })
        .collect();
    format!("^({})", alts.join("|"))
}

/// The direct locations: one per (transport, container).
fn direct_locations(l: &Layout) -> String {
    let mut groups: Vec<(Kind, &Backend, Vec<PathMatch>)> = Vec::new();
    for r in &l.direct {
        let b = l.backend(r.role);
        match groups.iter_mut().find(|(k, g, _)| *k == r.kind && g.role == b.role) {
            Some((_, _, paths)) => paths.extend(r.paths.iter().copied()),
            None => groups.push((r.kind, b, r.paths.clone())),
        }
    }
    let mut s = String::new();
    for (kind, b, paths) in groups {
        match kind {
            Kind::Grpc => {
                s.push_str(&format!(
                    "    # gRPC to {} (HTTP/2; its own auth).\n    location ~ {} {{\n",
                    b.container,
                    path_regex(&paths)
                ));
                s.push_str(&clear_identity("grpc_set_header"));
                s.push_str("        grpc_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n");
                s.push_str(&format!("        grpc_pass {};\n", grpc_origin(&b.origin, "grpc")));
                if b.origin.starts_with("https://") {
                    s.push_str("        grpc_ssl_server_name on;\n");
                }
                s.push_str("        grpc_read_timeout 1d;\n        grpc_send_timeout 1d;\n        grpc_socket_keepalive on;\n    }\n\n");
            }
            Kind::Upgrade => {
                s.push_str(&format!(
                    "    # WebSockets to {}: HTTP/1.1 with Upgrade (their own auth).\n    location ~ {} {{\n",
                    b.container,
                    path_regex(&paths)
                ));
                s.push_str(&clear_identity("proxy_set_header"));
                s.push_str(CLIENT_ADDRESS);
                s.push_str(
                    "        proxy_http_version 1.1;\n        proxy_set_header Upgrade $http_upgrade;\n        \
                     proxy_set_header Connection \"Upgrade\";\n        proxy_read_timeout 1d;\n",
                );
                s.push_str(&proxy_pass(&b.origin));
                s.push_str("    }\n\n");
            }
            Kind::Plain => {
                s.push_str(&format!(
                    "    # The embedded IdP (login, tokens, keys) on {}.\n    location ~ {} {{\n",
                    b.container,
                    path_regex(&paths)
                ));
                s.push_str(&clear_identity("proxy_set_header"));
                s.push_str(CLIENT_ADDRESS);
                s.push_str(&proxy_pass(&b.origin));
                s.push_str("    }\n\n");
            }
        }
    }
    s
}

/// An nginx `server` block for `plan`'s stack asking `gate_url`. `auth_request` passes every client header to the
/// auth call, so that location sets the `X-Original-*` family and empties `X-Forwarded-Method`/`-Uri` (nginx drops
/// empty headers).
pub fn nginx(plan: &Plan, gate_url: &str) -> String {
    let l = layout(plan);
    let mut s = Proxy::Nginx.gate_setting_comment();
    s.push_str(&routing_comment(plan));
    s.push_str(&format!(
        "server {{\n    # nginx >= 1.25.1 prefers `listen 443 ssl;` + `http2 on;` (this form still works there).\n    \
         listen 443 ssl http2;\n    server_name {};\n    # ssl_certificate …; ssl_certificate_key …;\n\
         \x20   # Long-lived gRPC streams.\n    client_header_timeout 1d;\n    client_body_timeout 1d;\n\n",
        plan.domain
    ));
    s.push_str(&format!(
        "    location = {AUTH_PATH} {{\n        internal;\n        proxy_pass {gate_url}{AUTH_PATH};\n"
    ));
    if gate_url.starts_with("https://") {
        s.push_str("        proxy_ssl_server_name on;\n");
    }
    s.push_str(&format!(
        "        proxy_set_header Host {};\n        proxy_pass_request_body off;\n        proxy_set_header \
         Content-Length \"\";\n        # auth_request passes every client header to the gate: set the original \
         request here\n        # and clear the other family (an empty value drops the header).\n        \
         proxy_set_header X-Original-Method $request_method;\n        proxy_set_header X-Original-URI \
         $request_uri;\n        proxy_set_header X-Forwarded-Method \"\";\n        proxy_set_header \
         X-Forwarded-Uri \"\";\n    }}\n\n",
        conf_string(gate_host(gate_url))
    ));
    s.push_str(
        "    # The REST API, in any case or after a \\: the gate decides (and refuses ambiguous paths). First of the\n\
         \x20   # regex locations: nginx takes the first that matches. \\x5c is \\ (nginx's parser would eat a \\\\).\n    \
         location ~* (^/|\\x5c)api(/|\\x5c|$) {\n",
    );
    s.push_str(&gated(&l.backend(l.api).origin));
    s.push_str("    }\n\n");
    s.push_str(&direct_locations(&l));
    let dash = &l.dashboard().origin;
    match plan.dashboard {
        Dashboard::Bypass => {
            s.push_str("    # The dashboard (everything else), straight to its container (DASHBOARD = bypass).\n    location / {\n");
            s.push_str(&clear_identity("proxy_set_header"));
            s.push_str(CLIENT_ADDRESS);
            s.push_str(&proxy_pass(dash));
        }
        Dashboard::Protect => {
            s.push_str(
                "    # The dashboard (everything else): the gate decides (DASHBOARD = protect).\n    location / {\n",
            );
            s.push_str(&gated(dash));
        }
    }
    s.push_str("    }\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::super::SetupInput;
    use super::super::super::fixtures::*;
    use super::*;

    #[test]
    fn nginx_uses_auth_request_and_overrides_identity_headers() {
        let n = nginx(&plan(&external()), "https://pocketgate.example.workers.dev");
        assert!(n.contains("location = /_gate/auth {\n        internal;\n"));
        assert!(n.contains("proxy_pass https://pocketgate.example.workers.dev/_gate/auth;"));
        assert!(n.contains("auth_request /_gate/auth;"));
        assert!(n.contains("auth_request_set $x_auth_request_groups $upstream_http_x_auth_request_groups;"));
        assert!(n.contains("proxy_set_header X-Auth-Request-Groups $x_auth_request_groups;"));
        assert!(n.contains("proxy_set_header Host \"pocketgate.example.workers.dev\";"));
        assert_eq!(n.matches('{').count(), n.matches('}').count());
        let auth = &n[n.find("location = /_gate/auth").unwrap()..n.find("location ~* ").unwrap()];
        for line in [
            "proxy_set_header X-Original-Method $request_method;",
            "proxy_set_header X-Original-URI $request_uri;",
            "proxy_set_header X-Forwarded-Method \"\";",
            "proxy_set_header X-Forwarded-Uri \"\";",
        ] {
            assert!(auth.contains(line), "{line} missing from the auth location:\n{auth}");
        }
        assert!(n.starts_with("# Gate setting for this proxy: FORWARDED_HEADERS = \"nginx\"\n"));
    }

    #[test]
    fn every_location_sets_netbirds_client_address_headers() {
        // Fails on main: no X-Real-IP / X-Forwarded-* at all (gs.sh:1296-1301), so management saw the proxy's IP.
        let n = nginx(&plan(&external()), "https://pocketgate.example.workers.dev");
        let proxied = n.matches("        proxy_pass ").count() - 1; // all but the auth subrequest
        for line in [
            "        proxy_set_header X-Real-IP $remote_addr;\n",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n",
            "        proxy_set_header X-Forwarded-Proto https;\n",
            "        proxy_set_header X-Forwarded-Host $host;\n",
        ] {
            assert_eq!(n.matches(line).count(), proxied, "{line}{n}");
        }
        assert_eq!(n.matches("        grpc_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n").count(), 1);
    }

    #[test]
    fn an_https_upstream_gets_sni() {
        // Fails on main: proxy_ssl_server_name / grpc_ssl_server_name were never set for an https:// upstream.
        let p = plan(&SetupInput {
            upstream: "https://mgmt.internal.example.com".into(),
            dashboard_upstream: "https://dash.internal.example.com".into(),
            ..external()
        });
        let n = nginx(&p, "http://127.0.0.1:8787");
        let api = block(&n, "    location ~* ", "    }\n");
        assert!(
            api.contains("proxy_pass https://mgmt.internal.example.com;\n        proxy_ssl_server_name on;\n"),
            "{api}"
        );
        let grpc = block(&n, "    location ~ ^(/signalexchange", "    }\n");
        assert!(
            grpc.contains("grpc_pass grpcs://mgmt.internal.example.com:443;\n        grpc_ssl_server_name on;\n"),
            "{grpc}"
        );
        assert!(block(&n, "    location / {", "    }\n").contains("proxy_ssl_server_name on;"));
    }

    #[test]
    fn the_api_location_comes_first_and_the_dashboard_skips_the_gate_unless_protected() {
        let n = nginx(&plan(&external()), "https://pocketgate.example.workers.dev");
        let api = n.find("    location ~* (^/|\\x5c)api(/|\\x5c|$) {\n").expect(&n);
        let first_regex = n.find("    location ~").unwrap();
        assert_eq!(api, first_regex, "the API regex must be the first regex location");
        assert!(block(&n, "    location ~* ", "    }\n").contains("proxy_pass http://127.0.0.1:8081;"));
        // Fails on main: the dashboard asked the gate even with DASHBOARD = bypass.
        let dash = block(&n, "    location / {", "    }\n");
        assert!(!dash.contains("auth_request") && dash.contains("proxy_pass http://127.0.0.1:8080;"), "{dash}");
        let protect =
            nginx(&plan(&SetupInput { dashboard: Dashboard::Protect, ..external() }), "https://g.example.com");
        assert!(block(&protect, "    location / {", "    }\n").contains("auth_request /_gate/auth;"));
        // No ^~ prefix location: it would stop the regex search before the API location.
        assert!(!n.contains("^~"), "{n}");
    }

    #[test]
    fn nginx_routes_grpc_websockets_and_the_idp_like_getting_started() {
        let n = nginx(&plan(&external()), "https://pocketgate.example.workers.dev");
        let grpc = block(
            &n,
            "    location ~ ^(/signalexchange\\.SignalExchange/|/management\\.ManagementService/|/management\\.ProxyService/) {",
            "    }\n",
        );
        assert!(grpc.contains("grpc_pass grpc://127.0.0.1:8081;") && grpc.contains("grpc_read_timeout 1d;"), "{grpc}");
        assert!(
            grpc.contains("grpc_set_header X-Auth-Request-User \"\";") && !grpc.contains("auth_request "),
            "{grpc}"
        );
        let ws = block(&n, "    location ~ ^(/relay$|/relay/|/ws-proxy/) {", "    }\n");
        for line in [
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection \"Upgrade\";",
            "proxy_pass http://127.0.0.1:8081;",
        ] {
            assert!(ws.contains(line), "{line}: {ws}");
        }
        assert!(!block(&n, "    location ~ ^(/oauth2/) {", "    }\n").contains("auth_request"));
    }

    #[test]
    fn the_legacy_stack_goes_to_each_container() {
        // Fails on main: one upstream for everything; nginx.tmpl.conf:55-102 sends signal and relay elsewhere.
        let n = nginx(&plan(&standalone()), "https://pocketgate.example.workers.dev");
        let grpc_signal = block(&n, "    location ~ ^(/signalexchange\\.SignalExchange/) {", "    }\n");
        assert!(grpc_signal.contains("grpc_pass grpc://127.0.0.1:10000;"), "{grpc_signal}");
        let grpc_mgmt =
            block(&n, "    location ~ ^(/management\\.ManagementService/|/management\\.ProxyService/) {", "    }\n");
        assert!(grpc_mgmt.contains("grpc_pass grpc://127.0.0.1:8012;"), "{grpc_mgmt}");
        assert!(
            block(&n, "    location ~ ^(/ws-proxy/signal) {", "    }\n").contains("proxy_pass http://127.0.0.1:10000;")
        );
        assert!(
            block(&n, "    location ~ ^(/ws-proxy/management) {", "    }\n")
                .contains("proxy_pass http://127.0.0.1:8012;")
        );
        assert!(
            block(&n, "    location ~ ^(/relay$|/relay/) {", "    }\n").contains("proxy_pass http://127.0.0.1:33080;")
        );
        assert!(block(&n, "    location ~* ", "    }\n").contains("proxy_pass http://127.0.0.1:8012;"));
        assert!(block(&n, "    location / {", "    }\n").contains("proxy_pass http://127.0.0.1:8011;"));
        assert!(!n.contains("oauth2"), "no embedded IdP in the legacy stack");
    }
}
