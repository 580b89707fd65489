// `node tools/js/wasmlower.mjs IN.wasm OUT.wasm`: the Traefik plugin's `memory.copy` and `memory.fill` become
// calls to functions that copy and fill eight bytes at a time (binaryen.js, installed by `cargo xtask setup`).
//
// Why: Traefik 3.7 runs plugins in wazero v1.8.0, whose amd64 code for `memory.copy` calls Go's memmove without
// reserving RDX, and Go 1.24+'s memmove clobbers it (xtask/src/util.rs `wasm_lower_bulk_memory` has the story),
// so the plugin must not contain the instructions. binaryen's `--llvm-memory-copy-fill-lowering` removes them,
// but its replacements move one byte per iteration: every copy of a ~1 KB token, a header or a struct then cost
// about 3 µs of a cached token's ~30 µs in the guest (measured in Traefik). No maintained tool lowers them to
// wider loops, so this runs binaryen's pass (which rewrites every instruction into a call) and then gives the
// two functions it added bodies that move eight bytes per iteration, with the same semantics: the bounds are
// checked before any byte is written (a trap, as the instruction would), and overlapping copies go in the safe
// direction. tests/e2e/wasmlower.test.mjs checks both against V8's own instructions on random operations.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { NODE_MODULES, need } from "./env.mjs";

/** The names binaryen's `llvm-memory-copy-fill-lowering` gives the functions it adds. */
const COPY = "__memory_copy";
const FILL = "__memory_fill";

/** binaryen.js (an ES module with top-level await, so imported, not required). */
export async function binaryen() {
  const index = need(join(NODE_MODULES, "binaryen/index.js"), "run `cargo xtask setup` (it installs binaryen)");
  return (await import(pathToFileURL(index).href)).default;
}

/** `bytes` (a wasm module) without `memory.copy` / `memory.fill`: the lowered module's bytes. */
export async function lowerBulkMemory(bytes) {
  const b = await binaryen();
  const mod = b.readBinary(bytes);
  try {
    mod.setFeatures(features(b));
    mod.runPasses(["llvm-memory-copy-fill-lowering"]);
    for (const [name, body] of [[COPY, copyBody], [FILL, fillBody]]) {
      if (!mod.getFunction(name)) continue; // the module had no such instruction
      mod.removeFunction(name);
      const { vars, expr } = body(b, mod);
      mod.addFunction(name, b.createType([b.i32, b.i32, b.i32]), b.none, vars, expr);
    }
    if (!mod.validate()) throw new Error("wasmlower: the lowered module does not validate");
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

/** What xtask's wasm-opt runs enable (xtask/src/util.rs `WASM_FEATURES`); binaryen asserts bulk-memory-opt
 * alongside bulk-memory. */
function features(b) {
  const f = b.Features;
  return f.MutableGlobals | f.SignExt | f.NontrappingFPToInt | f.BulkMemory | f.BulkMemoryOpt | f.Multivalue |
    f.ReferenceTypes | f.ExceptionHandling;
}

/** `memory.size` in bytes, as an i64 (65536 pages would overflow an i32). */
const memoryBytes = (b, m) => m.i64.shl(m.i64.extend_u(m.memory.size()), m.i64.const(16n));

/** Trap unless `[at, at + n)` lies inside the memory (computed in 64 bits, as the instruction does). */
const inBounds = (b, m, at, n) =>
  m.if(m.i64.gt_u(m.i64.add(m.i64.extend_u(at), m.i64.extend_u(n)), memoryBytes(b, m)), m.unreachable());

/**
 * `__memory_copy(dst $0, src $1, n $2)`, local $3 = i. Forward when dst ≤ src (each 8-byte chunk is read before
 * it is written, and later reads lie above every write), otherwise backward from the end; the tail (n mod 8) one
 * byte at a time.
 */
function copyBody(b, m) {
  const [dst, src, n, i] = [0, 1, 2, 3].map((x) => () => m.local.get(x, b.i32));
  const at = (base) => m.i32.add(base(), i());
  const step = (delta) => m.local.set(3, m.i32.add(i(), m.i32.const(delta)));
  const word = () => m.i64.store(0, 1, at(dst), m.i64.load(0, 1, at(src)));
  const byte = () => m.i32.store8(0, 1, at(dst), m.i32.load8_u(0, 1, at(src)));
  const forward = m.block(null, [
    m.local.set(3, m.i32.const(0)),
    m.loop("fw8", m.if(m.i32.ge_u(m.i32.sub(n(), i()), m.i32.const(8)), m.block(null, [word(), step(8), m.br("fw8")]))),
    m.loop("fw1", m.if(m.i32.ne(i(), n()), m.block(null, [byte(), step(1), m.br("fw1")]))),
  ]);
  const backward = m.block(null, [
    m.local.set(3, n()),
    m.loop("bw8", m.if(m.i32.ge_u(i(), m.i32.const(8)), m.block(null, [step(-8), word(), m.br("bw8")]))),
    m.loop("bw1", m.if(m.i32.ne(i(), m.i32.const(0)), m.block(null, [step(-1), byte(), m.br("bw1")]))),
  ]);
  return {
    vars: [b.i32],
    expr: m.block(null, [inBounds(b, m, dst(), n()), inBounds(b, m, src(), n()), m.if(m.i32.le_u(dst(), src()), forward, backward)]),
  };
}

/** `__memory_fill(dst $0, value $1, n $2)`, local $3 = i, $4 = the low byte of value repeated 8 times. */
function fillBody(b, m) {
  const [dst, value, n, i] = [0, 1, 2, 3].map((x) => () => m.local.get(x, b.i32));
  const wide = () => m.local.get(4, b.i64);
  const at = () => m.i32.add(dst(), i());
  const step = (delta) => m.local.set(3, m.i32.add(i(), m.i32.const(delta)));
  return {
    vars: [b.i32, b.i64],
    expr: m.block(null, [
      inBounds(b, m, dst(), n()),
      m.local.set(4, m.i64.mul(m.i64.extend_u(m.i32.and(value(), m.i32.const(0xff))), m.i64.const(0x0101010101010101n))),
      m.local.set(3, m.i32.const(0)),
      m.loop("f8", m.if(m.i32.ge_u(m.i32.sub(n(), i()), m.i32.const(8)), m.block(null, [m.i64.store(0, 1, at(), wide()), step(8), m.br("f8")]))),
      m.loop("f1", m.if(m.i32.ne(i(), n()), m.block(null, [m.i32.store8(0, 1, at(), value()), step(1), m.br("f1")]))),
    ]),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error("usage: node tools/js/wasmlower.mjs IN.wasm OUT.wasm");
    process.exit(2);
  }
  writeFileSync(output, await lowerBulkMemory(readFileSync(input)));
}
