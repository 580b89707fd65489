// Clients of a public host name served on loopback: they connect to the proxy's loopback address, send the public
// name as SNI and Host (or :authority), verify the certificate against the run's test CA (tools/js/testca.mjs),
// and connect from a chosen loopback source address so an upstream's view of the client's IP can be asserted.
// Paths are sent exactly as given (no normalisation by the client), as an attacker would send them.
import { request as httpRequest } from "node:http";
import { connect as h2connect } from "node:http2";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { toolRequire } from "./env.mjs";

/** Collect a Node response into `{ status, headers, text, json }`. */
function collect(res, resolve, extra = {}) {
  const chunks = [];
  res.on("data", (c) => chunks.push(c));
  res.on("end", () => {
    const text = Buffer.concat(chunks).toString();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON: a proxy's own page */ }
    resolve({ status: res.statusCode, headers: res.headers, text, json, ...extra });
  });
}

/**
 * A client of `host` (the public name) served at `address` (HTTPS on `port`, plain HTTP on `httpPort`), trusting
 * `ca` (PEM), connecting from `from` (a loopback address; default: the kernel's choice). Every call opens its own
 * connection. Returns:
 * - `url`: `https://host` (`:port` when not 443);
 * - `request(path, { method, headers, body, alpn })`: one HTTP/1.1 request over TLS → `{ status, headers, text,
 *   json, alpn }`; `alpn` (default `["http/1.1"]`) is what the client offers;
 * - `plain(path, …)`: the same over plain HTTP to `httpPort`;
 * - `h2(path, { method, headers, body })`: one HTTP/2 request over TLS (ALPN h2) → `{ status, headers, text,
 *   json, alpn }`;
 * - `tls({ alpn, servername })`: the TLS handshake alone → `{ authorized, error, alpn, subject, altNames }`;
 * - `ws(path, { headers })`: a WebSocket (npm `ws`) over TLS, opened → `{ send(text) → first answer, close() }`;
 * - `wsEcho(path, text)`: open, send `text`, resolve with the first answer, close (5 s bound).
 */
export function publicClient({ host, address, port = 443, httpPort = 80, ca, from }) {
  const authority = port === 443 ? host : `${host}:${port}`;
  const tlsBase = { host: address, port, servername: host, ca, localAddress: from };
  const request = (path, { method = "GET", headers = {}, body, alpn = ["http/1.1"], timeoutMs = 10_000 } = {}) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ ...tlsBase, method, path, agent: false, ALPNProtocols: alpn,
        headers: { host: authority, connection: "close", ...headers } }, (res) => collect(res, resolve, { alpn: res.socket?.alpnProtocol ?? null }));
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  const plain = (path, { method = "GET", headers = {}, body } = {}) => new Promise((resolve, reject) => {
    const req = httpRequest({ host: address, port: httpPort, localAddress: from, method, path, agent: false,
      headers: { host, connection: "close", ...headers } }, (res) => collect(res, resolve));
    req.on("error", reject);
    req.end(body);
  });
  const h2 = (path, { method = "GET", headers = {}, body, timeoutMs = 10_000 } = {}) => new Promise((resolve, reject) => {
    const session = h2connect(`https://${authority}`, {
      createConnection: () => tlsConnect({ ...tlsBase, ALPNProtocols: ["h2"] }),
    });
    session.on("error", reject);
    const req = session.request({ ":method": method, ":path": path, ":authority": authority, ...headers });
    const timer = setTimeout(() => { session.destroy(); reject(new Error(`h2 ${method} ${path}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
    let head = {};
    req.on("response", (h) => { head = h; });
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("error", (e) => { clearTimeout(timer); session.destroy(); reject(e); });
    req.on("end", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString();
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      const alpn = session.alpnProtocol;
      session.close();
      resolve({ status: head[":status"], headers: head, text, json, alpn });
    });
    req.end(body);
  });
  const tls = ({ alpn = ["h2", "http/1.1"], servername = host } = {}) => new Promise((resolve) => {
    const socket = tlsConnect({ ...tlsBase, servername, ALPNProtocols: alpn, rejectUnauthorized: false });
    const done = (r) => { socket.destroy(); resolve(r); };
    socket.setTimeout(5_000, () => done({ authorized: false, error: "timeout" }));
    socket.on("error", (e) => done({ authorized: false, error: e.code ?? e.message }));
    socket.on("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      done({ authorized: socket.authorized, error: socket.authorizationError ?? null, alpn: socket.alpnProtocol || null,
        subject: cert?.subject?.CN ?? null, altNames: cert?.subjectaltname ?? null });
    });
  });
  const ws = (path, { headers = {}, timeoutMs = 5_000 } = {}) => new Promise((resolve, reject) => {
    const WebSocket = toolRequire("ws");
    // The URL names the proxy's address (where to connect); Host and SNI name the public host.
    const sock = new WebSocket(`wss://${address}:${port}${path}`, {
      ca, servername: host, localAddress: from, headers: { host: authority, ...headers }, handshakeTimeout: timeoutMs,
    });
    const pending = [];
    sock.on("message", (data) => pending.shift()?.resolve(String(data)));
    sock.once("open", () => resolve({
      send: (text) => new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`wss ${path}: no answer in ${timeoutMs} ms`)), timeoutMs);
        pending.push({ resolve: (v) => { clearTimeout(timer); res(v); } });
        sock.send(text);
      }),
      close: () => sock.close(),
    }));
    sock.once("unexpected-response", (_req, res) => reject(new Error(`wss ${path}: HTTP ${res.statusCode} instead of an upgrade`)));
    sock.once("error", (e) => reject(new Error(`wss ${path}: ${e.message}`)));
  });
  const wsEcho = async (path, text, opts) => {
    const s = await ws(path, opts);
    try { return await s.send(text); } finally { s.close(); }
  };
  return { url: `https://${authority}`, host, address, port, httpPort, ca, from, request, plain, h2, tls, ws, wsEcho };
}
