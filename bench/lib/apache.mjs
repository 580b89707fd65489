// Debian's Apache httpd 2.4 for bench/traefik.mjs: without auth (its own no-auth figure), or with
// mod_auth_openidc as a bearer-JWT gate (`AuthType oauth20`, the token's signature checked against the key set
// fetched over TLS from `OIDCOAuthVerifyJwksUri`, `Require claim` for the audience and the group), in front of
// one loopback upstream with mod_proxy. Loopback only; started and stopped by PID. `cargo xtask setup` installs
// apache2 and libapache2-mod-auth-openidc.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild, untilReady } from "../../tools/js/child.mjs";
import { need } from "../../tools/js/env.mjs";
import { freePort } from "../../tools/js/net.mjs";

const APACHE = "/usr/sbin/apache2";
const MODULES = "/usr/lib/apache2/modules";
const INSTALL = "apt-get install -y apache2 libapache2-mod-auth-openidc (cargo xtask setup does)";

/**
 * A self-signed certificate for 127.0.0.1 (openssl), and an HTTPS server on loopback answering `jwks()` at
 * /.well-known/jwks.json: the issuer's key set where mod_auth_openidc must fetch it (it refuses plain HTTP only
 * by configuration, and a real issuer is HTTPS). Returns { url, ca (path of the certificate), close() }.
 */
export async function startTlsJwks(jwks) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-bench-tls-"));
  const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
  { stdio: "ignore" });
  // Apache's children run as www-data: they read the certificate (not the key) through the temporary folder.
  chmodSync(dir, 0o755);
  chmodSync(cert, 0o644);
  let fetches = 0;
  const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    if (req.url !== "/.well-known/jwks.json") { res.writeHead(404); return res.end(); }
    fetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(jwks()));
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `https://127.0.0.1:${port}`, ca: cert, fetches: () => fetches,
    close: () => new Promise((resolve) => server.close(resolve)) };
}

/**
 * Apache in the foreground (`-DFOREGROUND`, event MPM, its defaults) proxying every path to `upstream`. With
 * `openidc: { jwksUri, ca, audience, group }` each request needs a bearer token that mod_auth_openidc verifies
 * (signature with the key set at jwksUri, expiry) and whose `aud` and `groups` claims hold `audience` and `group`.
 * `cpus`: a CPU list for taskset. Returns { url, pid, stop(), output() }.
 */
export async function startApache({ upstream, openidc, cpus }) {
  need(APACHE, INSTALL);
  if (openidc) need(join(MODULES, "mod_auth_openidc.so"), INSTALL);
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-bench-apache-"));
  const port = await freePort();
  const load = (name, file = `mod_${name}.so`) => `LoadModule ${name}_module ${MODULES}/${file}`;
  const modules = ["mpm_event", "authz_core", "authn_core", "proxy", "proxy_http"].map((m) => load(m));
  let auth = "";
  if (openidc) {
    modules.push(load("auth_openidc"));
    auth = `OIDCOAuthVerifyJwksUri ${openidc.jwksUri}
OIDCCABundlePath ${openidc.ca}
OIDCOAuthSSLValidateServer On
OIDCCryptoPassphrase bench-only-passphrase
OIDCCacheType shm
<Location />
  AuthType oauth20
  <RequireAll>
    Require claim aud:${openidc.audience}
    Require claim groups:${openidc.group}
  </RequireAll>
</Location>
`;
  }
  const conf = `ServerRoot ${dir}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn
User www-data
Group www-data
${modules.join("\n")}
# Keep-alive as Traefik's: no cap on requests per connection (Apache's default closes it after 100).
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
ProxyPass / ${upstream}/
${auth}`;
  writeFileSync(join(dir, "httpd.conf"), conf);
  const [cmd, args] = cpus ? ["taskset", ["-c", cpus, APACHE]] : [APACHE, []];
  const child = startChild(cmd, [...args, "-f", join(dir, "httpd.conf"), "-DFOREGROUND"], { cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  // Ready once it answers at all (with auth: 401 without a token).
  await untilReady(child, () => fetch(`${url}/healthz`).then(async (r) => { await r.arrayBuffer(); return r.status; }),
    { accept: () => true, timeoutMs: 20_000, intervalMs: 50, what: "apache2" });
  const output = () => `${child.output()}\n${readError(dir)}`;
  return { url, pid: child.proc.pid, stop: child.stop, output, config: conf };
}

function readError(dir) {
  try {
    return readFileSync(join(dir, "error.log"), "utf8").slice(-4000);
  } catch {
    return "";
  }
}
