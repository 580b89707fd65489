//! Regression tests for every problem the fuzz targets (fuzz/, `cargo xtask fuzz`) found; see FUZZING.md.
//! Each test replays the reproducer byte for byte and asserts the fixed behaviour.

use pocketgate::Error;
use pocketgate::policy::{normalize_path, qufabric_default_routes};

/// Fuzz target `path`, reproducer `crash-324dfba91d6b006f8eeaace9c0e0e255e551d875`: `/a%2541pi` normalised to
/// `/a%41pi`, which normalised again to `/aApi` (not idempotent). An encoded `%` is double encoding: a second
/// decoder (a front proxy, or an upstream that decodes again) sees another path than the gate did. Fixed by
/// refusing `%25` in `normalize_path`, so such paths are refused (`path_ambiguous`).
#[test]
fn fuzz_path_double_encoded_percent_is_refused() {
    let reproducer: &[u8] = b"/a%2541pi";
    let path = std::str::from_utf8(reproducer).unwrap();
    assert_eq!(normalize_path(path), None);
    for input in ["/%2561pi/users", "/%252e%252e/api/users", "/oauth2/%252e%252e/api/x", "/x%25"] {
        assert_eq!(normalize_path(input), None, "{input:?}");
        for routes in [qufabric_default_routes(true), qufabric_default_routes(false)] {
            assert_eq!(routes.action("GET", input), Err(Error::PathAmbiguous), "{input:?}");
        }
    }
    // A percent sign that is not an escape is still an invalid escape; ordinary escapes still decode.
    assert_eq!(normalize_path("/api%"), None);
    assert_eq!(normalize_path("/%61pi/users").as_deref(), Some("/api/users"));
}
