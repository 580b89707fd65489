// The setup page's generated proxy configurations (issue 20, items 8 and 9) under hostile paths and header
// spellings, in Debian's nginx and Caddy and in Traefik 3.7: every path that names QuFabric's REST API through
// case, an encoded `/` or `\`, or dot segments — sent to the ungated routes' prefixes too — is refused by the proxy
// or reaches the gate, never the server; client identity headers in any spelling the proxy can remove never reach
// an upstream (and SECURITY.md's list of what each proxy cannot remove is what happens). The gate is a recording
// stand-in here (it answers 401, or 200 with its identity headers): only the proxies' routing is judged. The
// combined stack's layout (embedded mode): netbird-server and the dashboard as two recording upstreams.
// Traefik runs twice: with the page's dynamic configuration alone (the rule on the API router does the work) and
// with the page's static configuration as flags too (encodedCharacters: 400; underscoreHeadersStrategy).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startChild, untilReady } from "../../tools/js/child.mjs";
import { freePort, rawRequest } from "../../tools/js/net.mjs";
import { pageGenerate } from "../../tools/js/page.mjs";
import {
  PAGE_HOST, startCaddy, startNginx, startTraefik, traefikBinary, withoutRouterTls,
} from "../../tools/js/proxies.mjs";
import { startUpstream } from "../../tools/js/upstream.mjs";

/** The paths, and the same trick under every ungated prefix (each names /api/users after traversal). */
const HOSTILE = [
  ["DELETE", "/relay/..%2fapi/users/1"], ["DELETE", "/oauth2/..%2fapi/users/1"], ["DELETE", "/ws-proxy/..%2fapi/users/1"],
  ["DELETE", "/management.ManagementService/..%2fapi/users/1"], ["DELETE", "/signalexchange.SignalExchange/..%2fapi/users/1"],
  ["DELETE", "/management.ProxyService/..%2fapi/users/1"],
  ["GET", "/API/users"], ["GET", "/Api/users"], ["GET", "/%2Fapi/users"], ["GET", "/%2fAPI/users"], ["GET", "/x/..%2F..%2Fapi/users"],
  ["GET", "/relay\\..\\api\\users"], ["GET", "/oauth2/x\\..\\..\\api\\users"], ["GET", "/ws-proxy/%5C..%5Capi%5Cusers"],
  ["GET", "/relay/%2e%2e/api/users"], ["GET", "/relay/../api/users"], ["GET", "//api/users"], ["GET", "/api%2Fusers"],
];

/** Client identity headers in the spellings a client can send. */
const SPOOF = {
  "X-Auth-Request-User": "root", "x-auth-request-groups": "admins", "X_Auth_Request_Groups": "admins",
  "X-Auth_Request-Groups": "admins", "X-Auth-Request-Other": "x", "X-Forwarded-User": "root", "X_Forwarded_User": "root",
};

let gate, allowGate, server, dashboard, page;
const gateSeen = [];

/** A stand-in gate answering 401, or (`allow`) 200 with its four identity headers. */
async function startFakeGate(allow) {
  const s = createServer((req, res) => {
    gateSeen.push(req.headers["x-original-uri"] ?? req.headers["x-forwarded-uri"]);
    if (!allow) return res.writeHead(401).end("{}");
    res.writeHead(200, { "x-auth-request-user": "gate-user", "x-auth-request-email": "", "x-auth-request-preferred-username": "", "x-auth-request-groups": "netbird-users" }).end();
  });
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${s.address().port}`, close: () => new Promise((r) => s.close(r)) };
}

async function generate(gateUrl) {
  const out = await pageGenerate({
    domain: PAGE_HOST, issuer: "https://id.example.com", mode: "embedded", display_name: "QuFabric",
    client_id: "qufabric", client_secret: "s", groups: "netbird-users", gate_mode: "forward_auth",
    upstream: server.url, dashboard_upstream: dashboard.url, gate_url: gateUrl, traefik_certresolver: "",
  });
  const a = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((x) => [x.id, x.content]));
  assert.ok(a.gate_nginx, JSON.stringify(out.findings));
  return a;
}

before(async () => {
  gate = await startFakeGate(false);
  allowGate = await startFakeGate(true);
  server = await startUpstream({ label: "netbird-server" });
  dashboard = await startUpstream({ label: "dashboard" });
  page = { refuse: await generate(gate.url), allow: await generate(allowGate.url) };
});
after(async () => { await gate?.close(); await allowGate?.close(); await server?.close(); await dashboard?.close(); });

/** Traefik started with the page's static configuration as flags (its `command:` items) plus the harness's
 * address and file provider; the page's dynamic configuration with the routers' TLS removed (plain HTTP here). */
async function startTraefikWithFlags(artifacts) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-traefik-flags-"));
  const port = await freePort();
  writeFileSync(join(dir, "dynamic.yml"), withoutRouterTls(artifacts.gate_traefik).replaceAll(`Host(\`${PAGE_HOST}\`)`, "Host(`127.0.0.1`)"));
  const flags = [...artifacts.gate_traefik_static.matchAll(/^ {6}- ("--.+")$/gm)].map((m) => JSON.parse(m[1]));
  assert.ok(flags.length >= 8, artifacts.gate_traefik_static);
  const child = startChild(traefikBinary(), [...flags, `--entrypoints.websecure.address=127.0.0.1:${port}`,
    `--providers.file.filename=${join(dir, "dynamic.yml")}`, "--log.level=ERROR", "--global.checknewversion=false",
    "--global.sendanonymoususage=false"], { env: { HOME: dir } });
  const url = `http://127.0.0.1:${port}`;
  await untilReady(child, () => fetch(`${url}/relay`).then(async (r) => { await r.arrayBuffer(); return r.status; }),
    { accept: (s) => s !== 404, timeoutMs: 20_000, intervalMs: 50, what: "traefik (flags)" });
  return { url, stop: child.stop, output: child.output };
}

const PROXIES = {
  nginx: (a) => startNginx({ snippet: a.gate_nginx }),
  caddy: (a) => startCaddy({ snippet: a.gate_caddy }),
  "traefik (dynamic configuration only)": (a) => startTraefik({ dynamic: a.gate_traefik }),
  "traefik (static flags + dynamic)": startTraefikWithFlags,
};

for (const [kind, start] of Object.entries(PROXIES)) {
  describe(kind, () => {
    let proxy, allowProxy;
    before(async () => { proxy = await start(page.refuse); allowProxy = await start(page.allow); });
    after(async () => { await proxy?.stop(); await allowProxy?.stop(); });

    test("every spelling of the API is refused by the proxy or reaches the gate, never the server unasked", async () => {
      for (const [method, path] of HOSTILE) {
        const [g, s] = [gateSeen.length, server.seen.length];
        const r = await rawRequest(proxy.url, path, { method });
        const asked = gateSeen.length > g;
        assert.equal(server.seen.length, s, `${kind}: ${method} ${path} reached the server (status ${r.status}, gate asked: ${asked})`);
        assert.ok(asked || r.status === 400, `${kind}: ${method} ${path} neither refused (400) nor sent to the gate: ${r.status}`);
      }
      // With the static flags, Traefik itself refuses an encoded / or \ (encodedCharacters).
      if (kind.includes("flags")) {
        for (const path of ["/relay/..%2fapi/users/1", "/%2Fapi/users", "/relay\\..\\api\\users"]) {
          assert.equal((await rawRequest(proxy.url, path)).status, 400, `${path}: ${proxy.output()}`);
        }
      }
    });

    test("the ungated routes and the dashboard still go straight to their container", async () => {
      for (const [path, to] of [["/relay", server], ["/ws-proxy/signal", server], ["/oauth2/keys", server], ["/peers", dashboard], ["/", dashboard]]) {
        const [g, n] = [gateSeen.length, to.seen.length];
        const r = await rawRequest(proxy.url, path);
        assert.equal(r.status, 200, `${path}: ${r.text}`);
        assert.equal(to.seen.length, n + 1, `${path} went elsewhere`);
        assert.equal(gateSeen.length, g, `${path} asked the gate (DASHBOARD = bypass)`);
      }
    });

    test("client identity headers: what reaches the upstream on an ungated and on a gated route", async () => {
      const seen = async (url, path) => {
        const n = server.seen.length;
        const r = await rawRequest(url, path, { headers: SPOOF });
        assert.equal(r.status, 200, `${path}: ${r.text}`);
        assert.equal(server.seen.length, n + 1);
        return Object.keys(server.seen.at(-1).headers).filter((h) => /auth.request|forwarded.user/i.test(h)).sort();
      };
      // SECURITY.md "Identity headers on ungated routes": exactly these are left by each proxy.
      const ungatedLeft = { nginx: ["x-auth-request-other"], caddy: [], "traefik (dynamic configuration only)": ["x-auth-request-other", "x-auth_request-groups"],
        "traefik (static flags + dynamic)": ["x-auth-request-other"] }[kind];
      assert.deepEqual(await seen(proxy.url, "/relay"), ungatedLeft, `${kind} /relay`);
      // Gated: only the gate's own (nginx cannot remove an unknown X-Auth-Request-* name).
      const gatedLeft = ["x-auth-request-email", "x-auth-request-groups", "x-auth-request-preferred-username", "x-auth-request-user",
        ...(kind === "nginx" ? ["x-auth-request-other"] : [])].sort();
      const left = await seen(allowProxy.url, "/api/users");
      assert.deepEqual(left.filter((h) => h !== "x-auth-request-email" && h !== "x-auth-request-preferred-username"),
        gatedLeft.filter((h) => h !== "x-auth-request-email" && h !== "x-auth-request-preferred-username"), `${kind} /api/users`);
      const h = server.seen.at(-1).headers;
      assert.equal(h["x-auth-request-user"], "gate-user");
      assert.equal(h["x-auth-request-groups"], "netbird-users");
    });
  });
}
