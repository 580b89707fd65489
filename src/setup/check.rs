//! `pocketgate check`'s configuration for this deployment: the file the operator passes to
//! `pocketgate check --config pocketgate-check.conf` after setup and after every proxy change (issue 21; the command
//! is `src/check/`, docs/CONFIG.md "Checking a live deployment").
//!
//! One option per line, `--name value`, exactly as on the command line; the values come from the validated form
//! (a host, an issuer URL, fixed words), so none holds a line break.

use super::{Artifact, Dashboard, GateHost, GateMode, Mode, Plan, PublicApi, Section};

/// The artifact's id.
pub const ARTIFACT_ID: &str = "gate_check";
/// Its file name.
pub const FILENAME: &str = "pocketgate-check.conf";

/// The paths the generated proxy configurations send straight to QuFabric, as `--ungated` prefixes: the three gRPC
/// services, the relay, the WebSocket proxy, the embedded IdP.
fn ungated() -> Vec<String> {
    let mut v: Vec<String> = super::gate::GRPC_SERVICES.iter().map(|s| format!("/{s}/")).collect();
    v.extend(super::gate::WEBSOCKET_PATHS.iter().map(|p| (*p).to_owned()));
    v.push(super::gate::IDP_PATH.to_owned());
    v
}

/// Where the gate sits, as `--gate` names it.
fn gate_word(plan: &Plan) -> &'static str {
    match (plan.gate_mode, plan.gate_host) {
        (GateMode::Proxy, _) => "proxy",
        (GateMode::ForwardAuth, GateHost::Traefik) => "plugin",
        (GateMode::ForwardAuth, _) => "forward-auth",
    }
}

/// The options, in order.
pub fn options(plan: &Plan) -> Vec<(&'static str, String)> {
    let mode = match plan.mode {
        Mode::Embedded => "embedded",
        Mode::Standalone => "standalone",
    };
    let dashboard = match plan.dashboard {
        Dashboard::Bypass => "bypass",
        Dashboard::Protect => "protect",
    };
    let public_api = match plan.public_api {
        PublicApi::Bypass => "bypass",
        PublicApi::Gate => "gate",
    };
    let mut v = vec![
        ("--domain", plan.domain.clone()),
        ("--issuer", plan.issuer.clone()),
        ("--mode", mode.to_owned()),
        ("--gate", gate_word(plan).to_owned()),
        ("--dashboard", dashboard.to_owned()),
        ("--public-api", public_api.to_owned()),
    ];
    v.extend(ungated().into_iter().map(|p| ("--ungated", p)));
    v
}

/// The file's text: what it is for, how to run it, then the options.
pub fn config(plan: &Plan) -> String {
    let mut s = format!(
        "# pocketgate check for {domain}: run it after setup and after every proxy change, from any machine:\n\
         #   pocketgate check --config {FILENAME}\n\
         # It proves from outside that every /api request goes through PocketGate (also for encoded, dotted and\n\
         # case-changed paths under the ungated prefixes below) and that gRPC, /relay, /ws-proxy/, /oauth2/ and the\n\
         # dashboard still work without it; TLS and the issuers too. One line per check, each failure with its fix.\n\
         # Optional, never on the command line: --token-file FILE (a token of a user in the allowed groups: 200)\n\
         # and --denied-token-file FILE (a user outside them: 403), or --ask-tokens to type them without echo.\n\
         # Exit status: 0 all passed, 1 a check failed, 2 a usage error (for CI or cron). docs/CONFIG.md,\n\
         # \"Checking a live deployment\", explains each check.\n",
        domain = plan.domain
    );
    for (name, value) in options(plan) {
        let value: String = value.chars().filter(|c| !c.is_control()).collect();
        s.push_str(&format!("{name} {value}\n"));
    }
    s
}

/// The note for the gate section.
pub fn note() -> String {
    format!(
        "After setup, and after every change to your proxy, run `pocketgate check --config {FILENAME}` (the file \
         below; `pocketgate` comes from `cargo xtask build`) from any machine: it checks from outside that /api \
         always goes through the gate, also for the paths attackers try, that gRPC, the relay, the WebSocket proxy \
         and the dashboard work without it, and TLS and the issuers. Each failure comes with its fix."
    )
}

/// The gate section with the note and the file added (the one hook, in [`super::generate`]).
pub fn added_to(mut section: Section, plan: &Plan) -> Section {
    section.notes.push(note());
    section.artifacts.push(Artifact {
        id: ARTIFACT_ID,
        title: "pocketgate check (after setup and every proxy change)".into(),
        filename: FILENAME.into(),
        content: config(plan),
    });
    section
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::setup::SetupInput;

    fn value<'a>(opts: &'a [(&str, String)], name: &str) -> Vec<&'a str> {
        opts.iter().filter(|(n, _)| *n == name).map(|(_, v)| v.as_str()).collect()
    }

    #[test]
    fn options_follow_the_form() {
        let o = options(&plan(&embedded()));
        assert_eq!(value(&o, "--domain"), ["qufabric.example.com"]);
        assert_eq!(value(&o, "--issuer"), ["https://id.example.com"]);
        assert_eq!(value(&o, "--mode"), ["embedded"]);
        assert_eq!(value(&o, "--gate"), ["proxy"]);
        let s = options(&plan(&standalone()));
        assert_eq!((value(&s, "--mode"), value(&s, "--gate")), (vec!["standalone"], vec!["forward-auth"]));
        let plugin = options(&plan(&SetupInput { gate_host: GateHost::Traefik, ..standalone() }));
        assert_eq!(value(&plugin, "--gate"), ["plugin"]);
        assert_eq!((value(&o, "--dashboard"), value(&o, "--public-api")), (vec!["bypass"], vec!["bypass"]));
        let other = SetupInput { dashboard: Dashboard::Protect, public_api: PublicApi::Gate, ..standalone() };
        let other = options(&plan(&other));
        assert_eq!((value(&other, "--dashboard"), value(&other, "--public-api")), (vec!["protect"], vec!["gate"]));
        assert_eq!(
            value(&o, "--ungated"),
            [
                "/signalexchange.SignalExchange/",
                "/management.ManagementService/",
                "/management.ProxyService/",
                "/relay",
                "/ws-proxy/",
                "/oauth2/"
            ]
        );
    }

    #[test]
    fn the_file_is_comments_then_one_option_per_line() {
        let text = config(&plan(&standalone()));
        assert!(text.starts_with("# pocketgate check for qufabric.example.com: run it after setup"));
        assert!(text.contains("#   pocketgate check --config pocketgate-check.conf\n"));
        for line in text.lines() {
            assert!(line.starts_with("# ") || line.starts_with("#   ") || line.starts_with("--"), "{line}");
            assert!(line.len() <= 120, "{line}");
        }
        assert!(!text.contains("token ey"), "never a token");
    }

    #[test]
    fn the_section_gets_the_note_and_the_file() {
        let p = plan(&embedded());
        let section = added_to(Section { id: "gate", title: String::new(), notes: vec![], artifacts: vec![] }, &p);
        assert!(section.notes[0].contains("pocketgate check --config pocketgate-check.conf"));
        assert_eq!(section.artifacts[0].id, "gate_check");
        assert_eq!(section.artifacts[0].content, config(&p));
    }

    /// The file is what `pocketgate check` reads: parsed by its own parser into the plan's values.
    #[cfg(feature = "check")]
    #[test]
    fn pocketgate_check_accepts_the_file() {
        use crate::check::args::{Command, Gate, Mode as CheckMode, parse};
        for (input, mode, gate) in [
            (embedded(), CheckMode::Embedded, Gate::Proxy),
            (standalone(), CheckMode::Standalone, Gate::ForwardAuth),
            (SetupInput { gate_host: GateHost::Traefik, ..standalone() }, CheckMode::Standalone, Gate::Plugin),
        ] {
            let p = plan(&input);
            let text = config(&p);
            let args = ["check", "--config", FILENAME].map(str::to_owned);
            let Ok(Command::Check(s)) = parse(&args, |_| Ok(text.clone())) else { panic!("{text}") };
            assert_eq!(
                (s.host.as_str(), s.issuer.as_str(), s.mode, s.gate),
                (p.domain.as_str(), p.issuer.as_str(), mode, gate)
            );
            assert_eq!(s.ungated, crate::check::args::DEFAULT_UNGATED);
        }
    }
}
