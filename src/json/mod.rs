//! Strict JSON for token segments: an object at the top, and no member name repeated at any depth.
//!
//! `serde_json` keeps the last of duplicate members silently; two parsers disagreeing on which `alg` or `iss`
//! counts is a classic confusion, so PocketGate refuses such tokens outright.
//!
//! Two readers with the same strictness: [`scan`] (the gate's: one pass, no map, the members it names located)
//! and [`parse_object`] (a whole `serde_json` map, for key sets and the setup page's display).

pub mod scan;

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Part};

/// Parse `bytes` as a JSON object with no duplicate member names at any depth.
pub fn parse_object(bytes: &[u8], part: Part) -> Result<Map<String, Value>, Error> {
    match parse_value(bytes, part)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::Json { part, reason: "not an object" }),
    }
}

/// Parse `bytes` as one JSON value with no duplicate member names at any depth.
pub(crate) fn parse_value(bytes: &[u8], part: Part) -> Result<Value, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // The visitor marks a repeat here: the parser's error message is never formatted (that pulls float
    // printing into the Worker).
    let repeated = Cell::new(false);
    let value = match StrictValue(&repeated).deserialize(&mut de) {
        Ok(v) => v,
        Err(_) if repeated.get() => return Err(Error::DuplicateJsonKey { part }),
        Err(_) => return Err(Error::Json { part, reason: "invalid JSON" }),
    };
    if de.end().is_err() {
        return Err(Error::Json { part, reason: "trailing data after the object" });
    }
    Ok(value)
}

/// A `DeserializeSeed` building a `serde_json::Value` that fails on duplicate keys, and says so in its cell.
#[derive(Clone, Copy)]
struct StrictValue<'c>(&'c Cell<bool>);

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
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
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            if out.insert(key, value).is_some() {
                self.0.set(true);
                return Err(de::Error::custom("duplicate member"));
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

    #[test]
    fn rejects_non_objects_and_garbage() {
        for doc in [&b"[1]"[..], b"\"s\"", b"1", b"", b"{", b"{} {}", b"{\"a\":1}x"] {
            let e = parse_object(doc, Part::Payload).unwrap_err();
            assert_eq!(e.code(), "token_json", "{:?}", String::from_utf8_lossy(doc));
        }
    }
}
