//! `cargo xtask soak [--minutes N] [--connections C] [--lock FILE] [--write]`: the release Worker in bare workerd
//! (as the benchmark runs it), driven at saturation by `wrk` with a mixed workload while a side client checks
//! verdicts (bench/soak/soak.mjs does the work). Not part of `cargo xtask test`.

use crate::build;
use crate::dev::need_tool;
use crate::setup;
use crate::util::{Paths, Result, header, run, take_lock};

/// Default duration, minutes.
const DEFAULT_MINUTES: &str = "10";

/// Build the Worker, then run the soak. `--lock FILE` holds `flock FILE` for the measured part only (the build
/// runs outside it); other arguments (`--minutes`, `--connections`, `--threads`, `--write`) go to soak.mjs.
pub fn soak(paths: &Paths, args: &[String]) -> Result {
    let (lock, args) = take_lock(args)?;
    let mut rest: Vec<String> = Vec::new();
    let mut minutes = DEFAULT_MINUTES.to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--minutes" => minutes = it.next().ok_or("--minutes needs a number")?.clone(),
            other => rest.push(other.to_owned()),
        }
    }
    if !minutes.parse::<f64>().is_ok_and(|m| m.is_finite() && m > 0.0) {
        return Err(format!("--minutes must be a positive number (got {minutes:?})"));
    }
    setup::setup(paths)?;
    build::worker(paths)?.ok_or("no wrangler.toml: there is no Worker to soak")?;
    let node = paths.node22_bin.join("node");
    need_tool(&node)?;
    need_tool(&paths.node_dir.join("node_modules/workerd/bin/workerd"))?;
    header(&format!("soak: {minutes} min under wrk (bench/soak/soak.mjs)"));
    let script = paths.root.join("bench/soak/soak.mjs");
    let mut c = paths.locked(lock.as_deref(), &node);
    c.arg(script).args(["--minutes", &minutes]).args(&rest);
    run("soak", c)
}
