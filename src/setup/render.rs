//! Quoting and serialisation helpers: every value that reaches a generated file goes through one of these.
//!
//! - JSON: `serde_json` (pretty, two-space indent).
//! - TOML strings: a JSON string is a valid TOML basic string once DEL is escaped too (TOML forbids raw control
//!   characters; `serde_json` escapes all others).
//! - Shell words and env files: double quotes when the value has only harmless characters (as NetBird's own
//!   `setup.env` is written), else single quotes with `'\''` for embedded quotes.

use serde::Serialize;

/// Pretty JSON (serialising plain data cannot fail; an impossible failure yields `{}`).
pub fn json_pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned())
}

/// Compact JSON.
pub fn json_compact(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

/// A TOML basic string, quotes included.
pub fn toml_string(value: &str) -> String {
    json_compact(&value).replace('\u{7f}', "\\u007F")
}

/// A TOML table of string values, in the given order.
pub fn toml_table(name: &str, pairs: &[(&str, String)]) -> String {
    let mut out = format!("[{name}]\n");
    for (key, value) in pairs {
        out.push_str(&format!("{key} = {}\n", toml_string(value)));
    }
    out
}

fn harmless(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._,:/@=+-%#<>()".contains(c)
}

/// The body of a generated script's `api` shell function (after its `api() {` line): curl with the credential
/// header `auth` (its name and any scheme, e.g. `X-API-Key: `) followed by the value of `$secret_var`, read from `$secret_var` through a file descriptor (never on a command line), JSON, and
/// `--fail-with-body` so that `service`'s error body reaches stderr.
pub fn shell_api_body(auth: &str, secret_var: &str, service: &str) -> String {
    format!(
        r#"  local out
  if out=$(curl -sS --fail-with-body -H @<(printf '{auth}%s\n' "${secret_var}") -H 'Content-Type: application/json' "$@"); then
    printf '%s\n' "$out"
  else
    printf '{service} refused the request: %s\n' "$out" >&2; return 1
  fi
}}
"#
    )
}

/// One shell word that expands to exactly `value`.
pub fn shell_quote(value: &str) -> String {
    if value.chars().all(harmless) { format!("\"{value}\"") } else { format!("'{}'", value.replace('\'', r"'\''")) }
}

/// `KEY=value` lines for a file sourced by a POSIX shell (NetBird's `setup.env`).
pub fn env_file(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}\n", shell_quote(v))).collect()
}

/// `KEY=value` lines read literally (Docker `env_file`: no quotes, no expansion). Values are validated URLs,
/// ids and fixed words; a newline would end the line, so it is replaced by a space.
pub fn docker_env_file(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}\n", v.replace(['\n', '\r'], " "))).collect()
}

/// A double-quoted string for Caddyfile and nginx configuration (backslash and quote escaped).
pub fn conf_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', r"\\").replace('"', "\\\""))
}

/// A Cap'n Proto text literal (workerd's configuration), quotes included: backslash, quote and every control
/// character escaped (`\xNN`); other characters, UTF-8 included, as they are.
pub fn capnp_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_escape_quotes_controls_and_del() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_string("x\ny\u{7f}"), r#""x\ny\u007F""#);
    }

    #[test]
    fn toml_table_keeps_order() {
        let t = toml_table("vars", &[("B", "1".into()), ("A", "2".into())]);
        assert_eq!(t, "[vars]\nB = \"1\"\nA = \"2\"\n");
    }

    #[test]
    fn shell_quote_is_double_for_plain_and_single_otherwise() {
        assert_eq!(shell_quote("https://id.example.com"), "\"https://id.example.com\"");
        assert_eq!(shell_quote("a$b"), "'a$b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("`x`"), "'`x`'");
    }

    #[test]
    fn env_and_conf_helpers() {
        assert_eq!(env_file(&[("A", "x y".into())]), "A=\"x y\"\n");
        assert_eq!(docker_env_file(&[("A", "x\ny".into())]), "A=x y\n");
        assert_eq!(conf_string(r#"a"b\"#), r#""a\"b\\""#);
    }
}
