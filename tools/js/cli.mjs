// Command-line parsing for every script a person runs (bench/run.mjs, bench/soak/soak.mjs, tools/demo.mjs, …):
// `node:util`'s parseArgs, strict. `--help` / `-h` prints the usage text and exits 0 before anything starts; an
// unknown option or a missing value prints the error and the usage line on stderr and exits 2.
import { parseArgs } from "node:util";

/** Print `message` and the first line of `usage` on stderr, exit 2. */
export function usageError(usage, message) {
  process.stderr.write(`${message}\n${usage.trim().split("\n")[0]}\n(--help for every option)\n`);
  process.exit(2);
}

/**
 * Parse `args` (default: the process's) against `options` (parseArgs' format). `rest: true`: everything after
 * the first `--` is returned untouched as `rest` (arguments for another program); positionals before it are
 * allowed only with `positionals: true`. Returns { values, positionals, rest }.
 */
export function cli(usage, options, { positionals = false, rest = false, args = process.argv.slice(2) } = {}) {
  const cut = rest ? args.indexOf("--") : -1;
  const own = cut >= 0 ? args.slice(0, cut) : args;
  let parsed;
  try {
    parsed = parseArgs({ args: own, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true,
      allowPositionals: positionals });
  } catch (e) {
    usageError(usage, e.message);
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
  return { values: parsed.values, positionals: parsed.positionals, rest: cut >= 0 ? args.slice(cut + 1) : [] };
}

/** `values[name]` as a number (`def` when absent); not a finite number > 0 (or ≥ 0 with `zero`): a usage error. */
export function numberOption(usage, values, name, def, { zero = false } = {}) {
  if (values[name] === undefined) return def;
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero)) usageError(usage, `--${name} must be a ${zero ? "non-negative" : "positive"} number (got ${JSON.stringify(values[name])})`);
  return n;
}
