//! The floor plugins of bench/traefik.mjs (`pocketgate-traefik-floor`, wasm32-wasip1, built with the plugin's
//! settings by `cargo xtask bench traefik`), an http-wasm guest with two modes:
//!
//! - options `{}` — the floor: the I/O the PocketGate plugin does on an allowed, cached token and nothing else:
//!   read every header name (the plugin strips spoofable ones), the `Authorization` values, the method and the
//!   URI, set the four identity headers, call the next handler. No wasm middleware can be faster.
//! - options `{"alg": "RS256", "jwk": {…}}` — the new-token floor: the same, plus the signature check of the
//!   bearer token with the plugin's backend (`crypto::Ring`), the key parsed once at start; no header or claim
//!   parsing, no cache. No wasm middleware that checks a new token's signature with that backend can be faster.
//!
//! - options `{"jwksFile": "/keys/jwks.json"}` — the key-file floor: the floor, plus the two calls with which the
//!   plugin checks its `jwksFile` before every request (src/traefik/keyfile.rs: the path's stat, a read of the
//!   file it holds open, from offset 0), without comparing or parsing what was read. No wasm middleware that
//!   checks a key file at every request (a new key set in force at the next request) can be faster.
//!
//! A token that fails the check is answered 401, so the bench's answers show the check ran.

#[cfg(all(target_arch = "wasm32", feature = "traefik"))]
mod floor {
    use std::cell::RefCell;

    use http_wasm_guest::host::{Request, Response, admin};
    use http_wasm_guest::{Guest, register};
    use pocketgate::alg::Algorithm;
    use pocketgate::base64url;
    use pocketgate::crypto::{Ring, SignatureVerifier};
    use pocketgate::error::Part;
    use pocketgate::jwk::Jwk;

    /// The identity headers an allowed request gets, with values the size of a bench user's.
    const IDENTITY: [(&[u8], &[u8]); 4] = [
        (b"X-Auth-Request-User", b"0000000000000000000000000000002a"),
        (b"X-Auth-Request-Email", b"user42@example.com"),
        (b"X-Auth-Request-Preferred-Username", b"user42"),
        (b"X-Auth-Request-Groups", b"netbird-users,staff,devs,ops,vpn"),
    ];

    struct Floor {
        /// The new-token floor's key and algorithm.
        verify: Option<(Jwk, Algorithm)>,
        /// The key-file floor's path, the file held open and a read buffer.
        file: Option<(String, std::fs::File, RefCell<Vec<u8>>)>,
    }

    impl Floor {
        /// Whether `authorization` is a bearer token whose signature `key` accepts under `alg`.
        fn signature_ok(key: &Jwk, alg: Algorithm, authorization: &[u8]) -> bool {
            let Some(token) = authorization.strip_prefix(b"Bearer ").and_then(|t| std::str::from_utf8(t).ok()) else {
                return false;
            };
            let Some((signing_input, signature)) = token.rsplit_once('.') else { return false };
            let Ok(signature) = base64url::decode(signature, Part::Signature) else { return false };
            Ring.verify(key, alg, signing_input.as_bytes(), &signature).is_ok()
        }
    }

    impl Guest for Floor {
        fn handle_request(&self, req: &Request, res: &Response) -> (bool, i32) {
            let names = req.header.names();
            let authorization = req.header.values(b"Authorization");
            let (method, uri) = (req.method(), req.uri());
            // Keep the reads: the sizes feed the decision, so the calls are not optimised away.
            if names.is_empty() || authorization.len() > 1 || method.is_empty() || uri.is_empty() {
                return (false, 0);
            }
            if let Some((path, file, buf)) = &self.file {
                // Both results feed the decision, as the plugin's do (a failure refuses, so nothing is skipped).
                let size = rustix::fs::stat(path.as_str()).map(|st| st.st_size);
                let read = rustix::io::pread(file, &mut buf.borrow_mut()[..], 0);
                if size.is_err() || read.is_err() {
                    res.set_status(503);
                    return (false, 0);
                }
            }
            if let Some((key, alg)) = &self.verify
                && !authorization.first().is_some_and(|a| Self::signature_ok(key, *alg, a))
            {
                res.set_status(401);
                return (false, 0);
            }
            for (name, value) in IDENTITY {
                req.header.set(name, value);
            }
            (true, 0)
        }
    }

    /// The options: `{}`, `{"alg": NAME, "jwk": {…}}` or `{"jwksFile": PATH}` (a bad one traps, and Traefik
    /// refuses the router).
    pub fn start() {
        let options: serde_json::Value = serde_json::from_slice(&admin::config()).expect("options are JSON");
        let verify = options.get("jwk").map(|jwk| {
            let key = Jwk::from_value(jwk).expect("jwk is a usable public key");
            let alg = options["alg"].as_str().and_then(Algorithm::from_name).expect("alg names an algorithm");
            (key, alg)
        });
        let file = options.get("jwksFile").map(|path| {
            let path = path.as_str().expect("jwksFile is a path").to_owned();
            let file = std::fs::File::open(&path).expect("jwksFile can be opened");
            (path, file, RefCell::new(vec![0; 4096]))
        });
        register(Floor { verify, file });
    }
}

#[cfg(all(target_arch = "wasm32", feature = "traefik"))]
fn main() {
    floor::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "traefik")))]
fn main() {
    eprintln!("pocketgate-traefik-floor is a WebAssembly plugin for bench/traefik.mjs: cargo xtask bench traefik");
    std::process::exit(2);
}
