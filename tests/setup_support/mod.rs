//! What the setup page's integration tests share (setup_snippets.rs, setup_scripts.rs, setup_legacy.rs,
//! setup_refresh.rs): the forms they fill in, the generated files by id or file name, a scratch folder, and the
//! real tools that run those files. A missing tool fails the test with the package to install, it never skips.
#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};

use pocketgate::setup::{GateHost, GateMode, LocalUsers, Mode, SetupInput, generate};

/// The executable `name` from `PATH`, else `/usr/sbin`, `/usr/bin` or `/bin`; panics naming the Debian package.
pub fn tool(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':').chain(["/usr/sbin", "/usr/bin", "/bin"]) {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is required for this test: apt-get install -y {name}");
}

/// A fresh folder under the system's temporary directory, named after `tag` and this process.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pocketgate-setup-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A form for `mode` and `gate_mode` with every address on loopback and a display name full of shell
/// metacharacters (the generated scripts must quote it).
pub fn input(mode: Mode, gate_mode: GateMode) -> SetupInput {
    SetupInput {
        domain: "qufabric.example.com".into(),
        issuer: "https://id.example.com".into(),
        mode,
        display_name: "QuFabric 'prod' $(x)".into(),
        idp_name: String::new(),
        client_id: "qufabric".into(),
        client_secret: if mode == Mode::Embedded { "s3cr3t".into() } else { String::new() },
        groups: "netbird-users, netbird-admins".into(),
        pkce_ports: "53000, 54000".into(),
        gate_mode,
        // Loopback addresses: nginx resolves proxy_pass hosts while testing its configuration. Standalone mode:
        // the legacy stack's four containers (nginx.tmpl.conf:8-26); embedded: netbird-server and the dashboard.
        upstream: if mode == Mode::Standalone { "http://127.0.0.1:8012" } else { "http://127.0.0.1:8080" }.into(),
        signal_upstream: "http://127.0.0.1:10000".into(),
        relay_upstream: "http://127.0.0.1:33080".into(),
        gate_url: "http://127.0.0.1:8787".into(),
        gate_host: GateHost::Cloudflare,
        dashboard_upstream: "http://127.0.0.1:8081".into(),
        cloudflare_zone: "example.com".into(),
        local_users: LocalUsers::Allow,
        ..SetupInput::default()
    }
}

/// Standalone mode (NetBird's legacy stack: management, signal, relay and dashboard published on loopback by the
/// generated compose override, nginx.tmpl.conf:8-26), forward-auth to a Worker.
pub fn standalone() -> SetupInput {
    SetupInput {
        domain: "qufabric.example.com".into(),
        issuer: "https://id.example.com".into(),
        mode: Mode::Standalone,
        display_name: "QuFabric".into(),
        client_id: "qufabric".into(),
        groups: "netbird-users".into(),
        pkce_ports: "53000".into(),
        gate_mode: GateMode::ForwardAuth,
        upstream: "http://127.0.0.1:8012".into(),
        signal_upstream: "http://127.0.0.1:10000".into(),
        relay_upstream: "http://127.0.0.1:33080".into(),
        dashboard_upstream: "http://127.0.0.1:8011".into(),
        gate_url: "https://gate.example.workers.dev".into(),
        ..SetupInput::default()
    }
}

/// Every generated file of `input` as (file name, content); panics with the findings when nothing is generated.
pub fn artifacts(input: &SetupInput) -> Vec<(String, String)> {
    let out = generate(input);
    assert!(!out.sections.is_empty(), "{:?}", out.findings);
    out.sections.into_iter().flat_map(|s| s.artifacts).map(|a| (a.filename, a.content)).collect()
}

/// The generated file saved as `filename`.
pub fn snippet(input: &SetupInput, filename: &str) -> String {
    artifacts(input).into_iter().find(|(n, _)| n == filename).map(|(_, c)| c).unwrap()
}

/// The generated file with the artifact id `id`; panics with the findings when there is none.
pub fn artifact(input: &SetupInput, id: &str) -> String {
    let out = generate(input);
    out.sections.into_iter().flat_map(|s| s.artifacts).find(|a| a.id == id).map(|a| a.content).unwrap_or_else(|| {
        panic!("no {id}: {:?}", out.findings);
    })
}
