//! Traefik's dynamic configuration (file provider and Docker labels), shared by `forwardAuth` and the plugin.
//!
//! Routers (traefik `pkg/muxer/http/mux.go` `withRoutingPath`: rules match the path with reserved characters,
//! `%2F` among them, still encoded and the others decoded, `%5C` to `\`, mux.go:102-176):
//! - `netbird-api` matches `/api` in any case, and `api` after an encoded `/` or a `\` anywhere
//!   ([`API_RULE`]), at a priority above every other router: `/API/users`, `/%2Fapi/users`,
//!   `/x/..%2F..%2Fapi/users`, `/relay\..\api\users` and `DELETE /relay/..%2fapi/users/1` all reach the gate (which
//!   refuses them as ambiguous) instead of an ungated router that forwards them to a server serving `/api`;
//! - the direct routers of the stack's layout (gRPC to an h2c service, WebSockets, the IdP), ungated;
//! - the dashboard, the catch-all at priority 1 (minus what the API router takes: if a gate middleware cannot load,
//!   Traefik disables its router and the API gets a 404, never another router), to the dashboard container only,
//!   gated with `DASHBOARD=protect`.
//!
//! Every router carries TLS as getting-started.sh's do (`tls=true`, `tls.certresolver=<resolver>`,
//! gs.sh:892-893, 920-921, 927-928): NetBird's `websecure` entry point has no TLS of its own (gs.sh:850), so a
//! router without it is served as plain HTTP on :443.

use super::super::render::json_compact;
use super::super::{Dashboard, Plan};
use super::routing::{Backend, Kind, Layout, PathMatch, Role, layout};
use super::*;

/// The gated router's path rule: `/api` in any case, or `api` after an encoded `/` or a `\` anywhere (Traefik's
/// routing path keeps `%2F` encoded but decodes `%5C`, mux.go:102-122; Go escapes a raw `\`), followed by a
/// separator or the end (`\z`: a `$` would be docker compose interpolation in a label). Go regexp syntax
/// (`PathRegexp`, Traefik v3).
pub const API_RULE: &str = "PathRegexp(`(?i)(^/|%2f|\\\\)api(/|%2f|\\\\|\\z)`)";
/// The gated router's priority: above the direct routers ([`DIRECT_PRIORITY`]), so a path that names the API
/// through an encoded separator never lands on one of them.
pub const API_PRIORITY: u32 = 200;
/// The direct routers' priority (getting-started.sh's `netbird-grpc`/`netbird-backend`, gs.sh:923, 930).
pub const DIRECT_PRIORITY: u32 = 100;
/// The header-stripping middleware on every router.
pub const STRIP: &str = "pocketgate-strip";
/// The gate's middleware.
pub const GATE: &str = "pocketgate";

/// A YAML double-quoted scalar (JSON string syntax is a subset of it).
pub(in crate::setup) fn yaml_string(value: &str) -> String {
    json_compact(&value)
}

/// The names the `headers` middleware empties (an empty value removes the header; Traefik matches names after
/// Go's canonicalisation, so `X_Auth_Request_Groups` and `x_auth_request_groups` are one name): the identity
/// headers, the foreign identity family and the `X-Original-*` family, each dashed and with every `-` as `_`.
/// Mixed spellings (`X-Auth_Request-Groups`) are not listed: the entry point's `underscoreHeadersStrategy=delete`
/// (static configuration) removes every name with `_`, and on gated routers `authResponseHeadersRegex` (forwardAuth)
/// or the plugin removes every `X-Auth-Request-*` spelling.
pub fn stripped_headers() -> Vec<String> {
    let mut out = Vec::new();
    for h in IDENTITY_HEADERS.into_iter().chain(FOREIGN_IDENTITY_HEADERS).chain(ORIGINAL_HEADERS) {
        out.push(h.to_owned());
        out.push(h.replace('-', "_"));
    }
    out
}

/// One router: name, rule, middlewares, service, priority.
pub struct Router {
    /// Router name.
    pub name: &'static str,
    /// Rule.
    pub rule: String,
    /// Middlewares, in order.
    pub middlewares: Vec<&'static str>,
    /// Service name.
    pub service: String,
    /// Priority.
    pub priority: u32,
    /// The container the Docker labels go on.
    pub container: &'static str,
}

fn path_rule(p: &PathMatch) -> String {
    match p {
        PathMatch::Exact(s) => format!("Path(`{s}`)"),
        PathMatch::Prefix(s) => format!("PathPrefix(`{s}`)"),
    }
}

/// The Traefik service of a backend, and its h2c twin for gRPC.
fn service_name(b: &Backend, kind: Kind) -> String {
    if kind == Kind::Grpc { format!("{}-h2c", b.service) } else { b.service.to_owned() }
}

/// The routers of `plan`'s layout.
pub fn routers(plan: &Plan, l: &Layout) -> Vec<Router> {
    let host = format!("Host(`{}`)", host_only(&plan.domain));
    let api = l.backend(l.api);
    let mut out = vec![Router {
        name: "netbird-api",
        rule: format!("{host} && {API_RULE}"),
        middlewares: vec![STRIP, GATE],
        service: api.service.to_owned(),
        priority: API_PRIORITY,
        container: api.container,
    }];
    for (name, routes) in l.routers() {
        let paths: Vec<String> = routes.iter().flat_map(|r| r.paths.iter().map(path_rule)).collect();
        let b = l.backend(routes[0].role);
        out.push(Router {
            name,
            rule: format!("{host} && ({})", paths.join(" || ")),
            middlewares: vec![STRIP],
            service: service_name(b, routes[0].kind),
            priority: DIRECT_PRIORITY,
            container: b.container,
        });
    }
    // The catch-all excludes what the API router takes: if that router is disabled (a middleware that cannot load:
    // the plugin without plugin.wasm, a broken forwardAuth), Traefik answers 404 for the API instead of handing it
    // to the next router that matches.
    let dash = l.dashboard();
    out.push(Router {
        name: "netbird-dashboard",
        rule: format!("{host} && !{API_RULE}"),
        middlewares: if plan.dashboard == Dashboard::Protect { vec![STRIP, GATE] } else { vec![STRIP] },
        service: dash.service.to_owned(),
        priority: 1,
        container: dash.container,
    });
    out
}

/// The services the routers use, with their URL for the file provider: `(name, url)`.
fn file_services(l: &Layout) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in &l.backends {
        let used = |kind: Kind| l.direct.iter().any(|r| r.role == b.role && r.kind == kind);
        if b.role == l.api || b.role == Role::Dashboard || used(Kind::Upgrade) || used(Kind::Plain) {
            out.push((b.service.to_owned(), b.origin.clone()));
        }
        if used(Kind::Grpc) {
            out.push((service_name(b, Kind::Grpc), grpc_origin(&b.origin, "h2c")));
        }
    }
    out
}

/// The comment naming which forward-auth header family goes with the snippet, the file's purpose, and routing.
fn head(plan: &Plan, what: &str, comment: &str) -> String {
    let mut s = format!("# {what}\n");
    s.push_str(comment);
    s.push_str(&routing_comment(plan));
    s
}

/// The `forwardAuth` middleware, as YAML under `middlewares:`.
pub fn forward_auth_yaml(gate_url: &str) -> String {
    let mut m = String::from("    pocketgate:\n      forwardAuth:\n");
    m.push_str(&format!("        address: {}\n", yaml_string(&format!("{gate_url}{AUTH_PATH}"))));
    m.push_str(
        "        # Removes every client X-Forwarded-* header (and its _ spelling) before the auth call, then sets\n\
         \x20       # Traefik's own: the gate never sees a client's X-Forwarded-Method/-Uri (forward.go writeHeader).\n\
         \x20       # Deprecated since Traefik v3.6.14 (gone in v4): authRequestHeaders below keeps them away too.\n\
         \x20       # Never true.\n",
    );
    m.push_str("        trustForwardHeader: false\n");
    m.push_str("        # Only the credential goes to the gate; Traefik adds X-Forwarded-Method/-Uri itself.\n");
    let quoted: Vec<String> = AUTH_REQUEST_HEADERS.iter().map(|h| format!("\"{h}\"")).collect();
    m.push_str(&format!("        authRequestHeaders: [{}]\n", quoted.join(", ")));
    m.push_str("        authResponseHeaders:\n");
    for h in IDENTITY_HEADERS {
        m.push_str(&format!("          - {h}\n"));
    }
    m.push_str(
        "        # Every client header matching it is removed first (any case, - or _, unknown suffixes), then the\n\
         \x20       # gate's are copied (forward.go:328-340).\n",
    );
    m.push_str(&format!("        authResponseHeadersRegex: {}\n", yaml_string(AUTH_RESPONSE_REGEX)));
    m
}

/// `authResponseHeadersRegex`: every `X-Auth-Request-*` name, any case, `-` or `_`.
pub const AUTH_RESPONSE_REGEX: &str = "(?i)^x[-_]auth[-_]request[-_]";

/// The `forwardAuth` middleware as Docker labels.
pub fn forward_auth_labels(gate_url: &str) -> Vec<String> {
    let fa = "traefik.http.middlewares.pocketgate.forwardauth";
    vec![
        format!("{fa}.address={gate_url}{AUTH_PATH}"),
        format!("{fa}.trustForwardHeader=false"),
        format!("{fa}.authRequestHeaders={}", AUTH_REQUEST_HEADERS.join(",")),
        format!("{fa}.authResponseHeaders={}", IDENTITY_HEADERS.join(",")),
        format!("{fa}.authResponseHeadersRegex={AUTH_RESPONSE_REGEX}"),
    ]
}

/// Traefik file-provider dynamic configuration (YAML) with the `forwardAuth` middleware.
pub fn traefik(plan: &Plan, gate_url: &str) -> String {
    traefik_dynamic(plan, &Proxy::Traefik.gate_setting_comment(), &forward_auth_yaml(gate_url))
}

/// The file-provider configuration: `comment` after the first line, `middleware` (the YAML of the `pocketgate`
/// middleware, indented under `middlewares:`) as the gate.
pub(in crate::setup) fn traefik_dynamic(plan: &Plan, comment: &str, middleware: &str) -> String {
    let l = layout(plan);
    let mut s = head(plan, "Traefik dynamic configuration (file provider).", comment);
    s.push_str("http:\n  routers:\n");
    for r in routers(plan, &l) {
        let mws: Vec<String> = r.middlewares.iter().map(|m| format!("\"{m}\"")).collect();
        s.push_str(&format!(
            "    {}:\n      rule: {}\n      entryPoints: [{}]\n      middlewares: [{}]\n      service: {}\n      \
             priority: {}\n",
            r.name,
            yaml_string(&r.rule),
            yaml_string(&plan.traefik.entrypoint),
            mws.join(", "),
            r.service,
            r.priority
        ));
        match &plan.traefik.certresolver {
            Some(res) => s.push_str(&format!("      tls:\n        certResolver: {}\n", yaml_string(res))),
            None => s.push_str("      tls: {}\n"),
        }
    }
    s.push_str("  middlewares:\n");
    s.push_str(
        "    # Client headers that could pass for identity, or for the original request (dashed and _ spellings).\n",
    );
    s.push_str(&format!("    {STRIP}:\n      headers:\n        customRequestHeaders:\n"));
    for h in stripped_headers() {
        s.push_str(&format!("          {h}: \"\"\n"));
    }
    s.push_str(middleware);
    s.push_str("  services:\n");
    for (name, url) in file_services(&l) {
        s.push_str(&format!(
            "    {name}:\n      loadBalancer:\n        servers:\n          - url: {}\n",
            yaml_string(&url)
        ));
    }
    s
}

/// The same as Docker labels with the `forwardAuth` middleware.
pub fn traefik_labels(plan: &Plan, gate_url: &str) -> String {
    traefik_docker_labels(plan, &Proxy::Traefik.gate_setting_comment(), forward_auth_labels(gate_url))
}

/// The Docker labels of every container (a docker compose fragment): each router on its service's container,
/// the middlewares (`middleware`: the labels of the `pocketgate` middleware) on the API's container, each
/// service's port the container's own listening port (the Docker provider connects to the container's IP and
/// port, never to a host mapping), gRPC services with `scheme=h2c` (gs.sh:933-934).
pub(in crate::setup) fn traefik_docker_labels(plan: &Plan, comment: &str, middleware: Vec<String>) -> String {
    let l = layout(plan);
    let mut labels: Vec<(&'static str, Vec<String>)> =
        l.backends.iter().map(|b| (b.container, vec!["traefik.enable=true".to_owned()])).collect();
    let mut push = |container: &str, label: String| {
        if let Some((_, v)) = labels.iter_mut().find(|(c, _)| *c == container) {
            v.push(label);
        }
    };
    for r in routers(plan, &l) {
        let p = format!("traefik.http.routers.{}", r.name);
        push(r.container, format!("{p}.rule={}", r.rule));
        push(r.container, format!("{p}.entrypoints={}", plan.traefik.entrypoint));
        push(r.container, format!("{p}.tls=true"));
        if let Some(res) = &plan.traefik.certresolver {
            push(r.container, format!("{p}.tls.certresolver={res}"));
        }
        push(r.container, format!("{p}.middlewares={}", r.middlewares.join(",")));
        push(r.container, format!("{p}.service={}", r.service));
        push(r.container, format!("{p}.priority={}", r.priority));
    }
    let api = l.backend(l.api).container;
    for h in stripped_headers() {
        push(api, format!("traefik.http.middlewares.{STRIP}.headers.customrequestheaders.{h}="));
    }
    for m in middleware {
        push(api, m);
    }
    for b in &l.backends {
        let used = |kind: Kind| l.direct.iter().any(|r| r.role == b.role && r.kind == kind);
        if b.role == l.api || b.role == Role::Dashboard || used(Kind::Upgrade) || used(Kind::Plain) {
            push(b.container, format!("traefik.http.services.{}.loadbalancer.server.port={}", b.service, b.port));
        }
        if used(Kind::Grpc) {
            let h2c = service_name(b, Kind::Grpc);
            push(b.container, format!("traefik.http.services.{h2c}.loadbalancer.server.port={}", b.port));
            push(b.container, format!("traefik.http.services.{h2c}.loadbalancer.server.scheme=h2c"));
        }
    }
    let what = match plan.mode {
        super::super::Mode::Embedded => {
            "docker compose: replace the labels of the netbird-server and dashboard services with these (Traefik's\n\
             # Docker provider; NetBird's getting-started.sh stack)."
        }
        super::super::Mode::Standalone => {
            "docker compose: Traefik labels for the legacy stack's management, signal, relay and dashboard services\n\
             # (merge into artifacts/docker-compose.override.yml; Traefik must share a network with them)."
        }
    };
    let mut s = head(plan, what, comment);
    s.push_str("services:\n");
    for (container, labels) in labels {
        s.push_str(&format!("  {container}:\n    labels:\n"));
        for l in labels {
            s.push_str(&format!("      - {}\n", yaml_string(&l)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::super::fixtures::*;
    use super::super::super::{Mode, SetupInput};
    use super::*;

    #[test]
    fn routers_carry_tls_like_getting_started_on_the_chosen_entry_point() {
        // Fails on main: no router had tls (served as plain HTTP on :443, traefik pkg/server/aggregator.go).
        let t = traefik(&plan(&combined()), "http://pocketgate:8080");
        assert_eq!(t.matches("      tls:\n        certResolver: \"letsencrypt\"\n").count(), 4, "{t}");
        assert_eq!(t.matches("      entryPoints: [\"websecure\"]\n").count(), 4);
        let l = traefik_labels(&plan(&combined()), "http://pocketgate:8080");
        for r in ["netbird-api", "netbird-grpc", "netbird-backend", "netbird-dashboard"] {
            assert!(l.contains(&format!("\"traefik.http.routers.{r}.tls=true\"")), "{r}:\n{l}");
            assert!(l.contains(&format!("\"traefik.http.routers.{r}.tls.certresolver=letsencrypt\"")), "{r}");
        }
        // The operator's own Traefik: another entry point, no resolver (gs.sh:1087-1091: tls=true alone).
        let own =
            plan(&SetupInput { traefik_entrypoint: "https".into(), traefik_certresolver: String::new(), ..combined() });
        let t = traefik(&own, "http://pocketgate:8080");
        assert_eq!(t.matches("      tls: {}\n").count(), 4, "{t}");
        assert!(t.contains("      entryPoints: [\"https\"]\n") && !t.contains("certResolver"));
        let l = traefik_labels(&own, "http://pocketgate:8080");
        assert!(l.contains(".entrypoints=https\"") && l.contains(".tls=true\"") && !l.contains("certresolver"), "{l}");
    }

    #[test]
    fn label_ports_are_the_containers_own_never_the_upstream_urls() {
        // Fails on main: the labels carried the upstream URL's port (8081, or 443 for an https:// upstream).
        let host_ports = SetupInput {
            upstream: "http://127.0.0.1:8081".into(),
            dashboard_upstream: "https://dash.internal.example.com".into(),
            ..combined()
        };
        let l = traefik_labels(&plan(&host_ports), "http://pocketgate:8080");
        for svc in ["netbird-server", "netbird-server-h2c", "netbird-dashboard"] {
            assert!(l.contains(&format!("\"traefik.http.services.{svc}.loadbalancer.server.port=80\"")), "{svc}:\n{l}");
        }
        assert!(!l.contains("port=8081") && !l.contains("port=443"), "{l}");
        // The legacy containers listen on 443 (management, relay) and 80 (signal, dashboard).
        let l = traefik_labels(&plan(&standalone()), "https://g.example.com");
        for (svc, port) in [
            ("netbird-management", 443),
            ("netbird-management-h2c", 443),
            ("netbird-signal", 80),
            ("netbird-signal-h2c", 80),
            ("netbird-relay", 443),
            ("netbird-dashboard", 80),
        ] {
            assert!(
                l.contains(&format!("\"traefik.http.services.{svc}.loadbalancer.server.port={port}\"")),
                "{svc}:\n{l}"
            );
        }
    }

    #[test]
    fn the_api_router_catches_every_spelling_of_the_api_above_the_direct_routers() {
        let t = traefik(&plan(&combined()), "http://pocketgate:8080");
        let api = block(&t, "    netbird-api:\n", "      tls:");
        assert!(
            api.contains(&yaml_string(API_RULE)[1..yaml_string(API_RULE).len() - 1])
                && api.contains("priority: 200")
                && api.contains("\"pocketgate\"]"),
            "{api}"
        );
        // The rule, as Traefik's regexp sees the routing path (%2F still encoded, %5C decoded to \).
        let re = regex_lite();
        for hostile in [
            "/API/users",
            "/%2Fapi/users",
            "/x/..%2F..%2Fapi/users",
            "/relay\\..\\api\\users",
            "/relay/..%2fapi/users/1",
            "/api",
            "/api/users",
        ] {
            assert!(re(hostile), "{hostile} must reach the gate");
        }
        for other in ["/apix", "/assets/api/x.js", "/relay", "/"] {
            assert!(!re(other), "{other}");
        }
        for r in ["netbird-grpc", "netbird-backend"] {
            assert!(block(&t, &format!("    {r}:\n"), "      tls:").contains("priority: 100"), "{r}");
        }
    }

    /// The API rule's regexp, evaluated by hand (no regex crate in the library); tests/setup_snippets.rs runs the
    /// real one in Traefik.
    fn regex_lite() -> impl Fn(&str) -> bool {
        |path: &str| {
            let p = path.to_ascii_lowercase();
            let after_ok = |rest: &str| {
                rest.is_empty() || rest.starts_with('/') || rest.starts_with("%2f") || rest.starts_with('\\')
            };
            if p.strip_prefix("/api").is_some_and(after_ok) {
                return true;
            }
            ["%2fapi", "\\api"].iter().any(|sep| p.match_indices(sep).any(|(i, m)| after_ok(&p[i + m.len()..])))
        }
    }

    #[test]
    fn the_dashboard_is_the_dashboard_containers_and_asks_the_gate_only_with_protect() {
        let t = traefik(&plan(&combined()), "http://pocketgate:8080");
        let dash = block(&t, "    netbird-dashboard:\n", "      tls:");
        assert!(dash.contains(&format!("!{}", &yaml_string(API_RULE)[1..yaml_string(API_RULE).len() - 1])), "{dash}");
        assert!(
            dash.contains("middlewares: [\"pocketgate-strip\"]\n") && dash.contains("service: netbird-dashboard\n"),
            "{dash}"
        );
        let p = traefik(&plan(&SetupInput { dashboard: Dashboard::Protect, ..combined() }), "http://pocketgate:8080");
        assert!(block(&p, "    netbird-dashboard:\n", "      tls:").contains("[\"pocketgate-strip\", \"pocketgate\"]"));
        assert!(t.contains("    netbird-dashboard:\n      loadBalancer:\n        servers:\n          - url: \"http://netbird-dashboard:80\"\n"), "{t}");
    }

    #[test]
    fn identity_headers_are_stripped_in_every_spelling_traefik_can_name() {
        let t = traefik(&plan(&combined()), "http://pocketgate:8080");
        for h in
            ["X-Auth-Request-Groups", "X_Auth_Request_Groups", "X-Forwarded-User", "X_Forwarded_User", "X_Original_URI"]
        {
            assert!(t.contains(&format!("          {h}: \"\"\n")), "{h}:\n{t}");
        }
        assert!(t.contains("        authResponseHeadersRegex: \"(?i)^x[-_]auth[-_]request[-_]\"\n"), "{t}");
        assert!(
            t.contains("        trustForwardHeader: false\n")
                && t.contains("        authRequestHeaders: [\"Authorization\"]\n")
        );
        let l = traefik_labels(&plan(&combined()), "http://pocketgate:8080");
        assert!(l.contains("forwardauth.authResponseHeadersRegex=(?i)^x[-_]auth[-_]request[-_]\""), "{l}");
        assert!(l.contains("customrequestheaders.X_Auth_Request_User=\""), "{l}");
    }

    #[test]
    fn the_legacy_stack_gets_a_router_per_container_route() {
        let p = plan(&standalone());
        assert_eq!(p.mode, Mode::Standalone);
        let t = traefik(&p, "https://g.example.com");
        let signal = block(&t, "    netbird-signal:\n", "      tls:");
        assert!(
            signal.contains("PathPrefix(`/signalexchange.SignalExchange/`)")
                && signal.contains("service: netbird-signal-h2c"),
            "{signal}"
        );
        let mgmt = block(&t, "    netbird-management:\n", "      tls:");
        assert!(
            mgmt.contains("PathPrefix(`/management.ManagementService/`) || PathPrefix(`/management.ProxyService/`)"),
            "{mgmt}"
        );
        assert!(block(&t, "    netbird-wsproxy-signal:\n", "      tls:").contains("service: netbird-signal\n"));
        assert!(block(&t, "    netbird-wsproxy-mgmt:\n", "      tls:").contains("service: netbird-management\n"));
        assert!(block(&t, "    netbird-relay:\n", "      tls:").contains("Path(`/relay`) || PathPrefix(`/relay/`)"));
        assert!(block(&t, "    netbird-api:\n", "      tls:").contains("service: netbird-management\n"));
        assert!(t.contains("    netbird-signal-h2c:\n      loadBalancer:\n        servers:\n          - url: \"h2c://127.0.0.1:10000\"\n"), "{t}");
        let l = traefik_labels(&p, "https://g.example.com");
        let relay = &l[l.find("  relay:\n").unwrap()..l.find("  dashboard:\n").unwrap()];
        assert!(
            relay.contains("traefik.http.routers.netbird-relay.rule=")
                && relay.contains("netbird-relay.loadbalancer.server.port=443"),
            "{relay}"
        );
        assert!(!t.contains("/oauth2"), "no embedded IdP in standalone mode");
    }
}
