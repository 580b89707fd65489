//! `cargo xtask deploy [--dry-run] [-- <wrangler deploy args>]`: build the Worker and deploy it with the project's
//! cached wrangler, after refusing the demo's values.
//!
//! `wrangler.toml`'s `[vars]` hold the demo's loopback dev issuer (`http://127.0.0.1:9010`, the issuer
//! `cargo xtask demo` starts): deployed, that gate would refuse every token. Its `[build]` command runs
//! `worker-build`, which lives in `~/.cache/pocketgate/tools` (not on a clone's `PATH`): run through xtask, the
//! child gets the cached tools first on `PATH` (and `WASM_BINDGEN_BIN`, `WASM_OPT_BIN`, `ESBUILD_BIN`), so the
//! build downloads nothing. `--dry-run` passes `--dry-run --outdir target/deploy-dry-run` to wrangler: it builds
//! and bundles, offline, and uploads nothing.
//!
//! It also refuses a configuration whose routes cannot be what the operator meant (issue 20): `routes` inside
//! `[vars]` (pasted after wrangler.toml's last table, `routes = [...]` becomes a variable: nothing is routed and the
//! origin's `/api` stays ungated), and proxy mode (`UPSTREAM` set) without any route (the Worker would gate
//! nothing). The setup page's `wrangler.routes.toml` writes `[[routes]]` tables, which TOML keeps top-level
//! wherever they are appended.

use std::path::{Path, PathBuf};

use crate::dev::need_tool;
use crate::util::{Paths, Result, header, run};

/// Variables whose value is a URL the deployed Worker must reach or match: a loopback host there is the demo's.
const URL_VARS: &[&str] = &["ISSUER", "JWKS_URI", "UPSTREAM"];

/// The `[vars]` table of a wrangler.toml, as `(name, value)` pairs: basic (`"…"`) and literal (`'…'`, `'''…'''`)
/// strings; other values (numbers, arrays) are kept as their raw text. Enough for the checks below, not a TOML
/// parser: anything unreadable is kept raw, and the checks only look for loopback URLs in it.
pub fn vars_table(toml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_vars = false;
    let mut lines = toml.lines();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if t.starts_with('[') {
            in_vars = t == "[vars]";
            continue;
        }
        if !in_vars || t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some((name, value)) = t.split_once('=') else { continue };
        let (name, value) = (name.trim().trim_matches('"').to_owned(), value.trim());
        let value = if let Some(rest) = value.strip_prefix("'''") {
            let mut text = rest.to_owned();
            while !text.contains("'''") {
                match lines.next() {
                    Some(l) => {
                        text.push('\n');
                        text.push_str(l);
                    }
                    None => break,
                }
            }
            text.split("'''").next().unwrap_or_default().trim_start_matches('\n').to_owned()
        } else if let Some(rest) = value.strip_prefix('"') {
            rest.split('"').next().unwrap_or_default().replace("\\\\", "\\")
        } else if let Some(rest) = value.strip_prefix('\'') {
            rest.split('\'').next().unwrap_or_default().to_owned()
        } else {
            value.to_owned()
        };
        out.push((name, value));
    }
    out
}

/// Whether a wrangler.toml declares routes where TOML keeps them top-level: a `routes`/`route` key before the first
/// table, or a `[[routes]]` table. Lines inside multi-line strings are skipped; nothing else is read.
pub fn has_top_level_routes(toml: &str) -> bool {
    let mut top = true;
    let mut in_string: Option<&str> = None;
    for line in toml.lines() {
        let t = line.trim();
        if let Some(delim) = in_string {
            if t.contains(delim) {
                in_string = None;
            }
            continue;
        }
        if t.starts_with("[[") {
            if t.trim_start_matches('[').split(']').next().unwrap_or_default().trim() == "routes" {
                return true;
            }
            top = false;
        } else if t.starts_with('[') {
            top = false;
        } else if let Some((key, value)) = t.split_once('=') {
            let key = key.trim().trim_matches('"');
            if top && (key == "routes" || key == "route") {
                return true;
            }
            let value = value.trim_start();
            for delim in ["'''", "\"\"\""] {
                if value.starts_with(delim) && !value[3..].contains(delim) {
                    in_string = Some(delim);
                }
            }
        }
    }
    false
}

/// Refuse routes that are not routes: `routes`/`route` in `[vars]`, or proxy mode (`UPSTREAM` in `[vars]` or an
/// override) without a top-level route, a `[[routes]]` table or a `--route` argument.
pub fn check_routes(config: &str, toml: &str, vars: &[(String, String)], args: &[String]) -> Result {
    let mut problems = Vec::new();
    if let Some((name, _)) = vars.iter().find(|(k, _)| k == "routes" || k == "route") {
        problems.push(format!(
            "`{name}` is inside {config} [vars]: there it is a variable, not a route, so nothing would be routed to \
             the Worker and QuFabric's /api would stay reachable without the gate. Move it above the first table, \
             or use [[routes]] tables (the setup page's wrangler.routes.toml), which TOML keeps top-level wherever \
             they are."
        ));
    }
    let overrides = var_overrides(args);
    let upstream = overrides
        .iter()
        .rev()
        .find(|(k, _)| k == "UPSTREAM")
        .or_else(|| vars.iter().find(|(k, _)| k == "UPSTREAM"))
        .is_some_and(|(_, v)| !v.trim().is_empty());
    let route_arg = args.iter().any(|a| a == "--route" || a == "--routes" || a.starts_with("--route="));
    if upstream && !has_top_level_routes(toml) && !route_arg {
        problems.push(format!(
            "UPSTREAM is set (proxy mode) but {config} routes nothing to the Worker: the gate would stand in front \
             of nothing. Append the setup page's wrangler.routes.toml ([[routes]] for <domain>/api and \
             <domain>/api/*) to {config}."
        ));
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("refusing to deploy:\n  {}", problems.join("\n  "))) }
}

/// `--var NAME:VALUE` (and `--var=NAME:VALUE`) overrides among wrangler's arguments.
pub fn var_overrides(args: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = if a == "--var" { it.next().map(String::as_str) } else { a.strip_prefix("--var=") };
        if let Some((k, v)) = v.and_then(|v| v.split_once(':')) {
            out.push((k.to_owned(), v.to_owned()));
        }
    }
    out
}

/// Whether `text` names a loopback http(s) URL (`localhost`, `127.x.x.x`, `[::1]`, `0.0.0.0`).
fn loopback_url(text: &str) -> Option<String> {
    for scheme in ["http://", "https://"] {
        let mut rest = text;
        while let Some(i) = rest.find(scheme) {
            let after = &rest[i + scheme.len()..];
            let end = after.find(|c: char| c == '/' || c == '"' || c == '\'' || c == ',' || c.is_whitespace());
            let authority = &after[..end.unwrap_or(after.len())];
            let host = if authority.starts_with('[') {
                authority.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
            } else {
                authority.split(':').next().unwrap_or_default().to_ascii_lowercase()
            };
            if host == "localhost"
                || host.ends_with(".localhost")
                || host.starts_with("127.")
                || host == "[::1]"
                || host == "0.0.0.0"
            {
                let url_end = after.find(|c: char| c == '"' || c == '\'' || c == ',' || c.is_whitespace());
                return Some(format!("{scheme}{}", &after[..url_end.unwrap_or(after.len())]));
            }
            rest = after;
        }
    }
    None
}

/// Refuse the demo's values: a loopback issuer, key set or upstream, in `[vars]` or a `--var` override (the
/// override wins). Names the setting and the fix.
pub fn check_vars(config: &str, vars: &[(String, String)], overrides: &[(String, String)]) -> Result {
    let mut effective: Vec<(String, String)> = vars.to_vec();
    for (k, v) in overrides {
        effective.retain(|(name, _)| name != k);
        effective.push((k.clone(), v.clone()));
    }
    let mut problems = Vec::new();
    for (name, value) in &effective {
        let checked = URL_VARS.contains(&name.as_str()) || name == "ISSUERS";
        if let Some(url) = checked.then(|| loopback_url(value)).flatten() {
            let fix = match name.as_str() {
                "ISSUER" | "ISSUERS" => {
                    "your PocketID issuer (standalone mode, e.g. https://id.example.com) or QuFabric's embedded IdP \
                     (https://<domain>/oauth2)"
                }
                "JWKS_URI" => "the issuer's public key set URL, or remove it (read from the issuer's discovery)",
                _ => "QuFabric's origin as the Worker reaches it over the internet, or remove it (forward-auth)",
            };
            problems.push(format!(
                "{name} = {url} in {config} [vars] is the demo's loopback value (cargo xtask demo): a deployed \
                 Worker cannot reach this machine, so the gate would refuse every request. Set {name} to {fix}: \
                 paste the setup page's wrangler.vars.toml into {config} [vars], or pass `-- --var {name}:<value>`."
            ));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("refusing to deploy:\n  {}", problems.join("\n  "))) }
}

/// The configuration file wrangler will read: `--config`/`-c` among the arguments, else `wrangler.toml`.
fn config_path(root: &Path, args: &[String]) -> PathBuf {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--config" || a == "-c" {
            if let Some(p) = it.next() {
                return root.join(p);
            }
        } else if let Some(p) = a.strip_prefix("--config=") {
            return root.join(p);
        }
    }
    root.join("wrangler.toml")
}

/// `cargo xtask deploy`: check the vars, then `wrangler deploy` (whose `[build]` runs worker-build).
pub fn deploy(paths: &Paths, args: &[String]) -> Result {
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let rest: Vec<String> = args.iter().filter(|a| *a != "--dry-run").cloned().collect();
    let wrangler_args = rest.strip_prefix(&["--".to_owned()]).unwrap_or(&rest);
    let config = config_path(&paths.root, wrangler_args);
    let text = std::fs::read_to_string(&config).map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let shown = config.strip_prefix(&paths.root).unwrap_or(&config).display().to_string();
    let vars = vars_table(&text);
    check_vars(&shown, &vars, &var_overrides(wrangler_args))?;
    check_routes(&shown, &text, &vars, wrangler_args)?;
    let wrangler = paths.npm_bin.join("wrangler");
    need_tool(&wrangler)?;
    need_tool(&paths.tools_bin.join("worker-build"))?;
    need_tool(&paths.node22_bin.join("node"))?;
    header(if dry_run {
        "deploy --dry-run: wrangler deploy --dry-run (build and bundle, no upload)"
    } else {
        "deploy: wrangler deploy"
    });
    let mut c = paths.cmd(paths.node22_bin.join("node"));
    c.arg(wrangler).arg("deploy");
    if dry_run {
        c.arg("--dry-run");
        if !wrangler_args.iter().any(|a| a == "--outdir" || a.starts_with("--outdir=")) {
            c.arg("--outdir").arg(paths.target.join("deploy-dry-run"));
        }
    }
    c.args(wrangler_args);
    run("wrangler deploy", c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::strings as s;

    #[test]
    fn the_repositorys_wrangler_toml_is_refused_naming_the_setting_and_the_fix() {
        let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../wrangler.toml")).unwrap();
        let vars = vars_table(&toml);
        assert!(vars.iter().any(|(k, v)| k == "ISSUER" && v == "http://127.0.0.1:9010"), "{vars:?}");
        let err = check_vars("wrangler.toml", &vars, &[]).unwrap_err();
        assert!(err.contains("ISSUER = http://127.0.0.1:9010"), "{err}");
        assert!(err.contains("demo") && err.contains("wrangler.vars.toml") && err.contains("--var ISSUER:"), "{err}");
    }

    #[test]
    fn real_values_pass_and_overrides_win() {
        let toml =
            "[vars]\nISSUER = \"https://id.example.com\"\nAUDIENCE = \"netbird\"\n[assets]\nx = \"http://127.0.0.1\"\n";
        assert!(check_vars("w", &vars_table(toml), &[]).is_ok());
        let demo = vars_table("[vars]\nISSUER = \"http://127.0.0.1:9010\"\n");
        let fixed = var_overrides(&s(&["--var", "ISSUER:https://vpn.example.com/oauth2"]));
        assert!(check_vars("w", &demo, &fixed).is_ok());
        let broken = var_overrides(&s(&["--var=UPSTREAM:http://localhost:8080"]));
        let err = check_vars("w", &vars_table(toml), &broken).unwrap_err();
        assert!(err.contains("UPSTREAM = http://localhost:8080"), "{err}");
    }

    #[test]
    fn loopback_in_issuers_json_and_jwks_uri_is_refused() {
        let toml = "[vars]\nISSUERS = '''[{\"issuer\": \"https://a.example.com\"},\n {\"issuer\": \"http://[::1]:9010\"}]'''\nJWKS_URI = 'http://localhost/jwks'\n";
        let vars = vars_table(toml);
        assert_eq!(vars.len(), 2, "{vars:?}");
        let err = check_vars("w", &vars, &[]).unwrap_err();
        assert!(err.contains("ISSUERS = http://[::1]:9010"), "{err}");
        assert!(err.contains("JWKS_URI = http://localhost/jwks"), "{err}");
        // Secrets (no ISSUER in [vars]) are fine: `wrangler secret put ISSUER`.
        assert!(check_vars("w", &vars_table("[vars]\nAUDIENCE = \"x\"\n"), &[]).is_ok());
    }

    #[test]
    fn routes_in_vars_and_proxy_mode_without_routes_are_refused() {
        // Fails on main (no such check): the old page's `routes = [...]`, pasted after [vars], deployed no route.
        let pasted = "name = \"pocketgate\"\n[vars]\nISSUER = \"https://id.example.com\"\nUPSTREAM = \"https://mgmt.example.com\"\n\
                      routes = [\n  { pattern = \"vpn.example.com/api\", zone_name = \"example.com\" },\n]\n";
        let err = check_routes("wrangler.toml", pasted, &vars_table(pasted), &[]).unwrap_err();
        assert!(err.contains("`routes` is inside wrangler.toml [vars]"), "{err}");
        assert!(err.contains("UPSTREAM is set (proxy mode) but wrangler.toml routes nothing"), "{err}");
        // The page's [[routes]] appended after [vars]: top-level, accepted.
        let tables = "[vars]\nUPSTREAM = \"https://mgmt.example.com\"\n\n[[routes]]\npattern = \"vpn.example.com/api\"\n\
                      zone_name = \"example.com\"\n";
        assert!(check_routes("w", tables, &vars_table(tables), &[]).is_ok());
        // Routes above the first table, or on the command line: accepted.
        let top = "routes = [\"vpn.example.com/api/*\"]\n[vars]\nUPSTREAM = \"https://m\"\n";
        assert!(check_routes("w", top, &vars_table(top), &[]).is_ok());
        let bare = "[vars]\nUPSTREAM = \"https://m\"\n";
        assert!(check_routes("w", bare, &vars_table(bare), &s(&["--route", "vpn.example.com/api/*"])).is_ok());
        // Forward-auth (no UPSTREAM) needs no route; an UPSTREAM given by --var does.
        let fa = "[vars]\nISSUER = \"https://id.example.com\"\n";
        assert!(check_routes("w", fa, &vars_table(fa), &[]).is_ok());
        assert!(check_routes("w", fa, &vars_table(fa), &s(&["--var", "UPSTREAM:https://m"])).is_err());
        // A `routes =` line inside a multi-line string is not a route.
        assert!(!has_top_level_routes("x = '''\nroutes = 1\n'''\n[vars]\nUPSTREAM = \"https://m\"\n"));
    }

    #[test]
    fn config_path_follows_wrangler_args() {
        let root = Path::new("/r");
        assert_eq!(config_path(root, &s(&["--config", "x.toml"])), Path::new("/r/x.toml"));
        assert_eq!(config_path(root, &s(&["-c", "/abs.toml"])), Path::new("/abs.toml"));
        assert_eq!(config_path(root, &s(&[])), Path::new("/r/wrangler.toml"));
    }
}
