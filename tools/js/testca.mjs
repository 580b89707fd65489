// A per-run test certificate authority and a certificate for a public host name, made with Debian's `openssl` CLI
// (installed by `cargo xtask setup`): what a deployment-shaped test serves on its TLS listeners instead of the
// certificate Let's Encrypt would issue, and what its clients trust instead of the browsers' CA list. The keys are
// fresh for every run and live in a temporary folder; nothing here is ever trusted outside the test.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { need } from "./env.mjs";

const OPENSSL = "/usr/bin/openssl";

function openssl(args, cwd) {
  const r = spawnSync(need(OPENSSL, "run `cargo xtask setup` (Debian package openssl)"), args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (${r.status}): ${r.stderr}`);
}

/**
 * A CA (EC P-256, 2 days) and one leaf certificate for `hosts` (DNS names; the first is the subject) signed by
 * it, in `dir` (default: a new temporary folder). Returns `{ dir, caFile, certFile, keyFile, chainFile, ca,
 * cert, key, hosts }`: file paths (PEM) and the PEM texts; `chainFile` is the leaf followed by the CA.
 */
export function makeTestCA(hosts, { dir = mkdtempSync(join(tmpdir(), "pocketgate-ca-")) } = {}) {
  if (!hosts.length) throw new Error("makeTestCA: name at least one host");
  const [subject] = hosts;
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-subj", "/CN=PocketGate test CA", "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", "ca.key", "-out", "ca.pem"], dir);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${subject}`,
    "-keyout", "host.key", "-out", "host.csr"], dir);
  writeFileSync(join(dir, "host.ext"), [
    "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth",
    `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}`, "",
  ].join("\n"));
  openssl(["x509", "-req", "-in", "host.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
    "-extfile", "host.ext", "-out", "host.pem"], dir);
  const ca = readFileSync(join(dir, "ca.pem"), "utf8");
  const cert = readFileSync(join(dir, "host.pem"), "utf8");
  writeFileSync(join(dir, "chain.pem"), cert + ca);
  return {
    dir, hosts, ca, cert, key: readFileSync(join(dir, "host.key"), "utf8"),
    caFile: join(dir, "ca.pem"), certFile: join(dir, "host.pem"), keyFile: join(dir, "host.key"), chainFile: join(dir, "chain.pem"),
  };
}
