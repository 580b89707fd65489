//! Traefik `forwardAuth`: file provider and Docker labels.

use super::super::Plan;
use super::*;

/// Headers the Traefik snippets empty before the auth call (a `headers` middleware: an empty value removes the
/// header): client identity headers and the `X-Original-*` family.
fn traefik_stripped() -> impl Iterator<Item = &'static str> {
    IDENTITY_HEADERS.into_iter().chain(FOREIGN_IDENTITY_HEADERS).chain(ORIGINAL_HEADERS)
}

/// A YAML double-quoted scalar (JSON string syntax is a subset of it).
fn yaml_string(value: &str) -> String {
    super::super::render::json_compact(&value)
}

/// Traefik's routers, as getting-started.sh's labels split them, plus `/api` on a router of its own with the gate:
/// `(name, rule, middlewares, service, priority)`.
fn traefik_routers(plan: &Plan) -> Vec<(&'static str, String, &'static [&'static str], &'static str, u32)> {
    let host = format!("Host(`{}`)", host_only(&plan.domain));
    let grpc: Vec<String> = GRPC_SERVICES.iter().map(|g| format!("PathPrefix(`/{g}/`)")).collect();
    let direct =
        format!("Path(`/relay`) || PathPrefix(`/relay/`) || PathPrefix(`/ws-proxy/`) || PathPrefix(`{IDP_PATH}`)");
    const STRIP: &[&str] = &["pocketgate-strip"];
    const GATED: &[&str] = &["pocketgate-strip", "pocketgate"];
    vec![
        ("netbird-grpc", format!("{host} && ({})", grpc.join(" || ")), STRIP, "netbird-server-h2c", 100),
        ("netbird-backend", format!("{host} && ({direct})"), STRIP, "netbird-server", 100),
        (
            "netbird-api",
            format!("{host} && (Path(`{API_PATH}`) || PathPrefix(`{API_PATH}/`))"),
            GATED,
            "netbird-server",
            100,
        ),
        ("netbird-dashboard", host, GATED, "netbird-dashboard", 1),
    ]
}

/// Traefik file-provider dynamic configuration (YAML): the routers of [`traefik_routers`] on `websecure`, a
/// header-stripping middleware on each, and on `/api` and the dashboard `forwardAuth` with
/// `trustForwardHeader: false` and `authRequestHeaders` limited to the credential. gRPC goes to an h2c service.
pub fn traefik(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let mut middleware = String::from("    pocketgate:\n      forwardAuth:\n");
    middleware.push_str(&format!("        address: {}\n", yaml_string(&format!("{gate_url}{AUTH_PATH}"))));
    middleware
        .push_str("        # Never true: Traefik would then hand the gate the client's X-Forwarded-Method/-Uri.\n");
    middleware.push_str("        trustForwardHeader: false\n");
    middleware
        .push_str("        # Only the credential goes to the gate; Traefik adds X-Forwarded-Method/-Uri itself.\n");
    let quoted: Vec<String> = AUTH_REQUEST_HEADERS.iter().map(|h| format!("\"{h}\"")).collect();
    middleware.push_str(&format!("        authRequestHeaders: [{}]\n", quoted.join(", ")));
    middleware.push_str("        authResponseHeaders:\n");
    for h in IDENTITY_HEADERS {
        middleware.push_str(&format!("          - {h}\n"));
    }
    traefik_dynamic(plan, &Proxy::Traefik.gate_setting_comment(), &middleware, upstream)
}

/// The file-provider configuration of [`traefik`] with `comment` after the first line and `middleware` (the YAML
/// of the `pocketgate` middleware, indented under `middlewares:`) as the gate.
pub(in crate::setup) fn traefik_dynamic(plan: &Plan, comment: &str, middleware: &str, upstream: &str) -> String {
    let mut s = String::from("# Traefik dynamic configuration (file provider). TLS: on the websecure entry point.\n");
    s.push_str(comment);
    s.push_str(&routing_comment());
    s.push_str("http:\n  routers:\n");
    for (name, rule, mws, service, priority) in traefik_routers(plan) {
        let mws: Vec<String> = mws.iter().map(|m| format!("\"{m}\"")).collect();
        s.push_str(&format!(
            "    {name}:\n      rule: {}\n      entryPoints: [\"websecure\"]\n      middlewares: [{}]\n      \
             service: {service}\n      priority: {priority}\n",
            yaml_string(&rule),
            mws.join(", ")
        ));
    }
    s.push_str("  middlewares:\n");
    s.push_str("    # Client headers that could pass for identity, or for the original request.\n");
    s.push_str("    pocketgate-strip:\n      headers:\n        customRequestHeaders:\n");
    for h in traefik_stripped() {
        s.push_str(&format!("          {h}: \"\"\n"));
    }
    s.push_str(middleware);
    s.push_str("  services:\n");
    for (name, url) in [
        ("netbird-server", upstream.to_owned()),
        ("netbird-server-h2c", grpc_origin(upstream, "h2c")),
        ("netbird-dashboard", dashboard_origin(plan, upstream).to_owned()),
    ] {
        s.push_str(&format!(
            "    {name}:\n      loadBalancer:\n        servers:\n          - url: {}\n",
            yaml_string(&url)
        ));
    }
    s
}

/// The same as [`traefik`] as Docker labels (Traefik's Docker provider), in a docker compose fragment: the
/// routers, middlewares and services on the QuFabric server's container (`netbird-server`; ports from
/// `upstream`, default 80; the h2c service with `scheme=h2c`, as getting-started.sh), and the dashboard's router
/// on the dashboard's container.
pub fn traefik_labels(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let fa = "traefik.http.middlewares.pocketgate.forwardauth";
    let middleware = vec![
        format!("{fa}.address={gate_url}{AUTH_PATH}"),
        format!("{fa}.trustForwardHeader=false"),
        format!("{fa}.authRequestHeaders={}", AUTH_REQUEST_HEADERS.join(",")),
        format!("{fa}.authResponseHeaders={}", IDENTITY_HEADERS.join(",")),
    ];
    traefik_docker_labels(plan, &Proxy::Traefik.gate_setting_comment(), middleware, upstream)
}

/// The Docker labels of [`traefik_labels`] with `comment` after the first line and `middleware` (the labels of
/// the `pocketgate` middleware) as the gate.
pub(in crate::setup) fn traefik_docker_labels(
    plan: &Plan,
    comment: &str,
    middleware: Vec<String>,
    upstream: &str,
) -> String {
    let router_labels = |name: &str, rule: &str, mws: &[&str], service: &str, priority: u32| {
        let r = format!("traefik.http.routers.{name}");
        vec![
            format!("{r}.rule={rule}"),
            format!("{r}.entrypoints=websecure"),
            format!("{r}.middlewares={}", mws.join(",")),
            format!("{r}.service={service}"),
            format!("{r}.priority={priority}"),
        ]
    };
    let mut server = vec!["traefik.enable=true".to_owned()];
    let mut dashboard = vec!["traefik.enable=true".to_owned()];
    for (name, rule, mws, service, priority) in traefik_routers(plan) {
        let labels = router_labels(name, &rule, mws, service, priority);
        if service == "netbird-dashboard" { dashboard.extend(labels) } else { server.extend(labels) }
    }
    for h in traefik_stripped() {
        server.push(format!("traefik.http.middlewares.pocketgate-strip.headers.customrequestheaders.{h}="));
    }
    server.extend(middleware);
    let port = upstream_port(upstream);
    server.push(format!("traefik.http.services.netbird-server.loadbalancer.server.port={port}"));
    server.push(format!("traefik.http.services.netbird-server-h2c.loadbalancer.server.port={port}"));
    let h2c_scheme = if upstream.starts_with("https://") { "https" } else { "h2c" };
    server.push(format!("traefik.http.services.netbird-server-h2c.loadbalancer.server.scheme={h2c_scheme}"));
    let dash_port = upstream_port(dashboard_origin(plan, upstream));
    dashboard.push(format!("traefik.http.services.netbird-dashboard.loadbalancer.server.port={dash_port}"));
    let mut s = String::from(
        "# docker compose: Traefik labels (Docker provider) on the QuFabric server and dashboard services.\n",
    );
    s.push_str(comment);
    s.push_str(&routing_comment());
    s.push_str("services:\n");
    for (container, labels) in [("netbird-server", server), ("dashboard", dashboard)] {
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
    use super::*;

    /// A generated location / matcher / router body, from `start` to the next line equal to `end`.
    fn block<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let at = text.find(start).unwrap_or_else(|| panic!("{start} missing:\n{text}"));
        let len = text[at..].find(end).unwrap_or_else(|| panic!("{start}: no end {end:?}"));
        &text[at..at + len]
    }

    #[test]
    fn traefik_never_trusts_client_forwarding_headers() {
        let p = plan(&standalone());
        let t = traefik(&p, "https://pocketgate.example.workers.dev", "http://127.0.0.1:8080");
        assert!(t.contains("        address: \"https://pocketgate.example.workers.dev/_gate/auth\"\n"));
        assert!(t.contains("        trustForwardHeader: false\n"));
        assert!(t.contains("        authRequestHeaders: [\"Authorization\"]\n"));
        assert!(t.contains("      rule: \"Host(`qufabric.example.com`)\"\n"));
        assert!(t.contains("      middlewares: [\"pocketgate-strip\", \"pocketgate\"]\n"));
        for h in ["X-Original-Method", "X-Original-URI", "X-Auth-Request-User", "X-Forwarded-User"] {
            assert!(t.contains(&format!("          {h}: \"\"\n")), "{h} not stripped:\n{t}");
        }
        assert!(t.contains("          - url: \"http://127.0.0.1:8080\"\n"));
        assert!(t.contains("FORWARDED_HEADERS = \"traefik\""));
        assert!(!t.contains('\t'), "YAML forbids tabs");
        let l = traefik_labels(&p, "https://pocketgate.example.workers.dev", "http://127.0.0.1:8080");
        assert!(l.contains("  - \"traefik.http.middlewares.pocketgate.forwardauth.trustForwardHeader=false\"\n"));
        assert!(
            l.contains("  - \"traefik.http.middlewares.pocketgate.forwardauth.authRequestHeaders=Authorization\"\n")
        );
        assert!(l.contains("customrequestheaders.X-Original-URI=\"\n"));
        assert!(l.contains("  - \"traefik.http.services.netbird-server.loadbalancer.server.port=8080\"\n"));
    }

    #[test]
    fn traefik_splits_routers_like_getting_started_with_the_gate_on_api_and_dashboard() {
        let p = plan(&standalone());
        let t = traefik(&p, "https://pocketgate.example.workers.dev", "http://127.0.0.1:8080");
        let grpc = block(&t, "    netbird-grpc:\n", "      priority: 100\n");
        assert!(grpc.contains("PathPrefix(`/management.ProxyService/`)"), "{grpc}");
        assert!(
            grpc.contains("middlewares: [\"pocketgate-strip\"]\n") && grpc.contains("service: netbird-server-h2c\n")
        );
        let backend = block(&t, "    netbird-backend:\n", "      priority: 100\n");
        assert!(
            backend.contains(
                "Path(`/relay`) || PathPrefix(`/relay/`) || PathPrefix(`/ws-proxy/`) || PathPrefix(`/oauth2/`)"
            )
        );
        assert!(backend.contains("middlewares: [\"pocketgate-strip\"]\n"));
        let api = block(&t, "    netbird-api:\n", "      priority: 100\n");
        assert!(api.contains("(Path(`/api`) || PathPrefix(`/api/`))") && api.contains("\"pocketgate\"]"), "{api}");
        let dash = block(&t, "    netbird-dashboard:\n", "      priority: 1\n");
        assert!(dash.contains("\"pocketgate\"]") && dash.contains("service: netbird-dashboard\n"), "{dash}");
        assert!(t.contains("    netbird-server-h2c:\n      loadBalancer:\n        servers:\n          - url: \"h2c://127.0.0.1:8080\"\n"));
        assert!(t.contains("          - url: \"http://127.0.0.1:8081\"\n"));
        let l = traefik_labels(&p, "https://pocketgate.example.workers.dev", "http://127.0.0.1:8080");
        assert!(l.contains("      - \"traefik.http.services.netbird-server-h2c.loadbalancer.server.scheme=h2c\"\n"));
        assert!(l.contains("      - \"traefik.http.routers.netbird-api.middlewares=pocketgate-strip,pocketgate\"\n"));
        assert!(l.contains("      - \"traefik.http.routers.netbird-grpc.middlewares=pocketgate-strip\"\n"));
        let dash_labels = &l[l.find("  dashboard:\n").unwrap()..];
        assert!(dash_labels.contains("traefik.http.routers.netbird-dashboard.rule=Host(`qufabric.example.com`)"));
        assert!(dash_labels.contains("traefik.http.services.netbird-dashboard.loadbalancer.server.port=8081"));
    }
}
