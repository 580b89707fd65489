//! The gate: `wrangler.toml` `[vars]`, and nginx / Caddy / Traefik forward-auth snippets.
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

use super::render::{conf_string, toml_string, toml_table};
use super::{Artifact, GateHost, GateMode, Groups, LocalUsers, Mode, Plan, Section};
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
/// embedded mode (explicit, even at the default), and `UPSTREAM` in proxy mode. `JWKS_URI` is left to discovery.
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
    if let (GateMode::Proxy, Some(up)) = (plan.gate_mode, &plan.upstream) {
        v.push(("UPSTREAM", up.clone()));
    }
    v
}

/// The `wrangler.toml` block; in forward-auth mode it ends with the `FORWARDED_HEADERS` choice (commented out:
/// the page does not know which proxy you run).
pub fn wrangler_vars(plan: &Plan) -> String {
    let mut s = String::from("# PocketGate configuration (paste into wrangler.toml).\n");
    s.push_str(&toml_table("vars", &vars(plan)));
    if plan.gate_mode == GateMode::ForwardAuth {
        s.push_str(
            "# The header family your proxy sets (see its snippet): uncomment the line for your proxy.\n\
             # FORWARDED_HEADERS = \"nginx\"\n\
             # FORWARDED_HEADERS = \"caddy\"\n\
             # FORWARDED_HEADERS = \"traefik\"\n",
        );
    }
    s
}

/// Proxy mode: `wrangler.toml` `routes` that send only the gated paths (`/api`, `/api/*`) through the Worker. A
/// Worker's `fetch()` cannot carry gRPC (HTTP/1.1 to the origin, no response trailers, no bidirectional streams;
/// tests/e2e/qufabric-worker.test.mjs records what workerd does), so gRPC, `/relay`, `/ws-proxy/`, `/oauth2/` and
/// the dashboard must reach the origin directly on the same hostname, as Cloudflare routes only the patterns listed.
pub fn wrangler_routes(plan: &Plan) -> String {
    let host = host_only(&plan.domain);
    let zone = host.rsplitn(3, '.').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(".");
    let mut s = String::from(
        "# Proxy mode: route only the gated paths to the Worker (paste into wrangler.toml, replacing any route on\n\
         # this hostname). gRPC, /relay, /ws-proxy/, /oauth2/ and the dashboard go straight to your origin: a\n\
         # Worker cannot carry gRPC. zone_name: the Cloudflare zone of the hostname (check it).\n",
    );
    s.push_str("routes = [\n");
    for pattern in [format!("{host}{API_PATH}"), format!("{host}{API_PATH}/*")] {
        s.push_str(&format!("  {{ pattern = {}, zone_name = {} }},\n", toml_string(&pattern), toml_string(&zone)));
    }
    s.push_str("]\n");
    s
}

/// Notes on secrets: the gate has none.
pub fn secrets() -> String {
    "# The gate needs no secret: it verifies tokens with the issuer's public keys (JWKS).\n\
     # To keep the values out of wrangler.toml anyway, delete them from [vars] and store each as a secret:\n\
     #   npx wrangler secret put ISSUER\n\
     #   npx wrangler secret put AUDIENCE\n\
     #   npx wrangler secret put ALLOW_GROUPS\n\
     # Never store the PocketID client secret or an API key in the gate: it does not need them.\n"
        .to_owned()
}

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

fn gate_host(gate_url: &str) -> &str {
    gate_url.split_once("://").map_or(gate_url, |(_, h)| h)
}

/// `http(s)://host[:port]` → `host:port`, the port made explicit (80 / 443).
fn host_port(origin: &str) -> String {
    let hostport = gate_host(origin).split('/').next().unwrap_or_default();
    match hostport.rsplit_once(':') {
        Some((_, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => hostport.to_owned(),
        _ => format!("{hostport}:{}", upstream_port(origin)),
    }
}

/// Where gRPC goes: `h2c://host:port` (HTTP/2 without TLS) for an `http://` origin, the origin itself for
/// `https://` (HTTP/2 by ALPN). nginx spells the same `grpc://` / `grpcs://`.
fn grpc_origin(upstream: &str, cleartext_scheme: &str) -> String {
    if upstream.starts_with("https://") {
        let tls = if cleartext_scheme == "grpc" { "grpcs" } else { "https" };
        format!("{tls}://{}", host_port(upstream))
    } else {
        format!("{cleartext_scheme}://{}", host_port(upstream))
    }
}

/// The dashboard's origin: its own when given, else QuFabric's.
fn dashboard_origin<'a>(plan: &'a Plan, upstream: &'a str) -> &'a str {
    plan.dashboard_upstream.as_deref().unwrap_or(upstream)
}

/// The comment at the top of every proxy snippet: which paths go where.
fn routing_comment() -> String {
    let [signal, management, proxy] = GRPC_SERVICES;
    let [relay, ws] = WEBSOCKET_PATHS;
    format!(
        "# Routing as NetBird's getting-started.sh: gRPC ({signal}, {management},\n\
         # {proxy}) over HTTP/2, {relay} and {ws} over HTTP/1.1 with Upgrade, and {IDP_PATH} go straight to\n\
         # QuFabric (their own auth; the gate bypasses them anyway). {API_PATH} and the dashboard ask the gate first.\n"
    )
}

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

/// Headers the Traefik snippets empty before the auth call (a `headers` middleware: an empty value removes the
/// header): client identity headers and the `X-Original-*` family.
fn traefik_stripped() -> impl Iterator<Item = &'static str> {
    IDENTITY_HEADERS.into_iter().chain(FOREIGN_IDENTITY_HEADERS).chain(ORIGINAL_HEADERS)
}

/// A YAML double-quoted scalar (JSON string syntax is a subset of it).
fn yaml_string(value: &str) -> String {
    super::render::json_compact(&value)
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
pub(super) fn traefik_dynamic(plan: &Plan, comment: &str, middleware: &str, upstream: &str) -> String {
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
pub(super) fn traefik_docker_labels(plan: &Plan, comment: &str, middleware: Vec<String>, upstream: &str) -> String {
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

/// `qufabric.example.com:8443` → `qufabric.example.com` (Traefik's `Host` matcher ignores the port).
fn host_only(domain: &str) -> &str {
    match domain.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => domain,
    }
}

/// The port of an `http(s)://host[:port]` origin (default 80 / 443).
fn upstream_port(upstream: &str) -> u16 {
    let https = upstream.starts_with("https://");
    let hostport = gate_host(upstream).split('/').next().unwrap_or_default();
    match hostport.rsplit_once(':') {
        Some((_, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().unwrap_or(80),
        _ if https => 443,
        _ => 80,
    }
}

/// The gate section.
pub fn section(plan: &Plan) -> Section {
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
            LocalUsers::Groups => {
                "LOCAL_USERS = \"groups\": the embedded IdP's local users (the owner account created at \
                 QuFabric's setup, and users added with a password in the dashboard) carry no groups, so the gate \
                 refuses them on /api: behind the gate the owner cannot use the dashboard. Choose \"allow\" to let \
                 them in as QuFabric itself does, or sign in through PocketID with an allowed group."
                    .to_owned()
            }
            LocalUsers::Allow => {
                "LOCAL_USERS = \"allow\": the embedded IdP's local users (the owner created at setup, \
                 password users added in the dashboard) pass without groups, as QuFabric itself skips its JWT \
                 allow-groups for them; PocketID users still need an allowed group."
                    .to_owned()
            }
        });
    }
    let mut artifacts = vec![
        Artifact {
            id: "gate_wrangler_vars",
            title: "wrangler.toml [vars]".into(),
            filename: "wrangler.vars.toml".into(),
            content: wrangler_vars(plan),
        },
        Artifact {
            id: "gate_secrets",
            title: "Secrets (wrangler secret put)".into(),
            filename: "wrangler-secrets.sh".into(),
            content: secrets(),
        },
    ];
    match (plan.gate_mode, &plan.gate_url, &plan.upstream) {
        (GateMode::ForwardAuth, _, Some(upstream)) if plan.gate_host == GateHost::Traefik => {
            // No Worker: its [vars] and secrets do not apply.
            notes.extend(super::traefik_plugin::notes(plan));
            artifacts = super::traefik_plugin::artifacts(plan, upstream);
        }
        (GateMode::ForwardAuth, Some(gate_url), Some(upstream)) => {
            notes.push(format!(
                "Forward-auth: your proxy asks {gate_url}{AUTH_PATH} before each request to {API_PATH} and the \
                 dashboard and copies the identity headers {} to QuFabric. gRPC ({}), {} and {IDP_PATH} go \
                 straight to QuFabric without asking the gate: they carry their own authentication (peers' \
                 WireGuard keys, the embedded IdP), and peers keep working while the gate is unreachable.",
                IDENTITY_HEADERS.join(", "),
                GRPC_SERVICES.join(", "),
                WEBSOCKET_PATHS.join(", ")
            ));
            notes.push(
                "Each snippet sets one family of forwarding headers for the gate and clears the other: set the \
                 gate's FORWARDED_HEADERS to your proxy (\"nginx\", \"caddy\" or \"traefik\"; see wrangler.toml \
                 [vars]). Traefik: never set trustForwardHeader: true on this middleware."
                    .to_owned(),
            );
            if plan.gate_host == GateHost::Workerd {
                notes.push(super::workerd::note(gate_url));
                artifacts.extend(super::workerd::artifacts(plan, gate_url));
            }
            artifacts.push(Artifact {
                id: "gate_caddy",
                title: "Caddyfile (forward_auth)".into(),
                filename: "Caddyfile".into(),
                content: caddy(plan, gate_url, upstream),
            });
            artifacts.push(Artifact {
                id: "gate_nginx",
                title: "nginx (auth_request)".into(),
                filename: "pocketgate-nginx.conf".into(),
                content: nginx(plan, gate_url, upstream),
            });
            artifacts.push(Artifact {
                id: "gate_traefik",
                title: "Traefik (forwardAuth, file provider)".into(),
                filename: "pocketgate-traefik.yml".into(),
                content: traefik(plan, gate_url, upstream),
            });
            artifacts.push(Artifact {
                id: "gate_traefik_labels",
                title: "Traefik (forwardAuth, Docker labels)".into(),
                filename: "pocketgate-traefik-labels.yml".into(),
                content: traefik_labels(plan, gate_url, upstream),
            });
        }
        _ => {
            notes.push(format!(
                "Proxy mode: route only {host}{API_PATH} and {host}{API_PATH}/* to the Worker (wrangler.toml routes \
                 below); it forwards allowed requests to UPSTREAM. Everything else (gRPC {}, {}, {IDP_PATH} and the \
                 dashboard) must reach QuFabric directly: a Worker's fetch() cannot carry gRPC (no trailers, no \
                 bidirectional streams), so a route on {host}/* would cut every peer off. Enable gRPC in the \
                 zone's Network settings for the proxied hostname.",
                GRPC_SERVICES.join(", "),
                WEBSOCKET_PATHS.join(", "),
                host = host_only(&plan.domain)
            ));
            artifacts.push(Artifact {
                id: "gate_wrangler_routes",
                title: "wrangler.toml routes (proxy mode: /api only)".into(),
                filename: "wrangler.routes.toml".into(),
                content: wrangler_routes(plan),
            });
        }
    }
    Section { id: "gate", title: "3. PocketGate".into(), notes, artifacts }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::setup::SetupInput;

    fn get<'a>(v: &'a [(&str, String)], k: &str) -> Option<&'a str> {
        v.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str())
    }

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
    fn wrangler_vars_is_a_toml_table_of_strings() {
        let t = wrangler_vars(&plan(&embedded()));
        assert!(t.contains("[vars]\nISSUER = \"https://qufabric.example.com/oauth2\"\n"));
        assert!(t.contains("LEEWAY_SECONDS = \"60\"\n"));
        assert!(secrets().contains("wrangler secret put"));
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

    /// A generated location / matcher / router body, from `start` to the next line equal to `end`.
    fn block<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let at = text.find(start).unwrap_or_else(|| panic!("{start} missing:\n{text}"));
        let len = text[at..].find(end).unwrap_or_else(|| panic!("{start}: no end {end:?}"));
        &text[at..at + len]
    }

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

    #[test]
    fn proxy_mode_routes_only_the_api_to_the_worker() {
        let r = wrangler_routes(&plan(&embedded()));
        assert!(r.contains("  { pattern = \"qufabric.example.com/api\", zone_name = \"example.com\" },\n"), "{r}");
        assert!(r.contains("  { pattern = \"qufabric.example.com/api/*\", zone_name = \"example.com\" },\n"), "{r}");
        assert_eq!(r.matches("pattern =").count(), 2, "never the whole hostname: {r}");
        let port = wrangler_routes(&plan(&SetupInput { domain: "vpn.example.com:8443".into(), ..embedded() }));
        assert!(port.contains("\"vpn.example.com/api/*\""), "{port}");
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
        assert_eq!(Proxy::Nginx.forwarded_headers(), "nginx");
    }

    #[test]
    fn section_artifacts_per_gate_mode() {
        let ids = |p: &Plan| section(p).artifacts.iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(&plan(&embedded())), ["gate_wrangler_vars", "gate_secrets", "gate_wrangler_routes"]);
        assert_eq!(
            ids(&plan(&standalone())),
            ["gate_wrangler_vars", "gate_secrets", "gate_caddy", "gate_nginx", "gate_traefik", "gate_traefik_labels"]
        );
        assert!(wrangler_vars(&plan(&standalone())).contains("# FORWARDED_HEADERS = \"traefik\"\n"));
        assert!(!wrangler_vars(&plan(&embedded())).contains("FORWARDED_HEADERS"));
    }
}
