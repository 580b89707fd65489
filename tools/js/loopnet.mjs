// Loopback addresses for deployment-shaped tests: every container, proxy and client of a topology gets its own
// 127.x.y.z, so each listens on the port it really listens on (80, 443, 8080, 10000, 33073, 33080, …) and an
// upstream can tell the client's address from the proxy's. Linux routes all of 127.0.0.0/8 to `lo`; binding any
// address in it needs no set-up. Nothing here leaves loopback.
//
// Addresses: 127.<file block>.<topology>.<role>. Each test file that starts topologies has its own block (BLOCKS),
// so two files never collide even when node --test runs them at once; each topology a file starts gets the next
// topology number; ROLES names the last byte.
import { connect, createServer } from "node:net";

/** The second byte of each file's addresses. A new file that starts topologies adds itself here (never reuses). */
export const BLOCKS = {
  "deploy-combined-traefik": 41,
  "deploy-combined-external": 42,
  "deploy-legacy": 43,
  "deploy-streams": 44,
  "deploy-harness": 45,
  "live-check-topologies": 51,
};

/** The last byte of each part of a topology. `host` stands for the Docker host's own 127.0.0.1 (what a compose
 * file publishes a container's port on); `edge` for Cloudflare's edge in front of a Worker. */
export const ROLES = {
  host: 1, proxy: 2, "netbird-server": 3, management: 3, dashboard: 4, pocketgate: 5, signal: 6, relay: 7,
  pocketid: 8, client: 9, docker: 10, edge: 11,
};

const next = new Map();

/**
 * The addresses of a new topology in `file`'s block (a key of BLOCKS): `{ block, topology, of(role), prefix }`,
 * `of("proxy")` → "127.41.1.2". Throws for an unknown file or role, and after 250 topologies in one file.
 */
export function topologyAddresses(file) {
  const block = BLOCKS[file];
  if (!block) throw new Error(`tools/js/loopnet.mjs: no address block for "${file}": add it to BLOCKS`);
  const topology = (next.get(file) ?? 0) + 1;
  if (topology > 250) throw new Error(`${file}: more than 250 topologies in one run`);
  next.set(file, topology);
  const prefix = `127.${block}.${topology}`;
  return {
    block, topology, prefix,
    of(role) {
      if (!(role in ROLES)) throw new Error(`no loopback role "${role}" (ROLES: ${Object.keys(ROLES).join(", ")})`);
      return `${prefix}.${ROLES[role]}`;
    },
  };
}

/**
 * A TCP forwarder for clients that cannot choose their source address (@grpc/grpc-js): it listens on
 * `listenHost` (default: `localAddress`), port chosen by the kernel, and connects each accepted connection to
 * `host:port` from `localAddress`, so the far end sees `localAddress` as the peer. Bytes pass untouched (TLS
 * included). Returns `{ host, port, address: "host:port", close() }`.
 */
export async function sourceBound({ host, port, localAddress, listenHost = localAddress }) {
  const sockets = new Set();
  const server = createServer((inbound) => {
    const outbound = connect({ host, port, localAddress });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => { inbound.destroy(); outbound.destroy(); });
    }
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, listenHost, resolve);
  });
  const bound = server.address().port;
  return {
    host: listenHost, port: bound, address: `${listenHost}:${bound}`,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
