// NetBird's containers as stand-ins that route a request the way each real server does (NetBird ee253fe), so a
// deployment-shaped test sees what would reach which service:
//
// - `netbird-server` (the combined server, getting-started.sh; listenAddress ":80", gs.sh:962): one port for gRPC
//   (management and signal), `/ws-proxy/management`, `/ws-proxy/signal`, `/relay`, the embedded IdP (`/oauth2…`)
//   and, for everything else, the management HTTP handler (combined/cmd/root.go:557-600 createCombinedHandler:
//   exact matches on Go's decoded URL.Path; `default:` is the REST API router);
// - `management` (the legacy stack's management container): gRPC, `/ws-proxy/management`, the REST API for
//   everything else (management/internals/server/server.go:325-337);
// - `signal`: `/ws-proxy/signal`, gRPC for everything else (signal/cmd/run.go:264-273), on port 80 and the legacy
//   gRPC port 10000 (run.go:155-163);
// - `relay`: the WebSocket on `/relay` only (relay/server/listener/ws/listener.go:42, an http.ServeMux);
// - `dashboard`: the dashboard's static files (an SPA: every path answers its index page).
//
// Records (qf-container.mjs) say which handler took the request: "grpc", "ws" (a WebSocket upgrade accepted),
// "idp", "rest" (the management HTTP handler), "static", "refused" (a handler that serves nothing there).
// `restServes(path)` (netbird-paths.mjs) decides whether a "rest" record is a request the REST API would serve.
import { startContainer } from "./qf-container.mjs";
import { acceptEcho, dashboardAnswer, dexIdp, goPath, restAnswer, textAnswer } from "./qf-http.mjs";
import { restServes } from "./netbird-paths.mjs";

/** management/server/http/handler.go:67-83 bypass paths, matched with Go's path.Match on URL.Path
 * (middleware/bypass/bypass.go:52-60); types/proxy.go:7 the proxy callback. */
const BYPASS = [/^\/api\/instance$/, /^\/api\/setup$/, /^\/api\/users\/invites\/nbi_[^/]*$/, /^\/api\/users\/invites\/nbi_[^/]*\/accept$/,
  /^\/api\/reverse-proxy\/callback$/];

/**
 * The management HTTP handler: the REST API router (gorilla mux, PathPrefix "/api"). A path it serves answers the
 * stand-in's REST JSON, except that a request with neither a Bearer nor a Token credential on a path outside the
 * bypass list gets NetBird's own 401 (middleware/auth_middleware.go:106-108, http/util/util.go:70-80
 * WriteErrorResponse); anything else 404. Every request is recorded as "rest" whatever the answer.
 */
function restHandler(req, res, record) {
  record("rest");
  if (!restServes(req.url)) return textAnswer(res, 404, "404 page not found\n");
  const scheme = String(req.headers.authorization ?? "").split(" ")[0].toLowerCase();
  if (!["bearer", "token"].includes(scheme) && !BYPASS.some((re) => re.test(goPath(req.url)))) {
    res.writeHead(401, { "content-type": "application/json; charset=UTF-8" });
    return res.end(`${JSON.stringify({ message: "no valid authentication provided", code: 401 })}\n`);
  }
  return restAnswer(req, res);
}

/** A WebSocket upgrade on one of `paths` (Go's URL.Path, exact) is echoed; anything else is `fallback`. */
function wsUpgrade(paths, fallback) {
  return (req, socket, head, { record }) => {
    const path = goPath(req.url);
    if (paths.includes(path)) {
      record("ws");
      return acceptEcho(req, socket, head, path);
    }
    record(fallback);
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    return undefined;
  };
}

/**
 * The combined `netbird-server` on `listen` ([{host, port}]), its embedded IdP's public issuer `issuer`
 * (config.yaml `auth.issuer`, gs.sh: `https://$NETBIRD_DOMAIN/oauth2`). Adds `issuer` and `dexToken(…)`.
 */
export async function startNetbirdServer({ listen, issuer, name = "netbird-server" }) {
  const idp = dexIdp(issuer);
  const ws = ["/ws-proxy/management", "/ws-proxy/signal", "/relay"];
  const c = await startContainer({
    name, listen, grpc: ["management", "signal"],
    http(req, res, { record }) {
      const path = goPath(req.url);
      if (path === null) { record("refused"); return textAnswer(res, 400, "400 Bad Request"); }
      if (ws.includes(path)) { record("refused"); return textAnswer(res, 426, "upgrade required"); }
      if (path.startsWith("/oauth2")) {
        record("idp");
        if (!idp.handle(path, res)) textAnswer(res, 404, "not found");
        return undefined;
      }
      return restHandler(req, res, record);
    },
    upgrade: wsUpgrade(ws, "refused"),
  });
  return { ...c, issuer, dexToken: (opts) => idp.token(opts) };
}

/** The legacy `management` container on `listen`: gRPC (management), `/ws-proxy/management`, the REST API. */
export async function startManagement({ listen, name = "management" }) {
  return startContainer({
    name, listen, grpc: ["management"],
    http(req, res, { record }) {
      const path = goPath(req.url);
      if (path === null) { record("refused"); return textAnswer(res, 400, "400 Bad Request"); }
      if (path === "/ws-proxy/management") { record("refused"); return textAnswer(res, 426, "upgrade required"); }
      return restHandler(req, res, record);
    },
    upgrade: wsUpgrade(["/ws-proxy/management"], "refused"),
  });
}

/** The legacy `signal` container on `listen` (port 80, and 10000 for old peers): gRPC (signal) and
 * `/ws-proxy/signal`; any other HTTP/1.1 request reaches grpc-go's ServeHTTP, which refuses it. */
export async function startSignal({ listen, name = "signal" }) {
  return startContainer({
    name, listen, grpc: ["signal"],
    http(req, res, { record }) {
      record("refused");
      textAnswer(res, goPath(req.url) === "/ws-proxy/signal" ? 426 : 400, "gRPC requires HTTP/2");
    },
    upgrade: wsUpgrade(["/ws-proxy/signal"], "refused"),
  });
}

/** The legacy `relay` container on `listen`: the WebSocket at `/relay`; everything else 404. */
export async function startRelay({ listen, name = "relay" }) {
  return startContainer({
    name, listen,
    http(req, res, { record }) {
      record("refused");
      textAnswer(res, goPath(req.url) === "/relay" ? 426 : 404, "relay");
    },
    upgrade: wsUpgrade(["/relay"], "refused"),
  });
}

/** The `dashboard` container on `listen`: its static files. */
export async function startDashboard({ listen, name = "dashboard" }) {
  return startContainer({
    name, listen,
    http(req, res, { record }) {
      record("static");
      dashboardAnswer(res);
    },
  });
}
