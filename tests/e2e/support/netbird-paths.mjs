// What the deployment-shaped suites send and how they judge it: which request targets QuFabric's REST API would
// serve, the attack paths (issue 20's, and the project's path tricks and ambiguous paths, which the gate's own suites
// send too), NetBird's public API endpoints, and the identity headers a client must never get through to an
// upstream.
import { goPath } from "./qf-http.mjs";

/**
 * Whether management's REST API (gorilla mux, PathPrefix "/api", management/internals/server/boot.go:147) could
 * serve `target`, judged conservatively: Go's decoded URL.Path (a bad escape: Go answers 400, never served), with
 * and without `\` read as `/`, `//` collapsed and dot segments resolved, compared case-insensitively. NetBird
 * itself is stricter (gorilla/mux v1.8.1 redirects an unclean path with 301 instead of serving it, and matches
 * case-sensitively), so this judge also flags what a laxer router or a later NetBird would serve.
 */
export function restServes(target) {
  const path = goPath(target);
  if (path === null) return false;
  const clean = (p) => {
    const out = [];
    for (const seg of p.split("/")) {
      if (seg === "" || seg === ".") continue;
      if (seg === "..") out.pop(); else out.push(seg);
    }
    return `/${out.join("/")}`;
  };
  return [path, path.replaceAll("\\", "/")].some((p) => /^\/api(\/|$)/i.test(clean(p)));
}

/**
 * NetBird's unauthenticated REST endpoints: the bypass paths management/server/http/handler.go:67-83 registers,
 * with the method of each handler (handlers/instance: GET /instance, POST /setup; handlers/users invites: GET
 * /users/invites/{token}, POST /users/invites/{token}/accept; the NetBird Proxy's OAuth callback).
 */
export const PUBLIC_API = [
  { method: "GET", path: "/api/instance" },
  { method: "POST", path: "/api/setup" },
  { method: "GET", path: "/api/users/invites/nbi_x7Jq2mB9" },
  { method: "POST", path: "/api/users/invites/nbi_x7Jq2mB9/accept" },
];

/** Issue 20's outside attack (Traefik matches decoded paths; docs/TRAEFIK.md's catch-all; case, backslashes). */
const ISSUE_20 = [
  ["DELETE", "/relay/..%2fapi/users/1"], ["DELETE", "/oauth2/..%2fapi/users/1"], ["DELETE", "/ws-proxy/..%2fapi/users/1"],
  ["GET", "/API/users"], ["GET", "/%2Fapi/users"], ["GET", "/x/..%2F..%2Fapi/users"], ["GET", "/relay\\..\\api\\users"],
];

/** Path tricks against the gate's bypass rules (encoded and plain dot segments, case, `\`, `;`, NUL, overlong
 * UTF-8; latin1 strings: raw bytes in the request line), sent to the gate itself in tests/e2e/gate-hostile.test.mjs. */
export const BYPASS_TRICKS = [
  "/api/../oauth2/x", "/oauth2/../api/peers", "/oauth2/%2e%2e/api/peers", "/oauth2/%2E%2E/api/peers",
  "/oauth2/.%2e/api/peers", "/oauth2/x/../../api/peers", "//api/peers", "///api/peers", "/./api/peers",
  "/API/peers", "/Api/peers", "/aPI", "/%41PI/peers", "/%61pi/peers", "/api./peers", "/api../peers",
  "/api%2e/peers", "/api%20/peers", "/api%09/peers", "/oauth2/..%2fapi/peers", "/oauth2%2f..%2fapi/peers",
  "/oauth2/..%5capi/peers", "/oauth2\\..\\api\\peers", "/relay/..;/api/peers", "/relay;/../api/peers",
  "/ws-proxy/%2e%2e/api/peers", "/relay/%252e%252e/api/peers", "/oauth2/keys?/../../api/peers",
  "/%2fapi/peers", "/relay/\xff/../../api/peers", "/api\xa0/peers", "/oauth2/%c0%ae%c0%ae/api/peers",
  "/OAUTH2/../API/peers", "/relay%00/../api/peers", "/management.ManagementService/../../api/peers",
];

/** Paths that cannot be normalised safely: with docs/CONFIG.md's example ROUTES each is `400 path_ambiguous` at
 * the gate (tests/e2e/gate-proxies.test.mjs; latin1: the last is raw UTF-8 bytes of `é`). */
export const AMBIGUOUS_PATHS = [
  "/api%2Fpeers", "/api/accounts%2F1", "/api%2fpeers", "/API/peers", "/Api/users/x", "/api\\peers", "/api/p\xc3\xa9ers",
];

/** Ways out of an ungated prefix `p` into /api (dot segments encoded or not, `\`, case). */
const ESCAPES = (p) => [
  `${p}/..%2fapi/users/1`, `${p}/..%2Fapi/users`, `${p}/%2e%2e/api/users`, `${p}/%2e%2e%2fapi/users`, `${p}/../api/users`,
  `${p}\\..\\api\\users`, `${p}/..%5capi/users`, `${p}/..%2F..%2Fapi/users`, `${p}%2f..%2fapi/users`, `${p}/../API/users`,
];

/** The ungated prefixes every NetBird stack has: gRPC services, WebSockets, the relay, the embedded IdP, the
 * public API endpoints, the dashboard's pages. Topologies add the prefixes their generated routers name. */
export const UNGATED_PREFIXES = [
  "/relay", "/ws-proxy", "/ws-proxy/signal", "/ws-proxy/management", "/oauth2", "/signalexchange.SignalExchange",
  "/management.ManagementService", "/management.ProxyService", "/api/instance", "/api/setup",
  "/api/users/invites/nbi_x7Jq2mB9", "/nb-auth", "/peers", "",
];

/**
 * The attack: `[method, target]` pairs, none of them a public endpoint, each one that QuFabric's REST API would
 * serve (restServes) if a proxy passed it on unchanged or decoded: issue 20's, the project's lists, and every
 * escape from each prefix in `prefixes` (UNGATED_PREFIXES and what the topology adds). Deduplicated.
 */
export function attackRequests(prefixes = UNGATED_PREFIXES) {
  const out = new Map();
  const add = (method, target) => { if (restServes(target)) out.set(`${method} ${target}`, [method, target]); };
  for (const [m, t] of ISSUE_20) add(m, t);
  for (const t of [...BYPASS_TRICKS, ...AMBIGUOUS_PATHS]) add("GET", t);
  for (const p of new Set(prefixes.map((x) => x.replace(/\/$/, "")))) {
    for (const t of ESCAPES(p)) add(t.includes("/users/1") ? "DELETE" : "GET", t);
  }
  return [...out.values()];
}

/** A value no gate or proxy sets: a client's spoof attempt, searched for in everything an upstream received. */
export const SPOOF = "spoofed-by-client";

/** Identity headers a client may send, in every spelling issue 20 names: the gate's family in other cases and
 * with `_` for `-`, an unknown X-Auth-Request-* suffix, and the foreign families. */
export const SPOOF_HEADERS = {
  "X-Auth-Request-User": SPOOF, "x-auth-request-email": SPOOF, "X-AUTH-REQUEST-PREFERRED-USERNAME": SPOOF,
  "X-Auth-Request-Groups": SPOOF, "X_Auth_Request_Groups": SPOOF, "x_auth_request_user": SPOOF,
  "X-Auth-Request-Other": SPOOF, "X-Auth-Request-Access-Token": SPOOF, "X-Forwarded-User": SPOOF,
  "X-Forwarded-Email": SPOOF, "X-Forwarded-Groups": SPOOF, "X-Forwarded-Preferred-Username": SPOOF,
};

/** The header names of `record` (HTTP headers or gRPC metadata) whose value carries SPOOF. */
export function spoofed(record) {
  return Object.entries(record.headers ?? {}).filter(([, v]) => String(v).includes(SPOOF)).map(([k]) => k);
}
