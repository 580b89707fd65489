// Token pools for the workloads, minted with the loopback issuer's signing code (tools/js/issuer.mjs) and
// cached under target/bench/ with their key (RSA signing costs ~0.4 ms a token): a pool is reused while its
// tokens have more than two hours to live. All tokens are PocketID ID tokens (5 groups, ~900 bytes).
import { createPrivateKey, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { b64u, newKey, signJws } from "../../tools/js/issuer.mjs";

export const ISSUER = "https://id.bench.pocketgate.test"; // the `iss` of every token (JWKS_URI points at loopback)
export const CLIENT_ID = "netbird";
export const ALLOW = "netbird-users";
const GROUPS = ["netbird-users", "staff", "devs", "ops", "vpn"];
/** Token lifetime: within the gate's default MAX_TOKEN_AGE (a day), which refuses longer-lived tokens. */
const LIFETIME = 20 * 3600;
/** A cached pool is minted anew when its tokens have less than this left (a full bench run takes well under it). */
const MIN_LEFT = 2 * 3600;

/** A PocketID-shaped ID token for user `i` (same claim set as the e2e issuer's `idToken`). */
function idToken(key, i, t) {
  const name = `user${i % 200}`;
  const payload = {
    amr: ["phr"], aud: [CLIENT_ID], auth_time: t, display_name: name, email_verified: true,
    exp: t + LIFETIME, family_name: "Doe", given_name: name, iat: t, iss: ISSUER, jti: b64u(randomBytes(8)),
    nonce: "n-0S6_WzA2Mj", rat: t - 10, type: "id-token", sub: `${(i % 200).toString(16).padStart(32, "0")}`,
    email: `${name}@example.com`, preferred_username: name, name, groups: GROUPS,
  };
  return signJws(key, { alg: key.alg, kid: key.kid, typ: "JWT" }, payload);
}

/**
 * `{ key, tokens }` with at least `n` distinct valid tokens for `alg`, from the cache when it is fresh. A fresh
 * cache with fewer tokens is extended with the same key (only the missing tokens are minted), so a pool grown
 * after a run wrapped (see `grownPool`) stays grown for the next run. `all`: every cached token, when there are
 * more than `n`.
 */
export function pool(dir, alg, n, log = () => {}, { all = false } = {}) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `pool-${alg}.json`);
  const now = Math.floor(Date.now() / 1000);
  let cached = null;
  if (existsSync(file)) {
    const c = JSON.parse(readFileSync(file, "utf8"));
    if (c.lifetime === LIFETIME && c.exp - now > MIN_LEFT) cached = c;
  }
  const key = cached ? { alg, kid: cached.kid, jwk: cached.jwk, privateKey: createPrivateKey(cached.pkcs8) } : newKey(alg);
  const tokens = cached ? cached.tokens : [];
  if (tokens.length < n) {
    const t0 = performance.now();
    const have = tokens.length;
    for (let i = have; i < n; i++) tokens.push(idToken(key, i, now));
    log(`minted ${n - have} ${alg} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s (${n} cached in ${file})`);
    const pkcs8 = cached?.pkcs8 ?? key.privateKey.export({ format: "pem", type: "pkcs8" });
    // The pool expires with its oldest token.
    const exp = cached?.exp ?? now + LIFETIME;
    writeFileSync(file, JSON.stringify({ kid: key.kid, jwk: key.jwk, pkcs8, lifetime: LIFETIME, exp, tokens }));
  }
  return { key, tokens: all ? tokens : tokens.slice(0, n) };
}

/**
 * The pool size for a run that needs `used` distinct tokens in its measured window, which may take only the
 * first `share` of the pool (the rest is the warm-up's): a quarter more than that, and at least double `n`
 * (the size that was too small). A faster machine answers more requests in the same seconds; the pool grows
 * with it instead of failing the run.
 */
export function grownPool(n, used, share = 0.75) {
  return Math.max(2 * n, Math.ceil((used / share) * 1.25));
}

/** Tokens that must be refused: alternately a valid token with a damaged signature, and an unknown `kid`. */
export function denyTokens(tokens) {
  return tokens.map((tok, i) => {
    const [h, p, s] = tok.split(".");
    if (i % 2 === 0) {
      const mid = s.length >> 1;
      const c = s[mid] === "A" ? "B" : "A";
      return `${h}.${p}.${s.slice(0, mid)}${c}${s.slice(mid + 1)}`;
    }
    const header = JSON.parse(Buffer.from(h, "base64url"));
    header.kid = b64u(randomBytes(8));
    return `${b64u(JSON.stringify(header))}.${p}.${s}`;
  });
}

/**
 * The mixed workload: 200 users, each with a current token; each request comes from a random user (seeded),
 * and `fresh` of them (default 5 %) carry that user's new token (a login or refresh). Returns 1-based indices
 * into `tokens` (user u starts with tokens[u]; new tokens are taken from 200 upwards).
 */
export function mixedSequence(length, { users = 200, fresh = 0.05, seed = 42 } = {}) {
  let x = seed >>> 0;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const current = Array.from({ length: users }, (_, u) => u);
  let next = users;
  const seq = new Array(length);
  for (let i = 0; i < length; i++) {
    const u = Math.floor(rand() * users);
    if (rand() < fresh) current[u] = next++;
    seq[i] = current[u] + 1;
  }
  return { seq, distinct: next };
}
