//! `pocketgate`: the project's native command. `pocketgate check …` checks a live deployment from outside
//! ([`pocketgate::check`]); `pocketgate check --help` says how.

fn main() -> std::process::ExitCode {
    pocketgate::check::main(std::env::args_os().skip(1).collect())
}
