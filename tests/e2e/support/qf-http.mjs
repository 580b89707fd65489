// The QuFabric (NetBird) stand-ins' HTTP/1.1 side: the REST API's answer, the embedded IdP (Dex's discovery
// document, key set and ID tokens, NetBird idp/dex/provider.go), the dashboard's static files, WebSocket echoes,
// and how a Go server reads a request target (the decoded `URL.Path` NetBird's handlers switch on).
import { discovery, newKey, signJws } from "../../../tools/js/issuer.mjs";
import { toolRequire } from "../../../tools/js/env.mjs";

const { WebSocketServer } = toolRequire("ws");

/** What the dashboard's `/` serves. */
export const DASHBOARD_HTML = "<!doctype html><title>QuFabric dashboard (stand-in)</title>\n";

/** Dex's `sub`: standard base64 without padding of protobuf {1: user id, 2: connector id}. */
export function dexSubject(userId, connectorId) {
  const field = (tag, s) => [tag, Buffer.byteLength(s), ...Buffer.from(s)];
  return Buffer.from([...field(0x0a, userId), ...field(0x12, connectorId)]).toString("base64").replace(/=+$/, "");
}

/**
 * Go's `URL.Path` for a request target: the path before `?`, percent-decoded once (net/url unescape). A bad escape
 * is null: Go's server answers 400 before any handler runs.
 */
export function goPath(target) {
  const raw = target.split("?")[0];
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) return null;
  return raw.replace(/%([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * The embedded IdP (Dex inside NetBird's combined server) for `issuer` (its public URL, e.g.
 * https://netbird.example.com/oauth2, as config.yaml `auth.issuer`): `handle(path, res)` answers the discovery
 * document and the key set (`{issuer}/keys`) when `path` (Go's URL.Path) is one of them and returns true;
 * `token(…)` mints a Dex ID token.
 */
export function dexIdp(issuer) {
  const key = newKey("RS256");
  const base = new URL(issuer).pathname.replace(/\/$/, "");
  return {
    issuer, key,
    handle(path, res) {
      const json = (body) => { res.writeHead(200, { "content-type": "application/json" }); res.end(JSON.stringify(body)); };
      if (path === `${base}/.well-known/openid-configuration`) { json({ ...discovery(issuer, "RS256"), jwks_uri: `${issuer}/keys` }); return true; }
      if (path === `${base}/keys`) { json({ keys: [key.jwk] }); return true; }
      return false;
    },
    /** A Dex ID token: the local connector's owner by default; `groups` only when non-empty. */
    token({ userId = "owner-0001", connector = "local", groups = [], aud = "netbird-dashboard", email = "owner@example.com" } = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer, sub: dexSubject(userId, connector), aud, exp: now + 86400, iat: now, nonce: "7d3c0d5b9a",
        at_hash: "u0K0GkM6lU9d2Sx0LyQ3nw", email, email_verified: true, name: userId, preferred_username: userId,
        federated_claims: { connector_id: connector, user_id: userId },
      };
      if (groups.length) payload.groups = groups;
      return signJws(key, { alg: "RS256", kid: key.kid, typ: "JWT" }, payload);
    },
  };
}

/** The REST API's answer: JSON naming what arrived (method, target, the gate's identity headers). */
export function restAnswer(req, res, status = 200) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ method: req.method, path: req.url, user: req.headers["x-auth-request-user"] ?? null,
    groups: req.headers["x-auth-request-groups"] ?? null }));
}

/** The dashboard's answer (an SPA: every path is its index page). */
export function dashboardAnswer(res) {
  res.writeHead(200, { "content-type": "text/html" });
  res.end(DASHBOARD_HTML);
}

/** A plain-text answer with `status`. */
export function textAnswer(res, status, text) {
  res.writeHead(status, { "content-type": "text/plain" });
  res.end(text);
}

const wss = new WebSocketServer({ noServer: true });
/** Accept a WebSocket upgrade and echo each message prefixed with `path` (`/relay:ping`). */
export function acceptEcho(req, socket, head, path) {
  wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (data) => ws.send(`${path}:${data}`)));
}

/** Open a WebSocket at `url` (ws://…), send `text`, resolve with the first answer; rejects on error or 5 s. */
export function wsEcho(url, text) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => { ws.close(); reject(new Error(`${url}: no answer in 5 s`)); }, 5000);
    ws.onopen = () => ws.send(text);
    ws.onmessage = (e) => { clearTimeout(timer); resolve(String(e.data)); ws.close(); };
    ws.onerror = (e) => { clearTimeout(timer); reject(new Error(`${url}: ${e.message ?? "WebSocket error"}`)); };
  });
}
