//! Setup generators (`setup::generate`). The input is a `SetupInput` as JSON (what the setup page sends).
//!
//! Invariants: generation is deterministic; sections are produced exactly when no finding is an error (then the
//! three sections pocketid, qufabric, gate, and the gate accepts the generated variables); every finding names a
//! field and a code; every `.json` artifact is valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pocketgate::setup::{Level, SetupInput, generate, inspect, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<SetupInput>(data) else { return };
    let out = generate(&input);
    assert_eq!(out, generate(&input), "deterministic");
    let has_error = out.findings.iter().any(|f| f.level == Level::Error);
    assert_eq!(out.sections.is_empty(), has_error, "sections exactly when no finding is an error");
    for f in &out.findings {
        assert!(!f.field.is_empty() && !f.code.is_empty() && !f.message.is_empty(), "{f:?}");
    }
    if has_error {
        return;
    }
    let ids: Vec<&str> = out.sections.iter().map(|s| s.id).collect();
    assert_eq!(ids, ["pocketid", "qufabric", "gate"]);
    let (_, plan) = validate::validate(&input);
    let plan = plan.expect("no error finding means a plan");
    assert!(inspect::gate_config(&plan).is_ok(), "the gate accepts what the page generates");
    for artifact in out.sections.iter().flat_map(|s| &s.artifacts) {
        assert!(!artifact.content.is_empty(), "{}", artifact.id);
        if artifact.filename.ends_with(".json") {
            let parsed = serde_json::from_str::<serde_json::Value>(&artifact.content);
            assert!(parsed.is_ok(), "{} is not JSON", artifact.filename);
        }
    }
});
