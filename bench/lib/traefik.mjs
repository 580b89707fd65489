// Traefik for bench/traefik.mjs: one process per run, one router (`PathPrefix(/)`, entry point `web`) to one
// loopback upstream, with one middleware or none: a local wasm plugin (PocketGate, a baseline build of it, the
// floor plugin), a local Yaegi plugin (agilezebra/jwt-middleware, from a path given at run time, never committed),
// or forwardAuth. `debug`: Traefik's API entry point with /debug/pprof and /debug/vars (Go heap profile and
// memstats) and log level DEBUG (so the plugin's instance-start line is printed). Loopback only; stopped by PID.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild, untilReady } from "../../tools/js/child.mjs";
import { freePort } from "../../tools/js/net.mjs";
import { traefikBinary } from "../../tools/js/proxies.mjs";

/**
 * Start Traefik. `middleware`: YAML of the middleware (indented under its name) or null; `plugins`: { name:
 * { moduleName, src (a directory copied to plugins-local/src/<moduleName>), settings (YAML flow text) } }.
 * Returns { url, api, pid, dir, stop(), output() }.
 */
export async function startTraefik({ upstream, middleware = null, plugins = {}, debug = false, cpus }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-bench-traefik-"));
  const port = await freePort();
  const apiPort = await freePort();
  const local = Object.entries(plugins).map(([name, p]) => {
    const to = join(dir, "plugins-local/src", p.moduleName);
    mkdirSync(to, { recursive: true });
    cpSync(p.src, to, { recursive: true });
    return `    ${name}: {moduleName: "${p.moduleName}"${p.settings ? `, settings: ${p.settings}` : ""}}`;
  });
  const staticConf = `global: {checkNewVersion: false, sendAnonymousUsage: false}
entryPoints:
  web: {address: "127.0.0.1:${port}"}
${debug ? `  traefik: {address: "127.0.0.1:${apiPort}"}\napi: {insecure: true, dashboard: false, debug: true}\n` : ""}providers:
  file: {filename: "${dir}/dynamic.yml"}
log: {level: ${debug ? "DEBUG" : "ERROR"}}
${local.length ? `experimental:\n  localPlugins:\n${local.join("\n")}\n` : ""}`;
  const dynamic = `http:
${middleware ? `  middlewares:\n    gate:\n${middleware}\n` : ""}  routers:
    r: {rule: "PathPrefix(\`/\`)", entryPoints: [web], ${middleware ? "middlewares: [gate], " : ""}service: up}
  services:
    up: {loadBalancer: {servers: [{url: "${upstream}"}]}}
`;
  writeFileSync(join(dir, "traefik.yml"), staticConf);
  writeFileSync(join(dir, "dynamic.yml"), dynamic);
  const bin = traefikBinary();
  const [cmd, args] = cpus ? ["taskset", ["-c", cpus, bin]] : [bin, []];
  // Debug logs are needed whole (instance starts are counted from them): keep a large tail.
  const child = startChild(cmd, [...args, `--configFile=${join(dir, "traefik.yml")}`],
    { cwd: dir, env: { HOME: dir }, keep: debug ? 64 << 20 : 16_000 });
  const url = `http://127.0.0.1:${port}`;
  // The router exists once the file provider's configuration is loaded (404 before).
  await untilReady(child, () => fetch(`${url}/healthz`).then(async (r) => { await r.arrayBuffer(); return r.status; }),
    { accept: (s) => s !== 404, timeoutMs: 60_000, intervalMs: 50, what: "traefik" });
  return { url, api: debug ? `http://127.0.0.1:${apiPort}` : null, pid: child.proc.pid, dir, stop: child.stop,
    output: child.output, config: `${staticConf}\n---\n${dynamic}` };
}
