// One stand-in container: listeners on the addresses and ports the real container listens on, each telling HTTP/2
// (the client preface: gRPC over h2c) from HTTP/1.x by the first bytes and piping the connection to an internal
// gRPC server or HTTP/1.1 server (both on 127.0.0.1, kernel's ports). The internal servers see the pipe, not the
// client, so the listener keeps the real peer of each piped connection; every record carries it.
//
// `seen` records what reached the container: `{ container, kind, method, path (the request target as sent),
// headers (HTTP headers, or gRPC metadata), peer (the address that connected to the container), port (the
// container port it connected to) }`.
import { createServer as createHttpServer } from "node:http";
import { connect, createServer as createNetServer } from "node:net";
import { startGrpc } from "./qf-grpc.mjs";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

const listen = (server, host, port) => new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(port, host, () => resolve(server.address().port));
});

/**
 * NetBird's reading of the client's IP from a record: the realip interceptor of management's gRPC server
 * (management/internals/server/boot.go:174-179: headers X-Forwarded-For then X-Real-Ip, the proxy a trusted peer)
 * takes the right-most X-Forwarded-For entry, else X-Real-Ip, else the peer address.
 */
export function clientIp(record) {
  const h = record.headers ?? {};
  const one = (v) => (Array.isArray(v) ? v.join(",") : v);
  const xff = one(h["x-forwarded-for"]);
  if (xff) return xff.split(",").map((s) => s.trim()).filter(Boolean).at(-1);
  const real = one(h["x-real-ip"]);
  if (real) return real.trim();
  return record.peer;
}

/**
 * Start container `name` listening on `listen` ([{ host, port }]; port 0: the kernel's choice). `grpc`: the gRPC
 * services it serves on h2c ("management", "signal"; none: HTTP/2 connections are closed). `http(req, res, ctx)` and
 * `upgrade(req, socket, head, ctx)` handle HTTP/1.1; `ctx.record(kind)` records the request with its real peer.
 * Returns `{ name, seen, addresses: ["host:port"], since(from, kind), stop(), start(), close() }`; `stop()` closes
 * the listeners and every connection (the container is down: connections are refused), `start()` listens again
 * on the same addresses.
 */
export async function startContainer({ name, listen: addrs, grpc: services = [], http, upgrade }) {
  const seen = [];
  const peers = new Map(); // internal client port → { peer, port }
  const record = (kind, req, extra = {}) => {
    const via = peers.get(req.socket.remotePort) ?? {};
    seen.push({ container: name, kind, method: req.method, path: req.url, headers: req.headers, peer: via.peer, port: via.port, ...extra });
  };
  const grpcRecord = (kind, path, headers, grpcPeer) => {
    const via = peers.get(Number(String(grpcPeer).split(":").at(-1))) ?? {};
    seen.push({ container: name, kind, method: "POST", path, headers, peer: via.peer, port: via.port });
  };
  const grpcSide = services.length ? await startGrpc(services, grpcRecord) : null;
  const server = createHttpServer((req, res) => http(req, res, { record: (kind, extra) => record(kind, req, extra) }));
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {});
    if (!upgrade) return socket.destroy();
    return upgrade(req, socket, head, { record: (kind, extra) => record(kind, req, extra) });
  });
  server.on("clientError", (_e, socket) => socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"));
  const httpPort = await listen(server, "127.0.0.1", 0);

  const sockets = new Set();
  const track = (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); };
  const onConnection = (socket) => {
    track(socket);
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const n = Math.min(buf.length, PREFACE.length);
      const h2 = buf.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (h2 && buf.length < PREFACE.length) return; // wait for the whole preface
      socket.off("data", onData);
      socket.pause();
      if (h2 && !grpcSide) return socket.destroy();
      const inner = connect(h2 ? grpcSide.port : httpPort, "127.0.0.1");
      track(inner);
      inner.on("connect", () => {
        peers.set(inner.localPort, { peer: socket.remoteAddress, port: socket.localPort });
        inner.on("close", () => peers.delete(inner.localPort));
        inner.write(buf);
        socket.pipe(inner).pipe(socket);
        socket.resume();
      });
      inner.on("close", () => socket.destroy());
      inner.on("error", () => socket.destroy());
      socket.on("close", () => inner.destroy());
    };
    socket.on("data", onData);
  };
  let fronts = [];
  const bound = [];
  const start = async () => {
    fronts = [];
    for (const [i, a] of addrs.entries()) {
      const front = createNetServer(onConnection);
      const port = await listen(front, a.host, bound[i]?.port ?? a.port);
      bound[i] = { host: a.host, port };
      fronts.push(front);
    }
  };
  await start();
  const stop = async () => {
    await Promise.all(fronts.map((f) => new Promise((r) => f.close(() => r()))));
    for (const s of sockets) s.destroy();
  };
  return {
    name, seen,
    addresses: bound.map((b) => `${b.host}:${b.port}`),
    /** `http://` URL of listener `i`. */
    url: (i = 0) => `http://${bound[i].host}:${bound[i].port}`,
    since: (from, kind) => seen.slice(from).filter((s) => !kind || s.kind === kind),
    stop, start,
    async close() {
      await stop();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
      grpcSide?.server.forceShutdown();
    },
  };
}
