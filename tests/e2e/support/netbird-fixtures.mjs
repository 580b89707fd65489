// NetBird's own side of each deployment, transcribed as test data from NetBird ee253fe (the mirror in
// /work/.mirror/netbirdio+netbird; path:line next to each item) and kept as small as the suites need: what the
// operator's stack already has around the setup page's text. `$NETBIRD_DOMAIN` and `$TRAEFIK_ACME_EMAIL` are
// gs.sh's own placeholders, filled in by the topology.

/**
 * getting-started.sh `render_docker_compose_traefik_builtin`: the `traefik` service's `command:`
 * (infrastructure_files/getting-started.sh:840-866, `ENABLE_PROXY=false`: no file provider).
 */
export const GS_TRAEFIK_COMMAND = [
  "--log.level=INFO", // gs.sh:842
  "--accesslog=true", // gs.sh:843
  "--providers.docker=true", // gs.sh:845
  "--providers.docker.exposedbydefault=false", // gs.sh:846
  "--providers.docker.network=netbird", // gs.sh:847
  "--entrypoints.web.address=:80", // gs.sh:849
  "--entrypoints.websecure.address=:443", // gs.sh:850
  "--entrypoints.websecure.allowACMEByPass=true", // gs.sh:851
  "--entrypoints.websecure.transport.respondingTimeouts.readTimeout=0", // gs.sh:853
  "--entrypoints.websecure.transport.respondingTimeouts.writeTimeout=0", // gs.sh:854
  "--entrypoints.websecure.transport.respondingTimeouts.idleTimeout=0", // gs.sh:855
  "--entrypoints.web.http.redirections.entrypoint.to=websecure", // gs.sh:857
  "--entrypoints.web.http.redirections.entrypoint.scheme=https", // gs.sh:858
  "--certificatesresolvers.letsencrypt.acme.email=$TRAEFIK_ACME_EMAIL", // gs.sh:860
  "--certificatesresolvers.letsencrypt.acme.storage=/letsencrypt/acme.json", // gs.sh:861
  "--certificatesresolvers.letsencrypt.acme.tlschallenge=true", // gs.sh:862
  "--serverstransport.forwardingtimeouts.responseheadertimeout=0s", // gs.sh:864
  "--serverstransport.forwardingtimeouts.idleconntimeout=0s", // gs.sh:865
];

/**
 * The static configuration of "an existing Traefik" that gs.sh's `render_docker_compose_traefik` (gs.sh:1080)
 * labels assume: entry point `$TRAEFIK_ENTRYPOINT` (default `websecure`, gs.sh:417) defined, the Docker provider
 * reading the labels, the readTimeout advice printed by `print_traefik_instructions` (gs.sh:1522-1523), and the
 * HTTP→HTTPS redirect it recommends (gs.sh:1524). Nothing else is assumed of the operator's Traefik.
 */
export const OPERATOR_TRAEFIK_COMMAND = [
  "--providers.docker=true",
  "--providers.docker.exposedbydefault=false",
  "--entrypoints.web.address=:80",
  "--entrypoints.websecure.address=:443",
  "--entrypoints.websecure.transport.respondingTimeouts.readTimeout=0",
  "--entrypoints.web.http.redirections.entrypoint.to=websecure",
  "--entrypoints.web.http.redirections.entrypoint.scheme=https",
];

/**
 * getting-started.sh `render_nginx_conf` around the HTTPS server the page's nginx configuration replaces: the two
 * upstreams (gs.sh:1247-1253, `get_upstream_host` = 127.0.0.1, gs.sh:318-322; `MANAGEMENT_HOST_PORT` 8081,
 * `DASHBOARD_HOST_PORT` 8080, gs.sh:420-421) and the port-80 redirect server (gs.sh:1255-1262).
 */
export const GS_NGINX_AROUND = `upstream netbird_dashboard {
    server 127.0.0.1:8080;
    keepalive 10;
}
upstream netbird_server {
    server 127.0.0.1:8081;
}

server {
    listen 80;
    server_name $NETBIRD_DOMAIN;

    location / {
        return 301 https://$host$request_uri;
    }
}
`;

/** nginx.tmpl.conf's port-80 redirect server (infrastructure_files/nginx.tmpl.conf:28-37), kept beside the page's
 * HTTPS server in the legacy stack. */
export const LEGACY_NGINX_AROUND = `server {
    # HTTP server config
    listen 80;
    server_name _;

    # 301 redirect to HTTPS
    location / {
            return 301 https://$host$request_uri;
    }
}
`;

/**
 * getting-started.sh's labels of NetBird's own built-in Traefik stack (gs.sh:889-934), without any gate: the
 * "no gate at all" baseline, which the attack and the identity checks must fail.
 */
export const GS_BUILTIN_LABELS = {
  dashboard: [
    "traefik.enable=true",
    "traefik.http.routers.netbird-dashboard.rule=Host(`$NETBIRD_DOMAIN`)",
    "traefik.http.routers.netbird-dashboard.entrypoints=websecure",
    "traefik.http.routers.netbird-dashboard.tls=true",
    "traefik.http.routers.netbird-dashboard.tls.certresolver=letsencrypt",
    "traefik.http.routers.netbird-dashboard.service=dashboard",
    "traefik.http.routers.netbird-dashboard.priority=1",
    "traefik.http.services.dashboard.loadbalancer.server.port=80",
  ],
  "netbird-server": [
    "traefik.enable=true",
    "traefik.http.routers.netbird-grpc.rule=Host(`$NETBIRD_DOMAIN`) && (PathPrefix(`/signalexchange.SignalExchange/`) || PathPrefix(`/management.ManagementService/`) || PathPrefix(`/management.ProxyService/`))",
    "traefik.http.routers.netbird-grpc.entrypoints=websecure",
    "traefik.http.routers.netbird-grpc.tls=true",
    "traefik.http.routers.netbird-grpc.tls.certresolver=letsencrypt",
    "traefik.http.routers.netbird-grpc.service=netbird-server-h2c",
    "traefik.http.routers.netbird-grpc.priority=100",
    "traefik.http.routers.netbird-backend.rule=Host(`$NETBIRD_DOMAIN`) && (PathPrefix(`/relay`) || PathPrefix(`/ws-proxy/`) || PathPrefix(`/api`) || PathPrefix(`/oauth2`))",
    "traefik.http.routers.netbird-backend.entrypoints=websecure",
    "traefik.http.routers.netbird-backend.tls=true",
    "traefik.http.routers.netbird-backend.tls.certresolver=letsencrypt",
    "traefik.http.routers.netbird-backend.service=netbird-server",
    "traefik.http.routers.netbird-backend.priority=100",
    "traefik.http.services.netbird-server.loadbalancer.server.port=80",
    "traefik.http.services.netbird-server-h2c.loadbalancer.server.port=80",
    "traefik.http.services.netbird-server-h2c.loadbalancer.server.scheme=h2c",
  ],
};

/** The containers of each stack and the ports they listen on inside the container. */
export const CONTAINER_PORTS = {
  // gs.sh:962 `listenAddress: ":80"` (combined server); gs.sh:896 the dashboard's `server.port=80`.
  combined: { "netbird-server": [80], dashboard: [80] },
  // docker-compose.yml.tmpl: management `--port 443` (:87-88), signal `--port 80` (:53-57) and the legacy gRPC
  // port 10000 it keeps serving (signal/cmd/run.go:155-163), the dashboard's nginx on 80 (:14-15); the relay
  // listens on NB_LISTEN_ADDRESS=:$NETBIRD_RELAY_PORT (:66), read from the generated setup.env
  // (base.setup.env:26: 33080 when unset).
  legacy: { management: [443], signal: [80, 10000], dashboard: [80] },
};
/** base.setup.env:26: the relay's port when setup.env sets none. */
export const LEGACY_RELAY_PORT_DEFAULT = 33080;

/** The compose service names of each stack and the container names Docker gives them (container_name). */
export const CONTAINER_NAMES = {
  // gs.sh:883 dashboard `container_name: netbird-dashboard`, gs.sh:906 `container_name: netbird-server`.
  combined: { dashboard: "netbird-dashboard", "netbird-server": "netbird-server" },
  // docker-compose.yml.tmpl sets no container_name: compose names them <project>-<service>-1 (project `artifacts`,
  // the folder configure.sh writes into, configure.sh:259).
  legacy: { management: "artifacts-management-1", signal: "artifacts-signal-1", relay: "artifacts-relay-1", dashboard: "artifacts-dashboard-1" },
};
