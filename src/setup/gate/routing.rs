//! Which paths go where: the containers of the stack the mode implies and the routes every proxy output shares.
//!
//! Embedded mode is NetBird's combined stack (`infrastructure_files/getting-started.sh` at `ee253fe`): one
//! `netbird-server` container (`listenAddress: ":80"`, gs.sh:962) serves gRPC, the relay, the WebSocket proxy,
//! the embedded IdP and the REST API; the dashboard is its own container on port 80 (gs.sh:896). Its proxy
//! outputs route them as the built-in Traefik's labels do (gs.sh:916-934): gRPC to an h2c service, everything
//! else (`/relay`, `/ws-proxy/`, `/api`, `/oauth2`) to the server, the dashboard as the catch-all.
//!
//! Standalone mode is the legacy stack (`docker-compose.yml.tmpl`): management, signal, relay and dashboard in
//! separate containers, routed as `nginx.tmpl.conf:55-102` and `docker-compose.yml.tmpl.traefik:36-100` route
//! them: `/signalexchange.SignalExchange/` and `/ws-proxy/signal` to signal, `/relay` to relay,
//! `/management.ManagementService/`, `/ws-proxy/management` and `/api` to management, the rest to the dashboard.
//!
//! Paths other than `/api` and the dashboard carry their own authentication (peers' WireGuard keys, the IdP's
//! login) and the gate bypasses them in every configuration (`policy::routes::qufabric_default_routes`, even with
//! `DASHBOARD=protect`), so the proxies send them straight to their container and never ask the gate: a peer
//! keeps working while the gate is unreachable. `/api` always asks the gate; the dashboard does with
//! `DASHBOARD=protect`.

use super::super::{Mode, Plan};

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

/// Sample request paths that each generated configuration sends straight to a container, one per rule, for tests.
pub fn direct_path_samples() -> Vec<String> {
    let mut v: Vec<String> = GRPC_SERVICES.iter().map(|s| format!("/{s}/Method")).collect();
    v.extend(["/relay", "/relay/x", "/ws-proxy/signal", "/ws-proxy/management", "/oauth2/token"].map(str::to_owned));
    v
}

/// A container of the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The combined `netbird-server` (embedded mode).
    Server,
    /// The legacy management container.
    Management,
    /// The legacy signal container.
    Signal,
    /// The legacy relay container.
    Relay,
    /// The dashboard.
    Dashboard,
}

/// One container: where the proxy reaches it, and what Docker labels need to know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// Which one.
    pub role: Role,
    /// Its origin as the proxy reaches it (file provider, nginx, Caddy).
    pub origin: String,
    /// The compose service the Docker labels go on.
    pub container: &'static str,
    /// The port the process listens on inside the container: what Traefik's Docker provider connects to (the
    /// container's own IP and port, never a host mapping).
    pub port: u16,
    /// Traefik's service name for it (gRPC: this name with `-h2c`).
    pub service: &'static str,
}

/// How a route's traffic travels to its container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// gRPC: HTTP/2 (h2c to an `http://` origin).
    Grpc,
    /// WebSockets: HTTP/1.1 with `Upgrade`.
    Upgrade,
    /// Plain HTTP.
    Plain,
}

/// How a path is matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathMatch {
    /// Exactly this path.
    Exact(&'static str),
    /// Paths starting with this.
    Prefix(&'static str),
}

/// A route that goes straight to its container, never asking the gate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The Traefik router it belongs to (routes of one router are OR'ed).
    pub router: &'static str,
    /// Transport.
    pub kind: Kind,
    /// Matched paths (gRPC: `/<service>/` prefixes).
    pub paths: Vec<PathMatch>,
    /// Destination.
    pub role: Role,
}

/// The stack: its containers, the direct routes, and where `/api` and the catch-all go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The containers, the API's first, the dashboard last.
    pub backends: Vec<Backend>,
    /// The routes that never ask the gate.
    pub direct: Vec<Route>,
    /// Where `/api` goes (after the gate).
    pub api: Role,
}

/// The legacy containers' listening ports once the generated setup.env is applied (docker-compose.yml.tmpl):
/// management `--port 443` (:87-88; plain HTTP and h2c once Let's Encrypt is disabled), signal `--port 80`
/// (:53-58; gRPC and `/ws-proxy/signal` on one h2c listener, signal/cmd/run.go:134-143, 262-272), relay
/// `NB_LISTEN_ADDRESS=:$NETBIRD_RELAY_PORT` (:66) with `NETBIRD_RELAY_PORT=443`, dashboard 80 (:15).
pub const LEGACY_PORTS: [(Role, u16); 4] =
    [(Role::Management, 443), (Role::Signal, 80), (Role::Relay, 443), (Role::Dashboard, 80)];

fn prefix(p: &'static str) -> PathMatch {
    PathMatch::Prefix(p)
}

/// The layout of `plan`'s stack. Forward-auth only (the origins are required there); a missing origin reads as
/// empty, which validation never lets through.
pub fn layout(plan: &Plan) -> Layout {
    let origin = |o: &Option<String>| o.clone().unwrap_or_default();
    let grpc =
        |services: &[&'static str]| -> Vec<PathMatch> { services.iter().map(|s| prefix(grpc_prefix(s))).collect() };
    let relay = vec![PathMatch::Exact("/relay"), prefix("/relay/")];
    let dashboard = Backend {
        role: Role::Dashboard,
        origin: origin(&plan.dashboard_upstream),
        container: "dashboard",
        port: 80,
        service: "netbird-dashboard",
    };
    match plan.mode {
        Mode::Embedded => Layout {
            backends: vec![
                Backend {
                    role: Role::Server,
                    origin: origin(&plan.upstream),
                    container: "netbird-server",
                    port: 80,
                    service: "netbird-server",
                },
                dashboard,
            ],
            direct: vec![
                Route { router: "netbird-grpc", kind: Kind::Grpc, paths: grpc(&GRPC_SERVICES), role: Role::Server },
                Route { router: "netbird-backend", kind: Kind::Upgrade, paths: relay, role: Role::Server },
                Route {
                    router: "netbird-backend",
                    kind: Kind::Upgrade,
                    paths: vec![prefix("/ws-proxy/")],
                    role: Role::Server,
                },
                Route {
                    router: "netbird-backend",
                    kind: Kind::Plain,
                    paths: vec![prefix(IDP_PATH)],
                    role: Role::Server,
                },
            ],
            api: Role::Server,
        },
        Mode::Standalone => {
            let port = |role| LEGACY_PORTS.iter().find(|(r, _)| *r == role).map_or(80, |(_, p)| *p);
            Layout {
                backends: vec![
                    Backend {
                        role: Role::Management,
                        origin: origin(&plan.upstream),
                        container: "management",
                        port: port(Role::Management),
                        service: "netbird-management",
                    },
                    Backend {
                        role: Role::Signal,
                        origin: origin(&plan.signal_upstream),
                        container: "signal",
                        port: port(Role::Signal),
                        service: "netbird-signal",
                    },
                    Backend {
                        role: Role::Relay,
                        origin: origin(&plan.relay_upstream),
                        container: "relay",
                        port: port(Role::Relay),
                        service: "netbird-relay",
                    },
                    dashboard,
                ],
                direct: vec![
                    Route {
                        router: "netbird-signal",
                        kind: Kind::Grpc,
                        paths: grpc(&GRPC_SERVICES[..1]),
                        role: Role::Signal,
                    },
                    Route {
                        router: "netbird-management",
                        kind: Kind::Grpc,
                        paths: grpc(&GRPC_SERVICES[1..]),
                        role: Role::Management,
                    },
                    Route {
                        router: "netbird-wsproxy-signal",
                        kind: Kind::Upgrade,
                        paths: vec![prefix("/ws-proxy/signal")],
                        role: Role::Signal,
                    },
                    Route {
                        router: "netbird-wsproxy-mgmt",
                        kind: Kind::Upgrade,
                        paths: vec![prefix("/ws-proxy/management")],
                        role: Role::Management,
                    },
                    Route { router: "netbird-relay", kind: Kind::Upgrade, paths: relay, role: Role::Relay },
                ],
                api: Role::Management,
            }
        }
    }
}

/// `/<service>/` as a `'static` string for the three known services.
fn grpc_prefix(service: &str) -> &'static str {
    match service {
        "signalexchange.SignalExchange" => "/signalexchange.SignalExchange/",
        "management.ManagementService" => "/management.ManagementService/",
        _ => "/management.ProxyService/",
    }
}

impl Layout {
    /// The backend of `role` (every role a route names is in `backends`).
    pub fn backend(&self, role: Role) -> &Backend {
        self.backends.iter().find(|b| b.role == role).unwrap_or(&self.backends[0])
    }

    /// The dashboard's backend.
    pub fn dashboard(&self) -> &Backend {
        self.backend(Role::Dashboard)
    }

    /// The direct routes' routers in order, each with its routes.
    pub fn routers(&self) -> Vec<(&'static str, Vec<&Route>)> {
        let mut out: Vec<(&'static str, Vec<&Route>)> = Vec::new();
        for r in &self.direct {
            match out.iter_mut().find(|(name, _)| *name == r.router) {
                Some((_, routes)) => routes.push(r),
                None => out.push((r.router, vec![r])),
            }
        }
        out
    }

    /// The gRPC services that go to `role`, as `signalexchange\.SignalExchange` regex alternatives.
    pub fn grpc_services(&self, role: Role) -> Vec<&'static str> {
        self.direct
            .iter()
            .filter(|r| r.kind == Kind::Grpc && r.role == role)
            .flat_map(|r| r.paths.iter())
            .map(|p| match p {
                PathMatch::Exact(s) | PathMatch::Prefix(s) => s.trim_matches('/'),
            })
            .collect()
    }
}

/// The comment at the top of every proxy output: which paths go where.
pub fn routing_comment(plan: &Plan) -> String {
    match plan.mode {
        Mode::Embedded => {
            "# Routing as NetBird's getting-started.sh (the combined netbird-server): gRPC over HTTP/2,\n\
             # /relay and /ws-proxy/ over HTTP/1.1 with Upgrade, and /oauth2/ go straight to the server (their own\n\
             # auth; the gate bypasses them anyway). /api asks the gate first; the rest is the dashboard container.\n"
                .to_owned()
        }
        Mode::Standalone => {
            "# Routing as NetBird's nginx.tmpl.conf (the legacy stack): signal gRPC and /ws-proxy/signal to signal,\n\
             # /relay to relay, management gRPC and /ws-proxy/management to management (their own auth; the gate\n\
             # bypasses them anyway). /api asks the gate first, then goes to management; the rest is the dashboard.\n"
                .to_owned()
        }
    }
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

/// The host of an origin, without port or brackets' content changed.
pub fn origin_host(origin: &str) -> &str {
    let hostport = gate_host(origin).split('/').next().unwrap_or_default();
    if hostport.starts_with('[') {
        return hostport.split_once(']').map_or(hostport, |(h, _)| &hostport[..h.len() + 1]);
    }
    hostport.split(':').next().unwrap_or_default()
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

/// `qufabric.example.com:8443` → `qufabric.example.com` (Traefik's `Host` matcher ignores the port).
pub fn host_only(domain: &str) -> &str {
    match domain.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => domain,
    }
}

/// The port of an `http(s)://host[:port]` origin (default 80 / 443).
pub fn upstream_port(upstream: &str) -> u16 {
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
    use super::super::super::fixtures::*;
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
        // Every path a layout sends past the gate is one of those.
        for input in [combined(), standalone()] {
            for r in layout(&plan(&input)).direct {
                for p in r.paths {
                    let path = match p {
                        PathMatch::Exact(s) => s.to_owned(),
                        PathMatch::Prefix(s) => format!("{s}x"),
                    };
                    assert_eq!(protect.action("GET", &path), Ok(&crate::policy::RouteAction::Bypass), "{path}");
                }
            }
        }
    }

    #[test]
    fn the_legacy_stack_has_one_backend_per_container_routed_like_nginx_tmpl_conf() {
        let l = layout(&plan(&standalone()));
        let names: Vec<_> = l.backends.iter().map(|b| (b.container, b.port, b.origin.as_str())).collect();
        assert_eq!(
            names,
            [
                ("management", 443, "http://127.0.0.1:8012"),
                ("signal", 80, "http://127.0.0.1:10000"),
                ("relay", 443, "http://127.0.0.1:33080"),
                ("dashboard", 80, "http://127.0.0.1:8011"),
            ]
        );
        assert_eq!(l.grpc_services(Role::Signal), ["signalexchange.SignalExchange"]);
        assert_eq!(l.grpc_services(Role::Management), ["management.ManagementService", "management.ProxyService"]);
        let to = |p: &'static str| l.direct.iter().find(|r| r.paths.contains(&PathMatch::Prefix(p))).map(|r| r.role);
        assert_eq!(to("/ws-proxy/signal"), Some(Role::Signal));
        assert_eq!(to("/ws-proxy/management"), Some(Role::Management));
        assert_eq!(to("/relay/"), Some(Role::Relay));
        assert_eq!(l.api, Role::Management);
        // The combined stack: one server on :80 and the dashboard on :80 (gs.sh:896, 932-933, 962).
        let c = layout(&plan(&combined()));
        let ports: Vec<_> = c.backends.iter().map(|b| (b.container, b.port)).collect();
        assert_eq!(ports, [("netbird-server", 80), ("dashboard", 80)]);
        assert_eq!(c.routers().iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["netbird-grpc", "netbird-backend"]);
    }

    #[test]
    fn origin_helpers() {
        assert_eq!(host_only("qufabric.example.com:8443"), "qufabric.example.com");
        assert_eq!(host_only("qufabric.example.com"), "qufabric.example.com");
        assert_eq!(upstream_port("http://mgmt:8080"), 8080);
        assert_eq!(upstream_port("https://mgmt.internal.example.com"), 443);
        assert_eq!(upstream_port("http://10.0.0.5"), 80);
        assert_eq!(host_port("http://10.0.0.5"), "10.0.0.5:80");
        assert_eq!(host_port("http://mgmt:8080"), "mgmt:8080");
        assert_eq!(origin_host("http://127.0.0.1:8012"), "127.0.0.1");
        assert_eq!(origin_host("http://[::1]:8012"), "[::1]");
        assert_eq!(grpc_origin("http://mgmt", "h2c"), "h2c://mgmt:80");
        assert_eq!(grpc_origin("https://mgmt", "grpc"), "grpcs://mgmt:443");
    }
}
