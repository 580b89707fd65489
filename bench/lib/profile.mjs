// CPU profile of a Worker inside workerd through its inspector (Chrome DevTools protocol): `--profile` in
// bench/run.mjs. Writes a .cpuprofile (open it in Chrome DevTools or speedscope) and prints self time per function.
import { writeFileSync } from "node:fs";
import { connectInspector } from "../../tools/js/inspector.mjs";

export async function connect(inspectorPort) {
  const { send, close } = await connectInspector(inspectorPort);
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 50 });
  return {
    start: () => send("Profiler.start"),
    async stop(file) {
      const { profile } = await send("Profiler.stop");
      close();
      writeFileSync(file, JSON.stringify(profile));
      return top(profile);
    },
  };
}

/** Self time per function, highest first (percent of sampled time). */
export function top(profile, n = 30) {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((s, i) => {
    const f = byId.get(s).callFrame;
    const k = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}${f.lineNumber >= 0 ? `:${f.lineNumber}:${f.columnNumber}` : ""}`;
    const d = profile.timeDeltas[i] ?? 0;
    self.set(k, (self.get(k) ?? 0) + d);
    total += d;
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
}
