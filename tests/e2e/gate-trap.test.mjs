// A real WebAssembly trap in real workerd while requests are parked on WebCrypto and waiting on a key fetch: the
// gate moves to a fresh instance, and nothing of the trapped instance reaches the new one. A parked request of the
// old instance never gets another request's verdict (before the fix, a settled `true` of the old instance resumed
// the new instance's parked request of the same number: a forged token's claims came back as a 200), requests
// waiting on the old instance's futures get a closed 500, and later requests work.
//
// The trap is forced through tests/e2e/support/hooks-entry.mjs, a test-only entry module around the unchanged
// production build (see there): a request object whose header lookup re-enters the gate, so the inner call finds
// the header buffer borrowed and Rust panics (`unreachable`).
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, test } from "node:test";
import { authAt, startGate, trusting } from "../../tools/js/gate.mjs";
import { newKey, startIssuer } from "../../tools/js/issuer.mjs";

let issuer, gate;
before(async () => { issuer = await startIssuer(); });
after(async () => { await issuer?.close(); });
// Each test gets a fresh isolate.
beforeEach(async () => {
  gate = await startGate({ ...trusting(issuer), LOG: "all" }, { entry: new URL("./support/hooks-entry.mjs", import.meta.url) });
});
afterEach(async () => { await gate?.dispose(); issuer.state.delayMs = 0; });

const hook = async (path) => (await gate.fetch(path, { method: "POST" })).json();

/** A forward-auth request with `token` for GET /api/peers: { status, text, code, user }. */
const auth = (token) => authAt(gate, { token });

async function heldAtLeast(n) {
  for (let i = 0; i < 250; i++) {
    if ((await (await gate.fetch("/__test/held")).json()).held >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`fewer than ${n} WebCrypto verdicts held`);
}

/** A token of `name` whose signature does not verify (right kid, right length). */
function forged(name) {
  const [h, p, s] = issuer.idToken({ name }).split(".");
  const sig = Buffer.from(s, "base64url");
  sig[7] ^= 1;
  return `${h}.${p}.${sig.toString("base64url")}`;
}

async function forceTrap() {
  const trap = await hook("/__test/trap");
  assert.equal(trap.inner?.name, "RuntimeError", JSON.stringify(trap));
  assert.match(trap.inner.message, /unreachable/);
}

/** Later requests work, a forged token stays refused, and the reset was logged (old closures' refusals were not). */
async function worksAfterwards() {
  for (let i = 0; i < 3; i++) {
    const ok = await auth(issuer.idToken({ name: "later" }));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.user, issuer.user("later").sub);
    assert.equal((await auth(forged("mallory"))).status, 401);
  }
  const lines = gate.logs.join("\n");
  assert.match(lines, /"event":"wasm_reset"/);
  assert.doesNotMatch(lines, /previous WASM instance/, "an old closure's refusal was reported as an error");
}

const T = { timeout: 30_000 };

test("a parked verdict of the trapped instance never resumes a request of the new one", T, async () => {
  // Instance 0: keys loaded and the key imported, so a new token parks on WebCrypto (number 0 of this instance).
  assert.equal((await auth(issuer.idToken({ name: "warm0" }))).status, 200);
  await hook("/__test/hold?on=1");
  const alice = auth(issuer.idToken({ name: "alice" }));
  await heldAtLeast(1);
  await forceTrap();
  // Instance 1: load keys again (verdicts not held), then park a forged token: number 0 of the new instance.
  await hook("/__test/hold?on=0");
  assert.equal((await auth(issuer.idToken({ name: "warm1" }))).status, 200);
  await hook("/__test/hold?on=1");
  const mallory = auth(forged("mallory"));
  await heldAtLeast(2);
  // Alice's verdict (true, from instance 0) settles first: it must not resume instance 1's parked request.
  await hook("/__test/release?count=1");
  const a = await alice;
  assert.notEqual(a.user, issuer.user("mallory").sub, "alice's request was answered with the forged token's identity");
  assert.equal(a.status, 500, a.text);
  assert.equal(a.code, "internal_error");
  assert.equal(a.user, null, "another request's identity");
  await hook("/__test/release");
  const m = await mallory;
  assert.equal(m.status, 401, m.text);
  assert.equal(m.code, "signature_invalid");
  await hook("/__test/hold?on=0");
  await worksAfterwards();
});

test("a request waiting on the trapped instance's key fetch gets a closed 500 at once", T, async () => {
  assert.equal((await auth(issuer.idToken({ name: "warm0" }))).status, 200);
  // An unknown kid's key-set refresh that the issuer answers slowly: the request waits on a Rust future.
  issuer.state.delayMs = 1_500;
  const carol = auth(issuer.idToken({ key: newKey(), name: "carol" }));
  await new Promise((r) => setTimeout(r, 200));
  issuer.state.delayMs = 0;
  await forceTrap();
  const t0 = Date.now();
  const c = await carol;
  assert.equal(c.status, 500, c.text);
  assert.equal(c.code, "internal_error", c.text);
  assert.ok(Date.now() - t0 < 1_000, "closed only after the old instance's fetch came back");
  await worksAfterwards();
});

test("a trap during a background key refresh: the old instance's refresh is dropped, the new instance loads its own", T, async () => {
  const token = issuer.idToken({ name: "cached" });
  for (let i = 0; i < 3; i++) assert.equal((await auth(token)).status, 200);
  const fetched = issuer.jwksFetches();
  await hook("/__test/clock?advance=601"); // past the key set's TTL (600 s for PocketID's `no-store`)
  issuer.state.delayMs = 1_000;
  // The cached token is answered at once; its issuer's refresh runs in the background (ctx.waitUntil).
  assert.equal((await auth(token)).status, 200);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(issuer.jwksFetches(), fetched + 1, "no background refresh started");
  issuer.state.delayMs = 0;
  const logsAtTrap = gate.logs.length;
  await forceTrap();
  const later = await auth(issuer.idToken({ name: "later2" }));
  assert.equal(later.status, 200, later.text);
  // The old refresh's answer arrives after the trap: its callback is refused by the glue, nothing is loaded by it.
  await new Promise((r) => setTimeout(r, 1_500));
  const since = gate.logs.slice(logsAtTrap).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
  assert.deepEqual(since.filter((l) => l.event === "key_fetch").map((l) => l.reason), ["initial"], JSON.stringify(since));
  assert.equal((await auth(token)).status, 200, "the new instance verifies the token itself");
  await worksAfterwards();
});

test("a trap inside a Rust future (run from a microtask): the gate moves to a fresh instance before the next request", T, async () => {
  await hook("/__test/trap-on-log");
  // A first token in a fresh isolate is answered by a Rust future (the key set is fetched first); its request log line
  // (LOG=all) re-enters the gate, which traps inside the future.
  const first = await auth(issuer.idToken({ name: "first" }));
  assert.equal(first.status, 500, first.text);
  assert.notEqual(first.user, issuer.user("first").sub);
  for (let i = 0; i < 50 && !gate.logs.some((l) => l.includes('"event":"wasm_reset"')); i++) await new Promise((r) => setTimeout(r, 20));
  // The very next request already runs in the new instance (the trapped one still held its log budget borrowed).
  const next = await auth(issuer.idToken({ name: "next" }));
  assert.equal(next.status, 200, next.text);
  await worksAfterwards();
});
