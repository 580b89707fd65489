// What must hold in every deployment topology (issue 20, "What must hold when this is resolved"), as checks that
// take a started topology (topologies.mjs) and assert. Each deploy-*.test.mjs runs them per topology; a broken
// variant (BROKEN_VARIANTS) must make at least one of them fail (the suites show which).
import assert from "node:assert/strict";
import { publicClient } from "../../../tools/js/publicclient.mjs";
import { clientIp } from "./qf-container.mjs";
import { DASHBOARD_HTML } from "./qf-http.mjs";
import { HOLD, SERVER_KEY, SYNC_MESSAGES, peerClients } from "./qf-grpc.mjs";
import { PUBLIC_API, SPOOF, SPOOF_HEADERS, attackRequests, restServes, spoofed } from "./netbird-paths.mjs";

/** Every record of every container of `t`, in one list (each names its container). */
export const allRecords = (t) => Object.values(t.containers).flatMap((c) => c.seen);

/** A mark of what every container has recorded so far; `newSince(t, mark)` lists the records after it. */
export const mark = (t) => Object.fromEntries(Object.entries(t.containers).map(([k, c]) => [k, c.seen.length]));
export const newSince = (t, m) => Object.entries(t.containers).flatMap(([k, c]) => c.seen.slice(m[k] ?? 0));

const bearer = (token) => ({ authorization: `Bearer ${token}` });

/** The gate's request log lines (LOG=all) after `from` (an index into its lines). */
const gateLines = (t, from = 0) => t.gate.logs().slice(from).filter((l) => l.event === "request" && l.path !== "/_gate/healthz");

/** TLS: the public host's certificate chain verifies against the test CA, ALPN offers h2 and HTTP/1.1, the routes
 * are served over TLS and the TLS port answers no plain HTTP; plain HTTP on port 80 redirects to https. */
export async function checkTls(t) {
  for (const alpn of [["h2", "http/1.1"], ["http/1.1"]]) {
    const hs = await t.client.tls({ alpn });
    assert.equal(hs.error, null, `TLS to ${t.host} (${alpn}): ${hs.error}`);
    assert.ok(hs.authorized, `TLS to ${t.host} is not authorized by the test CA`);
    assert.equal(hs.alpn, alpn[0], `ALPN ${alpn}`);
  }
  const h2 = await t.client.h2("/");
  assert.equal(h2.alpn, "h2");
  for (const path of ["/", "/api/peers", "/oauth2/keys"]) {
    const r = await t.client.request(path);
    assert.notEqual(r.status, 404, `${path} over TLS: no router serves it (${r.text.slice(0, 100)})`);
  }
  // No route answers plain HTTP on the TLS port (Traefik answers 404, nginx 400; a router without TLS would serve).
  const plain = await publicClient({ host: t.host, address: t.address, httpPort: t.port, from: t.clientAddress })
    .plain("/").catch((e) => ({ status: `no answer (${e.code ?? e.message})`, text: "" }));
  assert.ok(!(plain.status >= 200 && plain.status < 400), `plain HTTP on port ${t.port} is served: ${plain.status} ${plain.text.slice(0, 100)}`);
  const redirect = await t.client.plain("/peers?x=1");
  assert.ok([301, 302, 307, 308].includes(redirect.status), `port 80: ${redirect.status} ${redirect.text.slice(0, 200)}`);
  assert.equal(redirect.headers.location, `https://${t.host}/peers?x=1`);
}

/** Peers' gRPC (unary, server stream, bidirectional stream) over TLS (ALPN h2) without a user token: each call
 * reaches its service (signal vs management), never the gate, with the client's IP. */
export async function checkGrpc(t) {
  const m = mark(t);
  const logFrom = t.gate.logs().length;
  const peer = peerClients(t.grpcTarget);
  try {
    assert.equal((await peer.getServerKey()).key, SERVER_KEY);
    assert.equal((await peer.login("hello")).body.toString(), "login:hello");
    const sync = await peer.sync("peer-1");
    assert.deepEqual(sync.map((x) => x.body), Array.from({ length: SYNC_MESSAGES }, (_, i) => `sync-${i}:peer-1`));
    const bidi = await peer.connectStream(["offer", "candidate"]);
    assert.deepEqual(bidi.map((x) => x.body), ["relayed:offer", "relayed:candidate"]);
  } finally { peer.close(); }
  const grpc = newSince(t, m).filter((r) => r.kind === "grpc");
  const where = (path) => grpc.filter((r) => r.path === path).map((r) => r.container);
  const mgmt = t.grpcOf.management.name;
  const signal = t.grpcOf.signal.name;
  assert.deepEqual(where("/management.ManagementService/GetServerKey"), [mgmt]);
  assert.deepEqual(where("/management.ManagementService/Login"), [mgmt]);
  assert.deepEqual(where("/management.ManagementService/Sync"), [mgmt]);
  assert.deepEqual(where("/signalexchange.SignalExchange/ConnectStream"), [signal]);
  for (const r of grpc) assert.equal(clientIp(r), t.clientAddress, `${r.path}: the service sees ${clientIp(r)}, not the client`);
  assert.deepEqual(gateLines(t, logFrom).map((l) => l.path), [], "gRPC never asks the gate");
}

/** WebSockets (`/relay`, `/ws-proxy/signal`, `/ws-proxy/management`) upgrade over TLS and reach their service. */
export async function checkWebSockets(t) {
  const m = mark(t);
  const logFrom = t.gate.logs().length;
  for (const path of ["/relay", "/ws-proxy/signal", "/ws-proxy/management"]) {
    assert.equal(await t.client.wsEcho(path, "ping"), `${path}:ping`, path);
  }
  const ws = newSince(t, m).filter((r) => r.kind === "ws");
  for (const path of ["/relay", "/ws-proxy/signal", "/ws-proxy/management"]) {
    const hits = ws.filter((r) => r.path === path);
    assert.deepEqual(hits.map((r) => r.container), [t.wsOf[path].name], `${path} reached ${hits.map((r) => r.container)}`);
    assert.equal(clientIp(hits[0]), t.clientAddress, `${path}: the service sees ${clientIp(hits[0])}, not the client`);
  }
  assert.deepEqual(gateLines(t, logFrom).map((l) => l.path), [], "WebSockets never ask the gate");
}

/** `/api` answers 401 without a token, 403 in the wrong group, 200 for an allowed user, whose request reaches the
 * REST API with the gate's identity headers and the client's IP. */
export async function checkApiByGroup(t) {
  const m = mark(t);
  const none = await t.client.request("/api/peers");
  assert.equal(none.status, 401, none.text);
  const wrong = await t.client.request("/api/peers", { headers: bearer(t.tokens.wrongGroup()) });
  assert.equal(wrong.status, 403, wrong.text);
  assert.deepEqual(newSince(t, m).filter((r) => r.kind === "rest").map((r) => r.path), [], "refused requests never reach the API");
  const ok = await t.client.request("/api/peers?x=1", { headers: bearer(t.tokens.allowed()) });
  assert.equal(ok.status, 200, ok.text);
  const rest = newSince(t, m).filter((r) => r.kind === "rest");
  assert.deepEqual(rest.map((r) => `${r.container} ${r.path}`), [`${t.api.name} /api/peers?x=1`]);
  assert.equal(rest[0].headers["x-auth-request-groups"], "netbird-users");
  assert.ok(rest[0].headers["x-auth-request-user"], "the gate's X-Auth-Request-User reaches the API");
  assert.equal(clientIp(rest[0]), t.clientAddress, `the API sees ${clientIp(rest[0])}, not the client`);
}

/** NetBird's unauthenticated endpoints (first-run setup, invite acceptance) work without a token; their
 * neighbours do not. */
export async function checkPublicApi(t) {
  for (const { method, path } of PUBLIC_API) {
    const m = mark(t);
    const r = await t.client.request(path, { method, headers: method === "POST" ? { "content-type": "application/json" } : {}, body: method === "POST" ? "{}" : undefined });
    assert.equal(r.status, 200, `${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
    const rest = newSince(t, m).filter((x) => x.kind === "rest");
    assert.deepEqual(rest.map((x) => `${x.container} ${x.method} ${x.path}`), [`${t.api.name} ${method} ${path}`]);
  }
  for (const [method, path] of [["GET", "/api/users/invites"], ["DELETE", "/api/users/invites/nbi_x7Jq2mB9"], ["GET", "/api/instancex"], ["GET", "/api/setup-keys"]]) {
    const m = mark(t);
    const r = await t.client.request(path, { method });
    assert.equal(r.status, 401, `${method} ${path} (not public): ${r.status} ${r.text.slice(0, 200)}`);
    assert.deepEqual(newSince(t, m).filter((x) => x.kind === "rest").map((x) => x.path), [], `${method} ${path} reached the API`);
  }
}

/**
 * With the gate stopped, the dashboard still loads (DASHBOARD = bypass) and /api is refused, never passed. The
 * plugin cannot be stopped apart from Traefik: there, the router that serves the dashboard must carry no plugin
 * middleware, and a dashboard page with a credential the plugin would refuse still loads.
 */
export async function checkDashboardWithoutGate(t) {
  if (t.gate.kind === "plugin") return checkDashboardWithoutPlugin(t);
  await t.stopGate();
  try {
    const m = mark(t);
    for (const path of ["/", "/peers", "/nb-auth"]) {
      const r = await t.client.request(path);
      assert.equal(r.status, 200, `${path} with the gate stopped: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(r.text, DASHBOARD_HTML);
    }
    const api = await t.client.request("/api/peers", { headers: bearer(t.tokens.allowed()) });
    assert.notEqual(api.status, 200, "/api with the gate stopped");
    assert.deepEqual(newSince(t, m).filter((x) => x.kind === "rest").map((x) => x.path), [], "the API is never reached with the gate stopped");
  } finally {
    await t.startGate();
  }
}

async function checkDashboardWithoutPlugin(t) {
  const raw = await t.rawdata();
  const plugins = Object.entries(raw.middlewares ?? {}).filter(([, m]) => m.plugin).map(([n]) => n);
  assert.ok(plugins.length, "the plugin middleware is loaded");
  const dashboard = Object.entries(raw.routers ?? {}).filter(([, r]) => /dashboard/i.test(r.service ?? ""));
  assert.ok(dashboard.length, `a router serves the dashboard: ${Object.keys(raw.routers ?? {})}`);
  for (const [name, r] of dashboard) {
    const uses = (r.middlewares ?? []).filter((m) => plugins.includes(m.includes("@") ? m : `${m}@docker`));
    assert.deepEqual(uses, [], `${name} asks the plugin`);
  }
  const r = await t.client.request("/peers", { headers: { authorization: "Bearer not-a-token" } });
  assert.equal(r.status, 200, `the dashboard with a credential the plugin refuses: ${r.status} ${r.text.slice(0, 200)}`);
  assert.equal(r.text, DASHBOARD_HTML);
  return undefined;
}

/** An unknown dashed name of the gate's family (not one of the four the gate sets). */
const UNKNOWN_GATE_NAME = /^x-auth-request-(?!(user|email|preferred-username|groups)$)[a-z0-9-]+$/;

/**
 * What a generated proxy configuration cannot remove, as SECURITY.md ("Identity headers") states it, from each
 * proxy's own source: stock nginx sets and clears headers by exact name only (`proxy_set_header`,
 * `grpc_set_header`; there is no removal by pattern), and Traefik's `headers` middleware takes exact names, so only
 * a gated router's forwardAuth `authResponseHeadersRegex` (traefik pkg/middlewares/auth/forward.go) or the plugin
 * removes the whole family. Left: an unknown dashed `X-Auth-Request-*` name — through nginx on every path, through
 * Traefik on its ungated routers. Caddy removes the family by pattern (`request_header -X-Auth-Request-*`).
 */
const LEFT_BY_PROXY = {
  nginx: (record, name) => UNKNOWN_GATE_NAME.test(name),
  traefik: (record, name) => UNKNOWN_GATE_NAME.test(name) && record.kind !== "rest",
  caddy: () => false,
};

/**
 * No identity header a client sends, in any spelling, reaches any upstream on any path (API, public API, the
 * dashboard, the IdP, WebSockets, gRPC metadata), but what the proxy cannot remove (LEFT_BY_PROXY), which the
 * check reports in `left` instead.
 */
export async function checkNoSpoofedIdentity(t) {
  const m = mark(t);
  await t.client.request("/api/peers", { headers: { ...bearer(t.tokens.allowed()), ...SPOOF_HEADERS } });
  await t.client.request("/api/instance", { headers: SPOOF_HEADERS });
  await t.client.request("/peers", { headers: SPOOF_HEADERS });
  await t.client.request("/oauth2/keys", { headers: SPOOF_HEADERS });
  for (const path of ["/relay", "/ws-proxy/signal", "/ws-proxy/management"]) await t.client.wsEcho(path, "x", { headers: SPOOF_HEADERS });
  const md = Object.fromEntries(Object.entries(SPOOF_HEADERS).map(([k, v]) => [k.toLowerCase(), v]));
  const peer = peerClients(t.grpcTarget, md);
  try {
    await peer.getServerKey();
    await peer.connectStream(["x"]);
  } finally { peer.close(); }
  const seen = newSince(t, m);
  assert.ok(seen.length >= 9, `every request arrived somewhere: ${seen.map((r) => r.path)}`);
  const canLeave = LEFT_BY_PROXY[t.proxyKind] ?? (() => false);
  const leaks = [];
  const left = [];
  for (const r of seen) {
    for (const name of spoofed(r)) (canLeave(r, name) ? left : leaks).push(`${r.container} ${r.kind} ${r.path}: ${name}`);
  }
  assert.deepEqual(leaks, [], `client-sent identity headers (value "${SPOOF}") reached an upstream`);
  return { left };
}

/**
 * The attack: every path of the issue and the project's list, and every escape from every ungated prefix the
 * configuration names, over HTTP/1.1 and HTTP/2, without a token: each is refused at the proxy or reaches the
 * gate, and the REST API never receives one. Returns what happened, for the suite's message.
 */
export async function checkAttack(t, { prefixes = t.ungatedPrefixes } = {}) {
  const requests = attackRequests(prefixes);
  const leaks = [];
  const errors = [];
  for (const [method, target] of requests) {
    for (const via of ["h1", "h2"]) {
      const m = mark(t);
      let status;
      try {
        const r = via === "h1" ? await t.client.request(target, { method }) : await t.client.h2(target, { method });
        status = r.status;
      } catch (e) {
        status = `no answer (${e.code ?? e.message})`;
        if (!/ECONNRESET|ERR_HTTP2|socket hang up|stream|PROTOCOL/i.test(String(e.code ?? e.message))) errors.push(`${via} ${method} ${target}: ${e.message}`);
      }
      const reached = newSince(t, m).filter((r) => r.kind === "rest" && restServes(r.path));
      if (reached.length) leaks.push(`${via} ${method} ${JSON.stringify(target)} → ${status}; the API got ${reached.map((r) => `${r.method} ${JSON.stringify(r.path)}`).join(", ")}`);
    }
  }
  assert.deepEqual(leaks, [], `requests reached the REST API without the gate's decision (${leaks.length} of ${requests.length * 2})`);
  assert.deepEqual(errors, [], "requests without an answer");
  return { sent: requests.length * 2 };
}

/**
 * A peer's long-lived gRPC streams stay open through `silenceMs` of silence: a Sync (server stream) whose second
 * message comes after the silence, and a ConnectStream (bidirectional) whose second exchange does.
 */
export async function checkLongStreams(t, silenceMs) {
  const peer = peerClients(t.grpcTarget, {}, { deadlineMs: silenceMs + 30_000 });
  try {
    const t0 = Date.now();
    const [sync, bidi] = await Promise.all([
      peer.sync(`${HOLD}${silenceMs}`),
      peer.connectStream(["before", "after"], { pauseMs: silenceMs }),
    ]);
    assert.deepEqual(sync.map((x) => x.body), [`sync-0:${HOLD}${silenceMs}`, `sync-1:${HOLD}${silenceMs}`]);
    // (Arrival times: the first message may reach the client a little after it was sent.)
    assert.ok(sync[1].at - sync[0].at >= silenceMs - 2000, `the second Sync message came after ${sync[1].at - sync[0].at} ms`);
    assert.deepEqual(bidi.map((x) => x.body), ["relayed:before", "relayed:after"]);
    assert.ok(Date.now() - t0 >= silenceMs, "the exchange lasted past the silence");
  } finally { peer.close(); }
}
