// PocketGate's Worker entry (worker-build's `CUSTOM_SHIM`; `$…` placeholders are filled in by worker-build).
//
// A plain module Worker: `fetch` calls the Rust handler (src/worker/entry.rs) directly. The handler answers
// synchronously when no I/O is needed (a cached token at /_gate/auth, a refusal); for a new token it returns
// WebCrypto's verify promise and leaves the parked request's number for `parked()`; the promise is chained here
// to `resume`. Otherwise it returns a Promise (a Rust future; `parked()` is then 0). So the hot path has no class
// instance, Proxy or microtask per request (worker-build's default entry has all three), and a new token no Rust
// future. `ctx` goes to Rust as is: it is only used to keep a background key refresh alive (`waitUntil`).
//
// A WebAssembly trap (a Rust panic: `panic = "abort"`) leaves the instance's state undefined. The request that
// hit it fails with a 500 (closed), and before anything else runs the gate moves to a fresh instance (caches are
// lost, nothing else) of a new generation. Nothing of the old generation reaches the new instance:
// - a parked request's WebCrypto verdict is chained to `resume` only while its generation is current; otherwise
//   the request gets a closed 500 without any call into WebAssembly (its number may belong to a request of the
//   new instance);
// - requests answered by a Rust future of the old instance get the same closed 500 when their generation ends
//   (their futures never run again);
// - wasm-bindgen's glue numbers its instances: the reset goes through the glue's own `__wbg_reset_state` (run by
//   its next call once its reinit hook was called), after which every closure of the old instance (promise
//   callbacks of pending fetches and key imports, `Delay` timers, the futures' task queue) throws instead of
//   calling into the new instance, and the old closures' finalizers skip their destructors.
// Traps inside a callback (a Rust future polled from a microtask or a timer) reach the global `error` and
// `unhandledrejection` events, and end the generation the same way.
import * as imports from "./index_bg.js";
import wasmModule from "./index.wasm";
$SNIPPET_JS_IMPORTS

const wasmImports = {
  "./index_bg.js": imports,
  $SNIPPET_WASM_IMPORTS
};

// The glue's `__wbg_reset_state` instantiates the module through these three names (free variables in the glue).
globalThis.wasmModule = wasmModule;
globalThis.__wbg_get_imports = () => wasmImports;
globalThis.wasmInstance = undefined;
const scheduleReset = Object.entries(imports).find(([name]) => name.startsWith("__wbg___wbindgen_reinit_"))?.[1];
if (typeof scheduleReset !== "function") {
  // A glue without the hook could not keep an old instance's callbacks out of a new one: refuse to start.
  throw new Error("the wasm-bindgen glue has no reinit hook (__wbindgen_reinit): traps could not be contained");
}

const STALE = "Cannot invoke closure from previous WASM instance";
const CLOSED = '{"code":"internal_error","message":"the gate restarted after an internal error; retry the request"}';

/** The current instance's generation (0 = the first instance). */
let generation = 0;
/** Calls into WebAssembly on the stack (a trap is only acted on once the outermost one has unwound). */
let depth = 0;
/** Set by a trap: the instance must be replaced before the next call. */
let broken = false;
/** Requests of the current generation waiting for a Rust future: each one's `close` (answers it with `closed()`). */
let waiting = new Set();

function closed() {
  return new Response(CLOSED, {
    status: 500,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

const first = new WebAssembly.Instance(wasmModule, wasmImports);
imports.__wbg_set_wasm(first.exports);
first.exports.__wbindgen_start?.();

/** A trap was seen: end the generation now (its waiting requests are closed), replace the instance when safe. */
function trap() {
  if (!broken) {
    broken = true;
    generation++;
    const old = waiting;
    waiting = new Set();
    for (const close of old) close();
    console.error(JSON.stringify({ event: "wasm_reset", message: "a WebAssembly trap reset the gate's state" }));
  }
  if (depth === 0) replace();
}

/** The glue's reset: a new instance, every closure and finalizer of the old one disarmed. Only with no call into
 * WebAssembly on the stack (their `finally` clauses use the glue's current instance). */
function replace() {
  scheduleReset();
  // A glue export without a return area, so the reset runs before any other use of the instance.
  imports.__worker_init_state();
  broken = false;
}

/** `f()` (a call into WebAssembly) with traps contained. */
function enter(f) {
  depth++;
  try {
    return f();
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) trap();
    throw e;
  } finally {
    if (--depth === 0 && broken) replace();
  }
}

/** `answer` (a Rust future's Promise), or a closed 500 when its generation ends first (it would never settle). The
 * 500 is built in the request's own continuation: a Response made while another request traps belongs to that one. */
function guard(answer) {
  const set = waiting;
  return new Promise((resolve, reject) => {
    const close = () => resolve(null);
    set.add(close);
    answer.then(
      (response) => {
        set.delete(close);
        resolve(response);
      },
      (error) => {
        set.delete(close);
        reject(error);
      },
    );
  }).then((response) => response ?? closed());
}

addEventListener("error", (event) => {
  if (event.error instanceof WebAssembly.RuntimeError) trap();
});
addEventListener("unhandledrejection", (event) => {
  if (event.reason instanceof WebAssembly.RuntimeError) trap();
  // An old instance's callback refused by the glue: expected after a reset, not an error.
  else if (event.reason instanceof Error && event.reason.message === STALE) event.preventDefault();
});

export default {
  fetch(request, env, ctx) {
    if (broken) {
      // (Only a call from inside WebAssembly could find the instance broken and not yet replaced.)
      if (depth > 0) return closed();
      replace();
    }
    // `enter`, inlined: no closure on the hot path.
    let answer, parked = 0;
    depth++;
    try {
      answer = imports.fetch(request, env, ctx);
      if (!(answer instanceof Response)) parked = imports.parked();
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) trap();
      throw e;
    } finally {
      if (--depth === 0 && broken) replace();
    }
    if (answer instanceof Response) return answer;
    if (parked === 0) return guard(answer);
    // WebCrypto's verify promise for parked request `parked - 1`: Rust reads the settled value itself. The verdict
    // settles whatever happens to the instance; only its own generation may resume with it.
    const id = parked - 1;
    const g = generation;
    const resume = (value, fulfilled) => (g === generation ? enter(() => imports.resume(id, value, fulfilled)) : closed());
    return answer.then((value) => resume(value, true), (reason) => resume(reason, false));
  },
};
