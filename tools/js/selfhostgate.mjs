// The self-hosted gate as a deployment runs it: the setup page's generated workerd configuration
// (`gate_workerd_config`) next to the Worker bundle from `cargo xtask build`, in the bare workerd binary, listening
// on the gate container's own loopback address at the port the configuration names. `localGateConfig` makes the
// few changes a loopback test must make to that text, each written down here and nowhere else.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { startChild, untilReady } from "./child.mjs";
import { BUILD, need } from "./env.mjs";
import { GATE_FILES } from "./gate.mjs";
import { WORKERD } from "./workerd.mjs";

const str = (s) => JSON.stringify(String(s));

/**
 * `capnp` with its "internet" network service replaced by an external HTTPS server at `address` that must present
 * a certificate for `host` signed by `ca` (PEM): every fetch the Worker makes goes there, with the URL's Host.
 */
export function outboundTo(capnp, { address, host, ca }) {
  const internet = /\(name = "internet", network = \([^\n]*\)\),/;
  if (!internet.test(capnp)) throw new Error(`the workerd configuration has no "internet" network service:\n${capnp}`);
  return capnp.replace(internet, `(name = "internet", external = (address = ${str(address)}, https = (` +
    `tlsOptions = (trustBrowserCas = false, trustedCertificates = [${str(ca)}]), certificateHost = ${str(host)}))),`);
}

/**
 * The page's workerd configuration `capnp`, changed only where a loopback test must:
 * - the socket's `*:<port>` → `<address>:<port>` (the gate container's own address; the port as generated);
 * - `forwarded`: the commented `FORWARDED_HEADERS` line for that proxy uncommented (the operator's one edit, as
 *   the file says);
 * - `outbound` ({ address, host, ca }): the "internet" network service becomes an external HTTPS server at
 *   `address` (the proxy) that must present a certificate for `host` signed by `ca` (the run's test CA). The
 *   issuer is on the public domain in embedded mode (`https://<domain>/oauth2`), which a real gate reaches through
 *   DNS and the proxy; here no DNS names it, so every fetch goes to the proxy, with the URL's Host, verified as in
 *   production (only the trusted CA differs);
 * - `bindings` (name → text): more variables (`LOG = "all"`, so every decision is a log line the suites read).
 * Throws when the text does not have the shape these edits expect.
 */
export function localGateConfig(capnp, { address, forwarded, outbound, bindings = {} }) {
  let text = capnp;
  const sockets = [...text.matchAll(/address = "\*:(\d+)"/g)];
  if (sockets.length !== 1) throw new Error(`the gate's workerd configuration should have one "*:<port>" socket:\n${capnp}`);
  const port = Number(sockets[0][1]);
  text = text.replace(sockets[0][0], `address = ${str(`${address}:${port}`)}`);
  if (forwarded) {
    const line = `# (name = "FORWARDED_HEADERS", text = "${forwarded}"),`;
    if (!text.includes(line)) throw new Error(`the gate's workerd configuration has no commented FORWARDED_HEADERS line for ${forwarded}:\n${capnp}`);
    text = text.replace(line, line.slice(2));
  }
  if (outbound) text = outboundTo(text, outbound);
  const extra = Object.entries(bindings).map(([k, v]) => `    (name = ${str(k)}, text = ${str(v)}),\n`).join("");
  if (extra) {
    if (!/ {2}bindings = \[\n/.test(text)) throw new Error(`the gate's workerd configuration has no bindings list:\n${capnp}`);
    text = text.replace(/( {2}bindings = \[\n)/, `$1${extra}`);
  }
  return { text, port };
}

/**
 * The gate from the page's `capnp` (localGateConfig's options), served by workerd from a folder holding the
 * configuration and a copy of the bundle (build/), ready once it accepts connections. Returns
 * `{ url, port, config, dir, logs(), output(), stop(), start() }`: `logs()` are the Worker's JSON log lines
 * (parsed), `start()` serves the same configuration again after `stop()`.
 */
export async function startSelfHostedGate(capnp, options) {
  const { text, port } = localGateConfig(capnp, options);
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-selfhosted-"));
  mkdirSync(join(dir, "worker"));
  for (const f of GATE_FILES) copyFileSync(need(join(BUILD, f), "build the Worker first: `cargo xtask build`"), join(dir, f));
  writeFileSync(join(dir, "pocketgate.capnp"), text);
  const url = `http://${options.address}:${port}`;
  let child;
  let previous = "";
  const start = async () => {
    child = startChild(need(WORKERD, "run `cargo xtask setup` (npm package workerd)"), ["serve", "pocketgate.capnp", ...(options.args ?? [])],
      { cwd: dir, keep: 4_000_000 });
    // Ready once it accepts a connection, asked nothing: /_gate/healthz would start the first key fetch, and in
    // embedded mode the keys come through the proxy, which starts after the gate (a failed fetch is retried only
    // after 10 s, src/keycache.rs retry_after_failure).
    await untilReady(child, () => new Promise((resolve, reject) => {
      const s = connect(port, options.address, () => { s.destroy(); resolve(200); });
      s.on("error", reject);
    }), { timeoutMs: 20_000, intervalMs: 20, what: "the self-hosted gate (workerd)" });
  };
  await start();
  const output = () => previous + child.output();
  return {
    url, port, config: text, dir, output,
    logs: () => output().split("\n").map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean),
    stop: async () => { await child.stop(); previous += child.output(); },
    start,
  };
}
