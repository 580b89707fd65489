// The built Worker (build/index.js from `worker-build`) running in real workerd through miniflare's API,
// listening on 127.0.0.1 (random port).
import { ROOT, WORKER_SCRIPT, need, toolRequire } from "./env.mjs";
import { join } from "node:path";

const { Miniflare, Log, LogLevel } = toolRequire("miniflare");

/** Start the gate with `vars` (strings). Returns { url, fetch(path, init), dispose(), logs }. */
export async function startGate(vars) {
  need(WORKER_SCRIPT, "build the Worker first: `cargo xtask build` (or worker-build --release --no-default-features --features worker)");
  const logs = [];
  const mf = new Miniflare({
    modules: true,
    scriptPath: WORKER_SCRIPT,
    modulesRoot: join(ROOT, "build"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
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
