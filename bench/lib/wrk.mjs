// wrk with bench/wrk/rotate.lua: rotate the Bearer tokens of `file` (one per line) from position `start`,
// optionally in the order of a sequence file; resolves with the script's `BENCH {…}` summary (requests,
// duration_us, socket errors, non-2xx count as `status`, latency percentiles in µs). `cpus`: a CPU list for
// taskset (wrk pinned away from the server it measures).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../../tools/js/env.mjs";

export function rotate(url, { file, seconds, start = 0, seq = "", connections = 8, cpus = null }) {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "-s", join(ROOT, "bench/wrk/rotate.lua"),
    url, "--", file, String(start), seq];
  return new Promise((resolve, reject) => {
    const [cmd, argv] = cpus ? ["taskset", ["-c", cpus, "wrk", ...args]] : ["wrk", args];
    const p = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", (e) => reject(new Error(`cannot run wrk (apt-get install wrk): ${e.message}`)));
    p.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("BENCH "));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (${code}): ${out}`));
      resolve(JSON.parse(line.slice(6)));
    });
  });
}
