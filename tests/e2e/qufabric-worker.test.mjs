// The gate in proxy mode (the Worker in workerd forwarding to UPSTREAM) in front of the QuFabric stand-in
// (support/qufabric.mjs), configured from the setup page's [vars] and wrangler.toml `routes` (embedded mode).
//
// 1. What workerd does with gRPC, recorded (docs/CONFIG.md "Proxy mode and gRPC" states it): workerd's listener
//    speaks no HTTP/2 cleartext, so a gRPC client cannot even connect; a gRPC-shaped HTTP/1.1 POST is forwarded by
//    the Worker's fetch() over HTTP/1.1, where no gRPC server answers (no `grpc-status`). If workerd ever changes
//    this, these tests fail: revisit the docs.
// 2. The page's routes send only /api to the Worker; everything else (gRPC, WebSockets, the IdP, the dashboard)
//    reaches the origin directly, as Cloudflare routes only matching patterns. The test routes each request by the
//    generated patterns and shows peers work and /api is gated.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startGate } from "../../tools/js/gate.mjs";
import { rawRequest } from "../../tools/js/net.mjs";
import { pageGenerate } from "../../tools/js/page.mjs";
import { PAGE_HOST } from "../../tools/js/proxies.mjs";
import { SERVER_KEY, peerClients, startQuFabric, wsEcho } from "./support/qufabric.mjs";

let qf, gate, page;
before(async () => {
  qf = await startQuFabric();
  const out = await pageGenerate({
    domain: PAGE_HOST, issuer: "https://id.example.com", mode: "embedded", display_name: "QuFabric",
    client_id: "qufabric", client_secret: "s3cr3t", groups: "netbird-users", gate_mode: "proxy", upstream: qf.url,
    cloudflare_zone: "example.com",
  });
  const a = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((x) => [x.id, x.content]));
  assert.ok(a.gate_wrangler_routes, `no routes generated: ${JSON.stringify(out.findings)}`);
  const vars = Object.fromEntries([...a.gate_wrangler_vars.matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1], m[2]]));
  assert.equal(vars.UPSTREAM, qf.url);
  page = { vars, patterns: [...a.gate_wrangler_routes.matchAll(/pattern = "([^"]+)"/g)].map((m) => m[1]) };
  gate = await startGate({ ...vars, ISSUER: qf.issuer, LOG: "all" });
});
after(async () => { await gate?.dispose(); await qf?.close(); });

/** Cloudflare route matching (`host/path*`: `*` matches anything): the Worker's URL or the origin's. */
function routed(path) {
  const hit = page.patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`);
    return re.test(`${PAGE_HOST}${path}`);
  });
  return hit ? gate.url : qf.url;
}

describe("workerd and gRPC (proxy mode), recorded", () => {
  test("a gRPC client cannot connect to the Worker: workerd serves no HTTP/2 cleartext (UNAVAILABLE)", async () => {
    const from = qf.seen.length;
    const peer = peerClients(gate.url);
    try {
      await assert.rejects(peer.getServerKey(), (e) => e.code === 14, "gRPC status 14 UNAVAILABLE");
      await assert.rejects(peer.sync("peer-1"), (e) => e.code === 14);
    } finally { peer.close(); }
    assert.equal(qf.since(from, "grpc").length, 0, "nothing reached QuFabric's gRPC service");
  });

  test("a gRPC-shaped HTTP/1.1 POST is forwarded over HTTP/1.1: no gRPC server sees it, no grpc-status comes back", async () => {
    const from = qf.seen.length;
    const r = await rawRequest(gate.url, "/management.ManagementService/GetServerKey", {
      method: "POST", headers: { "content-type": "application/grpc", te: "trailers" }, body: Buffer.alloc(5),
    });
    assert.equal(r.headers["grpc-status"], undefined, JSON.stringify(r.headers));
    assert.notEqual(r.headers["content-type"], "application/grpc");
    assert.deepEqual(qf.since(from).map((s) => s.kind), ["static"], "it reached the origin's HTTP/1.1 side, not gRPC");
    assert.equal(qf.since(from, "grpc").length, 0);
  });
});

describe("the page's wrangler.toml routes: only /api through the Worker", () => {
  test("the generated patterns cover /api and /api/* and nothing peers use", () => {
    assert.deepEqual(page.patterns, [`${PAGE_HOST}/api`, `${PAGE_HOST}/api/*`]);
    for (const path of ["/management.ManagementService/Sync", "/signalexchange.SignalExchange/ConnectStream",
      "/management.ProxyService/GetMappingUpdate", "/relay", "/ws-proxy/signal", "/oauth2/keys", "/", "/peers"]) {
      assert.equal(routed(path), qf.url, `${path} must not be routed to the Worker`);
    }
    assert.equal(routed("/api"), gate.url);
    assert.equal(routed("/api/peers"), gate.url);
  });

  test("routed that way, gRPC (unary, server stream, bidi) and both WebSockets work without a user token", async () => {
    const peer = peerClients(routed("/management.ManagementService/GetServerKey"));
    try {
      assert.equal((await peer.getServerKey()).key, SERVER_KEY);
      assert.equal((await peer.sync("p")).length, 3);
      assert.equal((await peer.connectStream(["offer"]))[0].body, "relayed:offer");
    } finally { peer.close(); }
    assert.equal(await wsEcho(`${routed("/relay").replace(/^http/, "ws")}/relay`, "x"), "/relay:x");
    assert.equal(await wsEcho(`${routed("/ws-proxy/signal").replace(/^http/, "ws")}/ws-proxy/signal`, "x"), "/ws-proxy/signal:x");
  });

  test("/api through the Worker: 401 without a token, 403 in the wrong group, 200 for an allowed user", async () => {
    const user = (groups) => ({ authorization: `Bearer ${qf.dexToken({ userId: "alice", connector: "pocketid-x", groups })}` });
    const from = qf.seen.length;
    assert.equal((await rawRequest(routed("/api/peers"), "/api/peers")).status, 401);
    assert.equal((await rawRequest(routed("/api/peers"), "/api/peers", { headers: user(["contractors"]) })).status, 403);
    assert.equal(qf.since(from, "rest").length, 0);
    const ok = await rawRequest(routed("/api/peers"), "/api/peers", { headers: user(["netbird-users"]) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.groups, "netbird-users");
    assert.equal(qf.since(from, "rest").length, 1);
  });
});
