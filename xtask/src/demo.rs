//! `cargo xtask demo [--check] [--port N] [-- <wrangler dev args>]`: the labelled dev issuer, a stand-in upstream
//! and the gate in front of it, with ready-to-paste curl lines (tools/demo.mjs does the work; its arguments,
//! `--` included, are passed as given).

use crate::dev::need_tool;
use crate::util::{Paths, Result, header, run};

/// Run the demo (after `setup`, which is quick once everything is installed, so the demo is the one command a
/// newcomer needs); `--check` makes the allow/deny requests itself and exits.
pub fn demo(paths: &Paths, args: &[String]) -> Result {
    crate::setup::setup(paths)?;
    let node = paths.node22_bin.join("node");
    need_tool(&node)?;
    need_tool(&paths.npm_bin.join("wrangler"))?;
    need_tool(&paths.tools_bin.join("worker-build"))?;
    header("demo: dev issuer + stand-in upstream + gate (wrangler dev)");
    let mut c = paths.cmd(node);
    c.arg(paths.root.join("tools/demo.mjs")).args(args);
    run("demo", c)
}
