// Where the repository and the tools live (installed by `cargo xtask setup`), and a loud failure when something
// is missing.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const NODE_MODULES =
  process.env.POCKETGATE_NODE_MODULES ?? join(homedir(), ".cache/pocketgate/node/node_modules");
export const WORKER_SCRIPT = join(ROOT, "build/index.js");

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
