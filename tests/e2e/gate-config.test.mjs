// Every configuration error in real workerd: /_gate/healthz names the variable and the fix, and every gated
// request (forward-auth and proxy) fails closed with 503 config_invalid.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withGate } from "../../tools/js/gate.mjs";

const GOOD = { ISSUER: "https://id.example.com", AUDIENCE: "netbird", ALLOW_GROUPS: "netbird-users", UPSTREAM: "http://127.0.0.1:9" };
const without = (k) => Object.fromEntries(Object.entries(GOOD).filter(([key]) => key !== k));

// [name, vars, variable named in healthz, words the message must contain]
const CASES = [
  ["ISSUER unset", without("ISSUER"), "ISSUER", "required"],
  ["AUDIENCE unset", without("AUDIENCE"), "AUDIENCE", "required"],
  ["ALLOW_GROUPS unset (never allow-all)", without("ALLOW_GROUPS"), "ALLOW_GROUPS", "never"],
  ["ALLOW_GROUPS empty", { ...GOOD, ALLOW_GROUPS: "" }, "ALLOW_GROUPS", "required"],
  ["ISSUER with a trailing slash", { ...GOOD, ISSUER: "https://id.example.com/" }, "ISSUER", "remove the trailing '/'"],
  ["ISSUER over plain http", { ...GOOD, ISSUER: "http://id.example.com" }, "ISSUER", "https"],
  ["ISSUER upper-case host", { ...GOOD, ISSUER: "https://ID.example.com" }, "ISSUER", "lower-case"],
  ["AUDIENCE with an empty item", { ...GOOD, AUDIENCE: "netbird,,cli" }, "AUDIENCE", "empty"],
  ["ALLOW_GROUPS mixing * and groups", { ...GOOD, ALLOW_GROUPS: "*,admins" }, "ALLOW_GROUPS", ""],
  ["DENY_GROUPS *", { ...GOOD, DENY_GROUPS: "*" }, "DENY_GROUPS", "deny everyone"],
  ["GROUPS_CLAIM with a space", { ...GOOD, GROUPS_CLAIM: "my groups" }, "GROUPS_CLAIM", "without spaces"],
  ["LEEWAY_SECONDS not a number", { ...GOOD, LEEWAY_SECONDS: "1m" }, "LEEWAY_SECONDS", "whole number"],
  ["LEEWAY_SECONDS too large", { ...GOOD, LEEWAY_SECONDS: "3600" }, "LEEWAY_SECONDS", "600"],
  ["JWKS_URI over plain http", { ...GOOD, JWKS_URI: "http://keys.example.com/jwks" }, "JWKS_URI", "https"],
  ["UPSTREAM with a path", { ...GOOD, UPSTREAM: "https://mgmt.internal/base" }, "UPSTREAM", "origin"],
  ["UPSTREAM not a URL", { ...GOOD, UPSTREAM: "mgmt.internal" }, "UPSTREAM", "absolute URL"],
  ["PERSONAL_ACCESS_TOKENS unknown", { ...GOOD, PERSONAL_ACCESS_TOKENS: "allow" }, "PERSONAL_ACCESS_TOKENS", "\"pass\""],
  ["DASHBOARD unknown", { ...GOOD, DASHBOARD: "open" }, "DASHBOARD", "\"protect\""],
  ["REALM with a quote", { ...GOOD, REALM: "a\"b" }, "REALM", "quotes"],
  ["ISSUERS not JSON", { UPSTREAM: GOOD.UPSTREAM, ISSUERS: "[{" }, "ISSUERS", "not valid JSON"],
  ["ISSUERS entry without allow_groups", { ISSUERS: JSON.stringify([{ issuer: "https://a.test", audiences: ["x"] }]) }, "ISSUERS", "allow_groups"],
  ["ISSUERS entry with a typo", { ISSUERS: JSON.stringify([{ issuer: "https://a.test", audiences: ["x"], allow_groups: "*", alow: 1 }]) }, "ISSUERS", "unknown member"],
  ["ISSUERS together with ISSUER", { ...GOOD, ISSUERS: JSON.stringify([{ issuer: "https://a.test", audiences: ["x"], allow_groups: "*" }]) }, "ISSUERS", "not both"],
  ["ROUTES not an array", { ...GOOD, ROUTES: "{}" }, "ROUTES", "array"],
  ["ROUTES unknown action", { ...GOOD, ROUTES: JSON.stringify([{ prefix: "/a", action: "allow" }]) }, "ROUTES", "action"],
  ["ROUTES prefix not normal", { ...GOOD, ROUTES: JSON.stringify([{ prefix: "/a/../b" }]) }, "ROUTES", "normal"],
  ["ROUTES with groups but no issuers, several issuers", {
    ISSUERS: JSON.stringify([{ issuer: "https://a.test", audiences: ["x"], allow_groups: "*" }, { issuer: "https://b.test", audiences: ["x"], allow_groups: "*" }]),
    ROUTES: JSON.stringify([{ prefix: "/api/users", allow_groups: ["admins"] }]),
  }, "ROUTES", "issuers"],
  ["FORWARDED_HEADERS unknown", { ...GOOD, FORWARDED_HEADERS: "x-forwarded" }, "FORWARDED_HEADERS", "nginx"],
  ["MAX_TOKEN_AGE too small", { ...GOOD, MAX_TOKEN_AGE: "10" }, "MAX_TOKEN_AGE", "86400"],
  ["KEYS_STALE_SECONDS not a number", { ...GOOD, KEYS_STALE_SECONDS: "6h" }, "KEYS_STALE_SECONDS", "whole number"],
  ["LOCAL_USERS unknown", { ...GOOD, LOCAL_USERS: "yes" }, "LOCAL_USERS", "\"allow\""],
];

for (const [name, vars, variable, words] of CASES) {
  test(`config error: ${name}`, () => withGate({ vars }, async (gate) => {
    const h = await gate.fetch("/_gate/healthz");
    const body = await h.json();
    assert.equal(h.status, 503);
    assert.equal(body.code, "config_invalid");
    const hit = body.errors.find((e) => e.setting === variable);
    assert.ok(hit, `healthz does not name ${variable}: ${JSON.stringify(body)}`);
    assert.ok(hit.message.includes(words), `message lacks ${words}: ${hit.message}`);
    for (const path of ["/_gate/auth", "/api/peers", "/"]) {
      const r = await gate.fetch(path, { headers: { authorization: "Bearer a.b.c", "x-forwarded-method": "GET", "x-forwarded-uri": "/api/x" } });
      assert.equal(r.status, 503, path);
      assert.equal((await r.json()).code, "config_invalid", path);
    }
  }));
}

// Finding 4 of the outside attack: the public healthz listed each invalid setting's value (`(got "…")`), so
// credentials in UPSTREAM or a secret in a JWKS_URI query were readable by anyone. Neither healthz nor the logs
// may contain any part of a rejected value.
const SECRET = "Sup3rS3cretValue";
test("healthz and the logs never echo a setting's value", () => withGate({ vars: {
  ...GOOD,
  UPSTREAM: `https://admin:${SECRET}@mgmt.internal/${SECRET}`,
  JWKS_URI: `https://id.example.com/jwks?token=${SECRET}`,
  ALLOW_GROUPS: `${SECRET},${SECRET}`,
} }, async (gate) => {
  const h = await gate.fetch("/_gate/healthz");
  const text = await h.text();
  assert.equal(h.status, 503);
  assert.deepEqual(JSON.parse(text).errors.map((e) => e.setting).sort(), ["ALLOW_GROUPS", "JWKS_URI", "UPSTREAM"]);
  for (const path of ["/_gate/auth", "/api/peers"]) {
    const r = await gate.fetch(path, { headers: { "x-forwarded-method": "GET", "x-forwarded-uri": "/api/x" } });
    assert.ok(!(await r.text()).includes(SECRET), path);
  }
  assert.ok(!text.toLowerCase().includes(SECRET.toLowerCase()), `healthz echoes a value: ${text}`);
  const logs = gate.logs.join("\n");
  assert.ok(logs.length > 0, "the gate logged nothing to check");
  assert.ok(!logs.includes(SECRET), "a log line echoes a value");
}));

test("several mistakes are all listed", () => withGate({ vars: { ISSUER: "https://x.test/", LEEWAY_SECONDS: "x" } }, async (gate) => {
  const body = await (await gate.fetch("/_gate/healthz")).json();
  assert.deepEqual(body.errors.map((e) => e.setting).sort(), ["ALLOW_GROUPS", "AUDIENCE", "ISSUER", "LEEWAY_SECONDS"]);
}));
