// The gate isolate's own memory, not the process RSS: the WebAssembly linear memory, which the Worker reports in
// /_gate/healthz (`wasm_memory`: `memory.size` × 64 KiB, its high-water mark, since it never shrinks), plus V8's
// heap as workerd's inspector reports it (Chrome DevTools protocol, one WebSocket to `--inspector-addr`):
// `HeapProfiler.collectGarbage` first, then `Runtime.getHeapUsage`: `usedSize` (the JS heap in use, live objects
// after that collection), `embedderHeapUsedSize` (workerd's C++ objects on V8's managed heap) and
// `backingStorageSize` (ArrayBuffer backing stores). The isolate figure is their sum. Without the collection,
// `usedSize` also counts garbage V8 has not collected yet: under saturating load that is tens of MiB that a
// collection frees (V8 collects before it would exceed the isolate's limit), so the figure compared with a limit is
// the one after it; the figure before it is reported too (`jsHeapUsedBeforeGc`). workerd handles an inspector
// message only when the isolate runs, so healthz is read every 50 ms until each call is answered (a message that
// arrives just after a request would otherwise wait for the next request, forever when none comes).
//
//   const inspector = await inspectIsolate(port);  // workerd started with --inspector-addr=127.0.0.1:<port>
//   const m = await isolateMemory(gateUrl, inspector);
//   // { wasm, jsHeapUsedBeforeGc, jsHeapUsed, jsHeapTotal, embedder, backing, total, caches }
//   inspector.close();

import { connectInspector } from "./inspector.mjs";

/** Connect to the first (the only) isolate of workerd's inspector on 127.0.0.1:`port`. Returns
 * { heapUsage(), close() }; heapUsage() resolves with `Runtime.getHeapUsage`'s result. */
export async function inspectIsolate(port) {
  const { send, close } = await connectInspector(port);
  return {
    heapUsage: () => send("Runtime.getHeapUsage"),
    collectGarbage: () => send("HeapProfiler.collectGarbage"),
    close,
  };
}

/** The isolate's memory now, bytes: `wasm` (/_gate/healthz of the gate at `url`), the inspector's heap figures before
 * and after a garbage collection, their `total` (wasm + JS heap used after the collection + embedder heap + backing
 * stores), and healthz's `caches` as they were read. */
export async function isolateMemory(url, inspector) {
  const before = (await poking(url, inspector.heapUsage())).result;
  const { body } = await poking(url, inspector.collectGarbage());
  const heap = (await poking(url, inspector.heapUsage())).result;
  const m = {
    wasm: body.wasm_memory, jsHeapUsedBeforeGc: before.usedSize, jsHeapUsed: heap.usedSize, jsHeapTotal: heap.totalSize,
    embedder: heap.embedderHeapUsedSize ?? 0, backing: heap.backingStorageSize ?? 0, caches: body.caches,
  };
  m.total = m.wasm + m.jsHeapUsed + m.embedder + m.backing;
  return m;
}

/** Wait for `answer` (an inspector call) while reading /_gate/healthz of the gate at `url` every 50 ms: workerd
 * handles an inspector message only when the isolate runs, and one that arrives just after a request waits for the
 * next. Resolves with { result (the answer), body (the last healthz body) }; rejects with the call's error (the
 * inspector client gives up after 60 s). */
async function poking(url, answer) {
  let settled = false;
  const done = answer.then((result) => { settled = true; return result; }, (error) => { settled = true; throw error; });
  done.catch(() => {}); // awaited below; never an unhandled rejection while a healthz read is in flight
  let body;
  do {
    const r = await fetch(`${url}/_gate/healthz`);
    body = await r.json();
    if (r.status !== 200 || typeof body.wasm_memory !== "number") {
      throw new Error(`/_gate/healthz answered ${r.status} without wasm_memory`);
    }
    if (!settled) await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 50))]);
  } while (!settled);
  return { result: await done, body };
}

/** `bytes` in MiB with one decimal. */
export const mib = (bytes) => (bytes / 1048576).toFixed(1);
