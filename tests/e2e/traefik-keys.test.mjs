// The Traefik plugin's jwksFile semantics (issue 22, findings 3 and 4; docs/TRAEFIK.md "The key file") in real
// Traefik, with many pooled plugin instances: Traefik takes one guest instance per request in flight from a
// sync.Pool and puts it back only after the response (http-wasm-host-go handler/middleware.go, HandleRequest and
// getOrCreateGuest; handler/nethttp/middleware.go), so the upstream here answers after UPSTREAM_DELAY_MS and
// WIDTH concurrent allowed requests hold about WIDTH instances at once. Every answer of every burst is checked.
//
// Shown, each at the next request in every instance:
// - a same-size rewrite that keeps the old modification time (cp -p, rsync -t, a rotated RS256 key) is seen;
// - an empty key set revokes every key (503 keys_unavailable), and a good set restores them;
// - a deleted file revokes (the decision documented in docs/TRAEFIK.md), whatever keysStaleSeconds says;
// - an invalid file keeps the last good keys for keysStaleSeconds, then every instance refuses;
// - keysStaleSeconds is accepted, and a bad value is a 503 config_invalid naming it, never echoing it.
// And what the build does for Traefik's wazero (v1.8.0, under Go 1.24+; xtask/src/util.rs wasm_lower_bulk_memory):
// a 16 KiB key file and valid tokens of several kilobytes are handled, not a 500 "out of bounds memory access".
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ROOT, need } from "../../tools/js/env.mjs";
import { newKey, startIssuer } from "../../tools/js/issuer.mjs";
import { rawRequest } from "../../tools/js/net.mjs";
import { docSnippet, startTraefik } from "../../tools/js/proxies.mjs";

const TRAEFIK_MD = readFileSync(join(ROOT, "docs/TRAEFIK.md"), "utf8");
const PLUGIN_DIR = join(ROOT, "build/traefik/plugins-local/src/pocketgate");
/** Concurrent requests per burst. */
const WIDTH = 24;
/** How long the upstream holds each request (and so the plugin instance that let it through). */
const UPSTREAM_DELAY_MS = 150;
/** A fixed modification time (whole seconds, so it can be set back exactly). */
const MTIME = 1_700_000_000;
const INVALID = 'Bearer realm="pocketgate", error="invalid_token"';

let issuer;
let upstream;
/** Requests in flight at the upstream, and the most seen at once since the last reset. */
const flight = { now: 0, peak: 0 };
before(async () => {
  need(join(PLUGIN_DIR, "plugin.wasm"), "run `cargo xtask build` (it builds the Traefik plugin)");
  issuer = await startIssuer();
  upstream = createServer((req, res) => {
    flight.peak = Math.max(flight.peak, ++flight.now);
    setTimeout(() => {
      flight.now--;
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"upstream":true}');
    }, UPSTREAM_DELAY_MS);
  });
  await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
});
after(async () => {
  await issuer?.close();
  await new Promise((r) => (upstream ? upstream.close(r) : r()));
});

/**
 * Traefik with the plugin on /api (the documented static configuration: the key directory mounted read-only at
 * /keys), the issuer's key set in the mounted jwks.json, and `extra` middleware options (YAML lines).
 */
async function start(extra = "") {
  const work = mkdtempSync(join(tmpdir(), "pocketgate-keys-"));
  const keys = join(work, "keys");
  cpSync(PLUGIN_DIR, join(work, "plugins-local/src/pocketgate"), { recursive: true });
  mkdirSync(keys);
  const file = join(keys, "jwks.json");
  writeFileSync(file, JSON.stringify(issuer.jwks()));
  const { port } = upstream.address();
  const dynamic = `http:
  middlewares:
    pocketgate:
      plugin:
        pocketgate:
          issuer: "${issuer.url}"
          audience: "netbird"
          allowGroups: ["netbird-users"]
          jwksFile: "/keys/jwks.json"
${extra.replace(/^(?=.)/gm, " ".repeat(10))}
  routers:
    api: {rule: "Host(\`vpn.example.com\`) && PathPrefix(\`/api\`)", middlewares: ["pocketgate"], service: up}
    relay: {rule: "Host(\`vpn.example.com\`) && PathPrefix(\`/relay\`)", service: up}
  services:
    up: {loadBalancer: {servers: [{url: "http://127.0.0.1:${port}"}]}}
`;
  const staticExtra = docSnippet("traefik-plugin-static", TRAEFIK_MD).replaceAll("/etc/pocketgate", keys);
  assert.ok(staticExtra.includes(`"${keys}:/keys:ro"`), staticExtra);
  const proxy = await startTraefik({ dynamic, staticExtra, cwd: work });
  return { proxy, keys, file, work };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const api = (proxy, token) => rawRequest(proxy.url, "/api/peers", { headers: token ? { authorization: `Bearer ${token}` } : {} });
/** `n` concurrent requests with `token`. */
const burst = (proxy, token, n = WIDTH) => Promise.all(Array.from({ length: n }, () => api(proxy, token)));
const answers = (rs) => rs.map((r) => `${r.status} ${r.json?.code ?? ""}`.trim());

/** Several instances, each having verified `token` (its cache) and read the current file. */
async function warm(proxy, token) {
  flight.peak = 0;
  for (let i = 0; i < 3; i++) assert.deepEqual(answers(await burst(proxy, token)), Array(WIDTH).fill("200"));
  // Each request at the upstream holds the plugin instance that let it through: this many existed at once.
  assert.ok(flight.peak >= WIDTH / 2, `only ${flight.peak} requests were in flight at once`);
}

/** Every answer refuses with `status` and `code` (and the Worker's headers). */
function assertAllRefused(rs, status, code) {
  assert.deepEqual(answers(rs), Array(rs.length).fill(`${status} ${code}`));
  for (const r of rs) {
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["cache-control"], "no-store");
    if (status === 401) assert.equal(r.headers["www-authenticate"], INVALID);
  }
}

/** Write `text` the way the docs say (a new file, then a rename). */
function writeKeys(file, text) {
  writeFileSync(`${file}.new`, text);
  renameSync(`${file}.new`, file);
}

describe("jwksFile with the documented options (keysStaleSeconds at its default, 6 hours)", () => {
  let ctx;
  before(async () => { ctx = await start(); });
  after(async () => { await ctx?.proxy.stop(); });

  test("a same-size rewrite that keeps the old modification time takes effect at the next request in every instance", async () => {
    // PocketID's default: RS256, an 11-character kid; a rotated key's set has the same length.
    utimesSync(ctx.file, MTIME, MTIME);
    const oldToken = issuer.idToken();
    await warm(ctx.proxy, oldToken);
    const before = statSync(ctx.file, { bigint: true });
    issuer.rotate("RS256");
    const newToken = issuer.idToken();
    // In place (the same inode, as cp -p and rsync --inplace -t leave it), then the old mtime back.
    writeFileSync(ctx.file, JSON.stringify(issuer.jwks()));
    utimesSync(ctx.file, MTIME, MTIME);
    const now = statSync(ctx.file, { bigint: true });
    assert.equal(now.size, before.size, "the same size");
    assert.equal(now.mtimeNs, before.mtimeNs, "the same modification time");
    assert.equal(now.ino, before.ino, "the same file");
    // The old token first (nothing has asked for an unknown kid yet), then both at once: the new token's
    // requests hold their instances at the upstream, so the old token's go to the others.
    assertAllRefused(await burst(ctx.proxy, oldToken), 401, "key_not_found");
    const [fresh, stale] = await Promise.all([burst(ctx.proxy, newToken), burst(ctx.proxy, oldToken)]);
    assert.deepEqual(answers(fresh), Array(WIDTH).fill("200"));
    assertAllRefused(stale, 401, "key_not_found");
    writeKeys(ctx.file, JSON.stringify(issuer.jwks()));
  });

  test("an empty key set revokes every key at the next request in every instance; a good set restores them", async () => {
    const token = issuer.idToken();
    await warm(ctx.proxy, token);
    writeKeys(ctx.file, '{"keys":[]}');
    for (let i = 0; i < 3; i++) assertAllRefused(await burst(ctx.proxy, token), 503, "keys_unavailable");
    const log = ctx.proxy.output();
    assert.match(log, /pocketgate: jwksFile \/keys\/jwks\.json holds no usable key \(0 rejected\): every token of this issuer is refused \(503 keys_unavailable\)/);
    writeKeys(ctx.file, JSON.stringify(issuer.jwks()));
    await warm(ctx.proxy, token);
  });

  test("a key file behind symlinks follows their swap at the next request in every instance (a Kubernetes ConfigMap)", async () => {
    // kubelet's layout: jwks.json -> ..data/jwks.json, ..data -> ..<timestamp>/, swapped by renaming a new ..data
    // link over the old one. The plugin keeps the file open between requests; the path now names another file.
    const volume = (name, text) => {
      mkdirSync(join(ctx.keys, name));
      writeFileSync(join(ctx.keys, name, "jwks.json"), text);
      symlinkSync(name, join(ctx.keys, "..data_tmp"));
      renameSync(join(ctx.keys, "..data_tmp"), join(ctx.keys, "..data"));
    };
    volume("..2026_12_04_a", JSON.stringify(issuer.jwks()));
    symlinkSync("..data/jwks.json", `${ctx.file}.link`);
    renameSync(`${ctx.file}.link`, ctx.file);
    const oldToken = issuer.idToken();
    await warm(ctx.proxy, oldToken);
    issuer.rotate("RS256");
    const newToken = issuer.idToken();
    volume("..2026_12_04_b", JSON.stringify(issuer.jwks()));
    assertAllRefused(await burst(ctx.proxy, oldToken), 401, "key_not_found");
    const [fresh, stale] = await Promise.all([burst(ctx.proxy, newToken), burst(ctx.proxy, oldToken)]);
    assert.deepEqual(answers(fresh), Array(WIDTH).fill("200"));
    assertAllRefused(stale, 401, "key_not_found");
    // The old volume's file, still open in the instances, is rewritten in place: it is no longer the path's file.
    writeFileSync(join(ctx.keys, "..2026_12_04_a", "jwks.json"), '{"keys":[]}');
    assert.deepEqual(answers(await burst(ctx.proxy, newToken)), Array(WIDTH).fill("200"));
    writeKeys(ctx.file, JSON.stringify(issuer.jwks()));
    await warm(ctx.proxy, newToken);
  });

  test("a deleted file revokes at the next request in every instance (not the stale window); writing it back restores", async () => {
    const token = issuer.idToken();
    await warm(ctx.proxy, token);
    rmSync(ctx.file);
    for (let i = 0; i < 3; i++) assertAllRefused(await burst(ctx.proxy, token), 503, "keys_unavailable");
    assert.match(ctx.proxy.output(), /pocketgate: jwksFile \/keys\/jwks\.json does not exist: every token of this issuer is refused/);
    writeKeys(ctx.file, JSON.stringify(issuer.jwks()));
    await warm(ctx.proxy, token);
  });
});

describe("an invalid jwksFile with keysStaleSeconds: 6", () => {
  const STALE = 6;
  let ctx;
  before(async () => { ctx = await start(`keysStaleSeconds: ${STALE}\n`); });
  after(async () => { await ctx?.proxy.stop(); });

  test("the last good keys serve for keysStaleSeconds from the last good read, then every instance refuses", async () => {
    const token = issuer.idToken();
    await warm(ctx.proxy, token);
    const broken = Date.now();
    writeKeys(ctx.file, '{"keys":[{"kty":"RSA"'); // a half-written file
    // Within the window: the instances that read the good file still verify. One that Traefik created after
    // the file broke never read a good set and refuses at once (docs/TRAEFIK.md): 503, never anything else.
    const within = await burst(ctx.proxy, token);
    assert.ok(Date.now() - broken < 2000, "the first burst ran well within the window");
    const served = answers(within).filter((a) => a === "200").length;
    assert.deepEqual(answers(within).filter((a) => a !== "200"), Array(WIDTH - served).fill("503 keys_unavailable"));
    assert.ok(served >= WIDTH / 2, `the instances that hold the last good keys serve them (${answers(within)})`);
    assert.match(ctx.proxy.output(), /pocketgate: jwksFile \/keys\/jwks\.json: key set is invalid: .*keysStaleSeconds \(6 s\)/);
    // The window starts at each instance's last good read (before `broken`) and time is whole seconds.
    await sleep(broken + (STALE + 1.5) * 1000 - Date.now());
    for (let i = 0; i < 3; i++) assertAllRefused(await burst(ctx.proxy, token), 503, "keys_unavailable");
    assert.ok(!ctx.proxy.output().includes('"kty":"RSA"'), "never the file's content");
    writeKeys(ctx.file, JSON.stringify(issuer.jwks()));
    await warm(ctx.proxy, token);
  });
});

describe("keysStaleSeconds mistakes", () => {
  for (const value of ['"S3CRET-9"', '"604801"', "-987654"]) {
    test(`keysStaleSeconds: ${value} refuses every request with 503 config_invalid and names the option, never the value`, async () => {
      const ctx = await start(`keysStaleSeconds: ${value}\n`);
      try {
        for (const token of [undefined, issuer.idToken()]) {
          const r = await api(ctx.proxy, token);
          assert.equal(r.status, 503, r.text);
          assert.equal(r.json?.code, "config_invalid", r.text);
          assert.ok(!r.text.includes(value.replaceAll('"', "")), r.text);
        }
        const log = ctx.proxy.output().replace(/\x1b\[[0-9;]*m/g, "");
        assert.match(log, /ERR .*pocketgate: invalid option keysStaleSeconds \(KEYS_STALE_SECONDS\): must be a whole number of seconds from 0 to 604800/, log);
        assert.ok(!log.includes(value.replaceAll('"', "")), "never the value");
      } finally {
        await ctx.proxy.stop();
      }
    });
  }
});

describe("large key files and tokens (memory.copy lowered for wazero v1.8.0 under Go 1.24+)", () => {
  let ctx;
  before(async () => { ctx = await start(); });
  after(async () => { await ctx?.proxy.stop(); });

  test("a 16 KiB key file loads, and a same-size change in its last chunk is seen at the next request", async () => {
    const others = Array.from({ length: 39 }, () => newKey("RS256").jwk);
    const text = (first) => JSON.stringify({ keys: [...others, first] });
    const token = issuer.idToken();
    writeKeys(ctx.file, text(issuer.key.jwk));
    assert.ok(text(issuer.key.jwk).length > 16_384, "more than four 4 KiB chunks");
    utimesSync(ctx.file, MTIME, MTIME);
    await warm(ctx.proxy, token);
    const old = statSync(ctx.file, { bigint: true });
    issuer.rotate("RS256");
    writeFileSync(ctx.file, text(issuer.key.jwk)); // only the last key differs: the file's last 4 KiB chunk
    utimesSync(ctx.file, MTIME, MTIME);
    const now = statSync(ctx.file, { bigint: true });
    assert.deepEqual([now.size, now.mtimeNs], [old.size, old.mtimeNs]);
    assertAllRefused(await burst(ctx.proxy, token), 401, "key_not_found");
    assert.deepEqual(answers(await burst(ctx.proxy, issuer.idToken())), Array(WIDTH).fill("200"));
    writeKeys(ctx.file, JSON.stringify(issuer.jwks()));
  });

  test("valid tokens of 2 to 6 KB (a user in many groups) are verified, never a 500", async () => {
    // The upstream (Node) takes at most 16 KiB of headers: the token and the groups header go to it.
    for (const groups of [40, 80, 120]) {
      const token = issuer.idToken({ groups: ["netbird-users", ...Array.from({ length: groups }, (_, i) => `team-${i}-of-the-organisation`)] });
      assert.ok(token.length > groups * 25, `${token.length} bytes`);
      const rs = await burst(ctx.proxy, token, 8);
      assert.deepEqual(answers(rs), Array(8).fill("200"), `a ${token.length}-byte token`);
    }
  });
});
