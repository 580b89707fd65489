//! `.wasm` size report: as built, after `wasm-opt -Oz` (npm binaryen), and that gzipped (`gzip -9`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{Paths, Result, run, size, wasm_opt};

/// Print one block per artifact.
pub fn print(paths: &Paths, artifacts: &[(String, PathBuf)]) -> Result {
    for (label, wasm) in artifacts {
        let raw = len(wasm)?;
        let name = wasm.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let opt = paths.target.join("xtask").join(format!("{name}.Oz.wasm"));
        run("wasm-opt -Oz", wasm_opt(paths, wasm, &opt))?;
        let optimized = len(&opt)?;
        let gz = gzip_len(&opt)?;
        println!("{label}: {}", wasm.display());
        println!("    as built       {}", size(raw));
        println!("    wasm-opt -Oz   {}", size(optimized));
        println!("    -Oz + gzip -9  {}", size(gz));
    }
    Ok(())
}

fn len(path: &Path) -> Result<u64> {
    fs::metadata(path).map(|m| m.len()).map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

/// Size of `gzip -9 -c <path>`.
fn gzip_len(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!("gzip {} failed ({})", path.display(), out.status));
    }
    Ok(out.stdout.len() as u64)
}
