//! Whose answer is it? The gate's, QuFabric's REST API's, the dashboard's, or a refusal by the proxy; and what
//! each check makes of it. Pure functions over what came back ([`Answer`], [`GrpcAnswer`]).
//!
//! How the two 401s differ:
//! - the gate's refusals are `{"code":"<snake_case>","message":…}` (src/http.rs `error_body`), and a 401 carries
//!   `WWW-Authenticate: Bearer realm="…"` (`www_authenticate`). nginx's `auth_request` keeps that header but
//!   answers with its own page, and turns any refusal other than 401/403 into a 500;
//! - QuFabric's API answers `{"message":…,"code":<number>}` (NetBird `shared/management/http/util/util.go`,
//!   `ErrorResponse`, `WriteErrorResponse`), e.g. `{"message":"no valid authentication provided","code":401}` from
//!   its auth middleware (`management/server/http/middleware/auth_middleware.go`, `Handler`), and never sends
//!   `WWW-Authenticate`;
//! - QuFabric's router (gorilla/mux) answers a path with dot segments with a `301` to the cleaned path before any
//!   handler runs: a redirect into `/api` means the request reached QuFabric's API without the gate.

use serde_json::{Map, Value};

use super::args::{Dashboard, Gate, PublicApi};
use super::report::Outcome;

/// An HTTP/1.1 answer as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The header fields, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The body (capped by the reader).
    pub body: Vec<u8>,
}

impl Answer {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn content_type(&self) -> String {
        self.header("content-type").unwrap_or("").to_ascii_lowercase()
    }

    /// An HTML page.
    pub fn is_html(&self) -> bool {
        self.content_type().starts_with("text/html")
    }

    /// The body as a JSON object.
    pub fn json(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// The gate's code in the body, when the body is the gate's refusal: exactly `code` (a `snake_case` string)
    /// and `message`.
    pub fn gate_code(&self) -> Option<String> {
        let m = self.json()?;
        let code = m.get("code")?.as_str()?;
        let snake = !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        (m.len() == 2 && snake && m.get("message").is_some_and(Value::is_string)).then(|| code.to_owned())
    }

    /// `WWW-Authenticate: Bearer realm="…"`: the gate's challenge.
    pub fn bearer_challenge(&self) -> Option<&str> {
        self.header("www-authenticate").filter(|v| v.starts_with("Bearer realm=\""))
    }
}

/// Who produced an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The gate refused: its code when the body is the gate's (a proxy may have replaced it and kept only the
    /// challenge).
    Gate(Option<String>),
    /// QuFabric's REST API served it: its error shape, a JSON answer that is not the gate's, or a redirect into
    /// `/api` from its router. The words say which.
    Api(String),
    /// A 2xx HTML page: the dashboard (or another static site), not the API.
    Page,
    /// A redirect elsewhere, or a 4xx/5xx that is neither the gate's nor the API's: nothing was served.
    Refused,
    /// A 1xx, or a 2xx that is neither JSON nor HTML.
    Other,
}

/// Judge one answer.
pub fn source(a: &Answer) -> Source {
    if let Some(code) = a.gate_code() {
        return Source::Gate(Some(code));
    }
    if a.status == 401 && a.bearer_challenge().is_some() {
        return Source::Gate(None);
    }
    if let Some(m) = a.json() {
        if m.get("code").is_some_and(Value::is_number) && m.get("message").is_some_and(Value::is_string) {
            let msg = m.get("message").and_then(Value::as_str).unwrap_or("");
            return Source::Api(format!("QuFabric's own {} \"{}\"", a.status, clip(msg, 60)));
        }
        if (200..300).contains(&a.status) {
            return Source::Api(format!("a JSON {} that is not the gate's", a.status));
        }
    }
    if (300..400).contains(&a.status) {
        let location = a.header("location").unwrap_or("");
        let path = location.split_once("://").map_or(location, |(_, r)| r.find('/').map_or("", |i| &r[i..]));
        if path.to_ascii_lowercase().starts_with("/api") {
            return Source::Api(format!(
                "a {} redirect to {} (QuFabric's router cleaning the path)",
                a.status,
                clip(path, 60)
            ));
        }
        return Source::Refused;
    }
    if (200..300).contains(&a.status) {
        return if a.is_html() { Source::Page } else { Source::Other };
    }
    if a.status >= 400 { Source::Refused } else { Source::Other }
}

fn clip(s: &str, max: usize) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    if s.chars().count() <= max { s } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

/// `HTTP 401 (token_missing)`, `HTTP 500`, … for the report.
pub fn describe(a: &Answer) -> String {
    match source(a) {
        Source::Gate(Some(code)) => format!("HTTP {} {code} from the gate", a.status),
        Source::Gate(None) => format!("HTTP {} with the gate's Bearer challenge", a.status),
        Source::Api(what) => format!("HTTP {}: {what}", a.status),
        Source::Page => format!("HTTP {} (an HTML page)", a.status),
        Source::Refused | Source::Other => {
            let ct = a.content_type();
            if ct.is_empty() { format!("HTTP {}", a.status) } else { format!("HTTP {} ({ct})", a.status) }
        }
    }
}

/// What to change when `/api` reaches QuFabric without the gate, for each place the gate can sit.
pub fn gate_not_in_path_fix(gate: Gate) -> &'static str {
    match gate {
        Gate::Proxy => {
            "deploy the Worker on the routes HOST/api and HOST/api/* (a top-level `routes` in wrangler.toml: pasted \
             under [vars] it becomes a variable and no route is deployed), then `cargo xtask deploy`"
        }
        Gate::ForwardAuth => {
            "make the proxy ask the gate for /api as the setup page's snippet does (nginx auth_request, Caddy \
             forward_auth, Traefik forwardAuth on the /api router), then reload it"
        }
        Gate::Plugin => {
            "put the pocketgate plugin middleware on the /api router (docs/TRAEFIK.md), then let Traefik reload"
        }
    }
}

/// `GET /api/…` without a token must be the gate's 401 with its challenge.
pub fn api_unauthenticated(a: &Answer, gate: Gate) -> Outcome {
    match source(a) {
        Source::Gate(code) if a.status == 401 => {
            let challenge = a.bearer_challenge().unwrap_or("");
            match code {
                Some(code) => Outcome::pass(format!("401 {code} from the gate, WWW-Authenticate: {challenge}")),
                None => Outcome::pass(format!(
                    "401 with the gate's WWW-Authenticate: {challenge} (the proxy replaced the body, so the code \
                     is not shown)"
                )),
            }
        }
        Source::Gate(Some(code)) if code == "config_invalid" => Outcome::fail(
            format!("{} config_invalid: the gate is in the path but refuses every request", a.status),
            "fix the gate's settings: GET /_gate/healthz on the gate (Worker or self-hosted) names each one and \
             its fix; the Traefik plugin logs it",
        ),
        Source::Gate(Some(code)) if code == "keys_unavailable" => Outcome::fail(
            format!("{} keys_unavailable: the gate cannot load the issuer's keys", a.status),
            "let the gate reach the issuer's discovery document and jwks_uri (see the issuer checks above)",
        ),
        Source::Gate(code) => Outcome::fail(
            format!("{} {} from the gate, not 401", a.status, code.unwrap_or_default()),
            "the gate refused a plain GET /api request without a token: check its FORWARDED_HEADERS and the \
             proxy snippet (forward-auth), or its ROUTES",
        ),
        Source::Api(what) => {
            Outcome::fail(format!("{what}: QuFabric answered, the gate was not asked"), gate_not_in_path_fix(gate))
        }
        _ if a.status == 404 => Outcome::fail(
            format!("{}: no route for /api over TLS", describe(a)),
            "route /api to QuFabric through the gate; with Traefik, a router without tls=true is served only as \
             plain HTTP (see the plain-HTTP check)",
        ),
        _ if a.status >= 500 => Outcome::fail(
            format!("{}: the proxy could not get an answer", describe(a)),
            "the gate or QuFabric is unreachable from the proxy: check the gate URL in the proxy configuration and \
             that the gate runs",
        ),
        _ => Outcome::fail(
            format!("{}: not the gate's 401", describe(a)),
            "the answer is neither the gate's 401 nor QuFabric's: check what the proxy sends /api to",
        ),
    }
}

/// The tally of the attacker's paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Answered by the gate.
    pub gate: usize,
    /// Refused by the proxy, redirected elsewhere, no answer.
    pub refused: usize,
    /// Served by a static page (the dashboard).
    pub page: usize,
    /// Served by QuFabric's API: the paths and what came back.
    pub api: Vec<(String, String)>,
}

impl Tally {
    /// Count one path's answer (`Err`: no answer, e.g. the connection was closed).
    pub fn add(&mut self, path: &str, answer: &Result<Answer, String>) {
        match answer.as_ref().map(source) {
            Ok(Source::Gate(_)) => self.gate += 1,
            Ok(Source::Api(what)) => self.api.push((path.to_owned(), what)),
            Ok(Source::Page) => self.page += 1,
            Ok(Source::Refused | Source::Other) | Err(_) => self.refused += 1,
        }
    }

    /// Pass when no path reached the API; else the paths (the first five) and the fix.
    pub fn outcome(&self, gate: Gate) -> Outcome {
        let total = self.gate + self.refused + self.page + self.api.len();
        if self.api.is_empty() {
            return Outcome::pass(format!(
                "{total} paths: {} answered by the gate, {} refused by the proxy, {} served a page, none reached the API",
                self.gate, self.refused, self.page
            ));
        }
        let shown: Vec<String> = self.api.iter().take(5).map(|(p, what)| format!("{p} → {what}")).collect();
        let more = if self.api.len() > 5 { format!(" (and {} more)", self.api.len() - 5) } else { String::new() };
        let fix = match gate {
            Gate::Proxy => "Cloudflare routes match the raw path, so these reached your origin another way: make sure \
                            the origin answers only through the domain's /api routes"
                .to_owned(),
            _ => format!(
                "a router that is not asked by the gate matched these paths after decoding them (Traefik matches the \
                 decoded path): use the setup page's current configuration for your proxy, which refuses encoded \
                 slashes, backslashes and dot segments on ungated routers and sends everything else through the \
                 gate; {}",
                gate_not_in_path_fix(gate)
            ),
        };
        Outcome::fail(format!("{} of {total} reached QuFabric's API: {}{more}", self.api.len(), shown.join("; ")), fix)
    }
}

/// `GET /api/instance` without a token: QuFabric's answer with `PUBLIC_API = "bypass"`, the gate's 401 with
/// `"gate"`.
pub fn public_api(a: &Answer, mode: PublicApi) -> Outcome {
    let src = source(a);
    match (mode, &src) {
        (PublicApi::Bypass, Source::Api(_)) if (200..300).contains(&a.status) => {
            Outcome::pass(format!("{} from QuFabric without a token", a.status))
        }
        (PublicApi::Bypass, Source::Gate(_)) => Outcome::fail(
            format!("{}: the gate refuses NetBird's public path", describe(a)),
            "first-run setup and invite links need /api/instance, /api/setup and /api/users/invites/nbi_* without \
             a token: set the gate's PUBLIC_API = \"bypass\" (the default of current gates; upgrade an older gate)",
        ),
        (PublicApi::Gate, Source::Gate(_)) if a.status == 401 => {
            Outcome::pass(format!("{} (PUBLIC_API = \"gate\")", describe(a)))
        }
        (PublicApi::Gate, Source::Api(_)) => Outcome::fail(
            format!("{}: QuFabric answered without the gate", describe(a)),
            "PUBLIC_API = \"gate\" was given, but the gate let /api/instance through: set PUBLIC_API = \"gate\" on \
             the gate, or run the check with --public-api bypass",
        ),
        _ => Outcome::fail(
            format!("{}: not QuFabric's answer", describe(a)),
            "route /api/instance like the rest of /api: through the gate to QuFabric",
        ),
    }
}

/// A dashboard page (`/`) without a token: an HTML page with `DASHBOARD = "bypass"`, the gate's 401 with
/// `"protect"`.
pub fn dashboard(a: &Answer, mode: Dashboard) -> Outcome {
    match (mode, source(a)) {
        (Dashboard::Bypass, Source::Page) => Outcome::pass(format!("{} text/html without a token", a.status)),
        (Dashboard::Protect, Source::Gate(_)) if a.status == 401 => {
            Outcome::pass(format!("{} (DASHBOARD = \"protect\")", describe(a)))
        }
        (Dashboard::Bypass, Source::Gate(_)) => Outcome::fail(
            format!("{}: the dashboard goes through the gate, which refuses it", describe(a)),
            "send the dashboard straight to its container (the setup page's configuration with DASHBOARD = \
             \"bypass\"), or run the check with --dashboard protect if that is what you want",
        ),
        (_, _) if a.status >= 500 => Outcome::fail(
            format!("{}: the dashboard does not load", describe(a)),
            "if the dashboard's route asks the gate, a gate outage takes it down: route it straight to the \
             dashboard container (DASHBOARD = \"bypass\"); else check that the dashboard container runs",
        ),
        _ => Outcome::fail(
            format!("{}: not the dashboard", describe(a)),
            "route everything that is not /api, gRPC, /relay, /ws-proxy/ or /oauth2/ to the dashboard container",
        ),
    }
}

/// A path the gate refuses as ambiguous (`;`): the dashboard's route must not ask the gate.
pub fn dashboard_direct(a: &Answer, mode: Dashboard) -> Outcome {
    if mode == Dashboard::Protect {
        return Outcome::skip("--dashboard protect: the dashboard asks the gate by design");
    }
    match source(a) {
        Source::Gate(_) => Outcome::fail(
            format!("{}: the dashboard's route asks the gate", describe(a)),
            "with DASHBOARD = \"bypass\" the proxy must not ask the gate for the dashboard (a gate outage would \
             take it down): use the setup page's current configuration",
        ),
        _ if a.status >= 500 => Outcome::fail(
            format!("{}: the dashboard's route failed on a path the gate refuses", describe(a)),
            "nginx answers 500 when its auth_request is refused: the dashboard's location asks the gate; with \
             DASHBOARD = \"bypass\" remove auth_request from it (the setup page's current configuration)",
        ),
        _ => Outcome::pass(format!("{} without the gate", describe(a))),
    }
}

/// A gRPC call's answer over HTTP/2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrpcAnswer {
    /// The HTTP status.
    pub status: u16,
    /// `content-type`.
    pub content_type: String,
    /// `grpc-status`, from the headers (trailers-only answer) or the trailers.
    pub grpc_status: Option<String>,
    /// The gate's code, when the body is the gate's refusal.
    pub gate_code: Option<String>,
    /// `WWW-Authenticate`.
    pub challenge: Option<String>,
}

/// The gRPC status name for a `grpc-status` value (grpc/doc/statuscodes.md).
pub fn grpc_status_name(code: &str) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    code.parse::<usize>().ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("unknown status")
}

fn grpc_gate_fix(gate: Gate) -> &'static str {
    match gate {
        Gate::Proxy => {
            "the gRPC paths reach the Worker, which cannot carry gRPC: route only HOST/api and HOST/api/* to the \
             Worker, never HOST/*"
        }
        Gate::ForwardAuth => {
            "remove forward-auth from the gRPC route (peers authenticate with their WireGuard keys, and a gate \
             outage would cut every peer off): the setup page's configuration sends gRPC straight to QuFabric"
        }
        Gate::Plugin => {
            "remove the pocketgate middleware from the gRPC router (netbird-grpc): gRPC goes straight to QuFabric"
        }
    }
}

/// `GetServerKey` must get a gRPC answer (any `grpc-status`), never a 401 or a page.
pub fn grpc(g: &GrpcAnswer, alpn: &str, gate: Gate) -> Outcome {
    if let Some(code) = &g.grpc_status {
        return Outcome::pass(format!("grpc-status {code} ({}), HTTP/2 by ALPN ({alpn})", grpc_status_name(code)));
    }
    if g.gate_code.is_some() || g.challenge.as_deref().is_some_and(|c| c.starts_with("Bearer realm=\"")) {
        return Outcome::fail(
            format!(
                "HTTP {} {} from the gate: the gRPC call was refused",
                g.status,
                g.gate_code.as_deref().unwrap_or("")
            ),
            grpc_gate_fix(gate),
        );
    }
    if g.content_type.starts_with("text/html") {
        return Outcome::fail(
            format!("HTTP {} text/html: a page answered the gRPC call", g.status),
            "the gRPC services (/management.ManagementService/, /signalexchange.SignalExchange/, \
             /management.ProxyService/) must go to QuFabric over HTTP/2 (h2c), not to the dashboard",
        );
    }
    Outcome::fail(
        format!("HTTP {} ({}) without grpc-status: not a gRPC answer", g.status, g.content_type),
        "route the gRPC services to QuFabric over HTTP/2 (nginx grpc_pass grpc://…, Caddy/Traefik h2c://…)",
    )
}

/// A gRPC call to a method path the gate refuses as ambiguous (`;`): QuFabric answers it as gRPC
/// (`UNIMPLEMENTED`) when the gRPC route goes straight to it; the gate's refusal shows the route asks the gate.
pub fn grpc_direct(g: &GrpcAnswer, gate: Gate) -> Outcome {
    if let Some(code) = &g.grpc_status {
        return Outcome::pass(format!("grpc-status {code} ({}) from QuFabric, not the gate", grpc_status_name(code)));
    }
    if g.gate_code.is_some() {
        return Outcome::fail(
            format!(
                "HTTP {} {} from the gate: the gRPC route asks the gate",
                g.status,
                g.gate_code.as_deref().unwrap_or("")
            ),
            grpc_gate_fix(gate),
        );
    }
    Outcome::fail(
        format!("HTTP {} ({}) without grpc-status", g.status, g.content_type),
        "a gRPC call to an unknown method must get QuFabric's gRPC answer (UNIMPLEMENTED); nginx answers 500 when \
         an auth_request on the gRPC location is refused: remove it",
    )
}

/// An HTTP/1.1 `Upgrade: websocket` must be answered `101` with the right `Sec-WebSocket-Accept`.
pub fn websocket(a: &Answer, expected_accept: &str, gate: Gate) -> Outcome {
    if a.status == 101 {
        let upgrade = a.header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
        return match a.header("sec-websocket-accept") {
            Some(acc) if upgrade && acc == expected_accept => Outcome::pass("101 Switching Protocols"),
            _ => Outcome::fail(
                "101 without a valid Upgrade: websocket / Sec-WebSocket-Accept",
                "something between the client and QuFabric answers the upgrade itself: route the path to QuFabric",
            ),
        };
    }
    match source(a) {
        Source::Gate(_) => Outcome::fail(
            format!("{}: the gate refused the upgrade", describe(a)),
            match gate {
                Gate::Proxy => "route only HOST/api and HOST/api/* to the Worker",
                Gate::ForwardAuth => {
                    "remove forward-auth from the /relay and /ws-proxy/ routes (the setup page's configuration)"
                }
                Gate::Plugin => {
                    "remove the pocketgate middleware from the router of /relay and /ws-proxy/ (netbird-backend)"
                }
            },
        ),
        Source::Page => Outcome::fail(
            format!("{}: a page answered, the path goes to the dashboard", describe(a)),
            "route /relay and /ws-proxy/ to QuFabric (HTTP/1.1 with Upgrade)",
        ),
        _ => Outcome::fail(
            format!("{}: no upgrade", describe(a)),
            "the proxy must pass Upgrade and Connection to QuFabric on /relay and /ws-proxy/ (nginx: \
             proxy_http_version 1.1 and proxy_set_header Upgrade/Connection)",
        ),
    }
}

/// A plain-HTTP request to the TLS port must not be served (refused, or no answer).
pub fn plain_http(answers: &[(String, Result<Answer, String>)], port: u16) -> Outcome {
    let served: Vec<String> = answers
        .iter()
        .filter_map(|(path, a)| {
            let a = a.as_ref().ok()?;
            let served = matches!(source(a), Source::Gate(_) | Source::Api(_) | Source::Page)
                || a.status == 101
                || (200..300).contains(&a.status);
            served.then(|| format!("{path} → {}", describe(a)))
        })
        .collect();
    if served.is_empty() {
        return Outcome::pass(format!("{} plain-HTTP requests to port {port} refused", answers.len()));
    }
    Outcome::fail(
        format!("port {port} serves plain HTTP: {}", served.join("; ")),
        "every router on the HTTPS entry point needs TLS (Traefik: tls=true and tls.certresolver on each router, \
         as NetBird's getting-started.sh; nginx: listen … ssl; Caddy: a site address without http://)",
    )
}

/// An allowed user's token on `--allowed-path`: QuFabric's 2xx.
pub fn token_allowed(a: &Answer) -> Outcome {
    match source(a) {
        Source::Api(_) if (200..300).contains(&a.status) => Outcome::pass(format!("{} from QuFabric", a.status)),
        Source::Gate(code) => {
            let code = code.unwrap_or_default();
            let fix = match code.as_str() {
                "token_expired" => "the token has expired: take a fresh one (PocketID's ID tokens live an hour)",
                "issuer_not_trusted" => {
                    "the token's issuer is not the gate's ISSUER: in embedded mode take a token the dashboard uses \
                     (issued by https://HOST/oauth2), not a PocketID token"
                }
                "audience_mismatch" => "the token's aud is not in the gate's AUDIENCE",
                "group_not_allowed" | "groups_missing" | "group_denied" => {
                    "this user is not in ALLOW_GROUPS: give a token of an allowed user, or add the group"
                }
                _ => "the gate refused the token: the code says why (docs/CONFIG.md lists them)",
            };
            Outcome::fail(format!("{}: the gate refused the allowed user's token", describe(a)), fix)
        }
        Source::Api(what) => Outcome::fail(
            format!("{what}: the gate let the token through and QuFabric refused it"),
            "QuFabric's own checks refused the user (its IdP settings, the user's state): see its log",
        ),
        _ => Outcome::fail(
            format!("{}: not QuFabric's answer", describe(a)),
            "the gate let the token through but the answer is not QuFabric's: check the route behind the gate",
        ),
    }
}

/// A token of a user outside the allowed groups: the gate's 403 `group_not_allowed`.
pub fn token_denied(a: &Answer) -> Outcome {
    match (a.status, source(a)) {
        (403, Source::Gate(Some(code))) if code == "group_not_allowed" => {
            Outcome::pass("403 group_not_allowed from the gate")
        }
        (403, Source::Gate(Some(code))) if code == "groups_missing" || code == "group_denied" => {
            Outcome::pass(format!("403 {code} from the gate"))
        }
        (403, Source::Refused) => Outcome::pass(format!(
            "{} (the proxy replaced the gate's body, so the code is not shown; nginx does)",
            describe(a)
        )),
        (_, Source::Api(what)) => Outcome::fail(
            format!("{what}: the user outside the allowed groups reached QuFabric"),
            "the gate let this user through: check ALLOW_GROUPS / DENY_GROUPS and that /api asks the gate",
        ),
        (_, Source::Gate(code)) => Outcome::fail(
            format!("HTTP {} {}: the gate refused the token for another reason", a.status, code.unwrap_or_default()),
            "give a valid, unexpired token of a user who is outside ALLOW_GROUPS, so the group rule is what decides",
        ),
        _ => Outcome::fail(format!("{}: not the gate's 403", describe(a)), "check what the proxy sends /api to"),
    }
}

#[cfg(test)]
mod tests;
