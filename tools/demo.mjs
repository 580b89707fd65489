// `cargo xtask demo`: a labelled DEV issuer (PocketID-shaped, NOT an identity provider), a stand-in for
// QuFabric's management server, and the gate in front of it under `wrangler dev` (real workerd), then
// ready-to-paste curl lines. Options: USAGE below (`node tools/demo.mjs --help`).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, numberOption } from "./js/cli.mjs";
import { NODE_MODULES, ROOT, need } from "./js/env.mjs";
import { startIssuer } from "./js/issuer.mjs";
import { startUpstream } from "./js/upstream.mjs";

const USAGE = `usage: node tools/demo.mjs [--check] [--prebuilt] [--port N] [-- <wrangler dev args>]

A DEV issuer (PocketID-shaped, not an identity provider), a stand-in QuFabric and the gate in front of it under
wrangler dev, with ready-to-paste curl lines; Ctrl-C stops all three. \`cargo xtask demo\` runs it after setup.

  --check              make the printed requests (allow, wrong group, expired, forward-auth), then exit 0 or 1
  --prebuilt           serve the Worker already in build/ (no rebuild; for tests running next to other suites)
  --port N             the gate's port (default 8787)
  -- ARGS              the rest goes to \`wrangler dev\` (e.g. -- --var LOG:all)
  -h, --help           this text`;
const { values: ARGS, rest: passthrough } = cli(USAGE, {
  check: { type: "boolean" }, prebuilt: { type: "boolean" }, port: { type: "string" },
}, { rest: true });
const check = ARGS.check === true;
const prebuilt = ARGS.prebuilt === true;
// A --port among wrangler's arguments (`cargo xtask demo -- --port 8788`) is the gate's port too.
const restPort = passthrough.findIndex((a) => a === "--port" || a.startsWith("--port="));
const portText = ARGS.port ?? (restPort < 0 ? undefined
  : passthrough[restPort].startsWith("--port=") ? passthrough[restPort].slice(7) : passthrough[restPort + 1]);
const gatePort = numberOption(USAGE, { port: portText }, "port", 8787);

async function listenOr0(start, port, opts) {
  try { return await start({ ...opts, port }); } catch { return start({ ...opts, port: 0 }); }
}

const issuer = await listenOr0(startIssuer, 9010, { label: "demo" });
const upstream = await listenOr0(startUpstream, 9020, { label: "qufabric-stand-in" });
const gate = `http://127.0.0.1:${gatePort}`;

/** A config equal to wrangler.toml minus its [build] step, for `--prebuilt`. */
function prebuiltConfig() {
  need(join(ROOT, "build/index.js"), "build the Worker first (`cargo xtask build`)");
  const dir = join(ROOT, ".wrangler");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "demo-prebuilt.json");
  writeFileSync(file, JSON.stringify({
    name: "pocketgate-demo", main: join(ROOT, "build/index.js"), compatibility_date: "2025-09-01",
    assets: { directory: join(ROOT, "www"), binding: "ASSETS", run_worker_first: true },
  }));
  return ["--config", file];
}

const wranglerArgs = ["dev", ...(prebuilt ? prebuiltConfig() : []), "--ip", "127.0.0.1", ...(restPort >= 0 ? [] : ["--port", String(gatePort)]),
  "--show-interactive-dev-session=false",
  "--var", `ISSUER:${issuer.url}`, "--var", "AUDIENCE:netbird", "--var", "ALLOW_GROUPS:netbird-users",
  "--var", `UPSTREAM:${upstream.url}`, ...passthrough];
const wrangler = spawn(need(join(NODE_MODULES, ".bin/wrangler"), "run `cargo xtask setup`"), wranglerArgs, {
  cwd: ROOT, stdio: ["ignore", check ? "pipe" : "inherit", check ? "pipe" : "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
const wranglerOut = [];
wrangler.stdout?.on("data", (d) => wranglerOut.push(String(d)));
wrangler.stderr?.on("data", (d) => wranglerOut.push(String(d)));

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  if (wrangler.exitCode === null) {
    const gone = new Promise((r) => wrangler.once("exit", r));
    wrangler.kill("SIGTERM");
    await gone;
  }
  await issuer.close();
  await upstream.close();
  process.exit(code);
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
wrangler.on("exit", (code) => { if (!stopping) { console.error(wranglerOut.join("")); console.error(`wrangler dev exited (${code})`); stop(1); } });

// The first start builds the Worker (worker-build), which takes a while.
let healthy = false;
for (let i = 0; i < 600 && !healthy && !stopping; i++) {
  try { healthy = (await fetch(`${gate}/_gate/healthz`)).status === 200; } catch { /* not up yet */ }
  if (!healthy) await new Promise((r) => setTimeout(r, 500));
}
if (!healthy) { console.error(wranglerOut.join("")); console.error("the gate did not become healthy"); await stop(1); }

const now = Math.floor(Date.now() / 1000);
const tokens = {
  alice: issuer.idToken({ name: "alice", groups: ["netbird-users"] }),
  bob: issuer.idToken({ name: "bob", groups: ["guests"] }),
  expired: issuer.idToken({ name: "alice", groups: ["netbird-users"], claims: { iat: now - 7200, exp: now - 3600 } }),
};
const curl = (t, path = "/api/peers", extra = "") => `curl -i ${gate}${path}${extra} -H 'Authorization: Bearer ${t}'`;

console.log(`
PocketGate demo: the gate ${gate} in front of a stand-in for QuFabric (${upstream.url}).
Tokens come from a DEV ISSUER at ${issuer.url}: a PocketGate demo tool shaped like PocketID
(discovery + JWKS, one RS256 key, kid ${issuer.key.kid}). It is NOT an identity provider; never trust it.

# alice, group netbird-users: allowed, the upstream answers (with X-Auth-Request-* identity headers)
${curl(tokens.alice)}

# bob, group guests: 403 group_not_allowed
${curl(tokens.bob)}

# alice's expired token: 401 token_expired
${curl(tokens.expired)}

# forward-auth (what nginx auth_request / Caddy forward_auth call):
${curl(tokens.alice, "/_gate/auth", " -H 'X-Forwarded-Method: GET' -H 'X-Forwarded-Uri: /api/peers'")}

Health:     ${gate}/_gate/healthz
Setup page: ${gate}/_gate/setup/
${check ? "" : "Ctrl-C stops the gate, the issuer and the upstream."}`);

if (check) {
  const want = [["alice", 200, null], ["bob", 403, "group_not_allowed"], ["expired", 401, "token_expired"]];
  let ok = true;
  for (const [who, status, code] of want) {
    const r = await fetch(`${gate}/api/peers`, { headers: { authorization: `Bearer ${tokens[who]}` } });
    const body = await r.json();
    const good = r.status === status && (code === null ? body.upstream === "qufabric-stand-in" : body.code === code);
    console.log(`check ${who}: ${r.status} ${body.code ?? body.upstream} ${good ? "ok" : "WRONG"}`);
    ok &&= good;
  }
  // The forward-auth line printed above, and the same call without the method (never read as GET).
  const fa = (headers) => fetch(`${gate}/_gate/auth`, { headers: { authorization: `Bearer ${tokens.alice}`, ...headers } });
  const full = await fa({ "x-forwarded-method": "GET", "x-forwarded-uri": "/api/peers" });
  const half = await fa({ "x-forwarded-uri": "/api/peers" });
  const halfCode = (await half.json()).code;
  const faGood = full.status === 200 && half.status === 400 && halfCode === "forwarded_headers_incomplete";
  console.log(`check forward-auth: ${full.status}, without method ${half.status} ${halfCode} ${faGood ? "ok" : "WRONG"}`);
  ok &&= faGood;
  await stop(ok ? 0 : 1);
}
