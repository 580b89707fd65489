// `cargo xtask demo --check` end to end: dev issuer + stand-in upstream + the gate under `wrangler dev`
// (serving the Worker already in build/, so no rebuild under the suites running next to it); allow, wrong
// group and expired token.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "../../tools/js/env.mjs";
import { freePort } from "../../tools/js/net.mjs";

test("demo --check: alice 200, bob 403, expired 401, forward-auth as printed", { timeout: 600_000 }, async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "tools/demo.mjs"), "--check", "--prebuilt", "--port", String(port)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  const code = await new Promise((r) => child.on("exit", r));
  assert.equal(code, 0, out);
  assert.match(out, /check alice: 200 qufabric-stand-in ok/);
  assert.match(out, /check bob: 403 group_not_allowed ok/);
  assert.match(out, /check expired: 401 token_expired ok/);
  assert.match(out, /check forward-auth: 200, without method 400 forwarded_headers_incomplete ok/);
  assert.match(out, /DEV ISSUER/);
  assert.match(out, new RegExp(`http://127.0.0.1:${port}/_gate/setup/`));
});
