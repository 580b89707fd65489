// How a ~900-byte bearer token gets into WebAssembly memory, in V8 (Node 22, the engine workerd embeds):
// wasm-bindgen's copy (a charCodeAt loop for the ASCII prefix) against one TextEncoder.encodeInto, which
// src/worker/read.rs uses for request headers. Run: node bench/micro/string-copy.mjs
import { cli } from "../../tools/js/cli.mjs";

cli(`usage: node bench/micro/string-copy.mjs

How a ~900-byte bearer token gets into WebAssembly memory in V8: wasm-bindgen's char loop vs TextEncoder.encodeInto
(µs per value). No options.

  -h, --help           this text`, {});
const token = "Bearer " + "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0".repeat(26);
const memory = new Uint8Array(1 << 20);
function charLoop(s, at) {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) break;
    memory[at + i] = c;
  }
  return i;
}
const encoder = new TextEncoder();
const ways = [
  ["wasm-bindgen char loop", () => charLoop(token, 100)],
  ["TextEncoder.encodeInto", () => encoder.encodeInto(token, memory.subarray(100, 100 + token.length * 3)).written],
];
for (const [name, copy] of ways) {
  if (copy() !== token.length) throw new Error(`${name}: wrong length`);
  for (let i = 0; i < 20_000; i++) copy();
  const n = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) copy();
  console.log(`${name.padEnd(24)} ${(((performance.now() - t0) * 1000) / n).toFixed(3)} µs per ${token.length}-char value`);
}
