//! A strict JSON scanner for token segments that builds nothing: one pass validates the whole document and
//! records where the top-level members the caller names are; their values are read later from those spans.
//!
//! Hand-written because no maintained parser does this: `serde_json` keeps the last of repeated members, and
//! refusing them through its visitors means a map per object and kilobytes of generic code in WebAssembly.
//!
//! Strict as [`super::parse_object`]: RFC 8259 grammar (no comments, no trailing commas, no leading zeros), UTF-8
//! in strings, valid escapes (surrogates paired), one top-level object with nothing after it, at most
//! [`MAX_DEPTH`] levels, and no member name repeated in any object at any depth (compared after unescaping). The
//! only allocation is the list of one object's member names, for the repeat check.

use std::borrow::Cow;

use crate::error::{Error, Part};

/// Deepest nesting accepted (objects and arrays), as `serde_json`'s recursion limit: 128.
pub const MAX_DEPTH: u32 = 128;

/// Where a value is in the document: `doc[start..end]`, already validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// The value's text in `doc` (the document the span was found in).
    pub fn text(self, doc: &str) -> &str {
        doc.get(self.start as usize..self.end as usize).unwrap_or_default()
    }
}

/// Why a document was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Invalid,
    Repeated,
    NotObject,
    Trailing,
}

/// The member names a reader wants, each found by its index in this list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    list: Vec<(u64, Box<str>)>,
}

impl Names {
    /// These names, in this order.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Names {
        Names { list: names.into_iter().map(|n| (fingerprint(n), n.into())).collect() }
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The index of `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.find(fingerprint(name), name)
    }

    /// The index of `name`, whose [`fingerprint`] is `fp`: names are compared only when fingerprints are equal.
    #[inline(always)]
    fn find(&self, fp: u64, name: &str) -> Option<usize> {
        self.list.iter().position(|(f, n)| *f == fp && **n == *name)
    }
}

/// Validate `doc` as one strict JSON object and record, for each top-level member named in `wanted`, its value's
/// span in `found[index]` (indices outside `found` are ignored).
pub fn members(doc: &str, part: Part, wanted: &Names, found: &mut [Option<Span>]) -> Result<(), Error> {
    let mut s = Scanner::new(doc, 0);
    let result = s.top(wanted, found);
    result.map_err(|fault| match fault {
        Fault::Repeated => Error::DuplicateJsonKey { part },
        Fault::NotObject => Error::Json { part, reason: "not an object" },
        Fault::Trailing => Error::Json { part, reason: "trailing data after the object" },
        Fault::Invalid => Error::Json { part, reason: "invalid JSON" },
    })
}

/// The error for a document that is not UTF-8 (JSON text is UTF-8: RFC 8259 §8.1): what [`members`] answers for
/// any other invalid JSON.
pub fn not_utf8(part: Part) -> Error {
    Error::Json { part, reason: "invalid JSON" }
}

/// The string at `span`, unescaped; `None` when the value there is not a string.
pub fn string(doc: &str, span: Span) -> Option<Cow<'_, str>> {
    let mut s = Scanner::new(span.text(doc), 0);
    s.string().ok()?.text()
}

/// The number at `span`; `None` when the value there is not a number or does not fit an `f64`.
///
/// Converted by the code [`super::parse_object`] runs anyway: `str::parse::<f64>` would add core's 10 KB power
/// table to the Worker.
pub fn number(doc: &str, span: Span) -> Option<f64> {
    let bytes = span.text(doc).as_bytes();
    match bytes.first() {
        Some(b'-' | b'0'..=b'9') => super::parse_value(bytes, Part::Payload).ok()?.as_f64().filter(|n| n.is_finite()),
        _ => None,
    }
}

/// The items of the array at `span`, each as its span in `doc`; `None` when the value there is not an array.
pub fn items(doc: &str, span: Span) -> Option<Vec<Span>> {
    let mut s = Scanner::new(doc, span.start as usize);
    let mut out = Vec::new();
    s.array(1, Some(&mut out)).ok()?;
    Some(out)
}

/// The value of member `name` of the object at `span`; `None` when absent or when the value there is not an
/// object.
pub fn member(doc: &str, span: Span, name: &str) -> Option<Span> {
    let mut s = Scanner::new(doc, span.start as usize);
    let mut out = [None];
    s.object(1, Some((&Names::new([name]), &mut out))).ok()?;
    out[0]
}

/// One string token: its raw text between the quotes, and whether it holds escapes.
struct Text<'d> {
    raw: &'d str,
    escaped: bool,
}

impl<'d> Text<'d> {
    /// The string's value. Escaped strings (rare in tokens) are decoded by the code [`super::parse_object`]
    /// runs anyway, from the validated token between its quotes.
    /// `None` only if the two parsers disagreed on the string (fail closed).
    fn text(&self) -> Option<Cow<'d, str>> {
        if !self.escaped {
            return Some(Cow::Borrowed(self.raw));
        }
        let quoted = format!("\"{}\"", self.raw);
        match super::parse_value(quoted.as_bytes(), Part::Payload) {
            Ok(serde_json::Value::String(s)) => Some(Cow::Owned(s)),
            _ => None,
        }
    }
}

/// The names and the output of the top-level object's member lookup.
type Wanted<'w> = (&'w Names, &'w mut [Option<Span>]);

struct Scanner<'d> {
    /// The document, already valid UTF-8 (JSON text is UTF-8: RFC 8259 §8.1), so a string between two quotes is
    /// text without a check of its own.
    text: &'d str,
    doc: &'d [u8],
    at: usize,
}

/// The bytes that end a run of plain characters in a string: the quote, the escape, and control characters.
const STOPS_A_STRING: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether any byte of `word` (eight bytes) stops a string: `"`, `\` or a control character (below 0x20). Exact
/// (the bit tricks can misplace which byte, never whether one is there); the byte loop then finds it.
#[inline(always)]
fn stops(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_0x20 = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    (zero_in(word ^ (ONES * u64::from(b'"'))) | zero_in(word ^ (ONES * u64::from(b'\\'))) | below_0x20) != 0
}

/// The small steps are `#[inline(always)]`: at opt-level "z" they would stay calls, a third of the scan's time.
impl<'d> Scanner<'d> {
    fn new(text: &'d str, at: usize) -> Scanner<'d> {
        Scanner { text, doc: text.as_bytes(), at }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.doc.get(self.at).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Result<(), Fault> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(Fault::Invalid)
        }
    }

    fn top(&mut self, wanted: &Names, found: &mut [Option<Span>]) -> Result<(), Fault> {
        self.ws();
        if self.peek() != Some(b'{') {
            // Still a JSON error first when the document is not JSON at all.
            self.value(0)?;
            return Err(Fault::NotObject);
        }
        self.object(1, Some((wanted, found)))?;
        self.ws();
        if self.at != self.doc.len() {
            return Err(Fault::Trailing);
        }
        Ok(())
    }

    fn value(&mut self, depth: u32) -> Result<(), Fault> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1, None),
            Some(b'[') => self.array(depth + 1, None),
            Some(b'"') => self.string().map(drop),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Fault::Invalid),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Fault> {
        if self.doc[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Fault::Invalid)
        }
    }

    #[inline(always)]
    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<(), Fault> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        if self.peek() == Some(b'0') {
            self.at += 1;
        } else if self.digits() == 0 {
            return Err(Fault::Invalid);
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(Fault::Invalid);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(Fault::Invalid);
            }
        }
        Ok(())
    }

    /// An array; `items` (for [`items`]) collects the span of each item.
    fn array(&mut self, depth: u32, mut items: Option<&mut Vec<Span>>) -> Result<(), Fault> {
        if depth > MAX_DEPTH {
            return Err(Fault::Invalid);
        }
        self.eat(b'[')?;
        self.ws();
        if self.eat(b']').is_ok() {
            return Ok(());
        }
        loop {
            self.ws();
            let start = self.at;
            self.value(depth)?;
            if let Some(items) = items.as_mut() {
                items.push(Span { start: start as u32, end: self.at as u32 });
            }
            self.ws();
            if self.eat(b']').is_ok() {
                return Ok(());
            }
            self.eat(b',')?;
        }
    }

    /// An object; `wanted` (the top level only) records the spans of the members it names.
    fn object(&mut self, depth: u32, mut wanted: Option<Wanted<'_>>) -> Result<(), Fault> {
        if depth > MAX_DEPTH {
            return Err(Fault::Invalid);
        }
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_ok() {
            return Ok(());
        }
        // Room for a PocketID ID token's ~20 claims at once (growing from empty took four allocations: room for 4,
        // 8, 16 and 32 names).
        let mut names: Vec<(u64, Cow<'d, str>)> = Vec::with_capacity(if wanted.is_some() { 32 } else { 4 });
        loop {
            self.ws();
            let name = self.string()?.text().ok_or(Fault::Invalid)?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            let start = self.at;
            self.value(depth)?;
            let fp = fingerprint(&name);
            if let Some((wanted, found)) = wanted.as_mut()
                && let Some(slot) = wanted.find(fp, &name).and_then(|i| found.get_mut(i))
            {
                *slot = Some(Span { start: start as u32, end: self.at as u32 });
            }
            names.push((fp, name));
            self.ws();
            if self.eat(b'}').is_ok() {
                return if repeats(names) { Err(Fault::Repeated) } else { Ok(()) };
            }
            self.eat(b',')?;
        }
    }

    fn string(&mut self) -> Result<Text<'d>, Fault> {
        self.eat(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            // Plain bytes eight at a time, then one by one; stop at the quote, an escape or a control character.
            let mut at = self.at;
            while let Some(word) = self.doc.get(at..at + 8) {
                if stops(u64::from_le_bytes(word.try_into().unwrap_or_default())) {
                    break;
                }
                at += 8;
            }
            while let Some(&b) = self.doc.get(at) {
                if STOPS_A_STRING[b as usize] {
                    break;
                }
                at += 1;
            }
            self.at = at;
            match self.peek().ok_or(Fault::Invalid)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.at += 1,
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(Fault::Invalid),
                    }
                }
                _ => return Err(Fault::Invalid),
            }
        }
        // Between two quotes of valid UTF-8: always a boundary on both sides.
        let raw = self.text.get(start..self.at).ok_or(Fault::Invalid)?;
        self.at += 1;
        Ok(Text { raw, escaped })
    }

    /// `\uXXXX` (the `u` at `self.at`), a high surrogate only when a `\uXXXX` low surrogate follows.
    fn unicode_escape(&mut self) -> Result<(), Fault> {
        let code = self.hex()?;
        match code {
            0xD800..=0xDBFF => {
                self.literal(b"\\")?;
                let low = self.hex()?;
                if (0xDC00..=0xDFFF).contains(&low) { Ok(()) } else { Err(Fault::Invalid) }
            }
            0xDC00..=0xDFFF => Err(Fault::Invalid),
            _ => Ok(()),
        }
    }

    /// `uXXXX` at `self.at`: the code unit.
    fn hex(&mut self) -> Result<u32, Fault> {
        self.eat(b'u')?;
        let digits = self.doc.get(self.at..self.at + 4).ok_or(Fault::Invalid)?;
        let mut code = 0;
        for &d in digits {
            code = code * 16 + (d as char).to_digit(16).ok_or(Fault::Invalid)?;
        }
        self.at += 4;
        Ok(code)
    }
}

/// Whether a name occurs twice: pairwise while few (a PocketID ID token has about 20 claims), heap-sorted beyond:
/// O(n log n) at worst, and a heap is a fraction of `sort_unstable`'s code in WebAssembly.
/// Each name goes with its [`fingerprint`]: names are compared only when their fingerprints are equal.
fn repeats(names: Vec<(u64, Cow<'_, str>)>) -> bool {
    if names.len() <= 32 {
        return names.iter().enumerate().any(|(i, (fp, a))| names[..i].iter().any(|(f, b)| f == fp && a == b));
    }
    let sorted = std::collections::BinaryHeap::from(names).into_sorted_vec();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// A cheap fingerprint of a name (FxHash's step over its bytes): equal names have equal fingerprints. Not a defence
/// against chosen collisions, and it need not be: colliding names cost one string comparison each, and the
/// pairwise check runs on at most 32 names.
fn fingerprint(name: &str) -> u64 {
    name.bytes()
        .fold(name.len() as u64, |h, b| (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The eight-byte check agrees with the byte table for every byte value at every position, beside plain
    /// bytes and beside other stopping bytes.
    #[test]
    fn the_word_check_agrees_with_the_byte_table() {
        for fill in [b'a', 0x7f, 0x80, 0xff, b' '] {
            for b in 0..=255u8 {
                for i in 0..8 {
                    let mut word = [fill; 8];
                    word[i] = b;
                    let want = word.iter().any(|&x| STOPS_A_STRING[x as usize]);
                    assert_eq!(stops(u64::from_le_bytes(word)), want, "byte {b:#x} at {i} among {fill:#x}");
                }
            }
        }
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let want = seed.to_le_bytes().iter().any(|&x| STOPS_A_STRING[x as usize]);
            assert_eq!(stops(seed), want, "{seed:#018x}");
        }
    }

    #[test]
    fn a_document_that_is_not_utf8_is_invalid_json() {
        let names = std::sync::Arc::new(crate::claims::ClaimNames::new(["groups"]));
        for payload in [&b"{\"a\":\"\xff\"}"[..], b"{\"a\xc0\xae\":1}", b"{\"a\":1}\xed\xa0\x80"] {
            let e = crate::claims::Claims::read(payload.to_vec(), &names).unwrap_err();
            assert_eq!(e, Error::Json { part: Part::Payload, reason: "invalid JSON" }, "{payload:?}");
        }
    }

    const NAMES: [&str; 3] = ["a", "b", "é"];

    fn scan(doc: &str) -> Result<[Option<Span>; 3], Error> {
        let mut found = [None; 3];
        members(doc, Part::Payload, &Names::new(NAMES), &mut found)?;
        Ok(found)
    }

    fn code(doc: &str) -> String {
        match scan(doc) {
            Ok(_) => "ok".into(),
            Err(Error::Json { reason, .. }) => format!("json: {reason}"),
            Err(e) => e.code().into(),
        }
    }

    #[test]
    fn finds_the_named_members_and_reads_them() {
        let doc = r#" {"x":{"a":[1]},"a":"h\u00e9\"llo","b":[1,"two",{"c":3}],"\u00e9":-1.5e2} "#;
        let [a, b, e] = scan(doc).unwrap();
        let d = doc;
        assert_eq!(string(d, a.unwrap()).as_deref(), Some("hé\"llo"));
        assert_eq!(number(d, e.unwrap()), Some(-150.0));
        let list = items(d, b.unwrap()).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(number(d, list[0]), Some(1.0));
        assert_eq!(string(d, list[1]).as_deref(), Some("two"));
        assert_eq!(string(d, list[2]), None);
        assert_eq!(member(d, list[2], "c").and_then(|s| number(d, s)), Some(3.0));
        assert_eq!(member(d, list[2], "z"), None);
        assert_eq!(items(d, a.unwrap()), None);
    }

    #[test]
    fn surrogate_pairs_decode() {
        let doc = r#"{"a":"\ud83d\ude00 \u0041"}"#;
        assert_eq!(string(doc, scan(doc).unwrap()[0].unwrap()).as_deref(), Some("😀 A"));
    }

    #[test]
    fn refuses_repeated_names_at_any_depth_and_after_unescaping() {
        for doc in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"b":1,"b":1}}"#,
            r#"{"x":[{"k":1,"k":2}]}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"q":1,"z":{"k0":0,"k1":0,"k2":0,"k3":0,"k4":0,"k5":0,"k6":0,"k7":0,"k8":0,"k9":0,"ka":0,"kb":0,"kc":0,"kd":0,"ke":0,"kf":0,"kg":0,"k3":0}}"#,
        ] {
            assert_eq!(code(doc), "token_duplicate_key", "{doc}");
        }
        assert_eq!(code(r#"{"a":1,"A":2,"x":{"a":1},"y":[{"a":1},{"a":1}]}"#), "ok");
        // Past the pairwise limit (32 names): the sorted check, with the repeat first, last or escaped.
        let members = |names: &[String]| names.iter().map(|n| format!("\"{n}\":0")).collect::<Vec<_>>().join(",");
        let many: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        assert_eq!(code(&format!("{{\"x\":{{{}}}}}", members(&many))), "ok");
        for (i, repeat) in [(0, "k0"), (39, "k39"), (20, "\\u006b7")] {
            let mut names = many.clone();
            names.insert(i, repeat.to_owned());
            assert_eq!(code(&format!("{{{}}}", members(&names))), "token_duplicate_key", "{repeat}");
        }
    }

    #[test]
    fn refuses_what_is_not_strict_json() {
        for doc in [
            "",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{,}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":-}",
            "{\"a\":+1}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":[1,]}",
            "{\"a\":[,1]}",
            "{\"a\":'x'}",
            "{a:1}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\ud800\\u0041\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":1 /*c*/}",
            "{\"a\":NaN}",
            "{\"a\":Infinity}",
        ] {
            assert_eq!(code(doc), "json: invalid JSON", "{doc:?}");
        }
        for doc in ["[1]", "\"s\"", "1", "null"] {
            assert_eq!(code(doc), "json: not an object", "{doc:?}");
        }
        for doc in ["{} {}", "{\"a\":1}x", "{}\u{0}"] {
            assert_eq!(code(doc), "json: trailing data after the object", "{doc:?}");
        }
    }

    #[test]
    fn nesting_is_capped() {
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(127), "]".repeat(127));
        assert_eq!(code(&ok), "ok");
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(128), "]".repeat(128));
        assert_eq!(code(&deep), "json: invalid JSON");
        let very_deep = format!("{{\"a\":{}", "[".repeat(100_000));
        assert_eq!(code(&very_deep), "json: invalid JSON");
    }

    #[test]
    fn agrees_with_the_map_parser() {
        // Every document either both accept or both refuse with the same code.
        for doc in [
            r#"{"a":1,"b":{"c":[1,"x",null,true,1.5e3,-0]}}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"x":[{"k":1},{"k":2}]}"#,
            r#"{"a":"\ud83d\ude00"}"#,
            "{\"a\":1}\n",
            "[]",
            "{\"a\":[}",
        ] {
            let map = super::super::parse_object(doc.as_bytes(), Part::Payload).map(drop);
            let scanned = scan(doc).map(drop);
            assert_eq!(map, scanned, "{doc}");
        }
    }
}
