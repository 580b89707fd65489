// A server and the processes it forked (Apache's children), from Linux /proc: CPU time and memory of the whole
// tree, so a multi-process server is measured like a single-process one.
import { readFileSync, readdirSync } from "node:fs";

/** `pid` and every descendant alive now. */
export function treePids(pid) {
  const parent = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  return out;
}

/** utime + stime (clock ticks, all threads) of `pid` and its descendants; a process that is gone counts 0. */
export function treeCpuTicks(pid) {
  let ticks = 0;
  for (const p of treePids(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks;
}

/** { rss, peak, processes }: VmRSS and VmHWM in bytes summed over `pid` and its descendants. */
export function treeMemory(pid) {
  let rss = 0, peak = 0, processes = 0;
  for (const p of treePids(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
      rss += kb("VmRSS");
      peak += kb("VmHWM");
      processes++;
    } catch {
      // gone
    }
  }
  return { rss, peak, processes };
}
