//! Which paths go where: the routing every proxy snippet shares, and origin helpers.

use super::super::Plan;

// ---- which paths go where (the proxies' routing) --------------------------------------------------------------
//
// As NetBird's own proxy templates route them (`infrastructure_files/getting-started.sh`: the Traefik labels'
// `netbird-grpc` / `netbird-backend` / `netbird-dashboard` routers, `render_external_caddyfile`, the nginx
// template): gRPC goes to QuFabric over HTTP/2 (cleartext h2c to an `http://` origin), the relay and the WebSocket
// proxy over HTTP/1.1 with `Upgrade`, the embedded IdP as plain HTTP. Those carry their own authentication and
// the gate bypasses them anyway (`policy::routes::qufabric_default_routes`, even with `DASHBOARD=protect`), so the
// proxy sends them straight to QuFabric and never asks the gate: a peer keeps working while the gate is
// unreachable. `/api` and the dashboard (everything else) ask the gate first; the gate's `DASHBOARD` decides the
// dashboard (bypass by default) and it refuses ambiguous paths there too.

/// The gRPC services on the management domain (`/<package>.<Service>/<Method>`): `signalexchange.SignalExchange`
/// (NetBird `shared/signal/proto/signalexchange.proto`), `management.ManagementService`
/// (`shared/management/proto/management.proto`) and `management.ProxyService` (`proxy_service.proto`).
pub const GRPC_SERVICES: [&str; 3] =
    ["signalexchange.SignalExchange", "management.ManagementService", "management.ProxyService"];
/// Paths served over HTTP/1.1 WebSockets: the relay (`/relay`, and below) and the WebSocket proxy (`/ws-proxy/`).
pub const WEBSOCKET_PATHS: [&str; 2] = ["/relay", "/ws-proxy/"];
/// The embedded IdP's paths (login pages, token endpoint, keys): straight to QuFabric.
pub const IDP_PATH: &str = "/oauth2/";
/// The REST API: the only QuFabric path the gate always judges.
pub const API_PATH: &str = "/api";

/// Sample request paths that each generated configuration sends straight to QuFabric, one per rule, for tests.
pub fn direct_path_samples() -> Vec<String> {
    let mut v: Vec<String> = GRPC_SERVICES.iter().map(|s| format!("/{s}/Method")).collect();
    v.extend(["/relay", "/relay/x", "/ws-proxy/signal", "/oauth2/token"].map(str::to_owned));
    v
}

pub(super) fn gate_host(gate_url: &str) -> &str {
    gate_url.split_once("://").map_or(gate_url, |(_, h)| h)
}

/// `http(s)://host[:port]` → `host:port`, the port made explicit (80 / 443).
pub(super) fn host_port(origin: &str) -> String {
    let hostport = gate_host(origin).split('/').next().unwrap_or_default();
    match hostport.rsplit_once(':') {
        Some((_, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => hostport.to_owned(),
        _ => format!("{hostport}:{}", upstream_port(origin)),
    }
}

/// Where gRPC goes: `h2c://host:port` (HTTP/2 without TLS) for an `http://` origin, the origin itself for
/// `https://` (HTTP/2 by ALPN). nginx spells the same `grpc://` / `grpcs://`.
pub(super) fn grpc_origin(upstream: &str, cleartext_scheme: &str) -> String {
    if upstream.starts_with("https://") {
        let tls = if cleartext_scheme == "grpc" { "grpcs" } else { "https" };
        format!("{tls}://{}", host_port(upstream))
    } else {
        format!("{cleartext_scheme}://{}", host_port(upstream))
    }
}

/// The dashboard's origin: its own when given, else QuFabric's.
pub(super) fn dashboard_origin<'a>(plan: &'a Plan, upstream: &'a str) -> &'a str {
    plan.dashboard_upstream.as_deref().unwrap_or(upstream)
}

/// The comment at the top of every proxy snippet: which paths go where.
pub(super) fn routing_comment() -> String {
    let [signal, management, proxy] = GRPC_SERVICES;
    let [relay, ws] = WEBSOCKET_PATHS;
    format!(
        "# Routing as NetBird's getting-started.sh: gRPC ({signal}, {management},\n\
         # {proxy}) over HTTP/2, {relay} and {ws} over HTTP/1.1 with Upgrade, and {IDP_PATH} go straight to\n\
         # QuFabric (their own auth; the gate bypasses them anyway). {API_PATH} and the dashboard ask the gate first.\n"
    )
}

/// `qufabric.example.com:8443` → `qufabric.example.com` (Traefik's `Host` matcher ignores the port).
pub(super) fn host_only(domain: &str) -> &str {
    match domain.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => domain,
    }
}

/// The port of an `http(s)://host[:port]` origin (default 80 / 443).
pub(super) fn upstream_port(upstream: &str) -> u16 {
    let https = upstream.starts_with("https://");
    let hostport = gate_host(upstream).split('/').next().unwrap_or_default();
    match hostport.rsplit_once(':') {
        Some((_, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().unwrap_or(80),
        _ if https => 443,
        _ => 80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_paths_are_paths_the_gate_bypasses_even_with_dashboard_protect() {
        // Sending them past the gate loses no check: the gate's own defaults bypass them in every configuration.
        let protect = crate::policy::qufabric_default_routes(false);
        for path in direct_path_samples() {
            assert_eq!(protect.action("GET", &path), Ok(&crate::policy::RouteAction::Bypass), "{path}");
        }
        for gated in ["/api", "/api/users", "/relayx", "/", "/peers"] {
            assert_ne!(protect.action("GET", gated), Ok(&crate::policy::RouteAction::Bypass), "{gated}");
        }
    }

    #[test]
    fn traefik_helpers() {
        assert_eq!(host_only("qufabric.example.com:8443"), "qufabric.example.com");
        assert_eq!(host_only("qufabric.example.com"), "qufabric.example.com");
        assert_eq!(upstream_port("http://mgmt:8080"), 8080);
        assert_eq!(upstream_port("https://mgmt.internal.example.com"), 443);
        assert_eq!(upstream_port("http://10.0.0.5"), 80);
        assert_eq!(host_port("http://10.0.0.5"), "10.0.0.5:80");
        assert_eq!(host_port("http://mgmt:8080"), "mgmt:8080");
        assert_eq!(grpc_origin("http://mgmt", "h2c"), "h2c://mgmt:80");
        assert_eq!(super::super::Proxy::Nginx.forwarded_headers(), "nginx");
    }
}
