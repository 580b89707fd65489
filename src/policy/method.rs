//! The request method as the route rules see it: canonical, or refused.

use std::borrow::Cow;
use std::fmt;

use crate::error::Error;

/// An HTTP method as the gate judges it: an RFC 9110 token (§9.1: `method = token`; §5.6.2: `token = 1*tchar`),
/// ASCII upper-cased. Built only by [`Method::parse`], so no rule ever compares a method as the client spelled it.
///
/// Methods are case-sensitive in HTTP, but the gate must not be laxer than any router behind it: `delete` is
/// judged as `DELETE` (an upstream that folds case serves it as one; one that does not refuses it as an unknown
/// method), never as a method no rule lists. The upstream still receives the method as the client sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Method<'a>(Cow<'a, str>);

impl<'a> Method<'a> {
    /// `GET`.
    pub const GET: Method<'static> = Method(Cow::Borrowed("GET"));
    /// `HEAD`.
    pub const HEAD: Method<'static> = Method(Cow::Borrowed("HEAD"));

    /// The canonical form of `raw`: upper-cased; borrowed when it already is. [`Error::MethodInvalid`] (400) for
    /// an empty method or one with a byte that is not a `tchar` (a space, a control byte, a separator such as
    /// `(`, `/` or `:`, non-ASCII).
    pub fn parse(raw: &'a str) -> Result<Method<'a>, Error> {
        if raw.is_empty() || !raw.bytes().all(is_tchar) {
            return Err(Error::MethodInvalid);
        }
        if raw.bytes().any(|b| b.is_ascii_lowercase()) {
            Ok(Method(Cow::Owned(raw.to_ascii_uppercase())))
        } else {
            Ok(Method(Cow::Borrowed(raw)))
        }
    }

    /// The canonical (upper-case) name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 9110 §5.6.2: `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
/// "~" / DIGIT / ALPHA`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_upper_cased_and_borrowed_when_already_canonical() {
        for (raw, canonical) in [
            ("GET", "GET"),
            ("get", "GET"),
            ("delete", "DELETE"),
            ("Delete", "DELETE"),
            ("pUt", "PUT"),
            ("M-SEARCH", "M-SEARCH"),
            ("propfind", "PROPFIND"),
            ("x!#$%&'*+-.^_`|~9", "X!#$%&'*+-.^_`|~9"),
        ] {
            let m = Method::parse(raw).unwrap();
            assert_eq!(m.as_str(), canonical, "{raw:?}");
            assert_eq!(matches!(m.0, Cow::Borrowed(_)), raw == canonical, "{raw:?}");
        }
        assert_eq!(Method::parse("head"), Ok(Method::HEAD));
        assert_eq!(Method::parse("GET"), Ok(Method::GET));
    }

    #[test]
    fn non_tokens_are_refused() {
        for raw in
            ["", " ", "GET ", " GET", "G ET", "GET\t", "GET\r\n", "GE\0T", "GET/1.1", "GET:", "(GET)", "\"GET\"", "GÉT"]
        {
            assert_eq!(Method::parse(raw), Err(Error::MethodInvalid), "{raw:?}");
        }
        // Every one-byte method: the 62 letters and digits and RFC 9110's 15 symbols, nothing else.
        let accepted: Vec<u8> = (0..=255u8)
            .filter(|b| std::str::from_utf8(&[*b]).is_ok_and(|s| Method::parse(s).is_ok()))
            .filter(|b| !b.is_ascii_alphanumeric())
            .collect();
        assert_eq!(accepted, b"!#$%&'*+-.^_`|~".to_vec());
        assert_eq!(
            (0..=255u8)
                .filter(|b| b.is_ascii_alphanumeric() && Method::parse(&(*b as char).to_string()).is_ok())
                .count(),
            62
        );
    }
}
