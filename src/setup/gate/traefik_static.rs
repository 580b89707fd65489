//! Traefik's static configuration, as command-line flags (NetBird's getting-started.sh runs Traefik with flags,
//! gs.sh:840-866) or as a `traefik.yml`: Traefik reads one or the other, never both, so exactly one is generated.
//!
//! What it carries, on the routers' entry point:
//! - NetBird's timeouts (gs.sh:852-855, 863-865): `respondingTimeouts` 0 and the servers transport's
//!   `responseHeaderTimeout`/`idleConnTimeout` 0s, because gRPC streams are long-lived (Traefik's default 60 s
//!   read timeout cuts them);
//! - `http.encodedCharacters`: refuse `%2F`, `%5C` (a raw `\` too: Go escapes it) and `%00` in the path with 400
//!   (traefik `pkg/config/static/entrypoints.go` `EncodedCharacters`, `pkg/server/router/deny.go`; Traefik ≥ 3.6.7,
//!   where these options became opt-in: CHANGELOG #12540): no path that routers and upstreams could read
//!   differently gets through;
//! - `http.underscoreHeadersStrategy=delete`: remove every request header with `_` in its name at the entry point
//!   (`pkg/server/server_entrypoint_tcp.go` `removeHeadersWithUnderscores`; Traefik ≥ 3.6.22 / 3.7.6, CHANGELOG
//!   #13262), so no `X_Auth_Request_Groups`-style spelling reaches any router;
//! - for the plugin, the local plugin and its mount (`experimental.localPlugins`; list flags are comma-separated).

use super::super::{Plan, TraefikStatic};

/// One static setting: its flag path (lowercase where Traefik's docs spell it so) and value, with a comment.
pub struct Setting {
    /// Flag name without `--`.
    pub flag: String,
    /// Value.
    pub value: String,
}

/// The entry point's and servers transport's settings (not the plugin's), in order, grouped with their comment.
pub fn entrypoint_settings(plan: &Plan) -> Vec<(&'static str, Vec<Setting>)> {
    let ep = &plan.traefik.entrypoint;
    let s = |flag: String, value: &str| Setting { flag, value: value.to_owned() };
    vec![
        (
            "NetBird's timeouts (getting-started.sh): none, gRPC streams are long-lived",
            vec![
                s(format!("entrypoints.{ep}.transport.respondingTimeouts.readTimeout"), "0"),
                s(format!("entrypoints.{ep}.transport.respondingTimeouts.writeTimeout"), "0"),
                s(format!("entrypoints.{ep}.transport.respondingTimeouts.idleTimeout"), "0"),
                s("serverstransport.forwardingtimeouts.responseheadertimeout".into(), "0s"),
                s("serverstransport.forwardingtimeouts.idleconntimeout".into(), "0s"),
            ],
        ),
        (
            "Refuse %2F, %5C (and a raw \\) and %00 in paths with 400 (Traefik >= 3.6.7)",
            vec![
                s(format!("entrypoints.{ep}.http.encodedCharacters.allowEncodedSlash"), "false"),
                s(format!("entrypoints.{ep}.http.encodedCharacters.allowEncodedBackSlash"), "false"),
                s(format!("entrypoints.{ep}.http.encodedCharacters.allowEncodedNullCharacter"), "false"),
            ],
        ),
        (
            "Remove request headers with _ in their name (Traefik >= 3.6.22 / 3.7.6; delete the line on older ones)",
            vec![s(format!("entrypoints.{ep}.http.underscoreHeadersStrategy"), "delete")],
        ),
    ]
}

/// The plugin's static settings: `(module name, mounts)`.
pub struct PluginStatic {
    /// `experimental.localPlugins.pocketgate.moduleName`.
    pub module: &'static str,
    /// `settings.mounts`, `host:guest[:ro]` as Traefik's process sees the host path.
    pub mounts: Vec<String>,
    /// What the `traefik` container must mount (`host:container[:ro]`) for the flags form.
    pub volumes: Vec<String>,
}

/// The artifact's title for `plan`'s form.
pub fn title(plan: &Plan) -> &'static str {
    match plan.traefik.static_form {
        TraefikStatic::Flags => "Traefik static configuration (command-line flags)",
        TraefikStatic::File => "Traefik static configuration (traefik.yml)",
    }
}

/// The artifact's file name for `plan`'s form.
pub fn filename(plan: &Plan) -> &'static str {
    match plan.traefik.static_form {
        TraefikStatic::Flags => "traefik-static-flags.yml",
        TraefikStatic::File => "traefik.yml",
    }
}

/// The static configuration as a docker compose fragment of flags for the `traefik` service's `command:` (and,
/// with the plugin, its `volumes:`), or as a whole `traefik.yml`.
pub fn static_config(plan: &Plan, plugin: Option<&PluginStatic>) -> String {
    match plan.traefik.static_form {
        TraefikStatic::Flags => flags(plan, plugin),
        TraefikStatic::File => file(plan, plugin),
    }
}

fn flags(plan: &Plan, plugin: Option<&PluginStatic>) -> String {
    let q = |v: &str| super::traefik::yaml_string(v);
    let mut s = String::from(
        "# Traefik static configuration as command-line flags (NetBird's getting-started.sh runs Traefik this way):\n\
         # append these items to the traefik service's `command:` in docker-compose.yml",
    );
    s.push_str(if plugin.is_some() { " and its `volumes:`.\n" } else { ".\n" });
    s.push_str(
        "# Lines NetBird already has are harmless duplicates. Flags and a traefik.yml never mix: Traefik reads one.\n\
         services:\n  traefik:\n    command:\n",
    );
    for (comment, settings) in entrypoint_settings(plan) {
        s.push_str(&format!("      # {comment}\n"));
        for set in settings {
            s.push_str(&format!("      - {}\n", q(&format!("--{}={}", set.flag, set.value))));
        }
    }
    if let Some(p) = plugin {
        s.push_str("      # The PocketGate plugin (plugins-local/src/pocketgate, from `cargo xtask build`).\n");
        s.push_str(&format!(
            "      - {}\n",
            q(&format!("--experimental.localplugins.pocketgate.modulename={}", p.module))
        ));
        s.push_str(&format!(
            "      - {}\n",
            q(&format!("--experimental.localplugins.pocketgate.settings.mounts={}", p.mounts.join(",")))
        ));
        s.push_str("    volumes:\n");
        for v in &p.volumes {
            s.push_str(&format!("      - {}\n", q(v)));
        }
    }
    s
}

fn file(plan: &Plan, plugin: Option<&PluginStatic>) -> String {
    let ep = &plan.traefik.entrypoint;
    let mut s = String::from(
        "# Traefik static configuration (traefik.yml): merge into yours. A file never mixes with command-line flags:\n\
         # Traefik reads one or the other.\n",
    );
    s.push_str(&format!(
        "entryPoints:\n  {ep}:\n    address: \":443\"\n    # NetBird's timeouts (getting-started.sh): none, gRPC streams are long-lived.\n    \
         transport:\n      respondingTimeouts:\n        readTimeout: 0\n        writeTimeout: 0\n        idleTimeout: 0\n    \
         http:\n      # Refuse %2F, %5C (and a raw \\) and %00 in paths with 400 (Traefik >= 3.6.7).\n      encodedCharacters:\n        \
         allowEncodedSlash: false\n        allowEncodedBackSlash: false\n        allowEncodedNullCharacter: false\n      \
         # Remove request headers with _ in their name (Traefik >= 3.6.22 / 3.7.6; delete the line on older ones).\n      \
         underscoreHeadersStrategy: delete\n\
         serversTransport:\n  forwardingTimeouts:\n    responseHeaderTimeout: 0s\n    idleConnTimeout: 0s\n"
    ));
    if let Some(p) = plugin {
        s.push_str(&format!(
            "# The PocketGate plugin: plugins-local/src/pocketgate (from `cargo xtask build`) in Traefik's working\n\
             # directory (official image: /).\nexperimental:\n  localPlugins:\n    pocketgate:\n      moduleName: {}\n      \
             settings:\n        mounts:\n",
            p.module
        ));
        for m in &p.mounts {
            s.push_str(&format!("          - {}\n", super::traefik::yaml_string(m)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::super::SetupInput;
    use super::super::super::fixtures::*;
    use super::*;

    #[test]
    fn flags_carry_netbirds_timeouts_and_the_path_and_header_refusals_and_nothing_for_a_file() {
        let p = plan(&combined());
        let f = static_config(&p, None);
        for flag in [
            "--entrypoints.websecure.transport.respondingTimeouts.readTimeout=0",
            "--serverstransport.forwardingtimeouts.idleconntimeout=0s",
            "--entrypoints.websecure.http.encodedCharacters.allowEncodedSlash=false",
            "--entrypoints.websecure.http.encodedCharacters.allowEncodedBackSlash=false",
            "--entrypoints.websecure.http.underscoreHeadersStrategy=delete",
        ] {
            assert!(f.contains(&format!("      - \"{flag}\"\n")), "{flag}:\n{f}");
        }
        assert!(f.contains("services:\n  traefik:\n    command:\n") && !f.contains("entryPoints:"), "{f}");
        let file = static_config(&plan(&SetupInput { traefik_static: TraefikStatic::File, ..combined() }), None);
        assert!(!file.contains("--") || !file.contains("- \"--"), "a file never carries flags:\n{file}");
        for line in [
            "        readTimeout: 0\n",
            "    responseHeaderTimeout: 0s\n",
            "        allowEncodedSlash: false\n",
            "      underscoreHeadersStrategy: delete\n",
        ] {
            assert!(file.contains(line), "{line}{file}");
        }
    }

    #[test]
    fn the_entry_point_is_the_routers() {
        let p = plan(&SetupInput { traefik_entrypoint: "https".into(), ..combined() });
        assert!(
            static_config(&p, None).contains("\"--entrypoints.https.http.encodedCharacters.allowEncodedSlash=false\"")
        );
    }
}
