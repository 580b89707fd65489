// What a Go server's heap holds, from its /debug/pprof/heap?debug=1 text (Traefik's `api.debug`): in-use bytes
// and objects, and objects allocated since start, per kind of allocation site — WebAssembly linear memory
// (wazero's MemoryInstance: one buffer per guest instance, reallocated when it grows), the rest of wazero
// (module instances), Yaegi (an interpreted Go plugin), everything else — and the runtime's memstats.

/** The kind of a stack (its frames, innermost first). */
function kind(frames) {
  if (frames.some((f) => /wazero\/internal\/wasm\.(NewMemoryInstance|\(\*MemoryInstance\)\.Grow)/.test(f))) return "wasm linear memory";
  if (frames.some((f) => f.includes("tetratelabs/wazero"))) return "wazero (other)";
  if (frames.some((f) => f.includes("traefik/yaegi"))) return "yaegi";
  return "other";
}

/** Parse the legacy heap profile text: { kinds: { kind: { inuseBytes, inuseObjects, allocObjects, allocBytes } }, memstats }. */
export function parseHeap(text) {
  const kinds = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\d+): (\d+) \[(\d+): (\d+)\] @/.exec(lines[i]);
    if (!m) continue;
    const frames = [];
    while (lines[i + 1]?.startsWith("#\t")) frames.push(lines[++i]);
    const k = (kinds[kind(frames)] ??= { inuseObjects: 0, inuseBytes: 0, allocObjects: 0, allocBytes: 0 });
    k.inuseObjects += Number(m[1]);
    k.inuseBytes += Number(m[2]);
    k.allocObjects += Number(m[3]);
    k.allocBytes += Number(m[4]);
  }
  const memstats = {};
  for (const m of text.matchAll(/^# (\w+) = (\d+)$/gm)) memstats[m[1]] = Number(m[2]);
  return { kinds, memstats };
}

/** The heap of the Traefik whose API is at `api`, after a GC (`gc=1`). */
export async function heapOf(api) {
  const r = await fetch(`${api}/debug/pprof/heap?debug=1&gc=1`);
  if (!r.ok) throw new Error(`${api}/debug/pprof/heap answered ${r.status}`);
  return parseHeap(await r.text());
}
