//! The setup page's generators and validators: pure Rust, no I/O, compiled on every target and tested natively.
//!
//! The page (`crate::web`, wasm32 only) sends the form as a [`SetupInput`]; [`validate::validate`] answers with
//! [`Finding`]s (each says how to fix it), and [`generate`] turns a valid input into ready-to-paste files for
//! PocketID ([`pocketid`]), QuFabric ([`qufabric`]: embedded mode's identity provider and group sync; [`legacy`]:
//! standalone mode's legacy stack behind the proxy) and the gate ([`gate`], for the stack [`deployment`] reads from
//! the form; self-hosted on workerd: [`workerd`]; inside Traefik as its plugin: [`traefik_plugin`]), and
//! `pocketgate check`'s file ([`check`]).
//! Structured outputs (JSON, TOML, env files, shell words) are built with serde and quoting helpers
//! ([`render`]), never by pasting raw input into text.
//!
//! [`discovery`] judges a fetched discovery document and key set ("Check issuer"); [`inspect`] decodes a token
//! and explains the gate's verdict.

use serde::{Deserialize, Serialize};

pub mod check;
pub mod deployment;
pub mod discovery;
pub mod gate;
pub mod inspect;
pub mod legacy;
pub mod pocketid;
pub mod qufabric;
pub mod render;
pub mod traefik_plugin;
pub mod validate;
pub mod workerd;

/// How QuFabric connects to PocketID (see `qufabric.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Management setup: QuFabric's embedded IdP with PocketID as an upstream connector. Default (recommended).
    #[default]
    Embedded,
    /// PocketID is QuFabric's primary IdP; dashboard and CLI send PocketID ID tokens.
    Standalone,
}

/// How the gate is deployed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateMode {
    /// The Worker proxies to `UPSTREAM`. Default.
    #[default]
    Proxy,
    /// nginx `auth_request` / Caddy `forward_auth` / Traefik `forwardAuth` ask the gate at `/_gate/auth`.
    ForwardAuth,
}

/// Forward-auth mode: where the gate runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateHost {
    /// A Cloudflare Worker (`cargo xtask deploy`). Default.
    #[default]
    Cloudflare,
    /// The same bundle on workerd next to the proxy ([`workerd`]: configuration, docker compose, systemd).
    Workerd,
    /// Inside Traefik, as its WebAssembly plugin ([`crate::traefik`]): no gate URL, the issuer's key set in a
    /// mounted file.
    Traefik,
}

/// Embedded mode: whether the embedded IdP's local users (the owner created at setup, users added with a password
/// in the dashboard) pass the gate without groups: the gate's `LOCAL_USERS`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalUsers {
    /// They need an allowed group like everyone (they carry none: behind the gate the owner cannot reach the API).
    /// Default: the gate's own default, explicit.
    #[default]
    Groups,
    /// They pass the issuer's group rule, as QuFabric itself lets them in (deny lists and route rules still apply).
    Allow,
}

/// The gate's `DASHBOARD`: whether the generated proxy configurations ask the gate for the dashboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dashboard {
    /// The proxies send the dashboard (everything no other rule matches) straight to its container, without
    /// asking the gate: it keeps working while the gate is down. Default: the gate's own default.
    #[default]
    Bypass,
    /// The proxies ask the gate for the dashboard too (`DASHBOARD = "protect"`).
    Protect,
}

/// The gate's `PUBLIC_API`: NetBird's unauthenticated API paths (`management/server/http/handler.go:67-83`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicApi {
    /// The gate lets them through without a token, as QuFabric serves them. Default: the gate's own default.
    #[default]
    Bypass,
    /// They need a token like the rest of `/api` (`PUBLIC_API = "gate"`): first-run setup, invitations and the
    /// NetBird Proxy callback then need a signed-in user.
    Gate,
}

/// How the operator's Traefik reads its static configuration: Traefik takes command-line flags or a file, never
/// both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraefikStatic {
    /// Command-line flags, as NetBird's getting-started.sh runs it (`command:` of the `traefik` service). Default.
    #[default]
    Flags,
    /// A `traefik.yml`.
    File,
}

/// The form, as typed. Every field defaults to empty (choices to their defaults, `traefik_entrypoint` to
/// `websecure`, `traefik_certresolver` to `letsencrypt`); lists are comma-separated text, so that validation can
/// point at empty items and duplicates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SetupInput {
    /// QuFabric management domain, host only (e.g. `qufabric.example.com`).
    pub domain: String,
    /// PocketID issuer (e.g. `https://id.example.com`).
    pub issuer: String,
    /// Setup mode. Default [`Mode::Embedded`].
    pub mode: Mode,
    /// Display name of the OIDC client and identity provider (e.g. `QuFabric`).
    pub display_name: String,
    /// Embedded mode: the identity provider's name in QuFabric, shown on its login button. Empty = `PocketID`.
    pub idp_name: String,
    /// OIDC client id.
    pub client_id: String,
    /// OIDC client secret (embedded mode: the confidential client's secret). Never leaves the page.
    pub client_secret: String,
    /// Allowed groups, comma-separated group *names*; `*` alone = any PocketID user.
    pub groups: String,
    /// PKCE callback ports of the CLI, comma-separated (standalone mode; the page pre-fills `53000, 54000`).
    pub pkce_ports: String,
    /// Gate deployment. Default [`GateMode::Proxy`].
    pub gate_mode: GateMode,
    /// Proxy mode: the QuFabric origin the Worker forwards to. Forward-auth mode: where the reverse proxy sends
    /// allowed traffic. Required in both.
    pub upstream: String,
    /// Forward-auth mode: the gate's own URL (the Worker's origin, or the self-hosted gate's internal address).
    pub gate_url: String,
    /// Forward-auth mode: where the gate runs. Default [`GateHost::Cloudflare`].
    pub gate_host: GateHost,
    /// Forward-auth mode, required: the dashboard container's origin (NetBird always runs the dashboard as its own
    /// container; the catch-all route never goes to QuFabric's server).
    pub dashboard_upstream: String,
    /// Standalone forward-auth mode, required: the signal container's origin (gRPC `signalexchange` and
    /// `/ws-proxy/signal`).
    pub signal_upstream: String,
    /// Standalone forward-auth mode, required: the relay container's origin (`/relay`).
    pub relay_upstream: String,
    /// The gate's `DASHBOARD`. Default [`Dashboard::Bypass`].
    pub dashboard: Dashboard,
    /// The gate's `PUBLIC_API`. Default [`PublicApi::Bypass`].
    pub public_api: PublicApi,
    /// How the operator's Traefik takes its static configuration. Default [`TraefikStatic::Flags`].
    pub traefik_static: TraefikStatic,
    /// The Traefik entry point of the routers. Default (and when empty) `websecure`, as getting-started.sh.
    pub traefik_entrypoint: String,
    /// The routers' certificate resolver. Default `letsencrypt`, as getting-started.sh; empty = `tls=true`
    /// without a resolver (the entry point's or Traefik's default certificate).
    pub traefik_certresolver: String,
    /// Proxy mode, required: the Cloudflare zone the domain belongs to (e.g. `example.co.uk`).
    pub cloudflare_zone: String,
    /// Embedded mode: the gate's `LOCAL_USERS`. Default [`LocalUsers::Groups`].
    pub local_users: LocalUsers,
    /// The Traefik plugin: the issuer's key set (JWKS JSON) as the page fetched it; empty = not fetched.
    pub jwks: String,
}

impl Default for SetupInput {
    fn default() -> Self {
        SetupInput {
            domain: String::new(),
            issuer: String::new(),
            mode: Mode::default(),
            display_name: String::new(),
            idp_name: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            groups: String::new(),
            pkce_ports: String::new(),
            gate_mode: GateMode::default(),
            upstream: String::new(),
            gate_url: String::new(),
            gate_host: GateHost::default(),
            dashboard_upstream: String::new(),
            signal_upstream: String::new(),
            relay_upstream: String::new(),
            dashboard: Dashboard::default(),
            public_api: PublicApi::default(),
            traefik_static: TraefikStatic::default(),
            traefik_entrypoint: DEFAULT_ENTRYPOINT.to_owned(),
            traefik_certresolver: DEFAULT_CERTRESOLVER.to_owned(),
            cloudflare_zone: String::new(),
            local_users: LocalUsers::default(),
            jwks: String::new(),
        }
    }
}

/// The entry point of getting-started.sh's routers (`--entrypoints.websecure.address=:443`, gs.sh:850).
pub const DEFAULT_ENTRYPOINT: &str = "websecure";
/// getting-started.sh's certificate resolver (`--certificatesresolvers.letsencrypt.…`, gs.sh:860-862).
pub const DEFAULT_CERTRESOLVER: &str = "letsencrypt";

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Blocks generation: the output would not work.
    Error,
    /// Generation proceeds, but something is probably wrong or incomplete.
    Warning,
}

/// One validation message, tied to a form field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The [`SetupInput`] field it is about (e.g. `issuer`).
    pub field: &'static str,
    /// Error or warning.
    pub level: Level,
    /// Stable machine code (e.g. `issuer_trailing_slash`).
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The allow list after validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Groups {
    /// `*`: any PocketID user.
    Any,
    /// These group names, in the order typed.
    Names(Vec<String>),
}

/// A validated input: what the generators consume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Management domain (host, optional port), lowercase.
    pub domain: String,
    /// PocketID issuer, exact.
    pub issuer: String,
    /// Setup mode.
    pub mode: Mode,
    /// Display name.
    pub display_name: String,
    /// The identity provider's name in QuFabric (default `PocketID`).
    pub idp_name: String,
    /// Client id.
    pub client_id: String,
    /// Client secret, when given.
    pub client_secret: Option<String>,
    /// Allowed groups.
    pub groups: Groups,
    /// PKCE ports (standalone mode).
    pub pkce_ports: Vec<u16>,
    /// Gate deployment.
    pub gate_mode: GateMode,
    /// Upstream origin, when given.
    pub upstream: Option<String>,
    /// The gate's URL (forward-auth mode).
    pub gate_url: Option<String>,
    /// Where the gate runs (forward-auth mode).
    pub gate_host: GateHost,
    /// The dashboard container's origin (forward-auth mode).
    pub dashboard_upstream: Option<String>,
    /// The signal container's origin (standalone forward-auth mode).
    pub signal_upstream: Option<String>,
    /// The relay container's origin (standalone forward-auth mode).
    pub relay_upstream: Option<String>,
    /// The gate's `DASHBOARD`.
    pub dashboard: Dashboard,
    /// The gate's `PUBLIC_API`.
    pub public_api: PublicApi,
    /// The operator's Traefik.
    pub traefik: TraefikPlan,
    /// Proxy mode: the Cloudflare zone, lowercase.
    pub zone: Option<String>,
    /// Embedded mode: the gate's `LOCAL_USERS`.
    pub local_users: LocalUsers,
    /// The Traefik plugin: the issuer's key set (JWKS JSON), when the page fetched a usable one.
    pub jwks: Option<String>,
}

/// What the page knows about the operator's Traefik.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraefikPlan {
    /// Flags or a file.
    pub static_form: TraefikStatic,
    /// The routers' entry point.
    pub entrypoint: String,
    /// The routers' certificate resolver, when one is named.
    pub certresolver: Option<String>,
}

impl Plan {
    /// `https://<domain>`.
    pub fn domain_url(&self) -> String {
        format!("https://{}", self.domain)
    }
}

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Stable id (e.g. `pocketid_client`), used by the page and the tests.
    pub id: &'static str,
    /// Heading shown above it.
    pub title: String,
    /// Name for the download button.
    pub filename: String,
    /// The content.
    pub content: String,
}

/// A group of generated files with notes for the operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    /// Stable id: `pocketid`, `qufabric`, `gate`.
    pub id: &'static str,
    /// Heading.
    pub title: String,
    /// Short notes and warnings, in order.
    pub notes: Vec<String>,
    /// The files.
    pub artifacts: Vec<Artifact>,
}

/// What [`generate`] returns: all findings, and the sections when no finding is an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Output {
    /// Every finding, errors first in field order.
    pub findings: Vec<Finding>,
    /// The generated sections (empty when a finding is an error).
    pub sections: Vec<Section>,
}

/// Validate `input` and, when no finding is an error, generate every section for its mode.
///
/// The generated gate `[vars]` are also run through the gate's own parser ([`crate::config::GateConfig`]):
/// anything it would refuse becomes an error finding, so the page never hands out a configuration the gate
/// rejects at start-up.
pub fn generate(input: &SetupInput) -> Output {
    let (mut findings, plan) = validate::validate(input);
    let Some(plan) = plan else { return Output { findings, sections: Vec::new() } };
    if let Err(errors) = inspect::gate_config(&plan) {
        findings.extend(errors.iter().map(|e| gate_finding(e, &plan)));
        return Output { findings, sections: Vec::new() };
    }
    let sections =
        vec![pocketid::section(&plan), qufabric::section(&plan), check::added_to(gate::section(&plan), &plan)];
    Output { findings, sections }
}

/// A gate configuration error as a finding on the form field the variable comes from.
fn gate_finding(err: &crate::Error, plan: &Plan) -> Finding {
    let field = match err {
        crate::Error::Config { setting, .. } => match setting.as_str() {
            "ISSUER" if plan.mode == Mode::Embedded => "domain",
            "ISSUER" | "JWKS_URI" => "issuer",
            "AUDIENCE" => "client_id",
            "ALLOW_GROUPS" | "GROUPS_CLAIM" => "groups",
            "UPSTREAM" => "upstream",
            _ => "domain",
        },
        _ => "domain",
    };
    Finding {
        field,
        level: Level::Error,
        code: "gate_config_rejected",
        message: format!("The gate would refuse this: {err}"),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Canonical inputs and golden-file comparison shared by the generator tests.
    use super::*;

    /// The embedded-mode example used in the golden files.
    pub fn embedded() -> SetupInput {
        SetupInput {
            domain: "qufabric.example.com".into(),
            issuer: "https://id.example.com".into(),
            mode: Mode::Embedded,
            display_name: "QuFabric".into(),
            idp_name: String::new(),
            client_id: "qufabric".into(),
            client_secret: "s3cr3t-from-pocketid".into(),
            groups: "netbird-users, netbird-admins".into(),
            pkce_ports: "53000, 54000".into(),
            gate_mode: GateMode::Proxy,
            upstream: "https://mgmt.internal.example.com".into(),
            gate_url: String::new(),
            gate_host: GateHost::Cloudflare,
            cloudflare_zone: "example.com".into(),
            local_users: LocalUsers::Groups,
            ..SetupInput::default()
        }
    }

    /// The standalone-mode example used in the golden files.
    pub fn standalone() -> SetupInput {
        SetupInput {
            mode: Mode::Standalone,
            client_secret: String::new(),
            gate_mode: GateMode::ForwardAuth,
            // nginx.tmpl.conf:8-26's upstreams, published on loopback by the generated compose override.
            upstream: "http://127.0.0.1:8012".into(),
            signal_upstream: "http://127.0.0.1:10000".into(),
            relay_upstream: "http://127.0.0.1:33080".into(),
            dashboard_upstream: "http://127.0.0.1:8011".into(),
            gate_url: "https://pocketgate.example.workers.dev".into(),
            ..embedded()
        }
    }

    /// Embedded mode behind NetBird's own stack (the combined `netbird-server` and the dashboard on the compose
    /// network), forward-auth to the self-hosted gate: getting-started.sh's default deployment.
    pub fn combined() -> SetupInput {
        SetupInput {
            gate_mode: GateMode::ForwardAuth,
            gate_host: GateHost::Workerd,
            gate_url: "http://pocketgate:8080".into(),
            upstream: "http://netbird-server:80".into(),
            dashboard_upstream: "http://netbird-dashboard:80".into(),
            cloudflare_zone: String::new(),
            ..embedded()
        }
    }

    /// Embedded mode with NetBird's two containers on loopback ports (the server on 8081, the dashboard on 8080),
    /// forward-auth to a Worker on Cloudflare: the proxy snippets' example.
    pub fn external() -> SetupInput {
        SetupInput {
            upstream: "http://127.0.0.1:8081".into(),
            dashboard_upstream: "http://127.0.0.1:8080".into(),
            gate_host: GateHost::Cloudflare,
            gate_url: "https://pocketgate.example.workers.dev".into(),
            ..combined()
        }
    }

    /// The plan of a valid input.
    pub fn plan(input: &SetupInput) -> Plan {
        let (findings, plan) = validate::validate(input);
        assert!(findings.iter().all(|f| f.level != Level::Error), "{findings:?}");
        plan.unwrap()
    }

    /// The codes of `findings`, in order.
    pub fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code).collect()
    }

    /// The value of `name` in generated `(name, value)` pairs (the gate's variables, setup.env).
    pub fn get<'a>(pairs: &'a [(&str, String)], name: &str) -> Option<&'a str> {
        pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// A generated block of `text`, from `start` to the next occurrence of `end` (`end` excluded).
    pub fn block<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        let at = text.find(start).unwrap_or_else(|| panic!("{start} missing:\n{text}"));
        let len = text[at..].find(end).unwrap_or_else(|| panic!("{start}: no end {end:?}"));
        &text[at..at + len]
    }

    /// Render an output as one text (sections, notes, artifacts) for golden comparison.
    pub fn render_all(out: &Output) -> String {
        let mut s = String::new();
        for sec in &out.sections {
            s.push_str(&format!("#### section {}: {}\n", sec.id, sec.title));
            for n in &sec.notes {
                s.push_str(&format!("note: {n}\n"));
            }
            for a in &sec.artifacts {
                s.push_str(&format!("=== {} [{}] {}\n{}\n", a.id, a.filename, a.title, a.content));
            }
        }
        s
    }

    /// Compare `actual` with `tests/fixtures/setup/<name>`; `UPDATE_GOLDEN=1` rewrites the file instead.
    pub fn golden(name: &str, actual: &str) {
        let path = format!("{}/tests/fixtures/setup/{name}", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("golden file {path} missing ({e}); run with UPDATE_GOLDEN=1 and review it"));
        assert_eq!(actual, expected, "output differs from {path}; review, then UPDATE_GOLDEN=1");
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn embedded_golden() {
        let out = generate(&embedded());
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        golden("embedded.txt", &render_all(&out));
    }

    #[test]
    fn standalone_golden() {
        let out = generate(&standalone());
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        golden("standalone.txt", &render_all(&out));
    }

    #[test]
    fn errors_block_generation() {
        let out = generate(&SetupInput { issuer: "https://id.example.com/".into(), ..embedded() });
        assert!(out.sections.is_empty());
        assert_eq!(out.findings[0].code, "issuer_trailing_slash");
    }

    #[test]
    fn generated_vars_are_accepted_by_the_gate_parser() {
        for input in [embedded(), standalone(), SetupInput { groups: "*".into(), ..standalone() }] {
            let plan = plan(&input);
            assert!(inspect::gate_config(&plan).is_ok(), "{:?}", inspect::gate_config(&plan).err());
        }
    }

    #[test]
    fn plausible_inputs_pass_both_the_form_and_the_gate() {
        let variants = [
            SetupInput { domain: "qufabric.example.com:8443".into(), ..embedded() },
            SetupInput { issuer: "http://localhost:1411".into(), ..standalone() },
            SetupInput { issuer: "http://127.0.0.1:1411".into(), ..standalone() },
            SetupInput { upstream: "http://10.0.0.5:8080".into(), ..embedded() },
            SetupInput { upstream: "http://127.0.0.1:8080".into(), ..embedded() },
            SetupInput { groups: "netbird_users, ops.team".into(), ..embedded() },
            SetupInput { groups: "*".into(), ..embedded() },
            SetupInput { client_id: "a.b_c-d".into(), ..standalone() },
        ];
        for input in variants {
            let out = generate(&input);
            assert!(out.findings.iter().all(|f| f.level != Level::Error), "{input:?}: {:?}", out.findings);
            assert_eq!(out.sections.len(), 3);
        }
    }

    #[test]
    fn gate_parser_refusals_become_findings_on_the_right_field() {
        let plan = plan(&standalone());
        let err = crate::Error::Config { setting: "ALLOW_GROUPS".into(), message: "bad".into() };
        let f = gate_finding(&err, &plan);
        assert_eq!((f.field, f.code, f.level), ("groups", "gate_config_rejected", Level::Error));
        let embedded_plan = super::fixtures::plan(&embedded());
        let err = crate::Error::Config { setting: "ISSUER".into(), message: "bad".into() };
        assert_eq!(gate_finding(&err, &embedded_plan).field, "domain");
    }

    #[test]
    fn input_deserializes_with_defaults() {
        let input: SetupInput = serde_json::from_str(r#"{"mode":"standalone","gate_mode":"forward_auth"}"#).unwrap();
        assert_eq!(input.mode, Mode::Standalone);
        assert_eq!(input.gate_mode, GateMode::ForwardAuth);
        assert_eq!(input.domain, "");
    }
}
