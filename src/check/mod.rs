//! `pocketgate check`: an operator's check of a live deployment, run from any machine against the public
//! domain after setup and after every proxy change (feature `check`, native only; `src/bin/pocketgate.rs`).
//!
//! It sends only ordinary requests (about 90, one at a time, each bounded by `--timeout`), never needs an admin
//! key, and takes tokens only from a file or the terminal. Each check is one row of a short table ([`report`]):
//! - **TLS**: the domain's certificate chain verifies (system roots, or `--ca`) for the host; no router answers
//!   plain HTTP on the TLS port;
//! - **the issuers**: PocketID's discovery document names exactly the configured issuer, and its key set holds a
//!   key the gate accepts ([`idp`], with the gate's own [`crate::setup::discovery`] and [`crate::jwk::KeySet`]);
//!   in embedded mode the same for the issuer the gate trusts (`https://<domain>/oauth2`);
//! - **the gate is in the path**: `/api/…` without a token is the gate's 401 (its code and `WWW-Authenticate`),
//!   not QuFabric's own; and none of the attacker's paths ([`hostile`]: encoded slashes, dot segments, case,
//!   backslashes, under every ungated prefix) reaches QuFabric's API ([`judge`] tells whose answer it is);
//! - **what stays ungated works**: gRPC `GetServerKey` over HTTP/2 gets a gRPC answer, and a gRPC path the gate
//!   would refuse shows the gRPC route does not ask the gate; `/relay` and `/ws-proxy/…` upgrade to WebSocket;
//!   `/api/instance` answers; the dashboard loads, without the gate;
//! - **with tokens** (optional): an allowed user gets 200, a user outside the groups 403 `group_not_allowed`.
//!
//! Exit status: [`EXIT_PASS`] when nothing failed, [`EXIT_FAIL`] when a check failed, [`EXIT_USAGE`] for a usage
//! or configuration error (it names the option, never its value).
//!
//! HTTP/1.1 is written by hand ([`net::http1`]): the attacker's paths must leave byte for byte, which URL and HTTP
//! libraries prevent (they resolve dot segments, re-encode escapes and refuse backslashes). TLS is rustls, HTTP/2
//! the `h2` crate, on a single-threaded tokio runtime.

pub mod args;
pub mod hostile;
pub mod idp;
pub mod judge;
pub mod net;
pub mod probes;
pub mod report;
pub mod tokens;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use args::{Command, Format, Settings, UsageError};
use report::Report;

/// Every check passed or was skipped.
pub const EXIT_PASS: u8 = 0;
/// At least one check failed.
pub const EXIT_FAIL: u8 = 1;
/// A usage or configuration error: nothing was checked.
pub const EXIT_USAGE: u8 = 2;

/// `pocketgate …` with `args` (after the program name): prints the report or the error, returns the exit status.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args: Option<Vec<String>> = args.into_iter().map(|a| a.into_string().ok()).collect();
    let Some(args) = args else {
        return usage(&UsageError { setting: "pocketgate".into(), message: "arguments must be UTF-8".into() });
    };
    let settings = match args::parse(&args, |p| std::fs::read_to_string(p)) {
        Ok(Command::Help(text)) => {
            print!("{text}");
            return ExitCode::from(EXIT_PASS);
        }
        Ok(Command::Check(s)) => *s,
        Err(e) => return usage(&e),
    };
    match run(&settings) {
        Ok(report) => {
            let text = match settings.format {
                Format::Table => report.table(),
                Format::Json => format!("{}\n", report.json()),
            };
            let _ = std::io::stdout().write_all(text.as_bytes());
            ExitCode::from(report.exit_status())
        }
        Err(e) => usage(&e),
    }
}

fn usage(e: &UsageError) -> ExitCode {
    eprintln!("pocketgate check: {e}");
    ExitCode::from(EXIT_USAGE)
}

/// Read the tokens and the trusted roots, then run every check.
pub fn run(settings: &Settings) -> Result<Report, UsageError> {
    let tokens = tokens::read(settings, |prompt| rpassword::prompt_password(prompt))?;
    let roots = net::load_roots(&settings.ca)?;
    let client = net::Client::new(roots, settings.connect_to.clone(), settings.timeout);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| UsageError {
        setting: "pocketgate".into(),
        message: format!("cannot start the network runtime: {e}"),
    })?;
    let checks = runtime.block_on(probes::run(settings, &client, &tokens));
    Ok(Report { target: format!("https://{}", settings.authority()), setup: setup_words(settings), checks })
}

fn setup_words(s: &Settings) -> String {
    let mode = match s.mode {
        args::Mode::Embedded => "embedded mode",
        args::Mode::Standalone => "standalone mode",
    };
    let gate = match s.gate {
        args::Gate::Proxy => "the Worker on /api routes",
        args::Gate::ForwardAuth => "forward-auth",
        args::Gate::Plugin => "the Traefik plugin",
    };
    format!("{mode}, {gate}")
}
