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
import { pageGenerate } from "../../tools/js/page.mjs";

function xtask(...args) {
  const r = spawnSync("cargo", ["xtask", "deploy", ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function files(dir) {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

/** A wrangler.toml for the dry runs: no-op [build], the built Worker, `vars` lines last (as in the repository's). */
function config(dir, varsAndAfter) {
  const file = join(dir, "wrangler.toml");
  writeFileSync(file, [
    'name = "pocketgate"',
    `main = ${JSON.stringify(WORKER_SCRIPT)}`,
    `compatibility_date = "${compatibilityDate()}"`,
    "[build]",
    'command = "true"',
    "[assets]",
    `directory = ${JSON.stringify(join(ROOT, "www"))}`,
    'binding = "ASSETS"',
    "run_worker_first = true",
    varsAndAfter,
  ].join("\n"));
  return file;
}

/** The setup page's proxy-mode outputs for vpn.example.co.uk (zone example.co.uk). */
async function proxyMode() {
  const out = await pageGenerate({
    domain: "vpn.example.co.uk", issuer: "https://id.example.com", mode: "standalone", display_name: "QuFabric",
    client_id: "qufabric", groups: "netbird-users", pkce_ports: "53000", gate_mode: "proxy",
    upstream: "https://mgmt.example.co.uk", cloudflare_zone: "example.co.uk",
  });
  const a = Object.fromEntries(out.sections.flatMap((s) => s.artifacts).map((x) => [x.id, x.content]));
  assert.ok(a.gate_wrangler_routes, JSON.stringify(out.findings));
  return a;
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

  test("refuses proxy mode with the routes pasted into [vars], or with no route, naming the fix", async () => {
    // Fails on main: the page's old `routes = [...]` block appended after [vars] deployed without a route.
    const dir = mkdtempSync(join(tmpdir(), "pocketgate-deploy-"));
    try {
      const { gate_wrangler_vars: vars } = await proxyMode();
      const legacy = 'routes = [\n  { pattern = "vpn.example.co.uk/api", zone_name = "example.co.uk" },\n]\n';
      for (const [what, tail] of [["routes in [vars]", vars + legacy], ["no route", vars]]) {
        const r = xtask("--dry-run", "--", "--config", config(dir, tail), "--outdir", join(dir, "out"));
        assert.notEqual(r.status, 0, `${what}: ${r.out}`);
        assert.match(r.out, /refusing to deploy/, what);
        assert.match(r.out, /UPSTREAM is set \(proxy mode\) but .*wrangler\.toml routes nothing/, what);
        if (what === "routes in [vars]") assert.match(r.out, /`routes` is inside .*wrangler\.toml \[vars\]/);
        assert.doesNotMatch(r.out, /wrangler deploy --dry-run/, "nothing is built or run after a refusal");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the page's proxy-mode [vars] and [[routes]] appended as they come: accepted, and wrangler bundles them", { timeout: 120_000 }, async () => {
    need(WORKER_SCRIPT, "run `cargo xtask build` (the Worker build)");
    const dir = mkdtempSync(join(tmpdir(), "pocketgate-deploy-"));
    try {
      const { gate_wrangler_vars: vars, gate_wrangler_routes: routes } = await proxyMode();
      assert.match(routes, /^zone_name = "example\.co\.uk"$/m, "the zone the operator named, never guessed");
      const out = join(dir, "out");
      const r = xtask("--dry-run", "--", "--config", config(dir, `${vars}\n${routes}`), "--outdir", out);
      assert.equal(r.status, 0, r.out);
      assert.ok(files(out).some((f) => f.endsWith(".wasm")), r.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--dry-run with real values produces a bundle, offline", { timeout: 120_000 }, () => {
    need(WORKER_SCRIPT, "run `cargo xtask build` (the Worker build)");
    const dir = mkdtempSync(join(tmpdir(), "pocketgate-deploy-"));
    try {
      const vars = '[vars]\nISSUER = "https://id.example.com"\nAUDIENCE = "qufabric"\nALLOW_GROUPS = "netbird-users"\n';
      const out = join(dir, "out");
      const r = xtask("--dry-run", "--", "--config", config(dir, vars), "--outdir", out);
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
