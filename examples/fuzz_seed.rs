//! Seed corpora for the fuzz targets (fuzz/): tokens minted by the test minter (tests/support), Wycheproof JWS
//! and JWK vectors, Wycheproof signatures placed in tokens, key sets, configurations, claims, paths and setup
//! inputs. Wycheproof is read in place and never copied into the repository; the corpus directory is gitignored.
//!
//! `cargo run --example fuzz_seed -- <corpus dir> <wycheproof dir>` (run by `cargo xtask fuzz`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pocketgate::alg::Algorithm;
use serde_json::{Value, json};
use support::{Issuer, b64, jwks_json_of, many_groups};

/// How many Wycheproof signature tests per file become tokens (the corpus stays small; the fuzzer mutates).
const SIGNATURES_PER_FILE: usize = 60;

type Corpus = BTreeMap<&'static str, Vec<Vec<u8>>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, wycheproof] = args.as_slice() else {
        eprintln!("usage: fuzz_seed <corpus dir> <wycheproof dir>");
        std::process::exit(2);
    };
    let wycheproof = Path::new(wycheproof);
    if !wycheproof.join("json_web_signature_test.json").is_file() {
        eprintln!(
            "fuzz_seed: no Wycheproof vectors in {} (expected json_web_signature_test.json)",
            wycheproof.display()
        );
        std::process::exit(1);
    }
    let mut corpus = Corpus::new();
    minted_tokens(&mut corpus);
    wycheproof_seeds(&mut corpus, wycheproof);
    configs(&mut corpus);
    claims(&mut corpus);
    paths(&mut corpus);
    setup_inputs(&mut corpus);
    for (target, seeds) in &corpus {
        let dir = PathBuf::from(out).join(target);
        if let Err(e) = fs::create_dir_all(&dir) {
            eprintln!("fuzz_seed: cannot create {}: {e}", dir.display());
            std::process::exit(1);
        }
        for (i, seed) in seeds.iter().enumerate() {
            let file = dir.join(format!("seed-{i:04}"));
            if let Err(e) = fs::write(&file, seed) {
                eprintln!("fuzz_seed: cannot write {}: {e}", file.display());
                std::process::exit(1);
            }
        }
        println!("fuzz_seed: {target}: {} seeds", seeds.len());
    }
}

fn add(corpus: &mut Corpus, targets: &[&'static str], seed: impl Into<Vec<u8>>) {
    let seed = seed.into();
    for t in targets {
        corpus.entry(t).or_default().push(seed.clone());
    }
}

fn minted_tokens(c: &mut Corpus) {
    let both = &["token", "verify"];
    let groups = many_groups(40);
    let group_refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    for issuer in Issuer::all() {
        add(c, both, issuer.id_token(json!({})));
        add(c, both, issuer.id_token(json!({"aud": "netbird", "nonce": null})));
        add(c, both, issuer.id_token(json!({"exp": support::NOW - 1000})));
        add(c, both, issuer.id_token(json!({"aud": ["other"]})));
        add(c, both, issuer.id_token(json!({"groups": "admins", "nbf": support::NOW + 10})));
        add(c, both, issuer.id_token_for(support::NOW, support::SUB, &group_refs));
        add(c, both, issuer.access_token(json!({})));
        add(c, both, issuer.session_token(json!({})));
        add(c, both, issuer.sign_raw(&issuer.header_json(None), r#"{"iss":"https://id.example.com","iss":"x"}"#));
        add(c, both, issuer.sign_raw(&format!(r#"{{"alg":"{}","crit":["b64"]}}"#, issuer.alg.name()), "{}"));
        add(c, &["jwks"], issuer.jwks_json());
    }
    let all: Vec<Value> = Issuer::all().iter().map(Issuer::public_jwk).collect();
    add(c, &["jwks"], jwks_json_of(&all));
    let es = Issuer::es256();
    add(c, &["jwks"], jwks_json_of(&[es.bare_public_jwk(), es.with_kid("dup").public_jwk()]));
    add(c, &["jwks"], jwks_json_of(&[Issuer::rsa1024_weak().public_jwk()]));
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
}

fn wycheproof_seeds(c: &mut Corpus, dir: &Path) {
    // JWS and JWK tests: compact tokens, and the key sets they come with.
    for file in ["json_web_signature_test.json", "json_web_key_test.json"] {
        for group in read_json(&dir.join(file))["testGroups"].as_array().into_iter().flatten() {
            for member in ["private", "public"] {
                if let Some(keys) = group.get(member) {
                    let set = if keys.get("keys").is_some() { keys.clone() } else { json!({ "keys": [keys] }) };
                    add(c, &["jwks"], set.to_string());
                }
            }
            for test in group["tests"].as_array().into_iter().flatten() {
                if let Some(jws) = test["jws"].as_str() {
                    add(c, &["token", "verify"], jws);
                }
            }
        }
    }
    // Signature tests: the public key as a JWKS, and each signature (valid, malleated, malformed) in a token
    // whose header names the fixture key of the same algorithm.
    let files = [
        ("rsa_signature_2048_sha256_test.json", Algorithm::RS256),
        ("rsa_signature_2048_sha384_test.json", Algorithm::RS384),
        ("rsa_signature_2048_sha512_test.json", Algorithm::RS512),
        ("rsa_signature_3072_sha256_test.json", Algorithm::RS256),
        ("ecdsa_secp256r1_sha256_p1363_test.json", Algorithm::ES256),
        ("ecdsa_secp384r1_sha384_p1363_test.json", Algorithm::ES384),
        ("ecdsa_secp521r1_sha512_p1363_test.json", Algorithm::ES512),
        ("ed25519_test.json", Algorithm::EdDSA),
    ];
    for (file, alg) in files {
        let issuer = Issuer::for_alg(alg);
        let payload = b64(support::id_token_claims(support::NOW, support::SUB, &["netbird-users"]).to_string());
        let header = b64(issuer.header_json(Some("JWT")));
        let mut taken = 0;
        for group in read_json(&dir.join(file))["testGroups"].as_array().into_iter().flatten() {
            for member in ["publicKeyJwk", "keyJwk"] {
                if let Some(jwk) = group.get(member) {
                    let mut jwk = jwk.clone();
                    jwk["alg"] = json!(alg.name());
                    add(c, &["jwks"], json!({ "keys": [jwk] }).to_string());
                }
            }
            for test in group["tests"].as_array().into_iter().flatten() {
                if taken >= SIGNATURES_PER_FILE {
                    break;
                }
                if let Some(sig) = test["sig"].as_str() {
                    add(c, &["token", "verify"], format!("{header}.{payload}.{}", b64(unhex(sig))));
                    taken += 1;
                }
            }
        }
    }
}

fn configs(c: &mut Corpus) {
    let base = "ISSUER=https://id.example.com\nAUDIENCE=netbird\nALLOW_GROUPS=netbird-users\n";
    for extra in [
        "",
        "DENY_GROUPS=contractors\nGROUPS_CLAIM=realm_access.roles\nLEEWAY_SECONDS=30\n",
        "JWKS_URI=https://id.example.com/.well-known/jwks.json\nUPSTREAM=https://mgmt.internal:443/\n",
        "DASHBOARD=protect\nPERSONAL_ACCESS_TOKENS=pass\nREALM=qufabric\n",
        r#"ROUTES=[{"prefix":"/api/users","methods":["DELETE"],"allow_groups":["admins"]},{"prefix":"/public","action":"bypass"}]"#,
        "ALLOW_GROUPS=*\nLEEWAY_SECONDS=601\n",
    ] {
        add(c, &["config"], format!("{base}{extra}"));
    }
    add(
        c,
        &["config"],
        r#"ISSUERS=[{"issuer":"https://vpn.example.com/oauth2","audiences":["netbird-dashboard","netbird-cli"],"allow_groups":["netbird-users"]},{"issuer":"http://127.0.0.1:1411","audiences":"netbird","allow_groups":"*","deny_groups":["contractors"],"groups_claim":"groups","leeway_seconds":30,"jwks_uri":"https://id.example.com/jwks"}]"#,
    );
    add(c, &["config"], "ISSUER=https://id.example.com/\nAUDIENCE=a,,b\nALLOW_GROUPS=*,x\nUPSTREAM=ftp://x\n");
}

fn claims(c: &mut Corpus) {
    let docs = [
        ("groups", json!({"groups": ["netbird-users", "admins"]})),
        ("groups", json!({"groups": "admins"})),
        ("groups", json!({"groups": [1, null, "banned", {"a": "admins"}, ["admins"]]})),
        ("groups", json!({"groups": []})),
        ("realm_access.roles", json!({"realm_access": {"roles": ["admins", "Admins"]}})),
        ("a.b", json!({"a.b": "a.b", "a": {"b": ["banned"]}})),
        ("cognito:groups", json!({"cognito:groups": ["netbird-users"]})),
    ];
    for (i, (claim, doc)) in docs.iter().enumerate() {
        let mut seed = vec![(i as u8).wrapping_mul(37)];
        seed.extend(format!("{claim}\n{doc}").into_bytes());
        add(c, &["groups"], seed);
    }
}

fn paths(c: &mut Corpus) {
    for p in [
        "/api/users",
        "/api/../oauth2/x",
        "/oauth2/%2e%2e/api/peers",
        "//api",
        "/API/users",
        "/api./x",
        "/api/x/.",
        "/%61pi/groups?x=/../y",
        "/relay/../api",
        "/management.ManagementService/Login",
        "/ws-proxy/signal/../../api/x",
        "/a%2541pi",
        "/api%2fusers",
        "/oauth2\\..\\api",
        "/api;x=1",
    ] {
        add(c, &["path"], p);
    }
}

fn setup_inputs(c: &mut Corpus) {
    let embedded = json!({
        "domain": "qufabric.example.com", "issuer": "https://id.example.com", "mode": "embedded",
        "display_name": "QuFabric", "client_id": "qufabric", "client_secret": "s3cr3t-from-pocketid",
        "groups": "netbird-users, netbird-admins", "pkce_ports": "53000, 54000", "gate_mode": "proxy",
        "upstream": "https://mgmt.internal.example.com", "gate_url": ""
    });
    let mut standalone = embedded.clone();
    standalone["mode"] = json!("standalone");
    standalone["client_secret"] = json!("");
    standalone["gate_mode"] = json!("forward_auth");
    standalone["upstream"] = json!("http://127.0.0.1:8080");
    standalone["gate_url"] = json!("https://pocketgate.example.workers.dev");
    let mut odd = embedded.clone();
    odd["groups"] = json!("*");
    odd["issuer"] = json!("https://ID.example.com/");
    odd["pkce_ports"] = json!("0, 70000,53000,53000");
    for input in [embedded, standalone, odd, json!({})] {
        add(c, &["setup"], input.to_string());
    }
}
