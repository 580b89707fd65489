// PocketGate setup page. All logic lives in the Rust core (pkg/pocketgate.js, built by `cargo xtask build`);
// this file only reads the form, renders results with DOM APIs (never innerHTML), and performs the one
// user-triggered fetch of an issuer's discovery document and key set.
import init, * as pg from "./pkg/pocketgate.js";

const $ = (id) => document.getElementById(id);
const form = $("setup");
const FIELDS = ["domain", "issuer", "display_name", "idp_name", "client_id", "client_secret", "groups", "pkce_ports", "upstream",
  "cloudflare_zone", "gate_url", "dashboard_upstream", "signal_upstream", "relay_upstream", "traefik_entrypoint", "traefik_certresolver"];
/** The radio groups, sent as they are. */
const CHOICES = ["mode", "gate_mode", "gate_host", "local_users", "dashboard", "public_api", "traefik_static"];
/** Key sets fetched by the user, by issuer (exact `issuer` of the discovery document). */
const keySets = new Map();

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

function input() {
  const v = {};
  for (const c of CHOICES) v[c] = form.elements[c].value;
  for (const f of FIELDS) v[f] = form.elements[f].value;
  // The Traefik plugin embeds the gate's issuer's key set, when "Check issuer" fetched it.
  if (v.gate_host === "traefik") v.jwks = keySets.get(JSON.parse(pg.gate_issuer(JSON.stringify(v)))) ?? "";
  return v;
}

function inputJson() {
  return JSON.stringify(input());
}

function showModes() {
  const mode = form.elements.mode.value;
  const gate_mode = form.elements.gate_mode.value;
  // An element shows when every condition it names holds (a mode, a gate deployment, or both).
  for (const e of document.querySelectorAll("[data-mode], [data-gate]")) {
    e.hidden = (e.dataset.mode !== undefined && e.dataset.mode !== mode) || (e.dataset.gate !== undefined && e.dataset.gate !== gate_mode);
  }
  // The plugin needs no gate URL.
  if (form.elements.gate_host.value === "traefik") $("gate-url-field").hidden = true;
}

function showFindings(findings) {
  for (const f of FIELDS) {
    const m = $(`msg-${f}`);
    m.replaceChildren();
    m.className = "msg";
    form.elements[f].removeAttribute("aria-invalid");
  }
  $("msg-jwks").replaceChildren();
  for (const f of findings) {
    const m = $(`msg-${f.field}`);
    if (!m) continue;
    m.append(el("span", { class: `finding ${f.level}`, "data-code": f.code, textContent: f.message }));
    if (f.level === "error" && form.elements[f.field]) form.elements[f.field].setAttribute("aria-invalid", "true");
  }
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function copy(button, text) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copy failed: select the text";
  }
  setTimeout(() => (button.textContent = "Copy"), 1500);
}

function renderOutputs(out) {
  const root = $("outputs");
  root.replaceChildren();
  const errors = out.findings.filter((f) => f.level === "error").length;
  if (errors) {
    root.append(el("p", { class: "blocked", textContent: `Fix ${errors} problem${errors > 1 ? "s" : ""} in the form to see the configuration.` }));
    return;
  }
  for (const s of out.sections) {
    const sec = el("section", { class: "out", "data-section": s.id }, el("h2", { textContent: s.title }));
    if (s.notes.length) sec.append(el("ul", { class: "notes" }, ...s.notes.map((n) => el("li", { textContent: n }))));
    for (const a of s.artifacts) {
      const copyBtn = el("button", { type: "button", textContent: "Copy" });
      copyBtn.setAttribute("aria-label", `Copy ${a.title}`);
      copyBtn.addEventListener("click", () => copy(copyBtn, a.content));
      const dl = el("button", { type: "button", textContent: "Download" });
      dl.setAttribute("aria-label", `Download ${a.filename}`);
      dl.addEventListener("click", () => download(a.filename, a.content));
      sec.append(
        el("div", { class: "artifact", "data-artifact": a.id },
          el("div", { class: "artifact-head" }, el("h3", { textContent: a.title }), el("span", { class: "file", textContent: a.filename }), copyBtn, dl),
          el("pre", { tabIndex: 0 }, el("code", { textContent: a.content }))),
      );
    }
    root.append(sec);
  }
}

let lastOutput = "";

function update() {
  showModes();
  const text = pg.generate(inputJson());
  // Re-render only on change: a blur's "change" event must not replace the button being clicked.
  if (text === lastOutput) return;
  lastOutput = text;
  const out = JSON.parse(text);
  showFindings(out.findings);
  renderOutputs(out);
}

/** `TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"`, as QuFabric does. */
function discoveryUrl(issuer) {
  return `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
}

async function fetchText(url) {
  const r = await fetch(url, { mode: "cors", credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return r.text();
}

/** Fetch discovery and keys of `issuer`; returns the checks. Stores the key set under the discovered issuer. */
async function loadIssuer(issuer) {
  const url = discoveryUrl(issuer);
  let body;
  try {
    body = await fetchText(url);
  } catch (e) {
    return [{ level: "error", code: "discovery_unreachable", message: `Could not fetch ${url} (${e.message}). Is the issuer reachable from this browser?` }];
  }
  const report = JSON.parse(pg.check_discovery(issuer, body));
  const checks = [...report.checks];
  if (report.jwks_uri) {
    try {
      const jwks = await fetchText(report.jwks_uri);
      checks.push(...JSON.parse(pg.check_jwks(jwks)));
      if (report.issuer) keySets.set(report.issuer, jwks);
    } catch (e) {
      checks.push({ level: "error", code: "jwks_unreachable", message: `Could not fetch the key set ${report.jwks_uri} (${e.message}).` });
    }
  }
  return checks;
}

async function checkIssuer() {
  const list = $("issuer-report");
  const issuer = form.elements.issuer.value.trim();
  list.replaceChildren(el("li", { textContent: "Checking…" }));
  if (!/^https?:\/\//i.test(issuer)) {
    list.replaceChildren(el("li", { class: "error", textContent: "Enter an http(s) issuer URL first." }));
    return;
  }
  const checks = await loadIssuer(issuer);
  list.replaceChildren(...checks.map((c) => el("li", { class: c.level, "data-code": c.code, textContent: c.message })));
  update(); // a fetched key set can change the output (the Traefik plugin embeds it)
}

function kv(title, value) {
  return el("div", { class: "kv" }, el("h3", { textContent: title }), el("pre", { tabIndex: 0 }, el("code", { textContent: value })));
}

async function inspectToken() {
  const out = $("inspect-result");
  const token = $("token").value.trim();
  const now = Math.floor(Date.now() / 1000);
  const json = inputJson();
  const gateIssuer = JSON.parse(pg.gate_issuer(json));
  const pre = JSON.parse(pg.decode_token(token, now));
  const iss = pre.claims && pre.claims.iss;
  // The gate's issuer's keys are fetched (once) when the token claims to come from it.
  if (gateIssuer && iss === gateIssuer && !keySets.has(gateIssuer)) {
    out.replaceChildren(el("p", { textContent: `Fetching the keys of ${gateIssuer}…` }));
    await loadIssuer(gateIssuer);
  }
  const r = JSON.parse(await pg.inspect_token(token, json, gateIssuer || "", keySets.get(gateIssuer) || "", now));
  const v = r.verdict;
  const verdict = el("div", { class: `verdict ${v.allowed ? "allowed" : "denied"}`, "data-code": v.code },
    el("strong", { textContent: v.allowed ? `Allowed (${v.status})` : `Denied (${v.status} ${v.code})` }),
    el("p", { textContent: v.message }));
  if (v.hint) verdict.append(el("p", { class: "verdict-hint", textContent: v.hint }));
  const parts = [verdict];
  const d = r.decoded;
  if (d.error) parts.push(el("p", { class: "error", textContent: `Cannot decode: ${d.error[1]}` }));
  if (d.expires) parts.push(el("p", { class: "expires", textContent: `Expires: ${d.expires}` }));
  if (d.issued) parts.push(el("p", { textContent: `Issued: ${d.issued}` }));
  parts.push(el("p", { class: "groups", textContent: d.groups ? `Groups: ${d.groups.join(", ") || "(none)"}` : "Groups: no groups claim" }));
  if (d.header) parts.push(kv("Header", JSON.stringify(d.header, null, 2)));
  if (d.claims) parts.push(kv("Claims (unverified until the verdict says allowed)", JSON.stringify(d.claims, null, 2)));
  out.replaceChildren(...parts);
}

async function main() {
  try {
    await init();
  } catch (e) {
    $("status").textContent = `The page module failed to load (${e.message}). Build it with: cargo xtask build`;
    return;
  }
  $("status").textContent = "";
  $("status").hidden = true;
  // The stack behind the proxy depends on the mode and the gate: swap the example origins (only while they are
  // still examples or empty). Embedded forward-auth: getting-started.sh's containers on the compose network;
  // standalone: the legacy stack published on loopback as nginx.tmpl.conf's upstreams.
  const ORIGINS = {
    proxy: { upstream: "https://mgmt.internal.example.com" },
    "forward_auth embedded": { upstream: "http://netbird-server:80", dashboard_upstream: "http://netbird-dashboard:80" },
    "forward_auth standalone": { upstream: "http://127.0.0.1:8012", dashboard_upstream: "http://127.0.0.1:8011", signal_upstream: "http://127.0.0.1:10000", relay_upstream: "http://127.0.0.1:33080" },
  };
  const stack = () => (form.elements.gate_mode.value === "proxy" ? "proxy" : `forward_auth ${form.elements.mode.value}`);
  const examples = new Set(Object.values(ORIGINS).flatMap((o) => Object.values(o)));
  for (const name of ["mode", "gate_mode"]) {
    for (const radio of form.elements[name]) {
      radio.addEventListener("change", () => {
        const next = stack();
        for (const field of ["upstream", "dashboard_upstream", "signal_upstream", "relay_upstream"]) {
          const e = form.elements[field];
          if (e.value.trim() === "" || examples.has(e.value.trim())) e.value = ORIGINS[next][field] ?? "";
        }
      });
    }
  }
  // Switching where the gate runs swaps the example Gate URL (only while it is still an example).
  const GATE_URLS = { cloudflare: "https://pocketgate.example.workers.dev", workerd: "http://pocketgate:8080" };
  for (const radio of form.elements.gate_host) {
    radio.addEventListener("change", () => {
      const g = form.elements.gate_url;
      if (GATE_URLS[radio.value] && Object.values(GATE_URLS).includes(g.value.trim())) g.value = GATE_URLS[radio.value];
    });
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (e) => e.preventDefault());
  $("check-issuer").addEventListener("click", () => checkIssuer().catch((e) => console.error(e)));
  $("inspect").addEventListener("click", () => inspectToken().catch((e) => console.error(e)));
  update();
  document.body.dataset.ready = "true";
}

main();
