//! The judge against the gate's own answers (built by [`crate::answer::Answer`], as every adapter sends them),
//! QuFabric's (the shapes in NetBird's `shared/management/http/util/util.go`), and the proxies' pages.

use super::*;
use crate::answer::Answer as GateAnswer;
use crate::check::report::Status;
use crate::error::Error;

/// The gate's refusal of `error`, exactly as the Worker and the plugin send it.
fn gate(error: Error) -> Answer {
    let a = GateAnswer::Refuse { error, credential_sent: false };
    Answer {
        status: a.status(),
        headers: a.headers("pocketgate").into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        body: a.body().unwrap_or_default().into_bytes(),
    }
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
    Answer {
        status,
        headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
        body: body.as_bytes().to_vec(),
    }
}

/// QuFabric's auth middleware without a token: `WriteErrorResponse` (json.Encoder ends with a newline).
fn qufabric_401() -> Answer {
    answer(
        401,
        &[("content-type", "application/json; charset=UTF-8")],
        "{\"message\":\"no valid authentication provided\",\"code\":401}\n",
    )
}

/// nginx's page for an `auth_request` refused with 401: the gate's challenge kept, its body replaced.
fn nginx_401() -> Answer {
    answer(
        401,
        &[("content-type", "text/html"), ("www-authenticate", "Bearer realm=\"pocketgate\"")],
        "<html><head><title>401 Authorization Required</title></head></html>",
    )
}

fn html(status: u16) -> Answer {
    answer(status, &[("content-type", "text/html; charset=utf-8")], "<!doctype html><title>x</title>")
}

#[test]
fn every_gate_refusal_is_recognised_as_the_gates() {
    let errors = [
        Error::TokenMissing,
        Error::Expired,
        Error::SignatureInvalid,
        Error::PathAmbiguous,
        Error::ForwardedHeadersIncomplete,
        Error::GroupNotAllowed,
        Error::GroupsMissing,
        Error::KeysUnavailable { reason: "x".into() },
        Error::Config { setting: "ISSUER".into(), message: "x".into() },
        Error::NotFound { what: "no such gate endpoint" },
    ];
    for e in errors {
        let code = e.code();
        assert_eq!(source(&gate(e)), Source::Gate(Some(code.to_owned())), "{code}");
    }
    assert_eq!(gate(Error::TokenMissing).bearer_challenge(), Some("Bearer realm=\"pocketgate\""));
}

#[test]
fn sources() {
    assert_eq!(source(&nginx_401()), Source::Gate(None));
    assert!(
        matches!(source(&qufabric_401()), Source::Api(w) if w.contains("QuFabric's own 401 \"no valid authentication provided\""))
    );
    let stand_in = answer(200, &[("content-type", "application/json")], r#"{"method":"GET","path":"/api/users"}"#);
    assert!(matches!(source(&stand_in), Source::Api(_)));
    let mux = answer(301, &[("location", "/api/users"), ("content-length", "0")], "");
    assert!(matches!(source(&mux), Source::Api(w) if w.contains("redirect to /api/users")));
    let abs = answer(308, &[("location", "https://q.example.com/API/users")], "");
    assert!(matches!(source(&abs), Source::Api(_)), "absolute, any case");
    assert_eq!(source(&answer(301, &[("location", "/relay/")], "")), Source::Refused);
    assert_eq!(source(&html(200)), Source::Page);
    assert_eq!(source(&answer(404, &[("content-type", "text/plain")], "404 page not found\n")), Source::Refused);
    assert_eq!(source(&html(500)), Source::Refused);
    assert_eq!(source(&answer(200, &[("content-type", "text/plain")], "ok")), Source::Other);
    // A 401 without the gate's challenge is not the gate's, whatever its body says.
    let fake = answer(401, &[("content-type", "text/plain")], "Unauthorized");
    assert_eq!(source(&fake), Source::Refused);
    // A JSON error with extra members, or a non-snake code, is not the gate's shape.
    let odd = answer(400, &[], r#"{"code":"path_ambiguous","message":"x","extra":1}"#);
    assert_eq!(source(&odd), Source::Refused);
    assert_eq!(source(&answer(400, &[], r#"{"code":"Bad Request","message":"x"}"#)), Source::Refused);
}

#[test]
fn api_without_a_token() {
    let ok = api_unauthenticated(&gate(Error::TokenMissing), Gate::ForwardAuth);
    assert_eq!(ok.status, Status::Pass, "{ok:?}");
    assert!(ok.detail.contains("401 token_missing") && ok.detail.contains("Bearer realm=\"pocketgate\""));
    assert_eq!(api_unauthenticated(&nginx_401(), Gate::ForwardAuth).status, Status::Pass);
    let own = api_unauthenticated(&qufabric_401(), Gate::Proxy);
    assert_eq!(own.status, Status::Fail);
    assert!(own.detail.contains("the gate was not asked"), "{own:?}");
    assert!(own.fix.unwrap().contains("under [vars] it becomes a variable"), "proxy mode names the [vars] paste");
    let fa = api_unauthenticated(&qufabric_401(), Gate::ForwardAuth).fix.unwrap();
    assert!(fa.contains("auth_request"), "{fa}");
    let bad = api_unauthenticated(&gate(Error::Config { setting: "ISSUER".into(), message: "x".into() }), Gate::Plugin);
    assert_eq!(bad.status, Status::Fail);
    assert!(bad.detail.contains("config_invalid") && bad.fix.unwrap().contains("/_gate/healthz"));
    let keys = api_unauthenticated(&gate(Error::KeysUnavailable { reason: "x".into() }), Gate::Plugin);
    assert!(keys.detail.contains("keys_unavailable"));
    let open = api_unauthenticated(&answer(200, &[("content-type", "application/json")], "{}"), Gate::Proxy);
    assert_eq!(open.status, Status::Fail);
    for (a, words) in [
        (answer(404, &[("content-type", "text/plain")], "404 page not found\n"), "no route for /api"),
        (html(502), "could not get an answer"),
        (html(200), "not the gate's 401"),
    ] {
        let o = api_unauthenticated(&a, Gate::ForwardAuth);
        assert_eq!(o.status, Status::Fail);
        assert!(o.detail.contains(words), "{o:?}");
    }
}

#[test]
fn hostile_tally() {
    let mut t = Tally::default();
    t.add("/API/users", &Ok(gate(Error::PathAmbiguous)));
    t.add("/relay/..%2fapi/users", &Ok(answer(400, &[("content-type", "text/plain")], "Bad Request")));
    t.add("/x/../api/users", &Ok(nginx_401()));
    t.add("//api/users", &Err("connection closed".into()));
    t.add("/api;/users", &Ok(html(200)));
    let pass = t.outcome(Gate::ForwardAuth);
    assert_eq!(pass.status, Status::Pass);
    assert_eq!(
        pass.detail,
        "5 paths: 2 answered by the gate, 2 refused by the proxy, 1 served a page, none reached the API"
    );
    for i in 0..7 {
        t.add(&format!("/relay/{i}/..%2f..%2fapi/users"), &Ok(qufabric_401()));
    }
    let fail = t.outcome(Gate::Plugin);
    assert_eq!(fail.status, Status::Fail);
    assert!(
        fail.detail.starts_with("7 of 12 reached QuFabric's API: /relay/0/..%2f..%2fapi/users → QuFabric's own 401"),
        "{}",
        fail.detail
    );
    assert!(fail.detail.ends_with("(and 2 more)"));
    assert!(fail.fix.unwrap().contains("decoded path"));
}

#[test]
fn public_api_dashboard_and_plain_http() {
    let instance = answer(200, &[("content-type", "application/json")], r#"{"setup_required":false}"#);
    assert_eq!(public_api(&instance, PublicApi::Bypass).status, Status::Pass);
    let refused = public_api(&gate(Error::TokenMissing), PublicApi::Bypass);
    assert_eq!(refused.status, Status::Fail);
    assert!(refused.fix.unwrap().contains("PUBLIC_API = \"bypass\""));
    assert_eq!(public_api(&gate(Error::TokenMissing), PublicApi::Gate).status, Status::Pass);
    assert_eq!(public_api(&instance, PublicApi::Gate).status, Status::Fail);

    assert_eq!(dashboard(&html(200), Dashboard::Bypass).status, Status::Pass);
    assert_eq!(dashboard(&gate(Error::TokenMissing), Dashboard::Protect).status, Status::Pass);
    let down = dashboard(&html(500), Dashboard::Bypass);
    assert_eq!(down.status, Status::Fail);
    assert!(down.fix.unwrap().contains("a gate outage takes it down"));
    assert_eq!(dashboard(&gate(Error::TokenMissing), Dashboard::Bypass).status, Status::Fail);

    assert_eq!(dashboard_direct(&html(200), Dashboard::Bypass).status, Status::Pass);
    assert_eq!(dashboard_direct(&answer(404, &[], "not found"), Dashboard::Bypass).status, Status::Pass);
    let asks = dashboard_direct(&gate(Error::PathAmbiguous), Dashboard::Bypass);
    assert_eq!(asks.status, Status::Fail);
    assert!(asks.detail.contains("path_ambiguous"));
    assert_eq!(dashboard_direct(&html(500), Dashboard::Bypass).status, Status::Fail, "nginx: refused auth_request");
    assert_eq!(dashboard_direct(&html(200), Dashboard::Protect).status, Status::Skip);

    let refusals = vec![
        (
            "/api/users".to_owned(),
            Ok(answer(400, &[("content-type", "text/html")], "plain HTTP request was sent to HTTPS port")),
        ),
        ("/".to_owned(), Ok(answer(404, &[("content-type", "text/plain")], "404 page not found\n"))),
        ("/relay".to_owned(), Err("connection closed".to_owned())),
    ];
    assert_eq!(plain_http(&refusals, 443).status, Status::Pass);
    let mut served = refusals.clone();
    served.push(("/api/users".to_owned(), Ok(gate(Error::TokenMissing))));
    served.push(("/".to_owned(), Ok(html(200))));
    let o = plain_http(&served, 443);
    assert_eq!(o.status, Status::Fail);
    assert!(
        o.detail.contains("/api/users → HTTP 401 token_missing") && o.detail.contains("/ → HTTP 200"),
        "{}",
        o.detail
    );
    assert!(o.fix.unwrap().contains("tls=true"));
}

#[test]
fn grpc_answers() {
    let ok = GrpcAnswer {
        status: 200,
        content_type: "application/grpc".into(),
        grpc_status: Some("0".into()),
        ..Default::default()
    };
    let o = grpc(&ok, "h2", Gate::ForwardAuth);
    assert_eq!((o.status, o.detail.as_str()), (Status::Pass, "grpc-status 0 (OK), HTTP/2 by ALPN (h2)"));
    let unimpl = GrpcAnswer { grpc_status: Some("12".into()), ..ok.clone() };
    assert!(grpc_direct(&unimpl, Gate::ForwardAuth).detail.contains("UNIMPLEMENTED"));
    let refused = GrpcAnswer {
        status: 401,
        content_type: "application/json".into(),
        gate_code: Some("token_missing".into()),
        challenge: Some("Bearer realm=\"pocketgate\"".into()),
        grpc_status: None,
    };
    let o = grpc(&refused, "h2", Gate::ForwardAuth);
    assert_eq!(o.status, Status::Fail);
    assert!(o.fix.unwrap().contains("remove forward-auth from the gRPC route"));
    let ambiguous = GrpcAnswer { status: 400, gate_code: Some("path_ambiguous".into()), challenge: None, ..refused };
    let o = grpc_direct(&ambiguous, Gate::Plugin);
    assert!(o.detail.contains("asks the gate") && o.fix.unwrap().contains("netbird-grpc"));
    let page = GrpcAnswer { status: 200, content_type: "text/html".into(), ..Default::default() };
    assert!(grpc(&page, "h2", Gate::Proxy).detail.contains("a page answered"));
    assert_eq!(grpc_direct(&page, Gate::Proxy).status, Status::Fail);
    assert_eq!(grpc_status_name("16"), "UNAUTHENTICATED");
    assert_eq!(grpc_status_name("99"), "unknown status");
}

#[test]
fn websocket_answers() {
    let up = answer(101, &[("upgrade", "websocket"), ("connection", "Upgrade"), ("sec-websocket-accept", "abc=")], "");
    assert_eq!(websocket(&up, "abc=", Gate::ForwardAuth).status, Status::Pass);
    assert_eq!(websocket(&up, "other=", Gate::ForwardAuth).status, Status::Fail, "a forged 101");
    let o = websocket(&gate(Error::TokenMissing), "abc=", Gate::Plugin);
    assert!(o.fix.unwrap().contains("netbird-backend"));
    assert!(websocket(&html(200), "abc=", Gate::ForwardAuth).detail.contains("dashboard"));
    assert!(websocket(&answer(400, &[], "bad"), "abc=", Gate::ForwardAuth).fix.unwrap().contains("Upgrade"));
}

#[test]
fn tokens() {
    let ok = answer(200, &[("content-type", "application/json")], r#"{"id":"u"}"#);
    assert_eq!(token_allowed(&ok).status, Status::Pass);
    let expired = token_allowed(&gate(Error::Expired));
    assert_eq!(expired.status, Status::Fail);
    assert!(expired.fix.unwrap().contains("fresh"));
    assert!(token_allowed(&gate(Error::IssuerNotTrusted)).fix.unwrap().contains("embedded mode"));
    assert!(token_allowed(&qufabric_401()).detail.ends_with("the gate let the token through and QuFabric refused it"));
    assert_eq!(token_allowed(&html(200)).status, Status::Fail);

    let denied = token_denied(&gate(Error::GroupNotAllowed));
    assert_eq!((denied.status, denied.detail.as_str()), (Status::Pass, "403 group_not_allowed from the gate"));
    assert_eq!(token_denied(&gate(Error::GroupsMissing)).status, Status::Pass);
    let nginx_403 = answer(403, &[("content-type", "text/html")], "<html>403 Forbidden</html>");
    assert!(token_denied(&nginx_403).detail.contains("code is not shown"));
    let through = token_denied(&ok);
    assert_eq!(through.status, Status::Fail);
    assert!(through.detail.contains("reached QuFabric"));
    let expired = token_denied(&gate(Error::Expired));
    assert_eq!(expired.status, Status::Fail);
    assert!(expired.detail.contains("token_expired"));
}
