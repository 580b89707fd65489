// The Traefik plugin against its peers (issue 22), each way in its own fresh server process per run, all in front
// of one loopback upstream, driven by wrk with bench/wrk/rotate.lua:
//   traefik   Traefik 3.7.15 without middleware          floor     Traefik + the floor plugin (bench/traefik/floor.rs)
//                                                        filefloor the floor plugin, also checking a key file
//                                                                  at every request as the plugin's jwksFile does
//   plugin    Traefik + the PocketGate plugin             verifyfloor  the floor plugin checking each token's
//   baseline  Traefik + another plugin.wasm (--baseline)              signature with the plugin's backend (cold)
//   fwd       Traefik forwardAuth → the gate on workerd   jwtmw     Traefik + agilezebra/jwt-middleware (Yaegi;
//   apache    Apache httpd without auth                             --jwt-middleware DIR, never committed)
//   openidc   Apache + mod_auth_openidc (AuthType oauth20, key set over TLS, Require claim)
// at 8 and 32 connections, hot (8 users' tokens repeated) and cold (a new valid token every request), RS256, ES256
// and EdDSA, with the server's CPU per request (/proc, the process tree: Traefik, or Apache and its children; for
// fwd also workerd's) and its RSS; then the memory phase: a fresh server per way, --requests new RS256 tokens at
// 32 connections, its RSS, and for Traefik its Go heap by kind (wasm linear memory, wazero, Yaegi) and the
// plugin's instance starts. `node bench/traefik.mjs --help` lists the options; `cargo xtask bench traefik
// [--lock FILE]` builds, prepares, then measures under the lock.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { cpus as osCpus, loadavg } from "node:os";
import { join } from "node:path";
import { cli, numberOption, usageError } from "../tools/js/cli.mjs";
import { ROOT, need } from "../tools/js/env.mjs";
import { startGateWorkerd } from "../tools/js/gate.mjs";
import { startIssuer } from "../tools/js/issuer.mjs";
import { CLK_TCK } from "../tools/js/procmem.mjs";
import { startUpstream } from "../tools/js/upstream.mjs";
import { startApache, startTlsJwks } from "./lib/apache.mjs";
import { heapOf } from "./lib/goheap.mjs";
import { treeCpuTicks, treeMemory } from "./lib/proctree.mjs";
import { NO_AUTH, renderReport } from "./lib/traefik-report.mjs";
import { startTraefik } from "./lib/traefik.mjs";
import { ALLOW, CLIENT_ID, ISSUER, grownPool, pool } from "./lib/tokens.mjs";
import { rotate } from "./lib/wrk.mjs";

const USAGE = `usage: node bench/traefik.mjs [--prepare] [options]

The Traefik plugin against Traefik alone, a floor plugin, forwardAuth to the gate on workerd, Apache alone,
Apache + mod_auth_openidc and (with --jwt-middleware) agilezebra/jwt-middleware, under wrk; then each server's
memory after --requests new tokens. Needs \`cargo xtask build\` and \`cargo xtask setup\`; \`cargo xtask bench
traefik [--lock FILE]\` builds the plugins, prepares, then measures under the lock.

  --prepare            mint the token pools and exit (no measurements; no lock needed)
  --quick              a smoke run: 1 round, 2 s, 8 connections, RS256, memory phase 5000 requests
  --rounds N           rounds (default 3; quick 1; 0: the memory phase only)
  --duration S         measured seconds per run (default 5; quick 2)
  --warm S             warm-up seconds per run, on a disjoint part of the token stream (default 1)
  --connections LIST   wrk connections (default 8,32; quick 8)
  --algs LIST          algorithms (default RS256,ES256,EdDSA; quick RS256)
  --loads LIST         hot,cold (default both)
  --ways LIST          ways in (default traefik,floor,filefloor,verifyfloor,plugin,fwd,apache,openidc, without
                       filefloor under --plugin-keys inline, + jwtmw with --jwt-middleware, + baseline with --baseline)
  --baseline FILE      another plugin.wasm (e.g. main's) measured as way "baseline" in the same rounds
  --jwt-middleware DIR a checkout of agilezebra/jwt-middleware (with vendor/), loaded as a Yaegi local plugin
  --requests N         new RS256 tokens per server in the memory phase (default 100000; 0 skips the phase)
  --memory-ways LIST   ways in the memory phase (default: every way but fwd)
  --plugin-keys K      file (default: jwksFile, read by the plugin at every request) or inline (the jwks option)
  --pool N             distinct tokens per algorithm at least (default 40000; grown when a run uses them up)
  --cpus A/B           pin the server (Traefik, Apache, workerd) to CPU list A and wrk + this process (upstream,
                       issuer) to B, with taskset (default 1/0 on a machine with 2+ CPUs; "none" to not pin)
  --write              put the report into BENCHMARKS.md (between the bench:traefik markers)
  -h, --help           this text`;
const { values: ARGS } = cli(USAGE, {
  prepare: { type: "boolean" }, quick: { type: "boolean" }, rounds: { type: "string" }, duration: { type: "string" },
  warm: { type: "string" }, connections: { type: "string" }, algs: { type: "string" }, loads: { type: "string" },
  ways: { type: "string" }, baseline: { type: "string" }, "jwt-middleware": { type: "string" },
  requests: { type: "string" }, "memory-ways": { type: "string" }, "plugin-keys": { type: "string" }, pool: { type: "string" }, cpus: { type: "string" },
  write: { type: "boolean" },
});
const QUICK = ARGS.quick === true;
const num = (name, def, opts) => numberOption(USAGE, ARGS, name, def, opts);
const list = (name, def) => (ARGS[name] ?? def).split(",").filter(Boolean);
const ALL_WAYS = ["traefik", "floor", "filefloor", "verifyfloor", "plugin", "baseline", "fwd", "jwtmw", "apache", "openidc"];
const PLUGIN_KEYS = ARGS["plugin-keys"] ?? "file";
if (!["file", "inline"].includes(PLUGIN_KEYS)) usageError(USAGE, "--plugin-keys takes file or inline");
const CFG = {
  rounds: num("rounds", QUICK ? 1 : 3, { zero: true }),
  duration: Math.max(1, Math.round(num("duration", QUICK ? 2 : 5))),
  warm: Math.max(1, Math.round(num("warm", 1))),
  connections: list("connections", QUICK ? "8" : "8,32").map(Number),
  algs: list("algs", QUICK ? "RS256" : "RS256,ES256,EdDSA"),
  loads: list("loads", "hot,cold"),
  requests: num("requests", QUICK ? 5000 : 100_000, { zero: true }),
  pool: num("pool", QUICK ? 8000 : 40_000),
  ways: list("ways", ["traefik", "floor", PLUGIN_KEYS === "inline" ? "" : "filefloor", "verifyfloor", "plugin", ARGS.baseline ? "baseline" : "", "fwd", ARGS["jwt-middleware"] ? "jwtmw" : "",
    "apache", "openidc"].filter(Boolean).join(",")),
};
CFG.memoryWays = list("memory-ways", CFG.ways.filter((w) => !["fwd", "verifyfloor", "filefloor"].includes(w)).join(","));
for (const w of [...CFG.ways, ...CFG.memoryWays]) if (!ALL_WAYS.includes(w)) usageError(USAGE, `unknown way ${w} (ways: ${ALL_WAYS.join(", ")})`);
if ([...CFG.ways, ...CFG.memoryWays].includes("baseline") && !ARGS.baseline) usageError(USAGE, "way baseline needs --baseline FILE");
if ([...CFG.ways, ...CFG.memoryWays].includes("jwtmw") && !ARGS["jwt-middleware"]) usageError(USAGE, "way jwtmw needs --jwt-middleware DIR");
const [SERVER_CPUS, CLIENT_CPUS] = (() => {
  const c = ARGS.cpus ?? (osCpus().length >= 2 ? "1/0" : "none");
  if (c === "none") return [null, null];
  const m = /^([\d,-]+)\/([\d,-]+)$/.exec(c);
  if (!m) usageError(USAGE, `--cpus takes A/B (CPU lists) or none (got ${JSON.stringify(c)})`);
  return [m[1], m[2]];
})();
/** What each way cannot do: the cell is reported as not supported, never run. */
const UNSUPPORTED = { jwtmw: ["EdDSA"], openidc: ["EdDSA"] };
/** The peers: their socket errors are reported, not a failure of the run. */
const PEERS = ["jwtmw", "apache", "openidc"];
/** Ways that keep nothing between requests: cold only. */
const COLD_ONLY = ["verifyfloor"];
const OUT = join(ROOT, "target/bench");
const WORK = join(OUT, "traefik");
const PLUGIN_DIR = join(ROOT, "build/traefik/plugins-local/src/pocketgate");
const FLOOR_WASM = join(ROOT, "target/wasm32-wasip1/release/pocketgate-traefik-floor.wasm");
const log = (...a) => console.log(...a);

// ---------------------------------------------------------------------------------------------- preparation
/** Token files per algorithm: hot (8 users' tokens) and cold (the whole pool, every token once). */
function tokenFiles(alg, n) {
  const { key, tokens } = pool(OUT, alg, n, log, { all: true });
  const dir = join(WORK, alg);
  mkdirSync(dir, { recursive: true });
  const write = (name, lines) => { writeFileSync(join(dir, name), lines.join("\n") + "\n"); return join(dir, name); };
  return { key, hot: { file: write("hot.txt", tokens.slice(0, 8)), n: 8 }, cold: { file: write("cold.txt", tokens), n: tokens.length } };
}

/** A local wasm plugin folder (plugin.wasm + .traefik.yml) under target/bench/traefik/. */
function pluginDir(name, wasm, manifest) {
  const dir = join(WORK, "plugins", name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(need(wasm, "run `cargo xtask bench traefik` (it builds the plugins)"), join(dir, "plugin.wasm"));
  writeFileSync(join(dir, ".traefik.yml"), manifest);
  return dir;
}

function prepare() {
  need(join(PLUGIN_DIR, "plugin.wasm"), "run `cargo xtask build` (it builds the Traefik plugin)");
  const files = {};
  for (const alg of CFG.algs) files[alg] = tokenFiles(alg, CFG.pool);
  // The memory phase sends --requests distinct RS256 tokens.
  // (A tenth more: the last wrk slice of a server runs past --requests.)
  if (CFG.requests && CFG.memoryWays.length) files.RS256 = tokenFiles("RS256", Math.max(CFG.pool, Math.ceil(CFG.requests * 1.1)));
  const manifest = readFileSync(join(PLUGIN_DIR, ".traefik.yml"), "utf8");
  const dirs = {
    // Snapshots: later builds may rewrite build/ and target/ while the bench runs.
    plugin: pluginDir("pocketgate", join(PLUGIN_DIR, "plugin.wasm"), manifest),
    floor: pluginDir("floor", FLOOR_WASM, "displayName: floor\ntype: middleware\nruntime: wasm\nsummary: bench floor\ntestData: {}\n"),
    baseline: ARGS.baseline ? pluginDir("baseline", ARGS.baseline, manifest) : null,
    jwtmw: ARGS["jwt-middleware"] ? need(join(ARGS["jwt-middleware"], ".traefik.yml"), "--jwt-middleware names a checkout of agilezebra/jwt-middleware") && ARGS["jwt-middleware"] : null,
  };
  return { files, dirs };
}

// --------------------------------------------------------------------------------------------------- ways
/** Start `way` for tokens of `alg`: { url, pid, gatePid?, stop(), output(), api? }. */
async function startWay(ctx, way, { alg = "RS256", debug = false } = {}) {
  const { upstream, issuer, tls, keysDir, dirs, files } = ctx;
  const common = { upstream: upstream.url, cpus: SERVER_CPUS, debug };
  const keys = PLUGIN_KEYS === "inline" ? `jwks: ${JSON.stringify(JSON.stringify({ keys: Object.values(files).map((f) => f.key.jwk) }))}`
    : `jwksFile: "/keys/jwks.json"`;
  const wasmPlugin = (name, moduleName, src) => ({
    plugins: { [name]: { moduleName, src, settings: `{mounts: ["${keysDir}:/keys:ro"]}` } },
    middleware: `      plugin:\n        ${name}: {issuer: "${ISSUER}", audience: "${CLIENT_ID}", allowGroups: ["${ALLOW}"], ${keys}}`,
  });
  switch (way) {
    case "traefik": return startTraefik(common);
    case "floor": return startTraefik({ ...common, plugins: { floor: { moduleName: "pocketgatefloor", src: dirs.floor } },
      middleware: "      plugin:\n        floor: {}" });
    case "filefloor": return startTraefik({ ...common,
      plugins: { floor: { moduleName: "pocketgatefloor", src: dirs.floor, settings: `{mounts: ["${keysDir}:/keys:ro"]}` } },
      middleware: `      plugin:\n        floor: {jwksFile: "/keys/jwks.json"}` });
    case "verifyfloor": return startTraefik({ ...common, plugins: { floor: { moduleName: "pocketgatefloor", src: dirs.floor } },
      middleware: `      plugin:\n        floor: {alg: "${alg}", jwk: ${JSON.stringify(files[alg].key.jwk)}}` });
    case "plugin": return startTraefik({ ...common, ...wasmPlugin("pocketgate", "pocketgate", dirs.plugin) });
    case "baseline": return startTraefik({ ...common, ...wasmPlugin("pocketgatebase", "pocketgatebase", dirs.baseline) });
    case "jwtmw": return startTraefik({ ...common,
      plugins: { jwt: { moduleName: "github.com/agilezebra/jwt-middleware", src: dirs.jwtmw } },
      // Its own key fetch (no discovery), the audience and the group; the issuer is matched on `iss`.
      middleware: `      plugin:\n        jwt: {issuers: [{issuer: "${ISSUER}", jwks: "${issuer.url}/.well-known/jwks.json"}], ` +
        `require: {aud: "${CLIENT_ID}", groups: "${ALLOW}"}, validMethods: [RS256, ES256]}` });
    case "fwd": {
      const gate = await startGateWorkerd({ vars: { ISSUER, AUDIENCE: CLIENT_ID, ALLOW_GROUPS: ALLOW,
        JWKS_URI: `${issuer.url}/.well-known/jwks.json` }, dir: join(WORK, "gate") });
      if (SERVER_CPUS) execFileSync("taskset", ["-a", "-p", "-c", SERVER_CPUS, String(gate.proc.pid)], { stdio: "ignore" });
      try {
        const t = await startTraefik({ ...common, middleware: `      forwardAuth: {address: "${gate.url}/_gate/auth", ` +
          `trustForwardHeader: false, authRequestHeaders: ["Authorization"], authResponseHeaders: ` +
          `["X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X-Auth-Request-Groups"]}` });
        return { ...t, gatePid: gate.proc.pid, stop: async () => { await t.stop(); await gate.stop(); } };
      } catch (e) {
        await gate.stop();
        throw e;
      }
    }
    case "apache": return startApache({ upstream: upstream.url, cpus: SERVER_CPUS });
    case "openidc": return startApache({ upstream: upstream.url, cpus: SERVER_CPUS,
      openidc: { jwksUri: `${tls.url}/.well-known/jwks.json`, ca: tls.ca, audience: CLIENT_ID, group: ALLOW } });
    default: throw new Error(`no way ${way}`);
  }
}

const wrk = (url, file, seconds, start, connections) =>
  rotate(`${url}/api/peers`, { file, seconds, start, connections, cpus: CLIENT_CPUS });

/** One measured run of `way` on a fresh server: warm-up on the tail of the token stream, then --duration s. */
async function runOne(ctx, { way, alg, load, conns }) {
  const tokens = ctx.files[alg][load];
  const server = await startWay(ctx, way, { alg });
  try {
    const warmStart = load === "cold" ? Math.floor(tokens.n * 0.75) : 0;
    await wrk(server.url, tokens.file, CFG.warm, warmStart, conns);
    const cpu0 = treeCpuTicks(server.pid), gate0 = server.gatePid ? treeCpuTicks(server.gatePid) : 0;
    const r = await wrk(server.url, tokens.file, CFG.duration, 0, conns);
    const cpu1 = treeCpuTicks(server.pid), gate1 = server.gatePid ? treeCpuTicks(server.gatePid) : 0;
    const mem = treeMemory(server.pid);
    const problems = [];
    const socketErrors = r.connect + r.read + r.write + r.timeout;
    // A peer's own socket errors (Apache's event MPM closes a kept-alive connection now and then) are reported
    // with its figures; PocketGate's ways, Traefik's and the floors' must have none.
    if (socketErrors && !PEERS.includes(way)) problems.push(`socket errors ${JSON.stringify(r)}`);
    if (r.status) problems.push(`${r.status} of ${r.requests} requests with valid tokens were not answered 2xx`);
    const us = (ticks) => (ticks * 1e6) / CLK_TCK / r.requests;
    return { way, alg, load, conns, rps: r.requests / (r.duration_us / 1e6), cpuUs: us(cpu1 - cpu0),
      gateCpuUs: server.gatePid ? us(gate1 - gate0) : null, rss: mem.rss, p50: r.p50_us, p99: r.p99_us,
      requests: r.requests, socketErrors, pool: tokens.n, wrapped: load === "cold" && !NO_AUTH.includes(way) && r.requests > warmStart, problems };
  } catch (e) {
    throw new Error(`${way} ${alg} ${load} c${conns}: ${e.message}\n${server.output?.().slice(-3000) ?? ""}`);
  } finally {
    await server.stop();
  }
}

/** The memory phase for `way`: a fresh server, --requests new RS256 tokens at 32 connections, then its memory. */
async function memoryRun(ctx, way) {
  const server = await startWay(ctx, way, { debug: true });
  try {
    const idle = treeMemory(server.pid);
    const cold = ctx.files.RS256.cold;
    let sent = 0, errors = 0;
    const t0 = Date.now();
    // In slices sized from the rate so far (whole seconds, as wrk takes them), so the run ends near --requests.
    for (let slice = 2; sent < CFG.requests;) {
      const r = await wrk(server.url, cold.file, slice, sent, 32);
      sent += r.requests;
      errors += r.status + r.connect + r.read + r.write + r.timeout;
      const rate = sent / ((Date.now() - t0) / 1000);
      slice = Math.min(10, Math.max(1, Math.ceil((CFG.requests - sent) / rate)));
    }
    const seconds = (Date.now() - t0) / 1000;
    const after = treeMemory(server.pid);
    const heap = server.api ? await heapOf(server.api) : null;
    // The plugin logs one line when an instance starts (src/traefik/handler.rs `start`, at debug level).
    const starts = (server.output().match(/pocketgate: instance started/g) ?? []).length;
    return { way, idle, after, sent, errors, seconds, heap, starts, wrapped: !NO_AUTH.includes(way) && sent > cold.n };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------------- main
function cells() {
  const out = [];
  for (const conns of CFG.connections) {
    for (const way of CFG.ways) {
      if (NO_AUTH.includes(way)) { out.push({ way, alg: "RS256", load: "hot", conns }); continue; }
      for (const alg of CFG.algs) {
        if (UNSUPPORTED[way]?.includes(alg)) continue;
        for (const load of CFG.loads) if (load === "cold" || !COLD_ONLY.includes(way)) out.push({ way, alg, load, conns });
      }
    }
  }
  return out;
}

async function main() {
  const t0 = Date.now();
  const prep = prepare();
  if (ARGS.prepare) return log("prepared: token pools in target/bench/, plugin folders in target/bench/traefik/plugins");
  if (CLIENT_CPUS) execFileSync("taskset", ["-a", "-p", "-c", CLIENT_CPUS, String(process.pid)], { stdio: "ignore" });
  const keys = CFG.algs.map((a) => prep.files[a].key);
  const issuer = await startIssuer({ clientId: CLIENT_ID, label: "bench-traefik" });
  issuer.state.keys = keys;
  const tls = await startTlsJwks(() => ({ keys: keys.map((k) => k.jwk) }));
  const upstream = await startUpstream({ record: false });
  const keysDir = join(WORK, "keys");
  mkdirSync(keysDir, { recursive: true });
  writeFileSync(join(keysDir, "jwks.json"), JSON.stringify({ keys: keys.map((k) => k.jwk) }));
  const ctx = { ...prep, issuer, tls, upstream, keysDir };
  const load0 = loadavg();
  const all = cells();
  log(`bench traefik: ${CFG.rounds} round(s) × ${all.length} runs, ${CFG.warm} s warm-up + ${CFG.duration} s; server CPUs ` +
    `${SERVER_CPUS ?? "any"}, wrk CPUs ${CLIENT_CPUS ?? "any"}; load ${load0.map((x) => x.toFixed(2)).join(" ")}`);
  const results = [];
  const memory = [];
  try {
    for (let round = 0; round < CFG.rounds; round++) {
      // Rotate the order per round, so no way always runs first or right after another.
      const k = Math.floor((round * all.length) / CFG.rounds);
      for (const cell of [...all.slice(k), ...all.slice(0, k)]) {
        let r = await runOne(ctx, cell);
        for (let tries = 0; r.wrapped && tries < 3; tries++) {
          const n = grownPool(r.pool, r.requests);
          log(`  ${cell.way} ${cell.alg} cold c${cell.conns}: ${r.requests} requests used up the first 3/4 of ${r.pool} tokens; growing the pool to ${n}`);
          ctx.files[cell.alg] = tokenFiles(cell.alg, n);
          r = await runOne(ctx, cell);
        }
        if (r.wrapped) r.problems.push(`token stream wrapped (${r.requests} requests, pool ${r.pool})`);
        r.round = round;
        results.push(r);
        log(`  r${round} c${String(r.conns).padEnd(2)} ${r.way.padEnd(8)} ${r.alg.padEnd(5)} ${r.load.padEnd(4)} ${Math.round(r.rps).toString().padStart(6)} req/s  ` +
          `cpu ${r.cpuUs.toFixed(0)} µs/req${r.gateCpuUs !== null ? ` (+ gate ${r.gateCpuUs.toFixed(0)})` : ""}  p50 ${(r.p50 / 1000).toFixed(2)} ms  ` +
          `rss ${(r.rss / 1048576).toFixed(0)} MB${r.problems.length ? `  !! ${r.problems.join("; ")}` : ""}`);
      }
    }
    if (CFG.requests) {
      for (const way of CFG.memoryWays) {
        const m = await memoryRun(ctx, way);
        memory.push(m);
        log(`  memory ${way.padEnd(8)} ${m.sent} requests in ${m.seconds.toFixed(0)} s: RSS ${(m.idle.rss / 1048576).toFixed(0)} → ` +
          `${(m.after.rss / 1048576).toFixed(0)} MB (peak ${(m.after.peak / 1048576).toFixed(0)})${m.starts ? `, ${m.starts} instance starts` : ""}` +
          `${m.errors ? `  !! ${m.errors} errors` : ""}`);
      }
    }
  } finally {
    await upstream.close();
    await tls.close();
    await issuer.close();
  }
  const load1 = loadavg();
  // gzip -9 as `cargo xtask build` reports it (xtask/src/sizes.rs), not Node's zlib (1 % larger on plugin.wasm).
  const wasm = (file) => ({ raw: readFileSync(file).length, gzip: execFileSync("gzip", ["-9", "-c", file]).length });
  const sizes = { plugin: wasm(join(prep.dirs.plugin, "plugin.wasm")), floor: wasm(join(prep.dirs.floor, "plugin.wasm")),
    baseline: ARGS.baseline ? wasm(ARGS.baseline) : null };
  const meta = { date: new Date().toISOString(), seconds: (Date.now() - t0) / 1000, cfg: CFG, quick: QUICK,
    cpus: { server: SERVER_CPUS, client: CLIENT_CPUS }, load: [load0, load1].map((l) => l.map((x) => x.toFixed(2)).join(" ")),
    sizes, unsupported: UNSUPPORTED, pluginKeys: PLUGIN_KEYS, baseline: !!ARGS.baseline, jwtmw: !!ARGS["jwt-middleware"], cpu: `${osCpus()[0]?.model} × ${osCpus().length}` };
  writeFileSync(join(OUT, QUICK ? "traefik-results-quick.json" : "traefik-results.json"), JSON.stringify({ meta, results, memory }, null, 1));
  const report = renderReport(meta, results, memory);
  writeFileSync(join(OUT, QUICK ? "traefik-report-quick.md" : "traefik-report.md"), report);
  log(`\n${report}`);
  if (ARGS.write) writeBenchmarks(report);
  const problems = results.flatMap((r) => r.problems.map((p) => `${r.way} ${r.alg} ${r.load} c${r.conns} round ${r.round}: ${p}`))
    .concat(memory.filter((m) => (m.errors && !PEERS.includes(m.way)) || m.wrapped).map((m) => `memory ${m.way}: ${m.errors} errors${m.wrapped ? ", token stream wrapped" : ""}`));
  if (problems.length) {
    console.error(`\n${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
}

const START = "<!-- bench:traefik:start -->";
const END = "<!-- bench:traefik:end -->";

function writeBenchmarks(report) {
  const file = join(ROOT, "BENCHMARKS.md");
  const md = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const block = `${START}\n${report}\n${END}`;
  const a = md.indexOf(START), b = md.indexOf(END);
  writeFileSync(file, a >= 0 && b > a ? md.slice(0, a) + block + md.slice(b + END.length) : md.replace("## Soak\n", `${block}\n\n## Soak\n`));
  log("BENCHMARKS.md: section updated");
}

main().catch((e) => { console.error(e?.stack ?? e); process.exit(1); });
