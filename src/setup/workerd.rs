//! The self-hosted gate: the same bundle as the Cloudflare Worker, served by workerd (the open-source Workers
//! runtime, npm `workerd`) next to the user's own proxy, for forward-auth without a round trip over the internet.
//!
//! Four files: a workerd configuration (Cap'n Proto text, schema `workerd.capnp` in the npm package) with the
//! gate's `[vars]` as text bindings, a Dockerfile and a docker compose service built from it, and a systemd unit.
//! The container starts offline: workerd (pinned) is installed into the image when it is built, never downloaded
//! when the container starts (a runtime fetched by `npx` at every start is a supply-chain and availability risk). The configuration follows the
//! one the benches run (bench/lib/workerd.mjs): module names are the paths the bundle's imports resolve to
//! (`index.js` → `worker/shim.mjs` → `worker/index.wasm`, the stable names `worker-build` writes into `build/`),
//! embedded from files next to the configuration. tests/e2e/selfhost-workerd.test.mjs runs the generated text in
//! the real workerd binary.

use super::gate::{AUTH_PATH, Proxy, vars};
use super::render::capnp_string;
use super::{Artifact, Plan};

/// The workerd release the snippets pin: the one `cargo xtask setup` installs (npm `workerd`, via wrangler and
/// miniflare), which the end-to-end tests run.
pub const WORKERD_VERSION: &str = "1.20260426.1";
/// `wrangler.toml`'s `compatibility_date`: the self-hosted gate runs with the same runtime behaviour.
pub const COMPATIBILITY_DATE: &str = "2025-09-01";
/// The configuration's file name.
pub const CONFIG_FILE: &str = "pocketgate.capnp";
/// The bundle `cargo xtask build` writes into `build/` (worker-build's fixed names, never hashed), relative to the
/// configuration, with the module kind workerd loads each as.
pub const BUNDLE: [(&str, &str); 3] =
    [("index.js", "esModule"), ("worker/shim.mjs", "esModule"), ("worker/index.wasm", "wasm")];
/// The docker compose service name (the proxy's gate URL inside the compose network: `http://pocketgate:<port>`).
pub const SERVICE: &str = "pocketgate";
/// Where the compose service mounts, and the systemd unit reads, the configuration and the bundle.
pub const DIR: &str = "/etc/pocketgate";
/// The base image of the generated Dockerfile: Node (for `npm install` at build time and the healthcheck's
/// `fetch`) on Debian bookworm, whose glibc runs workerd. docker-node `22/bookworm-slim/Dockerfile`: user `node`
/// (uid/gid 1000, home `/home/node`, :3-4), Node under `/usr/local` (:46), `ENTRYPOINT ["docker-entrypoint.sh"]`
/// (:105, which the generated Dockerfile replaces).
pub const NODE_IMAGE: &str = "node:22-bookworm-slim";
/// Where the Dockerfile (and the systemd unit's install line) puts workerd: `npm install --prefix` links the
/// package's `bin` here.
pub const WORKERD_BIN: &str = "/opt/pocketgate/node_modules/.bin/workerd";

/// The port the gate listens on: the gate URL's (default 80 for `http://`).
pub fn port(gate_url: &str) -> u16 {
    let rest = gate_url.split_once("://").map_or(gate_url, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or_default();
    match hostport.rsplit_once(':') {
        Some((_, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().unwrap_or(80),
        _ if gate_url.starts_with("https://") => 443,
        _ => 80,
    }
}

/// The workerd configuration: the gate's `[vars]` as text bindings, outbound network for the issuer's discovery
/// document and key set, and one plain-HTTP socket on every interface of the container at the gate URL's port
/// (the systemd unit overrides it with `--socket-addr http=127.0.0.1:<port>`).
pub fn config(plan: &Plan, gate_url: &str) -> String {
    let port = port(gate_url);
    let mut s = format!(
        "# PocketGate on workerd (the open-source Workers runtime): the Cloudflare Worker's bundle, self-hosted next\n\
         # to your proxy. Next to this file: index.js, worker/shim.mjs, worker/index.wasm (`cargo xtask build`\n\
         # writes them into build/). Run: workerd serve {CONFIG_FILE}  (npm workerd@{WORKERD_VERSION})\n\
         using Workerd = import \"/workerd/workerd.capnp\";\n\n\
         const config :Workerd.Config = (\n  services = [\n    (name = \"pocketgate\", worker = .gate),\n\
         \x20   # The gate's fetch(): the issuer's discovery document and key set (JWKS). \"private\" (a superset\n\
         \x20   # of \"local\") lets it reach an issuer on your LAN, docker network or loopback; HTTPS is checked\n\
         \x20   # against the browsers' CA list.\n\
         \x20   (name = \"internet\", network = (allow = [\"public\", \"private\"], tlsOptions = (trustBrowserCas = true))),\n\
         \x20 ],\n  sockets = [\n\
         \x20   # Plain HTTP for the proxy's auth calls ({AUTH_PATH}) on the internal network only: never publish it.\n\
         \x20   (name = \"http\", address = {}, http = (), service = \"pocketgate\"),\n  ],\n);\n\n",
        capnp_string(&format!("*:{port}"))
    );
    s.push_str("const gate :Workerd.Worker = (\n  modules = [\n");
    for (path, kind) in BUNDLE {
        s.push_str(&format!("    (name = {0}, {kind} = embed {0}),\n", capnp_string(path)));
    }
    s.push_str(&format!("  ],\n  compatibilityDate = {},\n  bindings = [\n", capnp_string(COMPATIBILITY_DATE)));
    for (name, value) in vars(plan) {
        s.push_str(&format!("    (name = {}, text = {}),\n", capnp_string(name), capnp_string(&value)));
    }
    s.push_str("    # The header family your proxy sets (see its snippet): uncomment the line for your proxy.\n");
    for proxy in [Proxy::Nginx, Proxy::Caddy, Proxy::Traefik] {
        s.push_str(&format!("    # (name = \"FORWARDED_HEADERS\", text = \"{}\"),\n", proxy.forwarded_headers()));
    }
    s.push_str("  ],\n);\n");
    s
}

/// The healthcheck command: Node's `fetch` of `/_gate/healthz` (200 once the configuration is valid and the
/// issuer's keys load).
fn healthcheck(port: u16) -> String {
    format!(
        "fetch('http://127.0.0.1:{port}/_gate/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
    )
}

/// The Dockerfile: workerd installed at build time at [`WORKERD_VERSION`] (npm checks each tarball against the
/// registry's integrity hash), run as `node` with the configuration and bundle mounted at [`DIR`].
pub fn dockerfile() -> String {
    format!(
        "# PocketGate on workerd: the runtime is installed when the image is built (pinned), so the container\n\
         # downloads nothing when it starts. Build: docker compose build {SERVICE}\n\
         FROM {NODE_IMAGE}\n\
         # npm verifies each package against the registry's integrity hash; --prefix puts the binary at {WORKERD_BIN}.\n\
         RUN npm install --prefix /opt/pocketgate --no-audit --no-fund workerd@{WORKERD_VERSION} \\\n\
         \x20&& {WORKERD_BIN} --version \\\n\
         \x20&& rm -rf /root/.npm\n\
         # docker-node's unprivileged user (uid 1000). The configuration and the bundle are mounted at {DIR}.\n\
         USER node\n\
         WORKDIR {DIR}\n\
         ENTRYPOINT [\"{WORKERD_BIN}\"]\n\
         CMD [\"serve\", \"{DIR}/{CONFIG_FILE}\"]\n"
    )
}

/// A docker compose service built from [`dockerfile`] (`./{SERVICE}/Dockerfile`), with `./{SERVICE}/` (the
/// configuration and the bundle) mounted read-only, on NetBird's `netbird` network, no published port.
pub fn compose(gate_url: &str) -> String {
    let port = port(gate_url);
    let json = |v: &str| super::render::json_compact(&v);
    let health = ["CMD", "node", "-e", &healthcheck(port)].map(json);
    format!(
        "# docker compose: PocketGate on workerd, next to your proxy: add this service under `services:`.\n\
         # ./{SERVICE}/ holds the Dockerfile and {CONFIG_FILE} (this page) and the bundle from `cargo xtask build`:\n\
         #   mkdir -p {SERVICE}/worker && cp build/index.js {SERVICE}/ && cp build/worker/shim.mjs build/worker/index.wasm {SERVICE}/worker/\n\
         # `docker compose build {SERVICE}` installs workerd {WORKERD_VERSION} into the image once; the container starts offline.\n\
         # No published port: your proxy (on the same network: NetBird's is `netbird`) asks http://{SERVICE}:{port}{AUTH_PATH}.\n\
         services:\n  {SERVICE}:\n    build: ./{SERVICE}\n    image: pocketgate-workerd:{WORKERD_VERSION}\n    restart: unless-stopped\n\
         \x20   networks: [netbird]\n    volumes:\n      - ./{SERVICE}:{DIR}:ro\n    cap_drop: [\"ALL\"]\n\
         \x20   security_opt: [\"no-new-privileges:true\"]\n    healthcheck:\n      test: [{}]\n      interval: 30s\n\
         \x20     timeout: 5s\n      retries: 3\n      start_period: 20s\n",
        health.join(", ")
    )
}

/// A systemd unit: workerd from `npm install --prefix /opt/pocketgate`, the configuration's socket moved to
/// loopback (`--socket-addr`), a dynamic user and the usual sandboxing (no `MemoryDenyWriteExecute`: V8's JIT).
pub fn systemd(gate_url: &str) -> String {
    let port = port(gate_url);
    let mut s = format!(
        "# systemd: PocketGate on workerd on your proxy's host, on 127.0.0.1:{port} only\n\
         # (the proxy's gate URL: http://127.0.0.1:{port}). Install once:\n\
         #   sudo npm install --prefix /opt/pocketgate --no-audit --no-fund workerd@{WORKERD_VERSION}\n\
         #   sudo install -d {DIR}/worker && sudo cp {CONFIG_FILE} build/index.js {DIR}/\n\
         #   sudo cp build/worker/shim.mjs build/worker/index.wasm {DIR}/worker/\n\
         # as /etc/systemd/system/pocketgate.service, then: sudo systemctl enable --now pocketgate\n\
         [Unit]\nDescription=PocketGate forward-auth gate (workerd)\nAfter=network-online.target\n\
         Wants=network-online.target\n\n[Service]\n\
         ExecStart={WORKERD_BIN} serve {DIR}/{CONFIG_FILE} --socket-addr http=127.0.0.1:{port}\n\
         Restart=on-failure\nRestartSec=2\nDynamicUser=yes\n"
    );
    if port < 1024 {
        s.push_str("AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n");
    } else {
        s.push_str("CapabilityBoundingSet=\n");
    }
    s.push_str(
        "NoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes\nPrivateDevices=yes\n\
         ProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectControlGroups=yes\nRestrictNamespaces=yes\n\
         RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\nLockPersonality=yes\n\
         # No MemoryDenyWriteExecute: V8's JIT needs writable executable memory.\n\n\
         [Install]\nWantedBy=multi-user.target\n",
    );
    s
}

/// The note shown with the self-hosted artifacts.
pub fn note(gate_url: &str) -> String {
    let port = port(gate_url);
    format!(
        "Self-hosted gate (workerd): the same bundle as the Worker runs next to your proxy, so auth calls stay on \
         your network. {CONFIG_FILE} holds the gate's variables (the wrangler.toml [vars] above) and needs the \
         bundle from `cargo xtask build` next to it (build/index.js, build/worker/shim.mjs, \
         build/worker/index.wasm). With docker compose (an image built from the Dockerfile below: workerd is \
         installed when the image is built, so the container starts without downloading anything) the proxy \
         reaches it at http://{SERVICE}:{port}; with systemd at http://127.0.0.1:{port}: the proxy snippets below \
         use the Gate URL {gate_url}. Uncomment \
         FORWARDED_HEADERS for your proxy in {CONFIG_FILE}. Never publish the port: the gate trusts the \
         forwarding headers its caller sends."
    )
}

/// The self-hosting files.
pub fn artifacts(plan: &Plan, gate_url: &str) -> Vec<Artifact> {
    vec![
        Artifact {
            id: "gate_workerd_config",
            title: "workerd configuration (self-hosted gate)".into(),
            filename: CONFIG_FILE.into(),
            content: config(plan, gate_url),
        },
        Artifact {
            id: "gate_workerd_dockerfile",
            title: "Dockerfile (self-hosted gate: workerd pinned in the image)".into(),
            filename: "Dockerfile".into(),
            content: dockerfile(),
        },
        Artifact {
            id: "gate_workerd_compose",
            title: "docker compose service (self-hosted gate)".into(),
            filename: "pocketgate-compose.yml".into(),
            content: compose(gate_url),
        },
        Artifact {
            id: "gate_workerd_systemd",
            title: "systemd unit (self-hosted gate)".into(),
            filename: "pocketgate.service".into(),
            content: systemd(gate_url),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::setup::{GateHost, SetupInput, generate};

    fn selfhosted() -> SetupInput {
        SetupInput { gate_host: GateHost::Workerd, gate_url: "http://pocketgate:8080".into(), ..standalone() }
    }

    /// The Dockerfile's instructions: `(INSTRUCTION, arguments)` with `\` continuations joined.
    fn instructions(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut cur = String::new();
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let (part, more) = match line.strip_suffix('\\') {
                Some(p) => (p, true),
                None => (line, false),
            };
            cur.push_str(part.trim());
            cur.push(' ');
            if !more {
                let t = cur.trim().to_owned();
                if let Some((i, a)) = t.split_once(' ') {
                    out.push((i.to_owned(), a.to_owned()));
                }
                cur.clear();
            }
        }
        out
    }

    #[test]
    fn the_container_starts_offline_as_node_with_workerd_pinned_in_the_image() {
        // Fails on main: the service ran `npx --yes workerd@…` at every start, as user node, with a root-owned
        // named volume on /home/node/.npm.
        let d = instructions(&dockerfile());
        let get = |i: &str| d.iter().filter(|(n, _)| n == i).map(|(_, a)| a.as_str()).collect::<Vec<_>>();
        assert_eq!(get("FROM"), [NODE_IMAGE]);
        let run = get("RUN").join(" ");
        assert!(
            run.contains(&format!(
                "npm install --prefix /opt/pocketgate --no-audit --no-fund workerd@{WORKERD_VERSION}"
            )),
            "{run}"
        );
        assert!(run.contains(&format!("{WORKERD_BIN} --version")), "the build proves the binary runs: {run}");
        // docker-node 22/bookworm-slim/Dockerfile:3-4: the user `node` exists (uid 1000).
        assert_eq!(get("USER"), ["node"]);
        assert_eq!(get("ENTRYPOINT"), [format!("[\"{WORKERD_BIN}\"]").as_str()]);
        assert_eq!(get("CMD"), [format!("[\"serve\", \"{DIR}/{CONFIG_FILE}\"]").as_str()]);
        let c = compose("http://pocketgate:8080");
        for absent in ["npx", "--yes", ".npm", "\nvolumes:\n"] {
            assert!(!c.contains(absent), "{absent}:\n{c}");
        }
        assert!(
            c.contains("    build: ./pocketgate\n") && c.contains("      - ./pocketgate:/etc/pocketgate:ro\n"),
            "{c}"
        );
        assert!(!c.contains("ports:"), "never published: {c}");
        assert!(!c.contains("user: "), "the image's USER applies: {c}");
    }

    #[test]
    fn selfhosted_golden() {
        let out = generate(&selfhosted());
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        let gate = out.sections.iter().find(|s| s.id == "gate").unwrap();
        let mut text = String::new();
        for n in gate.notes.iter().filter(|n| n.starts_with("Self-hosted")) {
            text.push_str(&format!("note: {n}\n"));
        }
        for a in gate.artifacts.iter().filter(|a| a.id.starts_with("gate_workerd")) {
            text.push_str(&format!("=== {} [{}] {}\n{}\n", a.id, a.filename, a.title, a.content));
        }
        golden("selfhost-workerd.txt", &text);
    }

    #[test]
    fn config_binds_every_var_and_embeds_the_bundle() {
        let p = plan(&selfhosted());
        let c = config(&p, "http://pocketgate:8080");
        for (name, value) in vars(&p) {
            assert!(c.contains(&format!("    (name = \"{name}\", text = {}),\n", capnp_string(&value))), "{name}: {c}");
        }
        assert!(c.contains("(name = \"index.js\", esModule = embed \"index.js\")"));
        assert!(c.contains("(name = \"worker/shim.mjs\", esModule = embed \"worker/shim.mjs\")"));
        assert!(c.contains("(name = \"worker/index.wasm\", wasm = embed \"worker/index.wasm\")"));
        assert!(c.contains("address = \"*:8080\""));
        assert!(c.contains("allow = [\"public\", \"private\"], tlsOptions = (trustBrowserCas = true)"));
        assert!(c.contains("compatibilityDate = \"2025-09-01\""));
        assert_eq!(c.matches('(').count(), c.matches(')').count());
        assert_eq!(c.matches('[').count(), c.matches(']').count());
    }

    /// The constant restates wrangler.toml's `compatibility_date`: the two must not drift apart.
    #[test]
    fn compatibility_date_is_wranglers() {
        let wrangler = include_str!("../../wrangler.toml");
        let line = format!("compatibility_date = \"{COMPATIBILITY_DATE}\"");
        assert!(wrangler.lines().any(|l| l.trim() == line), "wrangler.toml has no `{line}`");
    }

    #[test]
    fn ports_follow_the_gate_url() {
        assert_eq!(port("http://pocketgate:8080"), 8080);
        assert_eq!(port("http://pocketgate"), 80);
        assert_eq!(port("http://127.0.0.1:9000/"), 9000);
        assert!(systemd("http://127.0.0.1:9000").contains("--socket-addr http=127.0.0.1:9000\n"));
        assert!(systemd("http://127.0.0.1:9000").contains("CapabilityBoundingSet=\n"));
        assert!(systemd("http://gate").contains("AmbientCapabilities=CAP_NET_BIND_SERVICE\n"));
        assert!(compose("http://pocketgate:9000").contains("fetch('http://127.0.0.1:9000/_gate/healthz')"));
        assert!(compose("http://pocketgate:9000").contains(&format!("pocketgate-workerd:{WORKERD_VERSION}")));
    }

    #[test]
    fn values_are_quoted_for_capnp() {
        let c = capnp_string("a\"b\\c\nd é");
        assert_eq!(c, "\"a\\\"b\\\\c\\x0ad é\"");
    }

    #[test]
    fn only_forward_auth_on_workerd_gets_the_files() {
        let ids = |i: &SetupInput| {
            generate(i).sections.into_iter().flat_map(|s| s.artifacts).map(|a| a.id).collect::<Vec<_>>()
        };
        assert!(ids(&selfhosted()).contains(&"gate_workerd_config"));
        assert!(!ids(&standalone()).iter().any(|id| id.starts_with("gate_workerd")));
        let proxy_mode = SetupInput { gate_host: GateHost::Workerd, ..embedded() };
        assert!(!ids(&proxy_mode).iter().any(|id| id.starts_with("gate_workerd")));
    }

    #[test]
    fn an_https_gate_url_on_workerd_is_an_error() {
        let out = generate(&SetupInput { gate_url: "https://gate.example.com".into(), ..selfhosted() });
        assert!(out.sections.is_empty());
        assert!(out.findings.iter().any(|f| f.field == "gate_url" && f.code == "gate_url_workerd_https"), "{out:?}");
    }
}
