// The deployment harness itself (issue 20): the judge of what QuFabric's REST API would serve, the attack list,
// the compose-fragment reader, the text transformations, the Docker Engine API stand-in, the loopback address
// blocks and the source-bound forwarder. The deploy-*.test.mjs suites rely on each of these; a mistake here would
// let a leak through unseen, so each is held to what it promises, including what it must refuse.
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { test } from "node:test";
import { composeList, composeServices, labelMap } from "../../tools/js/compose.mjs";
import { API_VERSION, container, startDockerApi } from "../../tools/js/dockerapi.mjs";
import { wranglerVars } from "../../tools/js/edgegate.mjs";
import { BLOCKS, sourceBound, topologyAddresses } from "../../tools/js/loopnet.mjs";
import { attackRequests, restServes } from "./support/netbird-paths.mjs";
import { goPath } from "./support/qf-http.mjs";
import { BROKEN_VARIANTS, localiseCaddy, localiseHosts, localiseNginx, localiseTraefikFlags, nginxResolve } from "./support/topology-text.mjs";

test("restServes: Go's decoded path, dot segments, `//`, `\\` and case; a bad escape is never served", () => {
  for (const t of ["/api", "/api/users", "/API/users", "//api/x", "/relay/..%2fapi/users/1", "/x/..%2F..%2Fapi/users",
    "/relay\\..\\api\\users", "/oauth2/%2e%2e/api/peers", "/%61pi/peers", "/api/peers?x=1"]) {
    assert.ok(restServes(t), t);
  }
  for (const t of ["/", "/relay", "/apix", "/api./peers", "/relay/%252e%252e/api/peers", "/oauth2/keys?/../../api/peers",
    "/api%zz/peers", "/peers"]) {
    assert.ok(!restServes(t), t);
  }
  assert.equal(goPath("/a%2Fb?c=%2F"), "/a/b");
  assert.equal(goPath("/a%zz"), null);
});

test("the attack list holds issue 20's requests and every escape from each prefix, each one the API would serve", () => {
  const list = attackRequests(["/relay", "/custom-prefix"]).map(([m, t]) => `${m} ${t}`);
  for (const r of ["DELETE /relay/..%2fapi/users/1", "DELETE /oauth2/..%2fapi/users/1", "DELETE /ws-proxy/..%2fapi/users/1",
    "GET /API/users", "GET /%2Fapi/users", "GET /x/..%2F..%2Fapi/users", "GET /relay\\..\\api\\users",
    "GET /api%2Fpeers", "DELETE /custom-prefix/..%2fapi/users/1", "GET /custom-prefix\\..\\api\\users"]) {
    assert.ok(list.includes(r), r);
  }
  assert.ok(attackRequests().every(([, t]) => restServes(t)));
  assert.equal(new Set(list).size, list.length, "no duplicates");
});

test("compose fragments: block and flow lists, quoting, tags; what is not read is an error, never a guess", () => {
  const yaml = `# comment
services:
  traefik:
    command:
      - "--a=1"
      - '--b=it''s'
      - --c=plain # trailing comment
    volumes: ["./x:/x:ro", '/etc/p:/etc/p:ro']
  management:
    ports: !override
      - "127.0.0.1:8012:443"
    image: netbirdio/management:latest
volumes:
  data:
`;
  const s = composeServices(yaml);
  assert.deepEqual(s.traefik.command.items, ["--a=1", "--b=it's", "--c=plain"]);
  assert.deepEqual(s.traefik.volumes.items, ["./x:/x:ro", "/etc/p:/etc/p:ro"]);
  assert.deepEqual(s.management.ports, { items: ["127.0.0.1:8012:443"], tag: "!override" });
  assert.equal(s.management.image.value, "netbirdio/management:latest");
  assert.deepEqual(labelMap(["a.b=c=d", "e="]), { "a.b": "c=d", e: "" });
  assert.throws(() => composeList("services:\n  x:\n    labels:\n      traefik.enable: true\n", "x", "labels"), /has no "labels:" list/);
  assert.throws(() => composeList(yaml, "nope", "labels"), /no service "nope"/);
  assert.throws(() => composeServices("services:\n  x:\n    labels: *anchor\n"), /anchors/);
  assert.throws(() => labelMap(["no-equals"]), /without "="/);
});

test("text changes: only names followed by a port, listeners on the proxy's address, the test certificate", () => {
  const names = { "netbird-server": "127.41.9.3", "127.0.0.1": "127.41.9.1" };
  assert.equal(localiseHosts("h2c://netbird-server:80 netbird-server-h2c netbird-server server 127.0.0.1:8081 x127.0.0.1:1", names),
    "h2c://127.41.9.3:80 netbird-server-h2c netbird-server server 127.41.9.1:8081 x127.0.0.1:1");
  const nginx = localiseNginx("server {\n    listen 443 ssl http2;\n    ssl_certificate /path/x.pem;\n    ssl_certificate_key /path/k.pem;\n}\nserver {\n    listen 80;\n}\n",
    { address: "127.41.9.2", certFile: "/c.pem", keyFile: "/k.pem" });
  assert.equal(nginx, "server {\n    listen 127.41.9.2:443 ssl http2;\n    ssl_certificate /c.pem;\n    ssl_certificate_key /k.pem;\n}\nserver {\n    listen 127.41.9.2:80;\n}\n");
  assert.throws(() => localiseNginx("server {\n    listen 80;\n}\n", { address: "a", certFile: "c", keyFile: "k" }), /no TLS listener on 443/);
  const caddy = localiseCaddy("netbird.example.com {\n\treverse_proxy x\n}\n", { address: "127.41.9.2", certFile: "/c", keyFile: "/k", dir: "/d" });
  assert.match(caddy, /^netbird\.example\.com \{\n\ttls \/c \/k\n\treverse_proxy x\n\}/m);
  assert.match(caddy, /default_bind 127\.41\.9\.2/);
  assert.throws(() => localiseCaddy("other.example.com {\n}\n", { address: "a", certFile: "c", keyFile: "k", dir: "d" }), /no netbird\.example\.com site/);
  assert.deepEqual(localiseTraefikFlags(["--entrypoints.websecure.address=:443", "--entrypoints.x.address=10.0.0.1:1",
    "--certificatesresolvers.le.acme.storage=/letsencrypt/acme.json", "--experimental.localplugins.pocketgate.settings.mounts=/etc/pocketgate:/keys:ro"],
  { address: "127.41.9.2", dir: "/w", keysDir: "/k" }), ["--entrypoints.websecure.address=127.41.9.2:443", "--entrypoints.x.address=10.0.0.1:1",
    "--certificatesresolvers.le.acme.storage=/w/acme.json", "--experimental.localplugins.pocketgate.settings.mounts=/k:/keys:ro"]);
});

test("the Worker's [vars] as the page writes them; a name resolved for nginx without DNS", () => {
  assert.deepEqual(wranglerVars('[vars]\nISSUER = "https://x.example.com/oauth2"\n# FORWARDED_HEADERS = "nginx"\nQ = "a\\"b"\n'),
    { ISSUER: "https://x.example.com/oauth2", Q: 'a"b' });
  assert.equal(nginxResolve({ "gate.example.workers.dev": "127.42.1.11:443" }), "upstream gate.example.workers.dev {\n    server 127.42.1.11:443;\n}\n");
});

test("known mistakes: each is one named edit that changes the text it applies to", () => {
  const labels = {
    "netbird-server": ["traefik.http.routers.api.rule=PathPrefix(`/api`)", "traefik.http.routers.api.middlewares=strip,gate",
      "traefik.http.routers.api.tls=true", "traefik.http.routers.api.tls.certresolver=le", "traefik.http.routers.api.priority=200",
      "traefik.http.routers.api.service=srv", "traefik.http.routers.grpc.middlewares=strip", "traefik.http.routers.grpc.priority=100",
      "traefik.http.middlewares.gate.forwardauth.address=http://pocketgate:8080/_gate/auth"],
    dashboard: ["traefik.http.routers.dash.middlewares=strip", "traefik.http.routers.dash.service=dashboard", "traefik.http.routers.dash.priority=1"],
  };
  const noTls = BROKEN_VARIANTS["traefik-no-tls"].labels(labels);
  assert.ok(!Object.values(noTls).flat().some((l) => l.includes(".tls")));
  const decoded = BROKEN_VARIANTS["decoded-path-router"].labels(labels);
  assert.ok(decoded["netbird-server"].includes("traefik.http.routers.api.priority=2"));
  assert.ok(decoded["netbird-server"].includes("traefik.http.routers.grpc.priority=100"));
  const grpc = BROKEN_VARIANTS["grpc-forward-auth"].labels(labels);
  assert.ok(grpc["netbird-server"].includes("traefik.http.routers.grpc.middlewares=strip,gate"));
  const catchAll = BROKEN_VARIANTS["catch-all-to-management"].labels(labels);
  assert.deepEqual(catchAll.dashboard, ["traefik.http.routers.dash.service=srv", "traefik.http.routers.dash.priority=1"]);
  assert.deepEqual(BROKEN_VARIANTS["default-timeouts"].flags(["--a=1", "--entrypoints.w.transport.respondingTimeouts.readTimeout=0"]), ["--a=1"]);
  assert.equal(BROKEN_VARIANTS["default-timeouts"].nginx("    client_body_timeout 1d;\n    grpc_read_timeout 1d;\n    grpc_pass x;\n"), "    grpc_pass x;\n");
  assert.match(BROKEN_VARIANTS["issuer-trailing-slash"].capnp('(name = "ISSUER", text = "https://id.example.com"),'), /"https:\/\/id\.example\.com\/"/);
  assert.throws(() => BROKEN_VARIANTS["grpc-forward-auth"].nginx("server {}"), /no gRPC location/);
  assert.equal(BROKEN_VARIANTS["nginx-no-sni"].nginx("  a;\n        proxy_ssl_server_name on;\n  b;\n"), "  a;\n  b;\n");
});

test("the Docker Engine API stand-in answers what Traefik's provider calls, and records what it does not know", async () => {
  const c = container({ name: "netbird-server", ip: "127.45.250.3", labels: { "traefik.enable": "true" }, ports: ["80/tcp"] });
  const api = await startDockerApi([c]);
  const get = (path, method = "GET") => new Promise((resolve, reject) => {
    const req = request({ socketPath: api.socket, path, method }, (res) => {
      let body = "";
      res.on("data", (d) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, json: body ? JSON.parse(body) : null, body }));
    });
    req.on("error", reject);
    req.end();
  });
  try {
    const ping = await get("/_ping", "HEAD");
    assert.equal(ping.status, 200);
    assert.equal(ping.headers["api-version"], API_VERSION);
    assert.equal((await get("/v1.54/version")).json.ApiVersion, API_VERSION);
    const list = (await get("/v1.54/containers/json?all=1")).json;
    assert.deepEqual(list.map((x) => x.Id), [c.id]);
    const inspect = (await get(`/v1.54/containers/${c.id}/json`)).json;
    assert.equal(inspect.Name, "/netbird-server");
    assert.equal(inspect.State.Status, "running");
    assert.equal(inspect.Config.Labels["traefik.enable"], "true");
    assert.equal(inspect.Config.Labels["com.docker.compose.service"], "netbird-server");
    assert.deepEqual(inspect.NetworkSettings.Networks.netbird_netbird.IPAddress, "127.45.250.3");
    assert.deepEqual(Object.keys(inspect.NetworkSettings.Ports), ["80/tcp"]);
    assert.equal((await get("/v1.54/containers/nope/json")).status, 404);
    assert.equal((await get("/v1.54/services")).status, 404);
    assert.deepEqual(api.unknown, ["GET /v1.54/services"]);
  } finally {
    await api.close();
  }
});

test("loopback blocks: one per file, never shared; a topology's addresses are its own", () => {
  const seconds = Object.values(BLOCKS);
  assert.equal(new Set(seconds).size, seconds.length, "no two files share a block");
  const a = topologyAddresses("deploy-harness");
  const b = topologyAddresses("deploy-harness");
  assert.notEqual(a.of("proxy"), b.of("proxy"));
  assert.match(a.of("client"), /^127\.45\.\d+\.9$/);
  assert.throws(() => topologyAddresses("some-new-file"), /add it to BLOCKS/);
  assert.throws(() => a.of("database"), /no loopback role/);
});

test("the source-bound forwarder: the far end sees the chosen loopback address", async () => {
  const server = createServer((req, res) => res.end(req.socket.remoteAddress));
  await new Promise((r) => server.listen(0, "127.45.251.2", r));
  const fwd = await sourceBound({ host: "127.45.251.2", port: server.address().port, localAddress: "127.45.251.9" });
  try {
    const seen = await (await fetch(`http://${fwd.address}/`)).text();
    assert.equal(seen, "127.45.251.9");
  } finally {
    await fwd.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
