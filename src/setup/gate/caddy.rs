//! Caddy `forward_auth`.

use super::super::Plan;
use super::*;

/// A Caddyfile site block. Inside one `route` (Caddy runs it in order): strip client identity headers; gRPC
/// (path **and** gRPC content type: a content type alone never opens another path) to QuFabric over h2c; the
/// relay, WebSocket proxy and embedded IdP to QuFabric; then remove the `X-Original-*` family (forward_auth sets
/// `X-Forwarded-Method`/`-Uri`), ask the gate, copy its identity headers, and proxy `/api` to QuFabric and the
/// rest to the dashboard.
pub fn caddy(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let mut s = Proxy::Caddy.gate_setting_comment();
    s.push_str(&routing_comment());
    s.push_str(&format!("{} {{\n\troute {{\n", plan.domain));
    s.push_str("\t\t# Never trust identity headers sent by the client.\n");
    for h in IDENTITY_HEADERS.iter().chain(&FOREIGN_IDENTITY_HEADERS) {
        s.push_str(&format!("\t\trequest_header -{h}\n"));
    }
    let grpc_paths: Vec<String> = GRPC_SERVICES.iter().map(|g| format!("/{g}/*")).collect();
    s.push_str("\t\t# gRPC: management, signal, proxy (HTTP/2 to QuFabric).\n");
    s.push_str(&format!(
        "\t\t@grpc {{\n\t\t\tpath {}\n\t\t\theader Content-Type application/grpc*\n\t\t}}\n",
        grpc_paths.join(" ")
    ));
    s.push_str(&format!("\t\treverse_proxy @grpc {}\n", grpc_origin(upstream, "h2c")));
    s.push_str("\t\t# Relay and WebSocket proxy (Caddy passes the Upgrade), the embedded IdP.\n");
    s.push_str(&format!(
        "\t\t@direct path /relay /relay/* /ws-proxy/* {IDP_PATH}*\n\t\treverse_proxy @direct {upstream}\n"
    ));
    s.push_str(
        "\t\t# Everything below asks the gate. forward_auth sets X-Forwarded-Method/-Uri; clear the other family.\n",
    );
    for h in ORIGINAL_HEADERS {
        s.push_str(&format!("\t\trequest_header -{h}\n"));
    }
    s.push_str(&format!("\t\tforward_auth {gate_url} {{\n\t\t\turi {AUTH_PATH}\n"));
    if gate_url.starts_with("https://") {
        s.push_str("\t\t\theader_up Host {upstream_hostport}\n");
    }
    s.push_str(&format!("\t\t\tcopy_headers {}\n\t\t}}\n", IDENTITY_HEADERS.join(" ")));
    s.push_str(&format!("\t\t@api path {API_PATH} {API_PATH}/*\n\t\treverse_proxy @api {upstream}\n"));
    s.push_str(&format!("\t\t# The dashboard.\n\t\treverse_proxy {}\n\t}}\n}}\n", dashboard_origin(plan, upstream)));
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
    fn caddy_strips_then_asks_then_copies() {
        let p = plan(&standalone());
        let c = caddy(&p, "https://pocketgate.example.workers.dev", "http://127.0.0.1:8080");
        let strip = c.find("request_header -X-Auth-Request-User").unwrap();
        let auth = c.find("forward_auth https://pocketgate.example.workers.dev").unwrap();
        assert!(strip < auth, "stripping must come first inside route");
        assert!(c.contains("uri /_gate/auth"));
        assert!(c.contains("header_up Host {upstream_hostport}"));
        assert!(c.contains("copy_headers X-Auth-Request-User X-Auth-Request-Email X-Auth-Request-Preferred-Username X-Auth-Request-Groups"));
        assert_eq!(c.matches('{').count(), c.matches('}').count());
        // The other header family is cleared before the auth call; forward_auth sets X-Forwarded-Method/-Uri.
        for h in ["X-Original-Method", "X-Original-URI", "X-Forwarded-User", "X-Forwarded-Groups"] {
            let at = c.find(&format!("request_header -{h}\n")).unwrap_or_else(|| panic!("{h} not removed:\n{c}"));
            assert!(at < auth, "{h} must be removed before forward_auth");
        }
        // ...and forward_auth's own X-Forwarded-Method/-Uri are neither removed nor replaced.
        assert!(!c.contains("-X-Forwarded-Method") && !c.contains("-X-Forwarded-Uri"), "{c}");
        assert!(!c.contains("header_up X-Forwarded"), "{c}");
        assert!(c.starts_with("# Gate setting for this proxy: FORWARDED_HEADERS = \"caddy\"\n"));
    }

    #[test]
    fn caddy_sends_grpc_over_h2c_and_asks_the_gate_only_after_the_direct_routes() {
        let p = plan(&standalone());
        let c = caddy(&p, "https://pocketgate.example.workers.dev", "http://127.0.0.1:8080");
        let grpc = c.find("reverse_proxy @grpc h2c://127.0.0.1:8080\n").expect(&c);
        let direct = c.find("reverse_proxy @direct http://127.0.0.1:8080\n").expect(&c);
        let auth = c.find("forward_auth ").unwrap();
        let api = c.find("reverse_proxy @api http://127.0.0.1:8080\n").expect(&c);
        let dash = c.find("reverse_proxy http://127.0.0.1:8081\n").expect(&c);
        assert!(grpc < auth && direct < auth && auth < api && api < dash, "{c}");
        // The gRPC matcher needs the path AND the content type: a gRPC content type never opens /api.
        let m = block(&c, "@grpc {", "\t\t}\n");
        assert!(m.contains(
            "path /signalexchange.SignalExchange/* /management.ManagementService/* /management.ProxyService/*"
        ));
        assert!(m.contains("header Content-Type application/grpc*"));
        assert!(c.contains("@direct path /relay /relay/* /ws-proxy/* /oauth2/*\n"));
        assert!(c.contains("@api path /api /api/*\n"));
        let tls = caddy(&p, "https://g.example.com", "https://mgmt.example.com");
        assert!(tls.contains("reverse_proxy @grpc https://mgmt.example.com:443\n"), "{tls}");
    }
}
