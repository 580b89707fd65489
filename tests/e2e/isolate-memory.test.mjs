// Issue 14: with every cache at capacity the gate isolate stays at or under 64 MiB (half the 128 MB Workers limit),
// whatever the traffic. The gate from build/ runs in bare workerd with its inspector on loopback; the isolate's
// memory is the WebAssembly linear memory (/_gate/healthz `wasm_memory`) plus V8's heap figures from the inspector
// (tools/js/isolatemem.mjs documents the method). The stream, all valid tokens of the loopback issuer (200 at
// forward-auth), each sent twice because the Worker caches a token on second sight:
//   1. 10 256 ordinary PocketID tokens of as many distinct users, signed round-robin by the issuer's 100 keys (its
//      JWKS at MAX_KEYS): the token cache at its entry capacity, the identity templates at their count (1024), the
//      WebCrypto key cache at its 64 keys;
//   2. then 400 distinct tokens of the largest size the core accepts (token::Limits::max_token, 32 768 bytes), 300
//      groups each: the token cache and the identity templates at their byte budgets.
// Figures are printed (BENCHMARKS.md, "Isolate memory", records them); run alone with
//   node --test --test-reporter=spec tests/e2e/isolate-memory.test.mjs
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { AUTH_PATH, forwardAuthHeaders, startGateWorkerd, trusting } from "../../tools/js/gate.mjs";
import { inspectIsolate, isolateMemory, mib } from "../../tools/js/isolatemem.mjs";
import { newKey, startIssuer } from "../../tools/js/issuer.mjs";
import { freePort } from "../../tools/js/net.mjs";

const LIMIT = 64 * 1048576; // half the platform's 128 MB
const MAX_TOKEN = 32_768; // token::Limits::max_token
const CAPACITY = 10_000; // tokencache::DEFAULT_CAPACITY
// A few more than the capacity: two tokens in flight at once may share a slot of the second-sight table, and then
// one of them is not admitted on its second request.
const ORDINARY = CAPACITY + 256;
const BIG = 400; // 16 MiB / ~64 KiB per entry ≈ 260 fill the token cache's byte budget
const GROUPS = 300;
const TOKEN_BYTES = 16 << 20; // tokencache::DEFAULT_MAX_BYTES
const IDENTITY_BYTES = 4 << 20; // the templates' budget (src/worker/respond.rs)
const KEYS = 100; // jwk::MAX_KEYS
const CRYPTO_KEYS = 64; // WebCrypto::CACHE_CAPACITY
const CONCURRENCY = 8;

// Forward-auth answers carry ~23 KB of identity headers: more than Node's default 16 KiB header limit.
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function auth(url, token) {
  const u = new URL(url + AUTH_PATH);
  const once = () => new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, agent, maxHeaderSize: 256 * 1024,
      headers: forwardAuthHeaders({ token }) }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, groups: res.headers["x-auth-request-groups"] ?? "" }));
    });
    // A kept-alive socket that workerd closed while it sat idle (minting the big tokens takes seconds) resets
    // when reused: that GET never reached the gate, and is sent again on a new socket (Node's http documentation
    // gives this rule). Any other failure, or a reset on a new socket, fails the test.
    req.on("error", (e) => reject(req.reusedSocket && e.code === "ECONNRESET" ? Object.assign(e, { stale: true }) : e));
    req.end();
  });
  return once().catch((e) => (e.stale ? once() : Promise.reject(e)));
}

/** Send every token twice (first sight, then the second that caches it), CONCURRENCY at a time; every answer must
 * be a 200 (checked by the caller on the returned statuses). */
async function sendTwice(url, tokens) {
  const statuses = new Map();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < tokens.length) {
      const token = tokens[next++];
      for (let sight = 0; sight < 2; sight++) {
        const { status } = await auth(url, token);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
  }));
  return Object.fromEntries(statuses);
}

/** A valid token of exactly the largest accepted size or a few bytes under it: user `i`, 300 distinct groups
 * (netbird-users, which the gate allows, among them), signed by the issuer's RS256 key. */
function bigToken(issuer, i) {
  const mint = (pad, extra) => issuer.idToken({
    name: `big${i}`,
    groups: ["netbird-users", ...Array.from({ length: GROUPS - 1 }, (_, j) =>
      `team-${i}-${j}-${"x".repeat(pad + (j === GROUPS - 2 ? extra : 0))}`)],
  });
  const base = mint(0, 0).length;
  // Each character added to every group adds ~4/3 × 299 token characters; the last group takes up the rest.
  const pad = Math.floor(((MAX_TOKEN - base) * 3) / 4 / (GROUPS - 1));
  let extra = Math.floor(((MAX_TOKEN - mint(pad, 0).length) * 3) / 4);
  let token = mint(pad, extra);
  while (token.length > MAX_TOKEN) token = mint(pad, --extra);
  return token;
}

test("with every cache at capacity under an adversarial stream the isolate stays at or under 64 MiB", { timeout: 240_000 }, async (t) => {
  const issuer = await startIssuer();
  // The issuer's JWKS at MAX_KEYS: its RS256 key, then Ed25519 keys (fast to make) to fill the WebCrypto key cache.
  issuer.state.keys.push(...Array.from({ length: KEYS - 1 }, () => newKey("EdDSA")));
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-isolate-memory-"));
  const inspectorPort = await freePort();
  const gate = await startGateWorkerd({ vars: trusting(issuer), dir, args: [`--inspector-addr=127.0.0.1:${inspectorPort}`] });
  const inspector = await inspectIsolate(inspectorPort);
  const report = [];
  const measure = async (label) => {
    const m = await isolateMemory(gate.url, inspector);
    report.push(`${label}: isolate ${mib(m.total)} MiB = wasm ${mib(m.wasm)} + JS heap used ${mib(m.jsHeapUsed)} ` +
      `(${mib(m.jsHeapUsedBeforeGc)} before the collection; heap total ${mib(m.jsHeapTotal)}) + embedder ${mib(m.embedder)} ` +
      `+ backing stores ${mib(m.backing)}; caches ${JSON.stringify(m.caches)}`);
    t.diagnostic(report.at(-1));
    return m;
  };
  try {
    const start = await measure("start");

    const keys = issuer.state.keys;
    const ordinary = Array.from({ length: ORDINARY }, (_, i) => issuer.idToken({ name: `user${i}`, key: keys[i % KEYS] }));
    assert.deepEqual(await sendTwice(gate.url, ordinary), { 200: 2 * ORDINARY });
    const filled = await measure(`after ${ORDINARY} ordinary tokens`);
    assert.equal(filled.caches.tokens, CAPACITY, "the token cache is at its entry capacity");
    assert.equal(filled.caches.tokens_capacity, CAPACITY);
    assert.equal(filled.caches.identities, 1024, "the identity templates are at their count");
    assert.equal(filled.caches.crypto_keys, CRYPTO_KEYS, "the WebCrypto key cache is full");

    const big = Array.from({ length: BIG }, (_, i) => bigToken(issuer, i));
    assert.ok(big.every((tok) => tok.length <= MAX_TOKEN && tok.length > MAX_TOKEN - 8), "tokens of the largest size");
    assert.equal(new Set(big).size, BIG, "all distinct");
    const one = await auth(gate.url, big[0]);
    assert.equal(one.status, 200);
    assert.equal(one.groups.split(",").length, GROUPS, "300 groups forwarded");
    assert.deepEqual(await sendTwice(gate.url, big), { 200: 2 * BIG });
    const end = await measure(`after ${BIG} tokens of ${MAX_TOKEN} bytes with ${GROUPS} groups`);
    // Full: within two of the largest entries of their budgets (an entry that does not fit evicts the oldest).
    const bigEntry = Math.max(...big.map((tok) => tok.length)) * 2 + 4096;
    assert.ok(end.caches.token_bytes > TOKEN_BYTES - 2 * bigEntry && end.caches.token_bytes <= TOKEN_BYTES,
      `token cache at its byte budget: ${end.caches.token_bytes}`);
    assert.ok(end.caches.identity_bytes > IDENTITY_BYTES - 2 * bigEntry && end.caches.identity_bytes <= IDENTITY_BYTES,
      `identity templates at their byte budget: ${end.caches.identity_bytes}`);

    // The measurement measures something: a fresh isolate reads less than a full one, in both parts.
    assert.ok(start.total < filled.total && start.total < end.total, "the figure grows with what the caches hold");
    assert.ok(end.wasm > start.wasm && end.jsHeapUsed > start.jsHeapUsed, "both parts measure something");
    // workerd keeps the templates' header values in C++ outside V8's heap: counted here by their whole budget figure.
    const isolate = end.total + end.caches.identity_bytes;
    assert.ok(isolate <= LIMIT, `isolate ${mib(isolate)} MiB > 64 MiB:\n${report.join("\n")}`);
    console.log(report.join("\n"));
  } finally {
    agent.destroy();
    inspector.close();
    await gate.stop();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
