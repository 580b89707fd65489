// `pocketgate check` (issue 21) against NetBird's real topologies (issue 20's harness,
// tests/e2e/support/topologies.mjs: the page's generated text in NetBird's stacks, TLS with a per-run test CA,
// the split QuFabric stand-ins answering as NetBird does, NetBird's own 401 included), run as an operator runs it:
// with the page's own `pocketgate-check.conf` (artifact gate_check), `--connect-to` for DNS, `--ca` for the public
// CA, and the tokens in files.
//
// Shown: the check passes on every configuration the page generates (all eight topology variants, tokens
// included), and fails, naming the fault, on each known mistake of issue 21: Traefik routers without TLS, a router
// that matches decoded paths and skips the gate, the dashboard through the gate with the gate stopped, a gRPC route
// behind forward-auth, an issuer with a trailing slash. (Routes pasted into [vars], proxy mode, have no topology
// here: tests/e2e/live-check.test.mjs.)
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { TOPOLOGIES, startTopology } from "./support/topologies.mjs";
import { runCheck, unexpectedFailures } from "./support/live-check.mjs";

const FILE = "live-check-topologies";

/** The check's arguments for topology `t`: the page's file, then what reaching it on loopback needs. */
function checkArgs(t, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-live-topo-"));
  const conf = join(dir, "pocketgate-check.conf");
  assert.ok(t.artifacts.gate_check, `${t.name}/${t.variant}: the page generated no gate_check`);
  writeFileSync(conf, t.artifacts.gate_check);
  return ["--config", conf, "--connect-to", `${t.host}:443:${t.address}:${t.port}`, "--ca", t.caFile, "--timeout", "5",
    "--json", ...extra];
}

/** Token files of an allowed user and a user outside the groups, minted as the topology's issuer mints them. */
function tokenArgs(t) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-live-topo-tokens-"));
  writeFileSync(join(dir, "allowed"), t.tokens.allowed());
  writeFileSync(join(dir, "denied"), t.tokens.denied());
  return ["--token-file", join(dir, "allowed"), "--denied-token-file", join(dir, "denied")];
}

const failing = (rows) => Object.values(rows).filter((r) => r.status === "fail");
const show = (r) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

const started = [];
after(async () => { for (const t of started) await t.stop(); });

async function topology(name, variant, broken) {
  const t = await startTopology({ file: FILE, name, variant, broken });
  started.push(t);
  return t;
}

describe("the check passes on every configuration the page generates", () => {
  for (const [name, variants] of Object.entries(TOPOLOGIES)) {
    for (const variant of variants) {
      test(`${name}/${variant}`, async () => {
        const t = await topology(name, variant);
        try {
          const r = await runCheck(checkArgs(t, tokenArgs(t)));
          assert.ok(r.rows, show(r));
          assert.deepEqual(unexpectedFailures(r.rows), [], show(r));
          assert.equal(r.code, failing(r.rows).length ? 1 : 0);
          assert.deepEqual(Object.values(r.rows).filter((row) => row.status === "skip"), [], "tokens given: nothing skipped");
          assert.match(r.rows.api_gate.detail, /^401 /);
          assert.match(r.rows.api_hostile.detail, /none reached the API/);
          assert.match(r.rows.grpc_direct.detail, /UNIMPLEMENTED/);
          assert.match(r.rows.token_allowed.detail, /^200 from QuFabric/);
          if (t.input.mode === "embedded") assert.equal(r.rows.gate_issuer.status, "pass", "the embedded IdP through the proxy");
          else assert.equal(r.rows.gate_issuer, undefined, "standalone: the gate trusts PocketID itself");
        } finally { await t.stop(); }
      });
    }
  }
});

describe("the check fails, naming the fault, on each known mistake", () => {
  test("Traefik routers without TLS (combined-traefik): served as plain HTTP on 443", async () => {
    const t = await topology("combined-traefik", "forwardauth", "traefik-no-tls");
    try {
      const r = await runCheck(checkArgs(t));
      assert.equal(r.code, 1, show(r));
      assert.equal(r.rows.plain_http.status, "fail", show(r));
      assert.match(r.rows.plain_http.detail, /serves plain HTTP: \/api\/users → HTTP 401/);
      assert.match(r.rows.plain_http.fix, /tls=true/);
      assert.equal(r.rows.api_gate.status, "fail");
    } finally { await t.stop(); }
  });

  test("a router that matches decoded paths and skips the gate (combined-traefik): the paths that reached the API", async () => {
    const t = await topology("combined-traefik", "forwardauth", "decoded-path-router");
    try {
      const r = await runCheck(checkArgs(t));
      assert.equal(r.code, 1, show(r));
      assert.equal(r.rows.api_hostile.status, "fail", show(r));
      assert.match(r.rows.api_hostile.detail, /reached QuFabric's API: \/\S+ → QuFabric's own 401 "no valid authentication provided"/);
      assert.match(r.rows.api_hostile.fix, /decoded path/);
      assert.equal(r.rows.api_gate.status, "pass", "a plain /api request still meets the gate");
    } finally { await t.stop(); }
  });

  test("the dashboard through the gate, the gate stopped (combined-external/nginx): the dashboard is down with it", async () => {
    const t = await topology("combined-external", "nginx", "dashboard-through-gate");
    try {
      await t.stopGate();
      // The page's file says --dashboard protect for this configuration; the operator meant bypass.
      const r = await runCheck(checkArgs(t, ["--dashboard", "bypass"]));
      assert.equal(r.code, 1, show(r));
      assert.equal(r.rows.dashboard.status, "fail", show(r));
      assert.match(r.rows.dashboard.fix, /a gate outage takes it down/);
      assert.equal(r.rows.api_gate.status, "fail");
      assert.match(r.rows.api_gate.detail, /could not get an answer/);
      assert.equal(r.rows.grpc.status, "pass", "peers never needed the gate");
    } finally { await t.stop(); }
  });

  test("a gRPC route behind forward-auth (combined-traefik): the gRPC call refused by the gate", async () => {
    const t = await topology("combined-traefik", "forwardauth", "grpc-forward-auth");
    try {
      const r = await runCheck(checkArgs(t));
      assert.equal(r.code, 1, show(r));
      assert.equal(r.rows.grpc_direct.status, "fail", show(r));
      assert.match(r.rows.grpc_direct.detail, /from the gate: the gRPC route asks the gate/);
      assert.match(r.rows.grpc_direct.fix, /remove forward-auth from the gRPC route/);
    } finally { await t.stop(); }
  });

  test("an issuer with a trailing slash (legacy/caddy): the issuer row names the value, the gate is config_invalid", async () => {
    const t = await topology("legacy", "caddy", "issuer-trailing-slash");
    try {
      // Standalone mode: the gate trusts PocketID, and the operator typed its issuer with the slash.
      const r = await runCheck(checkArgs(t, ["--issuer", `${t.pocketidIssuer}/`]));
      assert.equal(r.code, 1, show(r));
      assert.equal(r.rows.pocketid_issuer.status, "fail", show(r));
      assert.match(r.rows.pocketid_issuer.detail, /^issuer_slash_mismatch/);
      assert.match(r.rows.pocketid_issuer.fix, new RegExp(`use exactly ${t.pocketidIssuer.replaceAll(".", "\\.")} as the issuer`));
      assert.match(r.rows.api_gate.detail, /config_invalid/);
    } finally { await t.stop(); }
  });
});
