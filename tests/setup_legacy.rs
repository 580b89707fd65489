//! Standalone mode's legacy-stack files, run by the tools that will run them: the management.json fix script in
//! real bash with jq, on a management.json shaped as NetBird's `configure.sh` renders it from `management.json.tmpl`
//! with the generated setup.env (Let's Encrypt disabled, the ports at 443: `Signal.Proto` "http", `Signal.URI`
//! `<domain>:443`, `Relay.Addresses` `["rels://<domain>:443/relay"]`, an empty `HttpConfig.CertFile`;
//! configure.sh:170-195, base.setup.env:21). A missing tool fails the test, never skips it.
#![cfg(not(target_arch = "wasm32"))] // processes and files

mod setup_support;

use std::process::Command;

use setup_support::{artifact, standalone, tool};

/// management.json as configure.sh renders it (only the fields the script reads or must keep).
fn rendered(signal_port: u16, relay: &str) -> String {
    format!(
        r#"{{"Signal": {{"Proto": "http", "URI": "qufabric.example.com:{signal_port}", "Username": "", "Password": null}},
"Relay": {{"Addresses": ["{relay}"], "CredentialsTTL": "24h", "Secret": "s"}},
"HttpConfig": {{"Address": "0.0.0.0:443", "AuthIssuer": "https://id.example.com", "CertFile": "", "CertKey": ""}},
"DataStoreEncryptionKey": "k"}}"#
    )
}

/// Run the fix script in a directory holding `artifacts/management.json` = `json`: (success, stderr, the file after).
fn run_fix(json: &str) -> (bool, String, serde_json::Value) {
    let (bash, _jq) = (tool("bash"), tool("jq"));
    let dir = std::env::temp_dir().join(format!("pocketgate-legacy-{}-{}", std::process::id(), json.len()));
    std::fs::create_dir_all(dir.join("artifacts")).unwrap();
    std::fs::write(dir.join("artifacts/management.json"), json).unwrap();
    std::fs::write(dir.join("fix.sh"), artifact(&standalone(), "qufabric_management_fix")).unwrap();
    let out = Command::new(bash).arg("fix.sh").current_dir(&dir).output().unwrap();
    let after = std::fs::read_to_string(dir.join("artifacts/management.json")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), serde_json::from_str(&after).unwrap())
}

#[test]
fn the_fix_sets_signal_to_https_and_keeps_everything_else() {
    // Fails on main: the page had no such step, and configure.sh's Signal.Proto "http" made clients dial signal on
    // 443 without TLS (client/internal/connect.go:726-733).
    let (ok, err, after) = run_fix(&rendered(443, "rels://qufabric.example.com:443/relay"));
    assert!(ok, "{err}");
    assert_eq!(after["Signal"]["Proto"], "https");
    assert_eq!(after["Signal"]["URI"], "qufabric.example.com:443");
    assert_eq!(after["DataStoreEncryptionKey"], "k", "the rest is untouched");
    assert_eq!(after["Relay"]["Addresses"][0], "rels://qufabric.example.com:443/relay");
}

#[test]
fn the_fix_refuses_a_management_json_not_rendered_from_the_generated_setup_env() {
    // The default ports (signal 10000, relay rel://…:33080): configure.sh ran without the proxy overrides.
    let json = rendered(10000, "rel://qufabric.example.com:33080");
    let (ok, err, after) = run_fix(&json);
    assert!(!ok, "must refuse");
    assert!(err.contains("does not have the proxy's ports"), "{err}");
    assert_eq!(after["Signal"]["Proto"], "http", "nothing changed");
}

#[test]
fn setup_env_is_what_configure_sh_reads_for_a_tls_proxy() {
    // configure.sh sources it with bash (configure.sh:18): it must parse, and carry the overrides.
    let env = artifact(&standalone(), "qufabric_setup_env");
    let out = Command::new(tool("bash"))
        .args(["-c", "set -eu; source /dev/stdin; echo \"$NETBIRD_DISABLE_LETSENCRYPT $NETBIRD_MGMT_API_PORT $NETBIRD_SIGNAL_PORT $NETBIRD_RELAY_PORT $NETBIRD_DOMAIN\""])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(env.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "true 443 443 443 qufabric.example.com");
}
