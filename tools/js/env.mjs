// Where the repository and the tools live (installed by `cargo xtask setup`), what wrangler.toml pins, and a loud
// failure when something is missing.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const NODE_MODULES =
  process.env.POCKETGATE_NODE_MODULES ?? join(homedir(), ".cache/pocketgate/node/node_modules");
/** worker-build's output (`cargo xtask build`): the Worker the gate runs. */
export const BUILD = join(ROOT, "build");
export const WORKER_SCRIPT = join(BUILD, "index.js");

/** Fail (never skip) with a message saying how to get what is missing. */
export function need(path, how) {
  if (!existsSync(path)) throw new Error(`missing ${path}: ${how}`);
  return path;
}

let requireTools;
/** `require` for the packages installed in ~/.cache/pocketgate/node (miniflare, jose); checked on first use, so
 * importing this module (e.g. for a script's `--help`) needs nothing installed. */
export function toolRequire(name) {
  requireTools ??= createRequire(join(need(NODE_MODULES, "run `cargo xtask setup`"), "_.js"));
  return requireTools(name);
}

/** wrangler.toml's `compatibility_date`: the one place it is written; every workerd, miniflare and wrangler
 * configuration the tools generate reads it from there. */
export function compatibilityDate() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const m = toml.match(/^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"\s*$/m);
  if (!m) throw new Error("wrangler.toml has no compatibility_date = \"YYYY-MM-DD\" line");
  return m[1];
}
