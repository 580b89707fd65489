// The self-hosted forward-auth gate (issue 11, item 8): the setup page's generated workerd configuration
// (`gate_workerd_config`, from the page's own wasm module in www/pkg) next to the Worker bundle from
// `cargo xtask build` (build/index.js, build/worker/shim.mjs, build/worker/index.wasm), served by the real workerd
// binary from the npm `workerd` package (installed by `cargo xtask setup`). Only the listen address changes: the
// generated `*:<port>` becomes a loopback port. The systemd unit's command line (`--socket-addr`) is run too.
// Loopback only; every process is started and stopped here.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    signal_upstream: "http://qufabric-management:80", relay_upstream: "http://qufabric-management:80",
    gate_url: GATE_URL, dashboard_upstream: "http://qufabric-management:80",
  });
  artifacts = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((a) => [a.id, a.content]));
  for (const id of ["gate_workerd_config", "gate_workerd_dockerfile", "gate_workerd_compose", "gate_workerd_systemd"]) {
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
  assert.ok(artifacts.gate_workerd_dockerfile.includes(` workerd@${WORKERD_VERSION} `), artifacts.gate_workerd_dockerfile);
  assert.ok(artifacts.gate_workerd_compose.includes(`image: pocketgate-workerd:${WORKERD_VERSION}\n`), artifacts.gate_workerd_compose);
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

/** A Dockerfile instruction's JSON-array argument (`ENTRYPOINT ["…"]`), or its plain text. */
function instruction(dockerfile, name) {
  const m = dockerfile.match(new RegExp(`^${name} (.+)$`, "m"));
  assert.ok(m, `no ${name} in the Dockerfile:\n${dockerfile}`);
  return m[1].startsWith("[") ? JSON.parse(m[1]) : m[1];
}

test("the compose service starts offline as docker-node's user: the image's command, no network, no download", () => {
  // Docker cannot run on this machine. The strongest check available: what `docker compose up` would execute,
  // executed. The Dockerfile's ENTRYPOINT + CMD, in its WORKDIR, as its USER (docker-node's `node`: uid/gid 1000,
  // 22/bookworm-slim/Dockerfile:3-4), with the service's one volume (./pocketgate:/etc/pocketgate:ro) mapped to a
  // host directory holding the page's pocketgate.capnp (unchanged: its `*:8080` is free in a fresh network
  // namespace) and the bundle, and the image's workerd (`npm install --prefix /opt/pocketgate workerd@<version>`)
  // mapped to the binary the same npm package installed in the tool cache. `unshare --net` gives it a network
  // namespace with nothing but loopback: nothing can be downloaded. Inside it, the compose healthcheck's own
  // command and a forward-auth call. Not checked here: the image build itself (npm at build time), Docker's
  // mount and user handling, and the `netbird` network.
  assert.equal(process.getuid(), 0, "this test switches to uid 1000 in a new network namespace: run it as root (as cargo xtask test does)");
  for (const tool of ["unshare", "setpriv", "ip"]) {
    assert.equal(spawnSync("sh", ["-c", `command -v ${tool}`]).status, 0, `${tool} is required (Debian util-linux / iproute2)`);
  }
  const docker = artifacts.gate_workerd_dockerfile;
  const [entrypoint, cmd, user, workdir] = ["ENTRYPOINT", "CMD", "USER", "WORKDIR"].map((i) => instruction(docker, i));
  assert.equal(user, "node");
  assert.deepEqual(entrypoint, ["/opt/pocketgate/node_modules/.bin/workerd"]);
  const compose = artifacts.gate_workerd_compose;
  const volume = compose.match(/^ {6}- \.\/pocketgate:(\S+):ro$/m);
  assert.ok(volume, compose);
  assert.equal(volume[1], workdir, "the configuration is mounted where the image works");
  assert.doesNotMatch(compose, /npx|--yes|\.npm|^ {4}user:/m, "nothing downloaded or overridden at start");
  const health = JSON.parse(compose.match(/^ {6}test: (\[.+\])$/m)[1]);
  assert.deepEqual(health.slice(0, 3), ["CMD", "node", "-e"]);

  // The host side of the mounts, readable by uid 1000 (mkdtemp makes 0700 directories).
  const root = mkdtempSync(join(tmpdir(), "pocketgate-container-"));
  try {
    chmodSync(root, 0o755);
    const mount = join(root, "etc-pocketgate");
    mkdirSync(join(mount, "worker"), { recursive: true, mode: 0o755 });
    chmodSync(join(mount, "worker"), 0o755);
    for (const f of BUNDLE) copyFileSync(join(dir, f), join(mount, f));
    writeFileSync(join(mount, "pocketgate.capnp"), artifacts.gate_workerd_config);
    const bin = join(root, "workerd");
    copyFileSync(join(NODE_MODULES, "workerd/bin/workerd"), bin);
    chmodSync(bin, 0o755);
    const args = cmd.map((a) => a.replace(workdir, mount));
    const probe = `fetch('http://127.0.0.1:8080/_gate/auth', { headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/api/peers' } }).then(async (r) => { console.log('auth', r.status); }, (e) => { console.log('auth', e.message); process.exit(1); })`;
    const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;
    const asNode = "setpriv --reuid=1000 --regid=1000 --clear-groups";
    const script = [
      "set -u", "ip link set lo up", `cd ${q(mount)}`,
      `${asNode} ${q(bin)} ${args.map(q).join(" ")} > ${q(join(root, "workerd.log"))} 2>&1 &`,
      // Wait (bounded) until the socket answers.
      `for i in $(seq 1 100); do ${asNode} ${q(process.execPath)} -e ${q(probe)} > /dev/null 2>&1 && break; sleep 0.1; done`,
      `${asNode} ${q(process.execPath)} -e ${q(probe)}`,
      // The compose healthcheck, verbatim: offline the issuer's keys cannot load, so it must report unhealthy.
      `${asNode} ${q(process.execPath)} -e ${q(health[3])}; echo "healthcheck $?"`,
      "echo \"uid $(ps -o uid= -p $! | tr -d ' ')\"",
      "kill $! 2>/dev/null; wait $! 2>/dev/null; true",
    ].join("\n");
    const r = spawnSync("unshare", ["--net", "sh", "-c", script], { encoding: "utf8", timeout: 60_000 });
    const log = () => `${r.stdout}${r.stderr}\n${readFileSync(join(root, "workerd.log"), "utf8")}`;
    assert.match(r.stdout, /^auth 401$/m, `the gate answers a forward-auth call without a token:\n${log()}`);
    assert.match(r.stdout, /^healthcheck 1$/m, `offline, the healthcheck reports the keys missing:\n${log()}`);
    assert.match(r.stdout, /^uid 1000$/m, `workerd ran as uid 1000:\n${log()}`);
    assert.match(log(), /"code":"keys_unavailable".*could not be reached/, `no network in the namespace:\n${log()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
