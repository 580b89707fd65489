// PocketGate's Worker entry (worker-build's `CUSTOM_SHIM`; `$…` placeholders are filled in by worker-build).
//
// A plain module Worker: `fetch` calls the Rust handler (src/worker/entry.rs) directly. The handler answers
// synchronously when no I/O is needed (a cached token at /_gate/auth, a refusal); for a new token it returns
// WebCrypto's verify promise with a parked-request number, chained here to `resume`; otherwise a Promise. So the
// hot path has no class instance, Proxy or microtask per request (worker-build's default entry has all three),
// and a new token no Rust future.
//
// A WebAssembly trap (a Rust panic: `panic = "abort"`) leaves the module's state undefined. The request that hit
// it fails with a 500 (closed), and the next request starts from a fresh instance: caches are lost, nothing else.
import * as imports from "./index_bg.js";
import wasmModule from "./index.wasm";
$SNIPPET_JS_IMPORTS

const wasmImports = {
  "./index_bg.js": imports,
  $SNIPPET_WASM_IMPORTS
};

let instance;
let broken = true;

function start() {
  if (instance) {
    // Detach the old memory's buffer (grow always does), so the glue's cached views of it are rebuilt.
    try {
      instance.exports.memory.grow(0);
    } catch {
      // The old instance is gone either way.
    }
    console.error(JSON.stringify({ event: "wasm_reset", message: "a WebAssembly trap reset the gate's state" }));
  }
  instance = new WebAssembly.Instance(wasmModule, wasmImports);
  imports.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  broken = false;
}

function trapped(e) {
  if (e instanceof WebAssembly.RuntimeError) broken = true;
  throw e;
}

start();

export default {
  fetch(request, env) {
    if (broken) start();
    try {
      const answer = imports.fetch(request, env);
      if (answer instanceof Response) return answer;
      if (answer instanceof Promise) return answer.catch(trapped);
      // [WebCrypto's verify promise, parked request]: Rust reads the settled value itself.
      const [verdict, id] = answer;
      return verdict
        .then((value) => imports.resume(id, value, true), (reason) => imports.resume(id, reason, false))
        .catch(trapped);
    } catch (e) {
      return trapped(e);
    }
  },
};
