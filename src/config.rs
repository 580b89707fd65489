//! The gate's configuration: environment variables (Worker `[vars]` and secrets) in, typed values out.
//!
//! Parsed once per isolate by [`GateConfig::from_env`]. Every mistake becomes an [`Error::Config`] naming the
//! variable and saying how to fix it; all mistakes are reported at once, and the gate then fails closed.
//!
//! Variables (a public contract; an empty value counts as unset):
//!
//! | name | meaning | default |
//! | --- | --- | --- |
//! | `ISSUER` | the trusted issuer URL, exact; https (http only for loopback hosts) | required unless `ISSUERS` |
//! | `AUDIENCE` | accepted audiences (OIDC client ids), comma-separated | required with `ISSUER` |
//! | `ALLOW_GROUPS` | allowed groups, comma-separated; `*` = any verified user | required with `ISSUER` |
//! | `DENY_GROUPS` | groups that never pass (deny wins) | none |
//! | `GROUPS_CLAIM` | claim holding the groups (literal name, then dotted path) | `groups` |
//! | `LEEWAY_SECONDS` | clock leeway for `exp`/`nbf`/`iat`, 0–600 | 60 |
//! | `JWKS_URI` | key set URL | from the issuer's discovery document |
//! | `ISSUERS` | JSON array of issuers, instead of `ISSUER`…`JWKS_URI` (see [`parse_issuers`]) | unset |
//! | `ROUTES` | JSON array of route rules, merged over the QuFabric defaults (see [`parse_routes`]) | unset |
//! | `DASHBOARD` | `bypass` or `protect`: paths no rule matches (QuFabric's dashboard pages) | `bypass` |
//! | `PERSONAL_ACCESS_TOKENS` | `deny` or `pass`: `Authorization: Token …` on authenticated routes | `deny` |
//! | `UPSTREAM` | origin to proxy to (`https://host[:port]`); unset = forward-auth only | unset |
//! | `REALM` | the `realm` of `WWW-Authenticate` | `pocketgate` |
//! | `LOG` | `deny`: only refusals, errors and key fetches; `all`: one line per request | `deny` |
//! | `LOG_LIMIT` | request lines per second per isolate, 0–100000 (0 = no limit); the rest are counted | 100 |
//! | `FORWARDED_HEADERS` | forward-auth: which header family carries the original request: `auto`, `nginx` (`X-Original-Method`/`-URI`), `caddy` or `traefik` (`X-Forwarded-Method`/`-Uri`) | `auto` |
//! | `MAX_TOKEN_AGE` | longest accepted token lifetime in seconds (`exp − iat` and `exp − now`), 60–2592000 | 86400 |
//! | `LOCAL_USERS` | QuFabric's embedded IdP: `allow` lets its local (password) users, who carry no groups, pass the issuer's group rule as QuFabric does; `groups` requires groups of them too | `groups` |
//! | `KEYS_STALE_SECONDS` | how long past their TTL the last good keys serve while the issuer is down, 0–604800 | 21600 |

use serde_json::{Map, Value};

use crate::error::Error;
use crate::policy::{
    Allow, GroupRule, LocalUsers, Requirement, RouteAction, RouteRule, Routes, qufabric_default_routes,
};
use crate::token::Limits;
use crate::verify::{DEFAULT_GROUPS_CLAIM, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_AGE, IssuerConfig, Verifier};

/// Smallest accepted `MAX_TOKEN_AGE`.
const MIN_MAX_TOKEN_AGE: u64 = 60;
/// Largest accepted `MAX_TOKEN_AGE` (30 days).
const MAX_MAX_TOKEN_AGE: u64 = 2_592_000;
/// Largest accepted `LEEWAY_SECONDS`.
pub const MAX_LEEWAY: u64 = 600;
/// Default `REALM`.
pub const DEFAULT_REALM: &str = "pocketgate";

/// How `Authorization: Token …` (QuFabric personal access tokens, not JWTs) is treated on authenticated routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatMode {
    /// Refuse with 401 `pat_not_allowed` (default).
    Deny,
    /// Pass the request to the upstream untouched; the upstream checks the token itself.
    Pass,
}

/// Which requests get a log line (`LOG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogMode {
    /// One line per request, allowed ones included.
    All,
    /// Only refusals and errors (status 4xx/5xx), and key-set fetches (default: the platform's own request logs
    /// already record every request, and a `console.log` per allowed request is a large share of a cached
    /// answer's cost).
    Deny,
}

/// Which forwarding headers carry the original request to `/_gate/auth` (`FORWARDED_HEADERS`).
///
/// Whatever the choice, a request is refused (400) when the chosen family is incomplete, or when the other family
/// is present and names another method or URI: a header the proxy does not set or clear is the client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardedHeaders {
    /// Either family (default): the one that is complete; both complete must agree, and a family that is only
    /// partly present is refused.
    Auto,
    /// `X-Original-Method` and `X-Original-URI`, as the documented nginx `auth_request` snippet sets them.
    Original,
    /// `X-Forwarded-Method` and `X-Forwarded-Uri`, as Caddy's `forward_auth` and Traefik's `forwardAuth` set them.
    Forwarded,
}

/// Default `KEYS_STALE_SECONDS`: the last good keys serve 6 hours past their TTL while refreshes fail.
pub const DEFAULT_KEYS_STALE: u64 = 21_600;
const MAX_KEYS_STALE: u64 = 604_800;

/// Where an issuer's keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySource {
    /// The issuer (exact).
    pub issuer: String,
    /// `JWKS_URI` when configured; `None` = read `jwks_uri` from `{issuer}/.well-known/openid-configuration`.
    pub jwks_uri: Option<String>,
}

impl KeySource {
    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }
}

/// The whole, validated configuration of the gate.
#[derive(Clone, Debug)]
pub struct GateConfig {
    /// The trusted issuers (index `i` here is index `i` in [`GateConfig::keys`]).
    pub verifier: Verifier,
    /// Where each issuer's keys come from.
    pub keys: Vec<KeySource>,
    /// Route rules (QuFabric defaults merged with `ROUTES`).
    pub routes: Routes,
    /// The origin to proxy to, without a trailing `/`; `None` = forward-auth only.
    pub upstream: Option<String>,
    /// Personal access tokens. Default [`PatMode::Deny`].
    pub pat: PatMode,
    /// `WWW-Authenticate` realm. Default [`DEFAULT_REALM`].
    pub realm: String,
    /// Which requests are logged. Default [`LogMode::Deny`].
    pub log: LogMode,
    /// Request log lines per second per isolate (0 = no limit). Default [`DEFAULT_LOG_LIMIT`].
    pub log_limit: u32,
    /// Forward-auth's header family. Default [`ForwardedHeaders::Auto`].
    pub forwarded: ForwardedHeaders,
    /// Seconds past their TTL that the last good keys keep serving while refreshes fail. Default
    /// [`DEFAULT_KEYS_STALE`].
    pub keys_stale: u64,
}

/// Default `LOG_LIMIT`: 100 request lines per second per isolate.
pub const DEFAULT_LOG_LIMIT: u32 = 100;
const MAX_LOG_LIMIT: u32 = 100_000;

/// The variables that configure one issuer when `ISSUERS` is not used.
const SINGLE_ISSUER_VARS: [&str; 5] = ["ISSUER", "AUDIENCE", "ALLOW_GROUPS", "DENY_GROUPS", "JWKS_URI"];

fn config_err(setting: &str, message: impl Into<String>) -> Error {
    Error::Config { setting: setting.to_owned(), message: message.into() }
}

impl GateConfig {
    /// Read and validate every variable through `get` (returns the raw value of a variable, `None` if unset).
    /// Returns every problem found, each an [`Error::Config`].
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<GateConfig, Vec<Error>> {
        let var = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut errors = Vec::new();
        let e = &mut errors;

        let groups_claim = keep(e, var("GROUPS_CLAIM").map(|v| parse_groups_claim("GROUPS_CLAIM", &v)).transpose());
        let leeway = keep(e, var("LEEWAY_SECONDS").map(|v| parse_leeway("LEEWAY_SECONDS", &v)).transpose());
        let max_age = keep(e, var("MAX_TOKEN_AGE").map(|v| parse_max_age("MAX_TOKEN_AGE", &v)).transpose());
        let local_users = keep(e, var("LOCAL_USERS").map(|v| parse_local_users("LOCAL_USERS", &v)).transpose());
        let defaults = Defaults {
            groups_claim: groups_claim.flatten().unwrap_or_else(|| DEFAULT_GROUPS_CLAIM.to_owned()),
            leeway: leeway.flatten().unwrap_or(DEFAULT_LEEWAY),
            max_token_age: max_age.flatten().unwrap_or(DEFAULT_MAX_TOKEN_AGE),
            local_users: local_users.flatten().unwrap_or_default(),
        };
        let issuers = match var("ISSUERS") {
            Some(json) => {
                let conflicting: Vec<&str> = SINGLE_ISSUER_VARS.into_iter().filter(|n| var(n).is_some()).collect();
                let parsed = if conflicting.is_empty() {
                    parse_issuers(&json, &defaults)
                } else {
                    Err(config_err(
                        "ISSUERS",
                        format!(
                            "set either ISSUERS or {}, not both; move those settings into the ISSUERS entries",
                            conflicting.join("/")
                        ),
                    ))
                };
                keep(e, parsed)
            }
            None => single_issuer(&var, &defaults).map_err(|mut more| e.append(&mut more)).ok(),
        };
        let names: Option<Vec<String>> =
            issuers.as_ref().map(|(configs, _)| configs.iter().map(|c| c.issuer.clone()).collect());
        let routes = keep(e, build_routes(var("ROUTES").as_deref(), var("DASHBOARD").as_deref(), names.as_deref()));
        let upstream = keep(e, var("UPSTREAM").map(|v| parse_upstream(&v)).transpose());
        let pat = keep(
            e,
            match var("PERSONAL_ACCESS_TOKENS").as_deref() {
                None | Some("deny") => Ok(PatMode::Deny),
                Some("pass") => Ok(PatMode::Pass),
                Some(_) => Err(config_err("PERSONAL_ACCESS_TOKENS", "must be \"deny\" (the default) or \"pass\"")),
            },
        );
        let realm = keep(
            e,
            match var("REALM") {
                None => Ok(DEFAULT_REALM.to_owned()),
                Some(r) if r.chars().all(|c| c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\')) => Ok(r),
                Some(_) => {
                    Err(config_err("REALM", "use visible ASCII without quotes or backslashes, e.g. \"qufabric\""))
                }
            },
        );
        let log = keep(
            e,
            match var("LOG").as_deref() {
                Some("all") => Ok(LogMode::All),
                None | Some("deny") => Ok(LogMode::Deny),
                Some(_) => Err(config_err(
                    "LOG",
                    "must be \"deny\" (the default: refusals, errors and key fetches) or \"all\" (one line per request)",
                )),
            },
        );
        let log_limit = keep(
            e,
            whole_number(
                "LOG_LIMIT",
                var("LOG_LIMIT"),
                DEFAULT_LOG_LIMIT,
                MAX_LOG_LIMIT,
                &format!("must be a whole number of lines per second from 0 (no limit) to {MAX_LOG_LIMIT}, e.g. 100"),
            ),
        );
        let forwarded = keep(
            e,
            match var("FORWARDED_HEADERS").as_deref() {
                None | Some("auto") => Ok(ForwardedHeaders::Auto),
                Some("nginx") => Ok(ForwardedHeaders::Original),
                Some("caddy" | "traefik") => Ok(ForwardedHeaders::Forwarded),
                Some(_) => Err(config_err(
                    "FORWARDED_HEADERS",
                    "must be \"auto\" (the default), \"nginx\" (X-Original-Method/-URI), or \"caddy\" / \"traefik\" \
                     (X-Forwarded-Method/-Uri)",
                )),
            },
        );
        let keys_stale = keep(
            e,
            whole_number(
                "KEYS_STALE_SECONDS",
                var("KEYS_STALE_SECONDS"),
                DEFAULT_KEYS_STALE,
                MAX_KEYS_STALE,
                &format!("must be a whole number of seconds from 0 to {MAX_KEYS_STALE}, e.g. 21600 (6 hours)"),
            ),
        );
        let (verifier, keys) = match issuers {
            Some((configs, keys)) => (keep(e, Verifier::new(configs, Limits::default())), Some(keys)),
            None => (None, None),
        };
        match (verifier, keys, routes, upstream, pat, realm, log, log_limit, forwarded, keys_stale) {
            (
                Some(verifier),
                Some(keys),
                Some(routes),
                Some(upstream),
                Some(pat),
                Some(realm),
                Some(log),
                Some(log_limit),
                Some(forwarded),
                Some(keys_stale),
            ) if errors.is_empty() => {
                Ok(GateConfig { verifier, keys, routes, upstream, pat, realm, log, log_limit, forwarded, keys_stale })
            }
            _ => Err(errors),
        }
    }
}

/// An optional whole number from 0 to `max`: `default` when unset, else `fix` as the error for `setting`.
fn whole_number<T: std::str::FromStr + PartialOrd>(
    setting: &str,
    value: Option<String>,
    default: T,
    max: T,
    fix: &str,
) -> Result<T, Error> {
    match value {
        None => Ok(default),
        Some(v) => v.parse::<T>().ok().filter(|n| *n <= max).ok_or_else(|| config_err(setting, fix)),
    }
}

/// Keep the value, or record the error.
fn keep<T>(errors: &mut Vec<Error>, r: Result<T, Error>) -> Option<T> {
    r.map_err(|err| errors.push(err)).ok()
}

/// Process-wide defaults that `ISSUERS` entries inherit.
#[derive(Clone, Debug)]
struct Defaults {
    groups_claim: String,
    leeway: u64,
    max_token_age: u64,
    local_users: LocalUsers,
}

type Issuers = (Vec<IssuerConfig>, Vec<KeySource>);

fn single_issuer(var: &impl Fn(&str) -> Option<String>, d: &Defaults) -> Result<Issuers, Vec<Error>> {
    let mut errors = Vec::new();
    let e = &mut errors;
    let required = |name: &str, example: &str| {
        var(name).ok_or_else(|| config_err(name, format!("is required; set it, e.g. {name}={example}")))
    };
    let issuer = keep(e, required("ISSUER", "https://id.example.com").and_then(|v| parse_issuer("ISSUER", &v)));
    let audiences = keep(e, required("AUDIENCE", "<your OIDC client id>").and_then(|v| parse_list("AUDIENCE", &v)));
    let allow = keep(
        e,
        var("ALLOW_GROUPS")
            .ok_or_else(|| {
                config_err(
                    "ALLOW_GROUPS",
                    "is required: list the allowed groups, e.g. ALLOW_GROUPS=netbird-users, or ALLOW_GROUPS=* to admit \
                 every verified user; an unset list never means \"allow all\"",
                )
            })
            .and_then(|v| GroupRule::parse_allow("ALLOW_GROUPS", &v)),
    );
    let deny = keep(e, var("DENY_GROUPS").map_or(Ok(Vec::new()), |v| parse_deny("DENY_GROUPS", &v)));
    let jwks_uri = keep(e, var("JWKS_URI").map(|v| parse_url("JWKS_URI", &v, false)).transpose());
    match (issuer, audiences, allow, deny, jwks_uri) {
        (Some(issuer), Some(audiences), Some(allow), Some(deny), Some(jwks_uri)) if errors.is_empty() => {
            let mut cfg = IssuerConfig::new(issuer.clone(), audiences, GroupRule { allow, deny });
            cfg.groups_claim = d.groups_claim.clone();
            cfg.leeway = d.leeway;
            cfg.max_token_age = d.max_token_age;
            cfg.local_users = d.local_users;
            Ok((vec![cfg], vec![KeySource { issuer, jwks_uri }]))
        }
        _ => Err(errors),
    }
}

/// Parse `ISSUERS`: a JSON array of objects, one per trusted issuer:
///
/// ```json
/// [{"issuer": "https://vpn.example.com/oauth2", "audiences": ["netbird-dashboard", "netbird-cli"],
///   "allow_groups": ["netbird-users"]},
///  {"issuer": "https://id.example.com", "audiences": "netbird", "allow_groups": "*",
///   "deny_groups": ["contractors"], "groups_claim": "groups", "leeway_seconds": 30,
///   "jwks_uri": "https://id.example.com/.well-known/jwks.json"}]
/// ```
///
/// `issuer`, `audiences` and `allow_groups` are required; lists are a JSON array of strings or one
/// comma-separated string. `groups_claim` and `leeway_seconds` default to `GROUPS_CLAIM` and `LEEWAY_SECONDS`.
/// Unknown members are errors (a typo must not silently change the policy).
fn parse_issuers(json: &str, d: &Defaults) -> Result<Issuers, Error> {
    const S: &str = "ISSUERS";
    let items = match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) if !items.is_empty() => items,
        Ok(_) => return Err(config_err(S, "must be a non-empty JSON array of issuer objects")),
        Err(e) => return Err(config_err(S, format!("is not valid JSON ({e}); it must be an array of objects"))),
    };
    let mut configs = Vec::new();
    let mut keys = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |m: String| config_err(S, format!("entry {i}: {m}"));
        let obj = item.as_object().ok_or_else(|| at("must be an object".into()))?;
        check_members(
            obj,
            &[
                "issuer",
                "audiences",
                "allow_groups",
                "deny_groups",
                "groups_claim",
                "leeway_seconds",
                "max_token_age",
                "local_users",
                "jwks_uri",
            ],
        )
        .map_err(at)?;
        let issuer = match obj.get("issuer") {
            Some(Value::String(s)) => parse_issuer(S, s).map_err(|e| at(message(e)))?,
            _ => return Err(at("\"issuer\" is required, a string such as \"https://id.example.com\"".into())),
        };
        let audiences = list_member(obj, "audiences")
            .map_err(at)?
            .ok_or_else(|| at("\"audiences\" is required (the OIDC client ids)".into()))
            .and_then(|v| parse_list(S, &v).map_err(|e| at(message(e))))?;
        let allow = list_member(obj, "allow_groups")
            .map_err(at)?
            .ok_or_else(|| {
                at("\"allow_groups\" is required: list the allowed groups, or \"*\" for every verified user".into())
            })
            .and_then(|v| GroupRule::parse_allow(S, &v).map_err(|e| at(message(e))))?;
        let deny = match list_member(obj, "deny_groups").map_err(at)? {
            Some(v) => parse_deny(S, &v).map_err(|e| at(message(e)))?,
            None => Vec::new(),
        };
        let mut cfg = IssuerConfig::new(issuer.clone(), audiences, GroupRule { allow, deny });
        cfg.groups_claim = match obj.get("groups_claim") {
            None => d.groups_claim.clone(),
            Some(Value::String(s)) => parse_groups_claim(S, s).map_err(|e| at(message(e)))?,
            Some(_) => return Err(at("\"groups_claim\" must be a string".into())),
        };
        cfg.leeway = match obj.get("leeway_seconds") {
            None => d.leeway,
            Some(Value::Number(n)) => {
                parse_leeway(S, &n.to_string()).map_err(|e| at(format!("leeway_seconds {}", message(e))))?
            }
            Some(_) => return Err(at("\"leeway_seconds\" must be a number".into())),
        };
        cfg.max_token_age = match obj.get("max_token_age") {
            None => d.max_token_age,
            Some(Value::Number(n)) => {
                parse_max_age(S, &n.to_string()).map_err(|e| at(format!("max_token_age {}", message(e))))?
            }
            Some(_) => return Err(at("\"max_token_age\" must be a number of seconds".into())),
        };
        cfg.local_users = match obj.get("local_users") {
            None => d.local_users,
            Some(Value::String(v)) => parse_local_users(S, v).map_err(|e| at(format!("local_users {}", message(e))))?,
            Some(_) => return Err(at("\"local_users\" must be \"groups\" or \"allow\"".into())),
        };
        let jwks_uri = match obj.get("jwks_uri") {
            None => None,
            Some(Value::String(s)) => Some(parse_url(S, s, false).map_err(|e| at(message(e)))?),
            Some(_) => return Err(at("\"jwks_uri\" must be a string".into())),
        };
        configs.push(cfg);
        keys.push(KeySource { issuer, jwks_uri });
    }
    Ok((configs, keys))
}

fn message(e: Error) -> String {
    match e {
        Error::Config { message, .. } => message,
        other => other.to_string(),
    }
}

fn check_members(obj: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown member {k:?}; known members are {}", known.join(", "))),
        None => Ok(()),
    }
}

/// A list member: a JSON array of strings (joined with `,`) or a comma-separated string.
fn list_member(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(s) if !s.contains(',') => out.push(s),
                    _ => return Err(format!("{name:?} items must be strings without commas")),
                }
            }
            Ok(Some(out.join(",")))
        }
        Some(_) => Err(format!("{name:?} must be an array of strings or a comma-separated string")),
    }
}

/// A comma-separated list: items trimmed, none empty, no duplicates, at least one.
fn parse_list(setting: &str, value: &str) -> Result<Vec<String>, Error> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
    if items.iter().any(String::is_empty) {
        return Err(config_err(setting, "has an empty item; separate values with single commas, e.g. \"a,b\""));
    }
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            // The value itself is never echoed (healthz is public): its position is.
            return Err(config_err(setting, format!("item {} repeats an earlier item; list each value once", i + 1)));
        }
    }
    Ok(items)
}

fn parse_deny(setting: &str, value: &str) -> Result<Vec<String>, Error> {
    match GroupRule::parse_allow(setting, value)? {
        Allow::Groups(groups) => Ok(groups),
        Allow::AnyUser => Err(config_err(setting, "cannot be \"*\" (that would deny everyone); list groups")),
    }
}

fn parse_groups_claim(setting: &str, value: &str) -> Result<String, Error> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(config_err(setting, "must be a claim name without spaces, e.g. \"groups\""));
    }
    Ok(value.to_owned())
}

fn parse_leeway(setting: &str, value: &str) -> Result<u64, Error> {
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_LEEWAY => Ok(n),
        _ => Err(config_err(setting, format!("must be a whole number of seconds from 0 to {MAX_LEEWAY}, e.g. 60"))),
    }
}

/// `LOCAL_USERS`: `groups` or `allow`.
fn parse_local_users(setting: &str, value: &str) -> Result<LocalUsers, Error> {
    match value {
        "groups" => Ok(LocalUsers::Groups),
        "allow" => Ok(LocalUsers::Allow),
        _ => Err(config_err(
            setting,
            "must be \"groups\" (the default: local users of QuFabric's embedded IdP need an allowed group like \
             everyone) or \"allow\" (they pass the issuer's group rule, as QuFabric lets them past its own JWT \
             allow groups)",
        )),
    }
}

/// `MAX_TOKEN_AGE`: seconds, 60 to 30 days.
fn parse_max_age(setting: &str, value: &str) -> Result<u64, Error> {
    match value.parse::<u64>() {
        Ok(n) if (MIN_MAX_TOKEN_AGE..=MAX_MAX_TOKEN_AGE).contains(&n) => Ok(n),
        _ => Err(config_err(
            setting,
            format!(
                "must be a whole number of seconds from {MIN_MAX_TOKEN_AGE} to {MAX_MAX_TOKEN_AGE}, e.g. 86400 (one \
                 day: PocketID's tokens live an hour, the embedded IdP's a day)"
            ),
        )),
    }
}

/// An issuer: a URL per [`parse_url`] that does not end with `/`.
fn parse_issuer(setting: &str, value: &str) -> Result<String, Error> {
    let url = parse_url(setting, value, false)?;
    if url.ends_with('/') {
        return Err(config_err(
            setting,
            "must not end with '/': PocketID issuers never do, and tokens are compared byte for byte; remove the \
             trailing '/'",
        ));
    }
    Ok(url)
}

/// `UPSTREAM`: an origin (scheme, host, optional port); http allowed (internal origins); one trailing `/` is
/// dropped.
fn parse_upstream(value: &str) -> Result<String, Error> {
    let url = parse_url("UPSTREAM", value, true)?;
    let origin = url.strip_suffix('/').unwrap_or(&url);
    let rest = origin.split_once("://").map_or("", |(_, r)| r);
    if rest.contains('/') {
        return Err(config_err(
            "UPSTREAM",
            "must be an origin such as \"https://mgmt.internal:443\", without a path; the request's path is kept",
        ));
    }
    Ok(origin.to_owned())
}

/// Whether a key-set URL learnt from a discovery document may be fetched: `https://` with a host, or `http://` on a
/// loopback host; never with user info (in `http://127.0.0.1:1@other.host/` the host is `other.host`).
pub fn is_fetchable_key_url(url: &str) -> bool {
    let authority = url.split_once("://").map_or("", |(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""));
    !authority.contains('@')
        && match url_host(url) {
            Some(("https", host)) => !host.is_empty(),
            Some(("http", host)) => is_loopback_host(host),
            _ => false,
        }
}

/// True for `localhost`, `127.x.x.x` and `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host.strip_prefix("127.").is_some_and(|r| {
            let parts: Vec<&str> = r.split('.').collect();
            parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.parse::<u8>().is_ok())
        })
}

/// Split a URL into (scheme, host, port) without a URL crate. `None` if it is not `http(s)://authority…`.
pub fn url_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next()?
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    Some((scheme, host))
}

/// An absolute URL: `https://`, or `http://` on a loopback host (any http host when `any_http`); lower-case
/// scheme and host; no user info, query, fragment or whitespace. Errors never echo the value: a URL may carry
/// credentials or a secret query, and `/_gate/healthz` is public.
fn parse_url(setting: &str, value: &str, any_http: bool) -> Result<String, Error> {
    let fail = |m: &str| Err(config_err(setting, m));
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail("must be a URL without spaces");
    }
    let Some((scheme, host)) = url_host(value) else {
        return fail("must be an absolute URL such as https://id.example.com");
    };
    if scheme != "https" && scheme != "http" {
        return fail("must start with https:// (lower case)");
    }
    let authority = value[scheme.len() + 3..].split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return fail("must not contain user info (user@host)");
    }
    if host.is_empty() {
        return fail("has no host");
    }
    let port = authority.rsplit_once(':').filter(|_| !authority.ends_with(']')).map(|(_, p)| p);
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return fail("has an invalid port");
    }
    if host != host.to_ascii_lowercase() {
        return fail("must have a lower-case host, exactly as the issuer writes it (PocketID lowercases it)");
    }
    if value.contains(['?', '#']) {
        return fail("must not contain a query or fragment");
    }
    if scheme == "http" && !any_http && !is_loopback_host(host) {
        return fail("must use https:// (plain http is allowed only for localhost/127.0.0.1/[::1])");
    }
    Ok(value.to_owned())
}

/// Build the route table: the rules of [`qufabric_default_routes`], with each `ROUTES` rule replacing a default of the same
/// prefix and methods or adding to them; the default action from `DASHBOARD`.
///
/// `ROUTES` is a JSON array of `{"prefix": "/api/users", "methods": ["DELETE"], "action": "authenticate",
/// "allow_groups": ["admins"], "deny_groups": [], "issuers": ["https://id.example.com"]}`. `action` is
/// `authenticate` (default) or `bypass`; `allow_groups`/`deny_groups` (authenticate only) replace the issuer's
/// allow list on that route (the issuer's `DENY_GROUPS` still apply); `methods` defaults to all; `issuers` binds the
/// rule to those issuers' tokens (`"*"`: every trusted issuer, stated explicitly). The longest matching prefix wins.
///
/// `issuers` (the configured issuers, when they parsed): each name in a rule's `issuers` must be one of them, and
/// with more than one, a rule that names groups must say whose groups it means.
fn build_routes(routes: Option<&str>, dashboard: Option<&str>, issuers: Option<&[String]>) -> Result<Routes, Error> {
    let default = match dashboard {
        None | Some("bypass") => RouteAction::Bypass,
        Some("protect") => RouteAction::issuer_default(),
        Some(_) => return Err(config_err("DASHBOARD", "must be \"bypass\" (the default) or \"protect\"")),
    };
    let mut rules = qufabric_default_routes(true).rules().to_vec();
    if let Some(json) = routes {
        for rule in parse_routes(json, issuers)? {
            rules.retain(|r| !(r.prefix == rule.prefix && r.methods == rule.methods));
            rules.push(rule);
        }
    }
    Routes::new(rules, default)
}

/// Parse `ROUTES` (see [`build_routes`]); `issuers`: the configured issuers, to check each rule's `issuers` against.
pub fn parse_routes(json: &str, issuers: Option<&[String]>) -> Result<Vec<RouteRule>, Error> {
    const S: &str = "ROUTES";
    let items = match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(config_err(S, "must be a JSON array of rule objects")),
        Err(e) => return Err(config_err(S, format!("is not valid JSON ({e}); it must be an array of objects"))),
    };
    let mut rules = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |m: String| config_err(S, format!("rule {i}: {m}"));
        let obj = item.as_object().ok_or_else(|| at("must be an object".into()))?;
        check_members(obj, &["prefix", "methods", "action", "allow_groups", "deny_groups", "issuers"]).map_err(at)?;
        let prefix = match obj.get("prefix") {
            Some(Value::String(p)) if p.starts_with('/') => p.clone(),
            _ => return Err(at("\"prefix\" is required and must start with '/'".into())),
        };
        let methods = match obj.get("methods") {
            None => None,
            Some(Value::Array(ms)) if !ms.is_empty() => {
                let mut out = Vec::new();
                for m in ms {
                    match m.as_str() {
                        Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) => {
                            out.push(m.to_ascii_uppercase())
                        }
                        _ => return Err(at("\"methods\" items must be method names such as \"GET\"".into())),
                    }
                }
                Some(out)
            }
            Some(_) => return Err(at("\"methods\" must be a non-empty array of method names".into())),
        };
        let allow = list_member(obj, "allow_groups").map_err(at)?;
        let deny = list_member(obj, "deny_groups").map_err(at)?;
        let bound = route_issuers(obj, issuers).map_err(at)?;
        let action = match obj.get("action").map(|a| a.as_str()) {
            None | Some(Some("authenticate")) => {
                let deny = match deny {
                    Some(d) => parse_deny(S, &d).map_err(|e| at(message(e)))?,
                    None => Vec::new(),
                };
                let groups = match allow {
                    Some(a) => {
                        Some(GroupRule { allow: GroupRule::parse_allow(S, &a).map_err(|e| at(message(e)))?, deny })
                    }
                    None if deny.is_empty() => None,
                    None => return Err(at("\"deny_groups\" needs \"allow_groups\" on the same rule".into())),
                };
                let several = issuers.is_some_and(|names| names.len() > 1);
                if groups.is_some() && several && bound.is_none() {
                    return Err(at(
                        "with several issuers, say whose groups this rule means: add \"issuers\": [\"<issuer URL>\"], \
                         or \"issuers\": \"*\" to let every issuer's groups of these names pass"
                            .into(),
                    ));
                }
                RouteAction::Authenticate(Requirement { groups, issuers: bound.flatten() })
            }
            Some(Some("bypass")) if allow.is_none() && deny.is_none() && bound.is_none() => RouteAction::Bypass,
            Some(Some("bypass")) => {
                return Err(at("a \"bypass\" rule takes no allow_groups, deny_groups or issuers".into()));
            }
            _ => return Err(at("\"action\" must be \"authenticate\" or \"bypass\"".into())),
        };
        rules.push(RouteRule { prefix, methods, action });
    }
    Ok(rules)
}

/// A rule's `issuers`: `None` when absent, `Some(None)` for `"*"` (every issuer, stated), `Some(Some(list))`.
/// Each listed issuer must be configured (exactly as in `ISSUER`/`ISSUERS`).
fn route_issuers(
    obj: &Map<String, Value>,
    configured: Option<&[String]>,
) -> Result<Option<Option<Vec<String>>>, String> {
    let Some(list) = list_member(obj, "issuers")? else {
        return Ok(None);
    };
    if list.trim() == "*" {
        return Ok(Some(None));
    }
    let names = parse_list("ROUTES", &list).map_err(message)?;
    if let Some(configured) = configured {
        for (n, name) in names.iter().enumerate() {
            if !configured.contains(name) {
                return Err(format!(
                    "\"issuers\" item {n} is not a configured issuer; copy it exactly from ISSUER or an ISSUERS entry"
                ));
            }
        }
    }
    Ok(Some(Some(names)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const BASE: [(&str, &str); 3] =
        [("ISSUER", "https://id.example.com"), ("AUDIENCE", "netbird"), ("ALLOW_GROUPS", "netbird-users")];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = BASE.iter().copied().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).collect();
        v.extend(extra.iter().copied());
        v
    }

    fn errors(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        match GateConfig::from_env(env(pairs)) {
            Ok(_) => panic!("expected a configuration error"),
            Err(es) => es
                .into_iter()
                .map(|e| match e {
                    Error::Config { setting, message } => (setting, message),
                    other => panic!("not a config error: {other:?}"),
                })
                .collect(),
        }
    }

    fn only_error(pairs: &[(&str, &str)]) -> (String, String) {
        let es = errors(pairs);
        assert_eq!(es.len(), 1, "{es:?}");
        es.into_iter().next().unwrap()
    }

    #[test]
    fn minimal_single_issuer() {
        let cfg = GateConfig::from_env(env(&BASE)).unwrap();
        let iss = &cfg.verifier.issuers()[0];
        assert_eq!(iss.issuer, "https://id.example.com");
        assert_eq!(iss.audiences, vec!["netbird".to_string()]);
        assert_eq!(iss.groups.allow, Allow::Groups(vec!["netbird-users".into()]));
        assert_eq!(iss.groups_claim, "groups");
        assert_eq!(iss.leeway, 60);
        assert_eq!(cfg.keys, vec![KeySource { issuer: "https://id.example.com".into(), jwks_uri: None }]);
        assert_eq!(cfg.keys[0].discovery_url(), "https://id.example.com/.well-known/openid-configuration");
        assert_eq!(cfg.upstream, None);
        assert_eq!(cfg.pat, PatMode::Deny);
        assert_eq!(cfg.realm, "pocketgate");
        assert_eq!(cfg.log, LogMode::Deny);
        assert_eq!(cfg.log_limit, DEFAULT_LOG_LIMIT);
    }

    #[test]
    fn every_optional_variable() {
        let cfg = GateConfig::from_env(env(&with(&[
            ("AUDIENCE", "netbird, netbird-cli"),
            ("DENY_GROUPS", "contractors"),
            ("GROUPS_CLAIM", "realm_access.roles"),
            ("LEEWAY_SECONDS", "30"),
            ("JWKS_URI", "https://id.example.com/.well-known/jwks.json"),
            ("UPSTREAM", "https://mgmt.internal:8443/"),
            ("PERSONAL_ACCESS_TOKENS", "pass"),
            ("REALM", "qufabric"),
            ("DASHBOARD", "protect"),
        ])))
        .unwrap();
        let iss = &cfg.verifier.issuers()[0];
        assert_eq!(iss.audiences, vec!["netbird".to_string(), "netbird-cli".to_string()]);
        assert_eq!(iss.groups.deny, vec!["contractors".to_string()]);
        assert_eq!(iss.groups_claim, "realm_access.roles");
        assert_eq!(iss.leeway, 30);
        assert_eq!(cfg.keys[0].jwks_uri.as_deref(), Some("https://id.example.com/.well-known/jwks.json"));
        assert_eq!(cfg.upstream.as_deref(), Some("https://mgmt.internal:8443"));
        assert_eq!(cfg.pat, PatMode::Pass);
        assert_eq!(cfg.realm, "qufabric");
        assert_eq!(cfg.routes.action("GET", "/peers"), Ok(&RouteAction::issuer_default()));
    }

    #[test]
    fn allow_groups_unset_is_an_error_never_allow_all() {
        let (setting, message) = only_error(&[("ISSUER", "https://id.example.com"), ("AUDIENCE", "netbird")]);
        assert_eq!(setting, "ALLOW_GROUPS");
        assert!(message.contains("never"), "{message}");
        let (setting, _) = only_error(&with(&[("ALLOW_GROUPS", "  ")]));
        assert_eq!(setting, "ALLOW_GROUPS");
        let cfg = GateConfig::from_env(env(&with(&[("ALLOW_GROUPS", "*")]))).unwrap();
        assert_eq!(cfg.verifier.issuers()[0].groups.allow, Allow::AnyUser);
    }

    #[test]
    fn nothing_set_names_every_required_variable() {
        let settings: Vec<String> = errors(&[]).into_iter().map(|(s, _)| s).collect();
        assert_eq!(settings, vec!["ISSUER", "AUDIENCE", "ALLOW_GROUPS"]);
    }

    #[test]
    fn issuer_mistakes_name_the_fix() {
        let (s, m) = only_error(&with(&[("ISSUER", "https://id.example.com/")]));
        assert_eq!(s, "ISSUER");
        assert!(m.contains("must not end with '/'") && !m.contains("id.example.com"), "{m}");
        for bad in [
            "http://id.example.com",
            "id.example.com",
            "https://ID.example.com",
            "https://id.example.com?x=1",
            "https://user@id.example.com",
            "https://id.example.com:99999",
            "ftp://id.example.com",
            "https://",
        ] {
            let (s, _) = only_error(&with(&[("ISSUER", bad)]));
            assert_eq!(s, "ISSUER", "{bad}");
        }
        for good in ["http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:1", "https://x.test/oauth2"] {
            assert!(GateConfig::from_env(env(&with(&[("ISSUER", good)]))).is_ok(), "{good}");
        }
    }

    #[test]
    fn log_variable() {
        for (value, mode) in
            [("all", LogMode::All), (" all ", LogMode::All), ("deny", LogMode::Deny), ("", LogMode::Deny)]
        {
            assert_eq!(GateConfig::from_env(env(&with(&[("LOG", value)]))).unwrap().log, mode, "LOG={value:?}");
        }
        assert_eq!(GateConfig::from_env(env(&with(&[]))).unwrap().log, LogMode::Deny, "LOG unset");
    }

    #[test]
    fn log_limit_variable() {
        assert_eq!(GateConfig::from_env(env(&with(&[]))).unwrap().log_limit, DEFAULT_LOG_LIMIT);
        for (value, n) in [("0", 0), ("1", 1), (" 250 ", 250), ("100000", 100_000)] {
            assert_eq!(GateConfig::from_env(env(&with(&[("LOG_LIMIT", value)]))).unwrap().log_limit, n, "{value:?}");
        }
        for bad in ["-1", "100001", "ten", "1.5"] {
            let (s, m) = only_error(&with(&[("LOG_LIMIT", bad)]));
            assert_eq!(s, "LOG_LIMIT", "{bad:?}");
            assert!(m.contains("0 (no limit)"), "{m}");
        }
        let (s, m) = only_error(&with(&[("LOG", "errors")]));
        assert_eq!(s, "LOG");
        assert!(m.contains("\"all\"") && m.contains("\"deny\""), "{m}");
    }

    #[test]
    fn numeric_and_enum_variables() {
        for (name, bad) in [
            ("LEEWAY_SECONDS", "-1"),
            ("LEEWAY_SECONDS", "601"),
            ("LEEWAY_SECONDS", "1m"),
            ("GROUPS_CLAIM", "my groups"),
            ("PERSONAL_ACCESS_TOKENS", "allow"),
            ("DASHBOARD", "open"),
            ("REALM", "a\"b"),
            ("LOG", "none"),
            ("LOG", "ALL"),
            ("AUDIENCE", "netbird,,cli"),
            ("AUDIENCE", "netbird,netbird"),
            ("JWKS_URI", "http://keys.example.com/jwks"),
            ("UPSTREAM", "https://mgmt.internal/base"),
            ("UPSTREAM", "mgmt.internal"),
            ("DENY_GROUPS", "*"),
        ] {
            let (s, _) = only_error(&with(&[(name, bad)]));
            assert_eq!(s, name, "{name}={bad}");
        }
        assert!(GateConfig::from_env(env(&with(&[("UPSTREAM", "http://10.0.0.5:8080")]))).is_ok());
    }

    #[test]
    fn several_mistakes_are_all_reported() {
        let settings: Vec<String> =
            errors(&with(&[("ISSUER", "https://x/"), ("LEEWAY_SECONDS", "x"), ("UPSTREAM", "y")]))
                .into_iter()
                .map(|(s, _)| s)
                .collect();
        assert_eq!(settings, vec!["LEEWAY_SECONDS", "ISSUER", "UPSTREAM"]);
    }

    const TWO: &str = r#"[
        {"issuer":"https://vpn.example.com/oauth2","audiences":["netbird-dashboard","netbird-cli"],
         "allow_groups":["netbird-users"]},
        {"issuer":"https://id.example.com","audiences":"netbird","allow_groups":"*","deny_groups":["contractors"],
         "groups_claim":"roles","leeway_seconds":5,"jwks_uri":"https://id.example.com/.well-known/jwks.json"}
    ]"#;

    #[test]
    fn several_issuers_from_json() {
        let cfg = GateConfig::from_env(env(&[("ISSUERS", TWO), ("LEEWAY_SECONDS", "10")])).unwrap();
        let [a, b] = cfg.verifier.issuers() else { panic!("two issuers") };
        assert_eq!(a.issuer, "https://vpn.example.com/oauth2");
        assert_eq!(a.audiences.len(), 2);
        assert_eq!(a.leeway, 10, "inherits LEEWAY_SECONDS");
        assert_eq!(b.groups.allow, Allow::AnyUser);
        assert_eq!(b.groups.deny, vec!["contractors".to_string()]);
        assert_eq!(b.groups_claim, "roles");
        assert_eq!(b.leeway, 5);
        assert_eq!(cfg.keys[0].jwks_uri, None);
        assert_eq!(cfg.keys[1].jwks_uri.as_deref(), Some("https://id.example.com/.well-known/jwks.json"));
    }

    #[test]
    fn issuers_json_mistakes() {
        for (bad, needle) in [
            ("{", "not valid JSON"),
            ("[]", "non-empty"),
            (r#"[{"issuer":"https://a.test","audiences":"x"}]"#, "allow_groups"),
            (r#"[{"issuer":"https://a.test/","audiences":"x","allow_groups":"g"}]"#, "must not end with '/'"),
            (r#"[{"issuer":"https://a.test","audiences":"x","allow_groups":"g","alow":1}]"#, "unknown member"),
            (r#"[{"issuer":"https://a.test","audiences":[1],"allow_groups":"g"}]"#, "audiences"),
            (
                r#"[{"issuer":"https://a.test","audiences":"x","allow_groups":"g"},
                   {"issuer":"https://a.test","audiences":"y","allow_groups":"g"}]"#,
                "twice",
            ),
        ] {
            let (s, m) = only_error(&[("ISSUERS", bad)]);
            assert!(s == "ISSUERS" || s == "ISSUER", "{bad}: {s}");
            assert!(m.contains(needle), "{bad}: {m}");
        }
        let (s, m) = only_error(&with(&[("ISSUERS", TWO)]));
        assert_eq!(s, "ISSUERS");
        assert!(m.contains("ISSUER/AUDIENCE/ALLOW_GROUPS"), "{m}");
    }

    #[test]
    fn qufabric_default_routes() {
        let cfg = GateConfig::from_env(env(&BASE)).unwrap();
        let r = &cfg.routes;
        assert_eq!(r.action("GET", "/api/peers"), Ok(&RouteAction::issuer_default()));
        for p in [
            "/management.ManagementService/Login",
            "/management.ProxyService/GetMappingUpdate",
            "/signalexchange.SignalExchange/ConnectStream",
            "/relay",
            "/ws-proxy/x",
        ] {
            assert_eq!(r.action("POST", p), Ok(&RouteAction::Bypass), "{p}");
        }
        assert_eq!(r.action("GET", "/oauth2/keys"), Ok(&RouteAction::Bypass));
        assert_eq!(r.action("GET", "/peers"), Ok(&RouteAction::Bypass), "dashboard bypasses by default");
    }

    #[test]
    fn routes_json_overrides_and_adds() {
        let routes = r#"[{"prefix":"/api/users","methods":["delete"],"allow_groups":["admins"]},
                         {"prefix":"/oauth2/","action":"authenticate"},
                         {"prefix":"/public","action":"bypass"}]"#;
        let cfg = GateConfig::from_env(env(&with(&[("ROUTES", routes)]))).unwrap();
        let admins = GroupRule { allow: Allow::Groups(vec!["admins".into()]), deny: vec![] };
        assert_eq!(cfg.routes.action("DELETE", "/api/users/1"), Ok(&RouteAction::groups(admins)));
        assert_eq!(cfg.routes.action("GET", "/api/users/1"), Ok(&RouteAction::issuer_default()));
        assert_eq!(cfg.routes.action("GET", "/oauth2/keys"), Ok(&RouteAction::issuer_default()), "replaced default");
        assert_eq!(cfg.routes.action("GET", "/public/x"), Ok(&RouteAction::Bypass));
    }

    /// The docs' own example `ROUTES` (docs/CONFIG.md), as the outside attack used it: `/api%2Fpeers` is refused
    /// instead of being matched to the `admins` rule.
    #[test]
    fn docs_example_routes_refuse_ambiguous_paths() {
        let routes = r#"[
  {"prefix": "/api/users", "methods": ["DELETE", "PUT"], "allow_groups": ["admins"]},
  {"prefix": "/api/setup-keys", "allow_groups": "*", "deny_groups": ["contractors"]},
  {"prefix": "/healthz", "action": "bypass"}
]"#;
        let cfg = GateConfig::from_env(env(&with(&[("ROUTES", routes)]))).unwrap();
        for path in ["/api%2Fpeers", "/api/accounts%2F1", "/api/users%2Fx", "/API/peers"] {
            for method in ["GET", "DELETE"] {
                assert_eq!(cfg.routes.action(method, path), Err(Error::PathAmbiguous), "{method} {path}");
            }
        }
        assert_eq!(cfg.routes.action("GET", "/api/peers"), Ok(&RouteAction::issuer_default()));
    }

    #[test]
    fn routes_are_bound_to_issuers() {
        // One issuer: `issuers` may be omitted, or must name it.
        let one = r#"[{"prefix":"/api/users","allow_groups":"admins","issuers":["https://id.example.com"]}]"#;
        let cfg = GateConfig::from_env(env(&with(&[("ROUTES", one)]))).unwrap();
        let bound = RouteAction::Authenticate(Requirement {
            groups: Some(GroupRule { allow: Allow::Groups(vec!["admins".into()]), deny: vec![] }),
            issuers: Some(vec!["https://id.example.com".into()]),
        });
        assert_eq!(cfg.routes.action("GET", "/api/users"), Ok(&bound));
        // Several issuers: a rule naming groups must say whose; `*` states "every issuer".
        let unbound = r#"[{"prefix":"/api/users","allow_groups":"admins"}]"#;
        let (s, m) = only_error(&[("ISSUERS", TWO), ("ROUTES", unbound)]);
        assert_eq!(s, "ROUTES");
        assert!(m.contains("issuers"), "{m}");
        let star = r#"[{"prefix":"/api/users","allow_groups":"admins","issuers":"*"}]"#;
        let cfg = GateConfig::from_env(env(&[("ISSUERS", TWO), ("ROUTES", star)])).unwrap();
        assert_eq!(
            cfg.routes.action("GET", "/api/users"),
            Ok(&RouteAction::groups(GroupRule { allow: Allow::Groups(vec!["admins".into()]), deny: vec![] }))
        );
        let named = r#"[{"prefix":"/api/users","allow_groups":"admins","issuers":["https://id.example.com"]},
                        {"prefix":"/api/peers","issuers":"https://vpn.example.com/oauth2"}]"#;
        let cfg = GateConfig::from_env(env(&[("ISSUERS", TWO), ("ROUTES", named)])).unwrap();
        let peers = RouteAction::Authenticate(Requirement {
            groups: None,
            issuers: Some(vec!["https://vpn.example.com/oauth2".into()]),
        });
        assert_eq!(cfg.routes.action("GET", "/api/peers/1"), Ok(&peers));
        // An issuer that is not configured, and a bypass with issuers, are mistakes.
        for bad in [
            r#"[{"prefix":"/a","allow_groups":"x","issuers":["https://other.example.com"]}]"#,
            r#"[{"prefix":"/a","action":"bypass","issuers":"*"}]"#,
            r#"[{"prefix":"/a","issuers":[]}]"#,
        ] {
            let (s, m) = only_error(&[("ISSUERS", TWO), ("ROUTES", bad)]);
            assert_eq!(s, "ROUTES", "{bad}");
            assert!(!m.contains("other.example.com"), "never echoed: {m}");
        }
    }

    #[test]
    fn max_token_age_setting() {
        let cfg = GateConfig::from_env(env(&BASE)).unwrap();
        assert_eq!(cfg.verifier.issuers()[0].max_token_age, 86_400);
        let cfg = GateConfig::from_env(env(&with(&[("MAX_TOKEN_AGE", "3600")]))).unwrap();
        assert_eq!(cfg.verifier.issuers()[0].max_token_age, 3600);
        for bad in ["0", "59", "2592001", "1h", "-5"] {
            assert_eq!(only_error(&with(&[("MAX_TOKEN_AGE", bad)])).0, "MAX_TOKEN_AGE", "{bad}");
        }
        let issuers = r#"[{"issuer":"https://a.example.com","audiences":"x","allow_groups":"*","max_token_age":7200},
                          {"issuer":"https://b.example.com","audiences":"x","allow_groups":"*"}]"#;
        let cfg = GateConfig::from_env(env(&[("ISSUERS", issuers), ("MAX_TOKEN_AGE", "600")])).unwrap();
        let ages: Vec<u64> = cfg.verifier.issuers().iter().map(|i| i.max_token_age).collect();
        assert_eq!(ages, [7200, 600]);
    }

    #[test]
    fn local_users_setting() {
        let cfg = GateConfig::from_env(env(&BASE)).unwrap();
        assert_eq!(cfg.verifier.issuers()[0].local_users, LocalUsers::Groups, "safe default");
        let cfg = GateConfig::from_env(env(&with(&[("LOCAL_USERS", "allow")]))).unwrap();
        assert_eq!(cfg.verifier.issuers()[0].local_users, LocalUsers::Allow);
        assert_eq!(only_error(&with(&[("LOCAL_USERS", "yes")])).0, "LOCAL_USERS");
        let issuers = r#"[{"issuer":"https://vpn.example.com/oauth2","audiences":"netbird-dashboard","allow_groups":"netbird-users","local_users":"allow"},
                          {"issuer":"https://id.example.com","audiences":"netbird","allow_groups":"netbird-users"}]"#;
        let cfg = GateConfig::from_env(env(&[("ISSUERS", issuers)])).unwrap();
        let modes: Vec<LocalUsers> = cfg.verifier.issuers().iter().map(|i| i.local_users).collect();
        assert_eq!(modes, [LocalUsers::Allow, LocalUsers::Groups]);
    }

    #[test]
    fn forwarded_headers_and_keys_stale_settings() {
        let cfg = GateConfig::from_env(env(&BASE)).unwrap();
        assert_eq!((cfg.forwarded, cfg.keys_stale), (ForwardedHeaders::Auto, 21_600));
        for (v, want) in [
            ("auto", ForwardedHeaders::Auto),
            ("nginx", ForwardedHeaders::Original),
            ("caddy", ForwardedHeaders::Forwarded),
            ("traefik", ForwardedHeaders::Forwarded),
        ] {
            assert_eq!(GateConfig::from_env(env(&with(&[("FORWARDED_HEADERS", v)]))).unwrap().forwarded, want);
        }
        assert_eq!(only_error(&with(&[("FORWARDED_HEADERS", "x-forwarded")])).0, "FORWARDED_HEADERS");
        let cfg = GateConfig::from_env(env(&with(&[("KEYS_STALE_SECONDS", "0")]))).unwrap();
        assert_eq!(cfg.keys_stale, 0);
        assert_eq!(only_error(&with(&[("KEYS_STALE_SECONDS", "604801")])).0, "KEYS_STALE_SECONDS");
    }

    /// Finding 4: `/_gate/healthz` is public and listed each invalid setting's value (`(got "…")`): credentials
    /// in `UPSTREAM`, a secret in a `JWKS_URI` query. No message may contain any part of a rejected value.
    #[test]
    fn errors_never_echo_a_value() {
        let secret = "s3cr3t-Value";
        let cases: Vec<(&str, String)> = vec![
            ("UPSTREAM", format!("https://user:{secret}@mgmt.internal")),
            ("UPSTREAM", format!("https://mgmt.internal/{secret}")),
            ("UPSTREAM", format!("ftp://{secret}.internal")),
            ("JWKS_URI", format!("https://id.example.com/jwks?key={secret}")),
            ("JWKS_URI", format!("http://{secret}.example.com/jwks")),
            ("JWKS_URI", format!("https://{secret}.example.com/jwks")),
            ("JWKS_URI", format!("https://id.example.com/{secret} x")),
            ("ISSUER", format!("https://id.example.com/{secret}/")),
            ("AUDIENCE", format!("{secret},{secret}")),
            ("ALLOW_GROUPS", format!("{secret},{secret}")),
            (
                "ISSUERS",
                format!(
                    r#"[{{"issuer":"https://x.example.com","audiences":"a","allow_groups":"*","jwks_uri":"https://x.example.com/j?k={secret}"}}]"#
                ),
            ),
            ("ROUTES", format!(r#"[{{"prefix":"/a","allow_groups":"x","issuers":["https://{secret}.example.com"]}}]"#)),
        ];
        for (name, value) in &cases {
            let pairs = with(&[]);
            let get = |k: &str| {
                if k == *name {
                    return Some(value.clone());
                }
                pairs
                    .iter()
                    .find(|(n, _)| *n == k && !(*name == "ISSUERS" && SINGLE_ISSUER_VARS.contains(n)))
                    .map(|(_, v)| (*v).to_owned())
            };
            let errors = GateConfig::from_env(get).expect_err(name);
            for e in errors {
                let text = e.to_string();
                assert!(!text.to_lowercase().contains(&secret.to_lowercase()), "{name} echoed its value: {text}");
            }
        }
    }

    #[test]
    fn fetchable_key_urls() {
        for ok in ["https://id.example.com/.well-known/jwks.json", "http://127.0.0.1:9/jwks", "http://localhost/j"] {
            assert!(is_fetchable_key_url(ok), "{ok}");
        }
        for bad in [
            "http://id.example.com/jwks",
            "http://127.0.0.1:1@id.example.com/jwks",
            "http://localhost@0.0.0.0:8080/jwks",
            "https://user@id.example.com/jwks",
            "http://0.0.0.0/jwks",
            "https:///jwks",
            "/.well-known/jwks.json",
            "file:///etc/passwd",
            "HTTP://127.0.0.1/jwks",
        ] {
            assert!(!is_fetchable_key_url(bad), "{bad}");
        }
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("127.0.0.1") && is_loopback_host("localhost") && is_loopback_host("[::1]"));
        assert!(!is_loopback_host("127.0.0.1.evil.test") && !is_loopback_host("localhost.test"));
    }
}
