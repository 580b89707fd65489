//! `wrangler.toml`: the gate's `[vars]`, proxy mode's routes, and the note on secrets.

use super::super::render::{toml_string, toml_table};
use super::super::{GateMode, Plan};
use super::{API_PATH, host_only, vars};

/// The `[vars]` table for `wrangler.toml`; in forward-auth mode it ends with the `FORWARDED_HEADERS` choice
/// (commented out: the page does not know which proxy you run).
pub fn wrangler_vars(plan: &Plan) -> String {
    let mut s = String::from(
        "# PocketGate configuration: replace wrangler.toml's [vars] table with this one (TOML allows one [vars]).\n",
    );
    s.push_str(&toml_table("vars", &vars(plan)));
    if plan.gate_mode == GateMode::ForwardAuth {
        s.push_str(
            "# The header family your proxy sets (see its snippet): uncomment the line for your proxy.\n\
             # FORWARDED_HEADERS = \"nginx\"\n\
             # FORWARDED_HEADERS = \"caddy\"\n\
             # FORWARDED_HEADERS = \"traefik\"\n",
        );
    }
    s
}

/// Proxy mode: `wrangler.toml` routes that send only the gated paths (`/api`, `/api/*`) through the Worker, as
/// `[[routes]]` tables: an array of tables is a top-level key wherever it appears in the file, so appended after
/// `[vars]` (wrangler.toml's last table) it can never become a variable (`routes = [...]` there would, and no
/// route would be deployed). `zone_name` is the zone the operator named (never guessed from the domain's last
/// labels). A Worker's `fetch()` cannot carry gRPC (HTTP/1.1 to the origin, no response trailers, no
/// bidirectional streams; tests/e2e/qufabric-worker.test.mjs records what workerd does), so gRPC, `/relay`,
/// `/ws-proxy/`, `/oauth2/` and the dashboard must reach the origin directly on the same hostname, as Cloudflare
/// routes only the patterns listed.
pub fn wrangler_routes(plan: &Plan) -> String {
    let host = host_only(&plan.domain);
    let zone = plan.zone.as_deref().unwrap_or_default();
    let mut s = String::from(
        "# Proxy mode: route only the gated paths to the Worker. Append to wrangler.toml, anywhere: [[routes]]\n\
         # tables are top-level in TOML, never part of [vars]. Remove any other route on this hostname. gRPC,\n\
         # /relay, /ws-proxy/, /oauth2/ and the dashboard go straight to your origin: a Worker cannot carry gRPC.\n",
    );
    for pattern in [format!("{host}{API_PATH}"), format!("{host}{API_PATH}/*")] {
        s.push_str(&format!("\n[[routes]]\npattern = {}\nzone_name = {}\n", toml_string(&pattern), toml_string(zone)));
    }
    s
}

/// Notes on secrets: the gate has none.
pub fn secrets() -> String {
    "# The gate needs no secret: it verifies tokens with the issuer's public keys (JWKS).\n\
     # To keep the values out of wrangler.toml anyway, delete them from [vars] and store each as a secret:\n\
     #   npx wrangler secret put ISSUER\n\
     #   npx wrangler secret put AUDIENCE\n\
     #   npx wrangler secret put ALLOW_GROUPS\n\
     # Never store the PocketID client secret or an API key in the gate: it does not need them.\n"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::super::super::fixtures::*;
    use super::*;
    use crate::setup::SetupInput;

    #[test]
    fn wrangler_vars_is_a_toml_table_of_strings() {
        let t = wrangler_vars(&plan(&embedded()));
        assert!(t.contains("[vars]\nISSUER = \"https://qufabric.example.com/oauth2\"\n"));
        assert!(t.contains("LEEWAY_SECONDS = \"60\"\n"));
        assert!(secrets().contains("wrangler secret put"));
    }
    #[test]
    fn proxy_mode_routes_only_the_api_to_the_worker() {
        let r = wrangler_routes(&plan(&embedded()));
        assert!(
            r.contains("\n[[routes]]\npattern = \"qufabric.example.com/api\"\nzone_name = \"example.com\"\n"),
            "{r}"
        );
        assert!(
            r.contains("\n[[routes]]\npattern = \"qufabric.example.com/api/*\"\nzone_name = \"example.com\"\n"),
            "{r}"
        );
        assert_eq!(r.matches("pattern =").count(), 2, "never the whole hostname: {r}");
        let port = wrangler_routes(&plan(&SetupInput { domain: "vpn.example.com:8443".into(), ..embedded() }));
        assert!(port.contains("\"vpn.example.com/api/*\""), "{port}");
    }

    #[test]
    fn routes_are_tables_that_cannot_land_in_vars_and_the_zone_is_the_operators() {
        // Fails on main: `routes = [...]` pasted after wrangler.toml's last table ([vars]) became a variable, and
        // the zone was guessed from the last two labels (co.uk for vpn.example.co.uk).
        let r = wrangler_routes(&plan(&SetupInput {
            domain: "vpn.example.co.uk".into(),
            cloudflare_zone: "example.co.uk".into(),
            ..embedded()
        }));
        assert!(!r.lines().any(|l| l.trim_start().starts_with("routes")), "{r}");
        assert_eq!(r.matches("\n[[routes]]\n").count(), 2, "{r}");
        assert_eq!(r.matches("zone_name = \"example.co.uk\"\n").count(), 2, "{r}");
    }
}
