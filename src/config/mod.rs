//! The gate's configuration: environment variables (Worker `[vars]` and secrets) in, typed values out.
//!
//! Parsed once per isolate by [`GateConfig::from_env`]. Every mistake becomes an [`Error::Config`] naming the
//! variable and saying how to fix it; all mistakes are reported at once, and the gate then fails closed.
//!
//! The variable table is below; `ISSUERS` is read in [`issuers`](self) (`issuers.rs`), `ROUTES` in `routes.rs`, and
//! the values shared by both in `values.rs`.
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
//! | `ISSUERS` | JSON array of 1 to 16 issuers, instead of `ISSUER`…`JWKS_URI` (see [`parse_issuers`]) | unset |
//! | `ROUTES` | JSON array of route rules, merged over the QuFabric defaults (see [`parse_routes`]) | unset |
//! | `DASHBOARD` | `bypass` or `protect`: paths no rule matches (QuFabric's dashboard pages) | `bypass` |
//! | `PUBLIC_API` | `bypass` or `gate`: NetBird's public API paths ([`NETBIRD_PUBLIC_API`]) open without a token for their handlers' methods, or gated like the rest of `/api` | `bypass` |
//! | `PERSONAL_ACCESS_TOKENS` | `deny` or `pass`: `Authorization: Token …` on authenticated routes | `deny` |
//! | `UPSTREAM` | origin to proxy to (`https://host[:port]`); unset = forward-auth only | unset |
//! | `REALM` | the `realm` of `WWW-Authenticate` | `pocketgate` |
//! | `LOG` | `deny`: only refusals, errors and key fetches; `all`: one line per request | `deny` |
//! | `LOG_LIMIT` | request lines per second per isolate, 0–100000 (0 = no limit); the rest are counted | 100 |
//! | `FORWARDED_HEADERS` | forward-auth: which header family carries the original request: `auto`, `nginx` (`X-Original-Method`/`-URI`), `caddy` or `traefik` (`X-Forwarded-Method`/`-Uri`) | `auto` |
//! | `MAX_TOKEN_AGE` | longest accepted token lifetime in seconds (`exp − iat` and `exp − now`), 60–2592000 | 86400 |
//! | `LOCAL_USERS` | QuFabric's embedded IdP: `allow` lets its local (password) users, who carry no groups, pass the issuer's group rule as QuFabric does; `groups` requires groups of them too | `groups` |
//! | `KEYS_STALE_SECONDS` | how long past their TTL the last good keys serve while the issuer is down (the Traefik plugin's `keysStaleSeconds`: while its `jwksFile` cannot be read or is not a key set, from the last good read), 0–604800 | 21600 |

use crate::error::Error;

use crate::policy::Routes;
pub use crate::policy::{NETBIRD_PUBLIC_API, PublicRoute};
use crate::token::Limits;
use crate::verify::{DEFAULT_GROUPS_CLAIM, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_AGE, Verifier};

mod issuers;
mod routes;
#[cfg(test)]
mod tests;
mod values;
pub(crate) use values::json_syntax;

use issuers::{Defaults, SINGLE_ISSUER_VARS, parse_issuers, single_issuer};
use routes::build_routes;
pub use routes::parse_routes;
use values::{config_err, keep, parse_groups_claim, parse_leeway, parse_local_users, parse_max_age, parse_upstream};

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

/// What the gate does with NetBird's public API paths ([`NETBIRD_PUBLIC_API`]: first-run setup, invite lookup and
/// acceptance, the NetBird Proxy's login callback), which NetBird's management server itself serves without a token
/// (`PUBLIC_API`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PublicApi {
    /// Open without a token, exactly those paths with their handlers' methods, nothing more (default): behind the
    /// gate, first-run setup, invites and the NetBird Proxy keep working as NetBird designed them.
    #[default]
    Bypass,
    /// They need a token like the rest of `/api` (the `/api` rule, or the `ROUTES` rule that matches them).
    Gate,
}

impl PublicApi {
    /// The variable's name (the plugin's option is `publicApi`).
    pub const VARIABLE: &'static str = "PUBLIC_API";
    /// Every value, the default first.
    pub const ALL: [PublicApi; 2] = [PublicApi::Bypass, PublicApi::Gate];

    /// The value as written in the variable.
    pub fn as_str(self) -> &'static str {
        match self {
            PublicApi::Bypass => "bypass",
            PublicApi::Gate => "gate",
        }
    }

    /// The value written `value` (exact, lower-case), if it is one.
    pub fn parse(value: &str) -> Option<PublicApi> {
        PublicApi::ALL.into_iter().find(|p| p.as_str() == value)
    }
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
    /// Route rules (QuFabric defaults merged with `ROUTES`, and the public API paths per `PUBLIC_API`).
    pub routes: Routes,
    /// `PUBLIC_API`. Default [`PublicApi::Bypass`].
    pub public_api: PublicApi,
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
        let public_api = keep(
            e,
            match var(PublicApi::VARIABLE) {
                None => Ok(PublicApi::default()),
                Some(v) => PublicApi::parse(&v).ok_or_else(|| {
                    config_err(
                        PublicApi::VARIABLE,
                        "must be \"bypass\" (the default: NetBird's public API paths — first-run setup, invites, \
                         the NetBird Proxy callback — pass without a token, for their own methods only) or \"gate\" \
                         (they need a token like the rest of /api)",
                    )
                }),
            },
        );
        let routes = keep(
            e,
            build_routes(
                var("ROUTES").as_deref(),
                var("DASHBOARD").as_deref(),
                public_api.unwrap_or_default(),
                names.as_deref(),
            ),
        );
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
        match (verifier, keys, routes, public_api, upstream, pat, realm, log, log_limit, forwarded, keys_stale) {
            (
                Some(verifier),
                Some(keys),
                Some(routes),
                Some(public_api),
                Some(upstream),
                Some(pat),
                Some(realm),
                Some(log),
                Some(log_limit),
                Some(forwarded),
                Some(keys_stale),
            ) if errors.is_empty() => Ok(GateConfig {
                verifier,
                keys,
                routes,
                public_api,
                upstream,
                pat,
                realm,
                log,
                log_limit,
                forwarded,
                keys_stale,
            }),
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
