// The floor Workers' workerd configurations: bench/workers/floor (one module) and bench/workers/verifyfloor (its
// module plus the floor's, imported as ./floor.js), copied into `dir`.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../tools/js/env.mjs";
import { writeConfig } from "../../tools/js/workerd.mjs";

/** Write Worker `name` ("floor" or "verifyfloor") with `bindings` listening on `port` into `dir`: the config's path. */
export function writeFloor(name, dir, bindings, port) {
  // Module file in `dir` → the Worker folder it is copied from.
  const files = {
    floor: { "index.js": "floor" },
    verifyfloor: { "index.js": "verifyfloor", "floor.js": "floor" },
  }[name];
  if (!files) throw new Error(`no floor Worker named ${name}`);
  for (const [file, worker] of Object.entries(files)) {
    copyFileSync(join(ROOT, `bench/workers/${worker}/index.js`), join(dir, file));
  }
  const modules = Object.keys(files).map((file) => ({ name: file, path: file, kind: "esModule" }));
  return writeConfig(dir, modules, bindings, port);
}
