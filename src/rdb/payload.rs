//! DUMP / RESTORE payloads (FORMATS.md §4): `type value rdb_version:u16le
//! crc64:u64le`, the CRC covering everything before it.

use super::entries::{Entries, Item};
use super::reader::Reader;
use super::{Error, ErrorKind};
use crate::io::{Source, crc64};
use crate::model::Value;

/// Newest RDB version whose payloads are accepted (and Valkey 9's 80,
/// [`super::types::VALKEY_9`], read with Valkey's type table).
pub const NEWEST_VERSION: u16 = super::types::NEWEST_REDIS as u16;

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// The RDB type byte.
    pub rdb_type: u8,
    /// The value.
    pub value: Value,
    /// The RDB version in the footer.
    pub version: u16,
    /// Whether the CRC matched (always true unless `verify_crc` was false).
    pub crc_ok: bool,
}

/// Decodes and deeply validates a DUMP payload. With `verify_crc`, a wrong CRC is
/// an error (as RESTORE does by default). Empty aggregates are errors (RESTORE
/// replies "Bad data format").
pub fn decode(payload: &[u8], verify_crc: bool) -> Result<Payload, Error> {
    if payload.len() < 10 {
        return Err(Error::corrupt(
            0,
            format!(
                "DUMP payload of {} bytes is shorter than its 10-byte footer",
                payload.len()
            ),
        ));
    }
    let body_len = payload.len() - 10;
    let version = u16::from_le_bytes([payload[body_len], payload[body_len + 1]]);
    let stored = u64::from_le_bytes(payload[body_len + 2..].try_into().unwrap_or([0; 8]));
    let computed = crc64(&payload[..body_len + 2]);
    let crc_ok = stored == computed;
    if version > NEWEST_VERSION && u32::from(version) != super::types::VALKEY_9 {
        return Err(Error::new(
            body_len as u64,
            ErrorKind::UnsupportedVersion {
                version: u32::from(version),
                newest: u32::from(NEWEST_VERSION),
            },
        ));
    }
    if verify_crc && !crc_ok {
        return Err(Error::new(
            body_len as u64 + 2,
            ErrorKind::ChecksumMismatch { stored, computed },
        ));
    }
    // The value is read from the whole payload, footer included, as RESTORE
    // reads it: Redis does not check that the value ends where the footer
    // starts, so a value whose last bytes are the footer's loads there (and
    // bytes left between the value and the footer are ignored, here too).
    let src = Source::new(crate::io::Memory(payload)).with_size(payload.len() as u64);
    let mut entries = Entries::new(Reader::for_payload(src, u32::from(version)));
    match entries.next_item()? {
        Some(Item::Entry(e)) => {
            let rdb_type = payload[0];
            Ok(Payload {
                rdb_type,
                value: e.value,
                version,
                crc_ok,
            })
        }
        Some(Item::EmptyKey { .. }) => Err(Error::corrupt(0, "empty aggregate value")),
        _ => Err(Error::corrupt(0, "no value in the payload")),
    }
}

/// Builds a DUMP payload from a type byte and its serialized value.
pub fn encode(rdb_type: u8, value: &[u8], version: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(value.len() + 11);
    p.push(rdb_type);
    p.extend_from_slice(value);
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn golden_vectors() {
        let p = decode(
            &hex("00 05 68 65 6c 6c 6f 0c 00 a8 04 eb b6 9f 1e be 43"),
            true,
        )
        .unwrap();
        assert_eq!(p.value, Value::String(b"hello".to_vec()));
        let p = decode(&hex("00 c0 01 0c 00 ed 0e d3 76 2b 2b 8f b5"), true).unwrap();
        assert_eq!(p.value, Value::String(b"1".to_vec()));
        let p = decode(
            &hex(
                "12 01 02 0d 0d 00 00 00 02 00 81 61 02 81 62 02 ff 0c 00 a3 9d 3e 49 e9 6b 25 f8",
            ),
            true,
        )
        .unwrap();
        assert_eq!(p.value, Value::List(vec![b"a".to_vec(), b"b".to_vec()]));
        let p = decode(
            &hex("00 c3 09 28 01 78 78 e0 1b 00 01 78 78 0c 00 b1 6b 58 0e 5f 6a 8d 7a"),
            true,
        )
        .unwrap();
        assert_eq!(p.value, Value::String(vec![b'x'; 40]));
        let mut bad = hex("00 05 68 65 6c 6c 6f 0c 00 a8 04 eb b6 9f 1e be 43");
        bad[3] = b'L';
        assert!(decode(&bad, true).is_err());
        assert!(decode(&bad, false).is_ok());
        // A string of 5 bytes of which 2 are in the body: RESTORE reads the
        // other 3 from the footer (its version and the CRC's first byte).
        let p = decode(&encode(0, &hex("05 67 65"), 10), true).unwrap();
        let Value::String(v) = p.value else { panic!() };
        assert_eq!(&v[..4], &[0x67, 0x65, 0x0a, 0x00]);
        assert_eq!(
            encode(0, &hex("05 68 65 6c 6c 6f"), 12),
            hex("00 05 68 65 6c 6c 6f 0c 00 a8 04 eb b6 9f 1e be 43")
        );
    }
}
