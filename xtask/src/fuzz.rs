//! `cargo xtask fuzz [--time N] [--lock FILE] [target…]`: seed the corpora, build the cargo-fuzz targets (fuzz/,
//! nightly) and run each for N seconds (default 60), one at a time; a summary of libFuzzer's figures at the end.
//!
//! Not part of `cargo xtask test` (seven targets × 60 s does not fit its budget): long runs are recorded in
//! FUZZING.md. A crash fails the command and names the reproducer under fuzz/artifacts/.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::util::{Paths, Result, flush, header, output, run, show, take_lock};

/// Every fuzz target (fuzz/fuzz_targets/<name>.rs).
pub const TARGETS: [&str; 7] = ["token", "verify", "jwks", "config", "groups", "path", "setup"];
/// Seconds per target when `--time` is not given.
pub const DEFAULT_SECONDS: u64 = 60;
/// cargo-fuzz, installed into the tool cache like the other cargo tools.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// No sanitizer (the crate forbids `unsafe`; ASan would halve the executions), debug assertions on.
const BUILD_FLAGS: &[&str] = &["-s", "none", "-a"];

/// libFuzzer's final figures for one target.
#[derive(Debug, Default)]
struct Figures {
    execs: String,
    exec_per_s: String,
    cov: String,
    ft: String,
    corpus: String,
}

/// Parse `--time N`, `--lock FILE` and target names, then seed, build and run.
pub fn fuzz(paths: &Paths, args: &[String]) -> Result {
    let (lock, args) = take_lock(args)?;
    let mut seconds = DEFAULT_SECONDS;
    let mut targets: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--time" => {
                let v = it.next().ok_or("--time needs a number of seconds")?;
                seconds = v.parse().map_err(|_| format!("--time {v:?}: not a whole number of seconds"))?;
            }
            name => match TARGETS.iter().find(|t| **t == name) {
                Some(t) => targets.push(t),
                None => return Err(format!("unknown fuzz target {name:?}; targets: {}", TARGETS.join(", "))),
            },
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    prerequisites(paths)?;
    header("fuzz: seed corpora (fuzz/corpus, from tests/support and Wycheproof)");
    let mut seed = paths.cmd(env!("CARGO"));
    seed.args(["run", "-q", "--example", "fuzz_seed", "--"]).arg(paths.root.join("fuzz/corpus")).arg(&paths.wycheproof);
    run("seeding the fuzz corpora", seed)?;
    header("fuzz: build (cargo +nightly fuzz build)");
    let mut build = nightly_fuzz(paths, None);
    build.arg("build").args(BUILD_FLAGS);
    run("cargo fuzz build", build)?;
    let mut summary = Vec::new();
    for target in targets {
        header(&format!("fuzz: {target} for {seconds} s"));
        let mut c = nightly_fuzz(paths, lock.as_deref());
        c.args(["run"]).args(BUILD_FLAGS).arg(target).arg(paths.root.join("fuzz/corpus").join(target));
        c.args(["--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"]);
        summary.push((target, run_target(target, c)?));
    }
    println!("\nfuzz summary ({seconds} s per target; figures from libFuzzer):");
    println!("{:<8} {:>12} {:>9} {:>6} {:>7} {:>14}", "target", "executions", "exec/s", "cov", "ft", "corpus");
    for (t, f) in &summary {
        println!("{t:<8} {:>12} {:>9} {:>6} {:>7} {:>14}", f.execs, f.exec_per_s, f.cov, f.ft, f.corpus);
    }
    Ok(())
}

/// The nightly toolchain and cargo-fuzz: say exactly what is missing; install cargo-fuzz (crates.io) if needed.
fn prerequisites(paths: &Paths) -> Result {
    header("fuzz: prerequisites");
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"]))
        .ok_or("rustup is not available: fuzzing needs rustup with a nightly toolchain")?;
    if !toolchains.lines().any(|l| l.starts_with("nightly")) {
        return Err("the nightly toolchain is missing (cargo-fuzz needs it): run `rustup toolchain install nightly \
                    --profile minimal`, then `cargo xtask fuzz` again"
            .into());
    }
    println!("ok: nightly toolchain");
    let cargo_fuzz = paths.tools_bin.join("cargo-fuzz");
    let version = output(Command::new(&cargo_fuzz).arg("--version")).unwrap_or_default();
    if version.ends_with(CARGO_FUZZ_VERSION) {
        println!("ok: {version}");
    } else {
        let mut c = Command::new(env!("CARGO"));
        c.args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ_VERSION, "--root"]).arg(&paths.tools_root);
        run("cargo install cargo-fuzz (crates.io)", c)?;
    }
    if !paths.wycheproof.join("json_web_signature_test.json").is_file() {
        return Err(format!(
            "the Wycheproof vectors are missing: expected {}/json_web_signature_test.json (the seeds read them in place)",
            paths.wycheproof.display()
        ));
    }
    println!("ok: Wycheproof vectors in {}", paths.wycheproof.display());
    Ok(())
}

/// `[flock LOCK] cargo +nightly fuzz …` from the repository root, with the tool cache (cargo-fuzz) on PATH.
fn nightly_fuzz(paths: &Paths, lock: Option<&str>) -> Command {
    let mut c = paths.locked(lock, "cargo");
    c.args(["+nightly", "fuzz"]);
    // The stable toolchain of `cargo xtask` must not leak into the nightly build.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_TARGET_DIR"] {
        c.env_remove(var);
    }
    c
}

/// Run one target, echoing libFuzzer's progress lines (not every new unit) and keeping its final figures.
fn run_target(target: &str, mut cmd: Command) -> Result<Figures> {
    println!("$ {}", show(&cmd));
    flush();
    cmd.stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("fuzz {target}: could not start: {e}"))?;
    let mut figures = Figures::default();
    let mut crash = Vec::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(std::result::Result::ok) {
            // Status lines look like `#79082\tDONE   cov: 256 ft: 664 corp: 185/35Kb …`.
            let kind = line.starts_with('#').then(|| line.split_whitespace().nth(1)).flatten().unwrap_or("");
            if !matches!(kind, "NEW" | "REDUCE")
                && !line.starts_with("INFO:")
                && !line.trim_start().starts_with("NEW_FUNC")
            {
                eprintln!("{line}");
            }
            if matches!(kind, "DONE" | "pulse" | "INITED") {
                figures.cov = field(&line, "cov:").unwrap_or_default();
                figures.ft = field(&line, "ft:").unwrap_or_default();
                figures.corpus = field(&line, "corp:").unwrap_or_default();
                figures.exec_per_s = field(&line, "exec/s:").unwrap_or_default();
            }
            if let Some(n) = line.strip_prefix("stat::number_of_executed_units: ") {
                figures.execs = n.trim().to_owned();
            }
            if let Some(n) = line.strip_prefix("stat::average_exec_per_sec: ") {
                figures.exec_per_s = n.trim().to_owned();
            }
            if line.contains("panicked at") || line.contains("Test unit written to") || line.contains("SUMMARY:") {
                crash.push(line);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("fuzz {target}: waiting failed: {e}"))?;
    if !status.success() || !crash.is_empty() {
        return Err(format!("fuzz {target} found a problem ({status}):\n  {}", crash.join("\n  ")));
    }
    Ok(figures)
}

/// The value after `name` in a libFuzzer status line (`cov: 978 ft: 2364 corp: 607/105Kb …`).
fn field(line: &str, name: &str) -> Option<String> {
    let rest = &line[line.find(name)? + name.len()..];
    rest.split_whitespace().next().map(str::to_owned)
}
