//! The checks, in order, each one [`Row`]: what is sent ([`super::net`]) and how it is judged ([`super::judge`],
//! [`super::idp`]). About 90 requests in all, one at a time, each bounded by the timeout.

use super::args::{Dashboard, Mode, Settings};
use super::hostile;
use super::idp;
use super::judge::{self, Answer, Tally};
use super::net::http1;
use super::net::{Client, NetError, Roots};
use super::report::{Outcome, Row};
use super::tokens::Tokens;

/// The gRPC method every peer calls first (NetBird `shared/management/proto/management.proto`).
pub const GRPC_PATH: &str = "/management.ManagementService/GetServerKey";
/// The same method with a `;` the gate refuses as ambiguous (src/policy/path.rs): QuFabric's gRPC server answers
/// it `UNIMPLEMENTED`, the gate `400 path_ambiguous`, so the answer shows whether the gRPC route asks the gate.
pub const GRPC_PROBE_PATH: &str = "/management.ManagementService/GetServerKey;pocketgate-check";
/// A dashboard path the gate refuses as ambiguous, for the same reason.
pub const DASHBOARD_PROBE_PATH: &str = "/pocketgate-check;probe";
/// NetBird's public instance endpoint (`management/server/http/handler.go`, the bypass paths).
pub const PUBLIC_PATH: &str = "/api/instance";
/// The WebSocket paths: the relay (`shared/relay`: `/relay`) and the WebSocket proxy of signal and management
/// (`util/wsproxy/constants.go`: `/ws-proxy` + `/signal`, `/management`).
pub const WEBSOCKET_PATHS: [(&str, &str); 3] =
    [("ws_relay", "/relay"), ("ws_signal", "/ws-proxy/signal"), ("ws_management", "/ws-proxy/management")];
/// Paths sent in plain HTTP to the TLS port: one per kind of router.
const PLAIN_PATHS: [&str; 5] = ["/api/users", "/", "/relay", "/oauth2/.well-known/openid-configuration", GRPC_PATH];

fn row(id: &'static str, title: impl Into<String>, outcome: Outcome) -> Row {
    Row { id, title: title.into(), outcome }
}

/// Run every check.
pub async fn run(s: &Settings, client: &Client, tokens: &Tokens) -> Vec<Row> {
    let (host, port, authority) = (s.host.as_str(), s.port, s.authority());
    let mut rows = Vec::new();

    // ---- TLS ----
    let tls = client.handshake(host, port).await;
    let tls_ok = tls.is_ok();
    rows.push(row(
        "tls",
        format!("TLS certificate of {host}"),
        match &tls {
            Ok(info) => Outcome::pass(format!(
                "{}, certificate valid for {host} ({})",
                info.version,
                match client.roots {
                    Roots::System(n) => format!("system roots, {n}"),
                    Roots::Files(n) => format!("--ca, {n} certificate(s)"),
                }
            )),
            Err(NetError::NotTls(e)) => Outcome::fail(
                format!("{e}: port {port} speaks plain HTTP"),
                "serve the domain over TLS: with Traefik, every router needs tls=true and tls.certresolver (NetBird's \
             getting-started.sh sets both; the websecure entry point has no TLS of its own)",
            ),
            Err(e) => Outcome::fail(
                e.to_string(),
                "serve a certificate for the domain from a CA clients trust (Let's Encrypt through the certresolver), \
             valid now and naming the host; for a private CA run the check with --ca FILE",
            ),
        },
    ));
    let plain = match &tls {
        Err(NetError::Unreachable(_)) => Outcome::skip("the domain could not be reached (first row)"),
        _ => plain_http(client, host, port, &authority).await,
    };
    rows.push(row("plain_http", format!("No plain HTTP on port {port}"), plain));

    // ---- the issuers ----
    let qufabric_verifies_pocketid = s.mode == Mode::Standalone;
    rows.extend(
        issuer_rows(client, &s.issuer, ("pocketid_issuer", "pocketid_keys"), "PocketID", qufabric_verifies_pocketid)
            .await,
    );
    if s.gate_issuer != s.issuer {
        let on_domain = crate::url::split(&s.gate_issuer).is_some_and(|u| u.host.eq_ignore_ascii_case(host));
        if on_domain && !tls_ok {
            rows.push(row("gate_issuer", "Gate's issuer (embedded IdP)", Outcome::skip("TLS to the domain failed")));
            rows.push(row("gate_issuer_keys", "Gate's issuer keys", Outcome::skip("TLS to the domain failed")));
        } else {
            rows.extend(
                issuer_rows(client, &s.gate_issuer, ("gate_issuer", "gate_issuer_keys"), "Gate's issuer", false).await,
            );
        }
    }
    if !tls_ok {
        for (id, title) in DOMAIN_CHECKS {
            rows.push(row(id, title, Outcome::skip("TLS to the domain failed (first row)")));
        }
        rows.extend(token_rows_skipped(tokens, "TLS to the domain failed (first row)"));
        return rows;
    }

    // ---- the gate is in the path ----
    let get = |path: &str, extra: &[(&str, &str)]| http1::get(path, &authority, extra);
    let ask = |request: Vec<u8>| async move { client.http1(host, port, true, &request).await.map_err(String::from) };
    rows.push(row(
        "api_gate",
        title("api_gate"),
        match ask(get(hostile::TARGET, &[])).await {
            Ok(a) => judge::api_unauthenticated(&a, s.gate),
            Err(e) => unreachable_outcome(&e),
        },
    ));
    let mut tally = Tally::default();
    for path in hostile::variants(&s.ungated) {
        let answer = ask(get(&path, &[])).await;
        tally.add(&path, &answer);
    }
    rows.push(row("api_hostile", title("api_hostile"), tally.outcome(s.gate)));

    // ---- what stays ungated ----
    rows.push(row(
        "public_api",
        title("public_api"),
        match ask(get(PUBLIC_PATH, &[])).await {
            Ok(a) => judge::public_api(&a, s.public_api),
            Err(e) => unreachable_outcome(&e),
        },
    ));
    rows.push(row(
        "grpc",
        title("grpc"),
        match client.grpc(host, port, &authority, GRPC_PATH).await {
            Ok((g, alpn)) => judge::grpc(&g, &alpn, s.gate),
            Err(e) => grpc_error(&e),
        },
    ));
    rows.push(row(
        "grpc_direct",
        title("grpc_direct"),
        match client.grpc(host, port, &authority, GRPC_PROBE_PATH).await {
            Ok((g, _)) => judge::grpc_direct(&g, s.gate),
            Err(e) => grpc_error(&e),
        },
    ));
    for (id, path) in WEBSOCKET_PATHS {
        let outcome = match client.websocket(host, port, &authority, path).await {
            Ok((a, accept)) => judge::websocket(&a, &accept, s.gate),
            Err(e) => unreachable_outcome(&e.to_string()),
        };
        rows.push(row(id, title(id), outcome));
    }
    rows.push(row(
        "dashboard",
        title("dashboard"),
        match ask(get("/", &[("Accept", "text/html")])).await {
            Ok(a) => judge::dashboard(&a, s.dashboard),
            Err(e) => unreachable_outcome(&e),
        },
    ));
    let direct = if s.dashboard == Dashboard::Protect {
        judge::dashboard_direct(&Answer::default(), s.dashboard)
    } else {
        match ask(get(DASHBOARD_PROBE_PATH, &[("Accept", "text/html")])).await {
            Ok(a) => judge::dashboard_direct(&a, s.dashboard),
            Err(e) => unreachable_outcome(&e),
        }
    };
    rows.push(row("dashboard_direct", title("dashboard_direct"), direct));

    // ---- with tokens ----
    let allowed = match &tokens.allowed {
        None => Outcome::skip("no token given (--token-file or --ask-tokens)"),
        Some(t) => match ask(get(&s.allowed_path, &[("Authorization", &t.authorization())])).await {
            Ok(a) => judge::token_allowed(&a),
            Err(e) => unreachable_outcome(&e),
        },
    };
    rows.push(row("token_allowed", format!("Allowed user's token on {}", s.allowed_path), allowed));
    let denied = match &tokens.denied {
        None => Outcome::skip("no token given (--denied-token-file or --ask-tokens)"),
        Some(t) => match ask(get(hostile::TARGET, &[("Authorization", &t.authorization())])).await {
            Ok(a) => judge::token_denied(&a),
            Err(e) => unreachable_outcome(&e),
        },
    };
    rows.push(row("token_denied", "Other user's token → 403", denied));
    rows
}

/// The checks on the domain after TLS, `(id, title)`, in order.
const DOMAIN_CHECKS: [(&str, &str); 10] = [
    ("api_gate", "/api without a token → the gate's 401"),
    ("api_hostile", "Attacker's paths never reach the API"),
    ("public_api", "/api/instance without a token"),
    ("grpc", "gRPC GetServerKey over HTTP/2"),
    ("grpc_direct", "gRPC straight to QuFabric"),
    ("ws_relay", "WebSocket /relay"),
    ("ws_signal", "WebSocket /ws-proxy/signal"),
    ("ws_management", "WebSocket /ws-proxy/management"),
    ("dashboard", "Dashboard without a token"),
    ("dashboard_direct", "Dashboard without the gate"),
];

fn title(id: &str) -> &'static str {
    DOMAIN_CHECKS.iter().find(|(i, _)| *i == id).map_or("", |(_, t)| t)
}

fn token_rows_skipped(tokens: &Tokens, why: &str) -> Vec<Row> {
    let reason = |given: bool| if given { why.to_owned() } else { "no token given".to_owned() };
    vec![
        row("token_allowed", "Allowed user's token", Outcome::skip(reason(tokens.allowed.is_some()))),
        row("token_denied", "Other user's token → 403", Outcome::skip(reason(tokens.denied.is_some()))),
    ]
}

fn unreachable_outcome(e: &str) -> Outcome {
    Outcome::fail(e, "the domain did not answer this request: check the proxy is up and its log")
}

fn grpc_error(e: &NetError) -> Outcome {
    let text = e.to_string();
    if text.contains("HTTP/2 was not negotiated") {
        return Outcome::fail(
            text,
            "peers speak gRPC over HTTP/2: enable HTTP/2 on the TLS listener (nginx: `http2` on the listen line or \
             `http2 on;`; Traefik and Caddy offer it by default with TLS)",
        );
    }
    unreachable_outcome(&text)
}

/// The discovery and key-set rows of one issuer.
async fn issuer_rows(
    client: &Client,
    issuer: &str,
    ids: (&'static str, &'static str),
    who: &str,
    qufabric_verifies: bool,
) -> Vec<Row> {
    let url = idp::discovery_url(issuer);
    let fetched = client.fetch(&url).await.map_err(String::from);
    let (outcome, jwks_uri) = idp::issuer(issuer, &url, &fetched);
    let mut rows = vec![row(ids.0, format!("{who} {issuer}"), outcome)];
    let keys = match jwks_uri {
        None => Outcome::skip("no jwks_uri to fetch (see the row above)"),
        Some(u) if !crate::url::is_fetchable_key_url(&u) => Outcome::fail(
            format!("jwks_uri {u} is not an https:// URL"),
            "the gate fetches keys only over https:// (http:// on loopback): fix PocketID's APP_URL",
        ),
        Some(u) => {
            let fetched = client.fetch(&u).await.map_err(String::from);
            idp::keys(&u, &fetched, qufabric_verifies)
        }
    };
    rows.push(row(ids.1, format!("{who}'s keys"), keys));
    rows
}

/// Plain-HTTP requests to the TLS port: each must be refused.
async fn plain_http(client: &Client, host: &str, port: u16, authority: &str) -> Outcome {
    let mut answers = Vec::new();
    for path in PLAIN_PATHS {
        let request = http1::get(path, authority, &[]);
        answers.push((path.to_owned(), client.http1(host, port, false, &request).await.map_err(String::from)));
    }
    judge::plain_http(&answers, port)
}
