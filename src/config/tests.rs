//! The configuration from environment variables: every setting, mistake and default.

use std::collections::HashMap;

use super::issuers::SINGLE_ISSUER_VARS;
use super::*;
use crate::policy::{Allow, GroupRule, LocalUsers, Requirement, RouteAction};

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
    for (value, mode) in [("all", LogMode::All), (" all ", LogMode::All), ("deny", LogMode::Deny), ("", LogMode::Deny)]
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
    let settings: Vec<String> = errors(&with(&[("ISSUER", "https://x/"), ("LEEWAY_SECONDS", "x"), ("UPSTREAM", "y")]))
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
        ("[\n  {\"issuer\": }]", "is not valid JSON (line 2, column 14)"),
        ("[]", "1 to 16"),
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
fn at_most_16_issuers() {
    let list = |n: usize| {
        let entries: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"issuer":"https://id{i}.example.com","audiences":"x","allow_groups":"g"}}"#))
            .collect();
        format!("[{}]", entries.join(","))
    };
    let sixteen = list(issuers::MAX_ISSUERS);
    assert_eq!(GateConfig::from_env(env(&[("ISSUERS", &sixteen)])).unwrap().keys.len(), 16);
    let (s, m) = only_error(&[("ISSUERS", &list(issuers::MAX_ISSUERS + 1))]);
    assert_eq!(s, "ISSUERS");
    assert!(m.contains("1 to 16"), "{m}");
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

/// `PUBLIC_API` (issue 20): by default NetBird's public API paths pass without a token for their handlers'
/// methods; `gate` makes them need one like the rest of `/api`; anything else is a configuration error naming the
/// variable, never echoing the value.
#[test]
fn public_api_setting() {
    let open = [("GET", "/api/instance"), ("POST", "/api/setup"), ("GET", "/api/users/invites/nbi_x")];
    for value in [None, Some("bypass"), Some(" bypass ")] {
        let extra: Vec<_> = value.map(|v| ("PUBLIC_API", v)).into_iter().collect();
        let vars = with(&extra);
        let cfg = GateConfig::from_env(env(&vars)).unwrap();
        assert_eq!(cfg.public_api, PublicApi::Bypass, "{value:?}");
        assert_eq!(cfg.routes.public(), &NETBIRD_PUBLIC_API[..]);
        for (method, path) in open {
            assert_eq!(cfg.routes.action(method, path), Ok(&RouteAction::Bypass), "{value:?} {method} {path}");
        }
        assert_eq!(cfg.routes.action("GET", "/api/instance/version"), Ok(&RouteAction::issuer_default()));
    }
    let cfg = GateConfig::from_env(env(&with(&[("PUBLIC_API", "gate")]))).unwrap();
    assert_eq!(cfg.public_api, PublicApi::Gate);
    assert!(cfg.routes.public().is_empty());
    for (method, path) in open {
        assert_eq!(cfg.routes.action(method, path), Ok(&RouteAction::issuer_default()), "gate: {method} {path}");
    }
    for bad in ["Bypass", "open", "protect", "s3cr3t"] {
        let (setting, message) = only_error(&with(&[("PUBLIC_API", bad)]));
        assert_eq!(setting, "PUBLIC_API");
        assert!(message.contains("\"gate\"") && !message.contains(bad), "{message}");
    }
    assert_eq!(PublicApi::ALL.map(PublicApi::as_str), ["bypass", "gate"]);
    assert_eq!(PublicApi::parse("gate"), Some(PublicApi::Gate));
    // A ROUTES rule at a public path wins over it for the methods it holds; a broader one does not.
    let routes = r#"[{"prefix":"/api/setup","methods":["POST"],"allow_groups":["admins"]},
                     {"prefix":"/api","allow_groups":["netbird-users","ops"]}]"#;
    let cfg = GateConfig::from_env(env(&with(&[("ROUTES", routes)]))).unwrap();
    let admins = GroupRule { allow: Allow::Groups(vec!["admins".into()]), deny: vec![] };
    assert_eq!(cfg.routes.action("POST", "/api/setup"), Ok(&RouteAction::groups(admins)));
    assert_eq!(cfg.routes.action("OPTIONS", "/api/setup"), Ok(&RouteAction::Bypass));
    assert_eq!(cfg.routes.action("GET", "/api/instance"), Ok(&RouteAction::Bypass));
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
