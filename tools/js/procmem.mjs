// What a server process costs, from Linux /proc: the process listening on a URL, its memory and its CPU time. The
// fault suite checks that hostile inputs are not buffered, the soak samples the gate's RSS, the bench its CPU.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/** Socket inodes listening on 127.0.0.1:`port` (IPv4, state LISTEN). */
function listeningInodes(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === "0A") inodes.add(f[9]);
  }
  return inodes;
}

/** The pid of the process listening on `url`'s port, or null. */
export function pidListening(url) {
  const inodes = listeningInodes(Number(new URL(url).port));
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) return Number(pid);
      } catch {
        // gone or not ours
      }
    }
  }
  return null;
}

/** { rss, peak } of `pid` in bytes (VmRSS, VmHWM); null once the process is gone (or a zombie). */
export function memoryOf(pid) {
  let status;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  if (!/^VmRSS:/m.test(status)) return null; // a zombie: its memory is gone
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** Clock ticks per second of /proc's CPU times (Linux USER_HZ). */
export const CLK_TCK = 100;

/** utime + stime of `pid` in clock ticks (/proc/<pid>/stat fields 14 and 15): all its threads. */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}
