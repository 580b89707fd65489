// `pocketgate check` (issue 21) on the project's own harness, for what NetBird's topologies
// (tests/e2e/live-check-topologies.test.mjs) do not cover: the output's form (the table, JSON, exit status, usage
// errors that never echo a value), the gate stopped with the dashboard bypassing it, Traefik's file provider,
// a proxy that never asks the gate, and proxy mode (the Worker on Cloudflare routes, behind an edge stand-in:
// the page's [[routes]] deployed, or routes = [...] pasted under [vars] and none deployed).
//
// The setup page's generated text (its wasm module, www/pkg) runs in Debian's nginx and Caddy and in Traefik, each
// on a loopback TLS listener with a per-run test CA, in front of the QuFabric stand-in (support/qufabric.mjs: gRPC
// over h2c, WebSockets, REST, the embedded IdP, the dashboard) and the gate on workerd configured from the page's
// [vars]; a PocketID-shaped issuer (tools/js/issuer.mjs) plays PocketID. The check runs as an operator runs it
// (support/live-check.mjs: the binary `cargo xtask build` leaves in target/release), with the page's own
// pocketgate-check.conf and `--connect-to` and `--ca` standing in for DNS and a public CA.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { after, before, describe, test } from "node:test";
import { startChild, untilReady } from "../../tools/js/child.mjs";
import { startCaddyfile, startNginxHttp, traefikDefaultCertificate } from "../../tools/js/deployproxies.mjs";
import { startGate } from "../../tools/js/gate.mjs";
import { startIssuer } from "../../tools/js/issuer.mjs";
import { freePort } from "../../tools/js/net.mjs";
import { pageGenerate } from "../../tools/js/page.mjs";
import { PAGE_HOST, traefikBinary } from "../../tools/js/proxies.mjs";
import { makeTestCA } from "../../tools/js/testca.mjs";
import { runCheck, unexpectedFailures } from "./support/live-check.mjs";
import { startQuFabric } from "./support/qufabric.mjs";

// ---- proxies on a TLS listener, from the page's text ----------------------------------------------------------

/** Ready once a TLS handshake for PAGE_HOST with the test CA succeeds on `port`. */
function tlsProbe(port, caFile) {
  return () => new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, servername: PAGE_HOST, ca: readFileSync(caFile) }, () => { s.destroy(); resolve(200); });
    s.on("error", reject);
  });
}

/** nginx with the page's `server` block, its `listen 443 ssl http2;` on a loopback port, the test certificate. */
async function nginxTls(snippet, tls) {
  const port = await freePort();
  const listen = "listen 443 ssl http2;";
  assert.ok(snippet.includes(listen), snippet);
  const server = snippet.replace(listen,
    `listen 127.0.0.1:${port} ssl http2;\n    ssl_certificate ${tls.certFile};\n    ssl_certificate_key ${tls.keyFile};`);
  return { ...await startNginxHttp({ http: server, ready: tlsProbe(port, tls.caFile) }), port };
}

/** Caddy with the page's site block on `https://PAGE_HOST:port`, bound to loopback, serving the test certificate. */
async function caddyTls(snippet, tls) {
  const port = await freePort();
  const site = `${PAGE_HOST} {\n`;
  assert.ok(snippet.includes(site), snippet);
  const caddyfile = `{\n\tadmin off\n}\n${snippet.replace(site,
    `https://${PAGE_HOST}:${port} {\n\tbind 127.0.0.1\n\ttls ${tls.certFile} ${tls.keyFile}\n`)}`;
  return { ...await startCaddyfile({ caddyfile, ready: tlsProbe(port, tls.caFile) }), port };
}

/**
 * Traefik with the page's file-provider routers on a `websecure` entry point (loopback port), the test certificate
 * as the default certificate (a second file of the file provider: what the ACME resolver would provide), and no
 * TLS of the entry point's own, as NetBird's getting-started.sh. `Host(...)` stays the public host.
 */
async function traefikTls(dynamic, tls) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-live-traefik-"));
  const port = await freePort();
  writeFileSync(join(dir, "routes.yml"), dynamic);
  traefikDefaultCertificate(dir, tls);
  writeFileSync(join(dir, "traefik.yml"), `global: {checkNewVersion: false, sendAnonymousUsage: false}
entryPoints:
  websecure: {address: "127.0.0.1:${port}"}
providers:
  file: {directory: "${dir}", watch: false}
log: {level: ERROR}
`);
  // traefik.yml sits in the file provider's directory too: it holds nothing dynamic, so Traefik ignores it there.
  const child = startChild(traefikBinary(), [`--configFile=${join(dir, "traefik.yml")}`], { env: { HOME: dir } });
  await untilReady(child, tlsProbe(port, tls.caFile), { what: "traefik", intervalMs: 50 });
  // The routers exist once the file provider's configuration is loaded.
  await new Promise((r) => setTimeout(r, 500));
  return { port, stop: child.stop, output: child.output };
}

// ---- the deployment -------------------------------------------------------------------------------------------

let qf, pocketid, tls;
before(async () => {
  [qf, pocketid] = await Promise.all([startQuFabric(), startIssuer({ label: "pocketid" })]);
  tls = makeTestCA([PAGE_HOST]);
});
after(async () => { await qf?.close(); await pocketid?.close(); });

/** The page's artifacts (embedded mode, forward-auth to `gate`) by id, and its [vars]. */
async function page(gate) {
  const out = await pageGenerate({
    domain: PAGE_HOST, issuer: pocketid.url, mode: "embedded", display_name: "QuFabric", client_id: "qufabric",
    client_secret: "s3cr3t", groups: "netbird-users", pkce_ports: "53000, 54000", gate_mode: "forward_auth",
    upstream: qf.url, gate_url: gate, dashboard_upstream: qf.url,
  });
  const a = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((x) => [x.id, x.content]));
  assert.ok(a.gate_wrangler_vars, `the page generated nothing: ${JSON.stringify(out.findings)}`);
  const vars = Object.fromEntries([...a.gate_wrangler_vars.matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1], m[2]]));
  return { a, vars };
}

const forwardedHeaders = (snippet) => snippet.match(/^# Gate setting for this proxy: FORWARDED_HEADERS = "([a-z]+)"$/m)[1];

/**
 * The check's arguments for a proxy on `port`: the page's own `pocketgate-check.conf` (artifact `gate_check`),
 * then what a loopback test must add: the public host reached through --connect-to, the test CA, and the gate's
 * issuer where the stand-in's IdP really is (it announces its loopback URL, not https://PAGE_HOST/oauth2).
 */
function checkArgs(port, a, extra = []) {
  assert.ok(a.gate_check, "the page generates pocketgate check's file");
  const conf = join(mkdtempSync(join(tmpdir(), "pocketgate-live-conf-")), "pocketgate-check.conf");
  writeFileSync(conf, a.gate_check);
  return ["--config", conf, "--gate-issuer", qf.issuer, "--connect-to", `${PAGE_HOST}:443:127.0.0.1:${port}`,
    "--ca", tls.caFile, "--timeout", "5", "--json", ...extra];
}

// Every proxy of every topology the page generates is checked in tests/e2e/live-check-topologies.test.mjs; here one
// proxy shows the output's form and the gate stopped, and Traefik's file provider (no topology uses it).
const PROXIES = {
  caddy: { start: (a) => caddyTls(a.gate_caddy, tls), snippet: (a) => a.gate_caddy },
  "traefik (file provider)": { start: (a) => traefikTls(a.gate_traefik, tls), snippet: (a) => a.gate_traefik },
};

/** Rows whose status is not `status`, as `id: detail` lines (for assertion messages). */
const notStatus = (rows, status, except = []) => Object.values(rows)
  .filter((r) => r.status !== status && !except.includes(r.id)).map((r) => `${r.id}: ${r.status}: ${r.detail}`);

for (const [kind, proxy] of Object.entries(PROXIES)) {
  describe(`${kind} over TLS with the page's configuration`, () => {
    let gate, px, a, allowedFile, deniedFile;
    before(async () => {
      const probe = await page("http://127.0.0.1:1");
      gate = await startGate({ ...probe.vars, ISSUER: qf.issuer, FORWARDED_HEADERS: forwardedHeaders(proxy.snippet(probe.a)) });
      ({ a } = await page(gate.url));
      px = await proxy.start(a);
      const dir = mkdtempSync(join(tmpdir(), "pocketgate-live-tokens-"));
      allowedFile = join(dir, "allowed");
      deniedFile = join(dir, "denied");
      writeFileSync(allowedFile, qf.dexToken({ userId: "alice", connector: "pocketid", groups: ["netbird-users"] }));
      writeFileSync(deniedFile, qf.dexToken({ userId: "mallory", connector: "pocketid", groups: ["contractors"] }));
    });
    after(async () => { await px?.stop(); await gate?.dispose(); });

    test("the check passes, tokens included", async () => {
      const r = await runCheck(checkArgs(px.port, a, ["--token-file", allowedFile, "--denied-token-file", deniedFile]));
      assert.ok(r.rows, `${r.code}: ${r.stdout}${r.stderr}`);
      assert.deepEqual(unexpectedFailures(r.rows), [], r.stdout);
      assert.deepEqual(notStatus(r.rows, "pass", ["public_api"]), [], r.stdout);
      assert.equal(r.rows.tls.status, "pass");
      assert.match(r.rows.api_gate.detail, /^401 .*Bearer realm="pocketgate"/);
      assert.match(r.rows.grpc.detail, /grpc-status 0 \(OK\), HTTP\/2 by ALPN \(h2\)/);
      assert.match(r.rows.grpc_direct.detail, /grpc-status 12 \(UNIMPLEMENTED\)/);
      assert.match(r.rows.api_hostile.detail, /none reached the API/);
      assert.equal(r.code, r.rows.public_api.status === "fail" ? 1 : 0, "exit status follows the rows");
      for (const file of [allowedFile, deniedFile]) {
        const token = readFileSync(file, "utf8");
        assert.ok(!r.stdout.includes(token.split(".")[2]) && !r.stderr.includes(token.split(".")[2]), "no token in the output");
      }
      assert.match(r.rows.token_allowed.detail, /^200 from QuFabric/);
      assert.match(r.rows.token_denied.detail, /^403 group_not_allowed from the gate$/);
      assert.equal(r.rows.dashboard_direct.status, "pass", "DASHBOARD = bypass: the dashboard never asks the gate");
    });

    test("the table is one line per check, a fix under each failure, and a summary", async () => {
      const r = await runCheck(checkArgs(px.port, a).filter((arg) => arg !== "--json"));
      const lines = r.stdout.trim().split("\n");
      assert.match(lines[0], new RegExp(`^pocketgate check https://${PAGE_HOST.replaceAll(".", "\\.")} \\(embedded mode, forward-auth\\)$`));
      const rows = lines.filter((l) => /^(pass|FAIL|skip) {2}/.test(l));
      assert.ok(rows.length >= 18, r.stdout);
      const fails = rows.filter((l) => l.startsWith("FAIL")).length;
      assert.equal(lines.filter((l) => /^ +fix: /.test(l)).length, fails, r.stdout);
      assert.match(lines.at(-1), new RegExp(`^${rows.length} checks: \\d+ passed, ${fails} failed, \\d+ skipped$`));
    });

    test("an untrusted certificate (the system's roots, no --ca) or another name: TLS fails, the domain's rows skip", async () => {
      const untrusted = await runCheck(checkArgs(px.port, a).filter((arg, i, all) => arg !== "--ca" && all[i - 1] !== "--ca"));
      assert.equal(untrusted.code, 1, untrusted.stdout);
      assert.match(untrusted.rows.tls.detail, /does not lead to a trusted CA \(UnknownIssuer\)/);
      assert.match(untrusted.rows.tls.fix, /--ca FILE/);
      assert.equal(untrusted.rows.api_gate.status, "skip", untrusted.stdout);
      assert.equal(untrusted.rows.api_hostile.status, "skip");
      assert.equal(untrusted.rows.plain_http.status, "pass", "plain HTTP is still refused");
      const other = await runCheck([...checkArgs(px.port, a), "--domain", "vpn.example.com",
        "--connect-to", `vpn.example.com:443:127.0.0.1:${px.port}`]);
      // Traefik presents its default certificate for an unknown name; Caddy refuses the handshake.
      assert.equal(other.rows.tls.status, "fail", other.stdout);
      assert.match(other.rows.tls.detail, /certificate not valid for name "vpn\.example\.com"; certificate is only valid for .*qufabric\.example\.com|received fatal alert/);
      const closed = await runCheck([...checkArgs(px.port, a), "--connect-to", `${PAGE_HOST}:443:127.0.0.1:1`]);
      assert.match(closed.rows.tls.detail, /^connecting to qufabric\.example\.com:443: /);
      assert.equal(closed.rows.plain_http.status, "skip", closed.stdout);
    });

    test("with the gate stopped: /api fails naming the unreachable gate; the dashboard and gRPC work without it", async () => {
      const probe = await page("http://127.0.0.1:1");
      const stopped = await startGate({ ...probe.vars, ISSUER: qf.issuer, FORWARDED_HEADERS: forwardedHeaders(proxy.snippet(probe.a)) });
      const { a: a2 } = await page(stopped.url);
      const px2 = await proxy.start(a2);
      await stopped.dispose();
      try {
        const r = await runCheck(checkArgs(px2.port, a2));
        assert.equal(r.code, 1, r.stdout);
        assert.equal(r.rows.api_gate.status, "fail");
        assert.match(r.rows.api_gate.detail, /could not get an answer/);
        assert.equal(r.rows.dashboard.status, "pass", "DASHBOARD = bypass: the dashboard never needed the gate");
        assert.equal(r.rows.grpc.status, "pass", "gRPC never needed the gate");
      } finally { await px2.stop(); }
    });
  });
}

describe("broken deployments", () => {
  test("/api straight to QuFabric (no gate asked): api_gate and the attacker's paths fail, naming the fault", async () => {
    // nginx with the page's block minus its auth_request lines: what a config without the gate's routes does.
    const { a } = await page("http://127.0.0.1:1");
    const ungated = a.gate_nginx.split("\n").filter((l) => !/auth_request|\$x_auth_request/.test(l)).join("\n");
    const px = await nginxTls(ungated, tls);
    try {
      const r = await runCheck(checkArgs(px.port, a));
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.rows.api_gate.status, "fail");
      assert.match(r.rows.api_gate.detail, /QuFabric answered, the gate was not asked/);
      assert.match(r.rows.api_gate.fix, /auth_request/);
      assert.equal(r.rows.api_hostile.status, "fail");
      assert.match(r.rows.api_hostile.detail, /reached QuFabric's API/);
    } finally { await px.stop(); }
  });

  test("Traefik routers without TLS (the page's routers, tls removed): served only as plain HTTP", async () => {
    const probe = await page("http://127.0.0.1:1");
    const gate = await startGate({ ...probe.vars, ISSUER: qf.issuer, FORWARDED_HEADERS: "traefik" });
    const { a } = await page(gate.url);
    const noTls = a.gate_traefik.replace(/^ {6}tls:\n {8}certResolver: .*\n/gm, "");
    assert.ok(!/^\s+tls:/m.test(noTls) && noTls !== a.gate_traefik, noTls);
    let px;
    try {
      px = await traefikTls(noTls, tls);
      const r = await runCheck(checkArgs(px.port, a));
      assert.equal(r.code, 1, r.stdout);
      // Traefik serves its default certificate, but routers without TLS answer only plain HTTP: over TLS every
      // path is Traefik's 404, in plain text the gate and QuFabric answer.
      assert.equal(r.rows.tls.status, "pass");
      assert.equal(r.rows.api_gate.status, "fail");
      assert.match(r.rows.api_gate.detail, /no route for \/api over TLS/);
      assert.match(r.rows.api_gate.fix, /router without tls=true/);
      assert.equal(r.rows.grpc.status, "fail");
      assert.match(r.rows.plain_http.detail, /serves plain HTTP: \/api\/users → HTTP 401/);
      assert.match(r.rows.plain_http.fix, /tls=true/);
    } finally { await px?.stop(); await gate.dispose(); }
  });
});

/**
 * Which routes `wrangler deploy` takes from a wrangler.toml, read as TOML reads it: `[[routes]]` tables, and a
 * `routes = [...]` key before the first table header, are top-level; a `routes = [...]` after `[vars]` is the
 * variable `vars.routes`, and no route is deployed (issue 20's "fails open when pasted as told"). Only the shapes
 * the setup page has generated are read (`pattern = "…"`).
 */
function deployedRoutes(toml) {
  const patterns = [];
  let table = null;
  let inTopLevelRoutes = false;
  for (const line of toml.split("\n")) {
    const header = line.match(/^\s*(\[\[?)([^\]]+)\]\]?\s*$/);
    if (header) { table = header[2].trim(); inTopLevelRoutes = false; continue; }
    if (/^\s*routes\s*=\s*\[/.test(line)) inTopLevelRoutes = table === null;
    const p = line.match(/pattern\s*=\s*"([^"]+)"/);
    if (p && (table === "routes" || inTopLevelRoutes)) patterns.push(p[1]);
  }
  return patterns;
}

/**
 * Cloudflare's edge for one hostname, as nginx over TLS: a request whose path a deployed route pattern matches
 * (`host/api` exactly, `host/api/*` as a prefix) goes to the Worker, everything else to the origin (gRPC and
 * WebSockets passed through, as with the zone's gRPC and WebSockets settings on). Routes match the URL after the
 * zone's default URL normalization (type "cloudflare", incoming: `\` becomes `/`, `//` merged, dot segments
 * removed; developers.cloudflare.com/rules/normalization/how-it-works): nginx resolves dot segments itself, and a
 * path with a backslash goes to the Worker, since every such path the check sends normalizes to /api/users.
 */
async function cloudflareEdge(patterns, { worker, origin }) {
  const hostPort = (u) => u.replace(/^https?:\/\//, "");
  const routes = patterns.map((p) => {
    const path = p.slice(p.indexOf("/"));
    const loc = path.endsWith("/*") ? `location ^~ ${path.slice(0, -1)}` : `location = ${path}`;
    return `    ${loc} {\n        proxy_pass http://${hostPort(worker)};\n    }\n`;
  }).join("");
  const server = `server {
    listen 443 ssl http2;
    server_name ${PAGE_HOST};
${routes.length ? `    location ~ \\x5c {\n        proxy_pass http://${hostPort(worker)};\n    }\n` : ""}${routes}    location ~ ^/(signalexchange\\.SignalExchange|management\\.ManagementService|management\\.ProxyService)/ {
        grpc_pass grpc://${hostPort(origin)};
    }
    location ~ ^/(relay(/|$)|ws-proxy/) {
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "Upgrade";
        proxy_pass http://${hostPort(origin)};
    }
    location / {
        proxy_pass http://${hostPort(origin)};
    }
}
`;
  return nginxTls(server, tls);
}

describe("proxy mode: the Worker on the page's routes, behind a Cloudflare edge stand-in", () => {
  async function proxyPage() {
    const out = await pageGenerate({
      domain: PAGE_HOST, issuer: pocketid.url, mode: "embedded", display_name: "QuFabric", client_id: "qufabric",
      client_secret: "s3cr3t", groups: "netbird-users", pkce_ports: "53000, 54000", gate_mode: "proxy",
      upstream: qf.url, cloudflare_zone: "example.com",
    });
    const a = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((x) => [x.id, x.content]));
    assert.ok(a.gate_wrangler_routes, `no routes generated: ${JSON.stringify(out.findings)}`);
    const vars = Object.fromEntries([...a.gate_wrangler_vars.matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1], m[2]]));
    return { a, vars };
  }

  test("the page's routes appended to wrangler.toml (after [vars]) are deployed: the check passes", async () => {
    const { a, vars } = await proxyPage();
    assert.equal(vars.UPSTREAM, qf.url);
    const patterns = deployedRoutes(`${a.gate_wrangler_vars}\n${a.gate_wrangler_routes}`);
    assert.deepEqual(patterns, [`${PAGE_HOST}/api`, `${PAGE_HOST}/api/*`]);
    const gate = await startGate({ ...vars, ISSUER: qf.issuer });
    const px = await cloudflareEdge(patterns, { worker: gate.url, origin: qf.url });
    try {
      const r = await runCheck(checkArgs(px.port, a));
      assert.match(r.stdout, /"setup": "embedded mode, the Worker on \/api routes"/);
      assert.deepEqual(unexpectedFailures(r.rows), [], r.stdout);
      assert.deepEqual(notStatus(r.rows, "pass", ["public_api", "token_allowed", "token_denied"]), [], r.stdout);
      assert.match(r.rows.api_gate.detail, /^401 token_missing from the gate/);
    } finally { await px.stop(); await gate.dispose(); }
  });

  test("routes pasted as `routes = [...]` under [vars]: none deployed, /api reaches the origin, the check says so", async () => {
    const { a, vars } = await proxyPage();
    const pasted = `${a.gate_wrangler_vars}routes = [\n  { pattern = "${PAGE_HOST}/api", zone_name = "example.com" },\n`
      + `  { pattern = "${PAGE_HOST}/api/*", zone_name = "example.com" },\n]\n`;
    assert.deepEqual(deployedRoutes(pasted), [], "a key after [vars] belongs to [vars]");
    const gate = await startGate({ ...vars, ISSUER: qf.issuer });
    const px = await cloudflareEdge(deployedRoutes(pasted), { worker: gate.url, origin: qf.url });
    try {
      const r = await runCheck(checkArgs(px.port, a));
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.rows.api_gate.status, "fail");
      assert.match(r.rows.api_gate.detail, /the gate was not asked/);
      assert.match(r.rows.api_gate.fix, /pasted under \[vars\] it becomes a variable and no route is deployed/);
      assert.equal(r.rows.api_hostile.status, "fail");
    } finally { await px.stop(); await gate.dispose(); }
  });
});

describe("usage", () => {
  test("usage errors exit 2, name the option and never echo its value", async () => {
    for (const [args, option] of [
      [["--domain", "q.example.com"], "--issuer"],
      [["--domain", "q.example.com", "--issuer", "http://SECRETVALUE.example.com"], "--issuer"],
      [["--domain", "q.example.com", "--issuer", "https://id.example.com", "--token", "eyJSECRETVALUE"], "--token"],
      [["--domain", "q.example.com", "--issuer", "https://id.example.com", "--ca", "/nonexistent/SECRETVALUE.pem"], "--ca"],
      [["--domain", "q.example.com", "--issuer", "https://id.example.com", "--token-file", "/nonexistent/SECRETVALUE"], "--token-file"],
    ]) {
      const r = await runCheck(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^pocketgate check: ${option}: `));
      assert.ok(!r.stderr.includes("SECRET"), r.stderr);
      assert.equal(r.stdout, "");
    }
    const help = await runCheck(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--connect-to/);
  });
});
