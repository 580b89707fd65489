//! Configuration parser (`GateConfig::from_env`). The input is an environment, one `NAME=VALUE` per line (the
//! last line for a name wins; a name not listed is unset).
//!
//! Invariants: failures are a non-empty list of `config_invalid` (503) errors, each naming a setting; a parsed
//! configuration has at least one issuer, each with a non-empty audience, an exact https (or loopback http)
//! issuer URL without a trailing `/`, a leeway of at most 600 s and at least one algorithm; its key sources match
//! its issuers; `UPSTREAM` has no trailing `/`; the route table never lets an unnormalisable path bypass, gives a
//! path the same action as its normal form, and without `ROUTES` never bypasses a path under `/api` but NetBird's
//! public API paths for their methods (with `PUBLIC_API=gate`, not even those); parsing is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pocketgate::Error;
use pocketgate::config::{GateConfig, MAX_LEEWAY, PublicApi};
use pocketgate::policy::{RouteAction, normalize_path};

const PROBES: [&str; 14] = [
    "/api",
    "/api/instance",
    "/api/users/invites/nbi_x/accept",
    "/api/users",
    "//api/users",
    "/api/./users",
    "/oauth2/../api/users",
    "/oauth2/%2e%2e/api/users",
    "/%61pi/peers",
    "/relay/x",
    "/management.ManagementService/Login",
    "/",
    "/index.html",
    "/ws-proxy/signal",
];
const UNSAFE: [&str; 5] = ["/api%2fusers", "/oauth2/..%2fapi", "/api\\users", "/../api", "/api./x"];

fn env(text: &str) -> impl Fn(&str) -> Option<String> + '_ {
    move |name: &str| {
        text.lines().rev().find_map(|line| line.split_once('=').filter(|(n, _)| *n == name).map(|(_, v)| v.to_owned()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let result = GateConfig::from_env(env(text));
    let again = GateConfig::from_env(env(text));
    assert_eq!(format!("{result:?}"), format!("{again:?}"), "deterministic");
    let cfg = match result {
        Ok(cfg) => cfg,
        Err(errors) => {
            assert!(!errors.is_empty(), "a failure names at least one problem");
            for e in &errors {
                assert!(matches!(e, Error::Config { setting, .. } if !setting.is_empty()), "{e:?}");
                assert_eq!(e.http_status(), 503);
            }
            return;
        }
    };
    let issuers = cfg.verifier.issuers();
    assert!(!issuers.is_empty());
    assert_eq!(cfg.keys.len(), issuers.len());
    for (issuer, source) in issuers.iter().zip(&cfg.keys) {
        assert_eq!(issuer.issuer, source.issuer);
        assert!(issuer.issuer.starts_with("https://") || issuer.issuer.starts_with("http://"), "{}", issuer.issuer);
        assert!(!issuer.issuer.ends_with('/') && !issuer.issuer.contains(char::is_whitespace));
        assert!(!issuer.audiences.is_empty() && issuer.audiences.iter().all(|a| !a.is_empty()));
        assert!(issuer.leeway <= MAX_LEEWAY);
        assert!(!issuer.algorithms.is_empty());
    }
    if let Some(upstream) = &cfg.upstream {
        assert!(!upstream.ends_with('/'), "{upstream}");
    }
    for method in ["GET", "POST", "DELETE"] {
        let all_bypass = *cfg.routes.default_action() == RouteAction::Bypass
            && cfg.routes.rules().iter().all(|r| r.action == RouteAction::Bypass);
        for path in UNSAFE {
            let want = if all_bypass { Ok(&RouteAction::Bypass) } else { Err(Error::PathAmbiguous) };
            assert_eq!(cfg.routes.action(method, path), want, "{path}");
        }
        for path in PROBES {
            let normal = normalize_path(path).expect("probe paths are normalisable");
            assert_eq!(cfg.routes.action(method, path), cfg.routes.action(method, &normal), "{path}");
            let under_api = normal == "/api" || normal.starts_with("/api/");
            let public = cfg.routes.public().iter().any(|p| p.opens(method, &normal));
            assert!(!public || cfg.public_api == PublicApi::Bypass, "{path}: public with PUBLIC_API=gate");
            if under_api && !public && env(text)("ROUTES").is_none_or(|v| v.trim().is_empty()) {
                assert_ne!(cfg.routes.action(method, path), Ok(&RouteAction::Bypass), "{path}");
            }
        }
    }
});
