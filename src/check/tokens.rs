//! The optional tokens: from a file (`--token-file`, `--denied-token-file`) or typed on the terminal without echo
//! (`--ask-tokens`, rpassword reads `/dev/tty`). Never from the command line or the environment, never printed:
//! [`Token`]'s `Debug` shows nothing of it, and errors never quote a file's content.

use std::fmt;
use std::path::Path;

use super::args::{Settings, UsageError};

/// Largest token file read.
const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// A bearer token. `Debug` prints `Token(…)`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The `Authorization` header's value.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The tokens given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    /// An allowed user's.
    pub allowed: Option<Token>,
    /// A user's outside the allowed groups.
    pub denied: Option<Token>,
}

/// Read the tokens `settings` names; `ask` reads one from the terminal without echo (empty: none).
pub fn read(settings: &Settings, ask: impl Fn(&str) -> std::io::Result<String>) -> Result<Tokens, UsageError> {
    let mut tokens = Tokens {
        allowed: settings.token_file.as_deref().map(|p| from_file("--token-file", p)).transpose()?,
        denied: settings.denied_token_file.as_deref().map(|p| from_file("--denied-token-file", p)).transpose()?,
    };
    if settings.ask_tokens {
        let prompt = |slot: &mut Option<Token>, text: &str| -> Result<(), UsageError> {
            if slot.is_none() {
                let typed = ask(text).map_err(|e| UsageError {
                    setting: "--ask-tokens".into(),
                    message: format!("cannot read from the terminal ({}): use --token-file FILE", e.kind()),
                })?;
                *slot = parse("--ask-tokens", &typed)?;
            }
            Ok(())
        };
        prompt(&mut tokens.allowed, "Token of a user in the allowed groups (Enter to skip): ")?;
        prompt(&mut tokens.denied, "Token of a user outside the allowed groups (Enter to skip): ")?;
    }
    Ok(tokens)
}

fn from_file(setting: &str, path: &Path) -> Result<Token, UsageError> {
    let bad = |message: String| UsageError { setting: setting.into(), message };
    let meta = std::fs::metadata(path).map_err(|e| bad(format!("cannot read the file ({})", e.kind())))?;
    if meta.len() > MAX_TOKEN_FILE {
        return Err(bad(format!("the file is larger than {MAX_TOKEN_FILE} bytes: it should hold one token")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read the file ({})", e.kind())))?;
    parse(setting, &text)?.ok_or_else(|| bad("the file is empty: put one token in it".into()))
}

/// One token as typed or stored: whitespace around it and a `Bearer ` prefix are dropped; it must have the shape
/// of a compact JWS (three base64url segments). `None` when empty.
fn parse(setting: &str, text: &str) -> Result<Option<Token>, UsageError> {
    let t = text.trim();
    let t = match t.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => t,
    };
    if t.is_empty() {
        return Ok(None);
    }
    let b64url = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let segments: Vec<&str> = t.split('.').collect();
    if segments.len() != 3 || !segments.iter().all(|s| b64url(s)) {
        return Err(UsageError {
            setting: setting.into(),
            message: "this is not a JWT (header.payload.signature, base64url): give the ID token itself".into(),
        });
    }
    Ok(Some(Token(t.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::args::{Command, parse as parse_args};

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

    fn settings(extra: &str) -> Settings {
        let args: Vec<String> = format!("check --domain q.example.com --issuer https://id.example.com {extra}")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        match parse_args(&args, |_| Ok(String::new())).unwrap() {
            Command::Check(s) => *s,
            Command::Help(_) => panic!(),
        }
    }

    fn never(_: &str) -> std::io::Result<String> {
        panic!("must not ask")
    }

    #[test]
    fn files_and_their_errors() {
        let dir = std::env::temp_dir().join(format!("pocketgate-check-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(&good, format!("  Bearer {JWT}\n")).unwrap();
        let bad = dir.join("bad");
        std::fs::write(&bad, "SECRETVALUE not a token\n").unwrap();
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let s = settings(&format!("--token-file {}", good.display()));
        let t = read(&s, never).unwrap();
        assert_eq!(t.allowed.as_ref().unwrap().authorization(), format!("Bearer {JWT}"));
        assert_eq!(format!("{t:?}"), "Tokens { allowed: Some(Token(…)), denied: None }", "Debug hides the token");
        let e = read(&settings(&format!("--denied-token-file {}", bad.display())), never).unwrap_err();
        assert_eq!(e.setting, "--denied-token-file");
        assert!(!e.message.contains("SECRET"));
        assert!(
            read(&settings(&format!("--token-file {}", empty.display())), never).unwrap_err().message.contains("empty")
        );
        let e = read(&settings(&format!("--token-file {}", dir.join("none").display())), never).unwrap_err();
        assert!(e.message.contains("cannot read the file") && !e.message.contains("none"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn asked_on_the_terminal() {
        let asked = std::cell::RefCell::new(Vec::new());
        let t = read(&settings("--ask-tokens"), |prompt| {
            asked.borrow_mut().push(prompt.to_owned());
            Ok(if asked.borrow().len() == 1 { format!("{JWT}\n") } else { "\n".to_owned() })
        })
        .unwrap();
        assert!(t.allowed.is_some() && t.denied.is_none(), "Enter skips");
        assert_eq!(asked.borrow().len(), 2);
        let e =
            read(&settings("--ask-tokens"), |_| Err(std::io::Error::from(std::io::ErrorKind::NotFound))).unwrap_err();
        assert_eq!(e.setting, "--ask-tokens");
    }
}
