//! What the gate answers, before any HTTP library: [`Answer`] gives the status, the headers and the body; an
//! adapter turns it into its own response in one place (the Worker's `into_response`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::config::GateConfig;
use crate::error::Error;
use crate::http::{challenges, error_body, forward_auth_headers, www_authenticate};
use crate::jwk::KeySet;
use crate::policy::Identity;
use crate::request::{Outcome, Verdict};

/// One response of the gate. Every answer carries `Cache-Control: no-store`.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer<'a> {
    /// A refusal or an error: the error's status, `{"code","message"}` ([`error_body`]: never token contents),
    /// and `WWW-Authenticate` on a 401 ([`www_authenticate`]).
    Refuse {
        /// Why.
        error: Error,
        /// Whether the client sent a credential.
        credential_sent: bool,
    },
    /// The forward-auth 200: no body, all four identity headers ([`forward_auth_headers`]; empty values for a
    /// bypass or a passed personal access token).
    Pass(Option<&'a Arc<Identity>>),
    /// A JSON document with this status (`/_gate/healthz`).
    Json {
        /// The HTTP status.
        status: u16,
        /// The document.
        body: String,
    },
    /// A permanent redirect (308) to this path.
    Redirect(&'static str),
}

impl<'a> Answer<'a> {
    /// A refusal with `error`, no credential sent (404, 405, 500, 502, an invalid configuration).
    pub fn error(error: Error) -> Answer<'a> {
        Answer::Refuse { error, credential_sent: false }
    }

    /// The forward-auth answer for `outcome`: 200 with the identity headers, or the refusal (proxy mode answers
    /// its refusals with this too).
    pub fn of(outcome: &'a Outcome) -> Answer<'a> {
        match &outcome.verdict {
            Verdict::Allow(id) => Answer::Pass(Some(id)),
            Verdict::Bypass | Verdict::PatPass => Answer::Pass(None),
            Verdict::Deny { error, credential_sent } => {
                Answer::Refuse { error: error.clone(), credential_sent: *credential_sent }
            }
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Refuse { error, .. } => error.http_status(),
            Answer::Pass(_) => 200,
            Answer::Json { status, .. } => *status,
            Answer::Redirect(_) => 308,
        }
    }

    /// The headers (names lower-case), `realm` naming the `WWW-Authenticate` realm.
    pub fn headers(&self, realm: &str) -> Vec<(&'static str, String)> {
        let mut out = vec![("cache-control", "no-store".to_owned())];
        match self {
            Answer::Refuse { error, credential_sent } => {
                out.push(("content-type", "application/json".into()));
                if challenges(error) {
                    out.push(("www-authenticate", www_authenticate(realm, *credential_sent)));
                }
            }
            Answer::Pass(id) => {
                out.push(("content-type", "application/json".into()));
                out.extend(forward_auth_headers(id.map(|id| &**id)));
            }
            Answer::Json { .. } => out.push(("content-type", "application/json".into())),
            Answer::Redirect(location) => out.push(("location", (*location).to_owned())),
        }
        out
    }

    /// The body, if any.
    pub fn body(&self) -> Option<String> {
        match self {
            Answer::Refuse { error, .. } => Some(error_body(error)),
            Answer::Json { body, .. } => Some(body.clone()),
            Answer::Pass(_) | Answer::Redirect(_) => None,
        }
    }
}

/// The isolate's cache sizes and memory, for `/_gate/healthz`: counts and byte figures only, never an entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheSizes {
    /// Verified tokens cached.
    pub tokens: usize,
    /// Their capacity.
    pub tokens_capacity: usize,
    /// What the cached tokens count against their byte budget
    /// ([`TokenCache::bytes`](crate::tokencache::TokenCache::bytes), at most 16 MiB by default).
    pub token_bytes: usize,
    /// Forward-auth 200 templates held (one per identity; the Worker's `respond`).
    pub identities: usize,
    /// What they count against their byte budget (4 MiB).
    pub identity_bytes: usize,
    /// Keys imported into the signature backend (WebCrypto `CryptoKey`s).
    pub crypto_keys: usize,
    /// The WebAssembly linear memory, bytes (its high-water mark: it never shrinks).
    pub wasm_memory: usize,
}

/// `GET /_gate/healthz`: 200 when the configuration is valid and every issuer's keys are loaded (`sets`, one per
/// issuer: its usable set or why not); else 503 with `config_invalid` (every error: setting and message, never a
/// value) or `keys_unavailable`.
pub fn healthz(
    config: &Result<GateConfig, Vec<Error>>,
    sets: &[Result<Arc<KeySet>, Error>],
    caches: CacheSizes,
) -> Answer<'static> {
    let cfg = match config {
        Ok(cfg) => cfg,
        Err(errors) => {
            let list: Vec<Value> = errors
                .iter()
                .map(|e| match e {
                    Error::Config { setting, message } => json!({"setting": setting, "message": message}),
                    other => json!({"setting": "", "message": other.to_string()}),
                })
                .collect();
            let body = json!({"status": "config_invalid", "code": "config_invalid", "errors": list});
            return Answer::Json { status: 503, body: body.to_string() };
        }
    };
    let issuers: Vec<Value> = cfg
        .keys
        .iter()
        .zip(sets)
        .map(|(source, set)| match set {
            Ok(set) => {
                let kids: Vec<_> = set.keys().iter().filter_map(|k| k.kid.clone()).collect();
                json!({"issuer": source.issuer, "keys": set.keys().len(), "kids": kids,
                       "rejected_keys": set.rejected().len()})
            }
            Err(e) => json!({"issuer": source.issuer, "code": e.code(), "message": e.to_string()}),
        })
        .collect();
    let healthy = sets.len() == cfg.keys.len() && sets.iter().all(Result::is_ok);
    let mode = if cfg.upstream.is_some() { "proxy" } else { "forward-auth" };
    let memory = caches.wasm_memory;
    let caches = json!({"tokens": caches.tokens, "tokens_capacity": caches.tokens_capacity,
                        "token_bytes": caches.token_bytes, "identities": caches.identities,
                        "identity_bytes": caches.identity_bytes, "crypto_keys": caches.crypto_keys});
    let mut body = json!({"status": if healthy { "ok" } else { "keys_unavailable" }, "mode": mode,
                          "issuers": issuers, "caches": caches, "wasm_memory": memory});
    if !healthy {
        body["code"] = json!("keys_unavailable");
    }
    Answer::Json { status: if healthy { 200 } else { 503 }, body: body.to_string() }
}

/// The first configuration error, as a refusal (503 `config_invalid`).
pub fn config_error(errors: &[Error]) -> Error {
    errors.first().cloned().unwrap_or(Error::Config { setting: "config".into(), message: "invalid".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_their_status_code_and_challenge() {
        let a = Answer::Refuse { error: Error::SignatureInvalid, credential_sent: true };
        assert_eq!(a.status(), 401);
        let h = a.headers("gate");
        assert!(h.contains(&("www-authenticate", "Bearer realm=\"gate\", error=\"invalid_token\"".into())), "{h:?}");
        assert!(h.contains(&("cache-control", "no-store".into())));
        let body: Value = serde_json::from_str(&a.body().unwrap()).unwrap();
        assert_eq!(body["code"], "signature_invalid");

        let forbidden = Answer::Refuse { error: Error::GroupNotAllowed, credential_sent: true };
        assert_eq!(forbidden.status(), 403);
        assert!(!forbidden.headers("gate").iter().any(|(n, _)| *n == "www-authenticate"));
        for (error, status, code) in [
            (Error::NotFound { what: "no such gate endpoint" }, 404, "not_found"),
            (Error::MethodNotAllowed, 405, "method_not_allowed"),
            (Error::Internal, 500, "internal_error"),
            (Error::UpstreamUnavailable, 502, "upstream_unavailable"),
        ] {
            let a = Answer::error(error);
            assert_eq!(a.status(), status);
            let body: Value = serde_json::from_str(&a.body().unwrap()).unwrap();
            assert_eq!(body["code"], code);
        }
    }

    /// The Worker builds every answer but the forward-auth 200 with one call that takes up to three headers
    /// (`worker/respond.rs`), and refuses (500) an answer with more.
    #[test]
    fn every_answer_but_pass_has_one_to_three_headers_cache_control_first() {
        let errors = [Error::SignatureInvalid, Error::TokenMissing, Error::GroupNotAllowed, Error::Internal];
        let mut answers: Vec<Answer<'_>> = errors
            .iter()
            .flat_map(|e| [true, false].map(|sent| Answer::Refuse { error: e.clone(), credential_sent: sent }))
            .collect();
        answers.push(Answer::Json { status: 200, body: "{}".into() });
        answers.push(Answer::Redirect("/_gate/setup/"));
        for a in &answers {
            let h = a.headers("realm");
            assert!((1..=3).contains(&h.len()), "{a:?}: {h:?}");
            assert_eq!(h[0], ("cache-control", "no-store".into()));
        }
        assert!(answers.iter().any(|a| a.headers("realm").len() == 3), "a challenge takes the third");
    }

    #[test]
    fn forward_auth_pass_sends_all_four_identity_headers_and_no_body() {
        let id =
            Arc::new(Identity { sub: "u1".into(), email: None, preferred_username: Some("al".into()), groups: vec![] });
        let a = Answer::Pass(Some(&id));
        assert_eq!((a.status(), a.body()), (200, None));
        let h = a.headers("gate");
        assert!(h.contains(&("X-Auth-Request-User", "u1".into())));
        assert!(h.contains(&("X-Auth-Request-Email", String::new())));
        assert_eq!(h.iter().filter(|(n, _)| n.starts_with("X-Auth-Request-")).count(), 4);
        assert_eq!(Answer::Redirect("/x/").headers("r")[1], ("location", "/x/".into()));
    }

    #[test]
    fn healthz_lists_every_config_error_without_values() {
        let errors = vec![Error::Config { setting: "ISSUER".into(), message: "set ISSUER".into() }];
        let a = healthz(&Err(errors), &[], CacheSizes::default());
        assert_eq!(a.status(), 503);
        let body: Value = serde_json::from_str(&a.body().unwrap()).unwrap();
        assert_eq!(body["errors"][0]["setting"], "ISSUER");
        assert_eq!(body["code"], "config_invalid");
    }

    #[test]
    fn healthz_reports_every_cache_figure_and_the_wasm_memory() {
        let vars = [("ISSUER", "https://id.example.com"), ("AUDIENCE", "netbird"), ("ALLOW_GROUPS", "netbird-users")];
        let cfg = GateConfig::from_env(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()));
        let set = Arc::new(KeySet::from_json(br#"{"keys":[]}"#).unwrap());
        let sizes = CacheSizes {
            tokens: 1,
            tokens_capacity: 2,
            token_bytes: 3,
            identities: 4,
            identity_bytes: 5,
            crypto_keys: 6,
            wasm_memory: 7,
        };
        let a = healthz(&cfg, &[Ok(set)], sizes);
        assert_eq!(a.status(), 200);
        let body: Value = serde_json::from_str(&a.body().unwrap()).unwrap();
        let expected = json!({"tokens": 1, "tokens_capacity": 2, "token_bytes": 3, "identities": 4,
                              "identity_bytes": 5, "crypto_keys": 6});
        assert_eq!(body["caches"], expected);
        assert_eq!(body["wasm_memory"], 7);
    }
}
