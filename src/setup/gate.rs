//! The gate: `wrangler.toml` `[vars]`, and Caddy / nginx forward-auth snippets.
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

/// The `wrangler.toml` block.
pub fn wrangler_vars(plan: &Plan) -> String {
    let mut s = String::from("# PocketGate configuration (paste into wrangler.toml).\n");
    s.push_str(&toml_table("vars", &vars(plan)));
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

/// A Caddyfile site block: strip client-sent identity headers, ask the gate, copy its identity headers.
pub fn caddy(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let mut s = format!("{} {{\n\troute {{\n", plan.domain);
    s.push_str("\t\t# Never trust identity headers sent by the client.\n");
    for h in IDENTITY_HEADERS {
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

/// An nginx `server` block using `auth_request`.
pub fn nginx(plan: &Plan, gate_url: &str, upstream: &str) -> String {
    let mut s = format!(
        "server {{\n    listen 443 ssl;\n    server_name {};\n    # ssl_certificate …; ssl_certificate_key …;\n\n",
        plan.domain
    );
    s.push_str(&format!(
        "    location = {AUTH_PATH} {{\n        internal;\n        proxy_pass {gate_url}{AUTH_PATH};\n"
    ));
    if gate_url.starts_with("https://") {
        s.push_str("        proxy_ssl_server_name on;\n");
    }
    s.push_str(&format!(
        "        proxy_set_header Host {};\n        proxy_pass_request_body off;\n        proxy_set_header \
         Content-Length \"\";\n        proxy_set_header X-Forwarded-Method $request_method;\n        \
         proxy_set_header X-Forwarded-Uri $request_uri;\n        proxy_set_header X-Original-Method \
         $request_method;\n        proxy_set_header X-Original-URI $request_uri;\n    }}\n\n",
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
    s.push_str(&format!("        proxy_set_header Host $host;\n        proxy_pass {upstream};\n    }}\n}}\n"));
    s
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
    }

    #[test]
    fn section_artifacts_per_gate_mode() {
        let ids = |p: &Plan| section(p).artifacts.iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(&plan(&embedded())), ["gate_wrangler_vars", "gate_secrets"]);
        assert_eq!(ids(&plan(&standalone())), ["gate_wrangler_vars", "gate_secrets", "gate_caddy", "gate_nginx"]);
    }
}
