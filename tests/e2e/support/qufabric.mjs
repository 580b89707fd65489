// A QuFabric (NetBird) stand-in that speaks the protocols a real management domain carries, on one loopback
// port like NetBird's combined server (`netbird-server:80` in infrastructure_files/getting-started.sh):
//
// - gRPC over cleartext HTTP/2 (h2c) through a real gRPC stack (npm @grpc/grpc-js): the services and methods of
//   NetBird's shared/management/proto/management.proto (`management.ManagementService/GetServerKey` and `Login`
//   unary, `Sync` a server stream) and shared/signal/proto/signalexchange.proto
//   (`signalexchange.SignalExchange/ConnectStream`, bidirectional), from the cut-down .proto files next to this
//   module (same names, streaming kinds and field numbers);
// - WebSockets (npm `ws`) on `/relay` and `/ws-proxy/…`: an echo prefixed with the path;
// - REST on `/api/…`: JSON naming what arrived (method, path, the gate's identity headers);
// - the embedded IdP on `/oauth2/…`: Dex's discovery document and key set (`{issuer}/keys`), and Dex-shaped ID
//   tokens (`dexToken`: `sub` = base64 of protobuf {1: user id, 2: connector id}, NetBird idp/dex/provider.go);
// - the dashboard's static files on everything else.
//
// One front listener tells HTTP/2 (the client preface) from HTTP/1.x by the first bytes and pipes the connection
// to the gRPC server or to the HTTP/1.1 server, both on internal loopback ports. `seen` records every request that
// reached it: `{ kind: "grpc"|"ws"|"rest"|"idp"|"static", path, headers }`.
import { createServer as createHttpServer } from "node:http";
import { connect, createServer as createNetServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toolRequire } from "../../../tools/js/env.mjs";
import { discovery, newKey, signJws } from "../../../tools/js/issuer.mjs";

const grpc = toolRequire("@grpc/grpc-js");
const protoLoader = toolRequire("@grpc/proto-loader");
const { WebSocketServer } = toolRequire("ws");

const HERE = dirname(fileURLToPath(import.meta.url));
/** The management server's WireGuard public key (GetServerKey). */
export const SERVER_KEY = "c3RhbmQtaW4gd2lyZWd1YXJkIHB1YmxpYyBrZXk=";
/** Messages a Sync stream sends before it ends. */
export const SYNC_MESSAGES = 3;
/** What the dashboard's `/` serves. */
export const DASHBOARD_HTML = "<!doctype html><title>QuFabric dashboard (stand-in)</title>\n";
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

let protos;
/** `{ management, signalexchange }` packages loaded with @grpc/proto-loader. */
export function loadProtos() {
  if (!protos) {
    const opts = { keepCase: true, longs: String, enums: String, defaults: true };
    const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(join(HERE, file), opts));
    protos = {
      management: load("qufabric-management.proto").management,
      signalexchange: load("qufabric-signalexchange.proto").signalexchange,
    };
  }
  return protos;
}

/** Dex's `sub`: standard base64 without padding of protobuf {1: user id, 2: connector id}. */
export function dexSubject(userId, connectorId) {
  const field = (tag, s) => [tag, Buffer.byteLength(s), ...Buffer.from(s)];
  return Buffer.from([...field(0x0a, userId), ...field(0x12, connectorId)]).toString("base64").replace(/=+$/, "");
}

const listen = (server) => new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(0, "127.0.0.1", () => resolve(server.address().port));
});

export async function startQuFabric() {
  const { management, signalexchange } = loadProtos();
  const seen = [];
  const record = (kind, path, headers) => seen.push({ kind, path, headers });
  const grpcMeta = (call) => call.metadata.getMap();

  // ---- gRPC (h2c) ----
  const grpcServer = new grpc.Server();
  grpcServer.addService(management.ManagementService.service, {
    GetServerKey(call, done) {
      record("grpc", call.getPath(), grpcMeta(call));
      done(null, { key: SERVER_KEY, version: 1 });
    },
    Login(call, done) {
      record("grpc", call.getPath(), grpcMeta(call));
      done(null, { wgPubKey: SERVER_KEY, body: Buffer.concat([Buffer.from("login:"), call.request.body]), version: 1 });
    },
    async Sync(call) {
      record("grpc", call.getPath(), grpcMeta(call));
      for (let i = 0; i < SYNC_MESSAGES; i++) {
        call.write({ wgPubKey: SERVER_KEY, body: Buffer.from(`sync-${i}:${call.request.wgPubKey}`), version: 1 });
        await new Promise((r) => setTimeout(r, 20));
      }
      call.end();
    },
  });
  grpcServer.addService(signalexchange.SignalExchange.service, {
    ConnectStream(call) {
      record("grpc", call.getPath(), grpcMeta(call));
      call.on("data", (m) => call.write({ key: m.remoteKey, remoteKey: m.key, body: Buffer.concat([Buffer.from("relayed:"), m.body]) }));
      call.on("end", () => call.end());
    },
  });
  const grpcPort = await new Promise((resolve, reject) => grpcServer.bindAsync("127.0.0.1:0",
    grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));

  // ---- HTTP/1.1: REST, the embedded IdP, WebSockets, the dashboard ----
  const key = newKey("RS256");
  let url;
  const issuer = () => `${url}/oauth2`;
  const http = createHttpServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (path === "/oauth2/.well-known/openid-configuration") {
      record("idp", path, req.headers);
      return json(200, { ...discovery(issuer(), "RS256"), jwks_uri: `${issuer()}/keys` });
    }
    if (path === "/oauth2/keys") {
      record("idp", path, req.headers);
      return json(200, { keys: [key.jwk] });
    }
    if (path === "/api" || path.startsWith("/api/")) {
      record("rest", req.url, req.headers);
      return json(200, { method: req.method, path: req.url, user: req.headers["x-auth-request-user"] ?? null,
        groups: req.headers["x-auth-request-groups"] ?? null });
    }
    record("static", req.url, req.headers);
    res.writeHead(200, { "content-type": "text/html" });
    res.end(DASHBOARD_HTML);
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on("upgrade", (req, socket, head) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path !== "/relay" && !path.startsWith("/relay/") && !path.startsWith("/ws-proxy/")) return socket.destroy();
    record("ws", req.url, req.headers);
    wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (data) => ws.send(`${path}:${data}`)));
  });
  const httpPort = await listen(http);

  // ---- the front door: h2c preface → gRPC, anything else → HTTP/1.1 ----
  const sockets = new Set();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const n = Math.min(buf.length, PREFACE.length);
      const h2 = buf.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (h2 && buf.length < PREFACE.length) return; // wait for the whole preface
      socket.off("data", onData);
      const inner = connect(h2 ? grpcPort : httpPort, "127.0.0.1");
      sockets.add(inner);
      inner.on("close", () => { sockets.delete(inner); socket.destroy(); });
      inner.on("error", () => socket.destroy());
      socket.on("close", () => inner.destroy());
      inner.write(buf);
      socket.pipe(inner).pipe(socket);
    };
    socket.on("data", onData);
  });
  url = `http://127.0.0.1:${await listen(front)}`;

  return {
    url,
    seen,
    issuer: issuer(),
    /** Requests of `kind` recorded from index `from` on. */
    since: (from, kind) => seen.slice(from).filter((s) => !kind || s.kind === kind),
    /** A Dex ID token of the embedded IdP: the local connector's owner by default; `groups` only when non-empty. */
    dexToken({ userId = "owner-0001", connector = "local", groups = [], aud = "netbird-dashboard", email = "owner@example.com" } = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer(), sub: dexSubject(userId, connector), aud, exp: now + 86400, iat: now, nonce: "7d3c0d5b9a",
        at_hash: "u0K0GkM6lU9d2Sx0LyQ3nw", email, email_verified: true, name: userId, preferred_username: userId,
        federated_claims: { connector_id: connector, user_id: userId },
      };
      if (groups.length) payload.groups = groups;
      return signJws(key, { alg: "RS256", kid: key.kid, typ: "JWT" }, payload);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => front.close(() => r()));
      http.closeAllConnections?.();
      await new Promise((r) => http.close(() => r()));
      await new Promise((r) => grpcServer.tryShutdown(() => r()));
    },
  };
}

// ---- clients: what a peer does -------------------------------------------------------------------------------

/** gRPC clients of both services at `target` (`http://host:port`, h2c), with `metadata` (an object) on each call. */
export function peerClients(target, metadata = {}) {
  const { management, signalexchange } = loadProtos();
  const hostport = new URL(target).host;
  const creds = grpc.credentials.createInsecure();
  const mgmt = new management.ManagementService(hostport, creds);
  const signal = new signalexchange.SignalExchange(hostport, creds);
  const md = () => {
    const m = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) m.set(k, v);
    return m;
  };
  const deadline = () => new Date(Date.now() + 5000);
  const unary = (method, req) => new Promise((resolve, reject) =>
    mgmt[method](req, md(), { deadline: deadline() }, (err, res) => (err ? reject(err) : resolve(res))));
  return {
    getServerKey: () => unary("GetServerKey", {}),
    login: (body) => unary("Login", { wgPubKey: "peer-key", body: Buffer.from(body), version: 1 }),
    /** The server stream's messages, in order, with the time each arrived. */
    sync: (wgPubKey) => new Promise((resolve, reject) => {
      const got = [];
      const call = mgmt.Sync({ wgPubKey, body: Buffer.alloc(0), version: 1 }, md(), { deadline: deadline() });
      call.on("data", (m) => got.push({ body: m.body.toString(), at: Date.now() }));
      call.on("error", reject);
      call.on("end", () => resolve(got));
    }),
    /** Bidirectional: send each body and wait for its answer before the next (a real exchange, not a batch). */
    connectStream: (bodies) => new Promise((resolve, reject) => {
      const call = signal.ConnectStream(md(), { deadline: deadline() });
      const got = [];
      let i = 0;
      const next = () => (i < bodies.length ? call.write({ key: "peer-a", remoteKey: "peer-b", body: Buffer.from(bodies[i++]) }) : call.end());
      call.on("data", (m) => { got.push({ key: m.key, remoteKey: m.remoteKey, body: m.body.toString() }); next(); });
      call.on("error", reject);
      call.on("end", () => resolve(got));
      next();
    }),
    close() { mgmt.close(); signal.close(); },
  };
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
