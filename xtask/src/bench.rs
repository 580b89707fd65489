//! `cargo xtask bench`: the native criterion benches (benches/core.rs). Figures go to BENCHMARKS.md by hand.

use crate::util::{Paths, Result, header, run};

/// Settings that keep the full run to a few minutes on a 2-core machine.
const FULL: &[&str] = &["--warm-up-time", "1", "--measurement-time", "3"];
/// A smoke run: criterion's quick mode with tiny times.
const QUICK: &[&str] = &["--quick", "--warm-up-time", "0.2", "--measurement-time", "0.5"];

/// Run `cargo bench --bench core` (`quick`: a fast smoke run). Extra arguments (a filter) go to criterion.
pub fn bench(paths: &Paths, quick: bool, extra: &[String]) -> Result {
    header(if quick { "bench: core (quick smoke run)" } else { "bench: core (criterion)" });
    let mut c = paths.cmd(env!("CARGO"));
    c.args(["bench", "--bench", "core", "--"]).args(if quick { QUICK } else { FULL }).arg("--noplot").args(extra);
    run("cargo bench --bench core", c)
}
