//! nginx `auth_request`.

use super::super::Plan;
use super::super::render::conf_string;
use super::*;

fn nginx_var(header: &str) -> String {
    header.to_ascii_lowercase().replace('-', "_")
}

/// `<directive> NAME "";` for every client identity header (an empty value drops the header).
fn nginx_clear_identity(directive: &str) -> String {
    IDENTITY_HEADERS
        .iter()
        .chain(&FOREIGN_IDENTITY_HEADERS)
        .map(|h| format!("        {directive} {h} \"\";\n"))
        .collect()
}

/// The `auth_request` lines of a gated location, up to its `proxy_pass`.
fn nginx_gated(target: &str) -> String {
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
    s.push_str(&format!("        proxy_set_header Host $host;\n        proxy_pass {target};\n"));
    s
}

/// An nginx `server` block: the gRPC services with `grpc_pass` (HTTP/2), `/relay` and `/ws-proxy/` over HTTP/1.1
/// with `Upgrade`, `/oauth2/` straight to QuFabric; `/api` and the dashboard through `auth_request`.
/// `auth_request` passes every client header to the auth call, so that location sets the `X-Original-*` family
/// and empties `X-Forwarded-Method`/`-Uri` (nginx drops empty headers).
pub fn nginx(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let mut s = Proxy::Nginx.gate_setting_comment();
    s.push_str(&routing_comment());
    s.push_str(&format!(
        "server {{\n    listen 443 ssl http2;\n    server_name {};\n    # ssl_certificate …; ssl_certificate_key …;\n\
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
    let grpc: Vec<String> = GRPC_SERVICES.iter().map(|g| g.replace('.', "\\.")).collect();
    s.push_str(&format!(
        "    # gRPC: management, signal, proxy (HTTP/2 to QuFabric; their own auth).\n    location ~ ^/({})/ {{\n",
        grpc.join("|")
    ));
    s.push_str(&nginx_clear_identity("grpc_set_header"));
    s.push_str(&format!(
        "        grpc_pass {};\n        grpc_read_timeout 1d;\n        grpc_send_timeout 1d;\n        \
         grpc_socket_keepalive on;\n    }}\n\n",
        grpc_origin(upstream, "grpc")
    ));
    s.push_str("    # Relay and WebSocket proxy: HTTP/1.1 with Upgrade (their own auth).\n");
    s.push_str("    location ~ ^/(relay(/|$)|ws-proxy/) {\n");
    s.push_str(&nginx_clear_identity("proxy_set_header"));
    s.push_str(&format!(
        "        proxy_http_version 1.1;\n        proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header \
         Connection \"Upgrade\";\n        proxy_set_header Host $host;\n        proxy_read_timeout 1d;\n        \
         proxy_pass {upstream};\n    }}\n\n"
    ));
    s.push_str(&format!("    # The embedded IdP (login, tokens, keys).\n    location ^~ {IDP_PATH} {{\n"));
    s.push_str(&nginx_clear_identity("proxy_set_header"));
    s.push_str(&format!("        proxy_set_header Host $host;\n        proxy_pass {upstream};\n    }}\n\n"));
    s.push_str(&format!("    # The REST API: the gate decides.\n    location ~ ^{API_PATH}(/|$) {{\n"));
    s.push_str(&nginx_gated(upstream));
    s.push_str(
        "    }\n\n    # The dashboard (everything else): the gate decides (DASHBOARD), and refuses ambiguous paths.\n",
    );
    s.push_str("    location / {\n");
    s.push_str(&nginx_gated(dashboard_origin(plan, upstream)));
    s.push_str("    }\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::super::fixtures::*;
    use super::*;

    /// A generated location / matcher / router body, from `start` to the next line equal to `end`.
    fn block<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let at = text.find(start).unwrap_or_else(|| panic!("{start} missing:\n{text}"));
        let len = text[at..].find(end).unwrap_or_else(|| panic!("{start}: no end {end:?}"));
        &text[at..at + len]
    }

    #[test]
    fn nginx_uses_auth_request_and_overrides_identity_headers() {
        let p = plan(&standalone());
        let n = nginx(&p, "https://pocketgate.example.workers.dev", "http://127.0.0.1:8080");
        assert!(n.contains("location = /_gate/auth {\n        internal;\n"));
        assert!(n.contains("proxy_pass https://pocketgate.example.workers.dev/_gate/auth;"));
        assert!(n.contains("auth_request /_gate/auth;"));
        assert!(n.contains("auth_request_set $x_auth_request_groups $upstream_http_x_auth_request_groups;"));
        assert!(n.contains("proxy_set_header X-Auth-Request-Groups $x_auth_request_groups;"));
        assert!(n.contains("proxy_set_header Host \"pocketgate.example.workers.dev\";"));
        assert_eq!(n.matches('{').count(), n.matches('}').count());
        // The auth call gets the X-Original-* family and never the client's X-Forwarded-Method/-Uri.
        let auth = &n[n.find("location = /_gate/auth").unwrap()..n.find("location / {").unwrap()];
        for line in [
            "proxy_set_header X-Original-Method $request_method;",
            "proxy_set_header X-Original-URI $request_uri;",
            "proxy_set_header X-Forwarded-Method \"\";",
            "proxy_set_header X-Forwarded-Uri \"\";",
        ] {
            assert!(auth.contains(line), "{line} missing from the auth location:\n{auth}");
        }
        assert!(!n.contains("X-Forwarded-Method $request_method") && !n.contains("X-Forwarded-Uri $request_uri"));
        assert!(n.contains("proxy_set_header X-Forwarded-User \"\";"));
        assert!(n.starts_with("# Gate setting for this proxy: FORWARDED_HEADERS = \"nginx\"\n"));
    }

    #[test]
    fn nginx_routes_grpc_websockets_and_the_api_like_getting_started() {
        let p = plan(&standalone());
        let n = nginx(&p, "https://pocketgate.example.workers.dev", "http://127.0.0.1:8080");
        assert!(n.contains("    listen 443 ssl http2;\n"), "{n}");
        let grpc = block(
            &n,
            "location ~ ^/(signalexchange\\.SignalExchange|management\\.ManagementService|management\\.ProxyService)/ {",
            "    }\n",
        );
        assert!(grpc.contains("grpc_pass grpc://127.0.0.1:8080;") && grpc.contains("grpc_read_timeout 1d;"), "{grpc}");
        assert!(grpc.contains("grpc_set_header X-Auth-Request-User \"\";"), "{grpc}");
        assert!(!grpc.contains("auth_request"), "gRPC never asks the gate: {grpc}");
        let ws = block(&n, "location ~ ^/(relay(/|$)|ws-proxy/) {", "    }\n");
        for line in [
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection \"Upgrade\";",
            "proxy_pass http://127.0.0.1:8080;",
        ] {
            assert!(ws.contains(line), "{line}: {ws}");
        }
        assert!(!ws.contains("auth_request"));
        assert!(!block(&n, "location ^~ /oauth2/ {", "    }\n").contains("auth_request"));
        let api = block(&n, "location ~ ^/api(/|$) {", "    }\n");
        assert!(
            api.contains("auth_request /_gate/auth;") && api.contains("proxy_pass http://127.0.0.1:8080;"),
            "{api}"
        );
        let dash = block(&n, "    location / {", "    }\n");
        assert!(
            dash.contains("auth_request /_gate/auth;") && dash.contains("proxy_pass http://127.0.0.1:8081;"),
            "{dash}"
        );
        // An https origin: gRPC over TLS.
        let tls = nginx(&p, "https://g.example.com", "https://mgmt.example.com");
        assert!(tls.contains("grpc_pass grpcs://mgmt.example.com:443;"), "{tls}");
    }
}
