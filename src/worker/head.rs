//! What a request's head carries for the gate, read in one crossing into WebAssembly (`read::read_head`):
//! the method, the URL and the [`HEADERS`], joined by `\n` into one UTF-8 text, with a mask of the headers
//! present (an absent header and an empty one differ).
//!
//! The joining is unambiguous because none of the parts can hold a `\n`: a method is an HTTP token, the Fetch
//! standard's URL serializer drops tab and newline, and a `Headers` value never contains `\n`, `\r` or NUL
//! (Fetch, "header value"). [`Head::parse`] still counts the parts and refuses any other count, so a runtime that
//! broke this could not shift one header's value into another's place.

use std::ops::Range;

use crate::http::{FORWARDED_HEADERS, ORIGINAL_HEADERS};

/// The headers read, in this order: the two forward-auth families (nginx's, then Caddy's and Traefik's), then
/// `Authorization`.
pub const HEADERS: [&str; 5] =
    [ORIGINAL_HEADERS[0], ORIGINAL_HEADERS[1], FORWARDED_HEADERS[0], FORWARDED_HEADERS[1], "authorization"];

/// Where [`Head::header`] finds `Authorization`: the last of [`HEADERS`].
pub const AUTHORIZATION: usize = 4;

/// A joined head: its text and where each part is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    text: String,
    method: Range<usize>,
    url: Range<usize>,
    headers: [Option<Range<usize>>; 5],
}

impl Head {
    /// Split `text` (method, URL, then the five header values, `\n` between) with `present` (bit `i` set when
    /// header `i` was sent). `None` when `text` does not have exactly seven parts.
    pub fn parse(text: String, present: u32) -> Option<Head> {
        let mut parts = text.split('\n').map(|part| {
            let start = part.as_ptr() as usize - text.as_ptr() as usize;
            start..start + part.len()
        });
        let method = parts.next()?;
        let url = parts.next()?;
        let mut headers: [Option<Range<usize>>; 5] = Default::default();
        for (i, slot) in headers.iter_mut().enumerate() {
            let span = parts.next()?;
            *slot = (present & (1 << i) != 0).then_some(span);
        }
        if parts.next().is_some() {
            return None;
        }
        Some(Head { text, method, url, headers })
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.text[self.method.clone()]
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.text[self.url.clone()]
    }

    /// Header `i` of [`HEADERS`]; `None` when it was not sent.
    pub fn header(&self, i: usize) -> Option<&str> {
        self.headers[i].clone().map(|span| &self.text[span])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_seven_parts_and_tells_absent_from_empty() {
        let text = "GET\nhttps://gate.example/_gate/auth\n\n\nGET\n/api/users?x=1\nBearer a.b.c";
        let head = Head::parse(text.into(), 0b11110).unwrap();
        assert_eq!(head.method(), "GET");
        assert_eq!(head.url(), "https://gate.example/_gate/auth");
        // Bit 0 clear: X-Original-Method absent; bit 1 set: X-Original-URI sent, empty.
        assert_eq!(head.header(0), None);
        assert_eq!(head.header(1), Some(""));
        assert_eq!(head.header(2), Some("GET"));
        assert_eq!(head.header(3), Some("/api/users?x=1"));
        assert_eq!(head.header(AUTHORIZATION), Some("Bearer a.b.c"));
    }

    #[test]
    fn multibyte_values_keep_their_spans() {
        let text = "GET\nhttps://g.example/\u{e9}\n\n\nGET\n/caf\u{e9}\n";
        let head = Head::parse(text.into(), 0b01100).unwrap();
        assert_eq!(head.url(), "https://g.example/\u{e9}");
        assert_eq!(head.header(3), Some("/caf\u{e9}"));
        assert_eq!(head.header(4), None);
    }

    #[test]
    fn refuses_any_other_number_of_parts() {
        // A value holding a newline would shift every later header: never read as a head.
        assert_eq!(Head::parse("GET\nu\n\n\nGET\n/a\n/b\nBearer t".into(), 0b11111), None);
        assert_eq!(Head::parse("GET\nu\n\n\nGET\n/a".into(), 0b11111), None);
        assert_eq!(Head::parse("".into(), 0), None);
    }

    #[test]
    fn header_order_matches_the_forward_auth_families() {
        assert_eq!(HEADERS[..2], ORIGINAL_HEADERS);
        assert_eq!(HEADERS[2..4], FORWARDED_HEADERS);
        assert_eq!(HEADERS[AUTHORIZATION], "authorization");
    }
}
