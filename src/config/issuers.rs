//! The issuers: `ISSUER`, `AUDIENCE`, `ALLOW_GROUPS`, `DENY_GROUPS`, `JWKS_URI` for one, or the `ISSUERS` JSON array.

use serde_json::Value;

use super::KeySource;
use super::values::{
    check_members, config_err, json_syntax, keep, list_member, message, parse_deny, parse_groups_claim, parse_issuer,
    parse_leeway, parse_list, parse_local_users, parse_max_age, parse_url,
};
use crate::error::Error;
use crate::policy::{GroupRule, LocalUsers};
use crate::verify::IssuerConfig;

/// The variables that configure one issuer when `ISSUERS` is not used.
pub(super) const SINGLE_ISSUER_VARS: [&str; 5] = ["ISSUER", "AUDIENCE", "ALLOW_GROUPS", "DENY_GROUPS", "JWKS_URI"];

/// Most entries in `ISSUERS`: 16. Each issuer keeps its own key set (at most ~0.5 MiB whatever its JWKS, see
/// `KeyCache`), so the cap bounds what the key sets can hold in an isolate to ~8 MiB for any configuration.
pub(super) const MAX_ISSUERS: usize = 16;
const _: () = assert!(MAX_ISSUERS == 16, "update the ISSUERS message");

/// Process-wide defaults that `ISSUERS` entries inherit.
#[derive(Clone, Debug)]
pub(super) struct Defaults {
    pub(super) groups_claim: String,
    pub(super) leeway: u64,
    pub(super) max_token_age: u64,
    pub(super) local_users: LocalUsers,
}

pub(super) type Issuers = (Vec<IssuerConfig>, Vec<KeySource>);

pub(super) fn single_issuer(var: &impl Fn(&str) -> Option<String>, d: &Defaults) -> Result<Issuers, Vec<Error>> {
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
pub(super) fn parse_issuers(json: &str, d: &Defaults) -> Result<Issuers, Error> {
    const S: &str = "ISSUERS";
    let items = match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_ISSUERS => items,
        Ok(_) => return Err(config_err(S, "must be a JSON array of 1 to 16 issuer objects")),
        Err(e) => {
            return Err(config_err(
                S,
                format!("is not valid JSON ({}); it must be an array of objects", json_syntax(&e)),
            ));
        }
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
