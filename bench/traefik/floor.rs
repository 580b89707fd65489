//! The floor plugin of bench/traefik.mjs (`pocketgate-traefik-floor`, wasm32-wasip1, built like the plugin by
//! `cargo xtask bench traefik`): an http-wasm guest that does the I/O the PocketGate plugin does on an allowed,
//! cached token and nothing else — read every header name (the plugin strips spoofable ones), the
//! `Authorization` values, the method and the URI, set the four identity headers, call the next handler. It
//! verifies nothing: no wasm middleware can be faster, so the plugin's hot figure is read against it.

#[cfg(all(target_arch = "wasm32", feature = "traefik"))]
mod floor {
    use http_wasm_guest::host::{Request, Response};
    use http_wasm_guest::{Guest, register};

    /// The identity headers an allowed request gets, with values the size of a bench user's.
    const IDENTITY: [(&[u8], &[u8]); 4] = [
        (b"X-Auth-Request-User", b"0000000000000000000000000000002a"),
        (b"X-Auth-Request-Email", b"user42@example.com"),
        (b"X-Auth-Request-Preferred-Username", b"user42"),
        (b"X-Auth-Request-Groups", b"netbird-users,staff,devs,ops,vpn"),
    ];

    struct Floor;

    impl Guest for Floor {
        fn handle_request(&self, req: &Request, _res: &Response) -> (bool, i32) {
            let names = req.header.names();
            let authorization = req.header.values(b"Authorization");
            let (method, uri) = (req.method(), req.uri());
            // Keep the reads: the sizes feed the decision, so the calls are not optimised away.
            if names.is_empty() || authorization.len() > 1 || method.is_empty() || uri.is_empty() {
                return (false, 0);
            }
            for (name, value) in IDENTITY {
                req.header.set(name, value);
            }
            (true, 0)
        }
    }

    pub fn start() {
        register(Floor);
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
