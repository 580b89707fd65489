// The setup page (www/) in real headless Chromium (Debian /usr/bin/chromium driven by playwright-core):
// both modes, every validation message, "Check issuer" against loopback PocketID-shaped issuers, the token
// inspector with WebCrypto, and no request leaving the page except the user-triggered issuer fetch.
// Screenshots go to target/artifacts/ (not committed).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { extname, join, normalize, sep } from "node:path";
import { tmpdir } from "node:os";
import { ROOT, need, toolRequire } from "../../tools/js/env.mjs";
import { newKey, signJws, startIssuer } from "../../tools/js/issuer.mjs";

const { chromium } = toolRequire("playwright-core");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WWW = join(ROOT, "www");
const ARTIFACTS = join(ROOT, "target/artifacts");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".svg": "image/svg+xml", ".json": "application/json" };

/** The page is served below the path the Worker uses for its assets, to prove every URL in it is relative. */
const BASE = "/_gate/setup/";

/** A tiny static server for www/ on loopback, under BASE. */
async function serveWww() {
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (!path.startsWith(BASE)) {
      res.writeHead(404).end("not found");
      return;
    }
    path = path.slice(BASE.length - 1);
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(WWW, path));
    if (!file.startsWith(WWW + sep) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

/** A PocketID-shaped issuer whose discovery points `jwks_uri` at another host name (INTERNAL_APP_URL). */
async function startInternalJwksIssuer() {
  const key = newKey("RS256");
  let url = "";
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const port = server.address().port;
    const body = path === "/.well-known/openid-configuration"
      ? { issuer: url, jwks_uri: `http://localhost:${port}/.well-known/jwks.json`, id_token_signing_alg_values_supported: ["RS256"], scopes_supported: ["openid", "profile", "email", "groups"] }
      : path === "/.well-known/jwks.json" ? { keys: [key.jwk] } : null;
    res.writeHead(body ? 200 : 404, { "content-type": "application/json", "access-control-allow-origin": "*" });
    res.end(JSON.stringify(body ?? { error: "not found" }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${server.address().port}`;
  return { url, jwksOrigin: `http://localhost:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let browser, site, issuer, eddsaIssuer, profile;

before(async () => {
  need(CHROMIUM, "install Debian's chromium: apt-get install -y chromium");
  need(join(WWW, "pkg/pocketgate_bg.wasm"), "build the page first: `cargo xtask build` (or scripts in www/README.md)");
  mkdirSync(ARTIFACTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), "pocketgate-chromium-"));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, `--disk-cache-dir=${profile}`] });
  site = await serveWww();
  issuer = await startIssuer({ clientId: "qufabric", label: "rs256" });
  eddsaIssuer = await startIssuer({ clientId: "qufabric", label: "eddsa" });
  eddsaIssuer.rotate("EdDSA");
});

after(async () => {
  await browser?.close();
  await site?.close();
  await issuer?.close();
  await eddsaIssuer?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** A fresh page on the setup page, recording every request and every CSP violation. */
async function open(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, ...options });
  const page = await context.newPage();
  const requests = [];
  const problems = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => { if (/Content Security Policy|Refused to/i.test(m.text()) || m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(`${site.url}${BASE}`);
  await page.waitForSelector("body[data-ready=true]");
  return { context, page, requests, problems, close: () => context.close() };
}

const artifact = (page, id) => page.locator(`[data-artifact=${id}] code`).textContent();

async function fill(page, values) {
  for (const [name, value] of Object.entries(values)) await page.fill(`#${name}`, value);
}

/** Every request went to the page's own origin, or (when given) to the issuer's. */
function assertOnlyOrigins(requests, allowed) {
  const origins = new Set(requests.filter((u) => /^https?:/.test(u)).map((u) => new URL(u).origin));
  for (const o of origins) assert.ok(allowed.includes(o), `unexpected request to ${o}: ${requests.join(" ")}`);
}

describe("setup page", () => {
  test("embedded mode generates the PocketID, QuFabric and gate configuration", async () => {
    const { page, requests, problems, close } = await open();
    try {
      await fill(page, { domain: "qufabric.example.com", issuer: "https://id.example.com", client_id: "qufabric", client_secret: "s3cr3t", groups: "netbird-users, netbird-admins" });
      const client = JSON.parse(await artifact(page, "pocketid_client"));
      assert.deepEqual(client.callbackURLs, ["https://qufabric.example.com/oauth2/callback"]);
      assert.deepEqual(client.logoutCallbackURLs, ["https://qufabric.example.com/oauth2/logout/callback"]);
      assert.equal(client.isPublic, false);
      assert.equal(client.pkceEnabled, false);
      const idp = JSON.parse(await artifact(page, "qufabric_idp"));
      // The identity provider's name is QuFabric's login button: PocketID unless the form says otherwise.
      assert.deepEqual(idp, { type: "pocketid", name: "PocketID", issuer: "https://id.example.com", client_id: "qufabric", client_secret: "s3cr3t" });
      assert.equal(client.launchURL, "https://qufabric.example.com/");
      const addIdp = await artifact(page, "qufabric_idp_script");
      assert.match(addIdp, /env\.CLIENT_SECRET/);
      assert.doesNotMatch(addIdp, /--arg secret/);
      // The page says the QuFabric scripts' personal access token is refused by the gate: run them first.
      const qufabricNotes = await page.locator("body").textContent();
      assert.match(qufabricNotes, /PERSONAL_ACCESS_TOKENS = "deny"/);
      assert.match(qufabricNotes, /Run them first, before the gate is in front of QuFabric/);
      await fill(page, { idp_name: "Company SSO" });
      assert.equal(JSON.parse(await artifact(page, "qufabric_idp")).name, "Company SSO");
      await fill(page, { idp_name: "" });
      assert.equal((await artifact(page, "qufabric_redirect")).trim(), "https://qufabric.example.com/oauth2/callback");
      const sync = JSON.parse(await artifact(page, "qufabric_group_sync"));
      assert.deepEqual(sync.jwt_allow_groups, ["netbird-users", "netbird-admins"]);
      assert.match(await artifact(page, "qufabric_group_sync_script"), /\(\.settings \+ \$patch\)/);
      const vars = await artifact(page, "gate_wrangler_vars");
      assert.match(vars, /^ISSUER = "https:\/\/qufabric\.example\.com\/oauth2"$/m);
      assert.match(vars, /^AUDIENCE = "netbird-dashboard,netbird-cli"$/m);
      assert.match(vars, /^ALLOW_GROUPS = "netbird-users,netbird-admins"$/m);
      assert.match(vars, /^UPSTREAM = "https:\/\/mgmt\.internal\.example\.com"$/m);
      assert.equal(await page.locator("[data-artifact=qufabric_setup_env]").count(), 0);
      assert.ok(await page.locator("#pkce_ports").isHidden(), "PKCE ports are a standalone setting");
      await page.screenshot({ path: join(ARTIFACTS, "setup-embedded.png"), fullPage: true });
      await page.screenshot({ path: join(ARTIFACTS, "setup-embedded-top.png") });
      assertOnlyOrigins(requests, [site.url]);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test("standalone mode (dark, phone width) generates the legacy stack's files and per-container proxy snippets", async () => {
    const { page, requests, problems, close } = await open({ viewport: { width: 390, height: 844 }, colorScheme: "dark", isMobile: true });
    try {
      await page.check("input[name=mode][value=standalone]");
      await page.check("input[name=gate_mode][value=forward_auth]");
      // The example origins become the legacy stack's containers, published on loopback (nginx.tmpl.conf).
      assert.equal(await page.inputValue("#upstream"), "http://127.0.0.1:8012");
      assert.equal(await page.inputValue("#signal_upstream"), "http://127.0.0.1:10000");
      assert.equal(await page.inputValue("#relay_upstream"), "http://127.0.0.1:33080");
      assert.equal(await page.inputValue("#dashboard_upstream"), "http://127.0.0.1:8011");
      await fill(page, { client_secret: "", pkce_ports: "53000, 54000", gate_url: "https://pocketgate.example.workers.dev" });
      const client = JSON.parse(await artifact(page, "pocketid_client"));
      assert.deepEqual(client.callbackURLs, ["https://qufabric.example.com/auth", "https://qufabric.example.com/silent-auth", "http://localhost:53000", "http://localhost:54000"]);
      assert.equal(client.isPublic, true);
      assert.equal(client.pkceEnabled, true);
      const env = await artifact(page, "qufabric_setup_env");
      assert.match(env, /^NETBIRD_TOKEN_SOURCE="idToken"$/m);
      assert.match(env, /^NETBIRD_AUTH_AUDIENCE="qufabric"$/m);
      for (const line of ["NETBIRD_DISABLE_LETSENCRYPT=\"true\"", "NETBIRD_MGMT_API_PORT=\"443\"", "NETBIRD_SIGNAL_PORT=\"443\"", "NETBIRD_RELAY_PORT=\"443\""]) {
        assert.ok(env.split("\n").includes(line), `${line} in setup.env:\n${env}`);
      }
      // Only files the legacy stack reads: its compose file builds the dashboard's environment from setup.env.
      for (const gone of ["qufabric_management_json", "qufabric_dashboard_env"]) {
        assert.equal(await page.locator(`[data-artifact=${gone}]`).count(), 0, gone);
      }
      assert.match(await artifact(page, "qufabric_compose_override"), /^ {2}management:\n {4}ports: !override\n {6}- "127\.0\.0\.1:8012:443"$/m);
      assert.match(await artifact(page, "qufabric_management_fix"), /\.Signal\.Proto = "https"/);
      const vars = await artifact(page, "gate_wrangler_vars");
      assert.match(vars, /^ISSUER = "https:\/\/id\.example\.com"$/m);
      assert.match(vars, /^AUDIENCE = "qufabric"$/m);
      assert.doesNotMatch(vars, /UPSTREAM|DASHBOARD|PUBLIC_API/);
      const caddy = await artifact(page, "gate_caddy");
      assert.match(caddy, /forward_auth https:\/\/pocketgate\.example\.workers\.dev \{\n\t\t\t\turi \/_gate\/auth/);
      assert.match(caddy, /reverse_proxy @grpc_signal h2c:\/\/127\.0\.0\.1:10000/);
      const nginx = await artifact(page, "gate_nginx");
      assert.match(nginx, /auth_request \/_gate\/auth;/);
      assert.match(nginx, /location ~ \^\(\/relay\$\|\/relay\/\) \{[^}]*proxy_pass http:\/\/127\.0\.0\.1:33080;/);
      // Traefik: flags by default (NetBird's way), a traefik.yml when asked; never both.
      const flags = await artifact(page, "gate_traefik_static");
      assert.match(flags, /- "--entrypoints\.websecure\.transport\.respondingTimeouts\.readTimeout=0"/);
      assert.doesNotMatch(flags, /^entryPoints:/m);
      await page.check("input[name=traefik_static][value=file]");
      const file = await artifact(page, "gate_traefik_static");
      assert.match(file, /^entryPoints:\n {2}websecure:/m);
      assert.doesNotMatch(file, /"--/);
      await fill(page, { traefik_certresolver: "" });
      assert.doesNotMatch(await artifact(page, "gate_traefik_labels"), /certresolver/);
      await page.screenshot({ path: join(ARTIFACTS, "setup-standalone-dark-phone.png"), fullPage: true });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(ARTIFACTS, "setup-standalone-dark-phone-top.png") });
      await page.locator("[data-section=qufabric]").scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, "setup-standalone-dark-phone-outputs.png") });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways on a phone by ${overflow}px`);
      // Self-hosted gate: the example Gate URL becomes the compose service, the workerd files appear (an image
      // built from a Dockerfile: nothing downloaded when the container starts) and the snippets ask the local gate.
      await page.check("input[name=gate_host][value=workerd]");
      assert.equal(await page.inputValue("#gate_url"), "http://pocketgate:8080");
      assert.match(await artifact(page, "gate_workerd_config"), /\(name = "ISSUER", text = "https:\/\/id\.example\.com"\)/);
      assert.match(await artifact(page, "gate_workerd_dockerfile"), /^RUN npm install --prefix \/opt\/pocketgate .*workerd@/m);
      const compose = await artifact(page, "gate_workerd_compose");
      assert.match(compose, /^ {4}build: \.\/pocketgate$/m);
      assert.doesNotMatch(compose, /npx/);
      assert.match(await artifact(page, "gate_workerd_systemd"), /--socket-addr http=127\.0\.0\.1:8080$/m);
      assert.match(await artifact(page, "gate_caddy"), /forward_auth http:\/\/pocketgate:8080 \{/);
      await page.check("input[name=gate_host][value=cloudflare]");
      assert.equal(await page.inputValue("#gate_url"), "https://pocketgate.example.workers.dev");
      assert.equal(await page.locator("[data-artifact=gate_workerd_config]").count(), 0);
      assertOnlyOrigins(requests, [site.url]);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test("the DASHBOARD and PUBLIC_API choices reach the gate's variables and the proxies", async () => {
    const { page, problems, close } = await open();
    try {
      await page.check("input[name=gate_mode][value=forward_auth]");
      assert.equal(await page.inputValue("#upstream"), "http://netbird-server:80", "embedded: getting-started.sh's server");
      assert.equal(await page.inputValue("#dashboard_upstream"), "http://netbird-dashboard:80");
      assert.ok(await page.locator("#signal_upstream").isHidden(), "the combined server has no separate signal");
      const dash = async () => { const n = await artifact(page, "gate_nginx"); return n.slice(n.indexOf("    location / {")); };
      assert.doesNotMatch(await dash(), /auth_request/, "DASHBOARD = bypass: the dashboard never asks the gate");
      await page.check("input[name=dashboard][value=protect]");
      assert.match(await dash(), /auth_request \/_gate\/auth;/);
      assert.match(await artifact(page, "gate_wrangler_vars"), /^DASHBOARD = "protect"$/m);
      assert.doesNotMatch(await artifact(page, "gate_wrangler_vars"), /PUBLIC_API/);
      await page.check("input[name=public_api][value=gate]");
      assert.match(await artifact(page, "gate_wrangler_vars"), /^PUBLIC_API = "gate"$/m);
      assert.match(await page.locator("[data-section=gate] .notes").textContent(), /PUBLIC_API = "gate"/);
      // Proxy mode asks for the Cloudflare zone, never guesses it from the last two labels.
      await page.check("input[name=gate_mode][value=proxy]");
      await fill(page, { domain: "vpn.example.co.uk", cloudflare_zone: "example.co.uk" });
      const routes = await artifact(page, "gate_wrangler_routes");
      assert.match(routes, /^\[\[routes\]\]\npattern = "vpn\.example\.co\.uk\/api"\nzone_name = "example\.co\.uk"$/m);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test("every validation message appears for its mistake and blocks or warns", async () => {
    const { page, problems, close } = await open();
    try {
      const cases = [
        ["issuer", "https://id.example.com/", "issuer_trailing_slash", true],
        ["issuer", "https://id.example.com/pocket", "issuer_path", true],
        ["issuer", "https://ID.example.com", "issuer_uppercase", true],
        ["issuer", "http://id.example.com", "issuer_not_https", true],
        ["domain", "https://qufabric.example.com", "domain_scheme", true],
        ["domain", "qufabric.example.com/dashboard", "domain_path", true],
        ["groups", "", "groups_missing", true],
        ["groups", "netbird-users, netbird-users", "groups_duplicate", true],
        ["groups", "netbird-users,,x", "groups_empty_item", true],
        ["groups", "NetBird Users", "groups_friendly_name", true],
        ["groups", "NetBird", "groups_uppercase", false],
        ["client_id", "x", "client_id_invalid", true],
        // PocketID's limits: client name ≤ 50, group name ≥ 2, friendly name 2–50.
        ["display_name", "Q".repeat(51), "display_name_too_long", true],
        ["groups", "a", "groups_name_length", true],
        ["groups", "x-", "groups_friendly_name_length", true],
        ["client_secret", "", "secret_missing", false],
        ["upstream", "https://mgmt.example.com/api", "origin_path", true],
        ["cloudflare_zone", "example.org", "zone_mismatch", true],
        ["cloudflare_zone", "", "zone_missing", true],
      ];
      const good = { domain: "qufabric.example.com", issuer: "https://id.example.com", display_name: "QuFabric", client_id: "qufabric", client_secret: "s", groups: "netbird-users", upstream: "https://mgmt.example.com", cloudflare_zone: "example.com" };
      for (const [field, value, code, blocks] of cases) {
        await fill(page, { ...good, [field]: value });
        const msg = page.locator(`#msg-${field} [data-code=${code}]`);
        assert.equal(await msg.count(), 1, `${field}=${JSON.stringify(value)} should show ${code}`);
        assert.ok((await msg.textContent()).length > 20, `${code} says how to fix it`);
        assert.equal(await page.locator(".blocked").count(), blocks ? 1 : 0, `${code} ${blocks ? "blocks" : "does not block"} the outputs`);
        if (blocks) assert.equal(await page.locator(`#${field}`).getAttribute("aria-invalid"), "true");
      }
      await fill(page, good);
      assert.equal(await page.locator(".finding").count(), 0, "a clean form shows no message");
      // Standalone-only messages.
      await page.check("input[name=mode][value=standalone]");
      await fill(page, { pkce_ports: "80" });
      assert.equal(await page.locator("#msg-pkce_ports [data-code=ports_invalid]").count(), 1);
      await fill(page, { pkce_ports: "53000", client_secret: "leftover" });
      assert.equal(await page.locator("#msg-client_secret [data-code=secret_unused]").count(), 1);
      // Forward-auth: each container of the legacy stack is required; Traefik names are checked.
      await page.check("input[name=gate_mode][value=forward_auth]");
      await fill(page, { client_secret: "", signal_upstream: "", traefik_entrypoint: "web secure" });
      assert.equal(await page.locator("#msg-signal_upstream [data-code=origin_missing]").count(), 1);
      assert.equal(await page.locator("#msg-traefik_entrypoint [data-code=traefik_name_invalid]").count(), 1);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test("Check issuer: matching, slash-mismatched, EdDSA and internal-jwks issuers; only the issuer is contacted", async () => {
    const { page, requests, problems, close } = await open();
    try {
      const report = (code) => page.locator(`#issuer-report [data-code=${code}]`);
      assert.equal(issuer.count("/.well-known/openid-configuration"), 0);
      await fill(page, { issuer: issuer.url });
      assertOnlyOrigins(requests, [site.url]);
      await page.click("#check-issuer");
      await report("groups_scope").waitFor();
      for (const code of ["issuer_match", "jwks_uri", "alg", "groups_scope", "jwks_key"]) {
        assert.equal(await report(code).getAttribute("class"), "ok", code);
      }
      assert.equal(await page.locator("#issuer-report li:not(.ok)").count(), 0);

      await fill(page, { issuer: `${issuer.url}/` });
      await page.click("#check-issuer");
      await report("issuer_slash_mismatch").waitFor();
      assert.equal(await report("issuer_slash_mismatch").getAttribute("class"), "error");
      assert.match(await report("issuer_slash_mismatch").textContent(), new RegExp(`Use ${issuer.url} exactly`));

      await fill(page, { issuer: eddsaIssuer.url });
      await page.click("#check-issuer");
      await report("jwks_eddsa").waitFor();
      assert.equal(await report("eddsa_key").getAttribute("class"), "warning");
      assert.match(await report("eddsa_key").textContent(), /cannot verify EdDSA/);
      assert.ok(issuer.count("/.well-known/openid-configuration") >= 2);

      // PocketID with INTERNAL_APP_URL: jwks_uri names another host (here "localhost" for the same server).
      const internal = await startInternalJwksIssuer();
      try {
        await fill(page, { issuer: internal.url });
        await page.click("#check-issuer");
        await report("jwks_key").waitFor();
        assert.equal(await report("issuer_match").getAttribute("class"), "ok");
        assert.equal(await report("jwks_uri_internal_host").getAttribute("class"), "warning");
        assert.match(await report("jwks_uri_internal_host").textContent(), /INTERNAL_APP_URL/);
        assertOnlyOrigins(requests, [site.url, issuer.url, eddsaIssuer.url, internal.url, internal.jwksOrigin]);
      } finally {
        await internal.close();
      }
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test("Traefik plugin: no gate URL; Check issuer's key set is embedded as jwks.json", async () => {
    const { page, requests, problems, close } = await open();
    try {
      await page.check("input[name=mode][value=standalone]");
      await page.check("input[name=gate_mode][value=forward_auth]");
      await page.check("input[name=gate_host][value=traefik]");
      await fill(page, { issuer: issuer.url, client_secret: "" });
      assert.equal(await page.locator("#gate-url-field").isHidden(), true, "the plugin needs no gate URL");
      assert.equal(await page.locator("#msg-jwks [data-code=jwks_not_fetched]").count(), 1);
      assert.equal(await page.locator("[data-artifact=gate_traefik_plugin_jwks]").count(), 0);
      assert.equal(await page.locator("[data-artifact=gate_wrangler_vars]").count(), 0, "no Worker");
      // NetBird's Traefik takes flags: the plugin's as flags, with the volumes the traefik service needs.
      const flags = await artifact(page, "gate_traefik_plugin_static");
      assert.match(flags, /- "--experimental\.localplugins\.pocketgate\.modulename=pocketgate"/);
      assert.match(flags, /- "--experimental\.localplugins\.pocketgate\.settings\.mounts=\/etc\/pocketgate:\/keys:ro"/);
      assert.match(flags, /^ {4}volumes:\n {6}- "\.\/plugins-local:\/plugins-local:ro"$/m);
      await page.check("input[name=traefik_static][value=file]");
      assert.match(await artifact(page, "gate_traefik_plugin_static"), /moduleName: pocketgate/);
      const dynamic = await artifact(page, "gate_traefik_plugin");
      assert.match(dynamic, new RegExp(`^ {10}issuer: "${issuer.url}"$`, "m"));
      assert.match(dynamic, /^ {10}jwksFile: "\/keys\/jwks\.json"$/m);
      assert.match(await artifact(page, "gate_traefik_plugin_refresh"), new RegExp(`'${issuer.url}/\\.well-known/jwks\\.json'`));
      await page.click("#check-issuer");
      await page.locator("[data-artifact=gate_traefik_plugin_jwks]").waitFor();
      assert.deepEqual(JSON.parse(await artifact(page, "gate_traefik_plugin_jwks")), issuer.jwks());
      assert.equal(await page.locator("#msg-jwks [data-code]").count(), 0);
      assertOnlyOrigins(requests, [site.url, issuer.url]);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test("token inspector: valid token allowed, forged and classic mistakes refused with hints; the token stays local", async () => {
    const { page, requests, problems, close } = await open();
    try {
      await page.check("input[name=mode][value=standalone]");
      await fill(page, { issuer: issuer.url, client_id: "qufabric", client_secret: "", groups: "netbird-users", pkce_ports: "53000" });
      await page.click("#check-issuer");
      await page.locator("#issuer-report [data-code=jwks_key]").waitFor();
      const before = requests.length;
      const verdict = async (token) => {
        await page.fill("#token", token);
        await page.click("#inspect");
        const v = page.locator("#inspect-result .verdict");
        await v.waitFor();
        return { code: await v.getAttribute("data-code"), text: await v.textContent() };
      };
      const valid = await verdict(issuer.idToken({ name: "alice", groups: ["netbird-users"] }));
      assert.equal(valid.code, "allowed", valid.text);
      assert.match(valid.text, /Allowed \(200\)/);
      assert.match(await page.locator("#inspect-result .groups").textContent(), /Groups: netbird-users/);
      assert.match(await page.locator("#inspect-result .expires").textContent(), /UTC \(in 5\d min\)|UTC \(in 60 min\)/);
      assert.match(await page.locator("#inspect-result .kv").first().textContent(), /"kid"/);

      const forger = newKey("RS256");
      const forged = issuer.idToken({ key: { ...forger, kid: issuer.key.kid } });
      const f = await verdict(forged);
      assert.equal(f.code, "signature_invalid", f.text);
      assert.match(f.text, /Denied \(401 signature_invalid\)/);

      const slash = await verdict(issuer.idToken({ claims: { iss: `${issuer.url}/` } }));
      assert.equal(slash.code, "issuer_not_trusted");
      assert.match(slash.text, /differ by a trailing slash/);
      const aud = await verdict(issuer.idToken({ claims: { aud: ["netbird"] } }));
      assert.equal(aud.code, "audience_mismatch");
      assert.match(aud.text, /AUDIENCE=qufabric/);
      const expired = await verdict(issuer.idToken({ claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }));
      assert.equal(expired.code, "token_expired");
      assert.match(expired.text, /Expired \d{4}-\d\d-\d\d/);
      const access = await verdict(issuer.accessToken());
      assert.equal(access.code, "token_type_not_accepted");
      assert.match(access.text, /not an ID token/);
      const other = await verdict(issuer.idToken({ groups: ["staff"] }));
      assert.equal(other.code, "group_not_allowed");
      assert.match(other.text, /403/);

      // Inspecting sent nothing anywhere: the keys were already loaded by "Check issuer".
      assert.deepEqual(requests.slice(before), []);
      assertOnlyOrigins(requests, [site.url, issuer.url]);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test("the Content-Security-Policy blocks inline scripts and foreign images", async () => {
    const { page, close } = await open();
    try {
      await page.evaluate(() => {
        window.__violations = [];
        document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.effectiveDirective));
      });
      await page.addScriptTag({ content: "window.__inline = 1;" }).catch(() => {});
      await page.evaluate((u) => document.body.append(Object.assign(new Image(), { src: `${u}/pixel.png` })), issuer.url);
      await page.waitForFunction(() => window.__violations.length >= 2);
      assert.deepEqual((await page.evaluate(() => window.__violations)).sort(), ["img-src", "script-src-elem"]);
      assert.equal(await page.evaluate(() => window.__inline), undefined, "an inline script ran");
      // Chromium reports the attempt as a request event, but the CSP stops it before it leaves the browser.
      assert.equal(issuer.count("/pixel.png"), 0, "the blocked image reached the server");
    } finally {
      await close();
    }
  });

  test("accessible: every control has a label, messages are tied to their field, keyboard reaches the buttons", async () => {
    const { page, close } = await open();
    try {
      const unlabeled = await page.evaluate(() =>
        [...document.querySelectorAll("input, textarea, button")]
          .filter((e) => !(e.labels?.length || e.getAttribute("aria-label") || e.textContent.trim()))
          .map((e) => e.id || e.name));
      assert.deepEqual(unlabeled, []);
      assert.equal(await page.locator("#issuer").getAttribute("aria-describedby"), "msg-issuer");
      await page.focus("#issuer");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement.id), "check-issuer");
      await page.focus("#token");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement.id), "inspect");
      assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    } finally {
      await close();
    }
  });

  test("copy and download buttons give the artifact's exact content", async () => {
    const { context, page, problems, close } = await open();
    try {
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: site.url });
      await fill(page, { client_secret: "s" });
      const expected = await artifact(page, "gate_wrangler_vars");
      const copyButton = page.locator("[data-artifact=gate_wrangler_vars] button[aria-label^=Copy]");
      await copyButton.click();
      await page.waitForFunction((b) => b.textContent !== "Copy", await copyButton.elementHandle());
      assert.equal(await copyButton.textContent(), "Copied");
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), expected);
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-artifact=gate_wrangler_vars] button[aria-label^=Download]")]);
      assert.equal(download.suggestedFilename(), "wrangler.vars.toml");
      assert.equal(readFileSync(await download.path(), "utf8"), expected);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
});
