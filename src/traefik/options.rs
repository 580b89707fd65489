//! The middleware's options → the gate's variables, so the plugin's settings mean exactly what the Worker's do
//! ([`GateConfig::from_env`] reads both).
//!
//! Traefik hands the options over as JSON (`pkg/plugins/middlewarewasm.go` marshals the middleware's
//! `map[string]any`): names keep the case the user wrote (Docker labels too), scalars mostly arrive as strings
//! (`"30"`, `"true"`), YAML lists as arrays, an empty list as `""`, and labels give comma-separated strings. So:
//! names match case-insensitively, ignoring `_` and `-` (`allowGroups`, `allowgroups`, `allow_groups`); a list is
//! an array or one comma-separated string; a number is a number or its digits as a string.
//!
//! Keys never come over the network: `jwks` (the key set's JSON, inline) or `jwksFile` (a file in a directory the
//! static configuration mounts), at the top level for `issuer`, inside each entry for `issuers`. Every mistake is
//! an [`Error::Config`] naming the option and the fix, never its value.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::{GateConfig, json_syntax};
use crate::error::Error;
use crate::jwk::KeySet;

/// Where one issuer's key set comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `jwks`: the key set's JSON text.
    Inline(String),
    /// `jwksFile`: a path inside a `settings.mounts` directory.
    File(String),
}

/// How an option's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// One value: a string, or a number or boolean written as one.
    Scalar,
    /// A list: an array of values or one comma-separated string.
    List,
    /// `routes`: a JSON array as text, or a structured list of rule objects.
    Routes,
    /// `issuers`: a JSON array as text, or a structured list of issuer objects, each with its keys.
    Issuers,
}

/// Each option: its name, the variable it sets, how it is read.
const OPTIONS: [(&str, &str, Kind); 15] = [
    ("issuer", "ISSUER", Kind::Scalar),
    ("audience", "AUDIENCE", Kind::List),
    ("allowGroups", "ALLOW_GROUPS", Kind::List),
    ("denyGroups", "DENY_GROUPS", Kind::List),
    ("groupsClaim", "GROUPS_CLAIM", Kind::Scalar),
    ("leewaySeconds", "LEEWAY_SECONDS", Kind::Scalar),
    // The stale window of a jwksFile that cannot be read or is not a key set (src/traefik/keys.rs).
    ("keysStaleSeconds", "KEYS_STALE_SECONDS", Kind::Scalar),
    ("maxTokenAge", "MAX_TOKEN_AGE", Kind::Scalar),
    ("localUsers", "LOCAL_USERS", Kind::Scalar),
    ("personalAccessTokens", "PERSONAL_ACCESS_TOKENS", Kind::Scalar),
    ("dashboard", "DASHBOARD", Kind::Scalar),
    ("publicApi", "PUBLIC_API", Kind::Scalar),
    ("realm", "REALM", Kind::Scalar),
    ("routes", "ROUTES", Kind::Routes),
    ("issuers", "ISSUERS", Kind::Issuers),
];

/// The key options, top level or per `issuers` entry.
const JWKS: &str = "jwks";
const JWKS_FILE: &str = "jwksFile";

/// `routes` entries: option name → `ROUTES` member.
const ROUTE_MEMBERS: [(&str, &str); 6] = [
    ("prefix", "prefix"),
    ("methods", "methods"),
    ("action", "action"),
    ("allowGroups", "allow_groups"),
    ("denyGroups", "deny_groups"),
    ("issuers", "issuers"),
];

/// `issuers` entries: option name → `ISSUERS` member (the keys are read apart).
const ISSUER_MEMBERS: [(&str, &str); 9] = [
    ("issuer", "issuer"),
    ("audience", "audiences"),
    ("audiences", "audiences"),
    ("allowGroups", "allow_groups"),
    ("denyGroups", "deny_groups"),
    ("groupsClaim", "groups_claim"),
    ("leewaySeconds", "leeway_seconds"),
    ("maxTokenAge", "max_token_age"),
    ("localUsers", "local_users"),
];

/// `ISSUERS` members that are numbers.
const NUMBER_MEMBERS: [&str; 2] = ["leeway_seconds", "max_token_age"];

/// The options, translated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The gate's variables by name, as [`GateConfig::from_env`] reads them.
    pub vars: BTreeMap<&'static str, String>,
    /// Per issuer, in the order of `issuers` (or the one `issuer`): its keys.
    pub keys: Vec<KeySource>,
}

/// The whole configuration from Traefik's option bytes: the gate's settings and each issuer's key source, or
/// every mistake (options named as the user writes them).
pub fn load(json: &[u8]) -> Result<(GateConfig, Vec<KeySource>), Vec<Error>> {
    let (options, mut errors) = translate(json);
    match GateConfig::from_env(|name| options.vars.get(name).cloned()) {
        Ok(cfg) if errors.is_empty() && cfg.keys.len() == options.keys.len() => Ok((cfg, options.keys)),
        Ok(_) if errors.is_empty() => Err(vec![err(JWKS, "give every issuer its own jwks or jwksFile")]),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more.into_iter().map(rename));
            Err(errors)
        }
    }
}

/// The option that sets variable `var` (`ALLOW_GROUPS` → `allowGroups`), or `var` itself.
pub fn option_name(var: &str) -> &str {
    OPTIONS.iter().find(|(_, v, _)| *v == var).map_or(var, |(name, ..)| name)
}

/// A configuration error about a variable, renamed to its option: `allowGroups (ALLOW_GROUPS)`.
fn rename(e: Error) -> Error {
    match e {
        Error::Config { setting, message } if option_name(&setting) != setting => {
            Error::Config { setting: format!("{} ({setting})", option_name(&setting)), message }
        }
        other => other,
    }
}

fn err(setting: &str, message: impl Into<String>) -> Error {
    Error::Config { setting: setting.to_owned(), message: message.into() }
}

/// How names compare: case-insensitive, `_` and `-` ignored.
fn fold(name: &str) -> String {
    name.chars().filter(|c| *c != '_' && *c != '-').map(|c| c.to_ascii_lowercase()).collect()
}

/// Translate the options (see the module documentation). Every mistake is reported.
pub fn parse(json: &[u8]) -> Result<Options, Vec<Error>> {
    let (options, errors) = translate(json);
    if errors.is_empty() { Ok(options) } else { Err(errors) }
}

/// The options as far as they translate, and every mistake.
fn translate(json: &[u8]) -> (Options, Vec<Error>) {
    let object = match serde_json::from_slice::<Value>(json) {
        _ if json.iter().all(u8::is_ascii_whitespace) => Map::new(),
        Ok(Value::Object(map)) => map,
        Ok(Value::Null) => Map::new(),
        Ok(_) => return (Options::default(), vec![err("options", "must be an object of option names and values")]),
        Err(_) => {
            return (
                Options::default(),
                vec![err("options", "are not valid JSON (Traefik sent something unexpected)")],
            );
        }
    };
    let mut errors = Vec::new();
    let mut out = Options::default();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let (mut jwks, mut jwks_file) = (None, None);
    for (name, value) in &object {
        if let Some(first) = seen.insert(fold(name), name) {
            errors.push(err(name, format!("is given twice ({first:?} too; names are case-insensitive): keep one")));
            continue;
        }
        if value.is_null() {
            continue;
        }
        if fold(name) == fold(JWKS) {
            jwks = Some(value);
            continue;
        }
        if fold(name) == fold(JWKS_FILE) {
            jwks_file = Some(value);
            continue;
        }
        let Some(&(option, var, kind)) = OPTIONS.iter().find(|(o, ..)| fold(o) == fold(name)) else {
            errors.push(unknown(name));
            continue;
        };
        let converted = match kind {
            Kind::Scalar => scalar(value).ok_or_else(|| err(option, "must be a single value, not a list or object")),
            Kind::List => list(value).map_err(|m| err(option, m)),
            Kind::Routes => routes(value),
            Kind::Issuers => issuers(value).map(|(json, keys)| {
                out.keys = keys;
                json
            }),
        };
        match converted {
            Ok(v) => {
                out.vars.insert(var, v);
            }
            Err(e) => errors.push(e),
        }
    }
    let top = key_source(jwks, jwks_file, "");
    if object.keys().any(|n| fold(n) == "issuers") {
        if jwks.is_some() || jwks_file.is_some() {
            errors.push(err(JWKS, "with issuers, put jwks or jwksFile inside each issuers entry instead"));
        }
    } else {
        match top {
            Ok(source) => out.keys = vec![source],
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

fn unknown(name: &str) -> Error {
    if fold(name) == "jwksuri" {
        return err(
            name,
            "is not an option of the plugin: it never fetches keys over the network; set jwks (the key set's JSON) or jwksFile (a file in a mounted directory)",
        );
    }
    let mut known: Vec<&str> = OPTIONS.iter().map(|(o, ..)| *o).collect();
    known.extend([JWKS, JWKS_FILE]);
    err(name, format!("is not an option; the options are {}", known.join(", ")))
}

/// One value as a string.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list as one comma-separated string (the variables' form).
fn list(value: &Value) -> Result<String, String> {
    match value {
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match scalar(item) {
                    Some(s) if !s.contains(',') => out.push(s),
                    _ => return Err("items must be single values without commas".into()),
                }
            }
            Ok(out.join(","))
        }
        other => scalar(other).ok_or_else(|| "must be a list or a comma-separated string".into()),
    }
}

/// A list as a JSON array of strings.
fn list_array(value: &Value) -> Result<Value, String> {
    let joined = list(value)?;
    Ok(Value::Array(joined.split(',').map(|s| Value::String(s.trim().to_owned())).collect()))
}

/// JSON text (a string) or a structured value, as an array.
fn array_of(setting: &str, value: &Value) -> Result<Vec<Value>, Error> {
    let parsed;
    let value = match value {
        Value::String(s) if s.trim().is_empty() => return Ok(Vec::new()),
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|e| {
                err(setting, format!("is not valid JSON ({}); give a list of objects", json_syntax(&e)))
            })?;
            &parsed
        }
        other => other,
    };
    match value {
        Value::Array(items) => Ok(items.clone()),
        _ => Err(err(setting, "must be a list of objects")),
    }
}

/// An entry's members renamed through `members` (case-insensitively); unknown ones are errors.
fn rename_members(
    setting: &str,
    i: usize,
    item: &Value,
    members: &[(&str, &'static str)],
    also: &[&str],
) -> Result<Map<String, Value>, Error> {
    let at = |m: String| err(setting, format!("entry {i}: {m}"));
    let Value::Object(obj) = item else {
        return Err(at("must be an object".into()));
    };
    let mut out = Map::new();
    for (name, value) in obj {
        if also.iter().any(|a| fold(a) == fold(name)) || value.is_null() {
            continue;
        }
        let Some((_, member)) = members.iter().find(|(o, _)| fold(o) == fold(name)) else {
            let mut known: Vec<&str> = members.iter().map(|(o, _)| *o).collect();
            known.extend(also);
            return Err(at(format!("unknown member {name:?}; the members are {}", known.join(", "))));
        };
        out.insert((*member).to_owned(), value.clone());
    }
    Ok(out)
}

/// `routes` → `ROUTES`: rule objects with the `ROUTES` member names; `methods` always an array.
fn routes(value: &Value) -> Result<String, Error> {
    if let Value::String(s) = value {
        return Ok(s.clone());
    }
    let mut rules = Vec::new();
    for (i, item) in array_of("routes", value)?.iter().enumerate() {
        let mut rule = rename_members("routes", i, item, &ROUTE_MEMBERS, &[])?;
        for (member, value) in rule.iter_mut() {
            *value = match (member.as_str(), &*value) {
                ("methods", v) => list_array(v),
                ("prefix" | "action", v) => scalar(v).map(Value::String).ok_or_else(|| "must be one value".into()),
                (_, v) => Ok(v.clone()),
            }
            .map_err(|m| err("routes", format!("entry {i}: {member} {m}")))?;
        }
        rules.push(Value::Object(rule));
    }
    Ok(Value::Array(rules).to_string())
}

/// `issuers` → `ISSUERS` (numbers as numbers) and each entry's key source.
fn issuers(value: &Value) -> Result<(String, Vec<KeySource>), Error> {
    let mut entries = Vec::new();
    let mut keys = Vec::new();
    for (i, item) in array_of("issuers", value)?.iter().enumerate() {
        let mut entry = rename_members("issuers", i, item, &ISSUER_MEMBERS, &[JWKS, JWKS_FILE])?;
        for member in NUMBER_MEMBERS {
            if let Some(Value::String(s)) = entry.get(member)
                && let Ok(n) = s.trim().parse::<u64>()
            {
                entry.insert(member.to_owned(), Value::from(n));
            }
        }
        let obj = item.as_object().cloned().unwrap_or_default();
        let get = |name: &str| obj.iter().find(|(k, v)| fold(k) == fold(name) && !v.is_null()).map(|(_, v)| v);
        keys.push(key_source(get(JWKS), get(JWKS_FILE), &format!("issuers entry {i}: "))?);
        entries.push(Value::Object(entry));
    }
    Ok((Value::Array(entries).to_string(), keys))
}

/// The key source from `jwks` / `jwksFile` (`at`: where, for messages). An inline set must hold a usable key.
fn key_source(jwks: Option<&Value>, file: Option<&Value>, at: &str) -> Result<KeySource, Error> {
    match (jwks, file) {
        (Some(_), Some(_)) => Err(err(JWKS, format!("{at}set jwks or jwksFile, not both"))),
        (Some(value), None) => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Object(_) => value.to_string(),
                _ => return Err(err(JWKS, format!("{at}must be the key set's JSON text"))),
            };
            KeySet::from_json(text.as_bytes()).and_then(|set| set.require_usable()).map_err(|e| {
                err(JWKS, format!("{at}is not a usable key set ({e}); paste the issuer's /.well-known/jwks.json"))
            })?;
            Ok(KeySource::Inline(text))
        }
        (None, Some(value)) => match scalar(value) {
            Some(path) if !path.trim().is_empty() => Ok(KeySource::File(path.trim().to_owned())),
            _ => Err(err(JWKS_FILE, format!("{at}must be a file path inside a directory of settings.mounts"))),
        },
        (None, None) => Err(err(
            JWKS,
            format!(
                "{at}is required: set jwks (the issuer's key set, its /.well-known/jwks.json) or jwksFile (that \
                 document in a directory the static configuration mounts); the plugin never fetches keys"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}"#;

    fn jwks() -> String {
        format!(r#"{{"keys":[{JWK}]}}"#)
    }

    fn options(v: Value) -> Result<Options, Vec<Error>> {
        parse(v.to_string().as_bytes())
    }

    fn settings(r: Result<impl std::fmt::Debug, Vec<Error>>) -> Vec<String> {
        r.unwrap_err()
            .into_iter()
            .map(|e| match e {
                Error::Config { setting, .. } => setting,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_manifests_test_data_is_valid_options() {
        let manifest = include_str!("traefik.yml");
        let line = manifest.lines().find_map(|l| l.strip_prefix("testData: ")).expect("a testData line");
        let (cfg, keys) = load(line.as_bytes()).unwrap();
        assert_eq!(cfg.verifier.issuers()[0].issuer, "https://id.example.com");
        assert!(matches!(keys[..], [KeySource::Inline(_)]));
        for field in ["displayName: ", "type: middleware", "runtime: wasm", "summary: "] {
            assert!(manifest.lines().any(|l| l.starts_with(field)), "{field}");
        }
    }

    #[test]
    fn traefik_shapes_become_the_variables() {
        // As the file provider and Docker labels send them: numbers as strings, lists as arrays or comma strings,
        // any case.
        let o = options(serde_json::json!({
            "issuer": "https://id.example.com", "AUDIENCE": "netbird", "allowgroups": ["admins", "ops"],
            "deny_groups": "guests, contractors", "leewaySeconds": "30", "maxTokenAge": 3600,
            "personalAccessTokens": "pass", "jwks": jwks(), "realm": null, "keys_stale_seconds": 120,
        }))
        .unwrap();
        assert_eq!(o.vars["ISSUER"], "https://id.example.com");
        assert_eq!(o.vars["AUDIENCE"], "netbird");
        assert_eq!(o.vars["ALLOW_GROUPS"], "admins,ops");
        assert_eq!(o.vars["DENY_GROUPS"], "guests, contractors");
        assert_eq!(o.vars["LEEWAY_SECONDS"], "30");
        assert_eq!(o.vars["MAX_TOKEN_AGE"], "3600");
        assert_eq!(o.vars["KEYS_STALE_SECONDS"], "120");
        assert!(!o.vars.contains_key("REALM"), "null is unset");
        assert_eq!(o.keys, vec![KeySource::Inline(jwks())]);
    }

    /// `publicApi` is `PUBLIC_API`: NetBird's public API paths open by default, gated with `gate`.
    #[test]
    fn public_api_option() {
        let with = |extra: Value| {
            let mut v = serde_json::json!({"issuer": "https://id.example.com", "audience": "n", "allowGroups": "u",
                                           "jwks": jwks()});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            load(v.to_string().as_bytes())
        };
        let bypass = Ok(&crate::policy::RouteAction::Bypass);
        assert_eq!(with(serde_json::json!({})).unwrap().0.routes.action("POST", "/api/setup"), bypass);
        let (gated, _) = with(serde_json::json!({"public_api": "gate"})).unwrap();
        assert_ne!(gated.routes.action("POST", "/api/setup"), bypass);
        assert_eq!(settings(with(serde_json::json!({"publicApi": "open"}))), ["publicApi (PUBLIC_API)"]);
    }

    #[test]
    fn structured_routes_become_routes_json() {
        let o = options(serde_json::json!({
            "issuer": "https://id.example.com", "audience": "netbird", "allowGroups": "users", "jwksFile": "/keys/j.json",
            "routes": [{"prefix": "/api/users", "methods": "DELETE, POST", "allowGroups": ["admins"]},
                       {"Prefix": "/api/public", "action": "bypass"}],
        }))
        .unwrap();
        let routes: Value = serde_json::from_str(&o.vars["ROUTES"]).unwrap();
        assert_eq!(
            routes,
            serde_json::json!([{"prefix": "/api/users", "methods": ["DELETE", "POST"], "allow_groups": ["admins"]},
                               {"prefix": "/api/public", "action": "bypass"}])
        );
        assert_eq!(o.keys, vec![KeySource::File("/keys/j.json".into())]);
        let (cfg, _) = load(
            serde_json::to_string(&serde_json::json!({
                "issuer": "https://id.example.com", "audience": "netbird", "allowGroups": "users", "jwksFile": "/k",
                "routes": o.vars["ROUTES"],
            }))
            .unwrap()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(cfg.routes.action("GET", "/api/public/x"), Ok(&crate::policy::RouteAction::Bypass));
    }

    #[test]
    fn issuers_carry_their_own_keys_and_numbers_from_strings() {
        let bytes = serde_json::json!({"issuers": [
            {"issuer": "https://a.example", "audience": "a", "allowGroups": "*", "leewaySeconds": "5", "jwks": jwks()},
            {"issuer": "https://b.example", "audiences": ["b"], "allowGroups": "x", "JWKSFILE": "/keys/b.json"},
        ]})
        .to_string();
        let (cfg, keys) = load(bytes.as_bytes()).unwrap();
        assert_eq!(cfg.verifier.issuers()[0].leeway, 5);
        assert_eq!(cfg.verifier.issuers()[1].issuer, "https://b.example");
        assert_eq!(keys, vec![KeySource::Inline(jwks()), KeySource::File("/keys/b.json".into())]);
    }

    #[test]
    fn mistakes_name_the_option_never_the_value() {
        let secret = "https://s3cr3t.example.com/";
        let r = load(
            serde_json::json!({"issuer": secret, "audience": "n", "allowGroups": "u", "jwks": jwks()})
                .to_string()
                .as_bytes(),
        );
        let errors = r.unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(matches!(&errors[0], Error::Config { setting, .. } if setting == "issuer (ISSUER)"), "{errors:?}");
        assert!(!errors[0].to_string().contains("s3cr3t"));

        let base = serde_json::json!({"issuer": "https://id.example.com", "audience": "n", "allowGroups": "u"});
        let with = |extra: Value| {
            let mut v = base.clone();
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            load(v.to_string().as_bytes())
        };
        assert_eq!(settings(with(serde_json::json!({}))), ["jwks"], "keys are required");
        assert_eq!(settings(with(serde_json::json!({"jwks": jwks(), "jwksFile": "/k"}))), ["jwks"]);
        assert_eq!(settings(with(serde_json::json!({"jwks": "{\"keys\":[]}"}))), ["jwks"]);
        assert_eq!(settings(with(serde_json::json!({"jwks": jwks(), "jwksUri": "https://x"}))), ["jwksUri"]);
        assert_eq!(settings(with(serde_json::json!({"jwks": jwks(), "allowGroup": "x"}))), ["allowGroup"]);
        assert_eq!(settings(with(serde_json::json!({"jwks": jwks(), "allowgroups": "x"}))), ["allowgroups"]);
        assert_eq!(
            settings(with(serde_json::json!({"jwks": jwks(), "leewaySeconds": "soon"}))),
            ["leewaySeconds (LEEWAY_SECONDS)"]
        );
        assert_eq!(settings(with(serde_json::json!({"jwks": jwks(), "routes": [{"path": "/api"}]}))), ["routes"]);
        for bad in
            [serde_json::json!("s3cr3t"), serde_json::json!("604801"), serde_json::json!(-1), serde_json::json!([5])]
        {
            let errors = with(serde_json::json!({"jwks": jwks(), "keysStaleSeconds": bad})).unwrap_err();
            let named = if bad.is_array() { "keysStaleSeconds" } else { "keysStaleSeconds (KEYS_STALE_SECONDS)" };
            assert_eq!(settings(Err::<(), _>(errors.clone())), [named], "{bad}");
            assert!(!errors[0].to_string().contains("s3cr3t") && !errors[0].to_string().contains("604801"), "{bad}");
        }
        assert_eq!(
            settings(with(serde_json::json!({"jwks": jwks(), "allowGroups": ""}))),
            ["allowGroups (ALLOW_GROUPS)"]
        );
        let both = settings(with(serde_json::json!({"issuers": [{"issuer": "https://a.example"}], "jwks": jwks()})));
        assert_eq!(both.iter().filter(|s| *s == "jwks").count(), 2, "no keys in the entry, keys beside issuers");
        assert_eq!(settings(parse(b"[1]")), ["options"]);
        assert_eq!(settings(parse(b"not json")), ["options"]);
        assert!(settings(load(b"")).contains(&"issuer (ISSUER)".to_owned()), "no options at all");
    }
}
