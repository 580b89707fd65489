//! [`Answer`] into a `Response`: the one place where the Worker builds its own responses.

use wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::JsValue;
use worker::web_sys;

use crate::answer::Answer;
use crate::http::forward_auth_headers;

/// The `Response` for `answer`, `realm` naming the `WWW-Authenticate` realm.
///
/// The forward-auth 200 is one call into JavaScript: `ok_response` keeps one template `Response` per identity
/// and answers with a clone of it, which costs less than building headers each time. Its values are
/// [`header_value`](crate::http::header_value)s (visible ASCII and space only), so the newline-joined key is
/// unambiguous; the names are those of [`IDENTITY_HEADERS`](crate::http::IDENTITY_HEADERS), in that order.
///
/// The templates are bounded by count and by bytes, the oldest dropped first: at most 1024 identities and at most
/// 4 MiB, each template counting twice its key's length (the key, a one-byte JavaScript string, and the same
/// characters again as the `Response`'s header values) plus 1 KiB for the `Response` and `Headers` objects. An
/// identity of 300 groups (~23 KB of headers) costs ~48 KB, so 88 of those fit; PocketID's usual identities
/// (~150 B) are bounded by the count (~1.2 MB). The largest token the core accepts (32 KiB) cannot make one
/// template larger than the budget, so the budget holds for any traffic.
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
let bytes = 0;
const cost = (key) => 2 * key.length + 1024;
export function ok_templates() { return templates.size; }
export function ok_template_bytes() { return bytes; }
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
    const c = cost(key);
    while (templates.size && (templates.size >= 1024 || bytes + c > 4 << 20)) {
      const old = templates.keys().next().value;
      bytes -= cost(old);
      templates.delete(old);
    }
    bytes += c;
    templates.set(key, template);
  }
  return template.clone();
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn ok_response(user: &str, email: &str, username: &str, groups: &str) -> Result<web_sys::Response, JsValue>;

    /// Templates held by `ok_response`.
    pub fn ok_templates() -> usize;

    /// What they count against their 4 MiB budget, bytes.
    pub fn ok_template_bytes() -> usize;
}
