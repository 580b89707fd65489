// Reverse proxies started the way a deployment starts them, for the deployment-shaped tests: Traefik from a list
// of command-line flags (NetBird's getting-started.sh configures its Traefik only with flags), nginx from a whole
// `http` block, Caddy from a whole Caddyfile, each with TLS on its loopback 443. proxies.mjs (snippets on plain
// loopback ports) stays as the other suites use it; this module reuses its nginx.conf frame, its binaries' lookups
// and child.mjs.
//
// The configuration text is the caller's (the topology writes it from the page's and NetBird's text); these
// functions only run it, wait until it answers, and stop it by PID.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild, untilReady } from "./child.mjs";
import { caddyCommand, nginxCommand, nginxConf, traefikBinary } from "./proxies.mjs";

/** Wait until `ready()` resolves truthy (a thrown error or falsy: not yet), failing with the child's output. */
async function whenReady(child, ready, what, timeoutMs = 20_000) {
  await untilReady(child, async () => ((await ready()) ? 200 : 503), { timeoutMs, intervalMs: 100, what });
}

/**
 * Traefik with exactly `flags` (an array of `--name=value`) and no configuration file: Traefik reads its static
 * configuration from a file *or* from flags, and a `traefik.yml|yaml|toml` found in /etc/traefik, $XDG_CONFIG_HOME,
 * $HOME/.config or the working directory wins over every flag (traefik cmd/traefik/traefik.go:58 loader order,
 * pkg/cli/loader_file.go loadConfigFiles). So the working directory `cwd` (default: a new folder; local plugins
 * load from its `plugins-local/`) must hold none, and HOME and XDG_CONFIG_HOME point at a fresh folder.
 * `ready()`: resolves truthy once the routers answer. Returns the child (`output()`, `exited()`, `stop()`),
 * `flags` and `dir`.
 */
export async function startTraefikFlags({ flags, cwd, ready, what = "traefik" }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-traefik-flags-"));
  cwd ??= dir;
  for (const ext of ["toml", "yaml", "yml"]) {
    if (existsSync(join(cwd, `traefik.${ext}`))) throw new Error(`${cwd}/traefik.${ext} would replace every flag`);
  }
  const bad = flags.filter((f) => !/^--[a-zA-Z0-9.[\]_-]+(=.*)?$/s.test(f));
  if (bad.length) throw new Error(`not Traefik flags: ${JSON.stringify(bad)}`);
  const child = startChild(traefikBinary(), flags, { cwd, env: { HOME: dir, XDG_CONFIG_HOME: join(dir, "xdg") } });
  if (ready) await whenReady(child, ready, what);
  return { ...child, flags, dir, kind: "traefik" };
}

/**
 * The file-provider document that makes `certFile`/`keyFile` Traefik's default certificate (what it serves when a
 * router's certificate resolver has none), written to `dir`/tls-default.yml. Returns its path.
 */
export function traefikDefaultCertificate(dir, { certFile, keyFile }) {
  const file = join(dir, "tls-default.yml");
  writeFileSync(file, `tls:\n  stores:\n    default:\n      defaultCertificate:\n        certFile: ${JSON.stringify(certFile)}\n        keyFile: ${JSON.stringify(keyFile)}\n`);
  return file;
}

/**
 * Debian's nginx with `http` (the inside of the `http { }` block: upstreams and servers, TLS listeners included)
 * in the foreground with one worker, its temporary files and logs in a new folder. Returns the child, `config`
 * (the whole nginx.conf) and `dir`.
 */
export async function startNginxHttp({ http, ready, what = "nginx" }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-nginx-deploy-"));
  const config = nginxConf(dir, http, { errorLevel: "info", connections: 256 });
  writeFileSync(join(dir, "nginx.conf"), config);
  const child = startChild(...nginxCommand(dir), {});
  if (ready) await whenReady(child, ready, what);
  return { ...child, config, dir, kind: "nginx", errorLog: join(dir, "error.log") };
}

/**
 * Debian's Caddy with `caddyfile` (whole: global options and site blocks) and its data in a new folder (`admin
 * off` is the caller's to set). Returns the child, `config` and `dir`.
 */
export async function startCaddyfile({ caddyfile, ready, what = "caddy" }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-caddy-deploy-"));
  writeFileSync(join(dir, "Caddyfile"), caddyfile);
  const child = startChild(...caddyCommand(dir),
    { env: { HOME: dir, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "config") } });
  if (ready) await whenReady(child, ready, what);
  return { ...child, config: caddyfile, dir, kind: "caddy" };
}
