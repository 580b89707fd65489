//! The setup page's admin scripts, run by real bash, curl and jq against a tiny fake API on loopback: what they
//! send, and that no secret ever appears in a process's argv (curl and jq are wrapped to log their arguments).
//! A missing tool fails the test with a message, it never skips.
#![cfg(not(target_arch = "wasm32"))] // processes, sockets and files

mod setup_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use pocketgate::setup::{GateMode, Mode, SetupInput};
use setup_support::{input, scratch, snippet, tool};

/// One request the fake API received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: String,
    body: String,
}

/// A fake HTTP/1.1 API on loopback: `answer(method, path, body)` → (status, JSON body).
struct FakeApi {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

impl FakeApi {
    fn start(answer: impl Fn(&str, &str, &str) -> (u16, String) + Send + 'static) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { return };
                s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => break 0,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                if head_end == 0 {
                    continue;
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
                let mut first = head.lines().next().unwrap_or_default().split(' ');
                let method = first.next().unwrap_or_default().to_owned();
                let path = first.next().unwrap_or_default().to_owned();
                let (status, reply) = answer(&method, &path, &body);
                log.lock().unwrap().push(Seen { method, path, headers: head, body });
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: \
                     close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        FakeApi { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Run `script` with bash; `curl` and `jq` are wrappers that log their argv (one line per call) to `argv.log`.
/// Returns (success, stdout + stderr, the argv log).
fn run_script(tag: &str, script: &str, env: &[(&str, String)]) -> (bool, String, String) {
    let dir = scratch(tag);
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("argv.log");
    for name in ["curl", "jq"] {
        let real = tool(name);
        let wrapper = bin.join(name);
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nprintf '%s ' {name} \"$@\" >> '{}'\necho >> '{}'\nexec '{}' \"$@\"\n",
                log.display(),
                log.display(),
                real.display()
            ),
        )
        .unwrap();
        Command::new("chmod").arg("+x").arg(&wrapper).status().unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new(tool("bash"));
    cmd.arg("-c").arg(script).env("PATH", path).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let argv = std::fs::read_to_string(&log).unwrap_or_default();
    std::fs::remove_dir_all(&dir).ok();
    (out.status.success(), text, argv)
}

const SECRET: &str = "client-s3cret-7d1f";
const PAT: &str = "nbp_personal-token-9a2c";

fn embedded_input() -> SetupInput {
    SetupInput { client_secret: String::new(), idp_name: String::new(), ..input(Mode::Embedded, GateMode::Proxy) }
}

fn account(embedded_idp: bool) -> String {
    serde_json::json!([{ "id": "acc-1", "settings": {
        "embedded_idp_enabled": embedded_idp,
        "peer_login_expiration_enabled": true, "peer_login_expiration": 86400,
        "peer_inactivity_expiration_enabled": false, "peer_inactivity_expiration": 600,
        "regular_users_view_blocked": true, "groups_propagation_enabled": false,
        "network_range": "100.64.0.0/10", "network_range_v6": "fd00:4e42::/64",
        "jwt_groups_enabled": false
    }}])
    .to_string()
}

fn qufabric_env(api: &FakeApi) -> Vec<(&'static str, String)> {
    vec![("QUFABRIC", api.url()), ("QUFABRIC_TOKEN", PAT.into()), ("CLIENT_SECRET", SECRET.into())]
}

#[test]
fn add_idp_script_sends_the_secret_from_the_environment_never_on_a_command_line() {
    let script = snippet(&embedded_input(), "qufabric-add-idp.sh");
    let api = FakeApi::start(|method, path, body| match (method, path) {
        ("GET", "/api/accounts") => (200, account(true)),
        ("POST", "/api/identity-providers") => {
            let mut v: serde_json::Value = serde_json::from_str(body).unwrap();
            v.as_object_mut().unwrap().remove("client_secret");
            v["id"] = "pocketid-1".into();
            (200, v.to_string())
        }
        _ => (404, "{}".into()),
    });
    let (ok, out, argv) = run_script("idp", &script, &qufabric_env(&api));
    assert!(ok, "{out}\n{script}");
    let seen = api.seen();
    let post = seen.iter().find(|s| s.method == "POST").unwrap_or_else(|| panic!("no POST: {seen:?}"));
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["client_secret"], SECRET);
    assert_eq!(body["name"], "PocketID", "the login button's name defaults to PocketID");
    assert_eq!(body["type"], "pocketid");
    assert!(post.headers.contains(&format!("Authorization: Token {PAT}")), "{}", post.headers);
    // The embedded IdP was checked first.
    assert_eq!(seen[0].path, "/api/accounts");
    assert!(argv.contains("curl ") && argv.contains("jq "), "the wrappers ran: {argv}");
    assert!(!argv.contains(SECRET), "the client secret reached a command line:\n{argv}");
    assert!(!argv.contains(PAT), "the access token reached a command line:\n{argv}");
    assert!(!script.contains("--arg secret"));
}

#[test]
fn add_idp_script_stops_without_the_embedded_idp_and_shows_qufabric_errors() {
    let script = snippet(&embedded_input(), "qufabric-add-idp.sh");
    let off = FakeApi::start(|method, path, _| match (method, path) {
        ("GET", "/api/accounts") => (200, account(false)),
        _ => (200, "{}".into()),
    });
    let (ok, out, _) = run_script("idp-off", &script, &qufabric_env(&off));
    assert!(!ok && out.contains("embedded_idp_enabled"), "{out}");
    assert!(off.seen().iter().all(|s| s.method == "GET"), "nothing is posted without the embedded IdP");

    // QuFabric's 422 (management/server/http/handlers/idp: the discovery issuer must match exactly) reaches the user.
    let mismatch = FakeApi::start(|method, path, _| match (method, path) {
        ("GET", "/api/accounts") => (200, account(true)),
        _ => (422, r#"{"message":"identity provider issuer does not match","code":422}"#.into()),
    });
    let (ok, out, _) = run_script("idp-422", &script, &qufabric_env(&mismatch));
    assert!(!ok, "{out}");
    assert!(out.contains("issuer does not match"), "the 422 body must be shown: {out}");
}

#[test]
fn group_sync_script_changes_only_the_group_fields_and_not_the_network_ranges() {
    let script = snippet(&embedded_input(), "qufabric-group-sync.sh");
    let api = FakeApi::start(|method, path, body| match (method, path) {
        ("GET", "/api/accounts") => (200, account(true)),
        ("PUT", "/api/accounts/acc-1") => (
            200,
            format!(r#"{{"id":"acc-1","settings":{}}}"#, {
                let v: serde_json::Value = serde_json::from_str(body).unwrap();
                v["settings"].to_string()
            }),
        ),
        _ => (404, "{}".into()),
    });
    let (ok, out, argv) = run_script("sync", &script, &qufabric_env(&api));
    assert!(ok, "{out}");
    let seen = api.seen();
    let put = seen.iter().find(|s| s.method == "PUT").unwrap();
    let settings = &serde_json::from_str::<serde_json::Value>(&put.body).unwrap()["settings"];
    // NetBird's GET reports the effective ranges (accounts_handler.go); a PUT carrying them stores overrides.
    assert!(settings.get("network_range").is_none() && settings.get("network_range_v6").is_none(), "{settings}");
    // Not forced: groups_propagation_enabled keeps the account's value.
    assert_eq!(settings["groups_propagation_enabled"], false);
    assert_eq!(settings["jwt_groups_enabled"], true);
    assert_eq!(settings["jwt_allow_groups"], serde_json::json!(["netbird-users", "netbird-admins"]));
    assert_eq!(settings["peer_login_expiration"], 86400);
    assert!(!argv.contains(PAT), "{argv}");
}

#[test]
fn pocketid_script_falls_back_to_secret_before_v2_14() {
    let script = snippet(&embedded_input(), "pocketid-setup.sh");
    for (tag, old) in [("pid-new", false), ("pid-old", true)] {
        let api = FakeApi::start(move |method, path, _| match (method, path) {
            ("GET", p) if p.starts_with("/api/user-groups") => (200, r#"{"data":[]}"#.into()),
            ("POST", "/api/user-groups") => (201, r#"{"id":"g-1"}"#.into()),
            ("POST", "/api/oidc/clients") => (201, r#"{"id":"qufabric"}"#.into()),
            ("PUT", "/api/oidc/clients/qufabric/allowed-user-groups") => (200, "{}".into()),
            ("POST", "/api/oidc/clients/qufabric/secrets") if !old => (201, r#"{"secret":"fresh-secret"}"#.into()),
            ("POST", "/api/oidc/clients/qufabric/secret") if old => (200, r#"{"secret":"fresh-secret"}"#.into()),
            _ => (404, r#"{"error":"Not Found"}"#.into()),
        });
        let key = "pocketid-api-key-55e1".to_owned();
        let env = [("POCKETID", api.url()), ("POCKETID_API_KEY", key.clone())];
        let (ok, out, argv) = run_script(tag, &script, &env);
        assert!(ok, "{tag}: {out}");
        assert!(out.contains("fresh-secret"), "{tag}: {out}");
        let seen = api.seen();
        let client = seen.iter().find(|s| s.path == "/api/oidc/clients").unwrap();
        let body: serde_json::Value = serde_json::from_str(&client.body).unwrap();
        assert_eq!(body["launchURL"], "https://qufabric.example.com/");
        assert!(client.headers.contains(&format!("X-API-Key: {key}")));
        assert_eq!(seen.iter().any(|s| s.path.ends_with("/secret")), old, "{tag}: {seen:?}");
        assert!(!argv.contains(&key), "{tag}: the API key reached a command line:\n{argv}");
    }
}
