//! `cargo xtask bench [--quick] [--lock FILE] [workerd|traefik] [--write ...] [criterion filter]`: the native
//! criterion benches (benches/core.rs), then the side-by-side Worker benchmark in workerd (bench/run.mjs:
//! passthrough vs PocketGate vs a `jose` Worker under wrk). `workerd` runs only the latter; a bare filter runs only
//! criterion. `traefik` runs only the Traefik plugin against its peers (bench/traefik.mjs), never by default.
//! `--lock FILE` holds `flock FILE` for the measured parts only (builds and token minting run outside it); other
//! `--options` (`--write`, `--rounds N`, `--duration S`, ...) go to the node script.

use crate::build;
use crate::dev::need_tool;
use crate::setup;
use crate::util::{Paths, Result, header, run, take_lock};

/// Settings that keep the full run to a few minutes on a 2-core machine.
const FULL: &[&str] = &["--warm-up-time", "1", "--measurement-time", "3"];
/// A smoke run: criterion's quick mode with tiny times.
const QUICK: &[&str] = &["--quick", "--warm-up-time", "0.2", "--measurement-time", "0.5"];

/// Options of bench/run.mjs that take a value.
const VALUE_OPTIONS: &[&str] = &[
    "--rounds",
    "--duration",
    "--warm",
    "--connections",
    "--algs",
    "--pool",
    "--cells",
    "--only",
    "--gate-dir",
    "--gate-vars",
    "--baseline",
    // bench/traefik.mjs
    "--loads",
    "--ways",
    "--jwt-middleware",
    "--requests",
    "--memory-ways",
    "--cpus",
    "--plugin-keys",
];

/// Run the benches (`quick`: a fast smoke run of each).
pub fn bench(paths: &Paths, quick: bool, extra: &[String]) -> Result {
    let (lock, extra) = take_lock(extra)?;
    let mut node_args: Vec<String> = Vec::new();
    let mut filter: Vec<String> = Vec::new();
    let mut workerd_only = false;
    let mut traefik_only = false;
    let mut it = extra.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "workerd" if filter.is_empty() && !workerd_only && !traefik_only => workerd_only = true,
            "traefik" if filter.is_empty() && !workerd_only && !traefik_only => traefik_only = true,
            o if o.starts_with("--") => {
                node_args.push(o.to_owned());
                if VALUE_OPTIONS.contains(&o) {
                    node_args.push(it.next().ok_or(format!("{o} needs a value"))?.clone());
                }
            }
            other => filter.push(other.to_owned()),
        }
    }
    if traefik_only {
        return traefik(paths, quick, &node_args, lock.as_deref());
    }
    if !workerd_only {
        criterion(paths, quick, &filter, lock.as_deref())?;
        if !filter.is_empty() {
            return Ok(());
        }
    }
    workerd(paths, quick, &node_args, lock.as_deref())
}

/// `cargo bench --bench core` with `filter` for criterion.
fn criterion(paths: &Paths, quick: bool, filter: &[String], lock: Option<&str>) -> Result {
    header(if quick { "bench: core (quick smoke run)" } else { "bench: core (criterion)" });
    let mut c = paths.locked(lock, env!("CARGO"));
    c.args(["bench", "--bench", "core", "--"]).args(if quick { QUICK } else { FULL }).arg("--noplot").args(filter);
    run("cargo bench --bench core", c)
}

/// The release Worker (worker-build, as `cargo xtask build` makes it), then bench/run.mjs: `--prepare` (jose
/// bundle, token pools) outside the lock, the measurements inside it.
fn workerd(paths: &Paths, quick: bool, node_args: &[String], lock: Option<&str>) -> Result {
    setup::setup(paths)?;
    build::worker(paths)?.ok_or("no wrangler.toml: there is no Worker to benchmark")?;
    let node = paths.node22_bin.join("node");
    need_tool(&node)?;
    need_tool(std::path::Path::new("/usr/bin/wrk"))?;
    let script = paths.root.join("bench/run.mjs");
    let quick_arg: &[&str] = if quick { &["--quick"] } else { &[] };
    header("bench: workerd — prepare (jose Worker bundle, token pools)");
    let mut prep = paths.cmd(&node);
    prep.arg(&script).arg("--prepare").args(quick_arg).args(node_args);
    run("bench/run.mjs --prepare", prep)?;
    header(if quick {
        "bench: workerd (quick smoke run)"
    } else {
        "bench: workerd (passthrough vs PocketGate vs jose)"
    });
    let mut c = paths.locked(lock, &node);
    c.arg(&script).args(quick_arg).args(node_args);
    run("bench/run.mjs", c)
}

/// The Worker (for forwardAuth), the plugin and the floor plugin (as `cargo xtask build` builds them), then
/// bench/traefik.mjs: `--prepare` (token pools) outside the lock, the measurements inside it.
fn traefik(paths: &Paths, quick: bool, node_args: &[String], lock: Option<&str>) -> Result {
    setup::setup(paths)?;
    build::worker(paths)?.ok_or("no wrangler.toml: there is no Worker for the forwardAuth cells")?;
    // The plugin and, in the same cargo run, the floor plugin.
    build::traefik(paths)?;
    let node = paths.node22_bin.join("node");
    need_tool(&node)?;
    need_tool(std::path::Path::new("/usr/bin/wrk"))?;
    let script = paths.root.join("bench/traefik.mjs");
    let quick_arg: &[&str] = if quick { &["--quick"] } else { &[] };
    header("bench: traefik — prepare (token pools, plugin folders)");
    let mut prep = paths.cmd(&node);
    prep.arg(&script).arg("--prepare").args(quick_arg).args(node_args);
    run("bench/traefik.mjs --prepare", prep)?;
    header(if quick { "bench: traefik (quick smoke run)" } else { "bench: traefik (the plugin against its peers)" });
    let mut c = paths.locked(lock, &node);
    c.arg(&script).args(quick_arg).args(node_args);
    run("bench/traefik.mjs", c)
}
