// The forward-auth floor: what any forward-auth answer costs before verifying anything. It reads what the gate
// reads of every forward-auth request (the method, the URL, Authorization and both forwarding families:
// X-Original-Method/URI and X-Forwarded-Method/Uri, since the gate refuses two families that disagree; until
// 2026-11-27 it read only Authorization and X-Forwarded-Method/Uri) and answers 200 with the same six response
// headers as the gate, with fixed identity values. No token is checked: this is the ceiling for any gate's hot
// throughput. The new-token floor (bench/workers/verifyfloor) imports its two steps.

/** The `Authorization` value of a complete forward-auth call for GET (the forwarded method and URI present), else
 * null. */
export function forwardAuthorization(request) {
  const h = request.headers;
  const authorization = h.get("authorization");
  const originalMethod = h.get("x-original-method");
  const originalUri = h.get("x-original-uri");
  const method = h.get("x-forwarded-method") ?? originalMethod;
  const uri = h.get("x-forwarded-uri") ?? originalUri;
  const complete = authorization && uri && method && request.url && request.method === "GET";
  return complete ? authorization : null;
}

/** The gate's forward-auth 200: its six headers, fixed identity values. */
export function pass() {
  return new Response(null, {
    status: 200,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
      "x-auth-request-user": "2bd806c97f0e00af1a1fc3328fa763a9",
      "x-auth-request-email": "alice@example.com",
      "x-auth-request-preferred-username": "alice",
      "x-auth-request-groups": "netbird-users",
    },
  });
}

export const refuse = () => new Response(null, { status: 401 });

export default {
  fetch(request) {
    return forwardAuthorization(request) === null ? refuse() : pass();
  },
};
