//! The servers an RDB can be written for: one table ([`TARGETS`]) of each
//! Redis and Valkey line, with the RDB version and magic it writes, the
//! release named in its version aux field, and what its loader can hold
//! (FORMATS.md §1.2, §8). The writer takes its default version aux field from
//! here, and `rewrite` its rules for what a target refuses.
//!
//! | target | RDB version | magic | version aux | functions | field TTLs | vector sets | stream IDMP |
//! |---|---|---|---|---|---|---|---|
//! | `redis-6.0` | 9 | `REDIS0009` | `redis-ver` | no | no | no | no |
//! | `redis-6.2` | 9 | `REDIS0009` | `redis-ver` | no | no | no | no |
//! | `redis-7.0` | 10 | `REDIS0010` | `redis-ver` | yes | no | no | no |
//! | `redis-7.2` | 11 | `REDIS0011` | `redis-ver` | yes | no | no | no |
//! | `redis-7.4` | 12 | `REDIS0012` | `redis-ver` | yes | yes (24/25) | no | no |
//! | `redis-8.0`, `8.2`, `8.4` | 12 | `REDIS0012` | `redis-ver` | yes | yes (24/25) | yes | no |
//! | `redis-8.6` | 13 | `REDIS0013` | `redis-ver` | yes | yes (24/25) | yes | yes |
//! | `valkey-7.2`, `8.0`, `8.1` | 11 | `REDIS0011` | `valkey-ver` | yes | no | no | no |
//! | `valkey-9.0`, `9.1` | 80 | `VALKEY080` | `valkey-ver` | yes | yes (22 `HASH_2`) | no | no |

use super::types::VALKEY_9;

/// Which server family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// Redis.
    Redis,
    /// Valkey.
    Valkey,
}

/// One server line an RDB can be written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its name on the command line (`redis-7.0`, `valkey-9.0`).
    pub name: &'static str,
    /// The family.
    pub server: Server,
    /// The RDB version it writes (80 = `VALKEY080`).
    pub rdb_version: u32,
    /// The release written in its version aux field.
    pub release: &'static str,
    /// It loads hash field TTLs (Redis 7.4+ types 24/25, Valkey 9 type 22).
    pub field_ttls: bool,
    /// It has Redis' built-in `vectorset` module (Redis 8.0+).
    pub vector_sets: bool,
}

const fn redis(name: &'static str, v: u32, release: &'static str, vset: bool) -> Target {
    Target {
        name,
        server: Server::Redis,
        rdb_version: v,
        release,
        field_ttls: v >= 12,
        vector_sets: vset,
    }
}

const fn valkey(name: &'static str, v: u32, release: &'static str) -> Target {
    Target {
        name,
        server: Server::Valkey,
        rdb_version: v,
        release,
        field_ttls: v >= VALKEY_9,
        vector_sets: false,
    }
}

/// Every target, oldest first per family.
pub const TARGETS: [Target; 14] = [
    redis("redis-6.0", 9, "6.0.20", false),
    redis("redis-6.2", 9, "6.2.14", false),
    redis("redis-7.0", 10, "7.0.15", false),
    redis("redis-7.2", 11, "7.2.6", false),
    redis("redis-7.4", 12, "7.4.1", false),
    redis("redis-8.0", 12, "8.0.6", true),
    redis("redis-8.2", 12, "8.2.0", true),
    redis("redis-8.4", 12, "8.4.0", true),
    redis("redis-8.6", 13, "8.6.3", true),
    valkey("valkey-7.2", 11, "7.2.4"),
    valkey("valkey-8.0", 11, "8.0.1"),
    valkey("valkey-8.1", 11, "8.1.1"),
    valkey("valkey-9.0", VALKEY_9, "9.0.0"),
    valkey("valkey-9.1", VALKEY_9, "9.1.2"),
];

/// The target names, as the command line takes them.
pub fn names() -> impl Iterator<Item = &'static str> {
    TARGETS.iter().map(|t| t.name)
}

/// The target called `name` (`redis-7.0`; `7.0` alone means Redis).
pub fn by_name(name: &str) -> Option<Target> {
    let full = if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("redis-{name}")
    } else {
        name.to_ascii_lowercase()
    };
    TARGETS.iter().find(|t| t.name == full).copied()
}

/// The target a bare RDB version stands for: the first server line that
/// writes it (9: Redis 6.2, 10: 7.0, 11: 7.2, 12: 7.4, 13: 8.6, 80: Valkey
/// 9.1). `None` for a version no target writes.
pub fn for_rdb_version(version: u32) -> Option<Target> {
    let name = match version {
        9 => "redis-6.2",
        10 => "redis-7.0",
        11 => "redis-7.2",
        12 => "redis-7.4",
        13 => "redis-8.6",
        VALKEY_9 => "valkey-9.1",
        _ => return None,
    };
    by_name(name)
}

/// The RDB versions the targets write, ascending, each with the lines that
/// write it: `9 (redis-6.0, redis-6.2), 10 (redis-7.0), …` (for messages).
pub fn versions_text() -> String {
    let mut versions: Vec<u32> = TARGETS.iter().map(|t| t.rdb_version).collect();
    versions.sort_unstable();
    versions.dedup();
    versions
        .iter()
        .map(|v| {
            let lines: Vec<&str> = TARGETS
                .iter()
                .filter(|t| t.rdb_version == *v)
                .map(|t| t.name)
                .collect();
            format!("{v} ({})", lines.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The oldest and the newest Redis RDB version a target writes (9 and 13).
pub fn redis_version_range() -> (u32, u32) {
    let redis = TARGETS.iter().filter(|t| t.server == Server::Redis);
    let min = redis.clone().map(|t| t.rdb_version).min().unwrap_or(9);
    let max = redis.map(|t| t.rdb_version).max().unwrap_or(min);
    (min, max)
}

impl Target {
    /// The 9-byte magic it writes.
    pub fn magic(&self) -> String {
        let v = self.rdb_version;
        super::types::Format::of_version(v).magic(v)
    }

    /// It writes `valkey-ver` rather than `redis-ver`.
    pub fn valkey_ver(&self) -> bool {
        self.server == Server::Valkey
    }

    /// It loads function libraries (`FUNCTION2`, Redis 7.0+, Valkey).
    pub fn functions(&self) -> bool {
        self.rdb_version >= 10
    }

    /// It keeps a stream's IDMP state (Redis 8.6, type 26).
    pub fn stream_idmp(&self) -> bool {
        (13..=79).contains(&self.rdb_version)
    }

    /// It keeps a stream's first id, max deleted id, entries added and the
    /// groups' entries read (RDB 10+); an older file makes the loader derive
    /// them.
    pub fn stream_counters(&self) -> bool {
        self.rdb_version >= 10
    }

    /// It keeps a consumer's active time (RDB 11+); an older file makes the
    /// loader take the seen time.
    pub fn consumer_active_time(&self) -> bool {
        self.rdb_version >= 11
    }

    /// Writer settings for this target (its version and version aux field).
    pub fn writer_options(&self) -> super::writer::WriterOptions {
        super::writer::WriterOptions {
            redis_ver: Some(self.release.to_owned()),
            valkey_ver: self.valkey_ver(),
            ..super::writer::WriterOptions::for_version(self.rdb_version)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(by_name("7.0").unwrap().rdb_version, 10);
        assert_eq!(by_name("redis-6.0").unwrap().magic(), "REDIS0009");
        assert_eq!(by_name("valkey-8.1").unwrap().magic(), "REDIS0011");
        assert_eq!(by_name("valkey-9.0").unwrap().magic(), "VALKEY080");
        assert!(by_name("Valkey-9.0").unwrap().field_ttls);
        assert!(!by_name("valkey-8.0").unwrap().field_ttls);
        assert!(by_name("redis-8.0").unwrap().vector_sets);
        assert!(!by_name("redis-7.4").unwrap().vector_sets);
        assert!(by_name("redis-8.6").unwrap().stream_idmp());
        assert!(by_name("redis-8.8").is_none());
        assert!(by_name("redis-5.0").is_none());
        for v in [9, 10, 11, 12, 13, 80] {
            let t = for_rdb_version(v).unwrap();
            assert_eq!(t.rdb_version, v);
            assert!(super::super::writer::version_supported(v));
        }
        assert!(for_rdb_version(8).is_none());
        assert_eq!(redis_version_range(), (9, 13));
        let text = versions_text();
        assert!(text.starts_with("9 (redis-6.0, redis-6.2), 10 (redis-7.0), "));
        assert!(text.ends_with(", 13 (redis-8.6), 80 (valkey-9.0, valkey-9.1)"));
    }
}
