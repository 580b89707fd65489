//! `cargo xtask test`: setup, then every check in order; the first failure stops the run and is named.
//! The last line is always `N passed, M failed`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build;
use crate::counts::Counts;
use crate::setup::{self, TRAEFIK_TARGET};
use crate::util::{Paths, Result, header, in_ci, run, run_streaming};

/// Features of the wasm test run (WebCrypto backend plus the RustCrypto fallback), over every integration test:
/// the native-only ones (ring, files, processes) compile to nothing on wasm32, the others run under Node 22.
const WASM_TEST_FEATURES: &str = "webcrypto,rustcrypto";

/// Cargo's runner for wasm32-wasip1 test binaries, in the repository (cargo splits the runner at spaces).
const WASI_RUNNER: &str = "tests/wasi/run.mjs";

/// Every wasm32 build flavour at once (Worker adapter, page exports, both backends) for the wasm clippy step.
const WASM_CLIPPY_FEATURES: &str = "worker,web,rustcrypto";

/// Run everything; exits the process non-zero on the first failure, after the summary line.
pub fn test(paths: &Paths) -> Result {
    let mut counts = Counts::default();
    let outcome = steps(paths, &mut counts);
    println!();
    if let Err(msg) = &outcome {
        // Earlier steps all passed, so any failed count is this step's. A failing step that reported no failed
        // test (fmt, clippy, a build error) counts as one failure.
        if counts.failed == 0 {
            counts.failed += 1;
        }
        println!("FAILED: {msg}");
    } else {
        println!("all steps passed");
    }
    println!("{}", counts.summary());
    match outcome {
        Ok(()) => Ok(()),
        Err(_) => std::process::exit(1),
    }
}

fn steps(paths: &Paths, counts: &mut Counts) -> Result {
    setup::setup(paths).map_err(|e| format!("step `setup`: {e}"))?;
    vectors(paths)?;

    step("cargo fmt --check", || {
        let mut c = paths.cmd(env!("CARGO"));
        c.args(["fmt", "--all", "--check"]);
        run("cargo fmt --check (run `cargo fmt --all` to fix)", c)
    })?;
    step("clippy", || {
        let mut c = paths.cmd(env!("CARGO"));
        // `pocketgate/check`: `pocketgate check` (src/check/) is native-only behind its feature; lint it too.
        c.args(["clippy", "--workspace", "--all-targets", "--features", "pocketgate/check", "--", "-D", "warnings"]);
        run("cargo clippy", c)
    })?;
    step("clippy (wasm32-wasip1: Traefik plugin)", || {
        let mut c = paths.cmd(env!("CARGO"));
        c.args(["clippy", "--target", TRAEFIK_TARGET, "--no-default-features", "--features", "traefik"]);
        c.args(["--lib", "--bins", "--", "-D", "warnings"]);
        run("cargo clippy (wasm32-wasip1)", c)
    })?;
    step("clippy (wasm32: Worker, page, wasm tests)", || {
        let mut c = paths.cmd(env!("CARGO"));
        c.args(["clippy", "--target", "wasm32-unknown-unknown", "--no-default-features", "--features"]);
        c.args([WASM_CLIPPY_FEATURES, "--lib", "--tests", "--", "-D", "warnings"]);
        run("cargo clippy (wasm32)", c)
    })?;
    counted("native tests", counts, || {
        let mut c = paths.cmd(env!("CARGO"));
        c.args(["test", "--workspace", "--features", "pocketgate/check"]);
        c
    })?;
    counted("wasm tests (Node 22, wasm-bindgen-test-runner)", counts, || {
        let mut c = paths.cmd(env!("CARGO"));
        c.args(["test", "--target", "wasm32-unknown-unknown", "--no-default-features", "--features"]);
        c.args([WASM_TEST_FEATURES, "--tests"]);
        c.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", paths.tools_bin.join("wasm-bindgen-test-runner"));
        c
    })?;
    counted("wasm32-wasip1 tests (the Traefik plugin's ring and RustCrypto under Node's WASI)", counts, || {
        let mut c = paths.cmd(env!("CARGO"));
        c.args(["test", "--target", TRAEFIK_TARGET, "--no-default-features", "--features", "traefik"]);
        c.args(["--test", "wycheproof", "--test", "ring_differential"]);
        // --single-threaded: see tests/wasi/run.mjs (V8's background threads crash on the Wycheproof binary).
        let runner = format!(
            "{} --no-warnings --single-threaded {}",
            paths.node22_bin.join("node").display(),
            paths.root.join(WASI_RUNNER).display()
        );
        c.env("CARGO_TARGET_WASM32_WASIP1_RUNNER", runner);
        c
    })?;
    if paths.root.join("wrangler.toml").is_file() {
        step("Worker build", || build::worker(paths).map(drop))?;
    }
    if paths.root.join("www").is_dir() {
        step("page build", || build::page(paths).map(drop))?;
    }
    // After the Worker build, which empties build/.
    step("Traefik plugin build", || build::traefik(paths).map(drop))?;
    // tests/e2e/live-check*.test.mjs runs `pocketgate check` as an operator does (POCKETGATE_BIN).
    let mut check_bin = None;
    step("pocketgate build", || build::check_binary_dev(paths).map(|p| check_bin = Some(p)))?;
    e2e(paths, counts, check_bin)
}

/// Under CI the Wycheproof vectors must be there; elsewhere their absence is announced loudly.
fn vectors(paths: &Paths) -> Result {
    header("check: Wycheproof vectors");
    let dir = &paths.wycheproof;
    if dir.is_dir() {
        println!("WYCHEPROOF_DIR={}", dir.display());
        Ok(())
    } else if in_ci() {
        Err(format!("step `vectors`: CI=true and the Wycheproof vectors are missing at {}", dir.display()))
    } else {
        println!("WARNING: Wycheproof vectors missing at {}: vector tests will report this", dir.display());
        Ok(())
    }
}

fn step(name: &str, f: impl FnOnce() -> Result) -> Result {
    header(&format!("test: {name}"));
    f().map_err(|e| format!("step `{name}`: {e}"))
}

/// A step whose runner prints counts.
fn counted(name: &str, counts: &mut Counts, make: impl FnOnce() -> Command) -> Result {
    header(&format!("test: {name}"));
    let ok = run_streaming(name, make(), |line| counts.feed(line)).map_err(|e| format!("step `{name}`: {e}"))?;
    if ok { Ok(()) } else { Err(format!("step `{name}` failed")) }
}

/// `node --test` over the end-to-end suites in tests/e2e/, when that directory exists.
fn e2e(paths: &Paths, counts: &mut Counts, check_bin: Option<PathBuf>) -> Result {
    let dir = paths.root.join("tests/e2e");
    if !dir.is_dir() {
        println!("\n(no tests/e2e/: end-to-end suites skipped)");
        return Ok(());
    }
    let mut files = Vec::new();
    collect_node_tests(&dir, &mut files);
    files.sort();
    if files.is_empty() {
        return Err("step `e2e`: tests/e2e/ exists but holds no test file (*.test.js / *.test.mjs / ...)".into());
    }
    counted("end-to-end (node --test, Node 22)", counts, || {
        let mut c = paths.cmd(paths.node22_bin.join("node"));
        // `--test-force-exit`: a file whose test timed out ends once its tests are done, even with that test's
        // servers and sockets still open (tools/js/child.mjs kills its children when the process exits), so one
        // hung test fails the run instead of holding it until CI's own limit.
        c.args(["--test", "--test-reporter=tap", "--test-force-exit"]);
        c.args(files.iter().map(|f| f.strip_prefix(&paths.root).unwrap_or(f)));
        if let Some(bin) = &check_bin {
            c.env("POCKETGATE_BIN", bin);
        }
        c
    })
}

/// Files node's test runner would pick by default: `*.test.*`, `*-test.*`, `*_test.*`, `test-*.*`, `test.*`
/// with a js/mjs/cjs extension; node_modules and dot-directories are skipped.
fn collect_node_tests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "node_modules" && !name.starts_with('.') {
                collect_node_tests(&path, out);
            }
        } else if is_node_test(&name) {
            out.push(path);
        }
    }
}

fn is_node_test(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else { return false };
    if !matches!(ext, "js" | "mjs" | "cjs") {
        return false;
    }
    stem == "test"
        || stem.starts_with("test-")
        || stem.ends_with(".test")
        || stem.ends_with("-test")
        || stem.ends_with("_test")
}

#[cfg(test)]
mod tests {
    use super::is_node_test;

    #[test]
    fn picks_node_test_files_by_node_naming() {
        for yes in ["gate.test.mjs", "test.js", "test-worker.cjs", "page-test.js", "cache_test.mjs"] {
            assert!(is_node_test(yes), "{yes}");
        }
        for no in ["helpers.mjs", "gate.test.ts", "fixtures.json", "testing.js", "contest.js"] {
            assert!(!is_node_test(no), "{no}");
        }
    }
}
