// The self-hosted forward-auth gate (issue 11, item 8): the setup page's generated workerd configuration
// (`gate_workerd_config`, from the page's own wasm module in www/pkg) next to the Worker bundle from
// `cargo xtask build` (build/index.js, build/worker/shim.mjs, build/worker/index.wasm), served by the real workerd
// binary from the npm `workerd` package (installed by `cargo xtask setup`). Only the listen address changes: the
// generated `*:<port>` becomes a loopback port. The systemd unit's command line (`--socket-addr`) is run too.
// Loopback only; every process is started and stopped here.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BUILD, NODE_MODULES, need } from "../../tools/js/env.mjs";
import { GATE_FILES as BUNDLE, authAt } from "../../tools/js/gate.mjs";
import { startIssuer } from "../../tools/js/issuer.mjs";
import { freePort, rawRequest } from "../../tools/js/net.mjs";
import { pageGenerate } from "../../tools/js/page.mjs";
import { startCaddy } from "../../tools/js/proxies.mjs";
import { startUpstream } from "../../tools/js/upstream.mjs";
import { startWorkerd as workerd } from "../../tools/js/workerd.mjs";

const WORKERD_VERSION = JSON.parse(readFileSync(join(NODE_MODULES, "workerd/package.json"), "utf8")).version;
const GATE_URL = "http://pocketgate:8080";

let issuer, artifacts, dir;
const procs = [];

before(async () => {
  issuer = await startIssuer();
  const out = await pageGenerate({
    domain: "qufabric.example.com", issuer: issuer.url, mode: "standalone", display_name: "QuFabric",
    client_id: "netbird", client_secret: "", groups: "netbird-users", pkce_ports: "53000, 54000",
    gate_mode: "forward_auth", gate_host: "workerd", upstream: "http://qufabric-management:80",
    gate_url: GATE_URL, dashboard_upstream: "",
  });
  artifacts = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((a) => [a.id, a.content]));
  for (const id of ["gate_workerd_config", "gate_workerd_compose", "gate_workerd_systemd"]) {
    assert.equal(typeof artifacts[id], "string", `the page generated no ${id}: ${JSON.stringify(out.findings)}`);
  }
  dir = mkdtempSync(join(tmpdir(), "pocketgate-selfhost-"));
  mkdirSync(join(dir, "worker"));
  for (const f of BUNDLE) copyFileSync(need(join(BUILD, f), "build the Worker first: `cargo xtask build`"), join(dir, f));
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await issuer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * The generated configuration with its one listen address moved to `127.0.0.1:<port>`; `forwarded`: the
 * `FORWARDED_HEADERS` line for that proxy uncommented (the operator's one edit, as the file says).
 */
function localConfig(name, port, forwarded) {
  let text = artifacts.gate_workerd_config;
  if (forwarded) {
    const line = `    # (name = "FORWARDED_HEADERS", text = "${forwarded}"),`;
    assert.ok(text.includes(line), text);
    text = text.replace(line, line.replace("# ", ""));
  }
  assert.equal(text.split('address = "*:8080"').length, 2, `one socket on *:8080 expected:\n${text}`);
  const file = join(dir, name);
  writeFileSync(file, text.replace('address = "*:8080"', `address = "127.0.0.1:${port}"`));
  return file;
}

/** workerd with `args` (cwd: the bundle's directory), ready once /_gate/healthz on `port` answers 200. Returns
 * { url, output(), stop() }. */
async function startWorkerd(args, port) {
  const url = `http://127.0.0.1:${port}`;
  const probe = async () => { const r = await fetch(`${url}/_gate/healthz`); await r.arrayBuffer(); return r.status; };
  const handle = { ...(await workerd(args, { cwd: dir, probe, timeoutMs: 15_000 })), url };
  procs.push(handle);
  return handle;
}

/** A forward-auth request for GET /api/peers with `name`'s token (groups `groups`; no name: no token), as a proxy
 * asks the gate. */
const auth = (gate, name, groups, headers) =>
  authAt(gate, { token: name && issuer.idToken({ name, groups }), headers });

test("the generated files pin the installed workerd and the bundle's stable names", () => {
  const config = artifacts.gate_workerd_config;
  for (const f of BUNDLE) assert.match(config, new RegExp(`embed "${f.replace(".", "\\.")}"`));
  assert.match(config, new RegExp(`\\(name = "ISSUER", text = "${issuer.url}"\\)`));
  assert.ok(artifacts.gate_workerd_compose.includes(`"workerd@${WORKERD_VERSION}"`), artifacts.gate_workerd_compose);
  assert.ok(artifacts.gate_workerd_systemd.includes(`workerd@${WORKERD_VERSION}`), artifacts.gate_workerd_systemd);
  assert.ok(config.includes(`npm workerd@${WORKERD_VERSION}`), config);
});

test("the page's workerd configuration serves the gate: healthz, then 200/401/403 by group", async () => {
  const port = await freePort();
  const gate = await startWorkerd(["serve", localConfig("pocketgate.capnp", port)], port);
  const health = await (await fetch(`http://127.0.0.1:${port}/_gate/healthz`)).json();
  assert.equal(health.mode, "forward-auth", JSON.stringify(health));
  assert.deepEqual(health.issuers[0].kids, [issuer.key.kid], JSON.stringify(health));

  const none = await auth(gate);
  assert.equal(none.status, 401, gate.output());
  const alice = await auth(gate, "alice", ["netbird-users"]);
  assert.equal(alice.status, 200, gate.output());
  assert.ok(alice.user, "the identity headers come back");
  assert.equal(alice.headers.get("x-auth-request-preferred-username"), "alice");
  assert.equal(alice.headers.get("x-auth-request-groups"), "netbird-users");
  const bob = await auth(gate, "bob", ["other"]);
  assert.equal(bob.status, 403, gate.output());
  // The forwarded URI decides: a bypassed path needs no token, an incomplete family is refused.
  assert.equal((await authAt(gate, { uri: "/relay" })).status, 200);
  assert.equal((await authAt(gate, { method: null })).status, 400);
  await gate.stop();
});

test("the systemd unit's command line moves the socket to loopback (--socket-addr)", async () => {
  const unit = artifacts.gate_workerd_systemd;
  const exec = unit.match(/^ExecStart=(\S+) (.+)$/m);
  assert.ok(exec, unit);
  assert.equal(exec[1], "/opt/pocketgate/node_modules/.bin/workerd");
  const [configPort, port] = [await freePort(), await freePort()];
  const config = localConfig("systemd.capnp", configPort);
  const args = exec[2].split(" ").map((a) => (a === "/etc/pocketgate/pocketgate.capnp" ? config
    : a.replace(/^http=127\.0\.0\.1:8080$/, `http=127.0.0.1:${port}`)));
  assert.ok(args.includes(`http=127.0.0.1:${port}`), exec[2]);
  const gate = await startWorkerd(args, port);
  await assert.rejects(fetch(`http://127.0.0.1:${configPort}/_gate/healthz`), "the configuration's address is overridden");
  assert.equal((await auth(gate, "alice", ["netbird-users"])).status, 200, gate.output());
  await gate.stop();
});

test("the page's Caddyfile asks the self-hosted gate over the internal network", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const port = await freePort();
  const gate = await startWorkerd(["serve", localConfig("caddy.capnp", port, "caddy")], port);
  t.after(() => gate.stop());
  const caddyfile = artifacts.gate_caddy;
  assert.ok(caddyfile.includes(`forward_auth ${GATE_URL} {`), caddyfile);
  const up = new URL(upstream.url).host;
  const proxy = await startCaddy({
    snippet: caddyfile.replaceAll(GATE_URL, `http://127.0.0.1:${port}`).replaceAll("qufabric-management:80", up),
  });
  t.after(() => proxy.stop());
  const get = (name, groups) => rawRequest(proxy.url, "/api/peers",
    { headers: name ? { authorization: `Bearer ${issuer.idToken({ name, groups })}` } : {} });
  assert.equal((await get()).status, 401, proxy.output());
  assert.equal((await get("bob", ["other"])).status, 403);
  const before = upstream.seen.length;
  const ok = await get("alice", ["netbird-users"]);
  assert.equal(ok.status, 200, proxy.output() + gate.output());
  const seen = upstream.seen.slice(before).find((r) => r.url === "/api/peers");
  assert.equal(seen?.headers["x-auth-request-preferred-username"], "alice");
});
