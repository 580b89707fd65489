// Servers the tools start themselves (workerd, wrangler dev, nginx, Caddy, Traefik): their output kept for error
// messages, stopped by PID.
import { spawn } from "node:child_process";

/**
 * Start `cmd` with `args`. `env` is added to this process's environment. `stdout: false` discards stdout (a Worker
 * under load logs a line per request); `inherit: true` shows both streams on this process's own instead of keeping
 * them. `group: true` gives the child its own process group, stopped as a whole (wrangler starts workerd itself).
 * Returns { proc, output(), exited(), stop() }: `output()` is the last `keep` characters of what it printed,
 * `exited()` says how it ended (null while it runs), `stop()` sends SIGTERM and resolves once it is gone (SIGKILL
 * after 5 s). A child still running when this process exits is killed.
 */
export function startChild(cmd, args, { cwd, env = {}, stdout = true, inherit = false, group = false, keep = 16_000 } = {}) {
  const proc = spawn(cmd, args, {
    cwd, detached: group, env: { ...process.env, ...env },
    stdio: ["ignore", inherit ? "inherit" : stdout ? "pipe" : "ignore", inherit ? "inherit" : "pipe"],
  });
  let output = "";
  const collect = (d) => { output = (output + d).slice(-keep); };
  proc.stdout?.on("data", collect);
  proc.stderr?.on("data", collect);
  let exited = null;
  const signal = (sig) => {
    try {
      if (group) process.kill(-proc.pid, sig);
      else proc.kill(sig);
    } catch { /* already gone */ }
  };
  // Never outlive this process, whichever way it ends (process.exit included; a signal needs a handler that exits).
  const orphaned = () => { if (exited === null) signal("SIGKILL"); };
  process.on("exit", orphaned);
  const gone = new Promise((resolve) => proc.once("exit", (code, sig) => {
    exited = `exit ${code ?? sig}`;
    process.removeListener("exit", orphaned);
    resolve();
  }));
  proc.once("error", (e) => { exited = `could not start ${cmd}: ${e.message}`; });
  const stop = async () => {
    if (exited === null) {
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    }
    if (group) signal("SIGKILL"); // what the group leader started and left behind
  };
  return { proc, output: () => output, exited: () => exited, stop };
}

/**
 * Poll `probe()` (resolves with an HTTP status; a failure means not listening yet) until `accept(status)` (default:
 * 200). `strict`: the first answer must be accepted (a cold start is measured to the first answer). Fails when
 * `child` exits, or after `timeoutMs` (stopping it), with its output. Resolves with the milliseconds taken.
 */
export async function untilReady(child, probe, { accept = (s) => s === 200, strict = false, timeoutMs = 20_000, intervalMs = 2,
  what = "the server" } = {}) {
  const t0 = performance.now();
  let last = "no answer";
  for (;;) {
    if (child.exited()) throw new Error(`${what} ${child.exited()}: ${child.output()}`);
    if (performance.now() - t0 > timeoutMs) {
      await child.stop();
      throw new Error(`${what} was not ready within ${timeoutMs} ms (last: ${last}): ${child.output()}`);
    }
    let status;
    try {
      status = await probe();
    } catch (e) {
      last = e?.cause?.code ?? e?.code ?? e?.message;
    }
    if (status !== undefined) {
      if (accept(status)) return performance.now() - t0;
      last = `status ${status}`;
      if (strict) {
        await child.stop();
        throw new Error(`${what}'s first answer was ${status}: ${child.output()}`);
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
