// Forward-auth (/_gate/auth) in real workerd against the loopback PocketID-shaped issuer: the core's security
// catalogue through HTTP, each case asserting the status and the stable code.
import assert from "node:assert/strict";
import { generateKeyPairSync, createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { authAt, startGate, trusting, withGate } from "../../tools/js/gate.mjs";
import { b64u, newKey, signJws, startIssuer } from "../../tools/js/issuer.mjs";

let issuer, gate;
before(async () => {
  issuer = await startIssuer();
  gate = await startGate({ ...trusting(issuer), LOG: "all" });
});
after(async () => { await gate?.dispose(); await issuer?.close(); });

const URI = "/api/peers?x=1";

/** GET `URI` with `token` (`scheme`), through a forward-auth call made with `method`: { status, headers, text, json }. */
const auth = (token, { headers, scheme, method } = {}) => authAt(gate, { uri: URI, token, scheme, headers, via: method });

async function denied(token, status, code, opts) {
  const r = await auth(token, opts);
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.code, code, r.text);
  assert.equal(typeof r.json.message, "string");
  if (typeof token === "string" && token.includes(".")) {
    for (const part of token.split(".").filter((p) => p.length > 8)) assert.ok(!r.text.includes(part), "body echoes the token");
  }
  if (status === 401) {
    assert.equal(r.headers.get("www-authenticate"),
      token === undefined ? 'Bearer realm="pocketgate"' : 'Bearer realm="pocketgate", error="invalid_token"');
  } else {
    assert.equal(r.headers.get("www-authenticate"), null);
  }
  assert.equal(r.headers.get("x-auth-request-user"), null);
  return r;
}

const now = () => Math.floor(Date.now() / 1000);
const seg = (v) => b64u(JSON.stringify(v));

describe("allowed users", () => {
  test("an ID token of an allowed group: 200 with identity headers", async () => {
    const r = await auth(issuer.idToken({ name: "alice", groups: ["netbird-users", "dev ops"] }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-auth-request-user"), issuer.user("alice").sub);
    assert.equal(r.headers.get("x-auth-request-email"), "alice@example.com");
    assert.equal(r.headers.get("x-auth-request-preferred-username"), "alice");
    assert.equal(r.headers.get("x-auth-request-groups"), "netbird-users,dev ops");
  });
  test("long headers arrive whole: a 10 KB token with 300 groups, then a short one again", async () => {
    const groups = Array.from({ length: 299 }, (_, i) => `team-${String(i).padStart(3, "0")}-${"x".repeat(12)}`).concat("netbird-users");
    const long = issuer.idToken({ name: "dave", groups });
    assert.ok(long.length > 10_000, `${long.length}`);
    const r = await auth(long);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-auth-request-groups"), groups.join(","));
    const short = await auth(issuer.idToken({ name: "erin" }));
    assert.equal(short.status, 200);
    assert.equal(short.headers.get("x-auth-request-user"), issuer.user("erin").sub);
  });
  test("scheme is case-insensitive; HEAD works", async () => {
    assert.equal((await auth(issuer.idToken(), { scheme: "bEARER" })).status, 200);
    assert.equal((await auth(issuer.idToken(), { method: "HEAD" })).status, 200);
  });
  test("≤v2.9 string aud is accepted", async () => {
    assert.equal((await auth(issuer.idToken({ claims: { aud: "netbird" } }))).status, 200);
  });
  test("a group name with a comma stays one group: `,` inside a name is sent as %2C", async () => {
    const r = await auth(issuer.idToken({ name: "eve", groups: ["x,admins", "netbird-users", "50%"] }));
    assert.equal(r.status, 200, r.text);
    const header = r.headers.get("x-auth-request-groups");
    assert.equal(header, "x%2Cadmins,netbird-users,50%25");
    assert.deepEqual(header.split(",").map(decodeURIComponent), ["x,admins", "netbird-users", "50%"]);
    assert.ok(!header.split(",").includes("admins"), "a downstream split saw an admins group");
  });
  test("client-sent identity headers do not leak into the answer", async () => {
    const r = await auth(issuer.idToken({ name: "bob" }), { headers: { "x-auth-request-user": "root", "x-auth-request-groups": "admins" } });
    assert.equal(r.headers.get("x-auth-request-user"), issuer.user("bob").sub);
    assert.equal(r.headers.get("x-auth-request-groups"), "netbird-users");
  });
  test("a repeated token is answered from the verified-token cache (cached from its second verification)", async () => {
    const t = issuer.idToken({ name: "carol" });
    for (let i = 0; i < 3; i++) assert.equal((await auth(t)).status, 200);
    const lines = gate.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter((l) => l?.event === "request" && l.decision === "allow");
    assert.ok(lines.some((l) => l.cached === true), "no cached verdict in the logs");
    assert.ok(!gate.logs.some((l) => l.includes(t.split(".")[1])), "a token reached the logs");
  });
});

describe("refused", () => {
  test("no token: 401 without error=", () => denied(undefined, 401, "token_missing"));
  test("other scheme: 401 invalid_token", () => denied("dXNlcjpwdw==", 401, "token_missing", { scheme: "Basic" }));
  test("wrong group: 403", () => denied(issuer.idToken({ groups: ["guests"] }), 403, "group_not_allowed"));
  test("no groups: 403", () => denied(issuer.idToken({ groups: [] }), 403, "groups_missing"));
  test("groups claim absent: 403", () => denied(issuer.idToken({ claims: { groups: undefined } }), 403, "groups_missing"));
  test("case matters in group names", () => denied(issuer.idToken({ groups: ["NetBird-Users"] }), 403, "group_not_allowed"));
  test("expired", () => denied(issuer.idToken({ claims: { exp: now() - 3600, iat: now() - 7200 } }), 401, "token_expired"));
  test("not yet valid", () => denied(issuer.idToken({ claims: { nbf: now() + 3600 } }), 401, "token_not_yet_valid"));
  test("issued in the future", () => denied(issuer.idToken({ claims: { iat: now() + 3600 } }), 401, "token_issued_in_future"));
  test("wrong audience", () => denied(issuer.idToken({ claims: { aud: ["other-client"] } }), 401, "audience_mismatch"));
  test("untrusted issuer", () => denied(issuer.idToken({ claims: { iss: "https://evil.example.com" } }), 401, "issuer_not_trusted"));
  test("issuer with a trailing slash", () => denied(issuer.idToken({ claims: { iss: issuer.url + "/" } }), 401, "issuer_not_trusted"));
  test("OAuth access token (typ at+jwt)", () => denied(issuer.accessToken(), 401, "token_type_not_accepted"));
  test("PocketID session token", async () => {
    const r = await auth(issuer.sessionToken());
    assert.equal(r.status, 401);
    assert.ok(["audience_mismatch", "token_type_not_accepted"].includes(r.json.code), r.text);
  });
  test("alg none", () => denied(`${seg({ alg: "none", typ: "JWT" })}.${issuer.idToken().split(".")[1]}.`, 401, "alg_not_allowed"));
  test("alg none with a signature", () => denied(`${seg({ alg: "none" })}.${issuer.idToken().split(".")[1]}.${b64u("x")}`, 401, "alg_not_allowed"));
  test("HS256 signed with the public key (RS/HS confusion)", async () => {
    const payload = issuer.idToken().split(".")[1];
    const input = `${seg({ alg: "HS256", kid: issuer.key.kid })}.${payload}`;
    const pem = issuer.key.publicKey.export({ format: "pem", type: "spki" });
    await denied(`${input}.${b64u(createHmac("sha256", pem).update(input).digest())}`, 401, "alg_not_allowed");
  });
  test("key embedded in the header (jwk) is not trusted", async () => {
    const evil = newKey();
    await denied(issuer.idToken({ key: evil, header: { kid: issuer.key.kid, jwk: evil.jwk } }), 401, "signature_invalid");
  });
  test("jku / x5u are never fetched", async () => {
    const evil = newKey();
    const before = issuer.state.requests.length;
    await denied(issuer.idToken({ key: evil, header: { jku: `${issuer.url}/evil-jku`, x5u: `${issuer.url}/evil-x5u` } }), 401, "key_not_found");
    const ok = await auth(issuer.idToken({ header: { jku: `${issuer.url}/evil-jku` } }));
    assert.equal(ok.status, 200, "jku is ignored, the issuer's key decides");
    assert.ok(!issuer.state.requests.slice(before).some((r) => r.path.startsWith("/evil")), "jku/x5u fetched");
  });
  test("crit", () => denied(issuer.idToken({ header: { crit: ["exp"] } }), 401, "crit_unsupported"));
  test("nested JWT (cty: JWT)", () => denied(issuer.idToken({ header: { cty: "JWT" } }), 401, "nested_jwt"));
  test("oversized token", () => denied(issuer.idToken({ claims: { pad: "x".repeat(40_000) } }), 401, "token_too_large"));
  test("duplicate JSON keys", async () => {
    const good = issuer.idToken();
    const payload = Buffer.from(good.split(".")[1], "base64url").toString().replace(/^\{/, `{"sub":"mallory",`);
    await denied(signJws(issuer.key, { alg: "RS256", kid: issuer.key.kid, typ: "JWT" }, payload), 401, "token_duplicate_key");
  });
  test("non-canonical base64url", async () => {
    const [h, p, s] = issuer.idToken().split(".");
    // RSA-2048 signatures are 256 bytes = 341.33 chars: the last char carries 4 unused bits; set one.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet[alphabet.indexOf(s.at(-1)) | 1];
    await denied(`${h}.${p}.${s.slice(0, -1)}${last}`, 401, "token_base64");
  });
  test("tampered payload", async () => {
    const [h, , s] = issuer.idToken({ groups: ["guests"] }).split(".");
    const p = issuer.idToken({ groups: ["netbird-users"] }).split(".")[1];
    await denied(`${h}.${p}.${s}`, 401, "signature_invalid");
  });
  test("tampered signature", async () => {
    const [h, p, s] = issuer.idToken().split(".");
    const sig = Buffer.from(s, "base64url");
    sig[10] ^= 1;
    await denied(`${h}.${p}.${b64u(sig)}`, 401, "signature_invalid");
  });
  test("garbage", () => denied("not-a-jwt", 401, "token_malformed"));
  test("unknown kid", () => denied(issuer.idToken({ key: newKey() }), 401, "key_not_found"));
  test("wrong key type for alg (ES256 header on the RSA kid)", async () => {
    const ec = newKey("ES256");
    await denied(issuer.idToken({ key: ec, header: { kid: issuer.key.kid } }), 401, "key_mismatch");
  });
  test("personal access token: denied by default", () => denied("nbp_abcdef", 401, "pat_not_allowed", { scheme: "Token" }));
});

describe("routes seen through the proxy's headers", () => {
  test("a bypass route answers 200 with empty identity headers", async () => {
    const r = await authAt(gate, { method: "POST", uri: "/management.ManagementService/Login" });
    assert.equal(r.status, 200);
    for (const h of ["user", "email", "preferred-username", "groups"]) assert.equal(r.headers.get(`x-auth-request-${h}`), "", h);
  });
  test("nginx's X-Original-URI is read too", async () => {
    const r = await gate.fetch("/_gate/auth", { headers: { "x-original-uri": "/relay", "x-original-method": "GET" } });
    assert.equal(r.status, 200, "relay bypasses");
  });
  test("no forwarding headers: 400 forwarded_headers_incomplete (never a bypass, never GET by default)", async () => {
    const r = await gate.fetch("/_gate/auth");
    assert.equal(r.status, 400);
    assert.equal((await r.json()).code, "forwarded_headers_incomplete");
  });
  test("dot-segment tricks do not reach a bypass", async () => {
    const r = await gate.fetch("/_gate/auth", { headers: { "x-forwarded-method": "GET", "x-forwarded-uri": "/relay/%2e%2e/api/peers" } });
    assert.equal(r.status, 401);
  });
  test("POST to /_gate/auth is 405", async () => {
    const r = await gate.fetch("/_gate/auth", { method: "POST" });
    assert.equal(r.status, 405);
    assert.equal((await r.json()).code, "method_not_allowed");
  });
  test("an unknown /_gate/ path, and any other path without UPSTREAM, are 404 not_found", async () => {
    for (const path of ["/_gate/nope", "/api/peers"]) {
      const r = await gate.fetch(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.headers.get("cache-control"), "no-store", path);
      assert.equal((await r.json()).code, "not_found", path);
    }
  });
});

// Issue 20: NetBird's management server serves these without a token (management/server/http/handler.go:67-83);
// on main the gate refused them (401), so first-run setup, invites and the NetBird Proxy's login broke behind it.
describe("NetBird's public API paths (PUBLIC_API)", () => {
  const open = [
    ["GET", "/api/instance"], ["OPTIONS", "/api/instance"], ["POST", "/api/setup"],
    ["GET", "/api/users/invites/nbi_3xAmPlE"], ["POST", "/api/users/invites/nbi_3xAmPlE/accept"],
    ["GET", "/api/reverse-proxy/callback?state=s&code=c"],
  ];
  const closed = [
    ["HEAD", "/api/instance"], ["GET", "/api/instance/version"], ["GET", "/api/instance/"], ["GET", "/api/Instance"],
    ["GET", "/api/setup"], ["DELETE", "/api/users/invites/nbi_3xAmPlE"], ["GET", "/api/users/invites/nbi_x/accept"],
    ["POST", "/api/users/invites/nbi_a/b/accept"], ["OPTIONS", "/api/reverse-proxy/callback"],
  ];
  test("by default they pass without a token (empty identity), for their handlers' methods only", async () => {
    for (const [method, uri] of open) {
      const r = await authAt(gate, { method, uri });
      assert.equal(r.status, 200, `${method} ${uri}: ${r.text}`);
      assert.equal(r.user, "", `${method} ${uri}`);
    }
    for (const [method, uri] of closed) {
      const r = await authAt(gate, { method, uri });
      assert.ok([400, 401].includes(r.status), `${method} ${uri}: ${r.status} ${r.text}`);
      assert.equal(r.code, r.status === 400 ? "path_ambiguous" : "token_missing", `${method} ${uri}`);
    }
  });
  test("PUBLIC_API=gate: they need a token like the rest of /api", () => withGate({ trust: issuer, vars: { PUBLIC_API: "gate" } }, async (gated) => {
    for (const [method, uri] of open) {
      const r = await authAt(gated, { method, uri });
      assert.equal(r.status, 401, `${method} ${uri}: ${r.text}`);
      assert.equal(r.code, "token_missing");
    }
    assert.equal((await authAt(gated, { uri: "/api/instance", token: issuer.idToken() })).status, 200);
  }));
  test("another PUBLIC_API value fails closed (503 config_invalid) and healthz names it", () => withGate({ trust: issuer, vars: { PUBLIC_API: "open" } }, async (bad) => {
    const r = await authAt(bad, { uri: "/api/instance" });
    assert.equal(r.status, 503);
    assert.equal(r.code, "config_invalid");
    const health = await (await bad.fetch("/_gate/healthz")).json();
    assert.deepEqual(health.errors.map((e) => e.setting), ["PUBLIC_API"]);
    assert.ok(!JSON.stringify(health).includes("open\""), "never the value");
  }));
});

describe("LOG_LIMIT", () => {
  test("a burst of refusals writes at most LOG_LIMIT lines per second, then reports the dropped ones", () => withGate({ trust: issuer, vars: { LOG_LIMIT: "1" } }, async (limited) => {
    const parsed = () => limited.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) assert.equal((await authAt(limited, { uri: URI })).status, 401);
    const seconds = Math.ceil((Date.now() - t0) / 1000) + 1; // whole seconds the burst can touch
    await new Promise((r) => setTimeout(r, 1100)); // a new second: the next refusal carries the summary
    assert.equal((await authAt(limited, { uri: URI })).status, 401);
    for (let i = 0; i < 100 && !parsed().some((l) => l.event === "log_suppressed"); i++) await new Promise((r) => setTimeout(r, 20));
    const lines = parsed();
    const requests = lines.filter((l) => l.event === "request");
    const dropped = lines.filter((l) => l.event === "log_suppressed").reduce((n, l) => n + l.lines, 0);
    assert.ok(requests.length <= seconds + 1, `${requests.length} request lines in ${seconds} s: ${JSON.stringify(lines)}`);
    assert.ok(requests.length >= 2, JSON.stringify(lines));
    assert.equal(requests.length + dropped, 21, "every refusal is either written or counted");
  }));
});

describe("LOG unset (deny, the default)", () => {
  test("logs refusals and key fetches, not allowed requests", () => withGate({ trust: issuer }, async (quiet) => {
    const ok = await authAt(quiet, { uri: URI, token: issuer.idToken({ name: "alice" }) });
    assert.equal(ok.status, 200);
    const no = await authAt(quiet, { uri: URI });
    assert.equal(no.status, 401);
    const parsed = () => quiet.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
    // Log lines arrive on workerd's stdout after the answer: wait for the refusal's line (the later request).
    for (let i = 0; i < 100 && !parsed().some((l) => l.event === "request" && l.decision === "deny"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const lines = parsed();
    const requests = lines.filter((l) => l.event === "request");
    assert.deepEqual(requests.map((l) => [l.decision, l.code, l.status]), [["deny", "token_missing", 401]], JSON.stringify(lines));
    assert.ok(lines.some((l) => l.event === "key_fetch" && l.ok === true), "no key_fetch line");
  }));
});
