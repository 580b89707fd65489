//! The Traefik plugin's key refresh script, run as cron would run it: real `sh` and `curl` against a loopback
//! server, with only the issuer's URL and the key directory moved to the test's. The plugin takes the file as the
//! keys the operator states (an empty set revokes every key: src/traefik/keys.rs), so the script must never install
//! an answer without a key. A missing tool fails the test, never skips it.
#![cfg(not(target_arch = "wasm32"))] // processes, sockets and files

mod setup_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use pocketgate::setup::traefik_plugin::HOST_KEYS_DIR;
use pocketgate::setup::{GateHost, SetupInput};
use setup_support::{artifact, standalone, tool};

const GOOD: &str =
    r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k"}]}"#;
const OLD: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"old","kid":"old"}]}"#;

/// The generated refresh script for the legacy stack behind Traefik with the plugin, its key set [`GOOD`].
fn script() -> String {
    let input = SetupInput { gate_host: GateHost::Traefik, gate_url: String::new(), jwks: GOOD.into(), ..standalone() };
    artifact(&input, "gate_traefik_plugin_refresh")
}

/// Serve one HTTP/1.1 answer with `status` and `body` on a loopback port; its URL.
fn serve_once(status: &str, body: &'static str) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    let status = status.to_owned();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).unwrap();
        conn.write_all(body.as_bytes()).unwrap();
    });
    (url, handle)
}

/// Run the generated script with the key directory at a temp dir holding `OLD`, the issuer's URL answering
/// `status`/`body`: (success, stderr, jwks.json after, whether jwks.json.new is left behind).
fn run(status: &str, body: &'static str) -> (bool, String, String, bool) {
    let (sh, _curl, _grep) = (tool("sh"), tool("curl"), tool("grep"));
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pocketgate-refresh-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("jwks.json"), OLD).unwrap();
    let (url, server) = serve_once(status, body);
    let text = script();
    let quoted = text.lines().find_map(|l| l.strip_prefix("url='")).and_then(|l| l.strip_suffix('\'')).unwrap();
    let text = text.replace(quoted, &url).replace(HOST_KEYS_DIR, &dir.display().to_string());
    std::fs::write(dir.join("refresh.sh"), &text).unwrap();
    let out = Command::new(sh).arg(dir.join("refresh.sh")).output().unwrap();
    server.join().unwrap();
    let after = std::fs::read_to_string(dir.join("jwks.json")).unwrap();
    let leftover = dir.join("jwks.json.new").exists();
    std::fs::remove_dir_all(&dir).ok();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), after, leftover)
}

#[test]
fn a_key_set_replaces_the_file() {
    let (ok, err, after, leftover) = run("200 OK", GOOD);
    assert!(ok, "{err}");
    assert_eq!(after, GOOD);
    assert!(!leftover);
}

#[test]
fn an_answer_without_a_key_leaves_the_file_alone() {
    // Fails on the script before this test: it installed whatever the issuer answered, and an empty set revokes.
    for body in [r#"{"keys":[]}"#, "<html>maintenance</html>"] {
        let (ok, err, after, leftover) = run("200 OK", body);
        assert!(!ok, "{body}: the script must fail");
        assert!(err.contains("answered no key"), "{err}");
        assert_eq!(after, OLD, "{body}: the file must be unchanged");
        assert!(!leftover, "{body}: the rejected download is removed");
    }
}

#[test]
fn a_failed_fetch_leaves_the_file_alone() {
    let (ok, _, after, _) = run("503 Service Unavailable", GOOD);
    assert!(!ok);
    assert_eq!(after, OLD);
}
