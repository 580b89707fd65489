//! `cargo xtask build`: the native library and the `pocketgate` command (`pocketgate check`), the wasm core, (when
//! their files exist) the Worker and the page, and the Traefik plugin's folder.

use std::path::{Path, PathBuf};

use crate::setup::TRAEFIK_TARGET;
use crate::sizes;
use crate::util::{Paths, Result, header, run, wasm_lower_bulk_memory, wasm_opt};

/// Features of the wasm core build.
pub const CORE_FEATURES: &str = "webcrypto";
/// Cargo arguments worker-build passes on for the Worker build.
pub const WORKER_CARGO_ARGS: &[&str] = &["--no-default-features", "--features", "worker"];

/// Cargo arguments of the Traefik plugin build.
pub const TRAEFIK_CARGO_ARGS: &[&str] = &[
    "--release",
    "--target",
    TRAEFIK_TARGET,
    "--no-default-features",
    "--features",
    "traefik",
    "--bin",
    "pocketgate-traefik",
];
/// The local-plugin folder Traefik loads (`experimental.localPlugins.pocketgate.moduleName: pocketgate`, with
/// `plugins-local/` in Traefik's working directory).
pub const TRAEFIK_PLUGIN_DIR: &str = "build/traefik/plugins-local/src/pocketgate";

/// The native build's features: the library, and `pocketgate` (src/bin/pocketgate.rs, `pocketgate check`), which
/// needs the native-only feature `check` (the Worker, the page and the plugin never build it).
pub const NATIVE_FEATURES: &str = "check";

/// Everything, then the size table.
pub fn build(paths: &Paths) -> Result {
    native(paths)?;
    let mut report = vec![core(paths)?];
    if let Some(worker) = worker(paths)? {
        report.push(worker);
    }
    if let Some(page) = page(paths)? {
        report.push(page);
    }
    // After the Worker: worker-build empties build/.
    report.push(traefik(paths)?);
    header("wasm sizes (release)");
    sizes::print(paths, &report)
}

fn native(paths: &Paths) -> Result {
    header("build: native (cargo build --release --features check: the library and `pocketgate`)");
    let mut c = paths.cmd(env!("CARGO"));
    c.args(["build", "--release", "--features", NATIVE_FEATURES]);
    run("native build", c)?;
    println!("pocketgate check: {}", check_binary_path(paths).display());
    Ok(())
}

/// Where the native build leaves `pocketgate`.
pub fn check_binary_path(paths: &Paths) -> PathBuf {
    paths.target.join("release/pocketgate")
}

/// `pocketgate` alone, in the dev profile, for the end-to-end suites (tests/e2e/live-check*.test.mjs): it reuses
/// what `cargo test --features pocketgate/check` compiled, where the release build (LTO) would take minutes.
pub fn check_binary_dev(paths: &Paths) -> Result<PathBuf> {
    header("build: pocketgate for the tests (cargo build --features check --bin pocketgate)");
    let mut c = paths.cmd(env!("CARGO"));
    c.args(["build", "--features", NATIVE_FEATURES, "--bin", "pocketgate"]);
    run("pocketgate build", c)?;
    Ok(paths.target.join("debug/pocketgate"))
}

fn wasm_artifact(paths: &Paths) -> PathBuf {
    paths.target.join("wasm32-unknown-unknown/release/pocketgate.wasm")
}

/// The core for wasm32 with the WebCrypto backend. Returns the label and a copy of the artifact (later builds
/// with other features overwrite the original).
pub fn core(paths: &Paths) -> Result<(String, PathBuf)> {
    header("build: wasm core (webcrypto)");
    let mut c = paths.cmd(env!("CARGO"));
    c.args(["build", "--target", "wasm32-unknown-unknown", "--release", "--no-default-features", "--features"]);
    c.arg(CORE_FEATURES);
    run("wasm core build", c)?;
    let keep = paths.target.join("xtask/pocketgate-core.wasm");
    copy(&wasm_artifact(paths), &keep)?;
    Ok(("core (cargo build, no wasm-bindgen)".into(), keep))
}

/// The Worker, when `wrangler.toml` exists: `worker-build --release` into `build/`.
pub fn worker(paths: &Paths) -> Result<Option<(String, PathBuf)>> {
    if !paths.root.join("wrangler.toml").is_file() {
        println!("\n(no wrangler.toml: Worker build skipped)");
        return Ok(None);
    }
    header("build: Worker (worker-build --release, entry src/worker/shim.js)");
    // worker-build swaps its new files in without removing old ones: a stale module must not be left behind.
    let out = paths.root.join("build");
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(|e| format!("cannot remove {}: {e}", out.display()))?;
    }
    let mut c = paths.cmd(paths.tools_bin.join("worker-build"));
    c.arg("--release").args(WORKER_CARGO_ARGS);
    run("Worker build", c)?;
    let wasm = find_wasm(&paths.root.join("build"))
        .ok_or("worker-build finished but left no .wasm under build/".to_string())?;
    Ok(Some(("Worker (worker-build, wasm-opt)".into(), wasm)))
}

/// The Traefik plugin: `plugin.wasm` (the release build after `wasm-opt -Oz` — 8 KB gzip smaller, which keeps it
/// under its 150 KB gzip budget with ring inside — and with `memory.copy` and `memory.fill` then lowered to loops,
/// [`wasm_lower_bulk_memory`]: wazero v1.8.0 under Go 1.24+ miscomputes around them) and `.traefik.yml`
/// (`src/traefik/traefik.yml`) in [`TRAEFIK_PLUGIN_DIR`]. The same cargo run links the bench's floor plugin
/// (bench/traefik/floor.rs, left in `target/`; bench/traefik.mjs and tests/e2e/bench-traefik.test.mjs load it).
/// Run it after [`worker`], which empties `build/`.
pub fn traefik(paths: &Paths) -> Result<(String, PathBuf)> {
    header(&format!("build: Traefik plugin ({TRAEFIK_TARGET}, feature traefik) → {TRAEFIK_PLUGIN_DIR}"));
    let mut c = paths.cmd(env!("CARGO"));
    c.arg("build").args(TRAEFIK_CARGO_ARGS).args(["--bin", "pocketgate-traefik-floor"]);
    run("Traefik plugin build", c)?;
    let dir = paths.root.join(TRAEFIK_PLUGIN_DIR);
    let wasm = dir.join("plugin.wasm");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let built = paths.target.join(TRAEFIK_TARGET).join("release/pocketgate-traefik.wasm");
    // -Oz first: its passes run before the lowering, so none can bring the bulk-memory instructions back.
    let small = paths.target.join("xtask/pocketgate-traefik.Oz.wasm");
    // A fresh clone has no target/xtask/ yet (wasm-opt does not create directories).
    if let Some(parent) = small.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    run("wasm-opt -Oz (Traefik plugin)", wasm_opt(paths, &built, &small))?;
    run("memory.copy/fill lowered to 8-byte loops (Traefik plugin)", wasm_lower_bulk_memory(paths, &small, &wasm))?;
    copy(&paths.root.join("src/traefik/traefik.yml"), &dir.join(".traefik.yml"))?;
    Ok(("Traefik plugin (plugin.wasm as shipped, after wasm-opt -Oz)".into(), wasm))
}

/// The setup page's module, when `www/` exists: `--features web`, wasm-bindgen `--target web` into `www/pkg`,
/// then `wasm-opt -Oz` in place.
pub fn page(paths: &Paths) -> Result<Option<(String, PathBuf)>> {
    if !paths.root.join("www").is_dir() {
        println!("\n(no www/: page build skipped)");
        return Ok(None);
    }
    header("build: page module (web → www/pkg)");
    let mut c = paths.cmd(env!("CARGO"));
    c.args(["build", "--target", "wasm32-unknown-unknown", "--release", "--no-default-features", "--features", "web"]);
    run("page wasm build", c)?;
    let out = paths.root.join("www/pkg");
    let mut bg = paths.cmd(paths.tools_bin.join("wasm-bindgen"));
    bg.args(["--target", "web", "--out-dir"]).arg(&out).arg(wasm_artifact(paths));
    run("wasm-bindgen (page)", bg)?;
    let wasm = out.join("pocketgate_bg.wasm");
    run("wasm-opt (page)", wasm_opt(paths, &wasm, &wasm))?;
    Ok(Some(("page (www/pkg, after wasm-bindgen + wasm-opt)".into(), wasm)))
}

fn copy(from: &Path, to: &Path) -> Result {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::copy(from, to).map(drop).map_err(|e| format!("cannot copy {}: {e}", from.display()))
}

/// The first `.wasm` file under `dir` (worker-build's layout has changed between releases).
fn find_wasm(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in &entries {
        if path.extension().is_some_and(|e| e == "wasm") {
            return Some(path.clone());
        }
    }
    entries.iter().filter(|p| p.is_dir()).find_map(|p| find_wasm(p))
}
