//! `cargo xtask dev [-- <wrangler dev args>]`: build and run the gate in workerd (`wrangler dev`) on
//! 127.0.0.1:8787; arguments such as `--port 8788` or `--var NAME:VALUE` are passed through.

use crate::util::{Paths, Result, header, run};

/// The tool a command needs, or an error saying how to install it.
pub fn need_tool(path: &std::path::Path) -> Result {
    if path.exists() { Ok(()) } else { Err(format!("{} is missing; run `cargo xtask setup`", path.display())) }
}

/// Run `wrangler dev` (its `[build]` runs worker-build with the local wasm-bindgen/wasm-opt/esbuild).
pub fn dev(paths: &Paths, args: &[String]) -> Result {
    let wrangler = paths.npm_bin.join("wrangler");
    need_tool(&wrangler)?;
    need_tool(&paths.tools_bin.join("worker-build"))?;
    need_tool(&paths.node22_bin.join("node"))?;
    header("dev: wrangler dev (workerd) on 127.0.0.1");
    let mut c = paths.cmd(paths.node22_bin.join("node"));
    c.arg(wrangler).arg("dev");
    if !args.iter().any(|a| a == "--ip" || a.starts_with("--ip=")) {
        c.args(["--ip", "127.0.0.1"]);
    }
    if !args.iter().any(|a| a == "--port" || a.starts_with("--port=")) {
        c.args(["--port", "8787"]);
    }
    c.args(args);
    run("wrangler dev", c)
}
