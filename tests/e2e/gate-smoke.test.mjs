// Smoke: the built Worker starts in workerd, loads the loopback issuer's keys and answers /_gate/healthz.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { withGate } from "../../tools/js/gate.mjs";
import { startIssuer } from "../../tools/js/issuer.mjs";

let issuer;
before(async () => { issuer = await startIssuer(); });
after(async () => { await issuer?.close(); });

test("healthz is 200 with the issuer's one key", () => withGate({ trust: issuer }, async (gate) => {
  const r = await gate.fetch("/_gate/healthz");
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body) + "\n" + gate.logs.join("\n") + JSON.stringify(issuer.state.requests));
  assert.equal(body.status, "ok");
  assert.equal(body.mode, "forward-auth");
  assert.deepEqual(body.issuers[0].kids, [issuer.key.kid]);
  assert.equal(issuer.count("/.well-known/openid-configuration"), 1);
}));
