// The peer: what an operator would otherwise write — `jose` as its README shows for a remote key set
// (`createRemoteJWKSet` once per isolate, `jwtVerify` with issuer and audience), plus a groups any-of check and
// the same forward-auth answers as the gate (200 with identity headers, 401 with a challenge, 403).
import { createRemoteJWKSet, jwtVerify } from "jose";

let JWKS; // one remote key set per isolate (jose caches it, with its own 30 s cooldown on unknown kids)

const json = (status, code, extra = {}) =>
  new Response(JSON.stringify({ code }), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...extra },
  });

export default {
  async fetch(request, env) {
    JWKS ??= createRemoteJWKSet(new URL(env.JWKS_URI));
    const m = /^Bearer +(\S+)$/i.exec(request.headers.get("authorization") ?? "");
    if (!m) return json(401, "token_missing", { "www-authenticate": 'Bearer realm="jose"' });
    let payload;
    try {
      ({ payload } = await jwtVerify(m[1], JWKS, { issuer: env.ISSUER, audience: env.AUDIENCE }));
    } catch {
      return json(401, "invalid_token", { "www-authenticate": 'Bearer realm="jose", error="invalid_token"' });
    }
    const allow = env.ALLOW_GROUPS.split(",");
    const groups = Array.isArray(payload.groups) ? payload.groups : [];
    if (!groups.some((g) => allow.includes(g))) return json(403, "group_not_allowed");
    return new Response(null, {
      status: 200,
      headers: {
        "cache-control": "no-store",
        "x-auth-request-user": String(payload.sub ?? ""),
        "x-auth-request-email": String(payload.email ?? ""),
        "x-auth-request-preferred-username": String(payload.preferred_username ?? ""),
        "x-auth-request-groups": groups.join(","),
      },
    });
  },
};
