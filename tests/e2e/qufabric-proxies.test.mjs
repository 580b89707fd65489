// QuFabric's real traffic through the setup page's own proxy configurations (issue 11): the page's generated text
// (its wasm module, www/pkg; embedded mode, forward-auth) runs in real nginx, Caddy and Traefik (file provider and
// Docker labels), in front of a QuFabric stand-in that speaks gRPC over h2c, WebSockets, REST, the embedded IdP
// and the dashboard (support/qufabric.mjs), with the gate in forward-auth mode on workerd configured from the
// page's [vars] (only ISSUER moves to the stand-in's loopback address).
//
// Shown per proxy: peers' gRPC (unary, server stream, bidirectional stream) and both WebSockets work without a
// user token and never reach the gate; /api answers 200 / 401 / 403 by group for Dex-shaped tokens of the
// embedded IdP (a PocketID-connector user with groups); the embedded IdP and the dashboard stay reachable; the
// IdP's local owner (no groups) is refused with the page's default LOCAL_USERS = "groups" and passes with "allow".
// NetBird's routing is the reference: infrastructure_files/getting-started.sh (nginx template, Caddyfile,
// Traefik labels).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startGate } from "../../tools/js/gate.mjs";
import { rawRequest } from "../../tools/js/net.mjs";
import { pageGenerate } from "../../tools/js/page.mjs";
import { PAGE_HOST, labelsToDynamic, startCaddy, startNginx, startTraefik } from "../../tools/js/proxies.mjs";
import { DASHBOARD_HTML, SERVER_KEY, SYNC_MESSAGES, peerClients, startQuFabric, wsEcho } from "./support/qufabric.mjs";

let qf;
before(async () => { qf = await startQuFabric(); });
after(async () => { await qf?.close(); });

/** The page's outputs for embedded mode, forward-auth, with `gate`, the stand-in and LOCAL_USERS `localUsers`. */
async function page(gate, localUsers) {
  const out = await pageGenerate({
    domain: PAGE_HOST, issuer: "https://id.example.com", mode: "embedded", display_name: "QuFabric",
    client_id: "qufabric", client_secret: "s3cr3t", groups: "netbird-users", pkce_ports: "53000, 54000",
    gate_mode: "forward_auth", upstream: qf.url, gate_url: gate, dashboard_upstream: qf.url, local_users: localUsers,
  });
  const a = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((x) => [x.id, x.content]));
  assert.ok(a.gate_wrangler_vars, `the page generated nothing: ${JSON.stringify(out.findings)}`);
  const vars = Object.fromEntries([...a.gate_wrangler_vars.matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1], m[2]]));
  return { vars, nginx: a.gate_nginx, caddy: a.gate_caddy, traefik: a.gate_traefik, labels: a.gate_traefik_labels };
}

const forwardedHeaders = (snippet) => snippet.match(/^# Gate setting for this proxy: FORWARDED_HEADERS = "([a-z]+)"$/m)[1];

const PROXIES = {
  nginx: { start: (p) => startNginx({ snippet: p.nginx }), snippet: (p) => p.nginx },
  caddy: { start: (p) => startCaddy({ snippet: p.caddy }), snippet: (p) => p.caddy },
  "traefik (file provider)": { start: (p) => startTraefik({ dynamic: p.traefik }), snippet: (p) => p.traefik },
  "traefik (Docker labels)": { start: (p) => startTraefik({ dynamic: labelsToDynamic(p.labels, qf.url) }), snippet: (p) => p.labels },
};

/** Gate (LOG=all: every request it judges is a log line) + proxy from the page's text for `localUsers`. */
async function setup(kind, localUsers) {
  const probe = await page("http://127.0.0.1:1", localUsers);
  const { vars } = probe;
  assert.equal(vars.ISSUER, `https://${PAGE_HOST}/oauth2`, "embedded mode trusts the embedded IdP");
  assert.equal(vars.AUDIENCE, "netbird-dashboard,netbird-cli");
  assert.equal(vars.LOCAL_USERS, localUsers, "the page states LOCAL_USERS explicitly");
  const gate = await startGate({ ...vars, ISSUER: qf.issuer, FORWARDED_HEADERS: forwardedHeaders(PROXIES[kind].snippet(probe)), LOG: "all" });
  const proxy = await PROXIES[kind].start(await page(gate.url, localUsers));
  return { gate, proxy };
}

/** Gate log lines (parsed) for requests since `from`. */
const gateRequests = (gate, from) => gate.logs.slice(from)
  .map((l) => { try { return JSON.parse(l); } catch { return null; } })
  .filter((l) => l && l.path !== undefined);

const bearer = (token) => ({ authorization: `Bearer ${token}` });
const pocketidUser = (groups) => qf.dexToken({ userId: "alice", connector: "pocketid-d0c5n0g", groups, email: "alice@example.com" });

for (const kind of Object.keys(PROXIES)) {
  describe(`${kind}: the page's configuration, LOCAL_USERS = "groups" (default)`, () => {
    let ctx;
    before(async () => { ctx = await setup(kind, "groups"); });
    after(async () => { await ctx?.proxy.stop(); await ctx?.gate.dispose(); });

    test("gRPC: GetServerKey, Login (unary), Sync (server stream), ConnectStream (bidi) without a user token", async () => {
      const from = qf.seen.length;
      const logFrom = ctx.gate.logs.length;
      const peer = peerClients(ctx.proxy.h2url);
      try {
        assert.equal((await peer.getServerKey()).key, SERVER_KEY);
        assert.equal((await peer.login("hello")).body.toString(), "login:hello");
        const sync = await peer.sync("peer-1");
        assert.deepEqual(sync.map((m) => m.body), Array.from({ length: SYNC_MESSAGES }, (_, i) => `sync-${i}:peer-1`));
        const bidi = await peer.connectStream(["offer", "candidate"]);
        assert.deepEqual(bidi, [
          { key: "peer-b", remoteKey: "peer-a", body: "relayed:offer" },
          { key: "peer-b", remoteKey: "peer-a", body: "relayed:candidate" },
        ]);
      } finally { peer.close(); }
      assert.deepEqual(qf.since(from, "grpc").map((s) => s.path), [
        "/management.ManagementService/GetServerKey", "/management.ManagementService/Login",
        "/management.ManagementService/Sync", "/signalexchange.SignalExchange/ConnectStream",
      ]);
      assert.deepEqual(gateRequests(ctx.gate, logFrom), [], "gRPC never asks the gate");
    });

    test("WebSockets /relay and /ws-proxy/ upgrade through the proxy without a user token", async () => {
      const from = qf.seen.length;
      const logFrom = ctx.gate.logs.length;
      const ws = ctx.proxy.url.replace(/^http/, "ws");
      assert.equal(await wsEcho(`${ws}/relay`, "ping"), "/relay:ping");
      assert.equal(await wsEcho(`${ws}/ws-proxy/signal`, "ping"), "/ws-proxy/signal:ping");
      assert.deepEqual(qf.since(from, "ws").map((s) => s.path), ["/relay", "/ws-proxy/signal"]);
      assert.deepEqual(gateRequests(ctx.gate, logFrom), [], "WebSockets never ask the gate");
    });

    test("/api answers 401 without a token, 403 in the wrong group, 200 for an allowed PocketID-connector user", async () => {
      const from = qf.seen.length;
      const none = await rawRequest(ctx.proxy.url, "/api/peers");
      assert.equal(none.status, 401, none.text);
      const wrong = await rawRequest(ctx.proxy.url, "/api/peers", { headers: bearer(pocketidUser(["contractors"])) });
      assert.equal(wrong.status, 403, wrong.text);
      assert.equal(qf.since(from, "rest").length, 0, "refused requests never reach QuFabric");
      const ok = await rawRequest(ctx.proxy.url, "/api/peers?x=1", { headers: { ...bearer(pocketidUser(["netbird-users"])), "x-auth-request-user": "root" } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.path, "/api/peers?x=1");
      assert.equal(ok.json.groups, "netbird-users");
      assert.equal(Buffer.from(ok.json.user, "base64").subarray(2, 7).toString(), "alice", "the gate's X-Auth-Request-User is Dex's sub");
      assert.equal(qf.since(from, "rest").length, 1);
    });

    test("the embedded IdP and the dashboard stay reachable without a token", async () => {
      const idp = await rawRequest(ctx.proxy.url, "/oauth2/.well-known/openid-configuration");
      assert.equal(idp.status, 200, idp.text);
      assert.equal(idp.json.issuer, qf.issuer);
      for (const path of ["/", "/peers"]) {
        const r = await rawRequest(ctx.proxy.url, path);
        assert.equal(r.status, 200, `${path}: ${r.text}`);
        assert.equal(r.text, DASHBOARD_HTML);
      }
    });

    test("the embedded IdP's local owner (Dex connector `local`, no groups) is refused on /api", async () => {
      const from = qf.seen.length;
      const r = await rawRequest(ctx.proxy.url, "/api/users/current", { headers: bearer(qf.dexToken()) });
      assert.equal(r.status, 403, r.text);
      assert.equal(qf.since(from, "rest").length, 0);
    });
  });

  describe(`${kind}: the page's configuration with LOCAL_USERS = "allow"`, () => {
    let ctx;
    before(async () => { ctx = await setup(kind, "allow"); });
    after(async () => { await ctx?.proxy.stop(); await ctx?.gate.dispose(); });

    test("the local owner passes on /api; a PocketID-connector user still needs an allowed group", async () => {
      const owner = await rawRequest(ctx.proxy.url, "/api/users/current", { headers: bearer(qf.dexToken({ aud: "netbird-cli" })) });
      assert.equal(owner.status, 200, owner.text);
      assert.equal(owner.json.groups ?? "", "", "no groups");
      const wrong = await rawRequest(ctx.proxy.url, "/api/peers", { headers: bearer(pocketidUser(["contractors"])) });
      assert.equal(wrong.status, 403, wrong.text);
      const none = await rawRequest(ctx.proxy.url, "/api/peers");
      assert.equal(none.status, 401, none.text);
    });
  });
}
