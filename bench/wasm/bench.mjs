// Per-verify cost of PocketGate in wasm under Node 22 (the V8 inside workerd), next to plain JavaScript WebCrypto
// in the same process and run.
//
//   node bench/wasm/bench.mjs <pkg-dir> [--quick]
//
// <pkg-dir> holds the `wasm-bindgen --target nodejs` output of bench/wasm (run.sh builds it). Keys and tokens are
// minted here with WebCrypto (independent of PocketGate): PocketID-shaped ID tokens for RS256, ES256 and EdDSA.
// Each variant runs for a calibrated number of iterations per round; rounds interleave the variants. The table
// shows, per verification, the BEST round's wall time (the machine is shared, so the least disturbed round is the
// most faithful) and the median round's process CPU time (all threads: Node runs WebCrypto jobs on its thread
// pool, so CPU can exceed wall time when several verifications are in flight).
import { createRequire } from "node:module";
import path from "node:path";
import os from "node:os";
import { pathToFileURL } from "node:url";
import { cli, usageError } from "../../tools/js/cli.mjs";

const USAGE = `usage: node bench/wasm/bench.mjs <pkg-dir> [--quick]

Per-verify cost of PocketGate in wasm under Node 22 next to plain WebCrypto. <pkg-dir> is the wasm-bindgen
--target nodejs output of bench/wasm; bench/wasm/run.sh builds it and runs this script.

  --quick              3 short rounds instead of 15
  -h, --help           this text`;
const { values: ARGS, positionals } = cli(USAGE, { quick: { type: "boolean" } }, { positionals: true });
const quick = ARGS.quick === true;
if (positionals.length !== 1) usageError(USAGE, "one <pkg-dir> is needed");
const pkgDir = positionals[0];
const require = createRequire(import.meta.url);
const wasm = require(path.resolve(pkgDir, "pocketgate_bench_wasm.js"));
const subtle = globalThis.crypto?.subtle;
if (!subtle) throw new Error("globalThis.crypto.subtle is missing: Node 22 is required");

const ROUNDS = quick ? 3 : 15;
const TARGET_MS = quick ? 30 : 60;
const CONCURRENCY = 32;

// ---------------------------------------------------------------- keys and tokens (PocketID-shaped)

const ISS = "https://id.example.com";
const AUD = "netbird";
const NOW = 1767225600;
const enc = new TextEncoder();
const b64u = (bytes) => Buffer.from(bytes).toString("base64url");

const ALGS = {
  RS256: {
    gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    sign: { name: "RSASSA-PKCS1-v1_5" },
    imp: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  },
  ES256: {
    gen: { name: "ECDSA", namedCurve: "P-256" },
    sign: { name: "ECDSA", hash: "SHA-256" },
    imp: { name: "ECDSA", namedCurve: "P-256" },
  },
  EdDSA: { gen: { name: "Ed25519" }, sign: { name: "Ed25519" }, imp: { name: "Ed25519" } },
};

function claims() {
  return {
    amr: ["phr"],
    aud: [AUD],
    auth_time: NOW,
    email: "alice@example.com",
    email_verified: true,
    exp: NOW + 3600,
    family_name: "Doe",
    given_name: "Alice",
    groups: ["netbird-users", "admins", "developers", "ops", "family"],
    iat: NOW,
    iss: ISS,
    name: "Alice Doe",
    nonce: "n-0S6_WzA2Mj",
    preferred_username: "alice",
    sub: "3b1e5f0a-7c2d-4e8f-9a6b-1c2d3e4f5a6b",
    type: "id-token",
  };
}

const cases = [];
const jwks = { keys: [] };
for (const [alg, p] of Object.entries(ALGS)) {
  const pair = await subtle.generateKey(p.gen, true, ["sign", "verify"]);
  const kid = `bench-${alg.toLowerCase()}`;
  const pub = await subtle.exportKey("jwk", pair.publicKey);
  const jwk = { ...Object.fromEntries(["kty", "n", "e", "crv", "x", "y"].filter((k) => pub[k]).map((k) => [k, pub[k]])) };
  jwks.keys.push({ ...jwk, alg, kid, use: "sig" });
  const input = `${b64u(enc.encode(JSON.stringify({ alg, kid, typ: "JWT" })))}.${b64u(enc.encode(JSON.stringify(claims())))}`;
  const sig = new Uint8Array(await subtle.sign(p.sign, pair.privateKey, enc.encode(input)));
  const token = `${input}.${b64u(sig)}`;
  // Plain JS: the key imported once, as a Worker would cache it.
  const key = await subtle.importKey("jwk", jwk, p.imp, false, ["verify"]);
  cases.push({ alg, kid, token, key, p, jwk, data: enc.encode(input), sig });
}
wasm.setup(ISS, AUD, JSON.stringify(jwks), NOW);
for (const c of cases) c.index = wasm.add_token(c.token);

// jose (the reference JS library), if the project's tool install has it.
let jose = null;
const nodeModules = process.env.POCKETGATE_NODE_MODULES ?? path.join(os.homedir(), ".cache/pocketgate/node/node_modules");
try {
  jose = await import(pathToFileURL(path.join(nodeModules, "jose/dist/webapi/index.js")).href);
} catch {
  console.log(`(jose not found under ${nodeModules}: its row is skipped)`);
}

// ---------------------------------------------------------------- the variants

/** Plain JS token verification: what a hand-written Worker does around subtle.verify. */
async function jsFullVerify(c) {
  const [h, pl, s] = c.token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url").toString());
  if (header.alg !== c.alg || header.kid !== c.kid) throw new Error("header");
  const ok = await subtle.verify(c.p.sign, c.key, Buffer.from(s, "base64url"), enc.encode(`${h}.${pl}`));
  if (!ok) throw new Error("signature");
  const cl = JSON.parse(Buffer.from(pl, "base64url").toString());
  if (cl.iss !== ISS || !(cl.aud === AUD || cl.aud.includes(AUD)) || !(cl.exp + 60 > NOW)) throw new Error("claims");
}

async function seq(n, one) {
  for (let i = 0; i < n; i++) await one();
}
async function conc(n, one) {
  for (let done = 0; done < n; done += CONCURRENCY) {
    const batch = [];
    for (let k = 0; k < Math.min(CONCURRENCY, n - done); k++) batch.push(one());
    await Promise.all(batch);
  }
}
const mustBeTrue = (v) => {
  if (v !== true) throw new Error("subtle.verify returned false");
};

function variants(c) {
  const v = [
    ["js: subtle.verify (imported key)", "seq", (n) => seq(n, () => subtle.verify(c.p.sign, c.key, c.sig, c.data).then(mustBeTrue))],
    ["js: split+decode+verify+claims", "seq", (n) => seq(n, () => jsFullVerify(c))],
    ["rust: WebCrypto backend, full verify", "seq", (n) => seq(n, () => wasm.web_verify(c.index))],
    ["rust: WebCrypto backend, signature step only", "seq", (n) => seq(n, () => wasm.web_signature_only(c.index))],
    ["rust: WebCrypto backend, Rust loop", "seq", (n) => wasm.web_verify_loop(c.index, n)],
    ["rust: RustCrypto in wasm, full verify", "seq", (n) => wasm.rust_verify(c.index, n)],
    ["rust: core without signature", "seq", (n) => wasm.rust_overhead(c.index, n)],
    [`js: subtle.verify ×${CONCURRENCY} in flight`, "conc", (n) => conc(n, () => subtle.verify(c.p.sign, c.key, c.sig, c.data).then(mustBeTrue))],
    [`rust: WebCrypto backend ×${CONCURRENCY} in flight`, "conc", (n) => conc(n, () => wasm.web_verify(c.index))],
    [`rust: WebCrypto signature step only ×${CONCURRENCY} in flight`, "conc", (n) => conc(n, () => wasm.web_signature_only(c.index))],
  ];
  if (jose) {
    const joseKey = c.key; // jose accepts a CryptoKey
    const opts = { issuer: ISS, audience: AUD, currentDate: new Date(NOW * 1000), algorithms: [c.alg] };
    v.splice(2, 0, ["js: jose jwtVerify", "seq", (n) => seq(n, () => jose.jwtVerify(c.token, joseKey, opts))]);
  }
  return v;
}

// ---------------------------------------------------------------- measurement

async function timeOnce(fn, n) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn(n);
  const wall = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = process.cpuUsage(c0);
  return { wall: wall / n, cpu: (cpu.user + cpu.system) / n };
}

async function calibrate(fn) {
  await fn(4); // warm-up (and correctness: every variant throws on a failed verification)
  let n = 4;
  for (;;) {
    const { wall } = await timeOnce(fn, n);
    if (wall * n >= TARGET_MS * 1e3 / 4 || n >= 1 << 20) return Math.max(4, Math.ceil((TARGET_MS * 1e3) / wall));
    n *= 4;
  }
}

const best = (xs) => Math.min(...xs);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const plan = [];
for (const c of cases) for (const [name, mode, fn] of variants(c)) plan.push({ alg: c.alg, name, mode, fn, n: 0, wall: [], cpu: [] });
for (const p of plan) p.n = await calibrate(p.fn);
for (let r = 0; r < ROUNDS; r++) {
  for (const p of plan) {
    const { wall, cpu } = await timeOnce(p.fn, p.n);
    p.wall.push(wall);
    p.cpu.push(cpu);
  }
}

// ---------------------------------------------------------------- report

const fmt = (us) => (us >= 100 ? us.toFixed(0) : us.toFixed(1));
console.log(
  `PocketGate wasm benchmark — Node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ""}; ` +
    `${ROUNDS} rounds of ~${TARGET_MS} ms per variant; µs per verification (wall: best round, CPU: median round)`,
);
console.log("| alg | variant | wall µs | CPU µs | wall vs plain JS subtle.verify (same mode) |");
console.log("| --- | --- | ---: | ---: | ---: |");
const summary = [];
for (const c of cases) {
  const rows = plan.filter((p) => p.alg === c.alg);
  const base = {
    seq: best(rows.find((p) => p.mode === "seq" && p.name.startsWith("js: subtle.verify")).wall),
    conc: best(rows.find((p) => p.mode === "conc" && p.name.startsWith("js: subtle.verify")).wall),
  };
  for (const p of rows) {
    const w = best(p.wall);
    console.log(`| ${p.alg} | ${p.name} | ${fmt(w)} | ${fmt(median(p.cpu))} | ${(w / base[p.mode]).toFixed(2)}× |`);
  }
  const rustSeq = best(rows.find((p) => p.name === "rust: WebCrypto backend, full verify").wall);
  const cpuOf = (name) => median(rows.find((p) => p.name === name).cpu);
  const concCpu =
    cpuOf(`rust: WebCrypto backend ×${CONCURRENCY} in flight`) / cpuOf(`js: subtle.verify ×${CONCURRENCY} in flight`);
  const stepCpu =
    cpuOf(`rust: WebCrypto signature step only ×${CONCURRENCY} in flight`) /
    cpuOf(`js: subtle.verify ×${CONCURRENCY} in flight`);
  summary.push({ alg: c.alg, seq: rustSeq / base.seq, conc: concCpu, step: stepCpu });
}
console.log("");
const verdict = (x) => (x <= 1.5 ? "within 1.5×" : "OUTSIDE 1.5×");
for (const s of summary) {
  console.log(
    `${s.alg}: WebCrypto backend (full token verify) vs plain JS subtle.verify: latency ${s.seq.toFixed(2)}× ` +
      `(${verdict(s.seq)}); throughput CPU with ${CONCURRENCY} in flight ${s.conc.toFixed(2)}× (${verdict(s.conc)}); ` +
      `signature step alone ${s.step.toFixed(2)}×`,
  );
}
