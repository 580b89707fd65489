// NetBird's real deployment topologies on loopback, configured from the setup page's generated text (issue 20):
//
// - "combined-traefik": the combined `netbird-server` and the dashboard behind NetBird's built-in Traefik, started
//   with getting-started.sh's own flags plus the page's; routes from Docker labels, read by Traefik's real Docker
//   provider from the Docker Engine API stand-in. Variants: "forwardauth" (the self-hosted gate on workerd, one
//   more container) and "plugin" (the Traefik plugin; no gate container).
// - "combined-external": gs.sh's "existing reverse proxy" outputs around the same two containers: "nginx" and
//   "caddy" on the host (the containers published on 127.0.0.1:8081/8080, the gate a systemd workerd on
//   127.0.0.1:8787), "traefik" (an operator's Traefik on the compose network, the gate a container) and
//   "nginx-cloudflare" (nginx asking the Worker on Cloudflare: its `https://` URL, an edge stand-in that wants SNI).
// - "legacy": the standalone stack (PocketID the primary IdP): management, signal, relay and dashboard as separate
//   containers behind "nginx", "caddy" or "traefik", routed as nginx.tmpl.conf routes them.
//
// `startTopology({ file, name, variant, broken })` starts one (optionally with one BROKEN_VARIANTS mistake) and
// hands back how to reach it: its public URL, CA, addresses, clients, what each container recorded, tokens, the
// gate (stoppable), and `stop()`. Every process is started here and stopped by `stop()`. See topology-text.mjs
// for every change made to the generated text.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeList, composeServices } from "../../../tools/js/compose.mjs";
import { startCaddyfile, startNginxHttp, startTraefikFlags, traefikDefaultCertificate } from "../../../tools/js/deployproxies.mjs";
import { container as dockerContainer, startDockerApi } from "../../../tools/js/dockerapi.mjs";
import { startEdgeGate, wranglerVars } from "../../../tools/js/edgegate.mjs";
import { ROOT, need } from "../../../tools/js/env.mjs";
import { startIssuer } from "../../../tools/js/issuer.mjs";
import { sourceBound, topologyAddresses } from "../../../tools/js/loopnet.mjs";
import { pageGenerate } from "../../../tools/js/page.mjs";
import { publicClient } from "../../../tools/js/publicclient.mjs";
import { startSelfHostedGate } from "../../../tools/js/selfhostgate.mjs";
import { makeTestCA } from "../../../tools/js/testca.mjs";
import { startDashboard, startManagement, startNetbirdServer, startRelay, startSignal } from "./netbird-containers.mjs";
import {
  CONTAINER_NAMES, CONTAINER_PORTS, GS_BUILTIN_LABELS, GS_NGINX_AROUND, GS_TRAEFIK_COMMAND, LEGACY_NGINX_AROUND,
  LEGACY_RELAY_PORT_DEFAULT, OPERATOR_TRAEFIK_COMMAND,
} from "./netbird-fixtures.mjs";
import { UNGATED_PREFIXES } from "./netbird-paths.mjs";
import {
  BROKEN_VARIANTS, PUBLIC_HOST, WORKER_HOST, fillNetbird, harnessTraefikFlags, localiseCaddy, localiseHosts, localiseNginx,
  localiseTraefikFlags, nginxResolve, resolversOf,
} from "./topology-text.mjs";

export { BROKEN_VARIANTS, PUBLIC_HOST };

/** Every topology and its variants. */
export const TOPOLOGIES = {
  "combined-traefik": ["forwardauth", "plugin"],
  "combined-external": ["nginx", "caddy", "traefik", "nginx-cloudflare"],
  legacy: ["nginx", "caddy", "traefik"],
};

const PLUGIN_DIR = join(ROOT, "build/traefik/plugins-local/src/pocketgate");
// Each started process removes its exit listener when it ends (child.mjs); a topology runs up to a dozen at once.
process.setMaxListeners(Math.max(process.getMaxListeners(), 200));

/** The page's form for a topology (issue 20's contract, /work/plan/artifacts.md), before `input` overrides. */
function pageInput(name, variant, { issuer, jwks }) {
  const base = {
    domain: PUBLIC_HOST, display_name: "QuFabric", client_secret: "s3cr3t", groups: "netbird-users",
    pkce_ports: "53000, 54000", gate_mode: "forward_auth", dashboard: "bypass", public_api: "bypass",
    traefik_static: "flags", traefik_entrypoint: "websecure",
  };
  const traefikGate = { gate_host: "workerd", gate_url: "http://pocketgate:8080" };
  const hostGate = { gate_host: "workerd", gate_url: "http://127.0.0.1:8787" };
  if (name === "combined-traefik") {
    return { ...base, mode: "embedded", issuer, client_id: "qufabric", upstream: "http://netbird-server:80",
      dashboard_upstream: "http://netbird-dashboard:80", traefik_certresolver: "letsencrypt",
      ...(variant === "plugin" ? { gate_host: "traefik", gate_url: "", jwks } : traefikGate) };
  }
  if (name === "combined-external") {
    // gs.sh:420-421 MANAGEMENT_HOST_PORT 8081, DASHBOARD_HOST_PORT 8080 on get_upstream_host() = 127.0.0.1.
    const cloudflare = { gate_host: "cloudflare", gate_url: `https://${WORKER_HOST}` };
    return { ...base, mode: "embedded", issuer, client_id: "qufabric", upstream: "http://127.0.0.1:8081",
      dashboard_upstream: "http://127.0.0.1:8080", traefik_certresolver: "",
      ...(variant === "traefik" ? traefikGate : variant === "nginx-cloudflare" ? cloudflare : hostGate) };
  }
  // nginx.tmpl.conf:8-26's upstreams.
  return { ...base, mode: "standalone", issuer, client_id: "netbird", upstream: "http://127.0.0.1:8012",
    signal_upstream: "http://127.0.0.1:10000", relay_upstream: "http://127.0.0.1:33080",
    dashboard_upstream: "http://127.0.0.1:8011", traefik_certresolver: "", ...(variant === "traefik" ? traefikGate : hostGate) };
}

/** The page's artifacts for `input`: `{ id: content }`, and `get(id)` failing with the page's findings. */
async function generate(input) {
  const out = await pageGenerate(input);
  const artifacts = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((a) => [a.id, a.content]));
  const errors = out.findings.filter((f) => f.level === "error");
  const get = (id, why) => {
    if (typeof artifacts[id] !== "string") {
      throw new Error(`the setup page generated no ${id} (${why}); findings: ${JSON.stringify(errors.length ? errors : out.findings)}`);
    }
    return artifacts[id];
  };
  return { artifacts, get, findings: out.findings };
}

/** `host:port:container` publications of a compose service (`127.0.0.1:8012:443`) → [{ host, port, target }]. */
function publications(items) {
  return items.map((p) => {
    const m = String(p).match(/^(?:([\d.]+):)?(\d+):(\d+)(?:\/tcp)?$/);
    if (!m) throw new Error(`a port publication not read here: ${p}`);
    return { host: m[1] ?? "0.0.0.0", port: Number(m[2]), target: Number(m[3]) };
  });
}

/** A setup.env value (`NAME=value` or `NAME="value"`). */
function envValue(text, name) {
  const m = text.match(new RegExp(`^${name}=(?:"([^"]*)"|(\\S*))`, "m"));
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Literal path prefixes named by `rule`s (Traefik), `location` lines (nginx) and `path` matchers (Caddy). */
function namedPrefixes(text) {
  const out = new Set();
  for (const m of text.matchAll(/Path(?:Prefix)?\(`([^`]+)`\)/g)) out.add(m[1]);
  for (const line of text.split("\n").filter((l) => /^\s*(location\b|@\w+\s+path\b|path\b)/.test(l))) {
    for (const m of line.matchAll(/\/[A-Za-z][A-Za-z0-9._-]*/g)) out.add(m[0]);
  }
  return [...out].map((p) => p.replace(/[*$]+$/, "").replace(/\/$/, ""));
}

/**
 * Start topology `name`/`variant` for test file `file` (a tools/js/loopnet.mjs BLOCKS key), optionally `broken`
 * (a BROKEN_VARIANTS name), with `input` overriding page fields.
 */
export async function startTopology({ file, name, variant, broken = null, input: extraInput = {} }) {
  if (!TOPOLOGIES[name]?.includes(variant)) throw new Error(`no topology ${name}/${variant}`);
  const mistake = broken ? BROKEN_VARIANTS[broken] : null;
  if (broken && !mistake) throw new Error(`no broken variant "${broken}" (${Object.keys(BROKEN_VARIANTS).join(", ")})`);
  if (mistake && !mistake.applies.some((a) => a === name || a === `${name}/${variant}`)) {
    throw new Error(`broken variant "${broken}" does not apply to ${name}/${variant}`);
  }
  const addr = topologyAddresses(file);
  const dir = mkdtempSync(join(tmpdir(), `pocketgate-${name}-${variant}-`));
  mkdirSync(join(dir, "ca"));
  const ca = makeTestCA([PUBLIC_HOST, WORKER_HOST], { dir: join(dir, "ca") });
  const stops = [];
  const t = {
    name, variant, broken, host: PUBLIC_HOST, url: `https://${PUBLIC_HOST}`, ca: ca.ca, caFile: ca.caFile, dir,
    proxyAddress: addr.of("proxy"), clientAddress: addr.of("client"), hostAddress: addr.of("host"), addresses: addr,
    containers: {}, transformations: [],
  };
  t.stop = async () => { for (const s of stops.reverse()) await s().catch(() => {}); };
  try {
    const embedded = name !== "legacy";
    const hosts = { "127.0.0.1": addr.of("host"), pocketgate: addr.of("pocketgate") };
    // ---- containers that the page's input depends on ----
    // PocketID: the primary IdP (standalone), or the connector behind the embedded IdP (the page's `issuer`).
    const pocketid = await startIssuer({ clientId: embedded ? "qufabric" : "netbird" });
    stops.push(() => pocketid.close());
    t.pocketid = pocketid;
    t.pocketidIssuer = pocketid.url;
    if (embedded) {
      const pub = name === "combined-external" && variant !== "traefik";
      // gs.sh:1187, 1203 render_docker_compose_exposed_ports: dashboard 127.0.0.1:8080:80, netbird-server 127.0.0.1:8081:80.
      const server = await startNetbirdServer({ issuer: `https://${PUBLIC_HOST}/oauth2`, listen: [
        { host: addr.of("netbird-server"), port: CONTAINER_PORTS.combined["netbird-server"][0] },
        ...(pub ? [{ host: addr.of("host"), port: 8081 }] : [])] });
      stops.push(() => server.close());
      const dashboard = await startDashboard({ listen: [
        { host: addr.of("dashboard"), port: CONTAINER_PORTS.combined.dashboard[0] }, ...(pub ? [{ host: addr.of("host"), port: 8080 }] : [])] });
      stops.push(() => dashboard.close());
      Object.assign(t.containers, { "netbird-server": server, dashboard });
      Object.assign(hosts, { "netbird-server": addr.of("netbird-server"), "netbird-dashboard": addr.of("dashboard") });
      t.api = server;
      t.grpcOf = { management: server, signal: server };
      t.wsOf = { "/relay": server, "/ws-proxy/signal": server, "/ws-proxy/management": server };
      const user = (userId, groups) => server.dexToken({ userId, connector: "pocketid-d0c5n0g", groups, email: `${userId}@example.com` });
      t.tokens = { allowed: () => user("alice", ["netbird-users"]), wrongGroup: () => user("bob", ["contractors"]) };
      t.gateIssuer = server.issuer;
    } else {
      t.gateIssuer = pocketid.url;
      t.tokens = {
        allowed: () => pocketid.idToken({ name: "alice", groups: ["netbird-users"] }),
        wrongGroup: () => pocketid.idToken({ name: "bob", groups: ["contractors"] }),
      };
    }

    // ---- the page ----
    const jwks = embedded ? JSON.stringify({ keys: await idpKeys(t.containers["netbird-server"]) }) : undefined;
    const input = { ...pageInput(name, variant, { issuer: pocketid.url, jwks }), ...(mistake?.input ?? {}), ...extraInput };
    t.input = input;
    const page = await generate(input);
    t.artifacts = page.artifacts;

    // ---- the legacy stack's containers, where the generated files put them ----
    if (!embedded) {
      const setupEnv = page.get("qufabric_setup_env", "standalone mode's setup.env");
      const relayPort = Number(envValue(setupEnv, "NETBIRD_RELAY_PORT") || LEGACY_RELAY_PORT_DEFAULT);
      let pubs = { management: [], signal: [], relay: [], dashboard: [] };
      if (variant !== "traefik") {
        const override = page.get("qufabric_compose_override", "the legacy stack's published ports must not collide with the proxy on 443");
        const services = composeServices(override);
        for (const s of Object.keys(pubs)) pubs[s] = publications(services[s]?.ports?.items ?? []);
      }
      const listenOf = (svc, ports) => [
        ...ports.map((port) => ({ host: addr.of(svc), port })),
        ...pubs[svc].filter((p) => ports.includes(p.target)).map((p) => ({ host: p.host === "127.0.0.1" ? addr.of("host") : p.host, port: p.port })),
      ];
      for (const [svc, p] of Object.entries(pubs)) {
        const ports = svc === "relay" ? [relayPort] : CONTAINER_PORTS.legacy[svc];
        const stray = p.filter((x) => !ports.includes(x.target));
        if (stray.length) throw new Error(`the generated override publishes ${svc} ports it does not listen on: ${JSON.stringify(stray)}`);
      }
      const management = await startManagement({ listen: listenOf("management", CONTAINER_PORTS.legacy.management) });
      stops.push(() => management.close());
      const signal = await startSignal({ listen: listenOf("signal", CONTAINER_PORTS.legacy.signal) });
      stops.push(() => signal.close());
      const relay = await startRelay({ listen: listenOf("relay", [relayPort]) });
      stops.push(() => relay.close());
      const dashboard = await startDashboard({ listen: listenOf("dashboard", CONTAINER_PORTS.legacy.dashboard) });
      stops.push(() => dashboard.close());
      Object.assign(t.containers, { management, signal, relay, dashboard });
      Object.assign(hosts, { management: addr.of("management"), signal: addr.of("signal"), relay: addr.of("relay"), dashboard: addr.of("dashboard") });
      t.api = management;
      t.grpcOf = { management, signal };
      t.wsOf = { "/relay": relay, "/ws-proxy/signal": signal, "/ws-proxy/management": management };
      t.relayPort = relayPort;
    }
    t.dashboard = t.containers.dashboard;

    // ---- the gate ----
    const proxyKind = { forwardauth: "traefik", plugin: "traefik", "nginx-cloudflare": "nginx" }[variant] ?? variant;
    t.proxyKind = proxyKind;
    const outbound = embedded ? { address: `${t.proxyAddress}:443`, host: PUBLIC_HOST, ca: ca.ca } : undefined;
    if (broken === "no-gate") {
      t.gate = { kind: "none", logs: () => [], output: () => "", stop: null, start: null };
    } else if (input.gate_host === "cloudflare") {
      // The operator's edit of the pasted [vars]: uncomment their proxy's FORWARDED_HEADERS line.
      const vars = { ...wranglerVars(page.get("gate_wrangler_vars", "the Worker's variables")), FORWARDED_HEADERS: proxyKind, LOG: "all" };
      const edge = await startEdgeGate({ vars, host: WORKER_HOST, address: addr.of("edge"), cert: ca.cert, key: ca.key, outbound });
      stops.push(() => edge.close());
      t.edge = edge;
      t.gate = { kind: "cloudflare", url: edge.url, logs: edge.logs, output: edge.output, stop: edge.stop, start: edge.start };
    } else if (variant !== "plugin") {
      let capnp = page.get("gate_workerd_config", "the self-hosted gate");
      if (mistake?.capnp) capnp = mistake.capnp(capnp);
      const gateHost = new URL(input.gate_url).hostname;
      const gate = await startSelfHostedGate(capnp, {
        address: hosts[gateHost] ?? (() => { throw new Error(`gate_url host ${gateHost} has no loopback address`); })(),
        forwarded: proxyKind,
        outbound,
        bindings: { LOG: "all" },
        args: process.env.POCKETGATE_WORKERD_VERBOSE ? ["--verbose"] : [],
      });
      stops.push(() => gate.stop());
      t.gate = { kind: "workerd", url: gate.url, logs: gate.logs, output: gate.output, stop: gate.stop, start: gate.start, config: gate.config, dir: gate.dir };
    } else {
      t.gate = { kind: "plugin", logs: () => [], output: () => t.proxy?.output() ?? "", stop: null, start: null };
    }

    // ---- the proxy ----
    t.client = publicClient({ host: PUBLIC_HOST, address: t.proxyAddress, ca: ca.ca, from: t.clientAddress });
    const ready = async () => {
      // Routers exist once /api answers anything but 404 (over TLS, or plain HTTP on 443 for a router without TLS;
      // a broken gate may answer 5xx: ready all the same).
      const tls = await t.client.request("/api/peers", { timeoutMs: 2000 }).catch(() => null);
      if (tls && tls.status !== 404) return true;
      const plain = await plainOn443(t);
      return Boolean(plain && plain.status !== 404);
    };
    if (proxyKind === "traefik") await startTraefikTopology(t, { name, variant, page, mistake, hosts, ca, dir, ready, stops, embedded });
    else if (proxyKind === "nginx") await startNginxTopology(t, { name, page, mistake, hosts, ca, ready, stops });
    else await startCaddyTopology(t, { page, mistake, hosts, ca, dir, ready, stops });

    // ---- how to reach it ----
    const fwd = await sourceBound({ host: t.proxyAddress, port: 443, localAddress: t.clientAddress });
    stops.push(() => fwd.close());
    t.grpcTarget = { address: fwd.address, host: PUBLIC_HOST, ca: ca.ca };
    t.ungatedPrefixes = [...new Set([...UNGATED_PREFIXES, ...namedPrefixes(t.proxyConfig)])];
    // The shape issue 21's live check asks for (/work/plan/topo-requests.md).
    Object.assign(t, { address: t.proxyAddress, port: 443 });
    t.tokens.denied = t.tokens.wrongGroup;
    t.stopGate = async () => {
      if (!t.gate.stop) throw new Error(`${name}/${variant}: the gate is ${t.gate.kind}, not a process of its own`);
      await t.gate.stop();
    };
    t.startGate = async () => { await t.gate.start(); };
    return t;
  } catch (e) {
    await t.stop();
    throw e;
  }
}

/** The embedded IdP's public key set, read from the container (what the operator pastes into the page's `jwks`). */
async function idpKeys(server) {
  const r = await fetch(`${server.url(0)}/oauth2/keys`);
  return (await r.json()).keys;
}

/** GET /api/peers over plain HTTP to the proxy's port 443 (a router without TLS). */
function plainOn443(t) {
  return publicClient({ host: PUBLIC_HOST, address: t.proxyAddress, httpPort: 443, from: t.clientAddress }).plain("/api/peers").catch(() => null);
}

/** Traefik from flags (gs.sh's or an operator's, plus the page's), routes from the page's Docker labels. */
async function startTraefikTopology(t, { name, variant, page, mistake, hosts, ca, dir, ready, stops, embedded }) {
  const plugin = variant === "plugin";
  const staticId = plugin ? "gate_traefik_plugin_static" : "gate_traefik_static";
  const staticText = t.broken === "no-gate" ? "services:\n  traefik:\n    command: []\n" : page.get(staticId, "the Traefik static configuration, as flags");
  const services = composeServices(staticText);
  if (!services.traefik?.command?.items) {
    throw new Error(`the page's ${staticId} is no list of flags for the traefik service's command: (NetBird's Traefik takes its static configuration only as flags, gs.sh:840-866; a traefik.yml would replace them all, traefik pkg/cli/loader_file.go):\n${staticText}`);
  }
  const generatedFlags = services.traefik.command.items;
  const work = mkdtempSync(join(dir, "traefik-"));
  const keysDir = join(work, "etc-pocketgate");
  mkdirSync(keysDir);
  if (plugin) {
    const volumes = services.traefik.volumes?.items ?? [];
    for (const need_ of ["/plugins-local", "/etc/pocketgate"]) {
      if (!volumes.some((v) => v.split(":")[1] === need_)) throw new Error(`the page's ${staticId} mounts nothing on ${need_} in the traefik service:\n${staticText}`);
    }
    cpSync(need(PLUGIN_DIR, "run `cargo xtask build` (it builds the Traefik plugin)"), join(work, "plugins-local/src/pocketgate"), { recursive: true });
    writeFileSync(join(keysDir, "jwks.json"), page.get("gate_traefik_plugin_jwks", "the plugin's key file"));
  }
  const base = name === "combined-traefik" ? GS_TRAEFIK_COMMAND : OPERATOR_TRAEFIK_COMMAND;
  let flags = [...base, ...generatedFlags];
  if (mistake?.flags) flags = mistake.flags(flags);
  flags = localiseTraefikFlags(flags, { address: t.proxyAddress, dir: work, keysDir });
  // ---- labels → containers in the Docker API stand-in ----
  let labels;
  if (t.broken === "no-gate") {
    labels = Object.fromEntries(Object.entries(GS_BUILTIN_LABELS).map(([s, ls]) => [s, ls.map(fillNetbird)]));
  } else {
    const labelsText = page.get(plugin ? "gate_traefik_plugin_labels" : "gate_traefik_labels", "the Docker labels");
    labels = Object.fromEntries(Object.keys(composeServices(labelsText)).map((s) => [s, composeList(labelsText, s, "labels")]));
  }
  if (mistake?.labels) labels = mistake.labels(labels);
  const stack = embedded ? "combined" : "legacy";
  const names = CONTAINER_NAMES[stack];
  const project = embedded ? "netbird" : "artifacts";
  const network = embedded ? "netbird" : "default";
  const containers = Object.entries(names).map(([svc, cname]) => {
    const ports = stack === "legacy" && svc === "relay" ? [t.relayPort] : CONTAINER_PORTS[stack][svc];
    return dockerContainer({ name: cname, service: svc, project, network, ip: t.addresses.of(svc === "netbird-server" ? "netbird-server" : svc),
      labels: Object.fromEntries((labels[svc] ?? []).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])),
      ports: ports.map((p) => `${p}/tcp`) });
  });
  const unknown = Object.keys(labels).filter((s) => !names[s]);
  if (unknown.length) throw new Error(`the labels name services this stack does not have: ${unknown.join(", ")}`);
  if (t.gate.kind === "workerd") containers.push(dockerContainer({ name: "pocketgate", project, network, ip: hosts.pocketgate, ports: ["8080/tcp"] }));
  const docker = await startDockerApi(containers, { dir: mkdtempSync(join(dir, "docker-")) });
  stops.push(() => docker.close());
  t.docker = docker;
  // Names in label values (the forwardAuth address) → addresses.
  for (const c of containers) for (const [k, v] of Object.entries(c.labels)) c.labels[k] = localiseHosts(v, hosts);
  const defaultCertFile = traefikDefaultCertificate(work, ca);
  const apiAddress = `${t.proxyAddress}:8080`;
  flags.push(...harnessTraefikFlags({ docker: docker.endpoint, resolvers: resolversOf(flags), closedPort: `${t.hostAddress}:1`, defaultCertFile, apiAddress }));
  t.transformations.push("traefik flags", ...flags);
  const proxy = await startTraefikFlags({ flags, cwd: work, ready, what: `traefik (${name}/${variant})` });
  stops.push(() => proxy.stop());
  t.proxy = proxy;
  t.proxyConfig = [...flags, ...Object.values(labels).flat()].join("\n");
  t.labels = labels;
  t.rawdata = async () => (await fetch(`http://${apiAddress}/api/rawdata`)).json();
}

/** nginx on the host: NetBird's text around the page's HTTPS server. */
async function startNginxTopology(t, { name, page, mistake, hosts, ca, ready, stops }) {
  let server = page.get("gate_nginx", "the nginx configuration");
  if (mistake?.nginx) server = mistake.nginx(server, { dashboard: t.input.dashboard_upstream.replace(/^https?:\/\//, ""), management: t.input.upstream.replace(/^https?:\/\//, "") });
  const around = name === "legacy" ? LEGACY_NGINX_AROUND : fillNetbird(GS_NGINX_AROUND);
  const resolve = t.edge ? nginxResolve({ [WORKER_HOST]: `${t.addresses.of("edge")}:443` }) : "";
  const http = localiseNginx(localiseHosts(`${resolve}${around}\n${server}`, hosts), { address: t.proxyAddress, certFile: ca.chainFile, keyFile: ca.keyFile });
  const proxy = await startNginxHttp({ http, ready, what: `nginx (${name})` });
  stops.push(() => proxy.stop());
  t.proxy = proxy;
  t.proxyConfig = http;
}

/** Caddy on the host: the page's site block. */
async function startCaddyTopology(t, { page, mistake, hosts, ca, dir, ready, stops }) {
  let site = page.get("gate_caddy", "the Caddyfile");
  if (mistake?.caddy) site = mistake.caddy(site, { dashboard: t.input.dashboard_upstream.replace(/^https?:\/\//, ""), management: t.input.upstream.replace(/^https?:\/\//, "") });
  const caddyfile = localiseCaddy(localiseHosts(site, hosts), { address: t.proxyAddress, certFile: ca.chainFile, keyFile: ca.keyFile, dir });
  const proxy = await startCaddyfile({ caddyfile, ready, what: `caddy (${t.name})` });
  stops.push(() => proxy.stop());
  t.proxy = proxy;
  t.proxyConfig = caddyfile;
}
