// tools/js/wasmlower.mjs (the Traefik plugin's memory.copy / memory.fill, lowered to 8-byte loops for wazero
// v1.8.0) against V8's own instructions: a module that uses both instructions, and the same module lowered, run
// the same random operations (overlapping both ways, unaligned, empty, at and past the end of memory), and must
// leave the same bytes and trap on the same operations. Then the shipped plugin.wasm has neither instruction.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, need } from "../../tools/js/env.mjs";
import { binaryen, lowerBulkMemory } from "../../tools/js/wasmlower.mjs";

const PAGE = 65536;

/** A module with one page of memory and `copy(dst, src, n)` / `fill(dst, value, n)` as the bare instructions. */
async function bulkModule() {
  const b = await binaryen();
  const m = new b.Module();
  try {
    m.setFeatures(b.Features.MutableGlobals | b.Features.BulkMemory | b.Features.BulkMemoryOpt);
    m.setMemory(1, 1, "memory");
    const arg = (i) => m.local.get(i, b.i32);
    const params = b.createType([b.i32, b.i32, b.i32]);
    m.addFunction("copy", params, b.none, [], m.memory.copy(arg(0), arg(1), arg(2)));
    m.addFunction("fill", params, b.none, [], m.memory.fill(arg(0), arg(1), arg(2)));
    m.addFunctionExport("copy", "copy");
    m.addFunctionExport("fill", "fill");
    assert.ok(m.validate(), "the test module validates");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** The module's instance as { copy, fill, bytes }. */
async function load(wasm) {
  const { instance } = await WebAssembly.instantiate(wasm);
  const { copy, fill, memory } = instance.exports;
  return { copy, fill, bytes: () => new Uint8Array(memory.buffer) };
}

/** The module's text (binaryen's printer), to look for instructions. */
async function text(wasm) {
  const b = await binaryen();
  const m = b.readBinary(wasm);
  try {
    return m.emitText();
  } finally {
    m.dispose();
  }
}

/** A small deterministic generator (xorshift32), so a failure can be replayed. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return (k) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % k;
  };
}

test("lowered memory.copy and memory.fill do what the instructions do, traps included", async () => {
  const original = await bulkModule();
  const lowered = await lowerBulkMemory(original);
  const loweredText = await text(lowered);
  assert.doesNotMatch(loweredText, /memory\.(copy|fill)/, "no bulk-memory instruction is left");
  assert.match(loweredText, /i64\.store/, "the replacements move eight bytes at a time");
  const [a, b] = [await load(original), await load(lowered)];
  const r = rng(22);
  // Start from the same non-trivial bytes.
  for (const inst of [a, b]) inst.bytes().forEach((_, i, m) => (m[i] = (i * 131 + 7) & 0xff));
  /** An address: mostly anywhere, often near the start or the end, sometimes past the end. */
  const address = () => [r(PAGE), r(64), PAGE - r(64), PAGE + r(16), 0xffffffff - r(16)][r(5)] >>> 0;
  /** A length: mostly short, some long, some absurd. */
  const length = () => [r(24), r(300), r(5000), r(PAGE + 1), 0xffffffff - r(16)][r(5)] >>> 0;
  let ran = 0, trapped = 0;
  for (let i = 0; i < 6000; i++) {
    const fill = r(4) === 0;
    const dst = address();
    // Overlapping copies in both directions, at every small distance, and unrelated ones.
    const src = fill ? r(256) : r(2) ? (dst + r(19) - 9) >>> 0 : address();
    const n = length();
    const outcome = (inst) => {
      try {
        (fill ? inst.fill : inst.copy)(dst, src, n);
        return "ok";
      } catch (e) {
        assert.ok(e instanceof WebAssembly.RuntimeError, `${e}`);
        return "trap";
      }
    };
    const [x, y] = [outcome(a), outcome(b)];
    const what = `${fill ? "fill" : "copy"}(${dst}, ${src}, ${n}) at step ${i}`;
    assert.equal(y, x, `${what}: the lowered module must trap exactly when the instruction does`);
    assert.ok(Buffer.from(a.bytes()).equals(Buffer.from(b.bytes())), `${what}: the memories differ`);
    if (x === "trap") trapped++;
    else ran++;
  }
  // The stream really exercised both outcomes.
  assert.ok(ran > 1000 && trapped > 500, `ran ${ran}, trapped ${trapped}`);
});

test("the shipped plugin.wasm has no memory.copy or memory.fill (wazero v1.8.0 under Go 1.24+)", async () => {
  const plugin = readFileSync(need(join(ROOT, "build/traefik/plugins-local/src/pocketgate/plugin.wasm"), "run `cargo xtask build`"));
  const t = await text(plugin);
  assert.doesNotMatch(t, /memory\.(copy|fill)/);
  // The replacements are the 8-byte ones, not binaryen's byte loops: every function that checks the memory's size
  // and loops over single bytes (the lowered copy and fill) also moves eight at a time.
  const lowered = t.split(/\n (?=\(func )/).filter((f) => f.includes("(memory.size)") && /\(loop/.test(f) && f.includes("i32.store8"));
  assert.ok(lowered.length >= 2, `the lowered copy and fill are in the module (${lowered.length} found)`);
  for (const f of lowered) assert.match(f, /i64\.store align=1/, f.slice(0, 200));
});
