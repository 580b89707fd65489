//! PocketGate's workflows: `cargo xtask <setup|build|test|bench>` (std only, so it compiles in seconds).

mod bench;
mod build;
mod counts;
mod demo;
mod deploy;
mod dev;
mod fuzz;
mod setup;
mod sizes;
mod soak;
mod test;
mod util;

const USAGE: &str = "\
usage: cargo xtask <command>

  setup           install every tool the project needs (idempotent; cached in ~/.cache/pocketgate)
  build           native release build, wasm core, Worker (with wrangler.toml), page (with www/); .wasm sizes
  test            setup, fmt, clippy, native tests, wasm tests (Node 22), Worker/page builds, end-to-end suites
  dev [-- args]   the gate in workerd (wrangler dev) on 127.0.0.1:8787; args go to wrangler dev (--port, --var N:V)
  demo [--check] [--port N] [-- args]
                  dev issuer + stand-in QuFabric + the gate, with curl lines (--check: verify allow/deny, exit);
                  args go to wrangler dev
  deploy [--dry-run] [-- args]
                  build the Worker and `wrangler deploy` it with the cached tools; refuses wrangler.toml's demo
                  [vars] (loopback issuer); --dry-run: build and bundle into target/deploy-dry-run, no upload
  bench [--quick] [--lock FILE] [workerd|traefik] [--write]
                  criterion benches of the native core, then passthrough vs PocketGate vs jose Workers in workerd
                  under wrk (bench/run.mjs; --quick: a fast smoke run; `workerd`: only that; a filter: criterion only);
                  `traefik`: only the Traefik plugin against its peers (bench/traefik.mjs; never by default)
  soak [--minutes N] [--lock FILE] [--write]
                  release Worker in workerd under wrk at saturation, mixed workload, verdicts sampled (default 10 min)
  fuzz [--time N] [--lock FILE] [target...]
                  seed fuzz/corpus, run each cargo-fuzz target N s (default 60; nightly); see FUZZING.md";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = util::Paths::discover().and_then(|paths| match args.first().map(String::as_str) {
        Some("setup") => setup::setup(&paths),
        Some("build") => setup::setup(&paths).and_then(|()| build::build(&paths)),
        Some("test") => test::test(&paths),
        Some("bench") => {
            let quick = args.iter().any(|a| a == "--quick");
            let extra: Vec<String> = args[1..].iter().filter(|a| *a != "--quick").cloned().collect();
            bench::bench(&paths, quick, &extra)
        }
        Some("fuzz") => fuzz::fuzz(&paths, &args[1..]),
        Some("soak") => soak::soak(&paths, &args[1..]),
        Some("dev") => dev::dev(&paths, args[1..].strip_prefix(&["--".to_owned()]).unwrap_or(&args[1..])),
        Some("deploy") => deploy::deploy(&paths, &args[1..]),
        Some("demo") => demo::demo(&paths, &args[1..]),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}")),
        None => Err(USAGE.to_owned()),
    });
    if let Err(msg) = result {
        util::flush();
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}
