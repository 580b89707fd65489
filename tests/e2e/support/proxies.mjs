// Real reverse proxies from Debian (Caddy `forward_auth`, nginx `auth_request`) in front of a recording
// upstream, asking the gate at /_gate/auth. Started on loopback ports by the test, stopped by PID.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const IDENTITY = ["User", "Email", "Preferred-Username", "Groups"];

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function binary(path, pkg) {
  if (!existsSync(path)) throw new Error(`${path} is missing: apt-get install -y ${pkg}`);
  return path;
}

async function waitFor(url, proc, output) {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`proxy exited (${proc.exitCode}): ${output.join("")}`);
    try { await fetch(url); return; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  throw new Error(`proxy did not start: ${output.join("")}`);
}

function run(cmd, args, env = {}) {
  const output = [];
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  proc.stdout.on("data", (d) => output.push(String(d)));
  proc.stderr.on("data", (d) => output.push(String(d)));
  const stop = () => new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill("SIGTERM");
  });
  return { proc, output, stop };
}

/** Caddy: `forward_auth` to the gate, identity headers copied onto the proxied request. */
export async function startCaddy({ gate, upstream }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-caddy-"));
  const port = await freePort();
  const host = (u) => new URL(u).host;
  const caddyfile = `{
	admin off
	auto_https off
	storage file_system ${dir}/data
}
http://127.0.0.1:${port} {
	# route keeps this order: drop client identity headers, ask the gate, proxy.
	route {
${[...IDENTITY.map((h) => `X-Auth-Request-${h}`), "X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups"].map((h) => `\t\trequest_header -${h}`).join("\n")}
		forward_auth ${host(gate)} {
			uri /_gate/auth
			copy_headers ${IDENTITY.map((h) => `X-Auth-Request-${h}`).join(" ")}
		}
		reverse_proxy ${host(upstream)}
	}
}
`;
  writeFileSync(join(dir, "Caddyfile"), caddyfile);
  const p = run(binary("/usr/bin/caddy", "caddy"), ["run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"],
    { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url + "/relay", p.proc, p.output);
  return { url, stop: p.stop, output: p.output, config: caddyfile };
}

/** nginx: `auth_request` to the gate, identity headers set from the subrequest's answer. */
export async function startNginx({ gate, upstream }) {
  const dir = mkdtempSync(join(tmpdir(), "pocketgate-nginx-"));
  const port = await freePort();
  const vars = IDENTITY.map((h) => [h, h.toLowerCase().replace(/-/g, "_")]);
  const conf = `daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /_gate/auth {
      internal;
      proxy_pass ${gate}/_gate/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    location / {
      auth_request /_gate/auth;
${vars.map(([, v]) => `      auth_request_set $auth_${v} $upstream_http_x_auth_request_${v};`).join("\n")}
      # proxy_set_header replaces whatever the client sent (an empty value drops the header).
${vars.map(([h, v]) => `      proxy_set_header X-Auth-Request-${h} $auth_${v};`).join("\n")}
      proxy_set_header X-Forwarded-User "";
      proxy_set_header X-Forwarded-Email "";
      proxy_set_header X-Forwarded-Groups "";
      proxy_pass ${upstream};
    }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const p = run(binary("/usr/sbin/nginx", "nginx"), ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url + "/relay", p.proc, p.output);
  return { url, stop: p.stop, output: p.output, config: conf };
}
