// The Traefik bench's floor plugins (bench/traefik/floor.rs, built by `cargo xtask build` next to the plugin) in
// real Traefik, and its token pools: a floor that let a bad token through, or passed without doing the I/O it
// claims to do, would make every "×floor" figure of bench/traefik.mjs meaningless; a pool that changed key when it
// grew would turn a grown run into 401s. The floor must reach the upstream with the four identity headers set; the
// key-file floor must look at its file at every request; the new-token floor must pass a valid token and refuse (401, upstream untouched) a damaged signature, another key's
// signature, a non-bearer credential and no credential, for RS256, ES256 and EdDSA.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startTraefik } from "../../bench/lib/traefik.mjs";
import { grownPool, pool } from "../../bench/lib/tokens.mjs";
import { ROOT } from "../../tools/js/env.mjs";
import { newKey, signJws, startIssuer } from "../../tools/js/issuer.mjs";
import { startUpstream } from "../../tools/js/upstream.mjs";

const FLOOR_WASM = join(ROOT, "target/wasm32-wasip1/release/pocketgate-traefik-floor.wasm");
const IDENTITY = ["x-auth-request-user", "x-auth-request-email", "x-auth-request-preferred-username", "x-auth-request-groups"];

/** Traefik with the floor plugin and `options` (and `settings`, its static plugin settings), in front of a
 * recording upstream. */
async function withFloor(options, fn, settings) {
  assert.ok(existsSync(FLOOR_WASM), `${FLOOR_WASM} is missing: run \`cargo xtask build\` (it builds the floor plugin)`);
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-floor-plugin-"));
  copyFileSync(FLOOR_WASM, join(dir, "plugin.wasm"));
  writeFileSync(join(dir, ".traefik.yml"), "displayName: floor\ntype: middleware\nruntime: wasm\nsummary: bench floor\ntestData: {}\n");
  const upstream = await startUpstream();
  const traefik = await startTraefik({ upstream: upstream.url, plugins: { floor: { moduleName: "pocketgatefloor", src: dir, settings } },
    middleware: `      plugin:\n        floor: ${JSON.stringify(options)}` });
  try {
    await fn({ get: (headers) => fetch(`${traefik.url}/api/peers`, { headers }), upstream });
  } finally {
    await traefik.stop();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the floor plugin reaches the upstream with the four identity headers set", async () => {
  await withFloor({}, async ({ get, upstream }) => {
    const r = await get({ authorization: "Bearer anything" });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const seen = upstream.seen.at(-1);
    assert.equal(seen.url, "/api/peers");
    for (const h of IDENTITY) assert.ok(seen.headers[h], `${h} set by the floor`);
  });
});

test("the key-file floor plugin checks its file at every request: present passes, deleted is 503", async () => {
  const keys = mkdtempSync(join(tmpdir(), "pocketgate-floor-keys-"));
  writeFileSync(join(keys, "jwks.json"), '{"keys":[]}');
  try {
    await withFloor({ jwksFile: "/keys/jwks.json" }, async ({ get, upstream }) => {
      for (let i = 0; i < 3; i++) {
        const r = await get({ authorization: "Bearer anything" });
        assert.equal(r.status, 200, `request ${i} with the file there`);
        await r.arrayBuffer();
      }
      for (const h of IDENTITY) assert.ok(upstream.seen.at(-1).headers[h], `${h} set by the key-file floor`);
      const passed = upstream.count();
      rmSync(join(keys, "jwks.json"));
      const r = await get({ authorization: "Bearer anything" });
      assert.equal(r.status, 503, "the path's stat runs at every request: a deleted file is seen at once");
      await r.arrayBuffer();
      assert.equal(upstream.count(), passed);
    }, `{mounts: ["${keys}:/keys:ro"]}`);
  } finally {
    rmSync(keys, { recursive: true, force: true });
  }
});

for (const alg of ["RS256", "ES256", "EdDSA"]) {
  test(`the new-token floor plugin checks the ${alg} signature: a valid token passes, a damaged or foreign one is 401`, async () => {
    const issuer = await startIssuer();
    issuer.state.keys = [newKey(alg)];
    try {
      await withFloor({ alg, jwk: issuer.state.keys[0].jwk }, async ({ get, upstream }) => {
        const token = issuer.idToken({ name: "alice" });
        const ok = await get({ authorization: `Bearer ${token}` });
        assert.equal(ok.status, 200, "valid token");
        await ok.arrayBuffer();
        for (const h of IDENTITY) assert.ok(upstream.seen.at(-1).headers[h], `${h} set`);
        const passed = upstream.count();
        const [h, p, s] = token.split(".");
        const mid = s.length >> 1;
        const damaged = `${h}.${p}.${s.slice(0, mid)}${s[mid] === "A" ? "B" : "A"}${s.slice(mid + 1)}`;
        const other = signJws(newKey(alg), { alg, kid: issuer.state.keys[0].kid, typ: "JWT" }, JSON.parse(Buffer.from(p, "base64url")));
        for (const [what, headers] of [["damaged signature", { authorization: `Bearer ${damaged}` }],
          ["another key's signature", { authorization: `Bearer ${other}` }], ["not a bearer token", { authorization: `Basic ${token}` }],
          ["no token", {}]]) {
          const r = await get(headers);
          assert.equal(r.status, 401, what);
          await r.arrayBuffer();
        }
        assert.equal(upstream.count(), passed, "no refused request reached the upstream");
      });
    } finally {
      await issuer.close();
    }
  });
}

test("a token pool grows with the same key, and grows enough for the rate that used it up", () => {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-pool-"));
  try {
    const small = pool(dir, "ES256", 20);
    const grown = pool(dir, "ES256", 50);
    assert.equal(grown.tokens.length, 50);
    assert.equal(grown.key.kid, small.key.kid, "same key");
    assert.deepEqual(grown.tokens.slice(0, 20), small.tokens, "the first tokens are kept");
    assert.equal(new Set(grown.tokens).size, 50, "every token distinct");
    assert.equal(pool(dir, "ES256", 10, undefined, { all: true }).tokens.length, 50, "all: the grown pool");
    // 45 674 requests in the measured window, which may take 3/4 of a 60 000-token pool (the stop of issue 22).
    const n = grownPool(60_000, 45_674);
    assert.ok(n * 0.75 > 45_674 * 1.2, `${n} leaves the measured window room`);
    assert.ok(grownPool(60_000, 10) >= 120_000, "at least double");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
