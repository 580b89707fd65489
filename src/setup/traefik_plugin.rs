//! The gate inside Traefik ([`GateHost::Traefik`](super::GateHost::Traefik), forward-auth mode): the plugin's
//! static configuration (flags or `traefik.yml`, [`super::gate::traefik_static`]), the routers of
//! [`super::gate::traefik`] with the plugin as the `pocketgate` middleware (file provider or Docker labels), the
//! issuer's key set as the page fetched it, and a script that keeps that file current (the plugin never fetches;
//! it reads the file at every request and takes a change at once, docs/TRAEFIK.md).

use super::gate::traefik::{traefik_docker_labels, traefik_dynamic};
use super::gate::traefik_static::{self, PluginStatic};
use super::gate::{issuer, vars};
use super::{Artifact, Mode, Plan};
use crate::traefik::options::option_name;

/// The host directory holding `jwks.json`, mounted read-only into the plugin at [`KEYS_DIR`].
pub const HOST_KEYS_DIR: &str = "/etc/pocketgate";
/// Where the plugin sees the mounted directory.
pub const KEYS_DIR: &str = "/keys";

/// A variable's option name: the plugin's own (`option_name`), else the variable in camelCase (`PUBLIC_API` →
/// `publicApi`; the plugin matches names case-insensitively without `_`, and refuses a name it does not know: a
/// setting is never dropped here).
fn option(var: &str) -> String {
    match option_name(var) {
        known if known != var => known.to_owned(),
        _ => {
            let mut out = String::new();
            for (i, word) in var.split('_').enumerate() {
                let lower = word.to_ascii_lowercase();
                if i == 0 {
                    out.push_str(&lower);
                } else {
                    let mut c = lower.chars();
                    if let Some(f) = c.next() {
                        out.push(f.to_ascii_uppercase());
                        out.push_str(c.as_str());
                    }
                }
            }
            out
        }
    }
}

/// The plugin's options: the gate's variables under their option names (the same values as the Worker's
/// `[vars]`), then `jwksFile`.
pub fn options(plan: &Plan) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars(plan).into_iter().map(|(var, value)| (option(var), value)).collect();
    out.push(("jwksFile".into(), format!("{KEYS_DIR}/jwks.json")));
    out
}

/// Where the refresh script fetches the key set: PocketID's `/.well-known/jwks.json`, or the embedded IdP's
/// (Dex) `{issuer}/keys`.
pub fn jwks_url(plan: &Plan) -> String {
    match plan.mode {
        Mode::Embedded => format!("{}/keys", issuer(plan)),
        Mode::Standalone => format!("{}/.well-known/jwks.json", plan.issuer),
    }
}

/// The plugin's static settings: the module, the key directory's mount (the path as Traefik's process sees it),
/// and what the `traefik` container mounts for it: `plugins-local/` at `/plugins-local` (the official image
/// runs in `/`, docs/TRAEFIK.md) and the host's key directory at the same path.
pub fn plugin_static() -> PluginStatic {
    PluginStatic {
        module: "pocketgate",
        mounts: vec![format!("{HOST_KEYS_DIR}:{KEYS_DIR}:ro")],
        volumes: vec!["./plugins-local:/plugins-local:ro".into(), format!("{HOST_KEYS_DIR}:{HOST_KEYS_DIR}:ro")],
    }
}

/// The static configuration (flags or file, as the operator's Traefik takes it).
pub fn static_config(plan: &Plan) -> String {
    traefik_static::static_config(plan, Some(&plugin_static()))
}

const COMMENT: &str = "# The gate is the PocketGate plugin (the `pocketgate` middleware): no gate service.\n";

/// The file-provider configuration.
pub fn dynamic(plan: &Plan) -> String {
    let mut middleware = String::from("    pocketgate:\n      plugin:\n        pocketgate:\n");
    for (name, value) in options(plan) {
        middleware.push_str(&format!("          {name}: {}\n", super::render::json_compact(&value)));
    }
    traefik_dynamic(plan, COMMENT, &middleware)
}

/// The same as Docker labels.
pub fn labels(plan: &Plan) -> String {
    let middleware = options(plan)
        .into_iter()
        .map(|(n, v)| format!("traefik.http.middlewares.pocketgate.plugin.pocketgate.{n}={v}"));
    traefik_docker_labels(plan, COMMENT, middleware.collect())
}

/// The key refresh script.
pub fn refresh_script(plan: &Plan) -> String {
    format!(
        "#!/bin/sh\n\
         # Keep the PocketGate plugin's key set current: fetch the issuer's keys into {HOST_KEYS_DIR}/jwks.json (a new\n\
         # file, then a rename). The plugin takes the file at its next request as the keys you state: an answer\n\
         # without a key would revoke every key, so such an answer (or a failed fetch) leaves the file alone.\n\
         # Run it every 5 minutes, e.g. from cron:  */5 * * * * /usr/local/bin/pocketgate-jwks-refresh.sh\n\
         set -eu\n\
         url='{url}'\n\
         curl -fsS --max-time 10 --max-filesize {max} -o {HOST_KEYS_DIR}/jwks.json.new \"$url\"\n\
         if ! grep -q '\"kty\"' {HOST_KEYS_DIR}/jwks.json.new; then\n\
         \x20 rm -f {HOST_KEYS_DIR}/jwks.json.new\n\
         \x20 echo \"pocketgate-jwks-refresh: $url answered no key; {HOST_KEYS_DIR}/jwks.json is unchanged\" >&2\n\
         \x20 exit 1\n\
         fi\n\
         mv {HOST_KEYS_DIR}/jwks.json.new {HOST_KEYS_DIR}/jwks.json\n",
        url = jwks_url(plan),
        max = crate::jwk::MAX_JWKS_BYTES,
    )
}

/// The operator's notes for this choice.
pub fn notes(plan: &Plan) -> Vec<String> {
    let fetched = match &plan.jwks {
        Some(_) => "jwks.json below is the key set this page fetched".to_owned(),
        None => format!("fetch the key set into it first (the refresh script does: {})", jwks_url(plan)),
    };
    let rotation = match plan.mode {
        Mode::Embedded => "The embedded IdP (Dex) rotates its signing key every 30 days (720 h, NetBird \
                           idp/dex/provider.go:216): run the refresh script from cron every 5 minutes, or tokens \
                           signed with the new key are refused (401 key_not_found) until the file is refreshed."
            .to_owned(),
        Mode::Standalone => "When PocketID's key is rotated (pocket-id key-rotate), tokens carry a new kid: run the \
                             refresh script (better: from cron every 5 minutes, so a rotation needs nothing from \
                             you); the plugin takes the new file at its next request."
            .to_owned(),
    };
    vec![
        format!(
            "Traefik plugin: the gate runs inside Traefik, on /api and the dashboard; gRPC, the relay and the \
             embedded IdP keep their routers without it. The plugin never fetches: it reads the issuer's key set \
             from {HOST_KEYS_DIR}/jwks.json (mounted as {KEYS_DIR}); {fetched}."
        ),
        rotation,
        "Keep the routers as generated: if the plugin cannot load, Traefik disables the routers that use it, and \
         no other router matches /api (a 404, never a request without the gate)."
            .to_owned(),
    ]
}

/// The artifacts, in order: static configuration, file provider, Docker labels, jwks.json (when fetched), the
/// refresh script.
pub fn artifacts(plan: &Plan) -> Vec<Artifact> {
    let mut out = vec![
        Artifact {
            id: "gate_traefik_plugin_static",
            title: format!("{} with the plugin", traefik_static::title(plan)),
            filename: traefik_static::filename(plan).into(),
            content: static_config(plan),
        },
        Artifact {
            id: "gate_traefik_plugin",
            title: "Traefik (PocketGate plugin, file provider)".into(),
            filename: "pocketgate-traefik.yml".into(),
            content: dynamic(plan),
        },
        Artifact {
            id: "gate_traefik_plugin_labels",
            title: "Traefik (PocketGate plugin, Docker labels)".into(),
            filename: "pocketgate-traefik-labels.yml".into(),
            content: labels(plan),
        },
    ];
    if let Some(jwks) = &plan.jwks {
        out.push(Artifact {
            id: "gate_traefik_plugin_jwks",
            title: format!("{HOST_KEYS_DIR}/jwks.json (the issuer's key set)"),
            filename: "jwks.json".into(),
            content: format!("{jwks}\n"),
        });
    }
    out.push(Artifact {
        id: "gate_traefik_plugin_refresh",
        title: "Key refresh script (cron)".into(),
        filename: "pocketgate-jwks-refresh.sh".into(),
        content: refresh_script(plan),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{GateHost, SetupInput};
    use super::*;

    const JWKS: &str =
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k"}]}"#;

    #[test]
    fn the_options_are_the_workers_vars_and_load_in_the_plugin() {
        let p = plan(&SetupInput { gate_host: GateHost::Traefik, jwks: JWKS.into(), ..standalone() });
        let names: Vec<String> = options(&p).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["issuer", "audience", "allowGroups", "groupsClaim", "leewaySeconds", "jwksFile"]);
        // The plugin reads them as the user pastes them (here as JSON, as Traefik hands them over).
        let json: serde_json::Map<String, serde_json::Value> =
            options(&p).into_iter().map(|(n, v)| (n, v.into())).collect();
        let (cfg, keys) =
            crate::traefik::options::load(serde_json::Value::Object(json).to_string().as_bytes()).unwrap();
        assert_eq!(cfg.verifier.issuers()[0].issuer, "https://id.example.com");
        assert_eq!(keys, [crate::traefik::options::KeySource::File("/keys/jwks.json".into())]);
        let d = dynamic(&p);
        assert!(
            d.contains("      plugin:\n        pocketgate:\n          issuer: \"https://id.example.com\"\n"),
            "{d}"
        );
        assert!(!d.contains("forwardAuth"), "{d}");
        let l = labels(&p);
        assert!(l.contains("traefik.http.middlewares.pocketgate.plugin.pocketgate.jwksFile=/keys/jwks.json"), "{l}");
        let ids: Vec<&str> = artifacts(&p).iter().map(|a| a.id).collect();
        assert_eq!(
            ids,
            [
                "gate_traefik_plugin_static",
                "gate_traefik_plugin",
                "gate_traefik_plugin_labels",
                "gate_traefik_plugin_jwks",
                "gate_traefik_plugin_refresh"
            ]
        );
    }

    #[test]
    fn embedded_mode_refreshes_from_the_embedded_idp() {
        let p = plan(&SetupInput { gate_host: GateHost::Traefik, ..combined() });
        assert_eq!(jwks_url(&p), "https://qufabric.example.com/oauth2/keys");
        assert!(refresh_script(&p).contains("'https://qufabric.example.com/oauth2/keys'"));
        assert!(options(&p).contains(&("localUsers".into(), "groups".into())));
        // Fails on main ("every 6 hours"): the embedded IdP's signer rotates every 720 h (provider.go:216).
        assert!(notes(&p)[1].contains("every 30 days (720 h"), "{}", notes(&p)[1]);
        assert!(!artifacts(&p).iter().any(|a| a.id == "gate_traefik_plugin_jwks"));
    }

    #[test]
    fn the_static_configuration_comes_as_flags_or_as_a_file_never_both() {
        // Fails on main: only a traefik.yml, which NetBird's flag-configured Traefik never reads (gs.sh:840-866).
        let p = plan(&SetupInput { gate_host: GateHost::Traefik, ..combined() });
        let flags = static_config(&p);
        for item in [
            "      - \"--experimental.localplugins.pocketgate.modulename=pocketgate\"\n",
            "      - \"--experimental.localplugins.pocketgate.settings.mounts=/etc/pocketgate:/keys:ro\"\n",
            "      - \"--entrypoints.websecure.transport.respondingTimeouts.readTimeout=0\"\n",
            "    volumes:\n      - \"./plugins-local:/plugins-local:ro\"\n      - \"/etc/pocketgate:/etc/pocketgate:ro\"\n",
        ] {
            assert!(flags.contains(item), "{item}{flags}");
        }
        assert!(!flags.contains("experimental:\n"), "{flags}");
        let file = static_config(&plan(&SetupInput {
            gate_host: GateHost::Traefik,
            traefik_static: crate::setup::TraefikStatic::File,
            ..combined()
        }));
        assert!(
            file.contains("experimental:\n  localPlugins:\n    pocketgate:\n      moduleName: pocketgate\n"),
            "{file}"
        );
        assert!(file.contains("          - \"/etc/pocketgate:/keys:ro\"\n") && !file.contains("\"--"), "{file}");
        assert!(file.contains("        readTimeout: 0\n"), "NetBird's timeouts in the file too (gs.sh:852-855)");
    }

    #[test]
    fn dashboard_and_public_api_choices_become_options_never_dropped() {
        let p = plan(&SetupInput {
            gate_host: GateHost::Traefik,
            dashboard: crate::setup::Dashboard::Protect,
            public_api: crate::setup::PublicApi::Gate,
            ..combined()
        });
        let o = options(&p);
        assert!(o.contains(&("dashboard".into(), "protect".into())), "{o:?}");
        assert!(o.contains(&("publicApi".into(), "gate".into())), "{o:?}");
        assert_eq!(option("SOME_NEW_VAR"), "someNewVar");
    }
}
