//! Link settings of the Traefik plugin (`plugin.wasm`) and its bench floor, nothing else.
//!
//! Traefik keeps one guest instance per request in flight, and each has its own linear memory, whose first part
//! is the shadow stack (Rust's default for wasm: 1 MiB). The plugin's deepest call chains (JSON scan, ring's
//! RSA and P-384 checks, RustCrypto's P-521) need far less, so its stack is [`PLUGIN_STACK`]: 768 KiB less per
//! instance. A stack overflow in wasm traps (the stack is placed first, below the data) and Traefik answers 500.

/// The plugin's stack, bytes (16-byte aligned).
const PLUGIN_STACK: u32 = 256 * 1024;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        for bin in ["pocketgate-traefik", "pocketgate-traefik-floor"] {
            println!("cargo:rustc-link-arg-bin={bin}=-zstack-size={PLUGIN_STACK}");
        }
    }
}
