//! The request pipeline, without I/O: from a request's method, path and `Authorization` header to an
//! [`Outcome`], in the one order every adapter takes (the Worker, the setup page's inspector, the benches and
//! the tests):
//! 1. the route ([`Routes::action`](crate::policy::Routes::action)): the method made canonical (upper-case;
//!    400 `method_invalid` when it is not an HTTP token), a path the table cannot judge safely refused (400
//!    `path_ambiguous`); a bypass route passes;
//! 2. the credential ([`credential`]): none, a bearer token, a personal access token (per
//!    `PERSONAL_ACCESS_TOKENS`) or another scheme;
//! 3. the verified-token cache: a hit is decided at once, and asks for a background key refresh
//!    ([`Outcome::refresh`]) when the issuer's keys are past their TTL;
//! 4. parsing and header checks ([`Verifier::prepare`](crate::verify::Verifier::prepare)), then the key
//!    ([`KeyCache::resolve`]): the pipeline may step out with [`Step::NeedKeys`];
//! 5. the signature, stepped out as [`Step::CheckSignature`]: the adapter's backend checks it, and
//!    [`Check::finish`] resumes;
//! 6. the claims, the token cache, the group check ([`authorize`]).
//!
//! An adapter owns the I/O only: it fetches keys, waits, runs the signature backend, and turns the outcome into
//! its own response. [`decide`] and [`decide_async`] drive the steps for adapters whose key source is a call.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::alg::Algorithm;
use crate::config::{GateConfig, PatMode};
use crate::crypto::{AsyncSignatureVerifier, SignatureVerifier};
use crate::error::Error;
use crate::jwk::{Jwk, KeySet};
use crate::keycache::{FetchOutcome, FetchReason, KeyCache, KeyCachePolicy, Resolution, StatedKeys};
use crate::policy::{Decision, Identity, RouteAction, authorize};
use crate::tokencache::TokenCache;
use crate::verify::{Awaiting, Verified};

/// The request as the pipeline sees it.
#[derive(Clone, Copy, Debug)]
pub struct Head<'a> {
    /// The method as received, any case: the route table makes it canonical ([`Method`](crate::policy::Method))
    /// before any rule sees it, so an adapter passes it on untouched.
    pub method: &'a str,
    /// The path, query allowed (the route table normalises it).
    pub path: &'a str,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<&'a str>,
}

/// What the `Authorization` header carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// No `Authorization` header (or an empty one).
    None,
    /// `Bearer <token>` (scheme case-insensitive).
    Bearer(&'a str),
    /// `Token <pat>`: a QuFabric personal access token (scheme case-insensitive).
    Pat,
    /// Any other scheme, or a scheme without a value.
    Other,
}

/// Parse an `Authorization` header value.
pub fn credential(value: Option<&str>) -> Credential<'_> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Credential::None;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim_start_matches(' ');
    if rest.is_empty() {
        return Credential::Other;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Credential::Bearer(rest)
    } else if scheme.eq_ignore_ascii_case("token") {
        Credential::Pat
    } else {
        Credential::Other
    }
}

/// The caches one adapter instance keeps between requests: one key cache per issuer (same index as the
/// verifier's issuers) and the verified-token cache.
#[derive(Debug)]
pub struct Caches {
    /// Per issuer: its key cache.
    pub keys: Vec<KeyCache>,
    /// Verified tokens.
    pub tokens: TokenCache,
}

impl Caches {
    /// Empty key caches for `cfg`'s issuers (the defaults of [`KeyCachePolicy`], with `max_stale` from
    /// `KEYS_STALE_SECONDS`), and `tokens`.
    pub fn new(cfg: &GateConfig, tokens: TokenCache) -> Caches {
        let policy = KeyCachePolicy { max_stale: cfg.keys_stale, ..KeyCachePolicy::default() };
        Caches { keys: cfg.keys.iter().map(|_| KeyCache::new(policy)).collect(), tokens }
    }

    /// Report the fetch of issuer `issuer`'s keys that a [`NeedKeys`] or [`Refresh`] asked for. A set without a
    /// usable key counts as a failed fetch ([`KeySet::require_usable`]): the last good keys stay, and the next
    /// attempt comes after the retry delay (loading it would wipe good keys and pin the outage for a whole TTL).
    /// After a load, cached verdicts of keys that left the set are dropped. `Ok`: the number of keys loaded;
    /// `Err`: why the fetch failed (for the log).
    pub fn complete(&mut self, issuer: usize, outcome: FetchOutcome, now: u64) -> Result<usize, Error> {
        let outcome = match outcome {
            FetchOutcome::Loaded { keys, max_age } => match keys.require_usable() {
                Ok(()) => FetchOutcome::Loaded { keys, max_age },
                Err(e) => FetchOutcome::Failed(e),
            },
            failed => failed,
        };
        let Some(cache) = self.keys.get_mut(issuer) else {
            return Err(no_issuer());
        };
        let result = match &outcome {
            FetchOutcome::Loaded { keys, .. } => Ok(keys.keys().len()),
            FetchOutcome::Failed(e) => Err(e.clone()),
        };
        cache.complete(outcome, now);
        if let (Ok(_), Ok(set)) = (&result, cache.keys(now)) {
            self.tokens.retain_keys(issuer, &set);
        }
        result
    }

    /// Load the key set issuer `issuer`'s source states ([`StatedKeys`]: the Traefik plugin's `jwksFile`), unlike
    /// [`Caches::complete`] even when it has no usable key: an empty statement revokes every key (lookups then
    /// fail with [`Error::KeysUnavailable`]). Fresh for the policy's `max_ttl`; cached verdicts of keys that left
    /// the set are dropped. Returns the number of usable keys.
    pub fn state(&mut self, issuer: usize, stated: StatedKeys, now: u64) -> Result<usize, Error> {
        let cache = self.keys.get_mut(issuer).ok_or_else(no_issuer)?;
        let (StatedKeys(keys), ttl) = (stated, cache.policy().max_ttl);
        let usable = keys.keys().len();
        cache.complete(FetchOutcome::Loaded { keys, max_age: Some(ttl) }, now);
        if let Ok(set) = cache.keys(now) {
            self.tokens.retain_keys(issuer, &set);
        }
        Ok(usable)
    }

    /// The cached verdict for `token` at `now`, if its key is still in its issuer's set.
    fn cached(&mut self, token: &str, now: u64) -> Option<Arc<Verified>> {
        let keys = &self.keys;
        self.tokens.get(token, now, |v| {
            keys.get(v.issuer).and_then(|c| c.keys(now).ok()).is_some_and(|set| set.contains_thumbprint(&v.thumbprint))
        })
    }

    /// A background refresh of issuer `issuer`'s keys, when they are past their TTL and the cache lets a fetch
    /// start now (single flight, the retry delay after a failure). While the keys are fresh this is one
    /// comparison.
    fn refresh_due(&mut self, issuer: usize, now: u64) -> Option<Refresh> {
        let cache = self.keys.get_mut(issuer)?;
        if cache.is_fresh(now) {
            return None;
        }
        match cache.key_set(now) {
            Resolution::Fetch(reason) => Some(Refresh { issuer, reason }),
            _ => None,
        }
    }
}

fn no_issuer() -> Error {
    Error::KeysUnavailable { reason: "no key cache for this issuer".into() }
}

/// The gate's verdict on one request, with what the log needs.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What to do.
    pub verdict: Verdict,
    /// The verified token behind the verdict (its issuer index and `kid` go to the log).
    pub verified: Option<Arc<Verified>>,
    /// Whether the verdict came from the verified-token cache.
    pub cached: bool,
    /// A key refresh the adapter should run in the background (it holds the single-flight slot: report it with
    /// [`Caches::complete`]). Only on a cached verdict whose issuer keys are past their TTL.
    pub refresh: Option<Refresh>,
}

/// A background key refresh (see [`Outcome::refresh`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refresh {
    /// The issuer's index.
    pub issuer: usize,
    /// Why (for the log).
    pub reason: FetchReason,
}

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The route needs no token.
    Bypass,
    /// A personal access token passed through untouched (`PERSONAL_ACCESS_TOKENS=pass`).
    PatPass,
    /// An allowed user.
    Allow(Arc<Identity>),
    /// Refused.
    Deny {
        /// Why (its status and stable code).
        error: Error,
        /// Whether the client sent a credential (the `WWW-Authenticate` challenge then says `invalid_token`).
        credential_sent: bool,
    },
}

impl Outcome {
    fn of(verdict: Verdict) -> Outcome {
        Outcome { verdict, verified: None, cached: false, refresh: None }
    }

    /// A refusal with `error`.
    pub fn deny(error: Error, credential_sent: bool) -> Outcome {
        Outcome::of(Verdict::Deny { error, credential_sent })
    }

    /// The log's decision name: `bypass`, `pat_pass`, `allow` or `deny`.
    pub fn decision(&self) -> &'static str {
        match &self.verdict {
            Verdict::Bypass => "bypass",
            Verdict::PatPass => "pat_pass",
            Verdict::Allow(_) => "allow",
            Verdict::Deny { .. } => "deny",
        }
    }

    /// The stable code of a refusal.
    pub fn code(&self) -> Option<&'static str> {
        match &self.verdict {
            Verdict::Deny { error, .. } => Some(error.code()),
            _ => None,
        }
    }

    /// The HTTP status of the verdict: 200, or the refusal's.
    pub fn status(&self) -> u16 {
        match &self.verdict {
            Verdict::Deny { error, .. } => error.http_status(),
            _ => 200,
        }
    }

    /// The `iss` of the verified token, when there is one.
    pub fn issuer<'c>(&self, cfg: &'c GateConfig) -> Option<&'c str> {
        let i = self.verified.as_ref()?.issuer;
        cfg.verifier.issuers().get(i).map(|c| c.issuer.as_str())
    }

    /// The `kid` of the key that verified the token, when there is one.
    pub fn kid(&self) -> Option<&str> {
        self.verified.as_ref()?.kid.as_deref()
    }
}

/// Where the pipeline stands.
#[derive(Debug)]
pub enum Step {
    /// Decided.
    Done(Outcome),
    /// The issuer's keys must be fetched (or another request's fetch awaited) first.
    NeedKeys(NeedKeys),
    /// The signature must be checked with the key found.
    CheckSignature(Check),
}

/// A verification waiting for its issuer's keys. Fetch when [`NeedKeys::fetch`] says so (then report with
/// [`Caches::complete`]), or wait a moment; then [`NeedKeys::resume`]. An adapter that can wait no longer ends
/// with [`NeedKeys::give_up`].
#[derive(Debug)]
pub struct NeedKeys {
    /// The issuer's index.
    pub issuer: usize,
    /// `Some(reason)`: fetch now (this request holds the single-flight slot); `None`: another fetch is in flight.
    pub fetch: Option<FetchReason>,
    pending: Pending,
    /// The refusal that stands if the wait ends without new keys.
    standing: Error,
}

impl NeedKeys {
    /// Continue once the fetch was reported (or after a moment of waiting).
    pub fn resume(self, cfg: &GateConfig, caches: &mut Caches, now: u64) -> Step {
        self.pending.verify(cfg, caches, now)
    }

    /// The refusal when the wait for another request's fetch ran out.
    pub fn give_up(self) -> Outcome {
        Outcome::deny(self.standing, true)
    }
}

/// A bearer token that missed the cache, with its route.
#[derive(Debug)]
struct Pending {
    action: RouteAction,
    token: String,
}

impl Pending {
    /// Parse, header checks, then the key; a step out for keys or for the signature.
    fn verify(self, cfg: &GateConfig, caches: &mut Caches, now: u64) -> Step {
        let mut prepared = match cfg.verifier.prepare(&self.token) {
            Ok(p) => p,
            Err(e) => return Step::Done(Outcome::deny(e, true)),
        };
        let issuer = prepared.issuer();
        let Some(cache) = caches.keys.get_mut(issuer) else {
            return Step::Done(Outcome::deny(no_issuer(), true));
        };
        let (fetch, standing) = match cache.resolve(prepared.kid(), prepared.alg(), now) {
            Resolution::Found((set, index)) => {
                let (signed, alg, signature) =
                    (prepared.signing_input().len(), prepared.alg(), prepared.take_signature());
                let awaiting = prepared.awaiting(&set.keys()[index]);
                let Pending { action, token } = self;
                return Step::CheckSignature(Check { action, token, signed, signature, set, index, alg, awaiting });
            }
            Resolution::Refused(e) => return Step::Done(Outcome::deny(e, true)),
            Resolution::Fetch(reason) => {
                (Some(reason), Error::KeysUnavailable { reason: "the issuer's keys could not be loaded".into() })
            }
            Resolution::Wait(e) => (None, e),
        };
        Step::NeedKeys(NeedKeys { issuer, fetch, pending: self, standing })
    }
}

/// A token whose signature must be checked with [`Check::key`] before [`Check::finish`]. Owns everything (the
/// token, the key set), so it can wait across calls.
#[derive(Debug)]
pub struct Check {
    action: RouteAction,
    token: String,
    /// Length of the signing input (the token up to its second `.`).
    signed: usize,
    signature: Vec<u8>,
    set: Arc<KeySet>,
    index: usize,
    alg: Algorithm,
    awaiting: Awaiting,
}

impl Check {
    /// The key to verify with.
    pub fn key(&self) -> &Jwk {
        &self.set.keys()[self.index]
    }
    /// The algorithm, allowed for the issuer and fitting the key.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }
    /// The bytes the signature covers.
    pub fn signing_input(&self) -> &[u8] {
        &self.token.as_bytes()[..self.signed]
    }
    /// The decoded signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Conclude with the signature's result (`Ok`: it verified): the claims at `now`, the token cache, the
    /// group check.
    pub fn finish(self, cfg: &GateConfig, caches: &mut Caches, signature: Result<(), Error>, now: u64) -> Outcome {
        match signature.and_then(|()| self.awaiting.finish(&cfg.verifier, now)) {
            Ok(v) => {
                let verified = Arc::new(v);
                caches.tokens.insert(&self.token, Arc::clone(&verified), now);
                conclude(cfg, &self.action, verified, false)
            }
            Err(e) => Outcome::deny(e, true),
        }
    }
}

/// Start deciding `head` at `now`.
pub fn begin(cfg: &GateConfig, caches: &mut Caches, head: Head<'_>, now: u64) -> Step {
    let action = match cfg.routes.action(head.method, head.path) {
        Ok(action) => action,
        Err(e) => return Step::Done(Outcome::deny(e, head.authorization.is_some())),
    };
    if *action == RouteAction::Bypass {
        return Step::Done(Outcome::of(Verdict::Bypass));
    }
    let token = match credential(head.authorization) {
        Credential::Bearer(t) => t,
        Credential::Pat if cfg.pat == PatMode::Pass => return Step::Done(Outcome::of(Verdict::PatPass)),
        Credential::Pat => return Step::Done(Outcome::deny(Error::PatNotAllowed, true)),
        Credential::Other => return Step::Done(Outcome::deny(Error::TokenMissing, true)),
        Credential::None => return Step::Done(Outcome::deny(Error::TokenMissing, false)),
    };
    if let Some(verified) = caches.cached(token, now) {
        let refresh = caches.refresh_due(verified.issuer, now);
        return Step::Done(Outcome { refresh, ..conclude(cfg, action, verified, true) });
    }
    Pending { action: action.clone(), token: token.to_owned() }.verify(cfg, caches, now)
}

/// The verdict for a verified token on a route that requires a user.
fn conclude(cfg: &GateConfig, action: &RouteAction, verified: Arc<Verified>, cached: bool) -> Outcome {
    let verdict = match authorize(action, cfg.verifier.issuers(), &verified) {
        Decision::Allow(id) => Verdict::Allow(id),
        Decision::Bypass => Verdict::Bypass,
        Decision::Deny(error) => Verdict::Deny { error, credential_sent: true },
    };
    Outcome { verdict, verified: Some(verified), cached, refresh: None }
}

/// Decide `head` with a key source and an asynchronous signature backend: `fetch(i)` fetches issuer `i`'s key
/// set whenever the pipeline asks (a fetch, a background refresh); a wait for another fetch cannot happen with
/// one caller and is refused with the standing error.
pub async fn decide_async(
    cfg: &GateConfig,
    caches: &mut Caches,
    head: Head<'_>,
    now: u64,
    mut fetch: impl FnMut(usize) -> FetchOutcome,
    backend: &impl AsyncSignatureVerifier,
) -> Outcome {
    let mut step = begin(cfg, caches, head, now);
    loop {
        step = match step {
            Step::Done(mut outcome) => {
                if let Some(r) = outcome.refresh.take() {
                    // The caller learns nothing from a refresh's result: the next request sees the new keys.
                    let _ = caches.complete(r.issuer, fetch(r.issuer), now);
                }
                return outcome;
            }
            Step::NeedKeys(need) if need.fetch.is_some() => {
                // The failure, if any, stays in the cache and is what the next step refuses with.
                let _ = caches.complete(need.issuer, fetch(need.issuer), now);
                need.resume(cfg, caches, now)
            }
            Step::NeedKeys(need) => return need.give_up(),
            Step::CheckSignature(check) => {
                let signature =
                    backend.verify_async(check.key(), check.alg(), check.signing_input(), check.signature()).await;
                return check.finish(cfg, caches, signature, now);
            }
        }
    }
}

/// [`decide_async`] with a synchronous backend (RustCrypto, ring): no executor needed.
pub fn decide(
    cfg: &GateConfig,
    caches: &mut Caches,
    head: Head<'_>,
    now: u64,
    fetch: impl FnMut(usize) -> FetchOutcome,
    backend: &impl SignatureVerifier,
) -> Outcome {
    let future = pin!(decide_async(cfg, caches, head, now, fetch, backend));
    // A synchronous backend's future is ready at its first poll: nothing in the pipeline waits.
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => Outcome::deny(Error::Internal, head.authorization.is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(credential(Some("Bearer abc.def.ghi")), Credential::Bearer("abc.def.ghi"));
        assert_eq!(credential(Some("bEaReR  abc")), Credential::Bearer("abc"));
        assert_eq!(credential(Some("Token nbp_123")), Credential::Pat);
        assert_eq!(credential(Some("token nbp_123")), Credential::Pat);
        assert_eq!(credential(Some("Basic dXNlcjpwdw==")), Credential::Other);
        assert_eq!(credential(Some("Bearer")), Credential::Other);
        assert_eq!(credential(Some("  ")), Credential::None);
        assert_eq!(credential(None), Credential::None);
    }
}
