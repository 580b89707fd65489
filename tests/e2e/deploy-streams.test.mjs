// Issue 20: a peer's gRPC streams held open past 60 s of silence, in every deployment topology at once (so the
// suite pays the wait once). Traefik's default entry-point readTimeout (60 s) and nginx's default
// grpc_read_timeout / client_body_timeout (60 s) cut such streams; NetBird's own configurations turn them off
// (getting-started.sh:852-855, 864-865; nginx.tmpl.conf:45-46, 71-73), and the page's text must too. Each topology
// (support/topologies.mjs) runs a Sync (server stream: one message, 65 s of silence, another) and a ConnectStream
// (bidirectional: one exchange, 65 s of silence, another) over TLS through its proxy; the known mistake
// "default-timeouts" (Traefik's and nginx's defaults) runs beside them and must lose its streams.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { checkLongStreams } from "./support/deploy-checks.mjs";
import { TOPOLOGIES, startTopology } from "./support/topologies.mjs";

const FILE = "deploy-streams";
/** Past Traefik's and nginx's 60-s defaults. */
const SILENCE_MS = 65_000;

const cases = [
  ...Object.entries(TOPOLOGIES).flatMap(([name, variants]) => variants.map((variant) => ({ name, variant }))),
  { name: "combined-traefik", variant: "forwardauth", broken: "default-timeouts" },
  { name: "legacy", variant: "nginx", broken: "default-timeouts" },
];
const label = (c) => `${c.name}/${c.variant}${c.broken ? ` (${c.broken})` : ""}`;

const results = new Map();
before(async () => {
  const started = await Promise.allSettled(cases.map((c) => startTopology({ file: FILE, ...c })));
  const outcomes = await Promise.allSettled(started.map((s) => (s.status === "fulfilled" ? checkLongStreams(s.value, SILENCE_MS) : Promise.reject(s.reason))));
  cases.forEach((c, i) => results.set(label(c), { start: started[i], outcome: outcomes[i] }));
  await Promise.all(started.filter((s) => s.status === "fulfilled").map((s) => s.value.stop()));
});
after(() => {});

for (const c of cases) {
  test(`${label(c)}: ${c.broken ? "the streams are cut by the 60-s default" : `gRPC streams survive ${SILENCE_MS / 1000} s of silence`}`, () => {
    const { start, outcome } = results.get(label(c));
    assert.equal(start.status, "fulfilled", `the topology did not start: ${start.reason?.stack ?? start.reason}`);
    if (c.broken) {
      assert.equal(outcome.status, "rejected", "the streams survived the proxy's default timeouts: the check cannot fail");
      assert.notEqual(outcome.reason.code, undefined, `cut by the proxy (a gRPC status), not a failed assertion: ${outcome.reason.stack}`);
    } else {
      assert.equal(outcome.status, "fulfilled", `${outcome.reason?.stack ?? outcome.reason}`);
    }
  });
}
