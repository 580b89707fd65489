//! The verification steps of one token, in order (the request around them is [`crate::request`]):
//! size caps and strict parsing → issuer selection (by the unverified `iss`, exact match) → header checks
//! (`crit`, `cty`, `typ`, `alg` allowlist) → key selection by `kid` → signature → claims.
//!
//! The steps are exposed separately ([`Verifier::prepare`], [`Prepared::select_key`], [`Prepared::finish`])
//! so that an adapter can refresh a key set on an unknown `kid` and use an asynchronous backend (WebCrypto);
//! [`Verifier::verify`] and [`Verifier::verify_async`] run them all.

use std::sync::Arc;

use crate::alg::{Algorithm, AlgorithmSet};
use crate::claims::{self, ClaimNames, ClaimRules, Claims};
use crate::crypto::{AsyncSignatureVerifier, SignatureVerifier};
use crate::error::{Error, clip};
use crate::jwk::{Jwk, KeySet};
use crate::policy::{GroupRule, Identity, LocalUsers};
use crate::token::{self, Jws, Limits};

/// Default clock leeway, seconds.
pub const DEFAULT_LEEWAY: u64 = 60;
/// Default longest accepted token lifetime, seconds: one day. PocketID's ID tokens live one hour; QuFabric's
/// embedded IdP (Dex) mints ID tokens for 24 hours (NetBird `idp/dex/provider.go`: `IDTokensValidFor: 24 *
/// time.Hour`), which this default admits exactly.
pub const DEFAULT_MAX_TOKEN_AGE: u64 = 86_400;
/// Default groups claim.
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";

/// One trusted issuer: what its tokens must satisfy, and who of its users may pass by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerConfig {
    /// The exact `iss` (PocketID: the instance URL, lowercase, no trailing slash).
    pub issuer: String,
    /// Accepted audiences (the OIDC client id); at least one.
    pub audiences: Vec<String>,
    /// Allowed algorithms. Default: all seven (RS256/384/512, ES256/384/512, EdDSA).
    pub algorithms: AlgorithmSet,
    /// Clock leeway, seconds. Default [`DEFAULT_LEEWAY`] (60).
    pub leeway: u64,
    /// Longest accepted lifetime, seconds: `exp − iat`, and `exp − now` (plus the leeway). Default
    /// [`DEFAULT_MAX_TOKEN_AGE`] (86 400).
    pub max_token_age: u64,
    /// Claim holding the groups. Default [`DEFAULT_GROUPS_CLAIM`] (`groups`).
    pub groups_claim: String,
    /// Who may pass on routes that do not name their own rule.
    pub groups: GroupRule,
    /// Whether the embedded IdP's local users pass [`IssuerConfig::groups`] without groups. Default
    /// [`LocalUsers::Groups`] (they need the groups, like everyone).
    pub local_users: LocalUsers,
}

impl IssuerConfig {
    /// An issuer with the defaults above.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>, groups: GroupRule) -> IssuerConfig {
        IssuerConfig {
            issuer: issuer.into(),
            audiences,
            algorithms: AlgorithmSet::all(),
            leeway: DEFAULT_LEEWAY,
            max_token_age: DEFAULT_MAX_TOKEN_AGE,
            groups_claim: DEFAULT_GROUPS_CLAIM.to_owned(),
            groups,
            local_users: LocalUsers::Groups,
        }
    }
}

/// A successfully verified token: what the gate keeps of it (the verified-token cache holds this, so it is
/// compact: the identity the policy and the upstream need, never the claims map).
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// Index of the issuer in the [`Verifier`]'s list.
    pub issuer: usize,
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The `kid` of the key that verified it, if any.
    pub kid: Option<String>,
    /// Thumbprint of the key that verified it.
    pub thumbprint: [u8; 32],
    /// `exp`, seconds.
    pub exp: f64,
    /// The user: `sub`, `email`, `preferred_username`, and the groups read from the issuer's `groups_claim`.
    /// Shared: the cache entry, the outcome and the verdict hold the same one (a 300-group identity is never
    /// copied per request).
    pub identity: Arc<Identity>,
}

impl Verified {
    /// The heap bytes this value holds beyond its own size (the `kid` and the identity's strings), for caches
    /// that bound what they hold.
    pub fn heap_bytes(&self) -> usize {
        // The identity's own allocation (with the `Arc`'s two counters), then its strings.
        let identity = std::mem::size_of::<Identity>() + 2 * std::mem::size_of::<usize>();
        self.kid.as_ref().map_or(0, String::capacity) + identity + self.identity.heap_bytes()
    }
}

/// The trusted issuers and the size caps: everything needed to verify, except keys, a backend and the time.
#[derive(Clone, Debug)]
pub struct Verifier {
    issuers: Vec<IssuerConfig>,
    limits: Limits,
    /// The payload members read: the registered claims and every issuer's groups claim.
    names: Arc<ClaimNames>,
}

impl Verifier {
    /// Validate and build. Errors ([`Error::Config`]) when there is no issuer, an issuer is listed twice, has no
    /// audience or no algorithm.
    pub fn new(issuers: Vec<IssuerConfig>, limits: Limits) -> Result<Verifier, Error> {
        let bad = |message: String| Err(Error::Config { setting: "ISSUER".into(), message });
        if issuers.is_empty() {
            return bad("no trusted issuer is configured; set ISSUER".into());
        }
        for (i, cfg) in issuers.iter().enumerate() {
            if issuers[..i].iter().any(|o| o.issuer == cfg.issuer) {
                return bad(format!("issuer {:?} is listed twice; list each issuer once", cfg.issuer));
            }
            if cfg.audiences.is_empty() || cfg.audiences.iter().any(String::is_empty) {
                return Err(Error::Config {
                    setting: "AUDIENCE".into(),
                    message: format!(
                        "issuer {:?} needs at least one non-empty audience (the OIDC client id)",
                        cfg.issuer
                    ),
                });
            }
            if cfg.algorithms.is_empty() {
                return Err(Error::Config {
                    setting: "ALGORITHMS".into(),
                    message: format!("issuer {:?} allows no algorithm", cfg.issuer),
                });
            }
        }
        let names = Arc::new(ClaimNames::new(issuers.iter().map(|i| i.groups_claim.as_str())));
        Ok(Verifier { issuers, limits, names })
    }

    /// The issuers, in configuration order.
    pub fn issuers(&self) -> &[IssuerConfig] {
        &self.issuers
    }

    /// Parse, select the issuer and check the header. No key and no signature yet.
    pub fn prepare<'t>(&self, token: &'t str) -> Result<Prepared<'t>, Error> {
        let mut jws = token::parse(token, &self.limits)?;
        jws.header.check_shape()?;
        jws.header.algorithm(AlgorithmSet::all())?;
        let claims = Claims::read(std::mem::take(&mut jws.payload), &self.names)?;
        let iss = claims.issuer()?;
        let issuer = self.issuers.iter().position(|c| c.issuer == iss).ok_or(Error::IssuerNotTrusted)?;
        let alg = jws.header.algorithm(self.issuers[issuer].algorithms)?;
        Ok(Prepared { jws, claims, issuer, alg })
    }

    /// All steps with a synchronous backend. `keys(i)` gives the key set of issuer `i`.
    pub fn verify<'k>(
        &self,
        token: &str,
        keys: impl Fn(usize) -> Option<&'k KeySet>,
        backend: &impl SignatureVerifier,
        now: u64,
    ) -> Result<Verified, Error> {
        let (prepared, key) = self.locate(token, keys)?;
        backend.verify(key, prepared.alg, prepared.signing_input(), prepared.signature())?;
        prepared.finish(self, key, now)
    }

    /// All steps with an asynchronous backend (WebCrypto).
    pub async fn verify_async<'k>(
        &self,
        token: &str,
        keys: impl Fn(usize) -> Option<&'k KeySet>,
        backend: &impl AsyncSignatureVerifier,
        now: u64,
    ) -> Result<Verified, Error> {
        let (prepared, key) = self.locate(token, keys)?;
        backend.verify_async(key, prepared.alg, prepared.signing_input(), prepared.signature()).await?;
        prepared.finish(self, key, now)
    }

    /// The steps before the signature, shared by [`Verifier::verify`] and [`Verifier::verify_async`]:
    /// prepare, then the key for the token in its issuer's set.
    fn locate<'t, 'k>(
        &self,
        token: &'t str,
        keys: impl Fn(usize) -> Option<&'k KeySet>,
    ) -> Result<(Prepared<'t>, &'k Jwk), Error> {
        let prepared = self.prepare(token)?;
        let set = keys(prepared.issuer).ok_or_else(no_keys)?;
        let key = prepared.select_key(set)?;
        Ok((prepared, key))
    }
}

fn no_keys() -> Error {
    Error::KeysUnavailable { reason: "no key set loaded for this issuer".into() }
}

/// A token that passed parsing and header checks, waiting for its signature to be verified.
#[derive(Clone, Debug)]
pub struct Prepared<'t> {
    /// The token (its payload moved into `claims`).
    jws: Jws<'t>,
    claims: Claims,
    issuer: usize,
    alg: Algorithm,
}

impl<'t> Prepared<'t> {
    /// Index of the (unverified, but exactly matching) issuer.
    pub fn issuer(&self) -> usize {
        self.issuer
    }
    /// The header's algorithm, already allowed for this issuer.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }
    /// The header's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.jws.header.kid.as_deref()
    }
    /// The bytes the signature covers.
    pub fn signing_input(&self) -> &'t [u8] {
        self.jws.signing_input
    }
    /// The decoded signature.
    pub fn signature(&self) -> &[u8] {
        &self.jws.signature
    }
    /// The decoded signature, moved out (for an adapter that checks it later; [`Prepared::signature`] is then
    /// empty).
    pub fn take_signature(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.jws.signature)
    }
    /// The key for this token in `keys` (by `kid`, fitting `alg`).
    ///
    /// A set without a single usable key is an outage ([`KeySet::require_usable`]), not a bad token.
    pub fn select_key<'k>(&self, keys: &'k KeySet) -> Result<&'k Jwk, Error> {
        keys.require_usable()?;
        keys.select(self.kid(), self.alg).map_err(|e| match e {
            Error::KeyNotFound { kid } => Error::KeyNotFound { kid: kid.map(|k| clip(&k, 64)) },
            other => other,
        })
    }
    /// After the signature verified with `key`: check the claims at `now`.
    pub fn finish(self, verifier: &Verifier, key: &Jwk, now: u64) -> Result<Verified, Error> {
        self.awaiting(key).finish(verifier, now)
    }

    /// What [`Prepared::finish`] needs once the signature with `key` has been started, without the token's
    /// bytes: for an adapter that hands the signature check to the host and resumes later.
    pub fn awaiting(self, key: &Jwk) -> Awaiting {
        Awaiting {
            claims: self.claims,
            issuer: self.issuer,
            alg: self.alg,
            kid: key.kid.clone(),
            thumbprint: key.thumbprint,
        }
    }
}

/// A token whose signature check (with a known key) is in flight: call [`Awaiting::finish`] only after it
/// succeeded. Owns its data (no borrow of the token), so it can wait across calls.
#[derive(Clone, Debug)]
pub struct Awaiting {
    claims: Claims,
    issuer: usize,
    alg: Algorithm,
    kid: Option<String>,
    thumbprint: [u8; 32],
}

impl Awaiting {
    /// After the signature verified: check the claims at `now`.
    pub fn finish(self, verifier: &Verifier, now: u64) -> Result<Verified, Error> {
        let cfg = verifier.issuers.get(self.issuer).ok_or(Error::IssuerNotTrusted)?;
        let rules = ClaimRules {
            issuer: &cfg.issuer,
            audiences: &cfg.audiences,
            leeway: cfg.leeway,
            max_token_age: cfg.max_token_age,
        };
        let exp = claims::validate(&self.claims, &rules, now)?;
        // The compact identity is all that is kept: the payload ends here.
        let identity = Arc::new(self.claims.identity(&cfg.groups_claim));
        Ok(Verified { issuer: self.issuer, alg: self.alg, kid: self.kid, thumbprint: self.thumbprint, exp, identity })
    }
}
