//! The token inspector: decode a token locally, and give the verdict the gate would give with the configuration
//! generated from the form, plus a hint for the classic mistakes.
//!
//! The verdict is the gate's own code path: [`GateConfig::from_env`] over the generated `[vars]`, then the
//! request pipeline ([`request::decide_async`]) for a `GET /api/users` request with the caller's backend
//! (WebCrypto in the page, a native backend in tests). Nothing here does I/O: the key set is passed in.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::claims::{ClaimNames, Claims};
use crate::config::GateConfig;
use crate::crypto::AsyncSignatureVerifier;
use crate::error::{Error, Part};
use crate::json;
use crate::jwk::KeySet;
use crate::keycache::FetchOutcome;
use crate::request::{self, Caches, Head, Verdict as GateVerdict};
use crate::token::{self, Limits};
use crate::tokencache::TokenCache;
use crate::verify::DEFAULT_GROUPS_CLAIM;

use super::{Mode, Plan, gate};

/// The request the verdict is given for: the QuFabric REST API, which the gate always protects.
pub const SAMPLE_PATH: &str = "/api/users";

/// A token decoded without verification, for display.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Decoded {
    /// The protected header.
    pub header: Option<Value>,
    /// The claims (unverified).
    pub claims: Option<Value>,
    /// Why decoding failed, if it did (stable code and message).
    pub error: Option<(String, String)>,
    /// The groups found in the `groups` claim.
    pub groups: Option<Vec<String>>,
    /// `exp` in human terms, e.g. `2026-01-01 01:00:00 UTC (in 42 min)`.
    pub expires: Option<String>,
    /// `iat` in human terms.
    pub issued: Option<String>,
}

/// The gate's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Whether the gate lets the request through.
    pub allowed: bool,
    /// HTTP status the gate answers with (200 on allow).
    pub status: u16,
    /// Stable code (`allowed` or the [`Error::code`]).
    pub code: String,
    /// The error message, or who was allowed.
    pub message: String,
    /// What the classic mistake behind this verdict probably is, and how to fix it.
    pub hint: Option<String>,
}

/// Decode and judge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspection {
    /// The decoded token.
    pub decoded: Decoded,
    /// The verdict.
    pub verdict: Verdict,
}

fn object(bytes: &[u8], part: Part) -> Result<Map<String, Value>, Error> {
    json::parse_object(bytes, part)
}

/// The groups under PocketID's claim, read from a decoded payload as the gate reads them ([`Claims::groups`]).
fn groups_of(payload: &[u8]) -> Option<Vec<String>> {
    let names = Arc::new(ClaimNames::new([DEFAULT_GROUPS_CLAIM]));
    Claims::read(payload.to_vec(), &names).ok()?.groups(DEFAULT_GROUPS_CLAIM)
}

/// Decode `token` for display (no verification). `now` is Unix seconds.
pub fn decode(token: &str, now: u64) -> Decoded {
    let token = token.trim();
    let fail = |e: Error| Decoded { error: Some((e.code().to_owned(), e.to_string())), ..Decoded::default() };
    let jws = match token::parse(token, &Limits::default()) {
        Ok(j) => j,
        Err(e) => return fail(e),
    };
    let header_text = token.split('.').next().unwrap_or_default();
    let header = match token::b64_decode(header_text, Part::Header).and_then(|h| object(&h, Part::Header)) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let claims = match object(&jws.payload, Part::Payload) {
        Ok(c) => c,
        Err(e) => return Decoded { header: Some(Value::Object(header)), ..fail(e) },
    };
    let when = |name: &str| claims.get(name).and_then(Value::as_f64).map(|t| human_time(t, now));
    Decoded {
        groups: groups_of(&jws.payload),
        expires: when("exp"),
        issued: when("iat"),
        header: Some(Value::Object(header)),
        claims: Some(Value::Object(claims)),
        error: None,
    }
}

/// `YYYY-MM-DD hh:mm:ss UTC (in N min / N h ago)`.
pub fn human_time(t: f64, now: u64) -> String {
    let secs = t.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let diff = secs - now as i64;
    let span = |s: i64| match s {
        0..60 => format!("{s} s"),
        60..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    };
    let rel = if diff >= 0 { format!("in {}", span(diff)) } else { format!("{} ago", span(-diff)) };
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC ({rel})", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The gate's configuration for `plan` (the generated `[vars]` through the gate's own parser).
pub fn gate_config(plan: &Plan) -> Result<GateConfig, Vec<Error>> {
    let vars = gate::vars(plan);
    GateConfig::from_env(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
}

fn deny(err: &Error, hint: Option<String>) -> Verdict {
    Verdict { allowed: false, status: err.http_status(), code: err.code().to_owned(), message: err.to_string(), hint }
}

/// Decode `token` and give the gate's verdict for `GET /api/users` under `plan`'s configuration.
/// `keys` is the fetched key set and the issuer it belongs to; `now` is Unix seconds.
pub async fn inspect(
    token: &str,
    plan: &Plan,
    keys: Option<(&str, &[u8])>,
    backend: &impl AsyncSignatureVerifier,
    now: u64,
) -> Inspection {
    let token = token.trim();
    let decoded = decode(token, now);
    let cfg = match gate_config(plan) {
        Ok(c) => c,
        Err(errors) => {
            let first = errors
                .into_iter()
                .next()
                .unwrap_or(Error::Config { setting: "ISSUER".into(), message: "the configuration is invalid".into() });
            return Inspection { decoded, verdict: deny(&first, Some("Fix the form first.".into())) };
        }
    };
    let set = match keys {
        Some((issuer, bytes)) => match KeySet::from_json(bytes) {
            Ok(set) => Some((issuer, set)),
            Err(e) => return Inspection { verdict: deny(&e, None), decoded },
        },
        None => None,
    };
    // The gate's own pipeline, with the key set passed in as what a fetch of the matching issuer returns.
    let mut caches = Caches::new(&cfg, TokenCache::new(0));
    let sources = &cfg.keys;
    let fetch = |i: usize| match (&set, sources.get(i)) {
        (Some((iss, set)), Some(source)) if *iss == source.issuer => {
            FetchOutcome::Loaded { keys: set.clone(), max_age: None }
        }
        _ => FetchOutcome::Failed(Error::KeysUnavailable { reason: "no key set was given for this issuer".into() }),
    };
    let authorization = format!("Bearer {token}");
    let head = Head { method: "GET", path: SAMPLE_PATH, authorization: Some(&authorization) };
    let outcome = request::decide_async(&cfg, &mut caches, head, now, fetch, backend).await;
    let verdict = match outcome.verdict {
        GateVerdict::Allow(id) => Verdict {
            allowed: true,
            status: 200,
            code: "allowed".into(),
            message: format!(
                "Allowed: {} (groups: {})",
                id.preferred_username.as_deref().or(id.email.as_deref()).unwrap_or(&id.sub),
                id.groups.join(", ")
            ),
            hint: None,
        },
        GateVerdict::Deny { error: e, .. } => {
            let hint = hint(&e, &decoded, plan, now);
            deny(&e, hint)
        }
        GateVerdict::Bypass | GateVerdict::PatPass => Verdict {
            allowed: true,
            status: 200,
            code: "bypass".into(),
            message: "This route needs no token.".into(),
            hint: None,
        },
    };
    Inspection { decoded, verdict }
}

fn claim_str<'a>(claims: Option<&'a Map<String, Value>>, name: &str) -> Option<&'a str> {
    claims?.get(name)?.as_str()
}

/// A hint for the classic mistakes behind `err`. `decoded` is the token as [`decode`] showed it: its claims, and
/// its groups as the gate reads them.
pub fn hint(err: &Error, decoded: &Decoded, plan: &Plan, now: u64) -> Option<String> {
    let claims = decoded.claims.as_ref().and_then(Value::as_object);
    let expected = gate::issuer(plan);
    match err {
        Error::IssuerNotTrusted => {
            let iss = claim_str(claims, "iss")?;
            Some(if iss.trim_end_matches('/') == expected.trim_end_matches('/') {
                format!(
                    "The token's iss is {iss} and the gate expects {expected}: they differ by a trailing slash. \
                     The issuer must match byte for byte."
                )
            } else if plan.mode == Mode::Embedded && iss == plan.issuer {
                format!(
                    "This token comes from PocketID directly. In embedded mode QuFabric's API receives tokens from \
                     its embedded IdP ({expected}); paste one of those, or use standalone mode."
                )
            } else {
                format!("The token's iss is {iss}; the gate trusts only {expected}.")
            })
        }
        Error::AudienceMismatch => {
            let aud = claims.and_then(|c| c.get("aud")).map(Value::to_string).unwrap_or_default();
            Some(format!(
                "The token's aud is {aud}; the gate expects AUDIENCE={} (the OIDC client id).",
                gate::audience(plan)
            ))
        }
        Error::TokenTypeNotAccepted { .. } => Some(
            "This is an access or session token, not an ID token: it carries no groups. QuFabric must send ID \
             tokens (NETBIRD_TOKEN_SOURCE=idToken)."
                .into(),
        ),
        Error::GroupsMissing => Some(if claims.is_some_and(|c| c.contains_key("scope") || c.contains_key("scp")) {
            "Access tokens carry no groups: use the ID token, requested with the groups scope.".into()
        } else {
            "The token has no groups: request the groups scope and add the user to an allowed group in PocketID.".into()
        }),
        Error::GroupNotAllowed => {
            let found = decoded.groups.as_deref().unwrap_or_default();
            Some(format!(
                "The user's groups are [{}]; ALLOW_GROUPS is {} (exact, case-sensitive group names).",
                found.join(", "),
                gate::allow_groups(plan)
            ))
        }
        Error::Expired => {
            let exp = claims.and_then(|c| c.get("exp")).and_then(Value::as_f64)?;
            Some(format!("Expired {}. Sign in again for a fresh token.", human_time(exp, now)))
        }
        Error::SignatureInvalid => Some(
            "The signature does not verify with the issuer's key: the token was altered, forged, or signed by \
             another instance."
                .into(),
        ),
        Error::KeyNotFound { .. } => Some(
            "The token's kid is not in the key set: PocketID's key was rotated (older tokens become invalid), or \
             the token comes from another instance."
                .into(),
        ),
        Error::KeysUnavailable { .. } => Some(format!(
            "Load the keys first: click \"Check issuer\" (keys of {expected} are fetched from its discovery document)."
        )),
        _ => None,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::crypto::Ring;
    use crate::setup::SetupInput;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use serde_json::json;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    const NOW: u64 = 1_767_225_600; // 2026-01-01 00:00:00 UTC

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("native backends complete immediately"),
        }
    }

    fn key(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
    }

    fn jwks(k: &Ed25519KeyPair) -> Vec<u8> {
        serde_json::to_vec(&json!({"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"8uHDw3M6rf8",
            "x": B64.encode(k.public_key().as_ref())}]}))
        .unwrap()
    }

    fn mint(k: &Ed25519KeyPair, claims: Value) -> String {
        let h = B64.encode(br#"{"alg":"EdDSA","kid":"8uHDw3M6rf8","typ":"JWT"}"#);
        let p = B64.encode(serde_json::to_vec(&claims).unwrap());
        let sig = k.sign(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", B64.encode(sig.as_ref()))
    }

    fn id_token(iss: &str, aud: &str, groups: &[&str], exp: u64) -> Value {
        json!({"iss": iss, "aud": [aud], "sub": "3b1e-uuid", "preferred_username": "alice",
               "email": "alice@example.com", "groups": groups, "iat": exp - 3600, "exp": exp})
    }

    fn run(token: &str, plan: &Plan, keys: &[u8], keys_for: &str) -> Inspection {
        block_on(inspect(token, plan, Some((keys_for, keys)), &Ring, NOW))
    }

    #[test]
    fn human_time_formats_absolute_and_relative() {
        assert_eq!(human_time(1_767_229_200.0, NOW), "2026-01-01 01:00:00 UTC (in 60 min)");
        assert_eq!(human_time(1_767_222_000.0, NOW), "2025-12-31 23:00:00 UTC (60 min ago)");
        assert_eq!(human_time(0.0, NOW), "1970-01-01 00:00:00 UTC (20454 days ago)");
    }

    #[test]
    fn decode_shows_header_claims_groups_and_expiry() {
        let k = key(1);
        let t = mint(&k, id_token("https://id.example.com", "qufabric", &["netbird-users"], NOW + 3600));
        let d = decode(&t, NOW);
        assert_eq!(d.header.unwrap()["alg"], "EdDSA");
        assert_eq!(d.claims.unwrap()["preferred_username"], "alice");
        assert_eq!(d.groups, Some(vec!["netbird-users".to_owned()]));
        assert_eq!(d.expires.as_deref(), Some("2026-01-01 01:00:00 UTC (in 60 min)"));
        let bad = decode("not-a-token", NOW);
        assert_eq!(bad.error.unwrap().0, "token_malformed");
    }

    #[test]
    fn standalone_valid_token_is_allowed() {
        let k = key(1);
        let plan = plan(&standalone());
        let t = mint(&k, id_token("https://id.example.com", "qufabric", &["netbird-users"], NOW + 3600));
        let v = run(&t, &plan, &jwks(&k), "https://id.example.com").verdict;
        assert!(v.allowed, "{v:?}");
        assert_eq!((v.status, v.code.as_str()), (200, "allowed"));
        assert_eq!(v.message, "Allowed: alice (groups: netbird-users)");
    }

    #[test]
    fn forged_token_is_refused() {
        let plan = plan(&standalone());
        let t = mint(&key(2), id_token("https://id.example.com", "qufabric", &["netbird-users"], NOW + 3600));
        let v = run(&t, &plan, &jwks(&key(1)), "https://id.example.com").verdict;
        assert_eq!((v.allowed, v.status, v.code.as_str()), (false, 401, "signature_invalid"));
        assert!(v.hint.unwrap().contains("altered, forged"));
    }

    #[test]
    fn classic_mistakes_get_hints() {
        let k = key(1);
        let plan = plan(&standalone());
        let keys = jwks(&k);
        let check = |claims: Value, code: &str, hint: &str| {
            let v = run(&mint(&k, claims), &plan, &keys, "https://id.example.com").verdict;
            assert_eq!(v.code, code, "{v:?}");
            assert!(v.hint.as_deref().unwrap_or("").contains(hint), "{v:?}");
        };
        check(
            id_token("https://id.example.com/", "qufabric", &["netbird-users"], NOW + 3600),
            "issuer_not_trusted",
            "differ by a trailing slash",
        );
        check(
            id_token("https://id.example.com", "netbird", &["netbird-users"], NOW + 3600),
            "audience_mismatch",
            "AUDIENCE=qufabric",
        );
        check(
            id_token("https://id.example.com", "qufabric", &["netbird-users"], NOW - 600),
            "token_expired",
            "Expired 2025-12-31 23:50:00 UTC (10 min ago)",
        );
        check(
            id_token("https://id.example.com", "qufabric", &["other"], NOW + 3600),
            "group_not_allowed",
            "The user's groups are [other]",
        );
        let mut access = id_token("https://id.example.com", "qufabric", &[], NOW + 3600);
        access.as_object_mut().unwrap().remove("groups");
        access["scope"] = json!("openid profile");
        check(access, "groups_missing", "Access tokens carry no groups");
    }

    #[test]
    fn embedded_mode_explains_a_pocketid_token_and_missing_keys() {
        let k = key(1);
        let plan = plan(&SetupInput { gate_mode: crate::setup::GateMode::Proxy, ..embedded() });
        let t = mint(&k, id_token("https://id.example.com", "qufabric", &["netbird-users"], NOW + 3600));
        let v = run(&t, &plan, &jwks(&k), "https://id.example.com").verdict;
        assert_eq!(v.code, "issuer_not_trusted");
        assert!(v.hint.unwrap().contains("comes from PocketID directly"));
        let t = mint(
            &k,
            id_token("https://qufabric.example.com/oauth2", "netbird-dashboard", &["netbird-users"], NOW + 3600),
        );
        let none = block_on(inspect(&t, &plan, None, &Ring, NOW)).verdict;
        assert_eq!((none.status, none.code.as_str()), (503, "keys_unavailable"));
        let ok = run(&t, &plan, &jwks(&k), "https://qufabric.example.com/oauth2").verdict;
        assert!(ok.allowed, "{ok:?}");
    }

    /// The gate refuses a key set without one usable key as an outage (503 `keys_unavailable`): the inspector used
    /// to say 401 `key_not_found` for the same input (issue "One request pipeline…").
    #[test]
    fn a_key_set_without_usable_keys_is_an_outage_as_in_the_gate() {
        let k = key(1);
        let plan = plan(&SetupInput { gate_mode: crate::setup::GateMode::Proxy, ..embedded() });
        let t = mint(
            &k,
            id_token("https://qufabric.example.com/oauth2", "netbird-dashboard", &["netbird-users"], NOW + 3600),
        );
        let weak = br#"{"keys":[{"kty":"RSA","kid":"w","n":"AQAB","e":"AQAB"}]}"#;
        for set in [&br#"{"keys":[]}"#[..], &weak[..]] {
            let v = run(&t, &plan, set, "https://qufabric.example.com/oauth2").verdict;
            assert_eq!((v.status, v.code.as_str()), (503, "keys_unavailable"), "{}", String::from_utf8_lossy(set));
        }
    }
}
