// A Docker Engine API stand-in on a unix socket, for Traefik's real Docker provider (`--providers.docker.endpoint=
// unix://…`): it answers the calls that provider makes and the fields it reads, so Docker labels are read the way
// a compose deployment serves them, without Docker.
//
// What Traefik 3.7 calls (traefik pkg/provider/docker/pdocker.go Provide, listContainers; shared.go
// inspectContainers, parseContainer) through moby's client (github.com/moby/moby/client v0.4.0, API types
// github.com/moby/moby/api v1.54.1): `GET /_ping` (API version negotiation: the `API-Version` header), `GET /version`
// (ServerVersion), `GET /containers/json?all=1` (ContainerList: only `Id` is read), `GET /containers/{id}/json`
// (ContainerInspect: `Id`, `Name`, `State.Status`, `State.Health.Status`, `Config.Labels`, `HostConfig.NetworkMode`,
// `NetworkSettings.Ports`, `NetworkSettings.Networks[name].NetworkID/IPAddress`), and `GET /events` with a
// `type=container` filter (a stream it keeps open; `start`, `die` and `health_status*` make it list again). Paths
// may carry a `/v1.NN` prefix. Anything else answers 404 and is recorded in `unknown`.
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The API version this stand-in speaks (moby api v1.54.1, Traefik 3.7's go.mod). */
export const API_VERSION = "1.54";

/**
 * One container as the stand-in serves it. `name`: the container name (compose `container_name`); `labels`: an
 * object; `ip`: its address on `network`; `ports`: exposed container ports (["80/tcp"]); `project`/`service`: the
 * compose labels Docker Compose adds (com.docker.compose.project/service); `state`, `health` as Docker reports them.
 */
export function container({ name, labels = {}, ip, network = "netbird", project = "netbird", service = name, ports = [],
  state = "running", health = "" }) {
  if (!name || !ip) throw new Error("container: name and ip are required");
  // Docker Compose names a project's network `<project>_<network>` (gs.sh's compose file declares `netbird`).
  const networkName = `${project}_${network}`;
  return {
    id: Buffer.from(name).toString("hex").padEnd(64, "0").slice(0, 64), name, ip, networkName, state, health,
    labels: { "com.docker.compose.project": project, "com.docker.compose.service": service, ...labels },
    ports,
  };
}

/** The inspect document of `c` (the fields moby's InspectResponse carries that Traefik reads, and a few more). */
function inspect(c) {
  return {
    Id: c.id, Name: `/${c.name}`, Created: "2026-01-01T00:00:00Z", Path: "/entrypoint", Args: [],
    State: { Status: c.state, Running: c.state === "running", Paused: false, Restarting: false, Dead: false, Pid: 1,
      ExitCode: 0, ...(c.health ? { Health: { Status: c.health, FailingStreak: 0, Log: [] } } : {}) },
    Config: { Hostname: c.name, Image: "stand-in", Labels: c.labels, ExposedPorts: Object.fromEntries(c.ports.map((p) => [p, {}])) },
    HostConfig: { NetworkMode: c.networkName },
    NetworkSettings: {
      Ports: Object.fromEntries(c.ports.map((p) => [p, null])),
      Networks: { [c.networkName]: { NetworkID: `net-${c.networkName}`, EndpointID: `ep-${c.name}`, Gateway: "", IPAddress: c.ip,
        IPPrefixLen: 24, MacAddress: "", Aliases: [c.name], DNSNames: [c.name] } },
    },
  };
}

/** The list entry of `c` (ContainerList's container.Summary). */
function summary(c) {
  return { Id: c.id, Names: [`/${c.name}`], Image: "stand-in", ImageID: "", Command: "", Created: 1767225600,
    State: c.state, Status: c.state === "running" ? "Up" : "Exited", Labels: c.labels, Ports: [],
    NetworkSettings: { Networks: { [c.networkName]: { IPAddress: c.ip, NetworkID: `net-${c.networkName}` } } } };
}

/**
 * Start the stand-in on a unix socket in `dir` (default: a new temporary folder) serving `containers` (from
 * `container()`). Returns `{ socket, endpoint ("unix://…"), requests, unknown, set(containers), emit(action, name),
 * close() }`: `requests` lists every `METHOD path` received (version prefix removed), `set` replaces the containers
 * (and emits nothing), `emit` sends a container event to every open `/events` stream.
 */
export async function startDockerApi(containers, { dir = mkdtempSync(join(tmpdir(), "pocketgate-docker-")) } = {}) {
  let list = [...containers];
  const requests = [];
  const unknown = [];
  const streams = new Set();
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://docker");
    const path = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, "");
    requests.push(`${req.method} ${path}`);
    const send = (status, body) => {
      res.writeHead(status, { "content-type": "application/json", "api-version": API_VERSION, "ostype": "linux",
        "docker-experimental": "false", server: `Docker/28.0.0 (linux)` });
      res.end(body === undefined ? "" : JSON.stringify(body));
    };
    if (path === "/_ping") {
      res.writeHead(200, { "content-type": "text/plain", "api-version": API_VERSION, ostype: "linux", "docker-experimental": "false",
        "cache-control": "no-cache, no-store, must-revalidate", pragma: "no-cache" });
      return res.end(req.method === "HEAD" ? undefined : "OK");
    }
    if (path === "/version") {
      return send(200, { Version: "28.0.0", ApiVersion: API_VERSION, MinAPIVersion: "1.24", Os: "linux", Arch: "amd64",
        KernelVersion: "6.1.0", GoVersion: "go1.24", GitCommit: "stand-in", BuildTime: "2026-01-01T00:00:00Z",
        Platform: { Name: "Docker Engine - Community (stand-in)" }, Components: [] });
    }
    if (path === "/info") return send(200, { ID: "stand-in", Containers: list.length, ServerVersion: "28.0.0", OSType: "linux", Swarm: { LocalNodeState: "inactive" } });
    if (path === "/containers/json") {
      const all = ["1", "true"].includes(url.searchParams.get("all"));
      return send(200, list.filter((c) => all || c.state === "running").map(summary));
    }
    const inspectMatch = path.match(/^\/containers\/([^/]+)\/json$/);
    if (inspectMatch) {
      const c = list.find((x) => x.id === inspectMatch[1] || x.name === inspectMatch[1]);
      return c ? send(200, inspect(c)) : send(404, { message: `No such container: ${inspectMatch[1]}` });
    }
    if (path === "/events") {
      res.writeHead(200, { "content-type": "application/json", "api-version": API_VERSION });
      res.flushHeaders();
      streams.add(res);
      req.on("close", () => streams.delete(res));
      return undefined;
    }
    unknown.push(`${req.method} ${req.url}`);
    return send(404, { message: `page not found (Docker Engine API stand-in: ${path})` });
  });
  const socket = join(dir, "docker.sock");
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, resolve);
  });
  return {
    socket, endpoint: `unix://${socket}`, requests, unknown,
    set(next) { list = [...next]; },
    emit(action, name) {
      const c = list.find((x) => x.name === name);
      if (!c) throw new Error(`no container ${name}`);
      const now = Date.now();
      const event = { Type: "container", Action: action, Actor: { ID: c.id, Attributes: { name: c.name, ...c.labels } },
        scope: "local", time: Math.floor(now / 1000), timeNano: now * 1e6 };
      for (const s of streams) s.write(`${JSON.stringify(event)}\n`);
    },
    close: () => new Promise((r) => {
      for (const s of streams) s.destroy();
      server.closeAllConnections?.();
      server.close(() => r());
    }),
  };
}
