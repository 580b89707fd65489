//! Test support: a PocketID-shaped token MINTER, independent of the verifier.
//!
//! Keys are fixed private JWKs from `tests/fixtures/` (see its README for how they were made), embedded with
//! `include_str!` so this compiles and runs on wasm32 too (no file system at run time). Signatures are made with
//! the RustCrypto *signing* keys (`rsa::pkcs1v15::SigningKey`, `p256::ecdsa::SigningKey`, …, `ed25519_dalek`);
//! nothing here calls PocketGate's parsing or verification code. Only `pocketgate::alg::Algorithm` is borrowed,
//! as a name.
//!
//! ```ignore
//! mod support;
//! use support::{Issuer, NOW};
//! let issuer = Issuer::rs256();
//! let jwks = issuer.jwks_json();                                  // what PocketID serves
//! let token = issuer.id_token(serde_json::json!({}));             // Alice, groups ["netbird-users"], exp NOW+3600
//! let other = issuer.id_token(serde_json::json!({"aud": "netbird", "nonce": null})); // string aud, no nonce
//! ```
#![allow(dead_code)]

pub mod gate;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pocketgate::alg::Algorithm;
use serde_json::{Map, Value, json};
use signature::{SignatureEncoding, Signer};

/// The fixed "now" of every test: 2026-01-01T00:00:00Z.
pub const NOW: u64 = 1_767_225_600;
/// The issuer of the default [`Issuer`]s (PocketID: lowercase URL, no trailing slash).
pub const ISSUER: &str = "https://id.example.com";
/// The OIDC client id QuFabric uses, and so the `aud` of its ID tokens.
pub const CLIENT_ID: &str = "netbird";
/// ID-token lifetime used by PocketID: one hour.
pub const LIFETIME: u64 = 3600;
/// Alice's `sub` (PocketID uses the user's UUID).
pub const SUB: &str = "3b1e5f0a-7c2d-4e8f-9a6b-1c2d3e4f5a6b";

/// The private JWK fixtures, by file name.
pub mod fixtures {
    /// RSA-2048, `alg` RS256.
    pub const RS256: &str = include_str!("../fixtures/rs256.jwk.json");
    /// RSA-2048, `alg` RS384.
    pub const RS384: &str = include_str!("../fixtures/rs384.jwk.json");
    /// RSA-2048, `alg` RS512.
    pub const RS512: &str = include_str!("../fixtures/rs512.jwk.json");
    /// RSA-1024 (weak, must be rejected), `alg` RS256.
    pub const RSA1024_WEAK: &str = include_str!("../fixtures/rsa1024-weak.jwk.json");
    /// P-256, `alg` ES256.
    pub const ES256: &str = include_str!("../fixtures/es256.jwk.json");
    /// P-384, `alg` ES384.
    pub const ES384: &str = include_str!("../fixtures/es384.jwk.json");
    /// P-521, `alg` ES512.
    pub const ES512: &str = include_str!("../fixtures/es512.jwk.json");
    /// Ed25519, `alg` EdDSA.
    pub const EDDSA: &str = include_str!("../fixtures/eddsa.jwk.json");
}

/// base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).expect("fixture member is base64url")
}

#[derive(Clone)]
enum Key {
    Rsa(rsa::PrivateKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A PocketID instance in miniature: one signing key, its `kid`, its issuer URL.
#[derive(Clone)]
pub struct Issuer {
    /// The `iss` it puts in tokens. Default [`ISSUER`].
    pub iss: String,
    /// The `kid` in token headers and in the JWKS (11 characters, like PocketID's). Default: the fixture's.
    pub kid: String,
    /// The algorithm it signs with and announces in the JWKS.
    pub alg: Algorithm,
    key: Key,
    /// The fixture's public members (kty, n/e or crv/x/y), no metadata.
    public: Map<String, Value>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer").field("iss", &self.iss).field("kid", &self.kid).field("alg", &self.alg).finish()
    }
}

impl Issuer {
    /// RSA-2048 signing RS256 (PocketID's default).
    pub fn rs256() -> Issuer {
        Issuer::from_fixture(fixtures::RS256, Algorithm::RS256)
    }
    /// RSA-2048 signing RS384.
    pub fn rs384() -> Issuer {
        Issuer::from_fixture(fixtures::RS384, Algorithm::RS384)
    }
    /// RSA-2048 signing RS512.
    pub fn rs512() -> Issuer {
        Issuer::from_fixture(fixtures::RS512, Algorithm::RS512)
    }
    /// P-256 signing ES256.
    pub fn es256() -> Issuer {
        Issuer::from_fixture(fixtures::ES256, Algorithm::ES256)
    }
    /// P-384 signing ES384.
    pub fn es384() -> Issuer {
        Issuer::from_fixture(fixtures::ES384, Algorithm::ES384)
    }
    /// P-521 signing ES512.
    pub fn es512() -> Issuer {
        Issuer::from_fixture(fixtures::ES512, Algorithm::ES512)
    }
    /// Ed25519 signing EdDSA.
    pub fn eddsa() -> Issuer {
        Issuer::from_fixture(fixtures::EDDSA, Algorithm::EdDSA)
    }
    /// A WEAK RSA-1024 key signing RS256: its JWKS must be rejected (`key_invalid`).
    pub fn rsa1024_weak() -> Issuer {
        Issuer::from_fixture(fixtures::RSA1024_WEAK, Algorithm::RS256)
    }
    /// The issuer for `alg` (one of the seven above).
    pub fn for_alg(alg: Algorithm) -> Issuer {
        match alg {
            Algorithm::RS256 => Issuer::rs256(),
            Algorithm::RS384 => Issuer::rs384(),
            Algorithm::RS512 => Issuer::rs512(),
            Algorithm::ES256 => Issuer::es256(),
            Algorithm::ES384 => Issuer::es384(),
            Algorithm::ES512 => Issuer::es512(),
            Algorithm::EdDSA => Issuer::eddsa(),
        }
    }
    /// One issuer per PocketID algorithm, in [`Algorithm::ALL`] order.
    pub fn all() -> Vec<Issuer> {
        Algorithm::ALL.into_iter().map(Issuer::for_alg).collect()
    }

    /// The same key under another `iss`.
    pub fn with_iss(mut self, iss: &str) -> Issuer {
        self.iss = iss.to_owned();
        self
    }
    /// The same key under another `kid`.
    pub fn with_kid(mut self, kid: &str) -> Issuer {
        self.kid = kid.to_owned();
        self
    }

    /// Load a private JWK fixture (any of [`fixtures`]) to sign with `alg`.
    pub fn from_fixture(jwk_json: &str, alg: Algorithm) -> Issuer {
        let jwk: Map<String, Value> = serde_json::from_str(jwk_json).expect("fixture is a JSON object");
        let m = |name: &str| unb64(jwk[name].as_str().expect("fixture member"));
        let (key, public_names): (Key, &[&str]) = match jwk["kty"].as_str() {
            Some("RSA") => {
                let int = |name: &str| rsa::BoxedUint::from_be_slice_vartime(&m(name));
                let key = rsa::PrivateKey::from_components(int("n"), int("e"), int("d"), vec![int("p"), int("q")])
                    .expect("fixture RSA key is consistent");
                (Key::Rsa(key), &["kty", "n", "e"])
            }
            Some("EC") => {
                let d = m("d");
                let key = match jwk["crv"].as_str() {
                    Some("P-256") => Key::P256(p256::ecdsa::SigningKey::from_slice(&d).expect("P-256 scalar")),
                    Some("P-384") => Key::P384(p384::ecdsa::SigningKey::from_slice(&d).expect("P-384 scalar")),
                    Some("P-521") => Key::P521(p521::ecdsa::SigningKey::from_slice(&d).expect("P-521 scalar")),
                    other => panic!("fixture curve {other:?}"),
                };
                (key, &["kty", "crv", "x", "y"])
            }
            Some("OKP") => {
                let seed: [u8; 32] = m("d").try_into().expect("Ed25519 seed is 32 bytes");
                (Key::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)), &["kty", "crv", "x"])
            }
            other => panic!("fixture kty {other:?}"),
        };
        let public = public_names.iter().map(|n| (n.to_string(), jwk[*n].clone())).collect();
        Issuer { iss: ISSUER.to_owned(), kid: jwk["kid"].as_str().expect("fixture kid").to_owned(), alg, key, public }
    }

    // ------------------------------------------------------------------ keys

    /// The public JWK exactly as PocketID serves it: the key members plus `alg`, `kid`, `use: "sig"`.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.public.clone();
        jwk.insert("alg".into(), json!(self.alg.name()));
        jwk.insert("kid".into(), json!(self.kid));
        jwk.insert("use".into(), json!("sig"));
        Value::Object(jwk)
    }

    /// The public key members only (`kty` and `n`/`e`, or `crv`/`x`/`y`), without `alg`, `kid` or `use`.
    pub fn bare_public_jwk(&self) -> Value {
        Value::Object(self.public.clone())
    }

    /// The JWKS document PocketID serves: `{"keys":[{…}]}`, members in PocketID's (alphabetical) order, compact.
    pub fn jwks_json(&self) -> String {
        jwks_json_of(&[self.public_jwk()])
    }

    // ---------------------------------------------------------------- tokens

    /// A PocketID ID token for Alice: header `{"alg","kid","typ":"JWT"}`, payload [`id_token_claims`] with this
    /// issuer's `iss`, then `overrides` merged in (each member replaces the default; `null` removes the claim).
    pub fn id_token(&self, overrides: Value) -> String {
        let claims = merge(id_token_claims_for(&self.iss, NOW, SUB, &["netbird-users"]), overrides);
        self.sign_claims(&claims)
    }

    /// An ID token for `sub` with `groups`, issued at `now` (exp `now + 3600`).
    pub fn id_token_for(&self, now: u64, sub: &str, groups: &[&str]) -> String {
        self.sign_claims(&id_token_claims_for(&self.iss, now, sub, groups))
    }

    /// A PocketID OAuth access token (RFC 9068, v2.13+): header `typ: at+jwt`, [`access_token_claims`] with this
    /// issuer, then `overrides`. Must never pass as an ID token.
    pub fn access_token(&self, overrides: Value) -> String {
        let claims = merge(access_token_claims_for(&self.iss, NOW, SUB), overrides);
        self.sign_raw(&self.header_json(Some("at+jwt")), &claims.to_string())
    }

    /// PocketID's own admin-UI session token (`aud` = `iss`, `type: access-token`), then `overrides`.
    pub fn session_token(&self, overrides: Value) -> String {
        let claims = merge(session_token_claims_for(&self.iss, NOW, SUB), overrides);
        self.sign_claims(&claims)
    }

    /// Sign `claims` under the standard header `{"alg":…,"kid":…,"typ":"JWT"}`.
    pub fn sign_claims(&self, claims: &Value) -> String {
        self.sign_raw(&self.header_json(Some("JWT")), &claims.to_string())
    }

    /// The standard header JSON: `{"alg":"…","kid":"…","typ":"…"}` (no `typ` when `None`).
    pub fn header_json(&self, typ: Option<&str>) -> String {
        let mut h = json!({"alg": self.alg.name(), "kid": self.kid});
        if let Some(t) = typ {
            h["typ"] = json!(t);
        }
        h.to_string()
    }

    /// Hand-crafted tokens: base64url both JSON texts as given (byte for byte, so duplicate members or odd
    /// whitespace survive) and sign them with this issuer's key and algorithm.
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        let signing_input = format!("{}.{}", b64(header_json), b64(payload_json));
        let sig = self.sign_bytes(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(sig))
    }

    /// The raw JWS signature of `message` (RSA: modulus length; ECDSA: P1363 `r‖s`; Ed25519: 64 bytes).
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        self.sign_bytes_as(self.alg, message)
    }

    /// As [`Issuer::sign_bytes`] with another hash for RSA keys (RS256/384/512); EC and Ed25519 keys ignore `alg`.
    pub fn sign_bytes_as(&self, alg: Algorithm, message: &[u8]) -> Vec<u8> {
        use rsa::pkcs1v15::SigningKey;
        match &self.key {
            Key::Rsa(k) => match alg {
                Algorithm::RS384 => SigningKey::<sha2::Sha384>::new(k.clone()).sign(message).to_vec(),
                Algorithm::RS512 => SigningKey::<sha2::Sha512>::new(k.clone()).sign(message).to_vec(),
                _ => SigningKey::<sha2::Sha256>::new(k.clone()).sign(message).to_vec(),
            },
            Key::P256(k) => Signer::<p256::ecdsa::Signature>::sign(k, message).to_bytes().to_vec(),
            Key::P384(k) => Signer::<p384::ecdsa::Signature>::sign(k, message).to_bytes().to_vec(),
            Key::P521(k) => Signer::<p521::ecdsa::Signature>::sign(k, message).to_bytes().to_vec(),
            Key::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
        }
    }
}

/// A JWKS document holding these JWKs, compact, members sorted (key rotation, several issuers, hostile sets).
pub fn jwks_json_of(keys: &[Value]) -> String {
    // serde_json's default map is sorted; build the text by hand anyway so the order never depends on features.
    let keys: Vec<String> = keys.iter().map(sorted_json).collect();
    format!("{{\"keys\":[{}]}}", keys.join(","))
}

fn sorted_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            let members: Vec<String> =
                names.iter().map(|n| format!("{}:{}", Value::String((*n).clone()), sorted_json(&map[*n]))).collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(sorted_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// `base` with every member of `overrides` (an object) replacing the default; a `null` member removes the claim.
pub fn merge(mut base: Value, overrides: Value) -> Value {
    let Value::Object(over) = overrides else { panic!("overrides must be a JSON object") };
    let map = base.as_object_mut().expect("base is an object");
    for (k, v) in over {
        if v.is_null() {
            map.remove(&k);
        } else {
            map.insert(k, v);
        }
    }
    base
}

/// PocketID's ID-token payload (v2.14, see `../shared/reference/pocketid.md`) for [`ISSUER`]: `aud` the array
/// `["netbird"]`, `exp = now + 3600`, `type: "id-token"`, Alice's profile, `groups` as given.
pub fn id_token_claims(now: u64, sub: &str, groups: &[&str]) -> Value {
    id_token_claims_for(ISSUER, now, sub, groups)
}

/// As [`id_token_claims`] for another issuer.
pub fn id_token_claims_for(iss: &str, now: u64, sub: &str, groups: &[&str]) -> Value {
    json!({
        "amr": ["phr"],
        "at_hash": "x4CzX2Q0r1lO2m3n4o5p6Q",
        "aud": [CLIENT_ID],
        "auth_time": now,
        "display_name": "Alice Doe",
        "email": "alice@example.com",
        "email_verified": true,
        "exp": now + LIFETIME,
        "family_name": "Doe",
        "given_name": "Alice",
        "groups": groups,
        "iat": now,
        "iss": iss,
        "jti": "6f1c2b7e-3d4a-4b5c-8d9e-0f1a2b3c4d5e",
        "name": "Alice Doe",
        "nonce": "n-0S6_WzA2Mj",
        "preferred_username": "alice",
        "rat": now - 10,
        "sub": sub,
        "type": "id-token"
    })
}

/// `n` group names `group-000`, `group-001`, … (tokens with many groups).
pub fn many_groups(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("group-{i:03}")).collect()
}

/// PocketID's OAuth access-token payload (RFC 9068, v2.13+) for [`ISSUER`]: `aud` = `[client_id, issuer]`,
/// `client_id`, `scope`, `scp`; no `groups`, no profile. Its header carries `typ: at+jwt`.
pub fn access_token_claims(now: u64, sub: &str) -> Value {
    access_token_claims_for(ISSUER, now, sub)
}

/// As [`access_token_claims`] for another issuer.
pub fn access_token_claims_for(iss: &str, now: u64, sub: &str) -> Value {
    json!({
        "aud": [CLIENT_ID, iss],
        "client_id": CLIENT_ID,
        "exp": now + LIFETIME,
        "iat": now,
        "iss": iss,
        "jti": "a9b8c7d6-e5f4-4a3b-9c2d-1e0f9a8b7c6d",
        "scope": "openid profile email groups",
        "scp": ["openid", "profile", "email", "groups"],
        "sub": sub
    })
}

/// PocketID's own admin-UI session token payload for [`ISSUER`]: `aud` = `iss` = the instance URL,
/// `type: "access-token"`.
pub fn session_token_claims(now: u64, sub: &str) -> Value {
    session_token_claims_for(ISSUER, now, sub)
}

/// As [`session_token_claims`] for another issuer.
pub fn session_token_claims_for(iss: &str, now: u64, sub: &str) -> Value {
    json!({
        "aud": [iss],
        "exp": now + LIFETIME,
        "iat": now,
        "isAdmin": false,
        "iss": iss,
        "sub": sub,
        "type": "access-token"
    })
}

/// QuFabric's embedded IdP (Dex) as an issuer: `https://<domain>/oauth2`, keys at `{issuer}/keys`.
pub const EMBEDDED_ISSUER: &str = "https://vpn.example.com/oauth2";

/// Dex's `sub`: the protobuf `IDTokenSubject { string user_id = 1; string conn_id = 2; }` (dexidp/dex
/// `server/internal/types.proto`) as Go's `proto.Marshal` writes it (tag, varint length, bytes; empty strings
/// omitted), in `base64.RawURLEncoding` (`server/internal/codec.go`). Written here from the wire format, not from
/// the gate's decoder.
pub fn dex_subject(user_id: &str, connector_id: &str) -> String {
    let mut buf = Vec::new();
    for (tag, value) in [(0x0a, user_id), (0x12, connector_id)] {
        if value.is_empty() {
            continue;
        }
        buf.push(tag);
        let mut len = value.len();
        while len >= 0x80 {
            buf.push((len & 0x7f) as u8 | 0x80);
            len >>= 7;
        }
        buf.push(len as u8);
        buf.extend_from_slice(value.as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A Dex ID-token payload (dexidp/dex `server/tokens/claims.go`, `IDTokenClaims`): `aud` a single string for one
/// client (`netbird-dashboard` or `netbird-cli`), integer `iat`/`exp` 24 hours apart (NetBird's embedded Dex:
/// `IDTokensValidFor: 24 * time.Hour`), no `type`, `groups` omitted when empty (`omitempty`: local users have
/// none), `federated_claims` naming the connector.
pub fn dex_id_token_claims(now: u64, user_id: &str, connector_id: &str, aud: &str, groups: &[&str]) -> Value {
    let mut claims = json!({
        "iss": EMBEDDED_ISSUER,
        "sub": dex_subject(user_id, connector_id),
        "aud": aud,
        "exp": now + 86_400,
        "iat": now,
        "nonce": "7d3c0d5b9a",
        "at_hash": "u0K0GkM6lU9d2Sx0LyQ3nw",
        "c_hash": "D2hH7Mc8QnqfRk0Zt1hL5A",
        "email": "owner@example.com",
        "email_verified": true,
        "name": "Owner",
        "preferred_username": "owner",
        "federated_claims": {"connector_id": connector_id, "user_id": user_id}
    });
    if !groups.is_empty() {
        claims["groups"] = json!(groups);
    }
    claims
}
