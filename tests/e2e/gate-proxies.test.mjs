// Forward-auth behind real Caddy (forward_auth) and real nginx (auth_request): the allowed user reaches the
// upstream with the identity headers; everyone else gets 401/403 from the proxy and never reaches it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startGate } from "./support/gate.mjs";
import { startIssuer } from "./support/issuer.mjs";
import { startCaddy, startNginx } from "./support/proxies.mjs";
import { startUpstream } from "./support/upstream.mjs";

let issuer, upstream, gate;
before(async () => {
  issuer = await startIssuer();
  upstream = await startUpstream();
  // Forward-auth only: no UPSTREAM.
  gate = await startGate({ ISSUER: issuer.url, AUDIENCE: "netbird", ALLOW_GROUPS: "netbird-users" });
});
after(async () => { await gate?.dispose(); await upstream?.close(); await issuer?.close(); });

const SPOOF = { "x-auth-request-user": "root", "x-auth-request-groups": "admins", "x-forwarded-user": "root" };

for (const [name, start] of [["Caddy", startCaddy], ["nginx", startNginx]]) {
  describe(`behind ${name}`, () => {
    let proxy;
    before(async () => { proxy = await start({ gate: gate.url, upstream: upstream.url }); });
    after(async () => { await proxy?.stop(); });

    test("allowed user reaches the upstream with the identity headers", async () => {
      const r = await fetch(proxy.url + "/api/peers?x=1", { headers: { authorization: `Bearer ${issuer.idToken({ name: "alice" })}`, ...SPOOF } });
      assert.equal(r.status, 200, proxy.output.join(""));
      const body = await r.json();
      assert.equal(body.url, "/api/peers?x=1");
      const h = upstream.last().headers;
      assert.equal(h["x-auth-request-user"], issuer.user("alice").sub);
      assert.equal(h["x-auth-request-email"], "alice@example.com");
      assert.equal(h["x-auth-request-preferred-username"], "alice");
      assert.equal(h["x-auth-request-groups"], "netbird-users");
      assert.equal(h["x-forwarded-user"], undefined);
    });

    for (const [what, headers, status] of [
      ["no token", {}, 401],
      ["expired token", () => ({ authorization: `Bearer ${issuer.idToken({ claims: { exp: 1_000_000 } })}` }), 401],
      ["wrong group", () => ({ authorization: `Bearer ${issuer.idToken({ groups: ["guests"] })}` }), 403],
      ["personal access token", { authorization: "Token nbp_x" }, 401],
    ]) {
      test(`${what}: ${status} from the proxy, upstream untouched`, async () => {
        const before = upstream.seen.length;
        const r = await fetch(proxy.url + "/api/peers", { headers: { ...(typeof headers === "function" ? headers() : headers), ...SPOOF } });
        assert.equal(r.status, status);
        await r.arrayBuffer();
        assert.equal(upstream.seen.length, before);
      });
    }

    test("a bypass route (gRPC) passes without a token and without spoofed identity", async () => {
      const r = await fetch(proxy.url + "/management.ManagementService/GetServerKey", { method: "POST", headers: SPOOF, body: "x" });
      assert.equal(r.status, 200);
      const h = upstream.last().headers;
      // Absent (nginx drops empty values) or empty (Caddy copies the gate's empty headers): never spoofed.
      for (const name of ["x-auth-request-user", "x-auth-request-email", "x-auth-request-groups", "x-forwarded-user"]) {
        assert.equal(h[name] ?? "", "", `${name}: ${h[name]}`);
      }
    });
  });
}
