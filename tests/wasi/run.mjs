// Cargo's runner for wasm32-wasip1 test binaries (CARGO_TARGET_WASM32_WASIP1_RUNNER): Node's WASI preview 1 with
// the host's file system at / (the Wycheproof vectors are read in place) and this process's environment and
// arguments; exits with the guest's exit code. Run it as `node --single-threaded tests/wasi/run.mjs` (cargo xtask
// test does): on the Wycheproof test binary (62 MB, its vectors embedded) Node 22 crashed (SIGSEGV, before any
// test ran) in 8 of 10 runs with V8's background threads, and in none of 10 without them. Functions are compiled
// when first called, so the binary starts in seconds.
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { WASI } from "node:wasi";

setFlagsFromString("--wasm-lazy-compilation");

const [wasm, ...args] = process.argv.slice(2);
if (!wasm) {
  process.stderr.write("usage: node tests/wasi/run.mjs FILE.wasm [args…]\n");
  process.exit(2);
}
const wasi = new WASI({ version: "preview1", args: [wasm, ...args], env: process.env, preopens: { "/": "/" },
  returnOnExit: true });
const instance = await WebAssembly.instantiate(await WebAssembly.compile(readFileSync(wasm)), wasi.getImportObject());
process.exitCode = wasi.start(instance);
