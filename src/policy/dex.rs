//! Recognising the embedded IdP's local users by their `sub`.
//!
//! QuFabric's embedded IdP is Dex. Dex writes `sub` as base64 of a small protobuf message: field 1 the user id,
//! field 2 the connector id. Users of the `local` connector (the owner created at setup, and users added in the
//! dashboard) sign in with a password and carry no groups; QuFabric skips its JWT allow-group check for them
//! (NetBird `management/server/auth/manager.go`, `EnsureUserAccessByJWTGroups`, with `dex.IsLocalUserID` from
//! `idp/dex/provider.go`). Written here because no maintained crate decodes Dex's subject; it follows NetBird's
//! decoder (`DecodeDexUserID`) so that the gate and QuFabric agree on who is local.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Dex's connector id for the built-in password database (NetBird `idp/dex/provider.go`: `LocalConnectorID`).
pub const LOCAL_CONNECTOR: &str = "local";

/// Standard base64, padded or not, trailing bits ignored: what Go's `RawStdEncoding` then `StdEncoding` accept.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The user id and connector id in a Dex `sub`, or `None` when `sub` is not one (not base64, a field that is
/// not length-delimited, a truncated field). Like NetBird's decoder, each tag and length is one byte, unknown
/// fields are skipped and a later field 1 or 2 replaces an earlier one.
pub fn decode_subject(sub: &str) -> Option<(String, String)> {
    let buf = LENIENT.decode(sub).ok()?;
    let (mut user, mut connector) = (String::new(), String::new());
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
        // Go's `string(bytes)` keeps invalid UTF-8 as is; a lossy copy compares the same for ASCII ids.
        let value = String::from_utf8_lossy(value).into_owned();
        match tag >> 3 {
            1 => user = value,
            2 => connector = value,
            _ => {}
        }
    }
    Some((user, connector))
}

/// Whether `sub` names a user of the embedded IdP's `local` connector (NetBird's `dex.IsLocalUserID`).
pub fn is_local_user(sub: &str) -> bool {
    decode_subject(sub).is_some_and(|(_, connector)| connector == LOCAL_CONNECTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dex's encoding, written independently of the decoder: tag, one-byte length, bytes, for fields 1 and 2.
    fn encode(user: &str, connector: &str) -> String {
        let mut buf = vec![0x0a, user.len() as u8];
        buf.extend_from_slice(user.as_bytes());
        buf.extend_from_slice(&[0x12, connector.len() as u8]);
        buf.extend_from_slice(connector.as_bytes());
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(buf)
    }

    #[test]
    fn netbird_test_vector_decodes() {
        // NetBird `idp/dex/provider_test.go`, TestDecodeDexUserID "valid encoded ID".
        let sub = "CiQ3YWFkOGMwNS0zMjg3LTQ3M2YtYjQyYS0zNjU1MDRiZjI1ZTcSBWxvY2Fs";
        assert_eq!(decode_subject(sub), Some(("7aad8c05-3287-473f-b42a-365504bf25e7".into(), "local".into())));
        assert!(is_local_user(sub));
    }

    #[test]
    fn local_and_federated_connectors() {
        assert!(is_local_user(&encode("7aad8c05-3287-473f-b42a-365504bf25e7", "local")));
        assert!(!is_local_user(&encode("entra-user", "entra")));
        assert!(!is_local_user(&encode("pocket-user", "pocketid")));
        // Padded standard base64 is accepted too (Go falls back to StdEncoding).
        let padded = base64::engine::general_purpose::STANDARD.encode([0x12, 5, b'l', b'o', b'c', b'a', b'l']);
        assert!(padded.ends_with('='), "{padded}");
        assert!(is_local_user(&padded));
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
}
