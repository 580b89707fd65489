//! Strict JSON for token segments: an object at the top, and no member name repeated at any depth.
//!
//! `serde_json` keeps the last of duplicate members silently; two parsers disagreeing on which `alg` or `iss`
//! counts is a classic confusion, so PocketGate refuses such tokens outright.
//!
//! Two ways to read: [`parse_object`] builds the whole `serde_json` map (the setup page shows it); [`read_object`]
//! hands each top-level member to an [`ObjectReader`] that takes the few members it needs ([`Scalar`],
//! [`StringList`]) and skips the rest with [`Skip`]: no map per token, and unknown members cost no allocation
//! beyond a member-name list for objects whose names are escaped or repeated checks. Both refuse a repeated
//! member name at any depth, read or skipped.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Part};

/// Parse `bytes` as a JSON object with no duplicate member names at any depth.
pub fn parse_object(bytes: &[u8], part: Part) -> Result<Map<String, Value>, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match StrictValue.deserialize(&mut de) {
        Ok(v) => v,
        Err(e) if e.to_string().starts_with(DUPLICATE) => return Err(Error::DuplicateJsonKey { part }),
        Err(_) => return Err(Error::Json { part, reason: "invalid JSON" }),
    };
    if de.end().is_err() {
        return Err(Error::Json { part, reason: "trailing data after the object" });
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Error::Json { part, reason: "not an object" }),
    }
}

const DUPLICATE: &str = "pocketgate: duplicate member";
const NOT_OBJECT: &str = "pocketgate: not an object";

/// Reads the members of a top-level object it cares about (see [`read_object`]).
pub trait ObjectReader<'de> {
    /// Take the value of member `key` from `map` with exactly one `map.next_value_seed(…)`: a seed that reads it,
    /// or [`Skip`].
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Read `bytes` as one strict JSON object (no repeated member name at any depth, nothing after it), handing
/// each top-level member to `reader`. Errors as [`parse_object`]'s.
pub fn read_object<'de, R: ObjectReader<'de>>(bytes: &'de [u8], part: Part, reader: &mut R) -> Result<(), Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match de.deserialize_any(TopLevel(reader)) {
        Ok(()) => {}
        Err(e) => {
            let text = e.to_string();
            return Err(if text.starts_with(DUPLICATE) {
                Error::DuplicateJsonKey { part }
            } else if text.starts_with(NOT_OBJECT) {
                Error::Json { part, reason: "not an object" }
            } else {
                Error::Json { part, reason: "invalid JSON" }
            });
        }
    }
    if de.end().is_err() {
        return Err(Error::Json { part, reason: "trailing data after the object" });
    }
    Ok(())
}

struct TopLevel<'r, R>(&'r mut R);

impl<'de, R: ObjectReader<'de>> Visitor<'de> for TopLevel<'_, R> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Err(de::Error::custom(NOT_OBJECT))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = Names::default();
        while let Some(key) = map.next_key_seed(Key)? {
            self.0.member(&key, &mut map)?;
            names.add(key)?;
        }
        Ok(())
    }
}

/// The member names of one object, to refuse a repeated one, kept borrowed from the input unless escaped:
/// compared one by one while there are few (objects in tokens are small), in an ordered set past
/// [`Names::FEW`], so a hostile object of thousands of members costs O(n log n), not O(n²).
#[derive(Default)]
pub(crate) struct Names<'de> {
    few: Vec<Cow<'de, str>>,
    many: BTreeSet<Cow<'de, str>>,
}

impl<'de> Names<'de> {
    const FEW: usize = 16;

    pub(crate) fn add<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        let repeated = if self.few.len() < Names::FEW {
            let seen = self.few.contains(&name);
            self.few.push(name);
            seen
        } else {
            if self.many.is_empty() {
                self.many.extend(self.few.iter().cloned());
            }
            !self.many.insert(name)
        };
        if repeated { Err(E::custom(DUPLICATE)) } else { Ok(()) }
    }
}

/// A member name, borrowed from the input when it has no escapes.
pub(crate) struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

/// Validate and discard a value (repeated member names refused at any depth).
pub struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = Names::default();
        while let Some(key) = map.next_key_seed(Key)? {
            map.next_value_seed(Skip)?;
            names.add(key)?;
        }
        Ok(())
    }
}

/// A member read as a scalar: its string or number, or `Other` for any other type (which is still validated).
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// A number (as `f64`).
    Num(f64),
    /// `true`, `false`, `null`, an array or an object.
    Other,
}

impl<'de> DeserializeSeed<'de> for Scalar {
    type Value = Scalar;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        Skip.visit_seq(seq).map(|()| Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        Skip.visit_map(map).map(|()| Scalar::Other)
    }
}

/// A member read as a string or a list of strings (`aud`, a groups claim).
#[derive(Clone, Debug, PartialEq)]
pub enum StringList {
    /// A string.
    One(String),
    /// An array: its string items, in order, and whether every item was a string.
    Many {
        /// The string items.
        strings: Vec<String>,
        /// Whether no item was of another type.
        only_strings: bool,
    },
    /// Any other type (still validated).
    Other,
}

impl StringList {
    /// The strings (string items only), `None` for [`StringList::Other`].
    pub fn into_strings(self) -> Option<Vec<String>> {
        match self {
            StringList::One(s) => Some(vec![s]),
            StringList::Many { strings, .. } => Some(strings),
            StringList::Other => None,
        }
    }
}

impl<'de> DeserializeSeed<'de> for StringList {
    type Value = StringList;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StringList, D::Error> {
        d.deserialize_any(ListVisitor)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = StringList;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array")
    }
    fn visit_bool<E>(self, _: bool) -> Result<StringList, E> {
        Ok(StringList::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<StringList, E> {
        Ok(StringList::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<StringList, E> {
        Ok(StringList::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<StringList, E> {
        Ok(StringList::Other)
    }
    fn visit_str<E>(self, v: &str) -> Result<StringList, E> {
        Ok(StringList::One(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<StringList, E> {
        Ok(StringList::One(v))
    }
    fn visit_unit<E>(self) -> Result<StringList, E> {
        Ok(StringList::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<StringList, A::Error> {
        StringList::Other.visit_list(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StringList, A::Error> {
        Skip.visit_map(map).map(|()| StringList::Other)
    }
}

impl StringList {
    /// An array's items: the strings, and whether every item was one (other items are still validated).
    pub(crate) fn visit_list<'de, A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
        let mut strings = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        let mut only_strings = true;
        while let Some(item) = seq.next_element_seed(Scalar::Other)? {
            match item {
                Scalar::Str(s) => strings.push(s),
                _ => only_strings = false,
            }
        }
        Ok(StringList::Many { strings, only_strings })
    }
}

/// A `DeserializeSeed` building a `serde_json::Value` that fails on duplicate keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(StrictValue)?;
            if out.insert(key, value).is_some() {
                return Err(de::Error::custom(DUPLICATE));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_objects() {
        let m = parse_object(br#"{"a":1,"b":{"c":[1,"x",null,true,1.5]}}"#, Part::Payload).unwrap();
        assert_eq!(m["a"], 1);
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        for doc in [&br#"{"a":1,"a":2}"#[..], br#"{"x":{"b":1,"b":1}}"#, br#"{"x":[{"k":1,"k":2}]}"#] {
            assert_eq!(parse_object(doc, Part::Header), Err(Error::DuplicateJsonKey { part: Part::Header }));
        }
    }

    /// Takes `a` as a scalar and `l` as a list, skips the rest.
    #[derive(Default)]
    struct Probe {
        a: Option<Scalar>,
        l: Option<StringList>,
    }

    impl<'de> ObjectReader<'de> for Probe {
        fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
            match key {
                "a" => self.a = Some(map.next_value_seed(Scalar::Other)?),
                "l" => self.l = Some(map.next_value_seed(StringList::Other)?),
                _ => map.next_value_seed(Skip)?,
            }
            Ok(())
        }
    }

    fn probe(doc: &[u8]) -> Result<Probe, Error> {
        let mut p = Probe::default();
        read_object(doc, Part::Payload, &mut p).map(|()| p)
    }

    #[test]
    fn read_object_takes_members_and_skips_the_rest() {
        let p = probe(br#"{"x":{"y":[1,{"z":null}]},"a":"s\u0041","l":["g1",2,"g2"],"n":1e3}"#).unwrap();
        assert_eq!(p.a, Some(Scalar::Str("sA".into())));
        assert_eq!(p.l, Some(StringList::Many { strings: vec!["g1".into(), "g2".into()], only_strings: false }));
        assert_eq!(probe(br#"{"a":12}"#).unwrap().a, Some(Scalar::Num(12.0)));
        assert_eq!(probe(br#"{"a":[1]}"#).unwrap().a, Some(Scalar::Other));
        assert_eq!(probe(br#"{"l":"one"}"#).unwrap().l.unwrap().into_strings(), Some(vec!["one".to_string()]));
        assert_eq!(probe(br#"{"l":{"k":1}}"#).unwrap().l, Some(StringList::Other));
    }

    /// The same strictness as `parse_object`, for members read and skipped alike, escaped names included.
    #[test]
    fn read_object_refuses_what_parse_object_refuses() {
        let docs: [&[u8]; 13] = [
            br#"{"a":1,"a":2}"#,
            br#"{"x":1,"\u0078":2}"#,
            br#"{"x":{"b":1,"b":1}}"#,
            br#"{"x":[{"k":1,"k":2}]}"#,
            br#"{"a":{"k":1,"k":2}}"#,
            br#"{"l":[{"k":1,"k":2}]}"#,
            b"[1]",
            b"\"s\"",
            b"1",
            b"",
            b"{",
            b"{} {}",
            b"{\"a\":1}x",
        ];
        for doc in docs {
            let want = parse_object(doc, Part::Payload).map(|_| ());
            assert!(want.is_err(), "{:?}", String::from_utf8_lossy(doc));
            assert_eq!(probe(doc).map(|_| ()), want, "{:?}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn repeated_names_are_found_in_large_objects_too() {
        let members: Vec<String> = (0..2000).map(|i| format!("\"m{i}\":{i}")).collect();
        let ok = format!("{{{}}}", members.join(","));
        assert!(probe(ok.as_bytes()).is_ok());
        for repeat in ["m0", "m15", "m16", "m1999"] {
            let doc = format!("{{{},\"{repeat}\":0}}", members.join(","));
            assert_eq!(
                probe(doc.as_bytes()).map(|_| ()),
                Err(Error::DuplicateJsonKey { part: Part::Payload }),
                "{repeat}"
            );
        }
    }

    #[test]
    fn rejects_non_objects_and_garbage() {
        for doc in [&b"[1]"[..], b"\"s\"", b"1", b"", b"{", b"{} {}", b"{\"a\":1}x"] {
            let e = parse_object(doc, Part::Payload).unwrap_err();
            assert_eq!(e.code(), "token_json", "{:?}", String::from_utf8_lossy(doc));
        }
    }
}
