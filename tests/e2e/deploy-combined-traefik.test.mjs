// Issue 20, topology "combined-traefik": NetBird's recommended stack (getting-started.sh
// `render_docker_compose_traefik_builtin`, gs.sh:744-954) with the setup page's text in it. The combined
// `netbird-server` and the dashboard are stand-ins on their own loopback addresses at port 80; Traefik 3.7.15 runs
// with getting-started.sh's own flags (gs.sh:840-866) plus the page's (`gate_traefik_static` /
// `gate_traefik_plugin_static`, a compose `command:` fragment) and reads the page's Docker labels through its real
// Docker provider from the Docker Engine API stand-in; every router is served over TLS with the run's test
// certificate. The gate is the self-hosted workerd container from the page's `gate_workerd_config`
// ("forwardauth") or the Traefik plugin ("plugin"). support/topology-text.mjs lists every change made to the text.
//
// Shown per variant: TLS and the port-80 redirect; peers' gRPC (TLS, ALPN h2) and WebSockets reach the server
// without the gate and with the client's IP; /api answers 401/403/200 by group; first-run setup and invites work
// without a token; no client identity header in any spelling reaches an upstream; the attack (issue 20's paths,
// the project's ambiguous-path list, every escape from every ungated router) never reaches the REST API; the
// dashboard works without the gate. Then the known mistakes (issue 21's list), each shown to fail its check.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { publicClient } from "../../tools/js/publicclient.mjs";
import { checkApiByGroup, checkAttack, checkDashboardWithoutGate, checkGrpc, checkNoSpoofedIdentity, checkTls } from "./support/deploy-checks.mjs";
import { mistakes, topologySuite } from "./support/deploy-suite.mjs";
import { GS_TRAEFIK_COMMAND } from "./support/netbird-fixtures.mjs";

const FILE = "deploy-combined-traefik";

for (const variant of ["forwardauth", "plugin"]) {
  topologySuite(FILE, "combined-traefik", variant, "getting-started.sh's Traefik (flags, Docker labels, TLS) with the page's text", (topology) => {
    test("Traefik runs getting-started.sh's flags and reads the page's labels through its Docker provider", async () => {
      const t = topology();
      for (const flag of GS_TRAEFIK_COMMAND.filter((f) => !/address=|acme\.(email|storage)/.test(f))) {
        assert.ok(t.proxy.flags.includes(flag), `gs.sh's ${flag} is on Traefik's command line`);
      }
      for (const call of ["GET /version", "GET /containers/json", "GET /events"]) assert.ok(t.docker.requests.includes(call), `${call}: ${t.docker.requests}`);
      assert.ok(t.docker.requests.some((r) => /^GET \/containers\/[0-9a-f]{64}\/json$/.test(r)), "inspect");
      assert.deepEqual(t.docker.unknown, [], "every call the provider made is one the stand-in serves");
      const routers = Object.entries((await t.rawdata()).routers ?? {}).filter(([n]) => n.endsWith("@docker"));
      assert.ok(routers.length >= 3, `routers from Docker labels: ${routers.map(([n]) => n)}`);
      for (const [name, r] of routers) {
        assert.deepEqual(r.entryPoints, ["websecure"], name);
        assert.ok(r.tls, `${name} has TLS (gs.sh:892, 920, 927)`);
        assert.equal(r.status, "enabled", `${name}: ${JSON.stringify(r.err ?? r)}`);
      }
    });
  });
}

describe("combined-traefik: known mistakes fail their checks", () => {
  const start = mistakes(FILE, "combined-traefik");

  test("traefik-no-tls: the routers answer plain HTTP on :443, TLS fails", async () => {
    const t = await start("forwardauth", "traefik-no-tls");
    await assert.rejects(checkTls(t), /over TLS: no router serves it/);
    const plain = await publicClient({ host: t.host, address: t.address, httpPort: 443, from: t.clientAddress }).plain("/peers");
    assert.equal(plain.status, 200, "Traefik serves the dashboard router in plain HTTP on the TLS port");
  });

  test("decoded-path-router: the gated routers below the ungated ones let /relay/..%2fapi/… reach the API", async () => {
    const t = await start("forwardauth", "decoded-path-router");
    await assert.rejects(checkAttack(t), /relay\/\.\.%2fapi\/users\/1/);
  });

  test("no-gate (getting-started.sh's own labels): /api and the attack reach the API, spoofed identity passes", async () => {
    const t = await start("forwardauth", "no-gate");
    await assert.rejects(checkApiByGroup(t), /401|403/);
    await assert.rejects(checkAttack(t), /reached the REST API/);
    await assert.rejects(checkNoSpoofedIdentity(t), /reached an upstream/);
  });

  test("grpc-forward-auth: peers carry no user token, so every gRPC call is refused", async () => {
    const t = await start("forwardauth", "grpc-forward-auth");
    await assert.rejects(checkGrpc(t), (e) => e.code !== undefined || /grpc|UNAUTHENTICATED|Received HTTP status/i.test(e.message));
  });

  test("catch-all-to-management: the dashboard is gone (the API router still takes every /api spelling)", async () => {
    const t = await start("forwardauth", "catch-all-to-management");
    await assert.rejects(checkDashboardWithoutGate(t), /404 !== 200|404/);
    await checkAttack(t);
  });

  test("dashboard-through-gate (DASHBOARD = protect): the dashboard fails with the gate stopped", async () => {
    const t = await start("forwardauth", "dashboard-through-gate");
    await assert.rejects(checkDashboardWithoutGate(t), /with the gate stopped/);
  });

  test("issuer-trailing-slash: the gate fails closed (503), so /api never answers 401/403/200 by group", async () => {
    const t = await start("forwardauth", "issuer-trailing-slash");
    await assert.rejects(checkApiByGroup(t), /503 !== 401/);
  });
});
