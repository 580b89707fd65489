// Issue 20, topology "legacy": the standalone stack (PocketID the primary IdP; configure.sh,
// docker-compose.yml.tmpl) with the setup page's text in it. Management, signal, relay and the dashboard are
// separate stand-ins, each on its own loopback address at the ports docker-compose.yml.tmpl gives it (management
// `--port 443`, signal 80 and 10000, the relay on NETBIRD_RELAY_PORT from the page's setup.env, the dashboard 80),
// published on the host where the page's docker-compose.override.yml publishes them. In front, on loopback 443
// with the run's test certificate, routed as nginx.tmpl.conf:55-102 routes the stack (signal gRPC and
// /ws-proxy/signal to signal, /relay to the relay, management gRPC, /ws-proxy/management and /api to management, the
// rest to the dashboard):
// - "nginx": nginx.tmpl.conf's port-80 redirect (:28-37) with the page's HTTPS server (`gate_nginx`);
// - "caddy": the page's site block (`gate_caddy`);
// - "traefik": an operator's Traefik (flags) reading the page's labels (`gate_traefik_labels`) for the four
//   containers through its Docker provider.
// The gate is the page's workerd configuration (systemd on the host for nginx and Caddy, a container for Traefik),
// trusting the PocketID stand-in.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkAttack, checkDashboardWithoutGate, checkGrpc } from "./support/deploy-checks.mjs";
import { mistakes, topologySuite } from "./support/deploy-suite.mjs";

const FILE = "deploy-legacy";

/** configure.sh's endpoints for a setup.env (base.setup.env:6-27 defaults; configure.sh:170-174 when Let's
 * Encrypt is disabled): where peers dial management, signal and the relay. */
function endpoints(setupEnv) {
  const env = Object.fromEntries([...setupEnv.matchAll(/^([A-Z_]+)=(?:"([^"]*)"|(\S*))/gm)].map((m) => [m[1], m[2] ?? m[3]]));
  const domain = env.NETBIRD_DOMAIN;
  const port = (name, dflt) => env[name] || dflt;
  assert.equal(env.NETBIRD_DISABLE_LETSENCRYPT, "true", "behind a TLS proxy, Let's Encrypt is the proxy's job");
  return {
    management: `https://${domain}:${port("NETBIRD_MGMT_API_PORT", "33073")}`, // configure.sh:71 (https with the proxy)
    signal: `https://${domain}:${port("NETBIRD_SIGNAL_PORT", "10000")}`, // configure.sh:172
    relay: `rels://${domain}:${port("NETBIRD_RELAY_PORT", "33080")}/relay`, // configure.sh:173
  };
}

for (const variant of ["nginx", "caddy", "traefik"]) {
  topologySuite(FILE, "legacy", variant, "management, signal, relay and dashboard as separate containers", (topology) => {
    test("setup.env points every peer endpoint at the proxy's 443 (setup.env.example:104-117); no file the stack never reads", () => {
      const t = topology();
      assert.deepEqual(endpoints(t.artifacts.qufabric_setup_env), {
        management: `https://${t.host}:443`, signal: `https://${t.host}:443`, relay: `rels://${t.host}:443/relay`,
      });
      assert.equal(t.relayPort, 443, "the relay container listens where NB_LISTEN_ADDRESS=:$NETBIRD_RELAY_PORT puts it");
      // The stack builds management.json from management.json.tmpl and the dashboard's environment from setup.env
      // (docker-compose.yml.tmpl:17-35): a page file for them would never be read.
      for (const gone of ["qufabric_management_json", "qufabric_dashboard_env"]) assert.equal(t.artifacts[gone], undefined, gone);
    });
  });
}

describe("legacy: known mistakes fail their checks", () => {
  const start = mistakes(FILE, "legacy");

  test("traefik, decoded-path-router: an escape from an ungated management router (/ws-proxy/management/..%2f…) reaches the API", async () => {
    const t = await start("traefik", "decoded-path-router");
    await assert.rejects(checkAttack(t), /reached the REST API/);
  });

  test("nginx, grpc-forward-auth: peers' gRPC is refused", async () => {
    const t = await start("nginx", "grpc-forward-auth");
    await assert.rejects(checkGrpc(t), (e) => e.code !== undefined);
  });

  test("caddy, dashboard-through-gate: the dashboard fails with the gate stopped", async () => {
    const t = await start("caddy", "dashboard-through-gate");
    await assert.rejects(checkDashboardWithoutGate(t), /with the gate stopped/);
  });
});
