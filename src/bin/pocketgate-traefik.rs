//! The Traefik plugin's entry (`plugin.wasm`): build with
//! `cargo build --release --target wasm32-wasip1 --no-default-features --features traefik --bin pocketgate-traefik`,
//! or `cargo xtask build`. Each guest instance runs `main` once: it reads the options and registers the handler.

#[cfg(all(target_arch = "wasm32", feature = "traefik"))]
fn main() {
    pocketgate::traefik::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "traefik")))]
fn main() {
    eprintln!("pocketgate-traefik is a WebAssembly plugin: build it for wasm32-wasip1 (cargo xtask build)");
    std::process::exit(2);
}
