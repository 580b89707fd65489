// Loopback networking helpers shared by tests, bench and soak.
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";

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
