//! RDB type bytes and opcodes, with their names (FORMATS.md §1.6, §1.9).
//!
//! Type numbers 22 and 23 mean different things in Redis (7.4+ hash field
//! expiration) and Valkey 9 (`VALKEY` magic): [`Format`] decides.

use crate::model::KeyType;

/// `STRING`
pub const STRING: u8 = 0;
/// `LIST` (linked list, RDB ≤ 3.0)
pub const LIST: u8 = 1;
/// `SET` (hashtable)
pub const SET: u8 = 2;
/// `ZSET` (text scores)
pub const ZSET: u8 = 3;
/// `HASH` (hashtable)
pub const HASH: u8 = 4;
/// `ZSET_2` (binary scores)
pub const ZSET_2: u8 = 5;
/// `MODULE_PRE_GA` (rejected)
pub const MODULE_PRE_GA: u8 = 6;
/// `MODULE_2`
pub const MODULE_2: u8 = 7;
/// `HASH_ZIPMAP`
pub const HASH_ZIPMAP: u8 = 9;
/// `LIST_ZIPLIST`
pub const LIST_ZIPLIST: u8 = 10;
/// `SET_INTSET`
pub const SET_INTSET: u8 = 11;
/// `ZSET_ZIPLIST`
pub const ZSET_ZIPLIST: u8 = 12;
/// `HASH_ZIPLIST`
pub const HASH_ZIPLIST: u8 = 13;
/// `LIST_QUICKLIST`
pub const LIST_QUICKLIST: u8 = 14;
/// `STREAM_LISTPACKS`
pub const STREAM_LISTPACKS: u8 = 15;
/// `HASH_LISTPACK`
pub const HASH_LISTPACK: u8 = 16;
/// `ZSET_LISTPACK`
pub const ZSET_LISTPACK: u8 = 17;
/// `LIST_QUICKLIST_2`
pub const LIST_QUICKLIST_2: u8 = 18;
/// `STREAM_LISTPACKS_2`
pub const STREAM_LISTPACKS_2: u8 = 19;
/// `SET_LISTPACK`
pub const SET_LISTPACK: u8 = 20;
/// `STREAM_LISTPACKS_3`
pub const STREAM_LISTPACKS_3: u8 = 21;
/// Redis `HASH_METADATA_PRE_GA` / Valkey 9 `HASH_2`
pub const HASH_METADATA_PRE_GA: u8 = 22;
/// Redis `HASH_LISTPACK_EX_PRE_GA` / Valkey 9.2 `PATH_HASH`
pub const HASH_LISTPACK_EX_PRE_GA: u8 = 23;
/// `HASH_METADATA`
pub const HASH_METADATA: u8 = 24;
/// `HASH_LISTPACK_EX`
pub const HASH_LISTPACK_EX: u8 = 25;
/// Redis 8.6 `STREAM_LISTPACKS_4` (a stream with its IDMP state)
pub const STREAM_LISTPACKS_4: u8 = 26;
/// Redis 8.8 `STREAM_LISTPACKS_5` (not supported)
pub const STREAM_LISTPACKS_5: u8 = 27;

/// Redis Enterprise `RAM_LRU` opcode (a length follows), skipped by
/// redis/librdb; refused by Redis' own loader.
pub const OP_ENT_RAM_LRU: u8 = 107;
/// Redis Enterprise `SLOT_NUM` opcode (a length follows), skipped by
/// redis/librdb; refused by Redis' own loader.
pub const OP_ENT_SLOT_NUM: u8 = 121;

/// Opcode `SLOT_IMPORT` (Valkey 9) / `KEY_META` (Redis 8.6).
pub const OP_F3: u8 = 0xf3;
/// Opcode `SLOT_INFO`.
pub const OP_SLOT_INFO: u8 = 0xf4;
/// Opcode `FUNCTION2`.
pub const OP_FUNCTION2: u8 = 0xf5;
/// Opcode `FUNCTION_PRE_GA` (Redis 7.0 release candidates).
pub const OP_FUNCTION_PRE_GA: u8 = 0xf6;
/// Opcode `MODULE_AUX`.
pub const OP_MODULE_AUX: u8 = 0xf7;
/// Opcode `IDLE`.
pub const OP_IDLE: u8 = 0xf8;
/// Opcode `FREQ`.
pub const OP_FREQ: u8 = 0xf9;
/// Opcode `AUX`.
pub const OP_AUX: u8 = 0xfa;
/// Opcode `RESIZEDB`.
pub const OP_RESIZEDB: u8 = 0xfb;
/// Opcode `EXPIRETIME_MS`.
pub const OP_EXPIRETIME_MS: u8 = 0xfc;
/// Opcode `EXPIRETIME` (seconds).
pub const OP_EXPIRETIME: u8 = 0xfd;
/// Opcode `SELECTDB`.
pub const OP_SELECTDB: u8 = 0xfe;
/// Opcode `EOF`.
pub const OP_EOF: u8 = 0xff;

/// Who wrote the file, as told by the magic: the type and opcode tables differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `REDIS` + 4 digits (Redis, and Valkey ≤ 8.x which writes version 11).
    Redis,
    /// `VALKEY` + 3 digits (Valkey 9+, versions ≥ 80).
    Valkey,
}

impl Format {
    /// The format of the magic RDB version `version` is written with
    /// (`VALKEY` from version 80).
    pub fn of_version(version: u32) -> Self {
        if version > 79 {
            Self::Valkey
        } else {
            Self::Redis
        }
    }

    /// The 9-byte magic of RDB version `version` in this format (the version
    /// taken modulo what its digits hold).
    pub fn magic(self, version: u32) -> String {
        match self {
            Self::Valkey => format!("VALKEY{:03}", version % 1000),
            Self::Redis => format!("REDIS{:04}", version % 10000),
        }
    }
}

/// Newest `REDIS`-magic version read (Redis 8.6, RDB 13).
pub const NEWEST_REDIS: u32 = 13;
/// Newest `VALKEY`-magic version read (81: Valkey 9.2 development, header
/// level; Valkey 9.0/9.1 write 80).
pub const NEWEST_VALKEY: u32 = 81;
/// The version Valkey 9.0/9.1 write (`VALKEY080`, and their DUMP payloads).
pub const VALKEY_9: u32 = 80;

/// The redis-check-rdb name of a type byte (`hash-listpack`, …), or `unknown`.
pub fn type_name(t: u8) -> &'static str {
    match t {
        STRING => "string",
        LIST => "list-linked",
        SET => "set-hashtable",
        ZSET => "zset-v1",
        HASH => "hash-hashtable",
        ZSET_2 => "zset-v2",
        MODULE_PRE_GA => "module-pre-release",
        MODULE_2 => "module-value",
        HASH_ZIPMAP => "hash-zipmap",
        LIST_ZIPLIST => "list-ziplist",
        SET_INTSET => "set-intset",
        ZSET_ZIPLIST => "zset-ziplist",
        HASH_ZIPLIST => "hash-ziplist",
        LIST_QUICKLIST => "quicklist",
        STREAM_LISTPACKS => "stream",
        HASH_LISTPACK => "hash-listpack",
        ZSET_LISTPACK => "zset-listpack",
        LIST_QUICKLIST_2 => "quicklist-v2",
        STREAM_LISTPACKS_2 => "stream-v2",
        SET_LISTPACK => "set-listpack",
        STREAM_LISTPACKS_3 => "stream-v3",
        HASH_METADATA_PRE_GA => "hash-hashtable-md-pre-release",
        HASH_LISTPACK_EX_PRE_GA => "hash-listpack-md-pre-release",
        HASH_METADATA => "hash-hashtable-md",
        HASH_LISTPACK_EX => "hash-listpack-md",
        STREAM_LISTPACKS_4 => "stream-v4",
        STREAM_LISTPACKS_5 => "stream-v5",
        _ => "unknown",
    }
}

/// The name of a type byte for a given format (Valkey 9 reuses 22 and 23).
pub fn type_name_in(format: Format, t: u8) -> &'static str {
    match (format, t) {
        (Format::Valkey, HASH_METADATA_PRE_GA) => "hash-2",
        (Format::Valkey, HASH_LISTPACK_EX_PRE_GA) => "path-hash",
        _ => type_name(t),
    }
}

/// The data type a type byte stores.
pub fn key_type(t: u8) -> Option<KeyType> {
    Some(match t {
        STRING => KeyType::String,
        LIST | LIST_ZIPLIST | LIST_QUICKLIST | LIST_QUICKLIST_2 => KeyType::List,
        SET | SET_INTSET | SET_LISTPACK => KeyType::Set,
        ZSET | ZSET_2 | ZSET_ZIPLIST | ZSET_LISTPACK => KeyType::Zset,
        HASH
        | HASH_ZIPMAP
        | HASH_ZIPLIST
        | HASH_LISTPACK
        | HASH_METADATA_PRE_GA
        | HASH_LISTPACK_EX_PRE_GA
        | HASH_METADATA
        | HASH_LISTPACK_EX => KeyType::Hash,
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 | STREAM_LISTPACKS_4
        | STREAM_LISTPACKS_5 => KeyType::Stream,
        MODULE_PRE_GA | MODULE_2 => KeyType::Module,
        _ => return None,
    })
}

/// The in-memory encoding name Redis would report (`OBJECT ENCODING`) right after
/// loading a value stored with type byte `t` (before any conversion caused by the
/// loading server's thresholds). Strings report `string` because the choice between
/// `int`, `embstr` and `raw` depends on the value.
pub fn encoding_name(t: u8) -> &'static str {
    match t {
        STRING => "string",
        LIST | LIST_QUICKLIST | LIST_QUICKLIST_2 => "quicklist",
        LIST_ZIPLIST => "ziplist",
        SET | HASH | HASH_METADATA_PRE_GA | HASH_METADATA => "hashtable",
        SET_INTSET => "intset",
        SET_LISTPACK | HASH_LISTPACK | ZSET_LISTPACK => "listpack",
        ZSET | ZSET_2 => "skiplist",
        HASH_ZIPMAP => "zipmap",
        ZSET_ZIPLIST | HASH_ZIPLIST => "ziplist",
        HASH_LISTPACK_EX_PRE_GA | HASH_LISTPACK_EX => "listpackex",
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 | STREAM_LISTPACKS_3 | STREAM_LISTPACKS_4 => "stream",
        MODULE_2 | MODULE_PRE_GA => "module",
        _ => "unknown",
    }
}

/// The name of an opcode byte, or `None`.
pub fn opcode_name(op: u8) -> Option<&'static str> {
    Some(match op {
        OP_F3 => "SLOT_IMPORT/KEY_META",
        OP_SLOT_INFO => "SLOT_INFO",
        OP_FUNCTION2 => "FUNCTION2",
        OP_FUNCTION_PRE_GA => "FUNCTION_PRE_GA",
        OP_MODULE_AUX => "MODULE_AUX",
        OP_IDLE => "IDLE",
        OP_FREQ => "FREQ",
        OP_AUX => "AUX",
        OP_RESIZEDB => "RESIZEDB",
        OP_EXPIRETIME_MS => "EXPIRETIME_MS",
        OP_EXPIRETIME => "EXPIRETIME",
        OP_SELECTDB => "SELECTDB",
        OP_EOF => "EOF",
        _ => return None,
    })
}

/// Decodes a 64-bit module id into its 9-character type name and encoding version.
pub fn module_name(id: u64) -> (String, u16) {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut name = String::with_capacity(9);
    for i in 0..9 {
        let shift = 58 - 6 * i;
        name.push(CHARSET[((id >> shift) & 63) as usize] as char);
    }
    (name, (id & 1023) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_ids() {
        // "ReJSON-RL" version 3, as encoded by the RedisJSON module.
        let name = b"ReJSON-RL";
        const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut id = 0u64;
        for &c in name {
            id = (id << 6) | CHARSET.iter().position(|&x| x == c).unwrap() as u64;
        }
        id = (id << 10) | 3;
        assert_eq!(module_name(id), ("ReJSON-RL".to_string(), 3));
    }
}
