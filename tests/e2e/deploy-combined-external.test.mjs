// Issue 20, topology "combined-external": getting-started.sh's "existing reverse proxy" outputs with the setup
// page's text in them. The combined `netbird-server` and the dashboard are stand-ins on their own loopback addresses
// at port 80, published on the host's 127.0.0.1:8081 and :8080 (gs.sh:1187, 1203
// `render_docker_compose_exposed_ports`). In front of them, each on its loopback 443 with the run's test
// certificate:
// - "nginx": gs.sh's `render_nginx_conf` upstreams and port-80 redirect (gs.sh:1247-1262) with the page's HTTPS
//   server (`gate_nginx`), the gate a systemd workerd on the host's 127.0.0.1:8787 (`gate_workerd_config`);
// - "caddy": the page's site block (`gate_caddy`, replacing `render_external_caddyfile`'s), the same gate;
// - "traefik": an operator's Traefik (the static configuration gs.sh's instructions assume, gs.sh:1494-1525, plus
//   the page's `gate_traefik_static` flags) reading the page's labels (`gate_traefik_labels`, replacing
//   `render_docker_compose_traefik`'s) through its Docker provider; the gate a container on the compose network;
// - "nginx-cloudflare": the same nginx asking the Worker on Cloudflare (`gate_host: cloudflare`, an https:// gate
//   URL): the Worker with the page's `[vars]` behind an edge stand-in that, like Cloudflare's, needs SNI.
// support/topology-text.mjs lists every change made to the text; support/deploy-suite.mjs the checks.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkApiByGroup, checkAttack, checkDashboardWithoutGate, checkGrpc, checkTls } from "./support/deploy-checks.mjs";
import { mistakes, topologySuite } from "./support/deploy-suite.mjs";
import { WORKER_HOST } from "./support/topology-text.mjs";

const FILE = "deploy-combined-external";

topologySuite(FILE, "combined-external", "nginx", "gs.sh's nginx (render_nginx_conf) with the page's HTTPS server", (topology) => {
  test("nginx sets the client's address for every upstream (gs.sh:1296-1301)", () => {
    const conf = topology().proxyConfig;
    assert.match(conf, /proxy_set_header\s+X-Real-IP\s+\$remote_addr;/);
    assert.match(conf, /proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;/);
    assert.match(conf, /grpc_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;/);
  });
});
topologySuite(FILE, "combined-external", "caddy", "the page's Caddyfile site block");
topologySuite(FILE, "combined-external", "nginx-cloudflare", "gs.sh's nginx asking the Worker on Cloudflare (https:// gate URL)", (topology) => {
  test("nginx names the Worker's host in SNI (the edge completes no handshake without it)", async () => {
    const t = topology();
    const r = await t.client.request("/api/peers");
    assert.equal(r.status, 401, r.text);
    // (nginx resumes its TLS session with the edge, proxy_ssl_session_reuse: a resumed handshake is not counted.)
    assert.ok(t.edge.snis.length > 0, "nginx made a full handshake with the edge");
    assert.deepEqual([...new Set(t.edge.snis)], [WORKER_HOST], "every handshake named the Worker's host");
    assert.equal(t.edge.refused(), 0, "no refused handshake");
  });
});
topologySuite(FILE, "combined-external", "traefik", "an operator's Traefik (flags) with the page's labels");

describe("combined-external: known mistakes fail their checks", () => {
  const start = mistakes(FILE, "combined-external");

  test("nginx, grpc-forward-auth: auth_request on the gRPC location refuses every peer", async () => {
    const t = await start("nginx", "grpc-forward-auth");
    assert.match(t.proxyConfig, /SignalExchange[^\n]*\{\n\s*auth_request/, "the mistake is in the configuration nginx runs");
    await assert.rejects(checkGrpc(t), (e) => e.code !== undefined);
  });

  test("caddy, catch-all-to-management: the dashboard is gone (the API route still takes every /api spelling)", async () => {
    const t = await start("caddy", "catch-all-to-management");
    await assert.rejects(checkDashboardWithoutGate(t), /404/);
    await checkAttack(t);
  });

  test("nginx, dashboard-through-gate (DASHBOARD = protect): the dashboard fails with the gate stopped", async () => {
    const t = await start("nginx", "dashboard-through-gate");
    await assert.rejects(checkDashboardWithoutGate(t), /with the gate stopped/);
  });

  test("nginx-cloudflare, nginx-no-sni: without proxy_ssl_server_name the edge refuses nginx's handshake, /api is never judged", async () => {
    const t = await start("nginx-cloudflare", "nginx-no-sni");
    await assert.rejects(checkApiByGroup(t), /500 !== 401/);
    assert.ok(t.edge.refused() > 0, "the edge refused a handshake without SNI");
    await checkAttack(t);
  });

  test("traefik, traefik-no-tls: the operator's Traefik serves the routers without TLS", async () => {
    const t = await start("traefik", "traefik-no-tls");
    await assert.rejects(checkTls(t), /over TLS: no router serves it/);
  });
});
