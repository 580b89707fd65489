//! `ROUTES`, `DASHBOARD` and `PUBLIC_API`: the route table over QuFabric's defaults.

use serde_json::{Map, Value};

use super::PublicApi;
use super::values::{check_members, config_err, json_syntax, list_member, message, parse_deny, parse_list};
use crate::error::Error;
use crate::policy::{
    GroupRule, NETBIRD_PUBLIC_API, Requirement, RouteAction, RouteRule, Routes, qufabric_default_routes,
};

/// Build the route table: the rules of [`qufabric_default_routes`], with each `ROUTES` rule replacing a default of the same
/// prefix and methods or adding to them; the default action from `DASHBOARD`; NetBird's public API paths
/// ([`NETBIRD_PUBLIC_API`]) open when `public_api` is [`PublicApi::Bypass`] (a `ROUTES` rule at least as specific
/// as one of them wins over it: [`Routes::action_for`]).
///
/// `ROUTES` is a JSON array of `{"prefix": "/api/users", "methods": ["DELETE"], "action": "authenticate",
/// "allow_groups": ["admins"], "deny_groups": [], "issuers": ["https://id.example.com"]}`. `action` is
/// `authenticate` (default) or `bypass`; `allow_groups`/`deny_groups` (authenticate only) replace the issuer's
/// allow list on that route (the issuer's `DENY_GROUPS` still apply); `methods` defaults to all; `issuers` binds the
/// rule to those issuers' tokens (`"*"`: every trusted issuer, stated explicitly). The longest matching prefix wins.
///
/// `issuers` (the configured issuers, when they parsed): each name in a rule's `issuers` must be one of them, and
/// with more than one, a rule that names groups must say whose groups it means.
pub(super) fn build_routes(
    routes: Option<&str>,
    dashboard: Option<&str>,
    public_api: PublicApi,
    issuers: Option<&[String]>,
) -> Result<Routes, Error> {
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
    let table = Routes::new(rules, default)?;
    Ok(match public_api {
        PublicApi::Bypass => table.with_public(&NETBIRD_PUBLIC_API),
        PublicApi::Gate => table,
    })
}

/// Parse `ROUTES` (see [`build_routes`]); `issuers`: the configured issuers, to check each rule's `issuers` against.
pub fn parse_routes(json: &str, issuers: Option<&[String]>) -> Result<Vec<RouteRule>, Error> {
    const S: &str = "ROUTES";
    let items = match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(config_err(S, "must be a JSON array of rule objects")),
        Err(e) => {
            return Err(config_err(
                S,
                format!("is not valid JSON ({}); it must be an array of objects", json_syntax(&e)),
            ));
        }
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
