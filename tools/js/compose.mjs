// The parts of a docker compose fragment the deployment-shaped tests read: each service's list-valued keys
// (`labels`, `command`, `volumes`, `ports`, …) in block form (`- item`) or flow form (`["a", "b"]`), with YAML's
// quoting rules for the items, and compose's `!override` / `!reset` tags. Not a YAML parser: anything it does not
// understand under `services:` (a mapping-form `labels:`, an anchor) is an error naming the line, never a guess.

/** One YAML scalar: double-quoted (JSON escapes), single-quoted (`''` for `'`) or plain (a trailing comment cut). */
function scalar(text, where) {
  const t = text.trim();
  if (t.startsWith('"')) {
    if (!t.endsWith('"')) throw new Error(`${where}: unterminated string ${t}`);
    return JSON.parse(t);
  }
  if (t.startsWith("'")) {
    if (!t.endsWith("'")) throw new Error(`${where}: unterminated string ${t}`);
    return t.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[&*]/.test(t)) throw new Error(`${where}: anchors and aliases are not read here: ${t}`);
  return t.replace(/\s+#.*$/, "");
}

/** The items of a flow sequence `[a, "b", 'c']` (no nesting). */
function flowItems(text, where) {
  const inner = text.trim().replace(/^\[/, "").replace(/\]$/, "");
  const items = [];
  let cur = "";
  let quote = null;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (quote) {
      cur += ch;
      if (ch === "\\" && quote === '"') { cur += inner[++i]; continue; }
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") { quote = ch; cur += ch; } else if (ch === ",") { items.push(cur); cur = ""; } else cur += ch;
  }
  if (cur.trim()) items.push(cur);
  return items.map((s) => scalar(s, where));
}

/**
 * `{ [service]: { [key]: { items: [string], tag: "!override"|"!reset"|null } } }` for every list-valued key of
 * every service under the top-level `services:` of `yaml`. Scalar-valued keys (`image: …`) are kept as
 * `{ value, tag }`; nested mappings other than lists are skipped.
 */
export function composeServices(yaml) {
  const lines = yaml.split("\n");
  const services = {};
  let inServices = false;
  let svcIndent = null;
  let service = null;
  let key = null;
  let keyIndent = null;
  lines.forEach((raw, n) => {
    const where = `line ${n + 1}`;
    const line = raw.replace(/\s+$/, "");
    if (!line.trim() || line.trim().startsWith("#")) return;
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    if (indent === 0) {
      inServices = body === "services:";
      service = null;
      key = null;
      return;
    }
    if (!inServices) return;
    svcIndent ??= indent;
    if (indent === svcIndent) {
      const m = body.match(/^([A-Za-z0-9._-]+):$/);
      if (!m) throw new Error(`${where}: expected a service name: ${body}`);
      service = m[1];
      services[service] = {};
      key = null;
      return;
    }
    if (!service) throw new Error(`${where}: indented line outside a service: ${body}`);
    if (key && indent > keyIndent && body.startsWith("- ")) {
      services[service][key].items.push(scalar(body.slice(2), where));
      return;
    }
    if (key && indent > keyIndent) { // inside a nested mapping: not read (composeList refuses it)
      services[service][key].nested = true;
      return;
    }
    const m = body.match(/^([A-Za-z0-9._-]+):(?:\s+(!override|!reset))?(?:\s+(.*))?$/);
    if (!m) {
      if (body.startsWith("- ")) throw new Error(`${where}: list item without a key: ${body}`);
      throw new Error(`${where}: not read here: ${body}`);
    }
    const [, name, tag = null, rest] = m;
    key = name;
    keyIndent = indent;
    if (rest === undefined || rest === "") services[service][key] = { items: [], tag };
    else if (rest.startsWith("[")) services[service][key] = { items: flowItems(rest, where), tag };
    else if (rest.startsWith("{")) throw new Error(`${where}: flow mappings are not read here: ${body}`);
    else services[service][key] = { value: scalar(rest, where), tag };
  });
  return services;
}

/** The items of `services.<service>.<key>` in `yaml` (a list), or an error naming what is missing. */
export function composeList(yaml, service, key) {
  const s = composeServices(yaml)[service];
  if (!s) throw new Error(`the compose fragment has no service "${service}":\n${yaml}`);
  const entry = s[key];
  if (!entry || !entry.items || entry.nested) throw new Error(`the compose fragment's "${service}" has no "${key}:" list:\n${yaml}`);
  return entry.items;
}

/** Docker labels (`key=value` items) as an object. */
export function labelMap(items) {
  return Object.fromEntries(items.map((l) => {
    const i = l.indexOf("=");
    if (i < 0) throw new Error(`a label without "=": ${l}`);
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}
