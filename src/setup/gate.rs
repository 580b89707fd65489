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

use super::render::{conf_string, toml_table};
use super::{Artifact, GateMode, Groups, Mode, Plan, Section};

/// The forward-auth endpoint of the gate.
pub const AUTH_PATH: &str = "/_gate/auth";
/// Identity headers the gate returns on allow (and that must never come from the client).
pub const IDENTITY_HEADERS: [&str; 4] =
    ["X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X-Auth-Request-Groups"];
/// Audiences of the embedded IdP's tokens.
pub const EMBEDDED_AUDIENCES: &str = "netbird-dashboard,netbird-cli";
/// Default `GROUPS_CLAIM`.
pub const GROUPS_CLAIM: &str = "groups";
/// Default `LEEWAY_SECONDS`.
pub const LEEWAY_SECONDS: &str = "60";
/// Client headers that downstream software may read as identity and that the gate never sets: removed by every
/// snippet before the request reaches QuFabric.
pub const FOREIGN_IDENTITY_HEADERS: [&str; 4] =
    ["X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username"];
/// nginx's family (`FORWARDED_HEADERS = "nginx"`): method, URI.
pub const ORIGINAL_HEADERS: [&str; 2] = ["X-Original-Method", "X-Original-URI"];
/// Caddy's and Traefik's family (`FORWARDED_HEADERS = "caddy"` / `"traefik"`): method, URI.
pub const FORWARDED_HEADERS: [&str; 2] = ["X-Forwarded-Method", "X-Forwarded-Uri"];
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

/// The `[vars]` in order: `ISSUER`, `AUDIENCE`, `ALLOW_GROUPS`, `GROUPS_CLAIM`, `LEEWAY_SECONDS`, and `UPSTREAM`
/// in proxy mode. `JWKS_URI` is left to discovery.
pub fn vars(plan: &Plan) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("ISSUER", issuer(plan)),
        ("AUDIENCE", audience(plan)),
        ("ALLOW_GROUPS", allow_groups(plan)),
        ("GROUPS_CLAIM", GROUPS_CLAIM.to_owned()),
        ("LEEWAY_SECONDS", LEEWAY_SECONDS.to_owned()),
    ];
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

fn gate_host(gate_url: &str) -> &str {
    gate_url.split_once("://").map_or(gate_url, |(_, h)| h)
}

/// A Caddyfile site block: strip client-sent identity headers and the `X-Original-*` family (forward_auth sets
/// `X-Forwarded-Method`/`-Uri` itself), ask the gate, copy its identity headers.
pub fn caddy(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let mut s = Proxy::Caddy.gate_setting_comment();
    s.push_str(&format!("{} {{\n\troute {{\n", plan.domain));
    s.push_str("\t\t# Never trust identity headers sent by the client.\n");
    for h in IDENTITY_HEADERS.iter().chain(&FOREIGN_IDENTITY_HEADERS) {
        s.push_str(&format!("\t\trequest_header -{h}\n"));
    }
    s.push_str("\t\t# forward_auth sets X-Forwarded-Method/-Uri; clear the other family.\n");
    for h in ORIGINAL_HEADERS {
        s.push_str(&format!("\t\trequest_header -{h}\n"));
    }
    s.push_str(&format!("\t\tforward_auth {gate_url} {{\n\t\t\turi {AUTH_PATH}\n"));
    if gate_url.starts_with("https://") {
        s.push_str("\t\t\theader_up Host {upstream_hostport}\n");
    }
    s.push_str(&format!("\t\t\tcopy_headers {}\n\t\t}}\n", IDENTITY_HEADERS.join(" ")));
    s.push_str(&format!("\t\treverse_proxy {upstream}\n\t}}\n}}\n"));
    s
}

fn nginx_var(header: &str) -> String {
    header.to_ascii_lowercase().replace('-', "_")
}

/// An nginx `server` block using `auth_request`. `auth_request` passes every client header to the auth call, so
/// the block sets the `X-Original-*` family and empties `X-Forwarded-Method`/`-Uri` (nginx drops empty headers).
pub fn nginx(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let mut s = Proxy::Nginx.gate_setting_comment();
    s.push_str(&format!(
        "server {{\n    listen 443 ssl;\n    server_name {};\n    # ssl_certificate …; ssl_certificate_key …;\n\n",
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
    s.push_str(&format!("    location / {{\n        auth_request {AUTH_PATH};\n"));
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
    s.push_str(&format!("        proxy_set_header Host $host;\n        proxy_pass {upstream};\n    }}\n}}\n"));
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

/// Traefik file-provider dynamic configuration (YAML): a router on `websecure` with a header-stripping middleware,
/// then `forwardAuth` with `trustForwardHeader: false` and `authRequestHeaders` limited to the credential.
pub fn traefik(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let mut s = String::from("# Traefik dynamic configuration (file provider). TLS: on the websecure entry point.\n");
    s.push_str(&Proxy::Traefik.gate_setting_comment());
    s.push_str("http:\n  routers:\n    qufabric:\n");
    s.push_str(&format!("      rule: {}\n", yaml_string(&format!("Host(`{}`)", host_only(&plan.domain)))));
    s.push_str("      entryPoints: [\"websecure\"]\n      middlewares: [\"pocketgate-strip\", \"pocketgate\"]\n");
    s.push_str("      service: qufabric\n  middlewares:\n");
    s.push_str("    # Client headers that could pass for identity, or for the original request.\n");
    s.push_str("    pocketgate-strip:\n      headers:\n        customRequestHeaders:\n");
    for h in traefik_stripped() {
        s.push_str(&format!("          {h}: \"\"\n"));
    }
    s.push_str("    pocketgate:\n      forwardAuth:\n");
    s.push_str(&format!("        address: {}\n", yaml_string(&format!("{gate_url}{AUTH_PATH}"))));
    s.push_str("        # Never true: Traefik would then hand the gate the client's X-Forwarded-Method/-Uri.\n");
    s.push_str("        trustForwardHeader: false\n");
    s.push_str("        # Only the credential goes to the gate; Traefik adds X-Forwarded-Method/-Uri itself.\n");
    let quoted: Vec<String> = AUTH_REQUEST_HEADERS.iter().map(|h| format!("\"{h}\"")).collect();
    s.push_str(&format!("        authRequestHeaders: [{}]\n", quoted.join(", ")));
    s.push_str("        authResponseHeaders:\n");
    for h in IDENTITY_HEADERS {
        s.push_str(&format!("          - {h}\n"));
    }
    s.push_str("  services:\n    qufabric:\n      loadBalancer:\n        servers:\n");
    s.push_str(&format!("          - url: {}\n", yaml_string(upstream)));
    s
}

/// The same as [`traefik`] as Docker labels (Traefik's Docker provider) for the QuFabric management container;
/// the upstream is the container itself (`loadbalancer.server.port` from `upstream`, default 80).
pub fn traefik_labels(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let port = upstream_port(upstream);
    let mut labels = vec![
        "traefik.enable=true".to_owned(),
        format!("traefik.http.routers.qufabric.rule=Host(`{}`)", host_only(&plan.domain)),
        "traefik.http.routers.qufabric.entrypoints=websecure".to_owned(),
        "traefik.http.routers.qufabric.middlewares=pocketgate-strip,pocketgate".to_owned(),
        "traefik.http.routers.qufabric.service=qufabric".to_owned(),
    ];
    for h in traefik_stripped() {
        labels.push(format!("traefik.http.middlewares.pocketgate-strip.headers.customrequestheaders.{h}="));
    }
    let fa = "traefik.http.middlewares.pocketgate.forwardauth";
    labels.push(format!("{fa}.address={gate_url}{AUTH_PATH}"));
    labels.push(format!("{fa}.trustForwardHeader=false"));
    labels.push(format!("{fa}.authRequestHeaders={}", AUTH_REQUEST_HEADERS.join(",")));
    labels.push(format!("{fa}.authResponseHeaders={}", IDENTITY_HEADERS.join(",")));
    labels.push(format!("traefik.http.services.qufabric.loadbalancer.server.port={port}"));
    let mut s =
        String::from("# docker compose: labels of the QuFabric management service (Traefik's Docker provider).\n");
    s.push_str(&Proxy::Traefik.gate_setting_comment());
    s.push_str("labels:\n");
    for l in labels {
        s.push_str(&format!("  - {}\n", yaml_string(&l)));
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
        (GateMode::ForwardAuth, Some(gate_url), Some(upstream)) => {
            notes.push(format!(
                "Forward-auth: your proxy asks {gate_url}{AUTH_PATH} before each request and copies the identity \
                 headers {} to QuFabric.",
                IDENTITY_HEADERS.join(", ")
            ));
            notes.push(
                "Each snippet sets one family of forwarding headers for the gate and clears the other: set the \
                 gate's FORWARDED_HEADERS to your proxy (\"nginx\", \"caddy\" or \"traefik\"; see wrangler.toml \
                 [vars]). Traefik: never set trustForwardHeader: true on this middleware."
                    .to_owned(),
            );
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
        _ => notes.push(format!(
            "Proxy mode: route {}/* to the Worker; it forwards allowed traffic to UPSTREAM.",
            plan.domain
        )),
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
        assert!(l.contains("  - \"traefik.http.services.qufabric.loadbalancer.server.port=8080\"\n"));
    }

    #[test]
    fn traefik_helpers() {
        assert_eq!(host_only("qufabric.example.com:8443"), "qufabric.example.com");
        assert_eq!(host_only("qufabric.example.com"), "qufabric.example.com");
        assert_eq!(upstream_port("http://mgmt:8080"), 8080);
        assert_eq!(upstream_port("https://mgmt.internal.example.com"), 443);
        assert_eq!(upstream_port("http://10.0.0.5"), 80);
        assert_eq!(Proxy::Nginx.forwarded_headers(), "nginx");
    }

    #[test]
    fn section_artifacts_per_gate_mode() {
        let ids = |p: &Plan| section(p).artifacts.iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(&plan(&embedded())), ["gate_wrangler_vars", "gate_secrets"]);
        assert_eq!(
            ids(&plan(&standalone())),
            ["gate_wrangler_vars", "gate_secrets", "gate_caddy", "gate_nginx", "gate_traefik", "gate_traefik_labels"]
        );
        assert!(wrangler_vars(&plan(&standalone())).contains("# FORWARDED_HEADERS = \"traefik\"\n"));
        assert!(!wrangler_vars(&plan(&embedded())).contains("FORWARDED_HEADERS"));
    }
}
