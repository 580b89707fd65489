// The built Worker (build/index.js from `worker-build`) running in real workerd through miniflare's API,
// listening on 127.0.0.1 (random port).
import { ROOT, WORKER_SCRIPT, need, toolRequire } from "../../../tools/js/env.mjs";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const { Miniflare, Log, LogLevel } = toolRequire("miniflare");

/** Test-only entry module wrapping the built Worker with hooks (clock, held WebCrypto verdicts, a forced trap). */
const HOOKS = join(dirname(fileURLToPath(import.meta.url)), "hooks-entry.mjs");

/** Start the gate with `vars` (strings). Returns { url, fetch(path, init), dispose(), logs }. `hooks`: enter through
 * support/hooks-entry.mjs (tests only; the Worker itself is the same build). */
export async function startGate(vars, { hooks = false } = {}) {
  need(WORKER_SCRIPT, "build the Worker first: `cargo xtask build` (or worker-build --release --no-default-features --features worker)");
  const logs = [];
  // (With a script of its own, build/index.js is an import: it needs the ES module rule.)
  const entry = hooks
    ? { script: readFileSync(HOOKS, "utf8"), scriptPath: join(ROOT, "build/__test_hooks_entry.mjs") }
    : { scriptPath: WORKER_SCRIPT };
  const esm = hooks ? [{ type: "ESModule", include: ["**/*.js", "**/*.mjs"] }] : [];
  const mf = new Miniflare({
    modules: true,
    ...entry,
    modulesRoot: join(ROOT, "build"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }, ...esm],
    compatibilityDate: "2025-09-01",
    bindings: vars,
    host: "127.0.0.1",
    port: 0,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
    },
  });
  const url = String(await mf.ready).replace(/\/$/, "");
  return {
    url,
    logs,
    mf,
    fetch: (path, init) => fetch(url + path, init),
    dispose: () => mf.dispose(),
  };
}

/** `fetch` through the gate with a bearer token. */
export function bearer(token, extra = {}) {
  return { headers: { authorization: `Bearer ${token}`, ...extra } };
}
