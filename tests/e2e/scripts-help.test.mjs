// Every script a person runs answers `--help` with its usage and exit 0 without starting anything (a child that
// starts servers or a benchmark is killed by the timeout and fails), and refuses an unknown option with exit 2
// and its usage line (tools/js/cli.mjs: node:util parseArgs, strict).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "../../tools/js/env.mjs";

/** The scripts, as run: [program, path]. */
const SCRIPTS = [
  [process.execPath, "bench/run.mjs"],
  [process.execPath, "bench/traefik.mjs"],
  [process.execPath, "bench/soak/soak.mjs"],
  [process.execPath, "bench/wasm/bench.mjs"],
  [process.execPath, "bench/micro/string-copy.mjs"],
  [process.execPath, "tools/demo.mjs"],
  ["bash", "bench/wasm/run.sh"],
];
/** Folders of modules that are imported, never run. */
const LIBRARIES = ["bench/lib", "bench/workers", "tools/js"];

function run(program, script, args) {
  const r = spawnSync(program, [join(ROOT, script), ...args], {
    cwd: ROOT, encoding: "utf8", timeout: 15_000, killSignal: "SIGKILL",
    // Nothing installed: --help must not need the tools, and a script that went on would fail rather than start.
    env: { ...process.env, POCKETGATE_NODE_MODULES: join(ROOT, "target/no-such-node-modules") },
  });
  assert.equal(r.signal, null, `${script} ${args.join(" ")} was still running after 15 s (killed): ${r.stdout}${r.stderr}`);
  return r;
}

test("every runnable script under bench/ and tools/ is listed here", () => {
  const found = [];
  const walk = (dir) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory() && !LIBRARIES.includes(path) && e.name !== "node_modules" && e.name !== "src") walk(path);
      else if (e.isFile() && /\.(mjs|js|sh)$/.test(e.name)) found.push(path);
    }
  };
  walk("bench");
  walk("tools");
  assert.deepEqual(found.sort(), SCRIPTS.map(([, s]) => s).sort(),
    "a new script needs --help through tools/js/cli.mjs and a line in SCRIPTS (or its folder in LIBRARIES)");
});

for (const [program, script] of SCRIPTS) {
  test(`${script} --help: usage, exit 0, nothing started`, () => {
    const r = run(program, script, ["--help"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^usage: [^\\n]*${script.replace(/[.]/g, "\\.")}`), r.stdout);
    assert.match(r.stdout, /--help/);
  });

  test(`${script} --no-such-option: usage line, exit 2`, () => {
    const r = run(program, script, ["--no-such-option"]);
    assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /no-such-option/);
    assert.match(r.stderr, /^usage: /m);
    assert.equal(r.stdout, "");
  });
}

test("a bad number is a usage error (exit 2), before anything starts", () => {
  for (const [script, args] of [["bench/run.mjs", ["--rounds", "x"]], ["bench/soak/soak.mjs", ["--minutes", "0"]],
    ["tools/demo.mjs", ["--port", "eighty"]], ["bench/run.mjs", ["--duration"]]]) {
    const r = run(process.execPath, script, args);
    assert.equal(r.status, 2, `${script} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^usage: /m);
  }
});

test("--help after options that would start work still starts nothing", () => {
  for (const [script, args] of [
    ["bench/run.mjs", ["--quick", "--write", "--rounds", "1", "--help"]],
    ["bench/run.mjs", ["--prepare", "-h"]],
    ["bench/soak/soak.mjs", ["--minutes", "1", "--write", "--help"]],
    ["tools/demo.mjs", ["--check", "--prebuilt", "--port", "8799", "--help"]],
  ]) {
    const r = run(process.execPath, script, args);
    assert.equal(r.status, 0, `${script} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^usage: /, `${script} ${args.join(" ")}`);
    assert.equal(r.stderr, "", `${script} ${args.join(" ")} printed on stderr`);
  }
});

test("tools/demo.mjs: arguments after -- are wrangler's, not its own", () => {
  const r = run(process.execPath, "tools/demo.mjs", ["--help", "--", "--var", "LOG:all"]);
  assert.equal(r.status, 0, r.stderr);
});
