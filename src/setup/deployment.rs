//! The deployment half of the form: where the gate runs and where the proxy sends each path (one origin per
//! container of the stack the mode implies), the operator's Traefik, and proxy mode's Cloudflare zone.
//!
//! The stacks (NetBird `ee253fe`): embedded mode runs the combined `netbird-server` and the dashboard
//! (`infrastructure_files/getting-started.sh`); standalone mode runs the legacy stack, whose management, signal,
//! relay and dashboard are separate containers (`infrastructure_files/docker-compose.yml.tmpl`, routed as
//! `nginx.tmpl.conf:15-100` routes them). [`check`] asks for exactly the origins that stack has.

use super::validate::check_origin;
use super::{
    DEFAULT_CERTRESOLVER, DEFAULT_ENTRYPOINT, Finding, GateHost, GateMode, Level, Mode, SetupInput, TraefikPlan,
};

/// The origins and names [`check`] accepted (each `None` when not asked for in this mode, or invalid).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deployment {
    /// Proxy mode: the origin the Worker forwards to; forward-auth: `netbird-server` (embedded) or management
    /// (standalone).
    pub upstream: Option<String>,
    /// Forward-auth: the gate's URL (none for the Traefik plugin).
    pub gate_url: Option<String>,
    /// Forward-auth: the dashboard container.
    pub dashboard: Option<String>,
    /// Standalone forward-auth: the signal container.
    pub signal: Option<String>,
    /// Standalone forward-auth: the relay container.
    pub relay: Option<String>,
    /// Proxy mode: the Cloudflare zone.
    pub zone: Option<String>,
}

fn err(field: &'static str, code: &'static str, message: String) -> Finding {
    Finding { field, level: Level::Error, code, message }
}

/// A required origin: its findings go into `out`.
fn origin(out: &mut Vec<Finding>, field: &'static str, what: &str, value: &str) -> Option<String> {
    let (f, v) = check_origin(field, what, value);
    out.extend(f);
    v
}

/// Every deployment field the mode and gate choice use, in form order.
pub fn check(input: &SetupInput, out: &mut Vec<Finding>) -> Deployment {
    match input.gate_mode {
        GateMode::Proxy => Deployment {
            upstream: origin(out, "upstream", "the upstream (QuFabric's origin)", &input.upstream),
            zone: check_zone(&input.domain, &input.cloudflare_zone, out),
            ..Deployment::default()
        },
        GateMode::ForwardAuth => {
            let gate_url = if input.gate_host == GateHost::Traefik {
                None
            } else {
                origin(out, "gate_url", "the gate's URL", &input.gate_url)
            };
            if input.gate_host == GateHost::Workerd && gate_url.as_deref().is_some_and(|g| g.starts_with("https://")) {
                out.push(err(
                    "gate_url",
                    "gate_url_workerd_https",
                    "The self-hosted gate (workerd) serves plain HTTP on your internal network: use \
                     http://pocketgate:8080 (docker compose) or http://127.0.0.1:8080 (systemd)."
                        .into(),
                ));
            }
            let (upstream_what, dashboard_what) = match input.mode {
                Mode::Embedded => (
                    "the QuFabric server's origin (the combined netbird-server container, e.g. \
                     http://netbird-server:80)",
                    "the dashboard container's origin (NetBird runs it as its own container, e.g. \
                     http://netbird-dashboard:80)",
                ),
                Mode::Standalone => (
                    "the management container's origin (e.g. http://127.0.0.1:8012)",
                    "the dashboard container's origin (e.g. http://127.0.0.1:8011)",
                ),
            };
            let upstream = origin(out, "upstream", upstream_what, &input.upstream);
            let (signal, relay) = match input.mode {
                Mode::Standalone => (
                    origin(out, "signal_upstream", "the signal container's origin", &input.signal_upstream),
                    origin(out, "relay_upstream", "the relay container's origin", &input.relay_upstream),
                ),
                Mode::Embedded => (None, None),
            };
            let dashboard = origin(out, "dashboard_upstream", dashboard_what, &input.dashboard_upstream);
            Deployment { upstream, gate_url, dashboard, signal, relay, zone: None }
        }
    }
}

/// A Traefik name (entry point, certificate resolver): letters, digits, `-` and `_` (it becomes part of flags,
/// labels and YAML keys).
fn traefik_name(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The operator's Traefik: entry point (empty = `websecure`) and certificate resolver (empty = none).
pub fn check_traefik(input: &SetupInput, out: &mut Vec<Finding>) -> TraefikPlan {
    let entrypoint = match input.traefik_entrypoint.trim() {
        "" => DEFAULT_ENTRYPOINT.to_owned(),
        e if traefik_name(e) => e.to_owned(),
        _ => {
            out.push(err(
                "traefik_entrypoint",
                "traefik_name_invalid",
                format!("Use your Traefik entry point's name (letters, digits, - and _), e.g. {DEFAULT_ENTRYPOINT}."),
            ));
            DEFAULT_ENTRYPOINT.to_owned()
        }
    };
    let certresolver = match input.traefik_certresolver.trim() {
        "" => None,
        r if traefik_name(r) => Some(r.to_owned()),
        _ => {
            out.push(err(
                "traefik_certresolver",
                "traefik_name_invalid",
                format!(
                    "Use your certificate resolver's name (letters, digits, - and _), e.g. {DEFAULT_CERTRESOLVER}, \
                     or leave it empty when the entry point provides the certificate."
                ),
            ));
            None
        }
    };
    TraefikPlan { static_form: input.traefik_static, entrypoint, certresolver }
}

/// Proxy mode's Cloudflare zone: a domain name, with the QuFabric domain equal to it or below it. The page never
/// guesses it from the domain's last labels (`vpn.example.co.uk` is in the zone `example.co.uk`).
pub fn check_zone(domain: &str, zone: &str, out: &mut Vec<Finding>) -> Option<String> {
    const F: &str = "cloudflare_zone";
    let zone = zone.trim().trim_end_matches('.').to_ascii_lowercase();
    let host = super::gate::host_only(domain.trim()).to_ascii_lowercase();
    if zone.is_empty() {
        out.push(err(
            F,
            "zone_missing",
            "Enter the Cloudflare zone of the domain as the Cloudflare dashboard lists it (e.g. example.com, or \
             example.co.uk for vpn.example.co.uk)."
                .into(),
        ));
        return None;
    }
    let labels_ok = zone.contains('.')
        && zone
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !labels_ok {
        out.push(err(F, "zone_invalid", "The zone is a domain name such as example.com.".into()));
        return None;
    }
    if !host.is_empty() && host != zone && !host.ends_with(&format!(".{zone}")) {
        out.push(err(
            F,
            "zone_mismatch",
            format!("The domain {host} is not in the zone {zone}: use the zone the domain belongs to."),
        ));
        return None;
    }
    Some(zone)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::setup::TraefikStatic;

    #[test]
    fn the_zone_is_asked_for_never_guessed() {
        let mut out = Vec::new();
        assert_eq!(check_zone("vpn.example.co.uk", "example.co.uk", &mut out).as_deref(), Some("example.co.uk"));
        assert_eq!(check_zone("example.com:8443", "Example.com.", &mut out).as_deref(), Some("example.com"));
        assert!(out.is_empty(), "{out:?}");
        for (zone, code) in [("", "zone_missing"), ("co.uk.example", "zone_mismatch"), ("com", "zone_invalid")] {
            let mut out = Vec::new();
            assert_eq!(check_zone("vpn.example.co.uk", zone, &mut out), None);
            assert_eq!(codes(&out), [code], "{zone}");
        }
    }

    #[test]
    fn forward_auth_asks_for_each_container_of_the_stack() {
        let mut out = Vec::new();
        let d = check(&standalone(), &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(d.signal.as_deref(), Some("http://127.0.0.1:10000"));
        assert_eq!(d.relay.as_deref(), Some("http://127.0.0.1:33080"));
        // The legacy stack's signal and relay are separate containers: both are required.
        let mut out = Vec::new();
        check(&SetupInput { signal_upstream: String::new(), relay_upstream: String::new(), ..standalone() }, &mut out);
        assert_eq!(out.iter().map(|f| f.field).collect::<Vec<_>>(), ["signal_upstream", "relay_upstream"]);
        // The dashboard is always its own container: never "the upstream serves it too".
        let mut out = Vec::new();
        check(&SetupInput { dashboard_upstream: String::new(), ..standalone() }, &mut out);
        assert_eq!((out[0].field, out[0].code), ("dashboard_upstream", "origin_missing"));
        // Embedded mode has no separate signal and relay.
        let mut out = Vec::new();
        let d = check(&combined(), &mut out);
        assert!(out.is_empty() && d.signal.is_none() && d.relay.is_none(), "{out:?}");
    }

    #[test]
    fn traefik_names_default_like_getting_started() {
        let mut out = Vec::new();
        let t = check_traefik(&SetupInput::default(), &mut out);
        assert_eq!((t.entrypoint.as_str(), t.certresolver.as_deref()), ("websecure", Some("letsencrypt")));
        assert_eq!(t.static_form, TraefikStatic::Flags);
        let none =
            check_traefik(&SetupInput { traefik_certresolver: String::new(), ..SetupInput::default() }, &mut out);
        assert_eq!(none.certresolver, None);
        assert!(out.is_empty());
        check_traefik(&SetupInput { traefik_entrypoint: "web secure".into(), ..SetupInput::default() }, &mut out);
        assert_eq!(codes(&out), ["traefik_name_invalid"]);
        // Absent from the JSON: the defaults, not empty strings.
        let input: SetupInput = serde_json::from_str("{}").unwrap();
        assert_eq!(
            (input.traefik_entrypoint.as_str(), input.traefik_certresolver.as_str()),
            ("websecure", "letsencrypt")
        );
    }
}
