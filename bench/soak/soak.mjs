// Soak: the gate (build/ from `worker-build --release`) in bare workerd (tools/js/gate.mjs startGateWorkerd, as the
// benchmark runs it: nothing between wrk and the Worker, one process to measure), driven at saturation
// by wrk with a mixed workload for --minutes (default 10), in front of the loopback PocketID-shaped issuer and a
// non-recording stand-in upstream. Meanwhile a side client checks verdicts with known-good and known-bad tokens
// (exact status and code, identity of allowed users), and /_gate/healthz, the workerd RSS and the gate isolate's own
// memory (WebAssembly memory + V8 heap through workerd's inspector on loopback: tools/js/isolatemem.mjs) are sampled.
// Fails (exit 1) on any 5xx, any wrong verdict, any status outside 200/401/403 in the wrk stream, wrk socket errors,
// a cache above its capacity, or the isolate above 64 MiB. --write writes the figures to BENCHMARKS.md (section "Soak", replaced).
//
//   node bench/soak/soak.mjs [--minutes N] [--connections C] [--threads T] [--write]   (--help: USAGE below)
//   (on the shared machine: flock /work/team/LOAD.lock node bench/soak/soak.mjs --write; or `cargo xtask soak`)
//
// Workload (one cycle of 40 000 request lines, replayed by every wrk thread from its own offset):
//   30 % cold: 12 000 distinct valid tokens (more than the 10 000-entry token cache: eviction is exercised)
//   25 % hot: forward-auth, 200 users' tokens repeated
//   20 % bad: damaged signature, unknown kid, expired, wrong group (403), garbage, 4 % each
//    5 % no token
//   10 % proxy mode /api/peers with a hot token (reaches the upstream)
//   10 % proxy mode bypass routes (/relay, /oauth2/keys, /peers)
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { cli, numberOption } from "../../tools/js/cli.mjs";
import { ROOT, WORKER_SCRIPT, need } from "../../tools/js/env.mjs";
import { AUTH_PATH, forwardAuthHeaders, startGateWorkerd, trusting } from "../../tools/js/gate.mjs";
import { inspectIsolate, isolateMemory } from "../../tools/js/isolatemem.mjs";
import { newKey, startIssuer } from "../../tools/js/issuer.mjs";
import { freePort } from "../../tools/js/net.mjs";
import { memoryOf } from "../../tools/js/procmem.mjs";
import { startUpstream } from "../../tools/js/upstream.mjs";

const USAGE = `usage: node bench/soak/soak.mjs [--minutes N] [--connections C] [--threads T] [--write]

The gate from build/ in bare workerd, driven at saturation by wrk with the mixed workload while a side client
checks verdicts; healthz cache sizes, the workerd RSS and the isolate's memory (wasm + V8 heap, through workerd's
inspector) are sampled. Exit 1 on any 5xx, wrong verdict, unbounded cache or isolate above 64 MiB. Needs build/ and \`cargo xtask setup\`; \`cargo xtask soak [--lock FILE]\` builds first.

  --minutes N          duration (default 10)
  --connections C      wrk connections (default 32)
  --threads T          wrk threads (default 2)
  --write              write the figures to BENCHMARKS.md (section "Soak", replaced)
  -h, --help           this text`;
const { values: ARGS } = cli(USAGE, {
  minutes: { type: "string" }, connections: { type: "string" }, threads: { type: "string" }, write: { type: "boolean" },
});
const MINUTES = numberOption(USAGE, ARGS, "minutes", 10);
const CONNECTIONS = numberOption(USAGE, ARGS, "connections", 32);
const THREADS = numberOption(USAGE, ARGS, "threads", 2);
const WRITE = ARGS.write === true;
const OUT = join(ROOT, "target/soak");
const log = (...a) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...a);
mkdirSync(OUT, { recursive: true });

need(WORKER_SCRIPT, "build the Worker first (`cargo xtask soak` does)");
const WRK = need("/usr/bin/wrk", "apt-get install -y wrk");

// ---------------------------------------------------------------------------------------------- the rig
process.on("uncaughtException", (e) => { console.error(e); process.exit(1); });
process.on("unhandledRejection", (e) => { console.error(e); process.exit(1); });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130)); // the gate is stopped on exit
const issuer = await startIssuer();
const upstream = await startUpstream({ record: false, label: "soak-upstream" });
// From a private copy of build/ (other runs rebuild build/ meanwhile).
const GATE_DIR = join(OUT, `gate-${process.pid}`);
process.on("exit", () => rmSync(GATE_DIR, { recursive: true, force: true }));
let stopping = false;
const inspectorPort = await freePort();
const wd = await startGateWorkerd({ vars: { ...trusting(issuer), UPSTREAM: upstream.url }, dir: GATE_DIR,
  args: [`--inspector-addr=127.0.0.1:${inspectorPort}`] });
const inspector = await inspectIsolate(inspectorPort);
/** The isolate's own limit here: half the platform's 128 MB. */
const ISOLATE_LIMIT = 64 * 1048576;
const gate = wd.url;
const pid = wd.proc.pid;
wd.proc.on("exit", (c) => { if (!stopping) { console.error(wd.output()); console.error(`workerd exited (${c})`); process.exit(1); } });

async function stop(code) {
  stopping = true;
  inspector.close();
  await wd.stop();
  await issuer.close();
  await upstream.close();
  process.exit(code);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function get(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const r = http.get(`${gate}${path}`, { agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    r.setTimeout(30_000, () => r.destroy(new Error("timeout")));
    r.on("error", reject);
  });
}

/** RSS of the gate's workerd in KiB; null once the process is gone (a restarted runtime fails the soak). */
const rssKiB = () => { const m = memoryOf(pid); return m && m.rss / 1024; };

// ---------------------------------------------------------------------------------------------- workload
log(`gate ${gate} (workerd pid ${pid}), issuer ${issuer.url}, upstream ${upstream.url}; minting tokens`);
const now = () => Math.floor(Date.now() / 1000);
const users = Array.from({ length: 200 }, (_, i) => issuer.idToken({ name: `user${i}` }));
const cold = Array.from({ length: 12_000 }, (_, i) => issuer.idToken({ name: `cold${i % 500}` }));
const stranger = newKey();
function damaged(t) { const [h, p, s] = t.split("."); const m = s.length >> 1; return `${h}.${p}.${s.slice(0, m)}${s[m] === "A" ? "B" : "A"}${s.slice(m + 1)}`; }
const bad = {
  damaged: (i) => damaged(users[i % users.length]),
  unknownKid: () => issuer.idToken({ key: stranger }),
  expired: () => issuer.idToken({ claims: { iat: now() - 7200, exp: now() - 3600 } }),
  group: (i) => issuer.idToken({ name: `guest${i % 50}`, groups: ["guests"] }),
  garbage: (i) => `garbage.${i}.x`,
};
const badPools = Object.fromEntries(Object.entries(bad).map(([k, f]) => [k, Array.from({ length: 200 }, (_, i) => f(i))]));
const line = (path, xfu, token) => `${path}\t${xfu}\t${token ? `Bearer ${token}` : ""}`;
const lines = [];
cold.forEach((t) => lines.push(line(AUTH_PATH, "/api/peers", t)));
for (let i = 0; i < 10_000; i++) lines.push(line(AUTH_PATH, "/api/peers", users[i % users.length]));
for (const [, pool] of Object.entries(badPools)) for (let i = 0; i < 1_600; i++) lines.push(line(AUTH_PATH, "/api/peers", pool[i % pool.length]));
for (let i = 0; i < 2_000; i++) lines.push(line(AUTH_PATH, "/api/peers", null));
for (let i = 0; i < 4_000; i++) lines.push(line("/api/peers", "", users[i % users.length]));
for (let i = 0; i < 4_000; i++) lines.push(line(["/relay", "/oauth2/keys", "/peers"][i % 3], "", null));
// A fixed shuffle (deterministic LCG) so every part of the cycle has the same mix.
let seed = 42;
for (let i = lines.length - 1; i > 0; i--) { seed = (seed * 1103515245 + 12345) % 2 ** 31; const j = seed % (i + 1); [lines[i], lines[j]] = [lines[j], lines[i]]; }
const linesFile = join(OUT, "lines.tsv");
writeFileSync(linesFile, lines.join("\n") + "\n");

// ---------------------------------------------------------------------------------------------- side checks
const sub = (name) => issuer.user(name).sub;
/** A forward-auth request for GET `uri` with `token`, as a proxy sends it. */
const fa = (token, uri = "/api/peers") => get(AUTH_PATH, forwardAuthHeaders({ token, uri }));
const checks = [
  async () => { const r = await fa(users[7]); return r.status === 200 && r.headers["x-auth-request-user"] === sub("user7"); },
  async () => { const t = issuer.idToken({ name: "fresh" }); const r = await fa(t, "/api/x"); return r.status === 200 && r.headers["x-auth-request-user"] === sub("fresh"); },
  async () => { const r = await fa(damaged(issuer.idToken())); return r.status === 401 && JSON.parse(r.text).code === "signature_invalid"; },
  async () => { const r = await fa(issuer.idToken({ key: stranger })); return r.status === 401 && JSON.parse(r.text).code === "key_not_found"; },
  async () => { const r = await fa(bad.expired()); return r.status === 401 && JSON.parse(r.text).code === "token_expired"; },
  async () => { const r = await fa(bad.group(1)); return r.status === 403 && JSON.parse(r.text).code === "group_not_allowed"; },
  async () => { const r = await fa(); return r.status === 401 && JSON.parse(r.text).code === "token_missing"; },
  async () => { const r = await get("/api/peers", { authorization: `Bearer ${users[3]}`, "x-auth-request-user": "root" }); return r.status === 200 && JSON.parse(r.text).user === sub("user3"); },
  async () => { const r = await get("/api/peers", { "x-auth-request-user": "root" }); return r.status === 401; },
  async () => { const r = await get("/oauth2/../api/peers"); return r.status === 401; },
  async () => { const r = await get("/relay", { "x-auth-request-user": "root" }); return r.status === 200 && JSON.parse(r.text).user === null; },
];
const side = { checks: 0, wrong: [], errors: 0, retried: 0, messages: [] };
let sideRunning = true;
const transport = (e) => ["ECONNRESET", "EPIPE"].includes(e?.code) || /socket hang up/.test(e?.message ?? "");
const sideLoop = (async () => {
  for (let i = 0; sideRunning; i++) {
    const check = checks[i % checks.length];
    try {
      // A keep-alive socket closed by the server as it is reused is a transport race, not a verdict: retry once.
      const ok = await check().catch((e) => { if (!transport(e)) throw e; side.retried++; return check(); });
      side.checks++;
      if (!ok) side.wrong.push(i % checks.length);
    } catch (e) { side.errors++; side.messages.push(`check ${i % checks.length}: ${e?.code ?? ""} ${e?.message ?? e}`); }
    await new Promise((r) => setTimeout(r, 5));
  }
})();

// ---------------------------------------------------------------------------------------------- sampling
const samples = [];
async function sample(label) {
  let caches = null;
  let status = null;
  let isolate = null;
  try { const h = await get("/_gate/healthz"); status = h.status; caches = JSON.parse(h.text).caches ?? null; } catch { /* counted below */ }
  try { isolate = await isolateMemory(gate, inspector); } catch { /* counted below */ }
  const s = { label, t: Math.round((Date.now() - t0) / 1000), rssKiB: rssKiB(), healthz: status, caches, isolate };
  samples.push(s);
  const iso = isolate ? `${(isolate.total / 1048576).toFixed(1)} MiB (wasm ${(isolate.wasm / 1048576).toFixed(1)}, JS heap ` +
    `${(isolate.jsHeapUsed / 1048576).toFixed(1)}, ${(isolate.jsHeapUsedBeforeGc / 1048576).toFixed(1)} before a collection)` : "unread";
  log(`${label}: workerd RSS ${(s.rssKiB / 1024).toFixed(1)} MiB, isolate ${iso}, healthz ${status}, caches ${JSON.stringify(caches)}`);
}
let t0 = Date.now();
await sample("idle");

// ---------------------------------------------------------------------------------------------- load
const load = [loadavg()];
log(`wrk: ${THREADS} threads, ${CONNECTIONS} connections, ${MINUTES} min`);
t0 = Date.now();
const wrk = spawn(WRK, ["-t", String(THREADS), "-c", String(CONNECTIONS), "-d", `${Math.round(MINUTES * 60)}s`, "--timeout", "10s",
  "-s", join(ROOT, "bench/soak/soak.lua"), gate, "--", linesFile], { stdio: ["ignore", "pipe", "pipe"] });
let wrkOut = "";
wrk.stdout.on("data", (d) => { wrkOut += d; });
wrk.stderr.on("data", (d) => { wrkOut += d; });
const every = Math.max(10, Math.min(60, MINUTES * 6)) * 1000;
const sampler = setInterval(() => { sample("load"); load.push(loadavg()); }, every);
await new Promise((r) => wrk.once("exit", r));
clearInterval(sampler);
sideRunning = false;
await sideLoop;
await sample("end");
const uptime = execFileSync("uptime", { encoding: "utf8" }).trim();

const m = wrkOut.match(/SOAK (\{.*\})/);
if (!m) { console.error(wrkOut); log("wrk printed no summary"); await stop(1); }
const w = JSON.parse(m[1]);
const seconds = w.duration_us / 1e6;
const fiveXX = Object.entries(w.statuses).filter(([s]) => Number(s) >= 500).reduce((a, [, n]) => a + n, 0);
const odd = Object.keys(w.statuses).filter((s) => !["200", "401", "403"].includes(s));
const loaded = samples.filter((s) => s.label !== "idle");
const capacityOk = samples.every((s) => !s.caches || s.caches.tokens <= s.caches.tokens_capacity);
const maxTokens = Math.max(...samples.map((s) => s.caches?.tokens ?? 0));
const maxCrypto = Math.max(...samples.map((s) => s.caches?.crypto_keys ?? 0));
const isolateMax = Math.max(...samples.map((s) => s.isolate?.total ?? 0));
const wasmMax = Math.max(...samples.map((s) => s.isolate?.wasm ?? 0));
const heapMax = Math.max(...samples.map((s) => s.isolate?.jsHeapUsed ?? 0));
const heapBeforeGcMax = Math.max(...samples.map((s) => s.isolate?.jsHeapUsedBeforeGc ?? 0));
const socketErrors = w.connect + w.read + w.write + w.timeout;
const result = {
  minutes: MINUTES, threads: THREADS, connections: CONNECTIONS, requests: w.requests, rps: Math.round(w.requests / seconds),
  p50_ms: w.p50_us / 1000, p99_ms: w.p99_us / 1000, max_ms: w.max_us / 1000, statuses: w.statuses, fiveXX, socketErrors,
  sideChecks: side.checks, wrong: side.wrong.length, sideErrors: side.errors, sideRetried: side.retried,
  sideMessages: side.messages.slice(0, 5), upstreamRequests: upstream.count(),
  jwksFetches: issuer.jwksFetches(),
  rss: { idle: samples[0].rssKiB, first: loaded[0]?.rssKiB, end: samples.at(-1).rssKiB, max: Math.max(...loaded.map((s) => s.rssKiB ?? 0)) },
  isolate: { idle: samples[0].isolate?.total, end: samples.at(-1).isolate?.total, max: isolateMax, wasmMax, heapMax, heapBeforeGcMax },
  maxTokens, tokenCapacity: samples.at(-1).caches?.tokens_capacity, maxCrypto, uptime,
};
log(JSON.stringify(result, null, 1));
writeFileSync(join(OUT, "result.json"), JSON.stringify({ result, samples }, null, 1));

const failures = [];
if (fiveXX) failures.push(`${fiveXX} responses with 5xx`);
if (odd.length) failures.push(`unexpected statuses ${odd.join(",")}`);
if (side.wrong.length) failures.push(`${side.wrong.length} wrong verdicts (checks ${[...new Set(side.wrong)].join(",")})`);
if (side.errors) failures.push(`${side.errors} side-check request errors`);
if (socketErrors) failures.push(`${socketErrors} wrk socket errors/timeouts`);
if (!capacityOk) failures.push("token cache above its capacity");
if (samples.some((s) => s.healthz !== 200)) failures.push("healthz not 200 in a sample");
if (samples.some((s) => s.rssKiB === null)) failures.push("the gate's workerd process went away (crash)");
if (samples.some((s) => s.isolate === null)) failures.push("the isolate's memory could not be read in a sample");
if (isolateMax > ISOLATE_LIMIT) failures.push(`isolate memory ${(isolateMax / 1048576).toFixed(1)} MiB > 64 MiB`);

if (WRITE) {
  const mib = (k) => `${(k / 1024).toFixed(1)} MiB`;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const text = `
## Soak

Command: \`cargo xtask soak --minutes ${MINUTES} --write\` (\`--lock FILE\` runs it under a machine lock; it runs
\`node bench/soak/soak.mjs --minutes ${MINUTES} --write\` after \`worker-build --release\`): the gate from \`build/\` in bare workerd (generated config, one process, one isolate), in front of
the loopback PocketID-shaped issuer (RS256) and a stand-in upstream; \`wrk -t${THREADS} -c${CONNECTIONS}\` replays the mixed
workload of \`bench/soak/soak.mjs\` (30 % distinct valid tokens, 12 000 per cycle > the 10 000-entry token cache; 25 % repeated
tokens of 200 users; 20 % bad tokens: damaged signature, unknown kid, expired, wrong group, garbage; 5 % no token; 20 %
proxy mode to the upstream, half of it bypass routes). A side client checks verdicts (exact status, code and identity)
throughout; \`/_gate/healthz\` cache sizes, the workerd RSS (\`/proc/PID/status\`) and the isolate's own memory (WebAssembly
memory from \`/_gate/healthz\` + V8 heap used after a collection, embedder heap and backing stores from the inspector's
\`HeapProfiler.collectGarbage\` and \`Runtime.getHeapUsage\`: \`tools/js/isolatemem.mjs\`) are sampled every ${every / 1000} s.

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}; \`uptime\` at the end: \`${uptime}\`.

| figure | value |
| --- | ---: |
| duration | ${MINUTES} min |
| requests (wrk) | ${w.requests} (${result.rps} req/s) |
| latency p50 / p99 / max | ${result.p50_ms} / ${result.p99_ms} / ${result.max_ms} ms |
| statuses | ${Object.entries(w.statuses).map(([s, n]) => `${s}: ${n}`).join(", ")} |
| 5xx | ${fiveXX} |
| wrk socket errors / timeouts | ${socketErrors} |
| side verdict checks (wrong) | ${side.checks} (${side.wrong.length} wrong, ${side.errors} errors; ${side.retried} retried after a keep-alive reset) |
| requests that reached the upstream | ${upstream.count()} |
| JWKS fetches at the issuer | ${issuer.jwksFetches()} |
| workerd RSS (the one process serving the gate) idle → first sample under load → end (max) | ${mib(result.rss.idle)} → ${mib(result.rss.first)} → ${mib(result.rss.end)} (${mib(result.rss.max)}) |
| gate isolate (wasm + V8 heap) idle → end (max; max wasm, max JS heap used after a collection, before it) | ${mib(result.isolate.idle / 1024)} → ${mib(result.isolate.end / 1024)} (${mib(isolateMax / 1024)}; ${mib(wasmMax / 1024)}, ${mib(heapMax / 1024)}, ${mib(heapBeforeGcMax / 1024)}) |
| token cache entries, max seen (capacity) | ${maxTokens} (${result.tokenCapacity}) |
| imported WebCrypto keys, max seen | ${maxCrypto} |

workerd RSS samples (MiB, every ${every / 1000} s): ${samples.map((s) => (s.rssKiB / 1024).toFixed(0)).join(", ")}.
Verdict: ${failures.length ? `**FAILED**: ${failures.join("; ")}` : "zero 5xx, zero wrong verdicts, caches bounded, isolate ≤ 64 MiB."}
`;
  // A new run replaces the section (up to the next section, if any).
  const file = join(ROOT, "BENCHMARKS.md");
  const old = readFileSync(file, "utf8");
  const at = old.indexOf("\n## Soak\n");
  const next = at < 0 ? -1 : old.indexOf("\n## ", at + 1);
  const rest = next < 0 ? "" : old.slice(next);
  writeFileSync(file, (at < 0 ? old : old.slice(0, at)) + text + rest);
  log(`${at < 0 ? "appended" : "replaced"} the Soak section of BENCHMARKS.md`);
}
if (failures.length) { log(`FAILED: ${failures.join("; ")}`); await stop(1); }
log("soak passed: zero 5xx, zero wrong verdicts, caches bounded, isolate ≤ 64 MiB");
await stop(0);
