// Key sets in real workerd: rotation, the unknown-kid flood bound, single flight across concurrent requests
// in one isolate, and issuer outages with and without cached keys. Each test gets a fresh isolate.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { freePort } from "../../tools/js/net.mjs";
import { afterEach, test } from "node:test";
import { authAt, startGate, trusting } from "../../tools/js/gate.mjs";
import { newKey, startIssuer } from "../../tools/js/issuer.mjs";

const cleanup = [];
afterEach(async () => { while (cleanup.length) await cleanup.pop()(); });

/** The test-only entry module (isolate clock: /__test/clock). */
const HOOKS = { entry: new URL("./support/hooks-entry.mjs", import.meta.url) };

async function setup(opts = {}, vars = {}, gateOpts = {}) {
  const issuer = await startIssuer(opts);
  cleanup.push(() => issuer.close());
  const gate = await startGate({ ...trusting(issuer), ...vars }, gateOpts);
  cleanup.push(() => gate.dispose());
  return { issuer, gate };
}

/** A forward-auth request with `token` for GET /api/peers: { status, code, text, headers }. */
const auth = (gate, token) => authAt(gate, { token });

/** Move the isolate's clock (gates started with HOOKS: tests/e2e/support/hooks-entry.mjs). */
async function advance(gate, seconds) {
  const r = await gate.fetch(`/__test/clock?advance=${seconds}`, { method: "POST" });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
}

const parsedLogs = (gate) => gate.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);

/** Wait (bounded: 5 s) until `ok()`. */
async function until(ok, what) {
  for (let i = 0; i < 250 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(ok(), `timed out waiting for ${what}`);
}

// PocketID serves its key set with `Cache-Control: private, no-store`: the gate keeps it for its default TTL, 600 s.
const TTL = 600;

test("past the TTL, cached tokens alone start a background refresh: a removed key stops verifying them", async () => {
  const { issuer, gate } = await setup({}, { LOG: "all" }, HOOKS);
  const token = issuer.idToken();
  for (let i = 0; i < 3; i++) assert.equal((await auth(gate, token)).status, 200);
  await until(() => parsedLogs(gate).some((l) => l.event === "request" && l.cached), "a cached verdict");
  issuer.rotate(); // the token's key is gone from the issuer's set
  assert.equal((await auth(gate, token)).status, 200, "within the TTL the cached verdict stands");
  await advance(gate, TTL + 1);
  const stale = await auth(gate, token);
  assert.equal(stale.status, 200, "answered at once from the cache while the refresh runs");
  // Only the cached token was sent, and no new token: the refresh was started by the cache hit.
  await until(() => parsedLogs(gate).some((l) => l.event === "key_fetch" && l.reason === "expired" && l.ok), "the background refresh");
  assert.equal(issuer.jwksFetches(), 2);
  const refused = await auth(gate, token);
  assert.equal(refused.status, 401);
  assert.equal(refused.code, "key_not_found", "the cached verdict died with its key");
  assert.equal((await auth(gate, issuer.idToken({ name: "new-key" }))).status, 200);
});

test("fresh keys: cached tokens start no fetch", async () => {
  const { issuer, gate } = await setup({}, {}, HOOKS);
  const token = issuer.idToken();
  for (let i = 0; i < 5; i++) assert.equal((await auth(gate, token)).status, 200);
  await advance(gate, TTL - 5);
  for (let i = 0; i < 5; i++) assert.equal((await auth(gate, token)).status, 200);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(issuer.jwksFetches(), 1);
});

for (const [stale, label] of [["0", "KEYS_STALE_SECONDS=0"], [undefined, "KEYS_STALE_SECONDS unset (6 h)"]]) {
  test(`${label}: an issuer outage past the TTL ${stale === "0" ? "is a 503 at once" : "is served from the last good keys for 6 h"}`, async () => {
    const vars = stale === undefined ? {} : { KEYS_STALE_SECONDS: stale };
    const { issuer, gate } = await setup({}, vars, HOOKS);
    const cached = issuer.idToken({ name: "cached" });
    for (let i = 0; i < 3; i++) assert.equal((await auth(gate, cached)).status, 200);
    issuer.outage(true);
    await advance(gate, TTL + 1);
    for (const token of [issuer.idToken({ name: "new" }), cached]) {
      const r = await auth(gate, token);
      if (stale === "0") {
        assert.equal(r.status, 503, r.text);
        assert.equal(r.code, "keys_unavailable");
      } else {
        assert.equal(r.status, 200, r.text);
      }
    }
    if (stale === undefined) {
      await advance(gate, 21_600);
      const r = await auth(gate, issuer.idToken({ name: "late" }));
      assert.equal(r.status, 503, "past the stale window");
      assert.equal(r.code, "keys_unavailable");
    }
  });
}

test("key rotation: the new kid passes after one refresh, tokens of the removed key fail", async () => {
  const { issuer, gate } = await setup();
  const oldToken = issuer.idToken();
  assert.equal((await auth(gate, oldToken)).status, 200);
  assert.equal((await auth(gate, oldToken)).status, 200, "cached verdict");
  issuer.rotate();
  const r = await auth(gate, issuer.idToken());
  assert.equal(r.status, 200, r.text);
  assert.equal(issuer.jwksFetches(), 2, "one initial load, one refresh for the new kid");
  const old = await auth(gate, oldToken);
  assert.equal(old.status, 401);
  assert.equal(old.code, "key_not_found", "the cached verdict died with its key");
});

test("rotation to ES256 works through WebCrypto", async () => {
  const { issuer, gate } = await setup();
  assert.equal((await auth(gate, issuer.idToken())).status, 200);
  issuer.rotate("ES256");
  const r = await auth(gate, issuer.idToken());
  assert.equal(r.status, 200, r.text);
});

test("an unknown-kid flood causes at most one fetch per cooldown", async () => {
  const { issuer, gate } = await setup();
  assert.equal((await auth(gate, issuer.idToken())).status, 200);
  const evil = Array.from({ length: 10 }, () => newKey());
  for (const k of evil) {
    const r = await auth(gate, issuer.idToken({ key: k }));
    assert.equal(r.status, 401);
    assert.equal(r.code, "key_not_found");
  }
  const results = await Promise.all(evil.map((k) => auth(gate, issuer.idToken({ key: k }))));
  assert.ok(results.every((r) => r.status === 401));
  assert.equal(issuer.jwksFetches(), 2, "initial + one refresh within the 30 s cooldown");
  assert.equal((await auth(gate, issuer.idToken())).status, 200, "good tokens still pass");
});

test("single flight: 32 concurrent first requests in one isolate fetch the key set once", async () => {
  const { issuer, gate } = await setup({ delayMs: 300 });
  const tokens = Array.from({ length: 32 }, (_, i) => issuer.idToken({ name: `user${i}` }));
  const results = await Promise.all(tokens.map((t) => auth(gate, t)));
  assert.deepEqual(results.map((r) => r.status), tokens.map(() => 200));
  assert.equal(issuer.count("/.well-known/openid-configuration"), 1);
  assert.equal(issuer.jwksFetches(), 1);
});

test("JWKS is cached despite Cache-Control: private, no-store", async () => {
  const { issuer, gate } = await setup();
  for (let i = 0; i < 5; i++) assert.equal((await auth(gate, issuer.idToken({ name: `u${i}` }))).status, 200);
  assert.equal(issuer.jwksFetches(), 1);
});

test("issuer outage with cached keys: tokens still verify", async () => {
  const { issuer, gate } = await setup();
  assert.equal((await auth(gate, issuer.idToken())).status, 200);
  issuer.outage(true);
  assert.equal((await auth(gate, issuer.idToken({ name: "dave" }))).status, 200);
  const unknown = await auth(gate, issuer.idToken({ key: newKey() }));
  assert.equal(unknown.code, "key_not_found", "the failed refresh keeps the last good keys");
  assert.equal((await auth(gate, issuer.idToken({ name: "erin" }))).status, 200);
  assert.equal((await gate.fetch("/_gate/healthz")).status, 200);
});

test("issuer outage without cached keys: 503 keys_unavailable, never 401", async () => {
  const { issuer, gate } = await setup();
  issuer.outage(true);
  const r = await auth(gate, issuer.idToken());
  assert.equal(r.status, 503);
  assert.equal(r.headers.get("www-authenticate"), null);
  assert.equal(r.code, "keys_unavailable");
  const h = await gate.fetch("/_gate/healthz");
  assert.equal(h.status, 503);
  const body = await h.json();
  assert.equal(body.status, "keys_unavailable");
  assert.equal(body.issuers[0].code, "keys_unavailable");
});

test("issuer unreachable (nothing listening) and JWKS_URI set: 503 keys_unavailable", async () => {
  const port = await freePort();
  const issuer = await startIssuer();
  cleanup.push(() => issuer.close());
  const gate = await startGate({ ...trusting(issuer), ALLOW_GROUPS: "*", JWKS_URI: `http://127.0.0.1:${port}/jwks` });
  cleanup.push(() => gate.dispose());
  const r = await auth(gate, issuer.idToken());
  assert.equal(r.status, 503);
  assert.equal(r.code, "keys_unavailable");
  assert.equal(issuer.count("/.well-known/openid-configuration"), 0, "JWKS_URI skips discovery");
});

test("discovery naming another issuer is refused", async () => {
  const issuer = await startIssuer();
  cleanup.push(() => issuer.close());
  // Configure the issuer as "localhost" while discovery says 127.0.0.1: exact match fails.
  const configured = issuer.url.replace("127.0.0.1", "localhost");
  const gate = await startGate({ ISSUER: configured, AUDIENCE: "netbird", ALLOW_GROUPS: "*" });
  cleanup.push(() => gate.dispose());
  const h = await gate.fetch("/_gate/healthz");
  assert.equal(h.status, 503);
  assert.equal((await h.json()).issuers[0].code, "keys_unavailable");
});

test("a key set whose only key is weak (RSA-1024) is an outage: 503, the key_fetch log names it", async () => {
  const { issuer, gate } = await setup();
  const weak = newKey();
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  Object.assign(weak, { privateKey, publicKey, jwk: { ...publicKey.export({ format: "jwk" }), kid: weak.kid, alg: "RS256", use: "sig" } });
  issuer.state.keys = [weak];
  const r = await auth(gate, issuer.idToken({ key: weak }));
  assert.equal(r.status, 503);
  assert.equal(r.code, "keys_unavailable");
  const h = await gate.fetch("/_gate/healthz");
  assert.equal(h.status, 503);
  assert.equal((await h.json()).issuers[0].code, "keys_unavailable");
  // An unusable set counts as a failed fetch (the last good keys, if any, stay): the log line names the cause.
  const fetches = gate.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter((l) => l?.event === "key_fetch");
  assert.ok(fetches.some((l) => !l.ok && /no usable key \(1 rejected\)/.test(l.message)), JSON.stringify(fetches));
});
