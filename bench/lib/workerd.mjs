// One Worker in the real workerd binary (the one miniflare and wrangler ship), served straight from a generated
// capnp config: no miniflare entry worker, no wrangler proxy and no Node process in the request path, so the
// three Workers are measured with exactly the same runtime in front of them.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { NODE_MODULES, need } from "../../tools/js/env.mjs";

export const WORKERD = join(NODE_MODULES, "@cloudflare/workerd-linux-64/bin/workerd");
export const COMPAT_DATE = "2025-09-01";

const str = (s) => JSON.stringify(String(s));

/**
 * Write `<dir>/config.capnp` for `modules` ([{name, path, kind: "esModule"|"wasm"}]) and text `bindings`.
 * Outbound fetch goes to the loopback issuer through the "internet" service (local addresses allowed).
 */
export function writeConfig(dir, modules, bindings, port) {
  mkdirSync(dir, { recursive: true });
  const mods = modules.map((m) => `(name = ${str(m.name)}, ${m.kind} = embed ${str(m.path)})`).join(",\n        ");
  const binds = Object.entries(bindings).map(([k, v]) => `(name = ${str(k)}, text = ${str(v)})`).join(",\n        ");
  const file = join(dir, "config.capnp");
  writeFileSync(file, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [
        ${mods}
      ],
      compatibilityDate = ${str(COMPAT_DATE)},
      bindings = [
        ${binds}
      ],
    )),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = ${str(`127.0.0.1:${port}`)}, http = (), service = "main") ],
);
`);
  return file;
}

/**
 * Start workerd on `config` and wait until `probe()` (a request through it) answers 200. Returns
 * { proc, readyMs, stop() }: readyMs = spawn → first answered request (the cold start).
 */
export async function startWorkerd(config, probe, { timeoutMs = 20000, args = [] } = {}) {
  need(WORKERD, "run `cargo xtask setup` (npm package @cloudflare/workerd-linux-64)");
  const t0 = performance.now();
  // stdout carries the Workers' console.log lines (the gate logs one per request): discard them cheaply.
  const proc = spawn(WORKERD, ["serve", basename(config), "--experimental", ...args], {
    cwd: join(config, ".."),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => { stderr = (stderr + d).slice(-4000); });
  let exited = null;
  proc.on("exit", (code, sig) => { exited = `exit ${code ?? sig}`; });
  const stop = () => new Promise((r) => {
    if (exited) return r();
    proc.once("exit", () => r());
    proc.kill("SIGTERM");
  });
  for (;;) {
    if (exited) throw new Error(`workerd ${exited}: ${stderr}`);
    if (performance.now() - t0 > timeoutMs) {
      await stop();
      throw new Error(`workerd did not answer within ${timeoutMs} ms: ${stderr}`);
    }
    let status;
    try {
      status = await probe();
    } catch (e) {
      if (e?.code !== "ECONNREFUSED" && e?.code !== "ECONNRESET") {
        await stop();
        throw e;
      }
    }
    if (status === 200) return { proc, readyMs: performance.now() - t0, stop, stderr: () => stderr };
    if (status !== undefined) {
      await stop();
      throw new Error(`first answer was ${status}, expected 200 (${stderr})`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}
