// Every change the deployment-shaped tests make to the setup page's generated text and to NetBird's own text, in
// one place (issue 20's harness rules: transform only where a loopback test must, and write it down):
//
// 1. Names → loopback addresses: a compose service or container name used as a host (`netbird-server:80`,
//    `netbird-dashboard:80`, `pocketgate:8080`) becomes that container's own 127.x.y.z; the Docker host's
//    `127.0.0.1:<port>` (a published port, a systemd gate) becomes the topology's `host` address. Ports never change.
// 2. Listeners: the proxy's `:80` / `:443` (nginx `listen`, Traefik entry points, Caddy's default bind) move to
//    the proxy's own address, same ports.
// 3. TLS: the public host's certificate is the run's test CA's (nginx `ssl_certificate*`, Caddy `tls <cert> <key>`,
//    Traefik's default certificate through a file provider, since its ACME resolver cannot reach Let's Encrypt:
//    the harness points `acme.caserver` at a closed loopback port and `acme.storage` at a temporary file).
// 4. Host paths: Traefik's `/etc/pocketgate` mount and `./plugins-local` volume become temporary folders.
// 5. The Docker provider's endpoint is the Docker Engine API stand-in's unix socket.
// 6. A public name no DNS here knows (the Worker's `gate.example.workers.dev`) is an nginx `upstream` of that
//    name in front of the edge's address: nginx uses the group instead of DNS and still names the host in SNI
//    (`proxy_ssl_name` defaults to `$proxy_host`).
// The gate's own configuration is changed by tools/js/selfhostgate.mjs localGateConfig (its listen address, the
// FORWARDED_HEADERS line the operator uncomments, where its outbound fetches go, LOG = "all").
//
// BROKEN_VARIANTS are deliberate, named mistakes (issue 21 checks a live deployment against the same ones): each
// is one edit of the generated text, so a suite can show that its checks fail on it.

/** The public host every topology serves (the page's `domain`). */
export const PUBLIC_HOST = "netbird.example.com";
/** The Cloudflare Worker's host of the "nginx-cloudflare" variant (the page's `gate_url`). */
export const WORKER_HOST = "gate.example.workers.dev";

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Replace names used as hosts: `names` maps a name (`netbird-server`) or `127.0.0.1` to an address; each
 * occurrence followed by `:<port>` is replaced, whatever precedes it (`http://`, `h2c://`, `grpc://`, `server `).
 */
export function localiseHosts(text, names) {
  let out = text;
  for (const [name, address] of Object.entries(names)) {
    out = out.replace(new RegExp(`(?<![A-Za-z0-9.-])${escapeRe(name)}(?=:\\d)`, "g"), address);
  }
  return out;
}

/** nginx: `listen 80;` / `listen 443 ssl http2;` → on `address`; the test certificate after the 443 listener
 * (any `ssl_certificate*` directive already there is replaced). */
export function localiseNginx(text, { address, certFile, keyFile }) {
  let out = text.replace(/^(\s*)listen\s+(\d+)(\s|;)/gm, (_, ws, port, after) => `${ws}listen ${address}:${port}${after}`);
  out = out.replace(/^\s*ssl_certificate(_key)?\s+[^;#\n]+;[^\n]*\n/gm, "");
  const tls = /^(\s*)(listen\s+\S+:443\s[^;]*ssl[^;]*;)[^\n]*\n/m;
  if (!tls.test(out)) throw new Error(`the nginx configuration has no TLS listener on 443:\n${text}`);
  return out.replace(tls, (line, ws) => `${line}${ws}ssl_certificate ${certFile};\n${ws}ssl_certificate_key ${keyFile};\n`);
}

/** nginx `upstream` blocks that resolve `names` (name → "address:port") without DNS. */
export const nginxResolve = (names) => Object.entries(names).map(([n, a]) => `upstream ${n} {\n    server ${a};\n}\n`).join("");

/** Caddy: the public host's site block gets `tls <cert> <key>`; the global options bind to `address` on 80/443
 * (no admin endpoint, no certificate management, no OCSP: nothing leaves loopback). */
export function localiseCaddy(text, { address, certFile, keyFile, dir }) {
  const site = new RegExp(`^(${escapeRe(PUBLIC_HOST)}(?::443)?\\s*\\{)[^\\n]*\\n`, "m");
  if (!site.test(text)) throw new Error(`the Caddyfile has no ${PUBLIC_HOST} site block:\n${text}`);
  const body = text.replace(site, (line) => `${line}\ttls ${certFile} ${keyFile}\n`);
  return `{
	admin off
	default_bind ${address}
	http_port 80
	https_port 443
	storage file_system ${dir}/caddy-data
	ocsp_stapling off
	auto_https disable_certs
	log {
		level ERROR
	}
}
${body}`;
}

/**
 * Traefik flags: entry points' `:<port>` on `address`; `$TRAEFIK_ACME_EMAIL` filled; the ACME storage in `dir`;
 * the `/etc/pocketgate` mount on `keysDir`. Plus the harness's own flags (`harnessTraefikFlags`).
 */
export function localiseTraefikFlags(flags, { address, dir, keysDir }) {
  return flags.map((f) => f
    .replace(/^(--entrypoints\.[^.=]+\.address=):(\d+)$/i, `$1${address}:$2`)
    .replace("$TRAEFIK_ACME_EMAIL", "admin@example.com")
    .replace(/^(--certificatesresolvers\.[^.=]+\.acme\.storage=).*$/i, `$1${dir}/acme.json`)
    .replace(/^(--experimental\.localplugins\.[^.=]+\.settings\.mounts(?:\[\d+\])?=)\/etc\/pocketgate(?=:)/i, `$1${keysDir}`));
}

/** The harness's additions to Traefik's flags: the Docker API stand-in, every resolver's ACME server on a closed
 * loopback port, the test certificate as the default one (file provider), and the API on its own entry point (so a
 * suite can read which routers Traefik built: `/api/rawdata`). */
export function harnessTraefikFlags({ docker, resolvers, closedPort, defaultCertFile, apiAddress }) {
  return [
    `--providers.docker.endpoint=${docker}`,
    ...resolvers.map((r) => `--certificatesresolvers.${r}.acme.caserver=https://${closedPort}/directory`),
    `--providers.file.filename=${defaultCertFile}`,
    "--api.insecure=true", `--entrypoints.traefik.address=${apiAddress}`,
  ];
}

/** The certificate resolvers a flag list defines. */
export const resolversOf = (flags) => [...new Set(flags.map((f) => f.match(/^--certificatesresolvers\.([^.=]+)\./i)?.[1]).filter(Boolean))];

/** gs.sh's placeholders in NetBird's own text. */
export const fillNetbird = (text) => text.replaceAll("$NETBIRD_DOMAIN", PUBLIC_HOST);

// ---- deliberate mistakes ----------------------------------------------------------------------------------

/**
 * Named mistakes, each an edit of the generated text (`labels`: { service: [label] }, `flags`, `nginx`, `caddy`,
 * `capnp`) or of the page's input, applied by the topology before localisation. `applies` lists the topologies
 * (name or name/variant) it makes sense for.
 */
export const BROKEN_VARIANTS = {
  "traefik-no-tls": {
    what: "Traefik routers without tls=true (served as plain HTTP on :443, pkg/server/aggregator.go)",
    applies: ["combined-traefik", "combined-external/traefik", "legacy/traefik"],
    labels: (labels) => mapLabels(labels, (l) => (/\.routers\.[^.]+\.tls(\.|=)/i.test(l) ? null : l)),
  },
  "decoded-path-router": {
    what: "an ungated router that matches the decoded path and reaches management: the gated routers below the ungated ones, and the entry point without its encodedCharacters refusals, so /relay/..%2fapi/… takes an ungated router",
    applies: ["combined-traefik", "combined-external/traefik", "legacy/traefik"],
    flags: (flags) => flags.filter((f) => !/\.http\.encodedCharacters\./i.test(f)),
    labels: (labels) => mapLabels(labels, (l, all) => {
      const router = l.match(/^traefik\.http\.routers\.([^.]+)\.priority=/i)?.[1];
      return router && gatedRouters(all).has(router) ? l.replace(/=\d+$/, "=2") : l;
    }),
  },
  "catch-all-to-management": {
    what: "the catch-all (dashboard) router sent to the management server, without the gate",
    applies: ["combined-traefik", "combined-external", "legacy"],
    labels: (labels) => mapLabels(labels, (l, all) => {
      const dash = Object.keys(labels).find((s) => s.includes("dashboard"));
      if (!labels[dash]?.includes(l)) return l;
      if (/\.routers\.[^.]+\.middlewares=/i.test(l)) return null;
      const api = [...gatedRouters(all)].find((r) => !/dashboard/i.test(r));
      const service = all.find((x) => new RegExp(`^traefik\\.http\\.routers\\.${api}\\.service=`, "i").test(x))?.split("=")[1];
      return /\.routers\.[^.]+\.service=/i.test(l) && service ? l.replace(/=.*/, `=${service}`) : l;
    }),
    nginx: (text, { dashboard, management }) => text.replaceAll(dashboard, management),
    caddy: (text, { dashboard, management }) => text.replaceAll(dashboard, management),
  },
  "grpc-forward-auth": {
    what: "the gRPC router behind forward-auth (peers carry no user token: every call is refused)",
    applies: ["combined-traefik/forwardauth", "combined-external", "legacy"],
    labels: (labels) => mapLabels(labels, (l, all) => {
      const m = l.match(/^(traefik\.http\.routers\.([^.]+)\.middlewares=)(.*)$/i);
      const gate = gateMiddleware(all);
      return m && /grpc|signal|management$/i.test(m[2]) && !/dashboard|api/i.test(m[2]) ? `${m[1]}${m[3]},${gate}` : l;
    }),
    nginx: (text) => {
      const grpc = /(location [^\n]*SignalExchange[^\n]*\{\n)/;
      if (!grpc.test(text)) throw new Error(`grpc-forward-auth: the nginx configuration has no gRPC location:\n${text}`);
      return text.replace(grpc, "$1        auth_request /_gate/auth;\n");
    },
  },
  "default-timeouts": {
    what: "the proxy's timeouts left at their defaults (Traefik's entry-point readTimeout, nginx's grpc_read_timeout and client_body_timeout: 60 s cut a silent gRPC stream)",
    applies: ["combined-traefik", "combined-external/traefik", "legacy/traefik", "combined-external/nginx", "legacy/nginx"],
    flags: (flags) => flags.filter((f) => !/respondingTimeouts/i.test(f)),
    nginx: (text) => text.replace(/^[ \t]*(grpc_read_timeout|grpc_send_timeout|client_body_timeout|client_header_timeout|proxy_read_timeout|proxy_send_timeout)\s[^;]*;[^\n]*\n/gm, ""),
  },
  "dashboard-through-gate": {
    what: "DASHBOARD = protect: the proxy asks the gate for the dashboard, which then fails with the gate stopped",
    applies: ["combined-traefik/forwardauth", "combined-external", "legacy"],
    input: { dashboard: "protect" },
  },
  "issuer-trailing-slash": {
    what: "the gate's ISSUER with a trailing slash (PocketID's iss has none): every token is refused",
    applies: ["combined-traefik/forwardauth", "combined-external", "legacy"],
    capnp: (text) => text.replace(/(\(name = "ISSUER", text = "[^"]*?)\/?"\)/, '$1/")'),
  },
  "nginx-no-sni": {
    what: "nginx asks the https:// gate (a Worker on Cloudflare) without SNI (proxy_ssl_server_name is off by default): the edge refuses the handshake",
    applies: ["combined-external/nginx-cloudflare"],
    nginx: (text) => {
      if (!/^\s*proxy_ssl_server_name on;\n/m.test(text)) throw new Error(`nginx-no-sni: no proxy_ssl_server_name line:\n${text}`);
      return text.replace(/^\s*proxy_ssl_server_name on;\n/gm, "");
    },
  },
  "no-gate": {
    what: "NetBird's own configuration (getting-started.sh's labels): no gate at all",
    applies: ["combined-traefik/forwardauth"],
  },
};

/** Apply `fn(label, allLabels)` to every label of every service (null drops it). */
function mapLabels(labels, fn) {
  const all = Object.values(labels).flat();
  return Object.fromEntries(Object.entries(labels).map(([s, ls]) => [s, ls.map((l) => fn(l, all)).filter((l) => l !== null)]));
}

/** The forward-auth or plugin middleware's name in a label set. */
function gateMiddleware(all) {
  for (const l of all) {
    const m = l.match(/^traefik\.http\.middlewares\.([^.]+)\.(forwardauth|plugin)\./i);
    if (m) return m[1];
  }
  throw new Error("the labels define no forwardAuth or plugin middleware");
}

/** Routers whose middlewares include the gate. */
function gatedRouters(all) {
  const gate = gateMiddleware(all);
  const out = new Set();
  for (const l of all) {
    const m = l.match(/^traefik\.http\.routers\.([^.]+)\.middlewares=(.*)$/i);
    if (m && m[2].split(",").map((s) => s.trim().replace(/@.*$/, "")).includes(gate)) out.add(m[1]);
  }
  return out;
}
