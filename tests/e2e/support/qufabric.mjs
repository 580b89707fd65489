// A QuFabric (NetBird) stand-in that speaks the protocols a management domain carries, on one loopback port like
// NetBird's combined server (`netbird-server:80` in infrastructure_files/getting-started.sh):
//
// - gRPC over cleartext HTTP/2 (h2c) through a real gRPC stack (qf-grpc.mjs: management and signal services);
// - WebSockets (npm `ws`) on `/relay` and `/ws-proxy/…`: an echo prefixed with the path;
// - REST on `/api/…`: JSON naming what arrived (method, path, the gate's identity headers);
// - the embedded IdP on `/oauth2/…`: Dex's discovery document and key set (`{issuer}/keys`), and Dex-shaped ID
//   tokens (`dexToken`: `sub` = base64 of protobuf {1: user id, 2: connector id}, NetBird idp/dex/provider.go);
// - the dashboard's static files on everything else.
//
// It is one container of qf-container.mjs with this routing; the deployment-shaped suites use the containers of
// netbird-containers.mjs instead, which route as NetBird's own servers do. `seen` records every request that
// reached it: `{ kind: "grpc"|"ws"|"rest"|"idp"|"static", path, headers, peer }`.
import { startContainer } from "./qf-container.mjs";
import { acceptEcho, dashboardAnswer, dexIdp, restAnswer } from "./qf-http.mjs";

export { HOLD, SERVER_KEY, SYNC_MESSAGES, loadProtos, peerClients } from "./qf-grpc.mjs";
export { DASHBOARD_HTML, dexSubject, wsEcho } from "./qf-http.mjs";

export async function startQuFabric() {
  let idp;
  const c = await startContainer({
    name: "qufabric",
    listen: [{ host: "127.0.0.1", port: 0 }],
    grpc: ["management", "signal"],
    http(req, res, { record }) {
      const path = new URL(req.url, "http://x").pathname;
      if (idp.handle(path, res)) return record("idp");
      if (path === "/api" || path.startsWith("/api/")) {
        record("rest");
        return restAnswer(req, res);
      }
      record("static");
      return dashboardAnswer(res);
    },
    upgrade(req, socket, head, { record }) {
      const path = new URL(req.url, "http://x").pathname;
      if (path !== "/relay" && !path.startsWith("/relay/") && !path.startsWith("/ws-proxy/")) return socket.destroy();
      record("ws");
      return acceptEcho(req, socket, head, path);
    },
  });
  const url = c.url();
  idp = dexIdp(`${url}/oauth2`);
  return {
    url,
    seen: c.seen,
    issuer: idp.issuer,
    /** Requests of `kind` recorded from index `from` on. */
    since: c.since,
    /** A Dex ID token of the embedded IdP: the local connector's owner by default; `groups` only when non-empty. */
    dexToken: (opts) => idp.token(opts),
    close: () => c.close(),
  };
}
