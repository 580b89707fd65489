// Two issuers sharing a group name, in real workerd (finding 3 of the outside attack): a route's group names used
// to match the groups of any trusted issuer, so one issuer's `admins` satisfied a rule written for another's. Now a
// route rule with groups must name its issuers when several are trusted, a token of another issuer is refused on
// it (403 issuer_not_allowed_here), and an issuer's DENY list holds on routes with their own allow list.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { authAt, withGate } from "../../tools/js/gate.mjs";
import { startIssuer } from "../../tools/js/issuer.mjs";

let pocketid, other;
before(async () => {
  pocketid = await startIssuer({ label: "pocketid" });
  other = await startIssuer({ label: "other" });
});
after(async () => {
  await pocketid?.close();
  await other?.close();
});

const issuers = () => JSON.stringify([
  { issuer: pocketid.url, audiences: "netbird", allow_groups: "netbird-users", deny_groups: "contractors" },
  { issuer: other.url, audiences: "netbird", allow_groups: "netbird-users" },
]);

/** A gate trusting both issuers with `routes`, for `fn(gate)`. */
const gateWith = (routes, fn) => withGate({ vars: { ISSUERS: issuers(), ROUTES: JSON.stringify(routes) } }, fn);

/** `method uri` with `token`: { status, code, text }. */
const auth = (gate, token, method, uri) => authAt(gate, { token, method, uri });

test("a group rule without `issuers` is a configuration error when several issuers are trusted", () =>
  // The configuration the attack used: on the old gate, `other`'s admins passed this rule.
  gateWith([{ prefix: "/api/users", methods: ["DELETE"], allow_groups: ["admins"] }], async (gate) => {
    const h = await gate.fetch("/_gate/healthz");
    const body = await h.json();
    assert.equal(h.status, 503);
    const routes = body.errors.find((e) => e.setting === "ROUTES");
    assert.ok(routes && routes.message.includes("issuers"), JSON.stringify(body));
    const r = await auth(gate, other.idToken({ name: "mallory", groups: ["admins"] }), "DELETE", "/api/users/x");
    assert.equal(r.status, 503, r.text);
    assert.equal(r.code, "config_invalid");
  }));

test("a rule bound to one issuer refuses the other issuer's `admins`, and admits its own", () =>
  gateWith([{ prefix: "/api/users", methods: ["DELETE"], allow_groups: ["admins"], issuers: [pocketid.url] }], async (gate) => {
    const mallory = await auth(gate, other.idToken({ name: "mallory", groups: ["admins"] }), "DELETE", "/api/users/x");
    assert.deepEqual([mallory.status, mallory.code], [403, "issuer_not_allowed_here"], mallory.text);
    const alice = await auth(gate, pocketid.idToken({ name: "alice", groups: ["admins"] }), "DELETE", "/api/users/x");
    assert.equal(alice.status, 200, alice.text);
    // Elsewhere each issuer's own default rule applies: `other`'s netbird-users read their own API.
    const reader = await auth(gate, other.idToken({ name: "rita", groups: ["netbird-users"] }), "GET", "/api/users");
    assert.equal(reader.status, 200, reader.text);
  }));

test("`issuers: \"*\"` states that every issuer's groups of that name pass; the issuer's deny list still holds", () =>
  gateWith([{ prefix: "/api/users", methods: ["DELETE"], allow_groups: ["admins"], issuers: "*" }], async (gate) => {
    const otherAdmin = await auth(gate, other.idToken({ name: "olga", groups: ["admins"] }), "DELETE", "/api/users/x");
    assert.equal(otherAdmin.status, 200, otherAdmin.text);
    // pocketid's DENY_GROUPS (contractors) hold on a route with its own allow list.
    const contractor = pocketid.idToken({ name: "carl", groups: ["admins", "contractors"] });
    const r = await auth(gate, contractor, "DELETE", "/api/users/x");
    assert.deepEqual([r.status, r.code], [403, "group_denied"], r.text);
  }));
