// Loopback networking helpers shared by tests, bench and soak.
import { request as httpRequest } from "node:http";
import { connect, createServer } from "node:net";

/** A free loopback port (the kernel's choice; released just before the caller's server binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * One HTTP/1.1 request with the path sent exactly as given (fetch would normalise `\`, `%2F` stays but
 * non-ASCII would be re-encoded): `{ status, headers, text, json }`.
 */
export function rawRequest(base, path, { method = "GET", headers = {}, body } = {}) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers: { connection: "close", ...headers } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON (a proxy's own page) */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * One HTTP/1.1 request written byte for byte on a new connection (`Connection: close`), for what Node's client
 * refuses or rewrites: a method in any case (Node upper-cases it) or one that is not a token; `encoding: "latin1"`
 * writes each character below U+0100 as that one byte (a header value that is not UTF-8). Resolves with
 * `{ status, headers, text, json }` once the answer is complete (by its length, its last chunk, or the server
 * closing; no body after HEAD or 1xx/204/304).
 */
export function wireRequest(base, { method, path, headers = {}, body = "", encoding = "utf8" }) {
  const u = new URL(base);
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${u.host}`, "connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body) lines.push(`content-length: ${Buffer.byteLength(body)}`);
  const noBody = (status) => method.toUpperCase() === "HEAD" || status < 200 || status === 204 || status === 304;
  return new Promise((resolve, reject) => {
    // Written, not ended: a half-closed connection reads as a client that went away (Go's server cancels the
    // request, Traefik answers 499).
    const socket = connect(Number(u.port), u.hostname, () => socket.write(`${lines.join("\r\n")}\r\n\r\n${body}`, encoding));
    socket.setTimeout(30_000, () => socket.destroy(new Error(`no answer to ${method} ${path} within 30 s`)));
    let raw = Buffer.alloc(0);
    let done = false;
    /** The answer in `raw`, or null while it is incomplete (`closed`: nothing more will come). */
    const parse = (closed) => {
      const end = raw.indexOf("\r\n\r\n");
      if (end < 0) return null;
      const [statusLine, ...fields] = raw.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(statusLine.split(" ")[1]);
      const h = {};
      for (const f of fields) {
        const at = f.indexOf(":");
        h[f.slice(0, at).trim().toLowerCase()] = f.slice(at + 1).trim();
      }
      let rest = raw.subarray(end + 4);
      if (noBody(status)) {
        rest = Buffer.alloc(0);
      } else if (h["transfer-encoding"]?.toLowerCase() === "chunked") {
        const out = [];
        for (;;) {
          const eol = rest.indexOf("\r\n");
          if (eol < 0) return closed ? { status, h, body: Buffer.concat(out) } : null;
          const size = parseInt(rest.subarray(0, eol).toString(), 16);
          if (!(size > 0)) break;
          if (rest.length < eol + 4 + size) return closed ? { status, h, body: Buffer.concat(out) } : null;
          out.push(rest.subarray(eol + 2, eol + 2 + size));
          rest = rest.subarray(eol + 4 + size);
        }
        rest = Buffer.concat(out);
      } else if (h["content-length"] !== undefined) {
        const len = Number(h["content-length"]);
        if (rest.length < len && !closed) return null;
        rest = rest.subarray(0, len);
      } else if (!closed) {
        return null;
      }
      return { status, h, body: rest };
    };
    const finish = (closed) => {
      if (done) return;
      const answer = parse(closed);
      if (!answer) {
        if (closed) reject(new Error(`no HTTP response to ${method} ${path}: ${JSON.stringify(raw.toString())}`));
        return;
      }
      done = true;
      socket.destroy();
      const text = answer.body.toString();
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      resolve({ status: answer.status, headers: answer.h, text, json });
    };
    socket.on("data", (c) => { raw = Buffer.concat([raw, c]); finish(false); });
    socket.on("error", (e) => { if (!done) reject(e); });
    socket.on("close", () => finish(true));
  });
}
