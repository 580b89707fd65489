// The tests every deployment topology runs (issue 20's "What must hold"), registered once per topology by each
// deploy-*.test.mjs, and the known-mistakes helper its negative cases use. The checks themselves live in
// deploy-checks.mjs; the 60-s gRPC stream check runs for every topology at once in deploy-streams.test.mjs.
import { after, before, describe, test } from "node:test";
import {
  checkApiByGroup, checkAttack, checkDashboardWithoutGate, checkGrpc, checkNoSpoofedIdentity, checkPublicApi, checkTls,
  checkWebSockets,
} from "./deploy-checks.mjs";
import { startTopology } from "./topologies.mjs";

/**
 * `describe` topology `name`/`variant` for test file `file` (a loopnet BLOCKS key): start it once, run every
 * check, stop it. `extra(getTopology)` registers the file's own tests inside the same `describe`, before the
 * dashboard check (which stops and restarts the gate).
 */
export function topologySuite(file, name, variant, title, extra = () => {}) {
  describe(`${name}/${variant}: ${title}`, () => {
    let t;
    before(async () => { t = await startTopology({ file, name, variant }); });
    after(async () => { await t?.stop(); });
    extra(() => t);
    test("TLS with the test certificate, ALPN h2, every route over TLS, port 80 redirects to https", () => checkTls(t));
    test("peers' gRPC streams reach their service over TLS, without the gate, with the client's IP", () => checkGrpc(t));
    test("WebSockets (/relay, /ws-proxy/signal, /ws-proxy/management) upgrade and reach their service", () => checkWebSockets(t));
    test("/api answers 401, 403 and 200 by group; the API sees the gate's identity and the client's IP", () => checkApiByGroup(t));
    test("first-run setup and invite acceptance work without a token (PUBLIC_API = bypass); their neighbours do not", () => checkPublicApi(t));
    test("no client-sent identity header, in any spelling, reaches an upstream on any path (but what SECURITY.md says the proxy cannot remove)", async (ctx) => {
      const { left } = await checkNoSpoofedIdentity(t);
      if (left.length) ctx.diagnostic(`left by ${t.proxyKind} (SECURITY.md "Identity headers"): ${left.join("; ")}`);
    });
    test("the attack (issue 20's paths, the ambiguous-path list, escapes from every ungated router) never reaches the REST API", () => checkAttack(t));
    test("the dashboard works without the gate (DASHBOARD = bypass)", () => checkDashboardWithoutGate(t));
  });
}

/** `start(variant, broken)` for the known-mistake tests of `file`/`name`: every topology it starts is stopped
 * after the enclosing `describe`. */
export function mistakes(file, name) {
  const started = [];
  after(async () => { for (const t of started) await t.stop(); });
  return async (variant, broken) => {
    const t = await startTopology({ file, name, variant, broken });
    started.push(t);
    return t;
  };
}
