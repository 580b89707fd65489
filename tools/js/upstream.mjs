// A recording upstream standing in for QuFabric's management server: records what reaches it (method, path,
// headers, body) and answers JSON; `/stream/*` streams its answer in chunks; WebSocket upgrades are echoed.
import { createHash } from "node:crypto";
import { createServer } from "node:http";

// `record: false` keeps no history (long load runs): `seen` stays empty, `count` still counts.
export async function startUpstream({ port = 0, label = "upstream", record = true } = {}) {
  let count = 0;
  const seen = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    count++;
    if (record) seen.push({ method: req.method, url: req.url, headers: req.headers, body: body.toString() });
    if (req.url.includes("/stream/")) {
      res.writeHead(200, { "content-type": "text/plain" });
      for (let i = 0; i < 5; i++) {
        res.write(`chunk-${i}\n`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return res.end();
    }
    res.writeHead(200, { "content-type": "application/json", "x-upstream": label });
    res.end(JSON.stringify({ upstream: label, method: req.method, url: req.url, bodyBytes: body.length,
      bodySha256: createHash("sha256").update(body).digest("hex"),
      user: req.headers["x-auth-request-user"] ?? null }));
  });
  server.on("upgrade", (req, socket) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, body: "", upgrade: true });
    const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    let buf = Buffer.alloc(0);
    socket.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const opcode = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        const masked = (buf[1] & 0x80) !== 0;
        const need = off + (masked ? 4 : 0) + len;
        if (buf.length < need) return;
        const mask = masked ? buf.subarray(off, off + 4) : null;
        const payload = Buffer.from(buf.subarray(off + (masked ? 4 : 0), need));
        if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
        buf = buf.subarray(need);
        if (opcode === 0x8) { socket.end(Buffer.from([0x88, 0])); return; }
        if (opcode === 0x1) {
          const out = Buffer.from(`echo:${payload.toString()}`);
          socket.write(Buffer.concat([Buffer.from([0x81, out.length]), out]));
        }
      }
    });
    socket.on("error", () => {});
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    count: () => count,
    last: () => seen[seen.length - 1],
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
