// The Worker's bundle budget: what Cloudflare uploads (the re-export, the entry module with wasm-bindgen's glue,
// the module) stays at or under 150 KB gzip (zlib level 9, the figure BENCHMARKS.md records). The bundle also
// bounds the isolate's start-up; a change that needs more room must make it elsewhere first.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { BUILD, need } from "../../tools/js/env.mjs";
import { GATE_FILES } from "../../tools/js/gate.mjs";

const BUDGET = 150_000;

test(`the Worker bundle is at most ${BUDGET} B gzip`, () => {
  const sizes = GATE_FILES.map((f) => {
    const bytes = readFileSync(need(join(BUILD, f), "build the Worker first: `cargo xtask build`"));
    return [f, gzipSync(bytes, { level: 9 }).length];
  });
  const total = sizes.reduce((sum, [, n]) => sum + n, 0);
  assert.ok(sizes.every(([, n]) => n > 0), JSON.stringify(sizes));
  assert.ok(total <= BUDGET, `bundle ${total} B gzip > ${BUDGET} B: ${JSON.stringify(Object.fromEntries(sizes))}`);
});
