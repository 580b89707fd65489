//! Path normalisation (`normalize_path`) and the route matcher (`Routes::action`) on QuFabric's default table.
//!
//! Invariants: a normal path starts with `/`, has no empty, `.` or `..` segment (but a trailing `/`), no control
//! character, backslash, `#`, `;` or `?`, and is a fixed point (normalising is idempotent); a path gets the action
//! of its normal form; a path that cannot be normalised never gets `Bypass`; and a path whose normal form lies
//! under the authenticated `/api` prefix never gets `Bypass`, whatever its spelling, unless it is one of NetBird's
//! public API paths for a method its handler serves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pocketgate::Error;
use pocketgate::policy::{RouteAction, normalize_path, qufabric_default_routes};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static TABLES: OnceLock<[pocketgate::policy::Routes; 2]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| [qufabric_default_routes(true), qufabric_default_routes(false)]);
    let Ok(path) = std::str::from_utf8(data) else { return };
    let normal = normalize_path(path);
    if let Some(n) = &normal {
        assert!(n.starts_with('/'), "{n:?}");
        let body = &n[1..];
        let segments: Vec<&str> = body.split('/').collect();
        for (i, seg) in segments.iter().enumerate() {
            assert!(*seg != "." && *seg != "..", "dot segment in {n:?}");
            assert!(!seg.is_empty() || i + 1 == segments.len(), "empty segment in {n:?}");
        }
        assert!(!n.bytes().any(|b| b < 0x20 || b == 0x7f || matches!(b, b'\\' | b'#' | b';' | b'?')), "{n:?}");
        assert_eq!(normalize_path(n).as_deref(), Some(n.as_str()), "idempotent: {path:?} -> {n:?}");
    }
    for routes in tables {
        for method in ["GET", "POST"] {
            let action = routes.action(method, path);
            match &normal {
                None => assert_eq!(action, Err(Error::PathAmbiguous), "unnormalisable {path:?} not refused"),
                Some(n) => {
                    assert_eq!(action, routes.action(method, n), "{path:?} and {n:?} differ");
                    let public = routes.public().iter().any(|p| p.opens(method, n));
                    if (n == "/api" || n.starts_with("/api/")) && !public {
                        assert_ne!(action, Ok(&RouteAction::Bypass), "{path:?} (normal {n:?}) is under /api");
                    }
                }
            }
        }
    }
});
