// The benchmark's floor Workers (bench/workers/floor, bench/workers/verifyfloor) in real workerd: a floor that let
// a bad token through, or answered without reading what it claims to read, would make every "×floor" figure in
// BENCHMARKS.md meaningless. Each must answer 200 with the gate's six headers for a valid forward-auth call and 401
// otherwise; the new-token floor must refuse a damaged signature, a token signed by another key and a request
// without a bearer token, for each algorithm PocketID signs with (RS256) and the two the gate also takes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeFloor } from "../../bench/lib/floors.mjs";
import { AUTH_PATH, forwardAuthHeaders } from "../../tools/js/gate.mjs";
import { newKey, signJws, startIssuer } from "../../tools/js/issuer.mjs";
import { freePort } from "../../tools/js/net.mjs";
import { serveArgs, startWorkerd } from "../../tools/js/workerd.mjs";

const IDENTITY = ["x-auth-request-user", "x-auth-request-email", "x-auth-request-preferred-username", "x-auth-request-groups"];

async function startFloor(name, bindings) {
  const dir = mkdtempSync(join(tmpdir(), `pocketgate-${name}-`));
  const port = await freePort();
  const config = writeFloor(name, dir, bindings, port);
  const url = `http://127.0.0.1:${port}`;
  // Ready once it answers at all (a call without a token is a 401).
  const probe = async () => { await (await fetch(url + AUTH_PATH)).arrayBuffer(); return 200; };
  const wd = await startWorkerd(serveArgs(config), { cwd: dir, probe });
  return {
    auth: (headers) => fetch(url + AUTH_PATH, { headers }),
    stop: async () => { await wd.stop(); rmSync(dir, { recursive: true, force: true }); },
  };
}

function assertPass(r, what) {
  assert.equal(r.status, 200, what);
  assert.equal(r.headers.get("cache-control"), "no-store", what);
  for (const h of IDENTITY) assert.ok(r.headers.get(h), `${what}: ${h}`);
}

test("the forward-auth floor answers 200 with the gate's headers, and 401 without a credential or a forwarded request", async () => {
  const floor = await startFloor("floor", {});
  try {
    assertPass(await floor.auth(forwardAuthHeaders({ token: "t" })), "Caddy/Traefik family");
    assertPass(await floor.auth(forwardAuthHeaders({ token: "t", family: "nginx" })), "nginx family");
    assert.equal((await floor.auth(forwardAuthHeaders({}))).status, 401, "no Authorization");
    assert.equal((await floor.auth({ authorization: "Bearer t" })).status, 401, "no forwarded request");
  } finally {
    await floor.stop();
  }
});

for (const alg of ["RS256", "ES256", "EdDSA"]) {
  test(`the new-token floor checks the ${alg} signature: 200 for a valid token, 401 for a damaged one or another key's`, async () => {
    const issuer = await startIssuer();
    issuer.state.keys = [newKey(alg)];
    const floor = await startFloor("verifyfloor", { JWKS_URI: `${issuer.url}/.well-known/jwks.json` });
    try {
      const token = issuer.idToken({ name: "alice" });
      assertPass(await floor.auth(forwardAuthHeaders({ token })), "valid token");
      const [h, p, s] = token.split(".");
      const mid = s.length >> 1;
      const damaged = `${h}.${p}.${s.slice(0, mid)}${s[mid] === "A" ? "B" : "A"}${s.slice(mid + 1)}`;
      assert.equal((await floor.auth(forwardAuthHeaders({ token: damaged }))).status, 401, "damaged signature");
      const other = signJws(newKey(alg), { alg, kid: issuer.key.kid, typ: "JWT" }, JSON.parse(Buffer.from(p, "base64url")));
      assert.equal((await floor.auth(forwardAuthHeaders({ token: other }))).status, 401, "another key's signature");
      assert.equal((await floor.auth(forwardAuthHeaders({ token, scheme: "Basic" }))).status, 401, "not a bearer token");
      assert.equal((await floor.auth(forwardAuthHeaders({}))).status, 401, "no token");
    } finally {
      await floor.stop();
      await issuer.close();
    }
  });
}
