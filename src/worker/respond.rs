//! [`Answer`] into a `Response`: the one place where the Worker builds its own responses.

use std::cell::RefCell;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::JsValue;
use worker::web_sys;

use super::templates::Templates;
use crate::answer::Answer;
use crate::http::forward_auth_headers;
use crate::policy::Identity;

/// The `Response` for `answer`, `realm` naming the `WWW-Authenticate` realm.
///
/// The forward-auth 200 is a clone of a template `Response` kept per identity ([`templates`](super::templates),
/// found by a hash of the identity and compared): an allowed request's answer is one call into JavaScript with a
/// slot number, which costs less than building headers each time. The templates are bounded by count and by
/// bytes, the oldest dropped first: at most 1024 identities and at most 4 MiB, each counting its identity's heap
/// bytes (held here), its header values' bytes (held by the `Response`) and 1 KiB for the `Response` and
/// `Headers` objects. An identity of 300 groups (~23 KB of headers) costs ~50 KB, so ~80 of those fit; PocketID's
/// usual identities (~150 B) are bounded by the count (~1.3 MB). The largest token the core accepts (32 KiB)
/// cannot make one template larger than the budget, so the budget holds for any traffic.
pub fn into_response(answer: &Answer<'_>, realm: &str) -> Result<web_sys::Response, JsValue> {
    if let Answer::Pass(id) = answer {
        return pass_response(*id);
    }
    // One call across: before, `Headers`, each `set`, `ResponseInit` and its two setters were a call each.
    // `Answer::headers` gives one to three headers besides `Pass` (its test holds it to that); more would be
    // dropped, so they fail closed instead.
    let headers = answer.headers(realm);
    let header = |i: usize| headers.get(i).map(|(name, value)| (*name, value.as_str()));
    let (Some((name, value)), second, third, None) = (header(0), header(1), header(2), header(3)) else {
        return Err(JsValue::from_str("an answer with no header or more than three"));
    };
    respond(
        answer.status(),
        answer.body().as_deref(),
        name,
        value,
        second.map(|h| h.0),
        second.map(|h| h.1),
        third.map(|h| h.0),
        third.map(|h| h.1),
    )
}

thread_local! {
    /// Which identity's template is in which slot of JavaScript's `templates`.
    static TEMPLATES: RefCell<Templates<Option<Arc<Identity>>>> = RefCell::new(Templates::new());
}

/// The forward-auth 200 for `id` (`None`: empty identity headers): a clone of its template, made first if need be.
fn pass_response(id: Option<&Arc<Identity>>) -> Result<web_sys::Response, JsValue> {
    let identity = id.map(|id| &**id);
    let mut hasher = DefaultHasher::new();
    identity.hash(&mut hasher);
    let key = hasher.finish();
    TEMPLATES.with(|templates| {
        let mut templates = templates.borrow_mut();
        // The same identity (the same user's next token too), not merely the same hash.
        if let Some((slot, held)) = templates.get(key)
            && held.as_deref() == identity
        {
            return ok_clone(slot).ok_or_else(|| JsValue::from_str("a forward-auth template is missing"));
        }
        let [user, email, username, groups] = forward_auth_headers(identity).map(|(_, v)| v);
        let values = user.len() + email.len() + username.len() + groups.len();
        let cost = id.map_or(0, |id| id.heap_bytes()) + values + 1024;
        let placed = templates.insert(key, id.cloned(), cost);
        for slot in placed.evicted {
            ok_forget(slot);
        }
        ok_make(placed.slot, &user, &email, &username, &groups).inspect_err(|_| templates.remove(placed.slot))
    })
}

/// Templates held, and what they count against their 4 MiB budget (bytes).
pub fn template_sizes() -> (usize, usize) {
    TEMPLATES.with(|t| {
        let t = t.borrow();
        (t.len(), t.bytes())
    })
}

#[wasm_bindgen(inline_js = r#"
export function respond(status, body, n1, v1, n2, v2, n3, v3) {
  const headers = { [n1]: v1 };
  if (n2 !== undefined) headers[n2] = v2;
  if (n3 !== undefined) headers[n3] = v3;
  return new Response(body ?? null, { status, headers });
}
const templates = [];
export function ok_clone(slot) {
  const template = templates[slot];
  return template === undefined ? undefined : template.clone();
}
export function ok_forget(slot) { templates[slot] = undefined; }
export function ok_make(slot, user, email, username, groups) {
  const template = new Response(null, {
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
  templates[slot] = template;
  return template.clone();
}
"#)]
extern "C" {
    /// A `Response` with `status`, `body` (none: empty) and up to three headers (names lower-case; a name not
    /// given is skipped). Throws, like `Headers`, on a name or value the Fetch standard refuses.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(catch)]
    fn respond(
        status: u16,
        body: Option<&str>,
        n1: &str,
        v1: &str,
        n2: Option<&str>,
        v2: Option<&str>,
        n3: Option<&str>,
        v3: Option<&str>,
    ) -> Result<web_sys::Response, JsValue>;

    /// A clone of the template in `slot`, or `None` when the slot is empty (never for a slot [`TEMPLATES`] holds).
    fn ok_clone(slot: u32) -> Option<web_sys::Response>;

    /// Let go of the template in `slot`.
    fn ok_forget(slot: u32);

    /// Make the template in `slot` (replacing what was there) from the identity header values ([`header_value`](
    /// crate::http::header_value)s: visible ASCII and space) and answer with a clone of it. The names are those of
    /// [`IDENTITY_HEADERS`](crate::http::IDENTITY_HEADERS), in that order.
    #[wasm_bindgen(catch)]
    fn ok_make(slot: u32, user: &str, email: &str, username: &str, groups: &str) -> Result<web_sys::Response, JsValue>;
}
