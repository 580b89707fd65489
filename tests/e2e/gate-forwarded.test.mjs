// Forward-auth's original request in real workerd: exactly one header family (FORWARDED_HEADERS), never a mix of
// the proxy's headers and the client's, never a missing method read as GET. The spoofs are those a client can
// send through nginx's auth_request (which passes every client header to the subrequest and sets only
// X-Original-*), or through Caddy / Traefik (which set X-Forwarded-*): each is refused with 400 and a stable code.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { authAt, startGate, trusting } from "../../tools/js/gate.mjs";
import { startIssuer } from "../../tools/js/issuer.mjs";

// The docs' example rule: DELETE/PUT below /api/users need `admins`; a GET-only rule for /api/events; everything
// else under /api `netbird-users`.
const ROUTES = JSON.stringify([
  { prefix: "/api/users", methods: ["DELETE", "PUT"], allow_groups: ["admins"] },
  { prefix: "/api/events", methods: ["GET"], allow_groups: ["admins"] },
]);

let issuer;
const gates = {};
before(async () => {
  issuer = await startIssuer();
  const base = { ...trusting(issuer), ROUTES, LOG: "all" };
  for (const mode of ["auto", "nginx", "caddy", "traefik"]) {
    gates[mode] = await startGate(mode === "auto" ? base : { ...base, FORWARDED_HEADERS: mode });
  }
});
after(async () => {
  for (const g of Object.values(gates)) await g.dispose();
  await issuer?.close();
});

const nginx = (method, uri) => ({ "x-original-method": method, "x-original-uri": uri });
const caddy = (method, uri) => ({ "x-forwarded-method": method, "x-forwarded-uri": uri });

/** /_gate/auth of the `mode` gate with exactly these forwarding `headers` (none added) and `token`:
 * { status, text, code, user }. */
const auth = (mode, headers, token) => authAt(gates[mode], { method: null, uri: null, headers, token });

async function refused(mode, headers, code, token) {
  const r = await auth(mode, headers, token);
  assert.equal(r.status, 400, `${mode} ${JSON.stringify(headers)}: ${r.text}`);
  assert.equal(r.code, code, r.text);
  assert.equal(r.user, null, "identity headers on a refusal");
  return r;
}

describe("auto (the default)", () => {
  test("behind nginx, a client-sent X-Forwarded-Uri naming a bypass route is refused (was 200 without a token)", async () => {
    await refused("auto", { ...nginx("GET", "/api/users"), "x-forwarded-uri": "/relay" }, "forwarded_headers_conflict");
    await refused("auto", { ...nginx("GET", "/api/users"), ...caddy("GET", "/relay") }, "forwarded_headers_conflict");
  });
  test("behind nginx, a client-sent X-Forwarded-Method: GET against DELETE is refused (was 200 for a non-admin)", async () => {
    const bob = issuer.idToken({ name: "bob", groups: ["netbird-users"] });
    assert.equal((await auth("auto", nginx("DELETE", "/api/users/x"), bob)).status, 403, "the DELETE rule applies");
    await refused("auto", { ...nginx("DELETE", "/api/users/x"), "x-forwarded-method": "GET" }, "forwarded_headers_conflict", bob);
    await refused("auto", { ...nginx("DELETE", "/api/users/x"), ...caddy("GET", "/api/users/x") }, "forwarded_headers_conflict", bob);
  });
  test("no method header at all is refused, never read as GET", async () => {
    const bob = issuer.idToken({ name: "bob", groups: ["netbird-users"] });
    await refused("auto", { "x-original-uri": "/api/users/x" }, "forwarded_headers_incomplete", bob);
    await refused("auto", { "x-forwarded-uri": "/api/users/x" }, "forwarded_headers_incomplete", bob);
    await refused("auto", {}, "forwarded_headers_incomplete");
    await refused("auto", { "x-forwarded-method": "GET" }, "forwarded_headers_incomplete");
  });
  test("an empty value is present but incomplete", async () => {
    await refused("auto", nginx("", "/api/peers"), "forwarded_headers_incomplete");
    await refused("auto", caddy("GET", ""), "forwarded_headers_incomplete");
  });
  test("both families complete and equal (method case aside) are one request", async () => {
    const r = await auth("auto", { ...nginx("get", "/api/peers"), ...caddy("GET", "/api/peers") }, issuer.idToken({ name: "alice" }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.user, issuer.user("alice").sub);
  });
  test("one complete family with a part of the other is a conflict", async () => {
    await refused("auto", { ...nginx("GET", "/api/peers"), "x-forwarded-method": "GET" }, "forwarded_headers_conflict");
    await refused("auto", { ...caddy("GET", "/relay"), "x-original-uri": "/relay" }, "forwarded_headers_conflict");
  });
  test("either family alone works: bypass, 401, and the method decides the rule", async () => {
    assert.equal((await auth("auto", nginx("GET", "/relay"))).status, 200);
    assert.equal((await auth("auto", caddy("POST", "/management.ManagementService/Login"))).status, 200);
    assert.equal((await auth("auto", nginx("GET", "/api/users"))).status, 401);
    const bob = issuer.idToken({ name: "bob", groups: ["netbird-users"] });
    assert.equal((await auth("auto", caddy("get", "/api/users/x"), bob)).status, 200, "lower-case method is upper-cased");
    const del = await auth("auto", caddy("delete", "/api/users/x"), bob);
    assert.equal(del.status, 403, del.text);
    assert.equal(del.code, "group_not_allowed");
  });
  test("refusals are logged with their code, never with a token", async () => {
    const token = issuer.idToken({ name: "logged" });
    await refused("auto", { ...nginx("GET", "/api/x"), "x-forwarded-uri": "/relay" }, "forwarded_headers_conflict", token);
    const parsed = () => gates.auto.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
    for (let i = 0; i < 100 && !parsed().some((l) => l.code === "forwarded_headers_conflict"); i++) await new Promise((r) => setTimeout(r, 20));
    const line = parsed().find((l) => l.code === "forwarded_headers_conflict");
    assert.ok(line, "no log line for the refusal");
    assert.equal(line.status, 400);
    assert.equal(line.decision, "deny");
    assert.ok(!gates.auto.logs.some((l) => l.includes(token.split(".")[1])), "a token reached the logs");
  });
});

// Issue 22: the method the proxy forwards is judged in its canonical case in either family, a GET-only rule holds
// HEAD, and a method that is not an HTTP token is refused. On main the forward-auth path already upper-cased the
// method, but HEAD passed the GET-only rule (200 for a netbird-users token) and a non-token method was judged as
// a method no rule lists (200).
describe("the forwarded method", () => {
  const bob = () => issuer.idToken({ name: "bob", groups: ["netbird-users"] });
  for (const [mode, family] of [["auto", nginx], ["auto", caddy], ["nginx", nginx], ["traefik", caddy]]) {
    const name = `${mode}, ${family === nginx ? "X-Original-*" : "X-Forwarded-*"}`;
    test(`${name}: every case of DELETE and PUT meets the DELETE/PUT rule`, async () => {
      const token = bob();
      for (const method of ["DELETE", "delete", "Delete", "PUT", "put", "pUT"]) {
        const r = await auth(mode, family(method, "/api/users/x"), token);
        assert.equal(r.status, 403, `${method}: ${r.text}`);
        assert.equal(r.code, "group_not_allowed");
      }
      assert.equal((await auth(mode, family("post", "/api/users/x"), token)).status, 200, "POST: the /api default");
    });
    test(`${name}: a GET-only rule holds GET and HEAD in any case`, async () => {
      const token = bob();
      for (const method of ["GET", "get", "HEAD", "head", "Head"]) {
        const r = await auth(mode, family(method, "/api/events"), token);
        assert.equal(r.status, 403, `${method}: ${r.text}`);
        assert.equal(r.code, "group_not_allowed");
      }
      const admin = issuer.idToken({ name: "root", groups: ["admins"] });
      assert.equal((await auth(mode, family("head", "/api/events"), admin)).status, 200);
    });
    test(`${name}: a method that is not an HTTP token is 400 method_invalid`, async () => {
      for (const method of ["DEL ETE", "GET,DELETE", "GET/1.1", "(GET)", "G\u00e9T"]) {
        const r = await auth(mode, family(method, "/api/peers"), bob());
        assert.equal(r.status, 400, `${JSON.stringify(method)}: ${r.text}`);
        assert.equal(r.code, "method_invalid");
        assert.equal(r.user, null);
      }
      await refused(mode, family("GE T", "/relay"), "method_invalid");
    });
  }
  test("both families, one method in two cases, are one request", async () => {
    const r = await auth("auto", { ...nginx("delete", "/api/users/x"), ...caddy("DELETE", "/api/users/x") }, bob());
    assert.equal(r.status, 403, r.text);
    assert.equal(r.code, "group_not_allowed");
  });
});

describe("FORWARDED_HEADERS=nginx", () => {
  test("reads X-Original-* only: X-Forwarded-* alone is not a request", async () => {
    await refused("nginx", caddy("GET", "/relay"), "forwarded_headers_incomplete");
    assert.equal((await auth("nginx", nginx("GET", "/relay"))).status, 200);
    assert.equal((await auth("nginx", nginx("GET", "/api/peers"))).status, 401);
  });
  test("a client's X-Forwarded-* that differs is refused; one that repeats the request is harmless", async () => {
    await refused("nginx", { ...nginx("GET", "/api/users"), "x-forwarded-uri": "/relay" }, "forwarded_headers_conflict");
    await refused("nginx", { ...nginx("DELETE", "/api/users/x"), ...caddy("GET", "/api/users/x") }, "forwarded_headers_conflict");
    assert.equal((await auth("nginx", { ...nginx("GET", "/relay"), ...caddy("GET", "/relay") })).status, 200);
  });
  test("no X-Original-Method: refused", async () => {
    await refused("nginx", { "x-original-uri": "/relay" }, "forwarded_headers_incomplete");
  });
});

for (const mode of ["caddy", "traefik"]) {
  describe(`FORWARDED_HEADERS=${mode}`, () => {
    test("reads X-Forwarded-* only: X-Original-* alone is not a request", async () => {
      await refused(mode, nginx("GET", "/relay"), "forwarded_headers_incomplete");
      assert.equal((await auth(mode, caddy("GET", "/relay"))).status, 200);
      assert.equal((await auth(mode, caddy("GET", "/api/peers"))).status, 401);
    });
    test("a client's X-Original-* that differs is refused", async () => {
      await refused(mode, { ...caddy("GET", "/api/users"), "x-original-uri": "/relay" }, "forwarded_headers_conflict");
      await refused(mode, { ...caddy("DELETE", "/api/users/x"), ...nginx("GET", "/api/users/x") }, "forwarded_headers_conflict");
    });
    test("no X-Forwarded-Method: refused", async () => {
      await refused(mode, { "x-forwarded-uri": "/relay" }, "forwarded_headers_incomplete");
    });
  });
}

describe("proxy mode", () => {
  let upstreamGate, seen = [];
  let server;
  before(async () => {
    const { createServer } = await import("node:http");
    server = createServer((req, res) => { seen.push({ method: req.method, url: req.url }); res.end("ok"); });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    upstreamGate = await startGate({ ...trusting(issuer), ROUTES,
      UPSTREAM: `http://127.0.0.1:${server.address().port}`, FORWARDED_HEADERS: "nginx" });
  });
  after(async () => { await upstreamGate?.dispose(); await new Promise((r) => server?.close(r)); });
  test("uses the real request: forwarding headers neither refuse nor steer it", async () => {
    const bob = issuer.idToken({ name: "bob", groups: ["netbird-users"] });
    const spoof = { ...nginx("GET", "/relay"), ...caddy("GET", "/relay") };
    const del = await upstreamGate.fetch("/api/users/x", { method: "DELETE", headers: { ...spoof, authorization: `Bearer ${bob}` } });
    assert.equal(del.status, 403, await del.text());
    const anon = await upstreamGate.fetch("/api/peers", { headers: { "x-forwarded-uri": "/relay" } });
    assert.equal(anon.status, 401);
    await anon.text();
    const ok = await upstreamGate.fetch("/api/peers", { headers: { "x-original-uri": "/relay", authorization: `Bearer ${bob}` } });
    assert.equal(ok.status, 200);
    await ok.text();
    assert.deepEqual(seen, [{ method: "GET", url: "/api/peers" }]);
  });
});
