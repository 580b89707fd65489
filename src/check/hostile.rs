//! The paths an attacker tries to reach QuFabric's REST API past the gate: encoded slashes and backslashes, dot
//! segments (raw, encoded, half-encoded), case and doubled slashes, under every ungated prefix and at the root.
//!
//! They are sent byte for byte over a raw HTTP/1.1 connection ([`super::net`]): URL libraries resolve dot
//! segments, decode or re-encode escapes and refuse backslashes, which is exactly what must not happen here.
//! Each variant aims at [`TARGET`], a path the API serves only to a signed-in user, with `GET` (never a method
//! that changes anything: a router that lets a `GET` through lets a `DELETE` through, it matches paths).
//!
//! The list follows issue 20's findings (Traefik matches the decoded path: `/relay/..%2fapi/…` matched the ungated
//! router; `/API/…`, `/%2Fapi/…`, `/x/..%2F..%2Fapi/…`, `/relay\..\api\…` passed a `!PathPrefix(/api)`
//! catch-all) and the project's ambiguous-path suites (tests/e2e/gate-hostile.test.mjs,
//! tests/e2e/gate-proxies.test.mjs).

/// The API path every variant resolves to: the user list (NetBird `users_handler.go`, `GET /api/users`).
pub const TARGET: &str = "/api/users";

/// Variants under an ungated prefix's base (`/relay`, `/oauth2`, `/management.ManagementService`), each of which
/// a decoding, dot-resolving or backslash-folding router may turn into [`TARGET`].
const UNDER_PREFIX: [&str; 10] = [
    "{b}/..%2fapi/users",
    "{b}/..%2Fapi/users",
    "{b}/%2e%2e/api/users",
    "{b}/.%2e/api/users",
    "{b}/..%5capi/users",
    "{b}\\..\\api\\users",
    "{b}%2f..%2fapi%2fusers",
    "{b}/x/..%2f..%2fapi/users",
    "{b}/../api/users",
    "{b}/..;/api/users",
];

/// Variants at the root: case, encoded letters and slashes, doubled slashes, dot segments.
const AT_ROOT: [&str; 12] = [
    "/API/users",
    "/Api/users",
    "/%2Fapi/users",
    "/%2fapi/users",
    "//api/users",
    "/./api/users",
    "/x/../api/users",
    "/x/..%2F..%2Fapi/users",
    "/%61pi/users",
    "/api%2fusers",
    "/api./users",
    "/api;/users",
];

/// Every variant for these ungated prefixes (each prefix's trailing `/` dropped: `/ws-proxy/` → `/ws-proxy`),
/// root variants last; no duplicates.
pub fn variants(ungated: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for prefix in ungated {
        let base = prefix.trim_end_matches('/');
        for v in UNDER_PREFIX {
            let path = v.replace("{b}", base);
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    for v in AT_ROOT {
        if !out.iter().any(|p| p == v) {
            out.push(v.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::args::DEFAULT_UNGATED;
    use crate::policy::normalize_path;

    fn default_variants() -> Vec<String> {
        variants(&DEFAULT_UNGATED.map(str::to_owned))
    }

    #[test]
    fn the_issues_paths_are_there() {
        let v = default_variants();
        for path in [
            "/relay/..%2fapi/users",
            "/oauth2/..%2Fapi/users",
            "/ws-proxy/..%2fapi/users",
            "/management.ManagementService/..%2fapi/users",
            "/signalexchange.SignalExchange/..%2fapi/users",
            "/API/users",
            "/%2Fapi/users",
            "/x/..%2F..%2Fapi/users",
            "/relay\\..\\api\\users",
        ] {
            assert!(v.iter().any(|p| p == path), "{path} missing");
        }
        assert_eq!(v.len(), DEFAULT_UNGATED.len() * UNDER_PREFIX.len() + AT_ROOT.len());
        assert!(v.len() <= 90, "bounded: {}", v.len());
    }

    /// Each variant is one that some router resolves to the API: after percent-decoding once, folding `\` to `/`
    /// and resolving dot segments (what Traefik's decoded matching, Go's path cleaning and IIS-style backslash
    /// handling do), it lands on `/api/users` in some letter case; and none is a plain path that a correct router
    /// sends to the gate as is.
    #[test]
    fn every_variant_resolves_to_the_api_somewhere() {
        for path in default_variants() {
            let decoded = percent_decode_lossy(&path).replace('\\', "/").replace(';', "");
            let resolved = resolve(&decoded);
            assert!(resolved.eq_ignore_ascii_case("/api/users"), "{path} → {resolved}");
            assert_ne!(path, TARGET);
            // The gate's own reading: each is either ambiguous (refused) or exactly the target.
            match normalize_path(&path) {
                None => {}
                Some(p) => assert!(p.eq_ignore_ascii_case(TARGET), "{path} → {p}"),
            }
        }
    }

    fn percent_decode_lossy(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 3 <= b.len()
                && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }

    fn resolve(path: &str) -> String {
        let mut out: Vec<&str> = Vec::new();
        for seg in path.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                s => out.push(s.trim_end_matches('.')),
            }
        }
        format!("/{}", out.join("/"))
    }

    #[test]
    fn custom_prefixes() {
        let v = variants(&["/relay".to_owned(), "/relay/".to_owned()]);
        assert_eq!(v.len(), UNDER_PREFIX.len() + AT_ROOT.len(), "the same base once");
        assert!(v.contains(&"/relay/..%2fapi/users".to_owned()));
    }
}
