//! `pocketgate`'s help texts.

/// The top-level help.
pub const HELP: &str = "\
pocketgate: PocketGate's native command.

Usage:
  pocketgate check --domain HOST --issuer URL [options]   check a live deployment from outside
  pocketgate check --config FILE [options]                the same, options read from FILE
  pocketgate check --help                                 every option

Exit status: 0 every check passed (or was skipped), 1 a check failed, 2 a usage or configuration error.
";

/// `pocketgate check --help`.
pub const CHECK_HELP: &str = "\
pocketgate check: prove from outside that a QuFabric deployment sends every /api request through PocketGate
and that everything that must stay ungated still works. Run it after setup and after every proxy change.

Usage: pocketgate check --domain HOST --issuer URL [options]

Deployment (the setup page generates these as a --config file):
  --domain HOST[:PORT]     QuFabric's public host (no https://); port 443 unless given
  --issuer URL             PocketID's issuer exactly as configured (https://id.example.com)
  --mode MODE              embedded (default: QuFabric's embedded IdP, PocketID as its connector) | standalone
  --gate-issuer URL        the issuer the gate trusts (default: https://HOST/oauth2 in embedded mode, else --issuer)
  --gate GATE              proxy (default: the Worker on /api routes) | forward-auth | plugin (Traefik)
  --dashboard MODE         bypass (default: the dashboard never asks the gate) | protect
  --public-api MODE        bypass (default: /api/instance, /api/setup, invites without a token) | gate
  --ungated PREFIX         a path prefix that goes straight to QuFabric (repeat; default: the gRPC services,
                           /relay, /ws-proxy/, /oauth2/)
Connection:
  --ca FILE                trust the CA certificates in this PEM file instead of the system's (repeat)
  --connect-to H:P:ADDR:P  connect to ADDR:P for H:P (TLS name and Host stay H), e.g. before DNS points at it
  --timeout SECONDS        per connection and answer (default 10, at most 120)
Optional tokens (never on the command line, never in the environment):
  --token-file FILE        an allowed user's token: --allowed-path must answer 200
  --denied-token-file FILE a token of a user outside the allowed groups: /api must answer 403 group_not_allowed
  --ask-tokens             type both on the terminal instead (nothing is echoed; empty skips)
  --allowed-path PATH      default /api/users/current
Output:
  --json                   one JSON document instead of the table
  --config FILE            read options from FILE: one per line (--name value), # comments; the command line
                           adds to it and its single-valued options win
  --help                   this text

Only ordinary requests are sent (about 90, one at a time, each bounded by --timeout); no admin key is needed.
Exit status: 0 every check passed (or was skipped), 1 a check failed, 2 a usage or configuration error.
";
