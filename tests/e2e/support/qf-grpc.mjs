// The QuFabric (NetBird) stand-ins' gRPC side, through a real gRPC stack (npm @grpc/grpc-js): the services and
// methods of NetBird's shared/management/proto/management.proto (`management.ManagementService/GetServerKey` and
// `Login` unary, `Sync` a server stream) and shared/signal/proto/signalexchange.proto
// (`signalexchange.SignalExchange/ConnectStream`, bidirectional), from the cut-down .proto files next to this
// module (same names, streaming kinds and field numbers); and the peer's side (`peerClients`), over h2c or TLS.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toolRequire } from "../../../tools/js/env.mjs";

export const grpc = toolRequire("@grpc/grpc-js");
const protoLoader = toolRequire("@grpc/proto-loader");

const HERE = dirname(fileURLToPath(import.meta.url));
/** The management server's WireGuard public key (GetServerKey). */
export const SERVER_KEY = "c3RhbmQtaW4gd2lyZWd1YXJkIHB1YmxpYyBrZXk=";
/** Messages a Sync stream sends before it ends. */
export const SYNC_MESSAGES = 3;
/** A Sync whose wgPubKey is `hold:<ms>` sends one message, stays silent for <ms>, sends a second and ends: a peer's
 * long-lived stream with nothing to say. */
export const HOLD = "hold:";

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

/**
 * A grpc-js server with `services` ("management", "signal") bound to 127.0.0.1 (kernel's port), h2c. Each call is
 * passed to `record(kind "grpc", path, metadata object, peer "host:port" as grpc-js saw it)`. Resolves with
 * `{ port, server }`.
 */
export async function startGrpc(services, record) {
  const { management, signalexchange } = loadProtos();
  const server = new grpc.Server();
  const seen = (call) => record("grpc", call.getPath(), call.metadata.getMap(), call.getPeer());
  if (services.includes("management")) {
    server.addService(management.ManagementService.service, {
      GetServerKey(call, done) {
        seen(call);
        done(null, { key: SERVER_KEY, version: 1 });
      },
      Login(call, done) {
        seen(call);
        done(null, { wgPubKey: SERVER_KEY, body: Buffer.concat([Buffer.from("login:"), call.request.body]), version: 1 });
      },
      async Sync(call) {
        seen(call);
        const key = call.request.wgPubKey;
        let cancelled = false;
        call.on("cancelled", () => { cancelled = true; });
        const send = (i) => { if (!cancelled) call.write({ wgPubKey: SERVER_KEY, body: Buffer.from(`sync-${i}:${key}`), version: 1 }); };
        if (key.startsWith(HOLD)) {
          send(0);
          await new Promise((r) => setTimeout(r, Number(key.slice(HOLD.length))));
          send(1);
        } else {
          for (let i = 0; i < SYNC_MESSAGES; i++) {
            send(i);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        if (!cancelled) call.end();
      },
    });
  }
  if (services.includes("signal")) {
    server.addService(signalexchange.SignalExchange.service, {
      ConnectStream(call) {
        seen(call);
        call.on("data", (m) => call.write({ key: m.remoteKey, remoteKey: m.key, body: Buffer.concat([Buffer.from("relayed:"), m.body]) }));
        call.on("end", () => call.end());
        call.on("error", () => {});
      },
    });
  }
  const port = await new Promise((resolve, reject) => server.bindAsync("127.0.0.1:0",
    grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, server };
}

/**
 * gRPC clients of both services at `target` (`http://host:port` for h2c, or `{ address: "host:port", host, ca }`
 * for TLS with ALPN h2 to `address`, `host` as the name checked in the certificate and sent as :authority), with
 * `metadata` (an object) on each call; `deadlineMs` bounds each call (default 5 s).
 */
export function peerClients(target, metadata = {}, { deadlineMs = 5000 } = {}) {
  const { management, signalexchange } = loadProtos();
  let hostport, creds, options = {};
  if (typeof target === "string") {
    hostport = new URL(target).host;
    creds = grpc.credentials.createInsecure();
  } else {
    hostport = target.address;
    creds = grpc.credentials.createSsl(Buffer.from(target.ca));
    options = { "grpc.ssl_target_name_override": target.host, "grpc.default_authority": target.host };
  }
  const mgmt = new management.ManagementService(hostport, creds, options);
  const signal = new signalexchange.SignalExchange(hostport, creds, options);
  const md = () => {
    const m = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) m.set(k, v);
    return m;
  };
  const deadline = () => new Date(Date.now() + deadlineMs);
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
    /** Bidirectional: send each body and wait for its answer before the next (a real exchange, not a batch);
     * `pauseMs` of silence before each body after the first. */
    connectStream: (bodies, { pauseMs = 0 } = {}) => new Promise((resolve, reject) => {
      const call = signal.ConnectStream(md(), { deadline: deadline() });
      const got = [];
      let i = 0;
      const write = () => call.write({ key: "peer-a", remoteKey: "peer-b", body: Buffer.from(bodies[i++]) });
      const next = () => {
        if (i >= bodies.length) return call.end();
        if (i > 0 && pauseMs) return setTimeout(write, pauseMs);
        return write();
      };
      call.on("data", (m) => { got.push({ key: m.key, remoteKey: m.remoteKey, body: m.body.toString() }); next(); });
      call.on("error", reject);
      call.on("end", () => resolve(got));
      next();
    }),
    close() { mgmt.close(); signal.close(); },
  };
}
