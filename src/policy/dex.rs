//! Recognising the embedded IdP's local users by their `sub`.
//!
//! QuFabric's embedded IdP is Dex. Dex writes `sub` as the protobuf message `IDTokenSubject { string user_id = 1;
//! string conn_id = 2; }` (dexidp/dex `server/internal/types.proto`), serialised by Go's `proto.Marshal` and
//! encoded with `base64.RawURLEncoding` (`server/internal/codec.go`, `Marshal`). Users of the `local` connector
//! (the owner created at setup, users added in the dashboard) sign in with a password and carry no groups;
//! QuFabric skips its JWT allow-group check for them (NetBird `management/server/auth/manager.go`,
//! `EnsureUserAccessByJWTGroups`, with `dex.IsLocalUserID` from `idp/dex/provider.go:667`).
//!
//! NetBird's decoder (`DecodeDexUserID`, `idp/dex/provider.go:616-663`) reads each tag and length as one byte and
//! skips unknown fields, so a federated subject whose user id is 128 bytes or longer (a two-byte varint length) and
//! embeds the bytes `12 05 local` decodes as connector `local`. The gate must not be laxer than a correct decode:
//! a subject is local only when **both** [`decode_subject`] (the encoding Dex writes, read strictly) and NetBird's
//! reading name connector `local`. Written here because no maintained crate decodes Dex's subject (two fields do
//! not justify a protobuf runtime in the Worker).

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Dex's connector id for the built-in password database (NetBird `idp/dex/provider.go`: `LocalConnectorID`).
pub const LOCAL_CONNECTOR: &str = "local";

/// Protobuf wire type 2 (length-delimited): the only one `IDTokenSubject`'s two strings are written with.
const LEN: u64 = 2;

/// The user id and connector id of a Dex `sub`, read as Dex writes it, or `None` when `sub` is anything else:
/// - base64url without padding, with zero trailing bits (`RawURLEncoding` output; no `+`, `/`, `=` or newline);
/// - then field 1 (`user_id`) and field 2 (`conn_id`), each at most once and in that order (Go's `proto.Marshal`
///   writes fields by number and omits empty strings), each tag a varint of wire type 2, each length a varint,
///   both in their shortest form; the bytes valid UTF-8 (proto3 `string`), not empty;
/// - no other field (unknown fields are refused), nothing truncated, no byte left over.
pub fn decode_subject(sub: &str) -> Option<(String, String)> {
    let buf = URL_SAFE_NO_PAD.decode(sub).ok()?;
    let mut rest = buf.as_slice();
    let (mut user, mut connector) = (None, None);
    let mut last_field = 0;
    while !rest.is_empty() {
        let tag = varint(&mut rest)?;
        let (field, wire_type) = (tag >> 3, tag & 0x07);
        if wire_type != LEN || field <= last_field || field > 2 {
            return None;
        }
        last_field = field;
        let len = usize::try_from(varint(&mut rest)?).ok()?;
        if len == 0 || len > rest.len() {
            return None;
        }
        let (value, after) = rest.split_at(len);
        rest = after;
        let value = std::str::from_utf8(value).ok()?.to_owned();
        if field == 1 { user = Some(value) } else { connector = Some(value) }
    }
    Some((user.unwrap_or_default(), connector.unwrap_or_default()))
}

/// A protobuf varint in its shortest form (at most 10 bytes, fitting 64 bits), taken from the front of `buf`.
fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && byte > 1 {
            return None; // more than 64 bits
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            if i > 0 && byte == 0 {
                return None; // a trailing zero group: not the shortest form
            }
            *buf = &buf[i + 1..];
            return Some(value);
        }
    }
    None
}

/// Standard base64, padded or not, trailing bits ignored: what Go's `RawStdEncoding` then `StdEncoding` accept
/// (Go also skips `\r` and `\n`, which [`decode_subject`] refuses first, so the two readings agree wherever it
/// matters: on the subjects `decode_subject` accepts).
const NETBIRD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The connector id as NetBird's `DecodeDexUserID` reads it (`idp/dex/provider.go:616-663`): each tag and length one
/// byte, every field of wire type 2, unknown fields skipped, a later field 2 replacing an earlier one; `None` where
/// it returns an error.
fn netbird_connector(sub: &str) -> Option<Vec<u8>> {
    let buf = NETBIRD_BASE64.decode(sub).ok()?;
    let mut connector = Vec::new();
    let mut i = 0;
    while i < buf.len() {
        let tag = buf[i];
        i += 1;
        if tag & 0x07 != 2 {
            return None;
        }
        let len = usize::from(*buf.get(i)?);
        i += 1;
        let value = buf.get(i..i + len)?;
        i += len;
        if tag >> 3 == 2 {
            connector = value.to_vec();
        }
    }
    Some(connector)
}

/// Whether `sub` names a user of the embedded IdP's `local` connector: [`decode_subject`] and NetBird's own reading
/// (`dex.IsLocalUserID`) must both say connector `local`. A subject only NetBird reads as local (a long federated
/// user id hiding `12 05 local`, an unknown or repeated field) is not; nor is one only the strict decode reads as
/// local (a user id of 128 bytes or more, whose two-byte length NetBird misreads: QuFabric would not skip its group
/// check for it either).
pub fn is_local_user(sub: &str) -> bool {
    decode_subject(sub).is_some_and(|(_, connector)| connector == LOCAL_CONNECTOR)
        && netbird_connector(sub).is_some_and(|connector| connector == LOCAL_CONNECTOR.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field as Go's `proto.Marshal` writes a non-empty proto3 string: the tag, the length as a varint, the bytes.
    fn field(number: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2];
        let mut len = value.len();
        while len >= 0x80 {
            out.push((len as u8 & 0x7f) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(value);
        out
    }

    /// `sub` as Dex writes it (`codec.go`: `base64.RawURLEncoding`), from raw message bytes.
    fn sub(message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(message)
    }

    fn dex(user: &str, connector: &str) -> String {
        sub(&[field(1, user.as_bytes()), field(2, connector.as_bytes())].concat())
    }

    #[test]
    fn netbird_test_vector_decodes() {
        // NetBird `idp/dex/provider_test.go:125`, TestDecodeDexUserID "valid encoded ID".
        let sub = "CiQ3YWFkOGMwNS0zMjg3LTQ3M2YtYjQyYS0zNjU1MDRiZjI1ZTcSBWxvY2Fs";
        assert_eq!(decode_subject(sub), Some(("7aad8c05-3287-473f-b42a-365504bf25e7".into(), "local".into())));
        assert_eq!(netbird_connector(sub), Some(b"local".to_vec()));
        assert!(is_local_user(sub));
    }

    #[test]
    fn local_and_federated_connectors() {
        assert!(is_local_user(&dex("7aad8c05-3287-473f-b42a-365504bf25e7", "local")));
        assert!(!is_local_user(&dex("entra-user", "entra")));
        assert!(!is_local_user(&dex("pocket-user", "pocketid")));
        assert!(!is_local_user(&dex("owner", "Local")));
        // Dex omits an empty user id; both readings still name the connector.
        assert!(is_local_user(&sub(&field(2, b"local"))));
    }

    /// Issue 22, finding 5: a federated subject whose user id is 128 bytes or more (a two-byte varint length)
    /// and embeds `12 05 local`. NetBird's one-byte reading takes the length's first byte (0x80 | len % 128) as the
    /// length and lands on the embedded field; skipped fields inside the id then swallow the real connector field
    /// (`pocketid`), so NetBird says `local`. Every byte of the id is ASCII, as Dex requires of a proto3 string.
    fn long_id_hiding_local() -> String {
        let len = 300;
        let landing = (0x80 | (len % 128)) - 1; // NetBird's next tag, as an offset into the user id
        let mut user = vec![b'a'; landing];
        user.extend_from_slice(b"\x12\x05local");
        let rest = len - user.len() - 12; // skipped field 3s: the rest of the id, then the real connector field
        user.extend_from_slice(&[0x1a, rest as u8]);
        user.resize(user.len() + rest, b'a');
        user.extend_from_slice(&[0x1a, 8 + 10]);
        user.resize(len, b'a');
        dex(std::str::from_utf8(&user).unwrap(), "pocketid")
    }

    #[test]
    fn a_long_federated_id_hiding_local_is_not_local() {
        let attack = long_id_hiding_local();
        let (user, connector) = decode_subject(&attack).unwrap();
        assert_eq!((user.len(), connector.as_str()), (300, "pocketid"));
        assert_eq!(netbird_connector(&attack), Some(b"local".to_vec()), "NetBird's reading is fooled");
        assert!(!is_local_user(&attack));
    }

    /// A local user id of 128 bytes or more has a two-byte length: the strict decode reads it, NetBird's does not
    /// (so QuFabric would not skip its group check either): not local.
    #[test]
    fn long_local_ids_that_netbird_misreads_are_not_local() {
        for len in [127, 128, 129, 200, 300, 16_384] {
            let user = "u".repeat(len);
            let s = dex(&user, "local");
            assert_eq!(decode_subject(&s), Some((user.clone(), "local".into())), "{len}");
            assert_eq!(is_local_user(&s), len < 128, "{len}");
        }
    }

    /// What Dex never writes is refused by the strict decode (and so never local), even where NetBird's reading
    /// says `local`.
    #[test]
    fn the_strict_decode_refuses_what_dex_never_writes() {
        let local = field(2, b"local");
        let user = field(1, b"owner");
        let refused: Vec<(&str, String)> = vec![
            ("an unknown field", sub(&[user.clone(), local.clone(), field(3, b"x")].concat())),
            ("field 2 twice", sub(&[user.clone(), field(2, b"pocketid"), local.clone()].concat())),
            ("field 1 twice", sub(&[user.clone(), user.clone(), local.clone()].concat())),
            ("fields out of order", sub(&[local.clone(), user.clone()].concat())),
            ("an empty field", sub(&[field(1, b""), local.clone()].concat())),
            ("a trailing byte", sub(&[user.clone(), local.clone(), vec![0]].concat())),
            ("a truncated field", sub(&[user.clone(), local[..5].to_vec()].concat())),
            ("a varint wire type", sub(&[vec![0x08, 0x01], local.clone()].concat())),
            ("a long length", sub(&[user.clone(), vec![0x12, 0x85, 0x00], b"local".to_vec()].concat())),
            ("a long tag", sub(&[user.clone(), vec![0x92, 0x00, 0x05], b"local".to_vec()].concat())),
            ("invalid UTF-8", sub(&[field(1, b"\xff\xfe"), local.clone()].concat())),
            ("padding", format!("{}==", sub(&[user.clone(), local.clone()].concat()))),
            ("standard base64", base64::engine::general_purpose::STANDARD_NO_PAD.encode([0xfb, 0xff])),
            ("a newline", {
                let mut s = sub(&[user.clone(), local.clone()].concat());
                s.insert(4, '\n');
                s
            }),
        ];
        for (what, s) in refused {
            assert_eq!(decode_subject(&s), None, "{what}: {s}");
            assert!(!is_local_user(&s), "{what}: {s}");
        }
        // NetBird's reading admits the unknown field, the repeat and the trailing junk of these as local.
        let skip = sub(&[user.clone(), local.clone(), field(3, b"x")].concat());
        assert_eq!(netbird_connector(&skip), Some(b"local".to_vec()));
    }

    #[test]
    fn other_subjects_are_not_local() {
        for sub in [
            "google-oauth2|1234567890",
            "not-valid-base64!!!",
            "",
            "8a2c3f0e-7b1d-4c59-9e3a-2f6d1b0c4e77", // a PocketID user id
            "CAE",                                  // field 1 as a varint: wire type 0
            "CgVsb2Nh",                             // truncated string field
        ] {
            assert!(!is_local_user(sub), "{sub:?}");
        }
    }

    #[test]
    fn varints_are_read_in_their_shortest_form_only() {
        let read = |bytes: &[u8]| {
            let mut b = bytes;
            varint(&mut b).map(|v| (v, b.len()))
        };
        assert_eq!(read(&[0x05, 9]), Some((5, 1)));
        assert_eq!(read(&[0xac, 0x02]), Some((300, 0)));
        assert_eq!(read(&[0x80, 0x80, 0x01]), Some((16_384, 0)));
        assert_eq!(read(&[0xff; 9].iter().copied().chain([0x01]).collect::<Vec<_>>()), Some((u64::MAX, 0)));
        assert_eq!(read(&[0x80]), None, "truncated");
        assert_eq!(read(&[0x85, 0x00]), None, "not the shortest form");
        assert_eq!(read(&[0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>()), None, "past 64 bits");
        assert_eq!(read(&[0xff; 11]), None);
    }
}
