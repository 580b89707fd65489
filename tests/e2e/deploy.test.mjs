// `cargo xtask deploy`: it refuses wrangler.toml's demo [vars] (the loopback dev issuer), naming the setting and
// the fix, and `--dry-run` with real values bundles the Worker offline (wrangler deploy --dry-run --outdir).
// The dry run uses a copy of the configuration whose [build] is a no-op, pointing at the build/ that
// `cargo xtask test` built just before (worker-build itself is exercised by every gate-*.test.mjs file).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ROOT, WORKER_SCRIPT, compatibilityDate, need } from "../../tools/js/env.mjs";

function xtask(...args) {
  const r = spawnSync("cargo", ["xtask", "deploy", ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function files(dir) {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

describe("cargo xtask deploy", () => {
  test("refuses the demo's loopback issuer from wrangler.toml [vars], naming the setting and the fix", () => {
    const { status, out } = xtask("--dry-run");
    assert.notEqual(status, 0, out);
    assert.match(out, /refusing to deploy/);
    assert.match(out, /ISSUER = http:\/\/127\.0\.0\.1:9010 in wrangler\.toml \[vars\]/);
    assert.match(out, /wrangler\.vars\.toml/);
    assert.match(out, /--var ISSUER:/);
    assert.doesNotMatch(out, /wrangler deploy --dry-run/, "nothing is built or run after a refusal");
  });

  test("--dry-run with real values produces a bundle, offline", { timeout: 120_000 }, () => {
    need(WORKER_SCRIPT, "run `cargo xtask build` (the Worker build)");
    const dir = mkdtempSync(join(tmpdir(), "pocketgate-deploy-"));
    try {
      const config = join(dir, "wrangler.toml");
      writeFileSync(
        config,
        [
          'name = "pocketgate"',
          `main = ${JSON.stringify(WORKER_SCRIPT)}`,
          `compatibility_date = "${compatibilityDate()}"`,
          "[build]",
          'command = "true"',
          "[assets]",
          `directory = ${JSON.stringify(join(ROOT, "www"))}`,
          'binding = "ASSETS"',
          "run_worker_first = true",
          "[vars]",
          'ISSUER = "https://id.example.com"',
          'AUDIENCE = "qufabric"',
          'ALLOW_GROUPS = "netbird-users"',
          "",
        ].join("\n"),
      );
      const out = join(dir, "out");
      const r = xtask("--dry-run", "--", "--config", config, "--outdir", out);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /--dry-run/);
      const bundle = files(out).map((f) => f.slice(out.length + 1));
      assert.ok(bundle.some((f) => f.endsWith(".js")), `no JavaScript in the bundle: ${bundle}`);
      assert.ok(bundle.some((f) => f.endsWith(".wasm")), `no WebAssembly in the bundle: ${bundle}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
