// A loopback stand-in for PocketID (test and demo tool, NOT an identity provider): discovery and JWKS exactly
// as PocketID serves them (one key, 11-character kid, `Cache-Control: private, no-store`) and tokens of the
// three shapes PocketID signs with that key (ID token, OAuth access token, its own session token).
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign as nodeSign } from "node:crypto";
import { createServer } from "node:http";

const b64u = (buf) => Buffer.from(buf).toString("base64url");
const json64 = (v) => (typeof v === "string" ? b64u(v) : b64u(JSON.stringify(v)));

const HASH = { RS256: "sha256", RS384: "sha384", RS512: "sha512", ES256: "sha256", ES384: "sha384", ES512: "sha512" };

/** A fresh signing key the way `pocket-id key-rotate` makes one. */
export function newKey(alg = "RS256") {
  const kid = b64u(randomBytes(8)); // 11 characters, like PocketID
  const { privateKey, publicKey } = alg.startsWith("RS")
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : alg === "EdDSA"
      ? generateKeyPairSync("ed25519")
      : generateKeyPairSync("ec", { namedCurve: { ES256: "P-256", ES384: "P-384", ES512: "P-521" }[alg] });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg, use: "sig" };
  return { alg, kid, privateKey, publicKey, jwk };
}

/** Sign a compact JWS. `header`/`payload` may be objects or raw strings (for malformed cases). */
export function signJws(key, header, payload, alg = key.alg) {
  const input = `${json64(header)}.${json64(payload)}`;
  let sig;
  if (alg === "EdDSA") sig = nodeSign(null, Buffer.from(input), key.privateKey);
  else if (alg.startsWith("ES")) sig = nodeSign(HASH[alg], Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  else sig = nodeSign(HASH[alg], Buffer.from(input), key.privateKey);
  return `${input}.${b64u(sig)}`;
}

export async function startIssuer({ clientId = "netbird", delayMs = 0, port = 0, label = "test" } = {}) {
  // `fault(path)` (see `issuer.fault`) may answer instead: { status, body, headers, delayMs, destroy, stream }.
  const state = { keys: [newKey()], outage: false, delayMs, requests: [], fault: null };
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    state.requests.push({ method: req.method, path });
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { "content-type": "application/json", "access-control-allow-origin": "*", ...headers });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    if (state.outage) return send(503, { error: "down" });
    const f = state.fault?.(path);
    if (f) {
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      if (f.destroy) return req.socket.destroy();
      if (f.stream) return f.stream(req, res);
      return send(f.status ?? 200, f.body ?? "", f.headers);
    }
    if (path === "/.well-known/openid-configuration" || path === "/.well-known/oauth-authorization-server") {
      return send(200, discovery(issuer.url, state.keys[0].alg));
    }
    if (path === "/.well-known/jwks.json") {
      if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
      return send(200, { keys: state.keys.map((k) => k.jwk) }, { "cache-control": "private, no-store" });
    }
    send(404, { error: "not found" });
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const now = () => Math.floor(Date.now() / 1000);
  const user = (name, groups) => ({
    sub: createHash("sha256").update(name).digest("hex").slice(0, 32),
    email: `${name}@example.com`, preferred_username: name, name, groups,
  });

  const issuer = {
    url, label, clientId, state, server,
    get key() { return state.keys[0]; },
    count: (path) => state.requests.filter((r) => r.path === path).length,
    jwksFetches: () => issuer.count("/.well-known/jwks.json"),
    /** Replace the key (PocketID keeps exactly one: old tokens stop verifying). Returns the old key. */
    rotate(alg = "RS256") { const old = state.keys[0]; state.keys = [newKey(alg)]; return old; },
    outage(on) { state.outage = on; },
    /** Answer requests with `fn(path)` → {status, body, headers, delayMs, destroy, stream(req, res)} (undefined: normal
     * answer); null clears. */
    fault(fn) { state.fault = fn; },
    /** The JWKS document the issuer would serve now. */
    jwks: () => ({ keys: state.keys.map((k) => k.jwk) }),
    /** Stop listening (connections refused) until `up()`, which listens again on the same port. */
    down: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
    up: () => new Promise((r, j) => { server.once("error", j); server.listen(Number(new URL(url).port), "127.0.0.1", r); }),
    user,
    /** A PocketID ID token (v2.10+ shape) for `who` ({name, groups}), with claim/header overrides. */
    idToken({ name = "alice", groups = ["netbird-users"], claims = {}, header = {}, key = state.keys[0], alg } = {}) {
      const t = now();
      const payload = {
        amr: ["phr"], aud: [clientId], auth_time: t, display_name: name, email_verified: true,
        exp: t + 3600, family_name: "Doe", given_name: name, iat: t, iss: url, jti: b64u(randomBytes(8)),
        nonce: "n-0S6_WzA2Mj", rat: t - 10, type: "id-token", ...user(name, groups), ...claims,
      };
      for (const [k, v] of Object.entries(claims)) if (v === undefined) delete payload[k];
      const h = { alg: alg ?? key.alg, kid: key.kid, typ: "JWT", ...header };
      for (const [k, v] of Object.entries(header)) if (v === undefined) delete h[k];
      return signJws(key, h, payload, alg ?? key.alg);
    },
    /** A PocketID OAuth access token (RFC 9068): `typ: at+jwt`, no groups. */
    accessToken() {
      const t = now();
      return signJws(state.keys[0], { alg: "RS256", kid: state.keys[0].kid, typ: "at+jwt" }, {
        iss: url, sub: user("alice").sub, aud: [clientId, url], client_id: clientId, jti: "a", iat: t, exp: t + 3600,
        scope: "openid profile email groups", scp: ["openid"],
      });
    },
    /** PocketID's own admin-UI session token: `aud` = `iss`, `type: access-token`. */
    sessionToken() {
      const t = now();
      return signJws(state.keys[0], { alg: "RS256", kid: state.keys[0].kid, typ: "JWT" }, {
        iss: url, sub: user("alice").sub, aud: [url], iat: t, exp: t + 3600, type: "access-token", isAdmin: true,
      });
    },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
  return issuer;
}

/** Start an issuer with `options` (startIssuer), run `fn(issuer)`, and close it whatever `fn` does. */
export async function withIssuer(options, fn) {
  const issuer = await startIssuer(options);
  try {
    return await fn(issuer);
  } finally {
    await issuer.close();
  }
}

/** PocketID's discovery document (v2.14 field set). */
export function discovery(base, alg) {
  return {
    issuer: base,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/api/oidc/token`,
    userinfo_endpoint: `${base}/api/oidc/userinfo`,
    end_session_endpoint: `${base}/api/oidc/end-session`,
    introspection_endpoint: `${base}/api/oidc/introspect`,
    device_authorization_endpoint: `${base}/api/oidc/device/authorize`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    scopes_supported: ["openid", "profile", "email", "groups", "offline_access"],
    claims_supported: ["sub", "given_name", "family_name", "name", "email", "email_verified", "preferred_username", "picture", "groups"],
    response_types_supported: ["code", "id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [alg],
    grant_types_supported: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
    code_challenge_methods_supported: ["plain", "S256"],
  };
}

export { b64u, createPublicKey };
