//! The setup page's generated files, checked by the real tools that will read them: `bash -n` for the scripts,
//! serde_json for the JSON files, `caddy adapt` for the Caddyfile and `nginx -t` for the nginx block
//! (Debian packages `caddy` and `nginx`; a missing tool fails the test with a message, it never skips).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pocketgate::setup::{GateMode, Mode, SetupInput, generate};

fn input(mode: Mode, gate_mode: GateMode) -> SetupInput {
    SetupInput {
        domain: "qufabric.example.com".into(),
        issuer: "https://id.example.com".into(),
        mode,
        display_name: "QuFabric 'prod' $(x)".into(),
        client_id: "qufabric".into(),
        client_secret: if mode == Mode::Embedded { "s3cr3t".into() } else { String::new() },
        groups: "netbird-users, netbird-admins".into(),
        pkce_ports: "53000, 54000".into(),
        gate_mode,
        // Loopback addresses: nginx resolves proxy_pass hosts while testing its configuration.
        upstream: "http://127.0.0.1:8080".into(),
        gate_url: "http://127.0.0.1:8787".into(),
    }
}

fn all_inputs() -> Vec<SetupInput> {
    let mut v = Vec::new();
    for mode in [Mode::Embedded, Mode::Standalone] {
        for gate in [GateMode::Proxy, GateMode::ForwardAuth] {
            v.push(input(mode, gate));
        }
    }
    v
}

fn artifacts(input: &SetupInput) -> Vec<(String, String)> {
    let out = generate(input);
    assert!(!out.sections.is_empty(), "{:?}", out.findings);
    out.sections.into_iter().flat_map(|s| s.artifacts).map(|a| (a.filename, a.content)).collect()
}

fn tool(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':').chain(["/usr/sbin", "/usr/bin"]) {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is required for this test: apt-get install -y {name}");
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pocketgate-setup-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn scripts_parse_with_bash_n() {
    let bash = tool("bash");
    let mut seen = 0;
    for input in all_inputs() {
        for (name, content) in artifacts(&input) {
            if !name.ends_with(".sh") {
                continue;
            }
            seen += 1;
            let mut child = Command::new(&bash).arg("-n").stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
            child.stdin.take().unwrap().write_all(content.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{name}: {}\n{content}", String::from_utf8_lossy(&out.stderr));
        }
    }
    assert!(seen >= 8, "expected the PocketID, QuFabric and secrets scripts, saw {seen}");
}

#[test]
fn json_files_are_json() {
    for input in all_inputs() {
        for (name, content) in artifacts(&input) {
            if name.ends_with(".json") {
                serde_json::from_str::<serde_json::Value>(&content).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
}

fn snippet(input: &SetupInput, filename: &str) -> String {
    artifacts(input).into_iter().find(|(n, _)| n == filename).map(|(_, c)| c).unwrap()
}

#[test]
fn caddyfile_adapts_with_real_caddy() {
    let caddy = tool("caddy");
    for (mode, gate_url) in [(Mode::Embedded, "http://127.0.0.1:8787"), (Mode::Standalone, "https://gate.example.com")]
    {
        let dir = scratch("caddy");
        let file = dir.join("Caddyfile");
        let input = SetupInput { gate_url: gate_url.into(), ..input(mode, GateMode::ForwardAuth) };
        let caddyfile = snippet(&input, "Caddyfile");
        assert_eq!(caddyfile.contains("header_up Host {upstream_hostport}"), gate_url.starts_with("https"));
        std::fs::write(&file, caddyfile).unwrap();
        let out = Command::new(&caddy)
            .args(["adapt", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", &dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "caddy adapt: {}", String::from_utf8_lossy(&out.stderr));
        let json = String::from_utf8_lossy(&out.stdout);
        assert!(json.contains("/_gate/auth"), "{json}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn nginx_block_passes_nginx_t() {
    let nginx = tool("nginx");
    let dir = scratch("nginx");
    let server = snippet(&input(Mode::Standalone, GateMode::ForwardAuth), "pocketgate-nginx.conf")
        .replace("listen 443 ssl;", "listen 127.0.0.1:18080;");
    let d = dir.display();
    let conf = format!(
        "pid {d}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\naccess_log off;\nclient_body_temp_path {d}/b;\n\
         proxy_temp_path {d}/p;\nfastcgi_temp_path {d}/f;\nuwsgi_temp_path {d}/u;\nscgi_temp_path {d}/s;\n{server}}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let out = Command::new(&nginx)
        .arg("-t")
        .arg("-p")
        .arg(&dir)
        .args(["-e", "stderr", "-c"])
        .arg(dir.join("nginx.conf"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("test is successful"), "nginx -t: {err}");
    std::fs::remove_dir_all(&dir).ok();
}
