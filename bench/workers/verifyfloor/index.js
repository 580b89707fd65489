// The new-token floor: what any gate that checks a new token's signature in WebCrypto pays at the least, as the
// forward-auth floor (bench/workers/floor) is for a cached one. Per request it reads what the gate reads (the
// method, the URL, Authorization and both forwarding families), takes the token's signing input and decodes its
// signature, awaits `crypto.subtle.verify` with the issuer's key (fetched from JWKS_URI and imported once per
// isolate, as jose's `createRemoteJWKSet` does) and answers 200 with the gate's six headers (fixed identity values)
// or 401. It skips everything else a gate must do: no JSON parsing of header or claims, no `kid` lookup, no
// `exp`/`iss`/`aud`/groups check. Only for valid tokens (the cold cells): its throughput bounds any such gate's.
// The header reads and the answers are the forward-auth floor's (imported as ./floor.js).
import { forwardAuthorization, pass, refuse } from "./floor.js";

const PARAMS = {
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
};
const encoder = new TextEncoder();
let key; // a promise of { cryptoKey, verify }: one per isolate

async function load(env) {
  const { keys: [jwk] } = await (await fetch(env.JWKS_URI)).json();
  const [importParams, verify] = PARAMS[jwk.alg];
  const { alg, use, kid, ...bare } = jwk; // the key alone ("EdDSA" is not every runtime's JWK `alg` for Ed25519)
  const cryptoKey = await crypto.subtle.importKey("jwk", bare, importParams, false, ["verify"]);
  return { cryptoKey, verify };
}

function base64url(s) {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export default {
  async fetch(request, env) {
    const authorization = forwardAuthorization(request);
    if (!authorization?.startsWith("Bearer ")) return refuse();
    key ??= load(env);
    const { cryptoKey, verify } = await key;
    const token = authorization.slice(7);
    const dot = token.lastIndexOf(".");
    if (dot < 0) return refuse();
    const ok = await crypto.subtle.verify(verify, cryptoKey, base64url(token.slice(dot + 1)),
      encoder.encode(token.slice(0, dot)));
    return ok ? pass() : refuse();
  },
};
