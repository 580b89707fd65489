// The Traefik plugin (issue 13) in real Traefik: `plugin.wasm` and `.traefik.yml` as `cargo xtask build` leaves
// them (build/traefik/plugins-local/src/pocketgate/), loaded as a local plugin with the static and dynamic
// configuration docs/TRAEFIK.md shows (only addresses, the issuer and the mounted directory replaced), in front of
// the QuFabric stand-in (support/qufabric.mjs: gRPC over h2c, WebSockets, REST). Tokens come from the test minter
// (tools/js/issuer.mjs), whose key set the plugin reads from a mounted jwksFile; it never fetches.
//
// Shown: the Worker's contract on /api (200 with the identity headers at QuFabric, spoofed ones stripped; 401 with
// WWW-Authenticate, 403, the stable codes and JSON bodies; several Authorization headers refused); gRPC and
// WebSockets untouched on their own routers; key rotation through the file; bad options refuse every request
// with 503 config_invalid and say why in Traefik's log; a missing plugin.wasm makes /api a 404, never a pass. The
// setup page's generated plugin configuration (file provider and Docker labels, jwks.json as it embeds it) runs
// the same way. Issue 22: a method is judged in its canonical case (`delete` meets the DELETE rule) and a GET-only
// rule holds HEAD, seen from a raw upstream that records the request line Traefik forwards. Issue 20: NetBird's
// public API paths pass without a token for their handlers' methods only (`publicApi: gate` closes them).
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ROOT, need } from "../../tools/js/env.mjs";
import { signJws, startIssuer } from "../../tools/js/issuer.mjs";
import { rawRequest, wireRequest } from "../../tools/js/net.mjs";
import { pageGenerate } from "../../tools/js/page.mjs";
import { PAGE_HOST, docSnippet, labelsToDynamic, localise, startTraefik } from "../../tools/js/proxies.mjs";
import { SERVER_KEY, peerClients, startQuFabric, wsEcho } from "./support/qufabric.mjs";

const TRAEFIK_MD = readFileSync(join(ROOT, "docs/TRAEFIK.md"), "utf8");
const PLUGIN_DIR = join(ROOT, "build/traefik/plugins-local/src/pocketgate");
const DOC_ISSUER = "https://id.example.com";
const DOC_MOUNT = "/etc/pocketgate";

let qf;
let issuer;
before(async () => {
  need(join(PLUGIN_DIR, "plugin.wasm"), "run `cargo xtask build` (it builds the Traefik plugin)");
  qf = await startQuFabric();
  issuer = await startIssuer();
});
after(async () => { await qf?.close(); await issuer?.close(); });

/** Write `jwks` to `dir`/jwks.json the way the docs say: a new file, then a rename. */
function writeKeys(dir, jwks) {
  writeFileSync(join(dir, "jwks.json.new"), JSON.stringify(jwks));
  renameSync(join(dir, "jwks.json.new"), join(dir, "jwks.json"));
}

/** A working directory for Traefik with a copy of the plugin folder (`wasm: false`: without plugin.wasm) and an
 * empty key directory. */
function workDir({ wasm = true } = {}) {
  const work = mkdtempSync(join(tmpdir(), "pocketgate-plugin-"));
  const keys = join(work, "keys");
  cpSync(PLUGIN_DIR, join(work, "plugins-local/src/pocketgate"), { recursive: true });
  if (!wasm) rmSync(join(work, "plugins-local/src/pocketgate/plugin.wasm"));
  mkdirSync(keys);
  return { work, keys };
}

/**
 * Traefik with the documented configuration: a working directory holding a copy of the plugin folder (`wasm:
 * false` leaves plugin.wasm out), the mounted key directory holding the issuer's key set, `options` replacing
 * the middleware's documented options (as YAML text) when given, and `upstream` instead of the QuFabric stand-in.
 */
async function startDocumented({ options, wasm = true, upstream = qf.url } = {}) {
  const { work, keys } = workDir({ wasm });
  writeKeys(keys, issuer.jwks());
  let dynamic = localise(docSnippet("traefik-plugin-dynamic", TRAEFIK_MD), { gate: "", upstream })
    .replaceAll(DOC_ISSUER, issuer.url);
  if (options !== undefined) {
    const documented = /^( {10}issuer: .*\n)(?: {10}.*\n)+/m;
    assert.match(dynamic, documented, "the documented middleware options");
    dynamic = dynamic.replace(documented, `${options.trimEnd().replace(/^/gm, " ".repeat(10))}\n`);
  }
  const staticExtra = docSnippet("traefik-plugin-static", TRAEFIK_MD).replaceAll(DOC_MOUNT, keys);
  assert.ok(staticExtra.includes(`"${keys}:/keys:ro"`), staticExtra);
  const proxy = await startTraefik({ dynamic, staticExtra, cwd: work });
  return { proxy, keys, work };
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });
const api = (proxy, headers = {}, path = "/api/peers") => rawRequest(proxy.url, path, { headers });
/** A refusal: status, code, and the Worker's headers. */
function assertRefused(r, status, code, challenge) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.code, code, r.text);
  assert.equal(typeof r.json.message, "string");
  assert.equal(r.headers["content-type"], "application/json");
  assert.equal(r.headers["cache-control"], "no-store");
  assert.equal(r.headers["www-authenticate"], challenge);
}

describe("the documented configuration", () => {
  let ctx;
  before(async () => { ctx = await startDocumented(); });
  after(async () => { await ctx?.proxy.stop(); });

  test("an allowed user reaches QuFabric with the identity headers; spoofed ones never do", async () => {
    const from = qf.seen.length;
    const token = issuer.idToken({ name: "alice", groups: ["netbird-users", "ops"] });
    const r = await api(ctx.proxy, {
      ...bearer(token), "X-Auth-Request-User": "root", "x-auth-request-groups": "admins",
      "X_Auth_Request_Email": "root@evil", "X-Forwarded-User": "root",
    }, "/api/peers?x=1");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.path, "/api/peers?x=1");
    assert.equal(r.json.user, issuer.user("alice").sub);
    assert.equal(r.json.groups, "netbird-users,ops");
    const seen = qf.since(from, "rest");
    assert.equal(seen.length, 1);
    const h = seen[0].headers;
    assert.equal(h["x-auth-request-email"], "alice@example.com");
    assert.equal(h["x-auth-request-preferred-username"], "alice");
    assert.equal(h["x_auth_request_email"], undefined, "the underscore spelling is stripped");
    assert.equal(h["x-forwarded-user"], undefined);
    assert.equal(h.authorization, `Bearer ${token}`, "the token goes on to QuFabric");
    // The same token again (now from a verified-token cache, wherever the pool sends it): the same answer.
    for (let i = 0; i < 5; i++) assert.equal((await api(ctx.proxy, bearer(token))).status, 200);
  });

  test("refusals: the Worker's statuses, codes, bodies and challenges; nothing reaches QuFabric", async () => {
    const from = qf.seen.length;
    const realm = 'Bearer realm="pocketgate"';
    const invalid = 'Bearer realm="pocketgate", error="invalid_token"';
    assertRefused(await api(ctx.proxy), 401, "token_missing", realm);
    const good = issuer.idToken();
    const forged = good.slice(0, good.lastIndexOf(".") + 1) + "A".repeat(342);
    assertRefused(await api(ctx.proxy, bearer(forged)), 401, "signature_invalid", invalid);
    const now = Math.floor(Date.now() / 1000);
    const expired = issuer.idToken({ claims: { iat: now - 7200, exp: now - 3600 } });
    assertRefused(await api(ctx.proxy, bearer(expired)), 401, "token_expired", invalid);
    const other = signJws({ ...issuer.key, privateKey: (await import("node:crypto")).generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey },
      { alg: "RS256", kid: issuer.key.kid, typ: "JWT" }, JSON.parse(Buffer.from(good.split(".")[1], "base64url")));
    assertRefused(await api(ctx.proxy, bearer(other)), 401, "signature_invalid", invalid);
    assertRefused(await api(ctx.proxy, { authorization: "Token nbp_123" }), 401, "pat_not_allowed", invalid);
    assertRefused(await api(ctx.proxy, bearer(issuer.idToken({ groups: ["contractors"] }))), 403, "group_not_allowed", undefined);
    assertRefused(await api(ctx.proxy, { authorization: [`Bearer ${good}`, `Bearer ${good}`] }), 400, "authorization_repeated", undefined);
    // A token with a byte that is not UTF-8 (Go passes header bytes through as they came): refused, never a 500.
    const dot = good.indexOf(".") + 5;
    const notUtf8 = await wireRequest(ctx.proxy.url, { method: "GET", path: "/api/peers", encoding: "latin1",
      headers: { authorization: `Bearer ${good.slice(0, dot)}\xff${good.slice(dot + 1)}` } });
    assertRefused(notUtf8, 401, "token_base64", invalid);
    assert.equal(qf.since(from, "rest").length, 0);
  });

  test("gRPC (h2c) and WebSockets pass on their own routers without a token", async () => {
    const from = qf.seen.length;
    const peer = peerClients(ctx.proxy.h2url);
    try {
      assert.equal((await peer.getServerKey()).key, SERVER_KEY);
    } finally { peer.close(); }
    const ws = ctx.proxy.url.replace(/^http/, "ws");
    assert.equal(await wsEcho(`${ws}/relay`, "ping"), "/relay:ping");
    assert.equal(await wsEcho(`${ws}/ws-proxy/signal`, "ping"), "/ws-proxy/signal:ping");
    assert.deepEqual(qf.since(from).map((s) => s.kind), ["grpc", "ws", "ws"]);
  });

  test("the dashboard's catch-all router does not take /api", async () => {
    const dash = await rawRequest(ctx.proxy.url, "/peers");
    assert.equal(dash.status, 200, dash.text);
    assertRefused(await rawRequest(ctx.proxy.url, "/api"), 401, "token_missing", 'Bearer realm="pocketgate"');
  });
});

/** An HTTP/1.1 upstream that records each request line exactly as it arrives (`lines`) and answers 200: what
 * Traefik forwards, method spelling included, without a Node parser in between (Node refuses lower-case methods). */
async function startWireUpstream() {
  const lines = [];
  const server = createServer((socket) => {
    let buf = "";
    socket.on("error", () => {});
    socket.on("data", (d) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      lines.push(buf.slice(0, buf.indexOf("\r\n")));
      buf = buf.slice(end + 4); // no request of these tests has a body
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, lines, close: () => new Promise((r) => server.close(r)) };
}

// Issue 22, findings 1 and 2: on main the plugin passed the method as received, and rules compared it exactly:
// with the documented rule `{prefix: /api/users, methods: [DELETE, PUT], allowGroups: [admins]}` a netbird-users
// token got 200 for `delete`, `Delete` and `put` (the upstream received `delete /api/users/1`), `get` passed a
// GET-only rule, and HEAD passed it too.
describe("method case and HEAD against per-route rules", () => {
  let ctx, up;
  const routes = `routes:
  - prefix: "/api/users"
    methods: ["DELETE", "PUT"]
    allowGroups: ["admins"]
  - prefix: "/api/events"
    methods: ["GET"]
    allowGroups: ["admins"]`;
  before(async () => {
    up = await startWireUpstream();
    ctx = await startDocumented({
      upstream: up.url,
      options: `issuer: "${issuer.url}"\naudience: "netbird"\nallowGroups: ["netbird-users"]\njwksFile: "/keys/jwks.json"\n${routes}\n`,
    });
  });
  after(async () => { await ctx?.proxy.stop(); await up?.close(); });

  const send = (method, path, token) => wireRequest(ctx.proxy.url, { method, path, headers: token ? bearer(token) : {} });

  test("every spelling of DELETE and PUT meets the admins rule; the upstream gets the method as sent", async () => {
    const from = up.lines.length; // (Traefik's readiness probe may have passed on /relay)
    const bob = issuer.idToken({ name: "bob", groups: ["netbird-users"] });
    for (const method of ["DELETE", "delete", "Delete", "PUT", "put", "Put"]) {
      assertRefused(await send(method, "/api/users/1", bob), 403, "group_not_allowed", undefined);
    }
    assert.deepEqual(up.lines.slice(from), [], "nothing reached the upstream");
    const admin = issuer.idToken({ name: "root", groups: ["netbird-users", "admins"] });
    const ok = await send("delete", "/api/users/1", admin);
    assert.equal(ok.status, 200, ok.text);
    const peers = await send("get", "/api/peers", bob);
    assert.equal(peers.status, 200, peers.text);
    assert.deepEqual(up.lines.slice(from), ["delete /api/users/1 HTTP/1.1", "get /api/peers HTTP/1.1"]);
  });

  test("a GET-only rule holds get, Get and HEAD in any case", async () => {
    const from = up.lines.length;
    const bob = issuer.idToken({ name: "bob", groups: ["netbird-users"] });
    for (const method of ["GET", "get", "Get"]) {
      assertRefused(await send(method, "/api/events", bob), 403, "group_not_allowed", undefined);
    }
    for (const method of ["HEAD", "head", "Head"]) {
      const r = await send(method, "/api/events", bob);
      assert.equal(r.status, 403, `${method}: ${r.text}`);
      assert.equal(r.headers["www-authenticate"], undefined);
    }
    assert.equal((await send("HEAD", "/api/events")).status, 401, "no token");
    assert.deepEqual(up.lines.slice(from), []);
    const admin = issuer.idToken({ name: "root", groups: ["admins"] });
    assert.equal((await send("head", "/api/events", admin)).status, 200);
    assert.deepEqual(up.lines.slice(from), ["head /api/events HTTP/1.1"]);
  });

  test("a method that is not an HTTP token never passes (Traefik's Go server refuses it with 400 first)", async () => {
    const from = up.lines.length;
    const admin = issuer.idToken({ name: "root", groups: ["admins"] });
    for (const method of ["GE(T", "DEL\"ETE", "G\u00c9T"]) {
      const r = await send(method, "/api/peers", admin);
      assert.equal(r.status, 400, `${method}: ${r.text}`);
    }
    assert.deepEqual(up.lines.slice(from), []);
  });
});

// Issue 20: NetBird's management server serves these without a token (management/server/http/handler.go:67-83);
// on main the plugin refused them (401), so first-run setup, invites and the NetBird Proxy's login broke behind it.
describe("NetBird's public API paths", () => {
  const open = [
    ["GET", "/api/instance"], ["OPTIONS", "/api/instance"], ["POST", "/api/setup"], ["OPTIONS", "/api/setup"],
    ["GET", "/api/users/invites/nbi_3xAmPlE"], ["POST", "/api/users/invites/nbi_3xAmPlE/accept"],
    ["GET", "/api/reverse-proxy/callback?state=s&code=c"],
  ];
  const closed = [
    ["HEAD", "/api/instance"], ["GET", "/api/instance/version"], ["GET", "/api/instance/"], ["GET", "/api/instancex"],
    ["PUT", "/api/setup"], ["DELETE", "/api/users/invites/nbi_3xAmPlE"], ["GET", "/api/users/invites/nbi_3xAmPlE/accept"],
    ["GET", "/api/users/invites/nbi_x/y"], ["POST", "/api/reverse-proxy/callback"],
  ];
  let ctx, gated;
  before(async () => {
    ctx = await startDocumented();
    gated = await startDocumented({
      options: `issuer: "${issuer.url}"\naudience: "netbird"\nallowGroups: ["netbird-users"]\njwksFile: "/keys/jwks.json"\npublicApi: "gate"\n`,
    });
  });
  after(async () => { await ctx?.proxy.stop(); await gated?.proxy.stop(); });

  test("by default they reach QuFabric without a token, for their handlers' methods only", async () => {
    const from = qf.seen.length;
    for (const [method, path] of open) {
      const r = await rawRequest(ctx.proxy.url, path, { method, headers: { "x-auth-request-user": "root" } });
      assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
      assert.deepEqual([r.json.method, r.json.path, r.json.user], [method, path, null], "no identity, spoofed one stripped");
    }
    assert.equal(qf.since(from, "rest").length, open.length);
    for (const [method, path] of closed) {
      const r = await rawRequest(ctx.proxy.url, path, { method });
      assert.equal(r.status, 401, `${method} ${path}: ${r.text}`);
      if (method !== "HEAD") assert.equal(r.json.code, "token_missing");
    }
    assert.equal(qf.since(from, "rest").length, open.length, "none of the others reached QuFabric");
  });

  test("publicApi: gate makes them need a token like the rest of /api", async () => {
    const from = qf.seen.length;
    for (const [method, path] of open) {
      assertRefused(await rawRequest(gated.proxy.url, path, { method }), 401, "token_missing", 'Bearer realm="pocketgate"');
    }
    assert.equal(qf.since(from, "rest").length, 0);
    const r = await rawRequest(gated.proxy.url, "/api/instance", { headers: bearer(issuer.idToken()) });
    assert.equal(r.status, 200, r.text);
  });
});

describe("key rotation through jwksFile", () => {
  let ctx;
  before(async () => { ctx = await startDocumented(); });
  after(async () => { await ctx?.proxy.stop(); });

  test("a new key passes as soon as the file holds it; the removed key fails at once in every instance", async () => {
    const oldToken = issuer.idToken();
    assert.equal((await api(ctx.proxy, bearer(oldToken))).status, 200);
    const old = issuer.rotate("EdDSA");
    const newToken = issuer.idToken();
    assert.notEqual(issuer.key.kid, old.kid);
    assertRefused(await api(ctx.proxy, bearer(newToken)), 401, "key_not_found", 'Bearer realm="pocketgate", error="invalid_token"');
    writeKeys(ctx.keys, issuer.jwks());
    const ok = await api(ctx.proxy, bearer(newToken));
    assert.equal(ok.status, 200, ok.text);
    // Every pooled instance: concurrent requests make Traefik use several.
    const results = await Promise.all(Array.from({ length: 12 }, () => api(ctx.proxy, bearer(oldToken))));
    for (const r of results) assertRefused(r, 401, "key_not_found", 'Bearer realm="pocketgate", error="invalid_token"');
    const again = await Promise.all(Array.from({ length: 12 }, () => api(ctx.proxy, bearer(newToken))));
    assert.deepEqual(again.map((r) => r.status), Array(12).fill(200));
  });

  test("a key set that becomes unusable keeps the last good keys", async () => {
    writeFileSync(join(ctx.keys, "jwks.json"), "{not json");
    const r = await api(ctx.proxy, bearer(issuer.idToken()));
    assert.equal(r.status, 200, r.text);
    assert.match(ctx.proxy.output(), /pocketgate: jwksFile \/keys\/jwks\.json: key set is invalid/);
    writeKeys(ctx.keys, issuer.jwks());
  });
});

describe("bad options", () => {
  let ctx;
  const secret = "https://S3CRET-host.example.com";
  before(async () => {
    ctx = await startDocumented({ options: `issuer: "${secret}"\naudience: "netbird"\nallowgroup: "netbird-users"\nleewaySeconds: "soon"\njwksFile: "/keys/jwks.json"\n` });
  });
  after(async () => { await ctx?.proxy.stop(); });

  test("every request is refused with 503 config_invalid, and Traefik's log names each option and the fix", async () => {
    const from = qf.seen.length;
    for (const headers of [{}, bearer(issuer.idToken())]) {
      assertRefused(await api(ctx.proxy, headers), 503, "config_invalid", undefined);
    }
    assert.equal(qf.since(from, "rest").length, 0, "never a pass");
    const log = ctx.proxy.output().replace(/\x1b\[[0-9;]*m/g, ""); // without the terminal colours
    for (const option of ["allowgroup: is not an option", "issuer (ISSUER): must have a lower-case host", "leewaySeconds (LEEWAY_SECONDS)"]) {
      assert.match(log, new RegExp(`ERR .*pocketgate: invalid option ${option.replace(/[()]/g, "\\$&")}`), log);
    }
    assert.ok(!log.includes("S3CRET"), "never the value");
    assert.match(log, /503 config_invalid/);
  });
});

describe("a plugin that cannot load", () => {
  let ctx;
  before(async () => { ctx = await startDocumented({ wasm: false }); });
  after(async () => { await ctx?.proxy.stop(); });

  test("/api answers 404 (no router matches), never QuFabric; the other routers still work", async () => {
    const from = qf.seen.length;
    for (const headers of [{}, bearer(issuer.idToken()), { "x-auth-request-user": "root" }]) {
      const r = await api(ctx.proxy, headers);
      assert.equal(r.status, 404, r.text);
    }
    assert.equal(qf.since(from, "rest").length, 0);
    assert.equal((await rawRequest(ctx.proxy.url, "/peers")).status, 200);
    assert.equal(await wsEcho(`${ctx.proxy.url.replace(/^http/, "ws")}/relay`, "ping"), "/relay:ping");
  });
});

describe("the setup page's plugin configuration (standalone mode, Inside Traefik)", () => {
  let out;
  before(async () => {
    const page = await pageGenerate({
      domain: PAGE_HOST, issuer: issuer.url, mode: "standalone", display_name: "QuFabric", client_id: "netbird",
      groups: "netbird-users", pkce_ports: "53000, 54000", gate_mode: "forward_auth", gate_host: "traefik",
      // The legacy stack's containers are all the one stand-in here; the static configuration as a file.
      upstream: qf.url, signal_upstream: qf.url, relay_upstream: qf.url, dashboard_upstream: qf.url,
      traefik_static: "file", jwks: JSON.stringify(issuer.jwks()),
    });
    out = Object.fromEntries(page.sections.flatMap((s) => s.artifacts).map((a) => [a.id, a.content]));
    assert.ok(out.gate_traefik_plugin, `the page generated no plugin configuration: ${JSON.stringify(page.findings)}`);
  });

  for (const [kind, dynamic] of [["file provider", () => out.gate_traefik_plugin], ["Docker labels", () => labelsToDynamic(out.gate_traefik_plugin_labels, qf.url)]]) {
    test(`${kind}: /api by group with the embedded jwks.json; gRPC and the dashboard pass`, async () => {
      const { work, keys } = workDir();
      writeFileSync(join(keys, "jwks.json"), out.gate_traefik_plugin_jwks);
      // The plugin's part of the generated traefik.yml (the entry points are the harness's own).
      const plugin = out.gate_traefik_plugin_static.slice(out.gate_traefik_plugin_static.indexOf("experimental:\n"));
      const staticExtra = plugin.replaceAll(DOC_MOUNT, keys);
      const proxy = await startTraefik({ dynamic: dynamic(), staticExtra, cwd: work });
      try {
        const from = qf.seen.length;
        const ok = await api(proxy, { ...bearer(issuer.idToken()), "x-auth-request-user": "root" });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.json.user, issuer.user("alice").sub);
        assertRefused(await api(proxy), 401, "token_missing", 'Bearer realm="pocketgate"');
        assertRefused(await api(proxy, bearer(issuer.idToken({ groups: ["contractors"] }))), 403, "group_not_allowed", undefined);
        assert.equal(qf.since(from, "rest").length, 1);
        assert.equal((await rawRequest(proxy.url, "/peers")).status, 200, "the dashboard (DASHBOARD = bypass)");
        const peer = peerClients(proxy.h2url);
        try {
          assert.equal((await peer.getServerKey()).key, SERVER_KEY);
        } finally { peer.close(); }
      } finally {
        await proxy.stop();
      }
    });
  }
});
