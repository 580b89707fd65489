// `cargo xtask demo`: a labelled DEV issuer (PocketID-shaped, NOT an identity provider), a stand-in for
// QuFabric's management server, and the gate in front of it under `wrangler dev` (real workerd; js/gate.mjs
// startDevGate), then ready-to-paste curl lines. Options: USAGE below (`node tools/demo.mjs --help`).
import { cli, numberOption } from "./js/cli.mjs";
import { AUTH_PATH, authAt, startDevGate, trusting } from "./js/gate.mjs";
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

let gate = null;
let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await gate?.stop(); // (while it starts, exiting stops it: tools/js/child.mjs)
  await issuer.close();
  await upstream.close();
  process.exit(code);
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

// The first start builds the Worker (worker-build), which takes a while.
try {
  gate = await startDevGate({ vars: { ...trusting(issuer), UPSTREAM: upstream.url }, port: gatePort, args: passthrough,
    prebuilt, inherit: !check });
} catch (e) {
  console.error(`the gate did not become healthy: ${e.message}`);
  await stop(1);
}
gate.proc.on("exit", (code) => { if (!stopping) { console.error(gate.output()); console.error(`wrangler dev exited (${code})`); stop(1); } });

const now = Math.floor(Date.now() / 1000);
const tokens = {
  alice: issuer.idToken({ name: "alice", groups: ["netbird-users"] }),
  bob: issuer.idToken({ name: "bob", groups: ["guests"] }),
  expired: issuer.idToken({ name: "alice", groups: ["netbird-users"], claims: { iat: now - 7200, exp: now - 3600 } }),
};
const curl = (t, path = "/api/peers", extra = "") => `curl -i ${gate.url}${path}${extra} -H 'Authorization: Bearer ${t}'`;

console.log(`
PocketGate demo: the gate ${gate.url} in front of a stand-in for QuFabric (${upstream.url}).
Tokens come from a DEV ISSUER at ${issuer.url}: a PocketGate demo tool shaped like PocketID
(discovery + JWKS, one RS256 key, kid ${issuer.key.kid}). It is NOT an identity provider; never trust it.

# alice, group netbird-users: allowed, the upstream answers (with X-Auth-Request-* identity headers)
${curl(tokens.alice)}

# bob, group guests: 403 group_not_allowed
${curl(tokens.bob)}

# alice's expired token: 401 token_expired
${curl(tokens.expired)}

# forward-auth (what nginx auth_request / Caddy forward_auth call):
${curl(tokens.alice, AUTH_PATH, " -H 'X-Forwarded-Method: GET' -H 'X-Forwarded-Uri: /api/peers'")}

Health:     ${gate.url}/_gate/healthz
Setup page: ${gate.url}/_gate/setup/
${check ? "" : "Ctrl-C stops the gate, the issuer and the upstream."}`);

if (check) {
  const want = [["alice", 200, null], ["bob", 403, "group_not_allowed"], ["expired", 401, "token_expired"]];
  let ok = true;
  for (const [who, status, code] of want) {
    const r = await fetch(`${gate.url}/api/peers`, { headers: { authorization: `Bearer ${tokens[who]}` } });
    const body = await r.json();
    const good = r.status === status && (code === null ? body.upstream === "qufabric-stand-in" : body.code === code);
    console.log(`check ${who}: ${r.status} ${body.code ?? body.upstream} ${good ? "ok" : "WRONG"}`);
    ok &&= good;
  }
  // The forward-auth line printed above, and the same call without the method (never read as GET).
  const full = await authAt(gate, { token: tokens.alice });
  const half = await authAt(gate, { token: tokens.alice, method: null });
  const faGood = full.status === 200 && half.status === 400 && half.code === "forwarded_headers_incomplete";
  console.log(`check forward-auth: ${full.status}, without method ${half.status} ${half.code} ${faGood ? "ok" : "WRONG"}`);
  ok &&= faGood;
  await stop(ok ? 0 : 1);
}
