// A Worker in the bare workerd binary (the one miniflare and wrangler run), served from a generated capnp config:
// no miniflare entry worker, no wrangler proxy and no Node process in the request path. The benchmark runs every
// Worker it compares this way; the gate's own config is written by gate.mjs (writeGateConfig).
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { startChild, untilReady } from "./child.mjs";
import { NODE_MODULES, compatibilityDate, need } from "./env.mjs";

/** The npm `workerd` package's binary (installed with miniflare by `cargo xtask setup`). */
export const WORKERD = join(NODE_MODULES, "workerd/bin/workerd");

const str = (s) => JSON.stringify(String(s));

/**
 * Write `<dir>/config.capnp` for `modules` ([{name, path, kind: "esModule"|"wasm"}], paths relative to `dir`) and
 * text `bindings`, listening on 127.0.0.1:`port`, at wrangler.toml's compatibility date. Outbound fetch goes
 * through the "internet" service with local addresses allowed (the loopback issuer and upstream).
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
      compatibilityDate = ${str(compatibilityDate())},
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

/** The arguments that serve `config` (run from its folder: its modules are embedded by relative path). */
export const serveArgs = (config, extra = []) => ["serve", basename(config), "--experimental", ...extra];

/**
 * workerd with `args` from `cwd`, ready once `probe()` answers 200 (child.mjs `untilReady`; `strict`: its first
 * answer must be 200). `stdout: false` discards the Workers' console lines. Returns the child (`proc`, `output()`,
 * `stop()`) and `readyMs`: spawn → first good answer, the cold start.
 */
export async function startWorkerd(args, { cwd, probe, strict = false, stdout = true, timeoutMs = 20_000 }) {
  const binary = need(WORKERD, "run `cargo xtask setup` (npm package workerd)");
  const t0 = performance.now();
  const child = startChild(binary, args, { cwd, stdout });
  await untilReady(child, probe, { strict, timeoutMs, what: "workerd" });
  return { ...child, readyMs: performance.now() - t0 };
}
