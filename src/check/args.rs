//! `pocketgate check`'s settings: the command line and, with `--config FILE`, the same options one per line.
//!
//! Errors ([`UsageError`], exit status [`super::EXIT_USAGE`]) name the option and the fix and never echo a value.
//! Tokens are never options: `--token`, `--denied-token` and the like are refused with the reason (the process
//! list and the shell history would show them); only a file or the terminal ([`super::tokens`]) gives them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod help;
mod values;

pub use help::{CHECK_HELP, HELP};
use values::{check_issuer_url, check_ungated, parse_connect_to, parse_domain};

/// Default `--timeout`: seconds for one connection and its answer.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
const MAX_TIMEOUT_SECONDS: u64 = 120;
/// Default `--allowed-path`: what the dashboard asks first after a sign-in (NetBird
/// `management/server/http/handlers/users/users_handler.go`, `/users/current`).
pub const DEFAULT_ALLOWED_PATH: &str = "/api/users/current";
/// The paths a deployment sends straight to QuFabric without asking the gate, as the setup page's proxy
/// configurations route them (NetBird `infrastructure_files/getting-started.sh`): the three gRPC services, the
/// relay, the WebSocket proxy and the embedded IdP. Default `--ungated`.
pub const DEFAULT_UNGATED: [&str; 6] = [
    "/signalexchange.SignalExchange/",
    "/management.ManagementService/",
    "/management.ProxyService/",
    "/relay",
    "/ws-proxy/",
    "/oauth2/",
];

/// How QuFabric signs users in (the setup page's mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// QuFabric's embedded IdP with PocketID as its connector: the gate trusts `https://<domain>/oauth2`. Default.
    Embedded,
    /// PocketID is QuFabric's IdP: the gate trusts PocketID.
    Standalone,
}

/// Where the gate sits (only the fixes the report suggests depend on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// The Cloudflare Worker on the domain's `/api` routes, proxying to QuFabric. Default.
    Proxy,
    /// nginx `auth_request`, Caddy `forward_auth` or Traefik `forwardAuth` asking the gate.
    ForwardAuth,
    /// The Traefik plugin, a middleware on the routers.
    Plugin,
}

/// The gate's `DASHBOARD` (and what the proxy configuration does with the dashboard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dashboard {
    /// The dashboard never asks the gate and works while the gate is down. Default.
    Bypass,
    /// The dashboard needs a token like `/api`.
    Protect,
}

/// The gate's `PUBLIC_API`: NetBird's unauthenticated API paths (`/api/instance`, `/api/setup`, invites).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicApi {
    /// They reach QuFabric without a token, as NetBird serves them. Default.
    Bypass,
    /// They need a token like the rest of `/api`.
    Gate,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A short table, one line per check (and a `fix:` line per failure). Default.
    Table,
    /// One JSON document.
    Json,
}

/// `--connect-to HOST:PORT:ADDR:PORT`: connect to `addr:addr_port` for `host:port` (TLS name and `Host` stay
/// `host`), as curl's option of the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTo {
    /// The name as in the URL (lower-case).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Where to connect instead (an IP address or a name; IPv6 without brackets).
    pub addr: String,
    /// The port to connect to.
    pub addr_port: u16,
}

/// Everything one run needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The public host of QuFabric, lower-case, without port.
    pub host: String,
    /// Its port (default 443).
    pub port: u16,
    /// PocketID's issuer, exactly as configured (a trailing `/` is kept: the check reports it).
    pub issuer: String,
    /// The issuer the gate trusts: `--gate-issuer`, else `https://<domain>/oauth2` (embedded) or `issuer`.
    pub gate_issuer: String,
    /// Setup mode.
    pub mode: Mode,
    /// Where the gate sits.
    pub gate: Gate,
    /// `DASHBOARD`.
    pub dashboard: Dashboard,
    /// `PUBLIC_API`.
    pub public_api: PublicApi,
    /// Path prefixes that go straight to QuFabric (default [`DEFAULT_UNGATED`]).
    pub ungated: Vec<String>,
    /// Connection overrides.
    pub connect_to: Vec<ConnectTo>,
    /// PEM files of the CAs to trust instead of the system's roots.
    pub ca: Vec<PathBuf>,
    /// A file holding an allowed user's token.
    pub token_file: Option<PathBuf>,
    /// A file holding the token of a user outside the allowed groups.
    pub denied_token_file: Option<PathBuf>,
    /// Ask for both tokens on the terminal (no echo).
    pub ask_tokens: bool,
    /// The path the allowed user's token must open (default [`DEFAULT_ALLOWED_PATH`]).
    pub allowed_path: String,
    /// Per connection and answer (default [`DEFAULT_TIMEOUT_SECONDS`]).
    pub timeout: Duration,
    /// Output format.
    pub format: Format,
}

impl Settings {
    /// `host` or `host:port` when the port is not 443: the `Host` header and the URLs' authority.
    pub fn authority(&self) -> String {
        if self.port == 443 { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the checks.
    Check(Box<Settings>),
    /// Print this text and exit 0.
    Help(&'static str),
}

/// A usage or configuration error: the option and what to do; never the value given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// The option (e.g. `--issuer`), or `pocketgate` for the command itself.
    pub setting: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

fn err<T>(setting: &str, message: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError { setting: setting.to_owned(), message: message.into() })
}

/// Options that take a value.
const VALUED: [&str; 15] = [
    "--domain",
    "--issuer",
    "--mode",
    "--gate-issuer",
    "--gate",
    "--dashboard",
    "--public-api",
    "--ungated",
    "--ca",
    "--connect-to",
    "--timeout",
    "--token-file",
    "--denied-token-file",
    "--allowed-path",
    "--config",
];
/// Options without a value.
const FLAGS: [&str; 3] = ["--ask-tokens", "--json", "--help"];

/// Parse `args` (after the program name). `read` reads a `--config` file.
pub fn parse(args: &[String], read: impl Fn(&Path) -> std::io::Result<String>) -> Result<Command, UsageError> {
    let Some((sub, rest)) = args.split_first() else {
        return err("pocketgate", "missing a command: run `pocketgate check --help`");
    };
    match sub.as_str() {
        "check" => {}
        "--help" | "-h" | "help" => return Ok(Command::Help(HELP)),
        _ => return err("pocketgate", "unknown command (the only one is `check`): run `pocketgate --help`"),
    }
    let cli = options(rest.iter().map(String::as_str), "the command line")?;
    if cli.iter().any(|(n, _)| n == "--help") {
        return Ok(Command::Help(CHECK_HELP));
    }
    let mut all = Vec::new();
    let configs: Vec<&String> = cli.iter().filter(|(n, _)| n == "--config").filter_map(|(_, v)| v.as_ref()).collect();
    if configs.len() > 1 {
        return err("--config", "give it once");
    }
    if let Some(file) = configs.first() {
        let text = read(Path::new(file.as_str()))
            .or_else(|e| err("--config", format!("cannot read the file ({}): check the path", e.kind())))?;
        let words = config_words(&text)?;
        let from_file = options(words.iter().map(String::as_str), "the --config file")?;
        if let Some((name, _)) = from_file.iter().find(|(n, _)| n == "--config" || n == "--help") {
            return err(name, "is not allowed inside a --config file");
        }
        all.extend(from_file);
    }
    all.extend(cli.into_iter().filter(|(n, _)| n != "--config"));
    settings(&all).map(|s| Command::Check(Box::new(s)))
}

/// A config file's lines as words: `--name value` (the value is the rest of the line, trimmed) or `--flag`;
/// blank lines and lines starting with `#` are skipped.
fn config_words(text: &str) -> Result<Vec<String>, UsageError> {
    let mut words = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with("--") {
            return err("--config", format!("line {}: each line is one option, `--name value`", i + 1));
        }
        match line.split_once(char::is_whitespace) {
            Some((name, value)) => {
                words.push(name.to_owned());
                words.push(value.trim().to_owned());
            }
            None => words.push(line.to_owned()),
        }
    }
    Ok(words)
}

/// Words → `(name, value)` pairs, in order. `--name=value` and `--name value` both work.
fn options<'a>(
    mut words: impl Iterator<Item = &'a str>,
    source: &str,
) -> Result<Vec<(String, Option<String>)>, UsageError> {
    let mut out = Vec::new();
    while let Some(word) = words.next() {
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (word, None),
        };
        if name.starts_with("--")
            && name.contains("token")
            && !matches!(name, "--token-file" | "--denied-token-file" | "--ask-tokens")
        {
            return err(
                name,
                "tokens are never taken from the command line or a config file (the process list and the shell \
                 history would keep them): use --token-file FILE or --ask-tokens",
            );
        }
        if VALUED.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => match words.next() {
                    Some(v) => v.to_owned(),
                    None => return err(name, format!("needs a value (in {source})")),
                },
            };
            out.push((name.to_owned(), Some(value)));
        } else if FLAGS.contains(&name) {
            if inline.is_some() {
                return err(name, "takes no value");
            }
            out.push((name.to_owned(), None));
        } else if name.starts_with('-') {
            return err("pocketgate check", format!("unknown option in {source}: run `pocketgate check --help`"));
        } else {
            return err("pocketgate check", format!("unexpected argument in {source}: options start with --"));
        }
    }
    Ok(out)
}

fn last<'a>(all: &'a [(String, Option<String>)], name: &str) -> Option<&'a str> {
    all.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
}

fn every<'a>(all: &'a [(String, Option<String>)], name: &str) -> Vec<&'a str> {
    all.iter().filter(|(n, _)| n == name).filter_map(|(_, v)| v.as_deref()).collect()
}

fn choice<T: Copy>(
    all: &[(String, Option<String>)],
    name: &str,
    options: &[(&str, T)],
    default: T,
) -> Result<T, UsageError> {
    match last(all, name) {
        None => Ok(default),
        Some(v) => options.iter().find(|(o, _)| *o == v).map(|(_, t)| *t).map_or_else(
            || {
                let names: Vec<&str> = options.iter().map(|(o, _)| *o).collect();
                err(name, format!("must be one of: {}", names.join(", ")))
            },
            Ok,
        ),
    }
}

fn settings(all: &[(String, Option<String>)]) -> Result<Settings, UsageError> {
    let Some(domain) = last(all, "--domain") else {
        return err("--domain", "is required: QuFabric's public host, e.g. --domain qufabric.example.com");
    };
    let (host, port) = parse_domain(domain)?;
    let Some(issuer) = last(all, "--issuer") else {
        return err("--issuer", "is required: PocketID's issuer URL, e.g. --issuer https://id.example.com");
    };
    check_issuer_url("--issuer", issuer)?;
    let mode =
        choice(all, "--mode", &[("embedded", Mode::Embedded), ("standalone", Mode::Standalone)], Mode::Embedded)?;
    let gate = choice(
        all,
        "--gate",
        &[("proxy", Gate::Proxy), ("forward-auth", Gate::ForwardAuth), ("plugin", Gate::Plugin)],
        Gate::Proxy,
    )?;
    let dashboard = choice(
        all,
        "--dashboard",
        &[("bypass", Dashboard::Bypass), ("protect", Dashboard::Protect)],
        Dashboard::Bypass,
    )?;
    let public_api =
        choice(all, "--public-api", &[("bypass", PublicApi::Bypass), ("gate", PublicApi::Gate)], PublicApi::Bypass)?;
    let authority = if port == 443 { host.clone() } else { format!("{host}:{port}") };
    let gate_issuer = match last(all, "--gate-issuer") {
        Some(g) => {
            check_issuer_url("--gate-issuer", g)?;
            g.to_owned()
        }
        None if mode == Mode::Embedded => format!("https://{authority}/oauth2"),
        None => issuer.to_owned(),
    };
    let given = every(all, "--ungated");
    let ungated: Vec<String> = if given.is_empty() {
        DEFAULT_UNGATED.iter().map(|s| (*s).to_owned()).collect()
    } else {
        given.iter().map(|s| (*s).to_owned()).collect()
    };
    for prefix in &ungated {
        check_ungated(prefix)?;
    }
    let connect_to = every(all, "--connect-to").into_iter().map(parse_connect_to).collect::<Result<Vec<_>, _>>()?;
    let timeout = match last(all, "--timeout") {
        None => DEFAULT_TIMEOUT_SECONDS,
        Some(t) => match t.parse::<u64>() {
            Ok(n) if (1..=MAX_TIMEOUT_SECONDS).contains(&n) => n,
            _ => return err("--timeout", format!("must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS}")),
        },
    };
    let allowed_path = last(all, "--allowed-path").unwrap_or(DEFAULT_ALLOWED_PATH).to_owned();
    if !(allowed_path == "/api" || allowed_path.starts_with("/api/"))
        || !allowed_path.bytes().all(|b| b.is_ascii_graphic())
    {
        return err("--allowed-path", "must be a path under /api, e.g. /api/users/current");
    }
    let path = |name: &str| last(all, name).map(PathBuf::from);
    Ok(Settings {
        host,
        port,
        issuer: issuer.to_owned(),
        gate_issuer,
        mode,
        gate,
        dashboard,
        public_api,
        ungated,
        connect_to,
        ca: every(all, "--ca").into_iter().map(PathBuf::from).collect(),
        token_file: path("--token-file"),
        denied_token_file: path("--denied-token-file"),
        ask_tokens: all.iter().any(|(n, _)| n == "--ask-tokens"),
        allowed_path,
        timeout: Duration::from_secs(timeout),
        format: if all.iter().any(|(n, _)| n == "--json") { Format::Json } else { Format::Table },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn no_file(_: &Path) -> std::io::Result<String> {
        Err(std::io::Error::from(std::io::ErrorKind::NotFound))
    }

    fn check(s: &str) -> Result<Settings, UsageError> {
        match parse(&words(s), no_file)? {
            Command::Check(s) => Ok(*s),
            Command::Help(_) => panic!("help"),
        }
    }

    const BASE: &str = "check --domain QuFabric.Example.com --issuer https://id.example.com";

    #[test]
    fn defaults() {
        let s = check(BASE).unwrap();
        assert_eq!((s.host.as_str(), s.port), ("qufabric.example.com", 443));
        assert_eq!(s.gate_issuer, "https://qufabric.example.com/oauth2");
        assert_eq!(
            (s.mode, s.gate, s.dashboard, s.public_api),
            (Mode::Embedded, Gate::Proxy, Dashboard::Bypass, PublicApi::Bypass)
        );
        assert_eq!(s.ungated, DEFAULT_UNGATED);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.allowed_path, "/api/users/current");
        assert_eq!((s.format, s.ask_tokens, s.token_file.is_none()), (Format::Table, false, true));
        assert_eq!(s.authority(), "qufabric.example.com");
    }

    #[test]
    fn every_option() {
        let s = check(&format!(
            "{BASE}/ --mode=standalone --gate forward-auth --dashboard protect --public-api gate --ungated /relay \
             --ungated /oauth2/ --ca a.pem --ca b.pem --connect-to qufabric.example.com:443:127.0.0.1:8443 \
             --connect-to id.example.com:443:[::1]:9 --timeout 3 --token-file t --denied-token-file d --ask-tokens \
             --allowed-path /api/peers --json --domain vpn.example.com:8443"
        ))
        .unwrap();
        assert_eq!(s.issuer, "https://id.example.com/", "kept as typed: the check reports the slash");
        assert_eq!(s.gate_issuer, "https://id.example.com/", "standalone: the gate trusts PocketID");
        assert_eq!((s.host.as_str(), s.port, s.authority()), ("vpn.example.com", 8443, "vpn.example.com:8443".into()));
        assert_eq!(
            (s.mode, s.gate, s.dashboard, s.public_api),
            (Mode::Standalone, Gate::ForwardAuth, Dashboard::Protect, PublicApi::Gate)
        );
        assert_eq!(s.ungated, ["/relay", "/oauth2/"]);
        assert_eq!(s.ca, [PathBuf::from("a.pem"), PathBuf::from("b.pem")]);
        assert_eq!(
            s.connect_to[0],
            ConnectTo { host: "qufabric.example.com".into(), port: 443, addr: "127.0.0.1".into(), addr_port: 8443 }
        );
        assert_eq!(s.connect_to[1].addr, "::1");
        assert_eq!(s.timeout, Duration::from_secs(3));
        assert_eq!((s.token_file.unwrap(), s.denied_token_file.unwrap()), (PathBuf::from("t"), PathBuf::from("d")));
        assert!(s.ask_tokens);
        assert_eq!((s.allowed_path.as_str(), s.format), ("/api/peers", Format::Json));
        let g = check(&format!("{BASE} --gate-issuer http://127.0.0.1:9/oauth2")).unwrap();
        assert_eq!(g.gate_issuer, "http://127.0.0.1:9/oauth2");
        let port = check("check --domain q.example.com:8443 --issuer https://id.example.com").unwrap();
        assert_eq!(port.gate_issuer, "https://q.example.com:8443/oauth2");
    }

    #[test]
    fn help() {
        assert_eq!(parse(&words("--help"), no_file), Ok(Command::Help(HELP)));
        assert_eq!(parse(&words("check --domain x --help"), no_file), Ok(Command::Help(CHECK_HELP)));
        assert!(CHECK_HELP.lines().all(|l| l.len() <= 120), "help fits a terminal");
        for name in VALUED.iter().chain(&FLAGS) {
            assert!(CHECK_HELP.contains(name), "{name} is documented");
        }
    }

    /// Every error names the option and never echoes the value.
    #[test]
    fn errors_name_the_setting_and_never_echo() {
        let cases = [
            ("", "pocketgate"),
            ("nope", "pocketgate"),
            ("check --issuer https://id.example.com", "--domain"),
            ("check --domain https://SECRETVALUE", "--domain"),
            ("check --domain SECRET_VALUE.example.com --issuer https://id.example.com", "--domain"),
            ("check --domain q.example.com:0 --issuer https://id.example.com", "--domain"),
            ("check --domain q.example.com", "--issuer"),
            ("check --domain q.example.com --issuer http://SECRETVALUE.example.com", "--issuer"),
            ("check --domain q.example.com --issuer https://id.example.com?SECRETVALUE", "--issuer"),
            ("check --domain q.example.com --issuer https://u:SECRETVALUE@id.example.com", "--issuer"),
            (&format!("{BASE} --mode SECRETVALUE"), "--mode"),
            (&format!("{BASE} --gate SECRETVALUE"), "--gate"),
            (&format!("{BASE} --ungated SECRETVALUE"), "--ungated"),
            (&format!("{BASE} --ungated /api"), "--ungated"),
            (&format!("{BASE} --ungated /API/SECRETVALUE"), "--ungated"),
            (&format!("{BASE} --ungated /relay/../SECRETVALUE"), "--ungated"),
            (&format!("{BASE} --connect-to SECRETVALUE"), "--connect-to"),
            (&format!("{BASE} --connect-to a:1:b:SECRETVALUE"), "--connect-to"),
            (&format!("{BASE} --timeout 0"), "--timeout"),
            (&format!("{BASE} --timeout 121"), "--timeout"),
            (&format!("{BASE} --allowed-path /SECRETVALUE"), "--allowed-path"),
            (&format!("{BASE} --token eyJSECRETVALUE"), "--token"),
            (&format!("{BASE} --token=eyJSECRETVALUE"), "--token"),
            (&format!("{BASE} --denied-token eyJSECRETVALUE"), "--denied-token"),
            (&format!("{BASE} --bogus SECRETVALUE"), "pocketgate check"),
            (&format!("{BASE} SECRETVALUE"), "pocketgate check"),
            (&format!("{BASE} --json=SECRETVALUE"), "--json"),
            (&format!("{BASE} --domain"), "--domain"),
            (&format!("{BASE} --config SECRETVALUE"), "--config"),
        ];
        for (line, setting) in cases {
            let e = check(line).unwrap_err();
            assert_eq!(e.setting, setting, "{line}: {e}");
            assert!(!e.to_string().contains("SECRET"), "{line}: echoes the value: {e}");
        }
    }

    #[test]
    fn config_file_then_command_line() {
        let file = "# generated by the setup page\n--domain qufabric.example.com\n\n--issuer   https://id.example.com \n\
                    --mode standalone\n--ungated /relay\n--json\n";
        let read = |p: &Path| {
            assert_eq!(p, Path::new("check.conf"));
            Ok(file.to_owned())
        };
        let Command::Check(s) =
            parse(&words("check --config check.conf --mode embedded --ungated /oauth2/"), read).unwrap()
        else {
            panic!()
        };
        assert_eq!((s.issuer.as_str(), s.mode, s.format), ("https://id.example.com", Mode::Embedded, Format::Json));
        assert_eq!(s.ungated, ["/relay", "/oauth2/"], "repeated options add up");
        for (bad, setting) in [
            ("--config other", "--config"),
            ("domain x", "--config"),
            ("--token SECRETVALUE", "--token"),
            ("--help", "--help"),
        ] {
            let e = parse(&words("check --config c"), |_| Ok(format!("{bad}\n"))).unwrap_err();
            assert_eq!(e.setting, setting, "{bad}");
            assert!(!e.to_string().contains("SECRET"));
        }
        let e = parse(&words("check --config a --config b"), |_| Ok(String::new())).unwrap_err();
        assert_eq!(e.setting, "--config");
    }

    /// The default ungated prefixes are exactly the paths the gate itself always bypasses
    /// ([`crate::policy::qufabric_default_routes`], even with `DASHBOARD=protect`), and every path the setup page
    /// sends straight to QuFabric starts with one of them.
    #[test]
    fn default_ungated_is_what_the_gate_bypasses() {
        let protect = crate::policy::qufabric_default_routes(false);
        for prefix in DEFAULT_UNGATED {
            let sample = format!("{prefix}{}", if prefix.ends_with('/') { "x" } else { "" });
            assert_eq!(protect.action("GET", &sample), Ok(&crate::policy::RouteAction::Bypass), "{sample}");
        }
        for path in crate::setup::gate::direct_path_samples() {
            assert!(DEFAULT_UNGATED.iter().any(|p| path.starts_with(p)), "{path} is sent past the gate");
        }
    }
}
