// The JavaScript toolkit (tools/js) itself: the rules it stands for (nothing outside tests/ imports from tests/;
// wrangler.toml's compatibility date written once), and the helpers whose promises the other suites rely on
// (withGate always stops its gate, authAt speaks the header family its gate reads, children never outlive the
// process that started them).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { ROOT, compatibilityDate } from "../../tools/js/env.mjs";
import { GATE_FILES, authAt, withGate, writeGateConfig } from "../../tools/js/gate.mjs";

/** Files under `dir` (relative to the repository) whose name matches `re`; node_modules and generated folders
 * are skipped. */
function files(dir, re) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(join(ROOT, d), { withFileTypes: true })) {
      const path = `${d}/${e.name}`;
      if (e.isDirectory()) {
        if (!["node_modules", "pkg", "target", "corpus"].includes(e.name) && !e.name.startsWith(".")) walk(path);
      } else if (re.test(e.name)) out.push(path);
    }
  };
  walk(dir);
  return out;
}

test("nothing outside tests/ imports from tests/", () => {
  const outside = ["bench", "tools", "www"].flatMap((d) => files(d, /\.(mjs|js|cjs)$/));
  assert.ok(outside.includes("tools/js/gate.mjs") && outside.includes("bench/run.mjs"), "the walk found the toolkit");
  const offenders = [];
  for (const file of outside) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["'`]([^"'`]+)["'`]/g)) {
      const target = spec.startsWith(".") ? relative(ROOT, join(ROOT, file, "..", spec)) : spec;
      if (target.startsWith("tests/")) offenders.push(`${file} imports ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test("wrangler.toml's compatibility date is written nowhere else in the JavaScript", () => {
  const date = compatibilityDate();
  assert.match(date, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(readFileSync(join(ROOT, "wrangler.toml"), "utf8").includes(`compatibility_date = "${date}"`));
  const scripts = ["bench", "tools", "tests/e2e", "www"].flatMap((d) => files(d, /\.(mjs|js|cjs|lua|sh)$/));
  assert.ok(scripts.length > 20, `only ${scripts.length} scripts found`);
  const restating = scripts.filter((f) => readFileSync(join(ROOT, f), "utf8").includes(date));
  assert.deepEqual(restating, [], "read it with tools/js/env.mjs compatibilityDate()");
});

test("the gate's workerd config embeds the gate's files at wrangler.toml's compatibility date", (t) => {
  const from = mkdtempSync(join(tmpdir(), "pocketgate-toolkit-"));
  t.after(() => rmSync(from, { recursive: true, force: true }));
  mkdirSync(join(from, "worker"));
  for (const f of GATE_FILES) writeFileSync(join(from, f), `// ${f}`);
  const config = readFileSync(writeGateConfig(join(from, "out"), { ISSUER: "https://id.example.com" }, 8123, { from }), "utf8");
  assert.ok(config.includes(`compatibilityDate = "${compatibilityDate()}"`), config);
  for (const f of GATE_FILES) assert.ok(config.includes(`embed "${f}"`), `${f} not embedded:\n${config}`);
  assert.ok(config.includes('(name = "ISSUER", text = "https://id.example.com")'), config);
  assert.ok(config.includes('address = "127.0.0.1:8123"'), config);
  assert.equal(readFileSync(join(from, "out/worker/shim.mjs"), "utf8"), "// worker/shim.mjs", "the files are copied");
});

test("withGate stops the gate when its function throws, and passes its result on", async () => {
  let url;
  await assert.rejects(withGate({ vars: { ISSUER: "https://id.example.com" } }, async (gate) => {
    url = gate.url;
    assert.equal((await gate.fetch("/_gate/healthz")).status, 503, "the gate answered (its configuration is incomplete)");
    throw new Error("boom");
  }), /boom/);
  await assert.rejects(fetch(`${url}/_gate/healthz`), "the gate still answers after withGate");
  assert.equal(await withGate({ vars: {} }, async () => 42), 42);
});

test("authAt sends the original request in the family its gate reads, and reads the whole answer", async (t) => {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    if (req.headers.authorization) {
      res.writeHead(200, { "x-auth-request-user": "u1" });
      return res.end("");
    }
    res.writeHead(401, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "token_missing", message: "m" }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}`;

  const ok = await authAt({ url }, { method: "DELETE", uri: "/api/users/x", token: "t.o.k" });
  assert.deepEqual([ok.status, ok.user, ok.json, ok.code], [200, "u1", null, null]);
  let h = seen.at(-1).headers;
  assert.equal(seen.at(-1).url, "/_gate/auth");
  assert.equal(seen.at(-1).method, "GET");
  assert.deepEqual([h["x-forwarded-method"], h["x-forwarded-uri"], h.authorization], ["DELETE", "/api/users/x", "Bearer t.o.k"]);
  assert.equal(h["x-original-uri"], undefined);

  const no = await authAt({ url, vars: { FORWARDED_HEADERS: "nginx" } }, { via: "HEAD" });
  assert.deepEqual([no.status, no.user], [401, null]);
  h = seen.at(-1).headers;
  assert.equal(seen.at(-1).method, "HEAD");
  assert.deepEqual([h["x-original-method"], h["x-original-uri"], h.authorization], ["GET", "/api/peers", undefined]);
  assert.equal(h["x-forwarded-uri"], undefined);

  const json = await authAt({ url }, { method: null, uri: null, headers: { "x-original-uri": "/relay" } });
  assert.deepEqual([json.status, json.code, json.json.message], [401, "token_missing", "m"]);
  h = seen.at(-1).headers;
  assert.deepEqual([h["x-forwarded-method"], h["x-forwarded-uri"], h["x-original-uri"]], [undefined, undefined, "/relay"]);
});

test("a child the toolkit started does not outlive the process that started it", () => {
  const script = `
    import { startChild } from ${JSON.stringify(join(ROOT, "tools/js/child.mjs"))};
    const c = startChild("sleep", ["30"]);
    console.log(c.proc.pid);
    process.exit(0);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  const pid = Number(r.stdout.trim());
  assert.ok(pid > 0, r.stdout);
  // Running: /proc/PID exists and the process is not a zombie (killed, not yet reaped).
  const running = () => { try { return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8")); } catch { return false; } };
  let alive = running();
  for (let i = 0; i < 50 && alive; i++) {
    spawnSync("sleep", ["0.05"]);
    alive = running();
  }
  assert.equal(alive, false, `sleep (pid ${pid}) still runs after its parent exited`);
});
