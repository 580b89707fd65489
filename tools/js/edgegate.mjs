// The gate as Cloudflare serves it, for forward-auth tests whose gate URL is a Worker's `https://` address: the
// Worker (build/, with the page's `[vars]`) in bare workerd behind a TLS edge stand-in that, like Cloudflare's
// edge, completes a handshake only for the host name it serves in SNI (a client that sends no SNI, or another
// name, gets no certificate: the handshake fails). The edge's certificate is the run's test CA's; it records the
// SNI of every handshake. Loopback only.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecureContext, createServer } from "node:tls";
import { startChild, untilReady } from "./child.mjs";
import { need } from "./env.mjs";
import { writeGateConfig } from "./gate.mjs";
import { freePort } from "./net.mjs";
import { outboundTo } from "./selfhostgate.mjs";
import { WORKERD } from "./workerd.mjs";

/** `NAME = "value"` lines of a wrangler `[vars]` text (commented lines are not variables). */
export function wranglerVars(toml) {
  return Object.fromEntries([...toml.matchAll(/^([A-Z_][A-Z0-9_]*) = "((?:[^"\\]|\\.)*)"$/gm)].map((m) => [m[1], JSON.parse(`"${m[2]}"`)]));
}

/**
 * Start the Worker with `vars` and an edge for `host` on `address`:443 with `cert`/`key` (PEM). `outbound`
 * ({ address, host, ca }, see selfhostgate.mjs outboundTo): where the Worker's fetches go. Returns `{ url
 * ("https://host"), snis (the SNI of every handshake that sent one), refused() (handshakes that failed: no SNI or
 * another name), logs(), output(), stop(), start(), close() }`;
 * `stop()` stops the Worker (the edge then answers 502, as Cloudflare does for a Worker that errors).
 */
export async function startEdgeGate({ vars, host, address, cert, key, outbound }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-edge-"));
  const port = await freePort();
  let config = readFileSync(writeGateConfig(dir, vars, port), "utf8");
  if (outbound) config = outboundTo(config, outbound);
  writeFileSync(join(dir, "config.capnp"), config);
  let child;
  let previous = "";
  const start = async () => {
    child = startChild(need(WORKERD, "run `cargo xtask setup` (npm package workerd)"), ["serve", "config.capnp", "--experimental"],
      { cwd: dir, keep: 4_000_000 });
    await untilReady(child, () => new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => { s.destroy(); resolve(200); });
      s.on("error", reject);
    }), { timeoutMs: 20_000, intervalMs: 20, what: "the gate behind the edge (workerd)" });
  };
  await start();
  const snis = [];
  let refused = 0;
  const context = createSecureContext({ cert, key });
  const sockets = new Set();
  // No certificate outside SNICallback: a ClientHello without SNI cannot complete the handshake.
  const edge = createServer({
    SNICallback: (name, cb) => {
      snis.push(name);
      if (name === host) cb(null, context); else cb(new Error(`no certificate for ${name}`));
    },
    ALPNProtocols: ["http/1.1"],
  }, (tlsSocket) => {
    const upstream = connect(port, "127.0.0.1");
    for (const s of [tlsSocket, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    tlsSocket.on("error", () => upstream.destroy());
    upstream.on("error", () => {
      if (!tlsSocket.destroyed) tlsSocket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    tlsSocket.pipe(upstream).pipe(tlsSocket);
  });
  edge.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  edge.on("tlsClientError", () => { refused++; });
  await new Promise((resolve, reject) => { edge.once("error", reject); edge.listen(443, address, resolve); });
  const output = () => previous + child.output();
  return {
    url: `https://${host}`, snis, refused: () => refused, output,
    logs: () => output().split("\n").map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean),
    stop: async () => { await child.stop(); previous += child.output(); },
    start,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => edge.close(() => r()));
      await child.stop();
    },
  };
}
