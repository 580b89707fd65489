// Starting the gate — the Worker that `cargo xtask build` puts in build/ — one way per purpose (docs/DEVELOPING.md,
// "Starting the gate"):
//
//   tests        startGate / withGate   miniflare's API over real workerd: a random port, the Worker's log lines in
//                                       `gate.logs`, an optional test-only entry module; several gates per file
//   bench, soak  startGateWorkerd       the bare workerd binary from a generated config (writeGateConfig): nothing
//                                       between the load generator and the Worker, one process to measure
//   demo, dev    startDevGate           `wrangler dev`, as a developer runs the gate (`cargo xtask dev` runs
//                                       wrangler dev itself)
//
// and one way to ask it: `authAt(gate, …)` sends one forward-auth request as a proxy would.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startChild, untilReady } from "./child.mjs";
import { BUILD, NODE_MODULES, ROOT, WORKER_SCRIPT, compatibilityDate, need, toolRequire } from "./env.mjs";
import { freePort } from "./net.mjs";
import { serveArgs, startWorkerd, writeConfig } from "./workerd.mjs";

/** The forward-auth endpoint. */
export const AUTH_PATH = "/_gate/auth";
const HEALTHZ = "/_gate/healthz";
const BUILD_FIRST = "build the Worker first: `cargo xtask build`";

/** The variables of a gate trusting `issuer` (tools/js/issuer.mjs): its URL, its client id, the group its tokens
 * carry by default. */
export function trusting(issuer) {
  return { ISSUER: issuer.url, AUDIENCE: issuer.clientId, ALLOW_GROUPS: "netbird-users" };
}

// ---- tests: miniflare ---------------------------------------------------------------------------------------

/**
 * The gate with `vars` (strings) in real workerd through miniflare's API, on 127.0.0.1 (random port). `entry`: a
 * module (path or file URL) to enter through instead of build/index.js, which it imports as "./index.js" (tests'
 * hooks; the Worker itself is the same build). Returns { url, vars, logs, mf, fetch(path, init), dispose() }.
 */
export async function startGate(vars, { entry } = {}) {
  need(WORKER_SCRIPT, BUILD_FIRST);
  const { Miniflare } = toolRequire("miniflare");
  const logs = [];
  // (With a script of its own, build/index.js is an import: it needs the ES module rule.)
  const script = entry
    ? { script: readFileSync(entry, "utf8"), scriptPath: join(BUILD, "__entry.mjs") }
    : { scriptPath: WORKER_SCRIPT };
  const esm = entry ? [{ type: "ESModule", include: ["**/*.js", "**/*.mjs"] }] : [];
  const mf = new Miniflare({
    modules: true,
    ...script,
    modulesRoot: BUILD,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }, ...esm],
    compatibilityDate: compatibilityDate(),
    bindings: vars,
    host: "127.0.0.1",
    port: 0,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
    },
  });
  const url = String(await mf.ready).replace(/\/$/, "");
  return { url, vars, logs, mf, fetch: (path, init) => fetch(url + path, init), dispose: () => mf.dispose() };
}

/**
 * Start a gate (startGate) with `vars` — under them, the variables `trusting(trust)` when `trust` is an issuer —
 * run `fn(gate)`, and stop the gate whatever `fn` does. Resolves with what `fn` resolves with.
 */
export async function withGate({ vars = {}, trust, entry } = {}, fn) {
  const gate = await startGate(trust ? { ...trusting(trust), ...vars } : vars, { entry });
  try {
    return await fn(gate);
  } finally {
    await gate.dispose();
  }
}

// ---- asking the gate ----------------------------------------------------------------------------------------

/**
 * The headers of one forward-auth request: the original request's `method` and `uri` in the family a proxy sends
 * (`family` "nginx": X-Original-Method / -Uri, as nginx's auth_request snippets set them; otherwise X-Forwarded-*,
 * as Caddy and Traefik do), and `token` as `scheme` credentials. A `null` method or uri, or no token, is left out.
 */
export function forwardAuthHeaders({ method = "GET", uri = "/api/peers", token, scheme = "Bearer", family } = {}) {
  const prefix = family === "nginx" ? "x-original" : "x-forwarded";
  const h = {};
  if (method !== null) h[`${prefix}-method`] = method;
  if (uri !== null) h[`${prefix}-uri`] = uri;
  if (token !== undefined && token !== null) h.authorization = `${scheme} ${token}`;
  return h;
}

/**
 * One forward-auth request to `gate` (anything with a `url`), as a proxy sends it: forwardAuthHeaders in the family
 * the gate reads (X-Original-* for a gate started with FORWARDED_HEADERS=nginx), then `headers` (added, or
 * replacing those). `via`: the method of the call itself (GET; HEAD). Resolves with the whole answer:
 * { status, headers (a Headers), text, json (null when not JSON), code (json.code or null), user
 * (X-Auth-Request-User or null) }.
 */
export async function authAt(gate, { method, uri, token, scheme, headers = {}, via = "GET" } = {}) {
  const family = gate.vars?.FORWARDED_HEADERS;
  const r = await fetch(gate.url + AUTH_PATH, {
    method: via, headers: { ...forwardAuthHeaders({ method, uri, token, scheme, family }), ...headers },
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: `text` tells */ }
  return { status: r.status, headers: r.headers, text, json, code: json?.code ?? null, user: r.headers.get("x-auth-request-user") };
}

/** The status of GET `url` (body read, so the connection is free again). */
async function statusOf(url) {
  const r = await fetch(url);
  await r.arrayBuffer();
  return r.status;
}

// ---- bench and soak: bare workerd ---------------------------------------------------------------------------

/** worker-build's output the gate is made of: a re-export, the bundled entry module and glue, the wasm module.
 * These names are also what the setup page's self-hosted workerd configuration embeds. */
export const GATE_FILES = ["index.js", "worker/shim.mjs", "worker/index.wasm"];

/** Copy the gate's files from `from` (default build/) into `dir` and write its workerd config there (workerd.mjs
 * writeConfig) with `vars`, on 127.0.0.1:`port`. Returns the config's path. */
export function writeGateConfig(dir, vars, port, { from = BUILD } = {}) {
  mkdirSync(join(dir, "worker"), { recursive: true });
  for (const f of GATE_FILES) cpSync(need(join(from, f), BUILD_FIRST), join(dir, f));
  // Module names are the paths the imports resolve to (index.js → worker/shim.mjs → worker/index.wasm).
  const modules = GATE_FILES.map((f) => ({ name: f, path: f, kind: f.endsWith(".wasm") ? "wasm" : "esModule" }));
  return writeConfig(dir, modules, vars, port);
}

/**
 * The gate with `vars` in bare workerd, from a copy of `from` (default build/) in `dir` (later builds may rewrite
 * build/ while it runs), ready once /_gate/healthz answers 200. The Worker's console lines are discarded. `args`:
 * more arguments for `workerd serve` (e.g. `--inspector-addr=127.0.0.1:PORT`). Returns
 * { url, vars, proc, readyMs, output(), stop() }.
 */
export async function startGateWorkerd({ vars, dir, port, from = BUILD, args = [] }) {
  port ??= await freePort();
  const config = writeGateConfig(dir, vars, port, { from });
  const url = `http://127.0.0.1:${port}`;
  const wd = await startWorkerd(serveArgs(config, args), { cwd: dir, stdout: false, probe: () => statusOf(url + HEALTHZ) });
  return { ...wd, url, vars };
}

// ---- demo and dev: wrangler dev -----------------------------------------------------------------------------

/**
 * The gate under `wrangler dev` on 127.0.0.1:`port`, from wrangler.toml (its [build] runs worker-build first), or
 * with `prebuilt` from build/ as it is (no rebuild; the setup page's assets as wrangler.toml serves them). `vars`
 * become `--var` arguments, `args` go to wrangler dev as given (a `--port` among them is used instead of `port`).
 * `inherit`: wrangler prints to this process's terminal. Ready once /_gate/healthz answers 200 (the first build
 * takes minutes). Returns { url, proc, output(), exited(), stop() }; stopping ends wrangler's workerd too.
 */
export async function startDevGate({ vars, port, args = [], prebuilt = false, inherit = false, timeoutMs = 300_000 }) {
  const wrangler = need(join(NODE_MODULES, ".bin/wrangler"), "run `cargo xtask setup`");
  const config = prebuilt ? ["--config", prebuiltConfig()] : [];
  const hasPort = args.some((a) => a === "--port" || a.startsWith("--port="));
  const child = startChild(wrangler, [
    "dev", ...config, "--ip", "127.0.0.1", ...(hasPort ? [] : ["--port", String(port)]), "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]), ...args,
  ], { cwd: ROOT, inherit, group: true, env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } });
  const url = `http://127.0.0.1:${port}`;
  await untilReady(child, () => statusOf(url + HEALTHZ), { timeoutMs, intervalMs: 500, what: "wrangler dev" });
  return { ...child, url };
}

/** wrangler.toml minus its [build] step, serving build/ as it is: a JSON config in .wrangler/. */
function prebuiltConfig() {
  need(WORKER_SCRIPT, BUILD_FIRST);
  const dir = join(ROOT, ".wrangler");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "prebuilt.json");
  writeFileSync(file, JSON.stringify({
    name: "pocketgate-prebuilt", main: WORKER_SCRIPT, compatibility_date: compatibilityDate(),
    assets: { directory: join(ROOT, "www"), binding: "ASSETS", run_worker_first: true },
  }));
  return file;
}
