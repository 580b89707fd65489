//! [`Answer`] into a `Response`: the one place where the Worker builds its own responses.

use wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::JsValue;
use worker::web_sys;

use crate::answer::Answer;
use crate::http::forward_auth_headers;

/// The `Response` for `answer`, `realm` naming the `WWW-Authenticate` realm.
///
/// The forward-auth 200 is one call into JavaScript: `ok_response` keeps one template `Response` per identity
/// (at most 1024, the oldest dropped first) and answers with a clone of it, which costs less than building
/// headers each time. Its values are [`header_value`](crate::http::header_value)s (visible ASCII and space
/// only), so the newline-joined key is unambiguous; the names are those of
/// [`IDENTITY_HEADERS`](crate::http::IDENTITY_HEADERS), in that order.
pub fn into_response(answer: &Answer<'_>, realm: &str) -> Result<web_sys::Response, JsValue> {
    if let Answer::Pass(id) = answer {
        let [user, email, username, groups] = forward_auth_headers(*id).map(|(_, v)| v);
        return ok_response(&user, &email, &username, &groups);
    }
    let headers = web_sys::Headers::new()?;
    for (name, value) in answer.headers(realm) {
        headers.set(name, &value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(answer.status());
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_str_and_init(answer.body().as_deref(), &init)
}

#[wasm_bindgen(inline_js = r#"
const templates = new Map();
export function ok_response(user, email, username, groups) {
  const key = `${user}\n${email}\n${username}\n${groups}`;
  let template = templates.get(key);
  if (template === undefined) {
    template = new Response(null, {
      status: 200,
      headers: {
        "content-type": "application/json",
        "cache-control": "no-store",
        "x-auth-request-user": user,
        "x-auth-request-email": email,
        "x-auth-request-preferred-username": username,
        "x-auth-request-groups": groups,
      },
    });
    if (templates.size >= 1024) templates.delete(templates.keys().next().value);
    templates.set(key, template);
  }
  return template.clone();
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn ok_response(user: &str, email: &str, username: &str, groups: &str) -> Result<web_sys::Response, JsValue>;
}
