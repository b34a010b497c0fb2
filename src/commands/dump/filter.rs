//! Key filters of `dump`, decided at the start of each key (before its value is
//! decoded, so a filtered-out key costs only a validating skip): databases, data
//! types, key name patterns (Redis glob syntax and regular expressions), expiry.

use std::ffi::OsString;

use anyhow::Context as _;
use redis_persist::model::KeyType;

/// The key-selecting options `dump` and `rewrite` share: databases, key name
/// patterns and types (expiry options differ per command).
#[derive(Debug, Default, clap::Args)]
pub struct KeyArgs {
    /// Only keys of database N (repeatable).
    #[arg(long = "db", value_name = "N")]
    pub dbs: Vec<u64>,
    /// Only keys matching this Redis glob pattern (`KEYS` syntax: `*`, `?`,
    /// `[a-z]`, `[^x]`, `\`; repeatable; a key matching any `--key` or
    /// `--key-regex` is kept).
    #[arg(long = "key", value_name = "GLOB")]
    pub keys: Vec<OsString>,
    /// Only keys matching this regular expression (Rust `regex` syntax, searched
    /// anywhere in the key bytes; anchor with `^…$`; `(?-u)` to match arbitrary
    /// bytes; repeatable).
    #[arg(long = "key-regex", value_name = "RE")]
    pub key_regexes: Vec<String>,
    /// Only keys of this type (repeatable; `module` includes vector sets).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub types: Vec<super::TypeArg>,
}

/// Which keys to keep by expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// All keys.
    Any,
    /// Only keys whose expire time is already past.
    Expired,
    /// Keys without an expire time or whose expire time is still ahead.
    NotExpired,
}

/// The key filters.
#[derive(Debug)]
pub struct Filter {
    /// Databases to keep (`None` = all).
    pub dbs: Option<Vec<u64>>,
    /// Types to keep, indexed like [`KeyType::ALL`] (`None` = all).
    pub types: Option<[bool; 7]>,
    /// Glob patterns (Redis `KEYS` syntax); a key is kept if it matches one of
    /// them or one of `regexes`. No pattern at all keeps every key.
    pub globs: Vec<Vec<u8>>,
    /// Regular expressions (unanchored search over the key's bytes).
    pub regexes: Vec<regex::bytes::Regex>,
    /// Expiry filter.
    pub expiry: Expiry,
    /// "Now", Unix ms.
    pub now_ms: i64,
}

impl Filter {
    /// The filter of the command-line options `--db`, `--type`, `--key`,
    /// `--key-regex` and an expiry rule (`dump` and `rewrite` share them).
    pub fn from_options(select: &KeyArgs, expiry: Expiry, now_ms: i64) -> anyhow::Result<Self> {
        let KeyArgs {
            dbs,
            keys: globs,
            key_regexes: regexes,
            types,
        } = select;
        let regexes = regexes
            .iter()
            .map(|re| {
                regex::bytes::Regex::new(re).with_context(|| format!("invalid --key-regex {re:?}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let types = (!types.is_empty()).then(|| {
            let mut t = [false; 7];
            for ty in types {
                t[ty.key_type() as usize] = true;
            }
            t
        });
        Ok(Self {
            dbs: (!dbs.is_empty()).then(|| dbs.clone()),
            types,
            globs: globs.iter().map(os_bytes).collect(),
            regexes,
            expiry,
            now_ms,
        })
    }

    /// A filter keeping everything.
    #[cfg(test)]
    pub fn all(now_ms: i64) -> Self {
        Self {
            dbs: None,
            types: None,
            globs: Vec::new(),
            regexes: Vec::new(),
            expiry: Expiry::Any,
            now_ms,
        }
    }

    /// True when the key is kept.
    #[inline]
    pub fn accepts(&self, db: u64, key: &[u8], kind: KeyType, expire_ms: Option<i64>) -> bool {
        if let Some(dbs) = &self.dbs {
            if !dbs.contains(&db) {
                return false;
            }
        }
        if let Some(types) = &self.types {
            if !types[kind as usize] {
                return false;
            }
        }
        let expired = expire_ms.is_some_and(|t| t < self.now_ms);
        match self.expiry {
            Expiry::Any => {}
            Expiry::Expired if !expired => return false,
            Expiry::NotExpired if expired => return false,
            _ => {}
        }
        if self.globs.is_empty() && self.regexes.is_empty() {
            return true;
        }
        self.globs.iter().any(|g| glob_match(g, key))
            || self.regexes.iter().any(|r| r.is_match(key))
    }
}

/// Redis' glob matching (`stringmatchlen` in `util.c`, case-sensitive), as used
/// by `KEYS` and `SCAN … MATCH`: `*`, `?`, `[abc]`, `[^abc]`, `[a-z]`, `\x`. The
/// pattern `*` alone matches every key, the empty one included (Redis
/// short-circuits it).
pub fn glob_match(pattern: &[u8], key: &[u8]) -> bool {
    if pattern == b"*" {
        return true;
    }
    let mut skip_longer = false;
    matchlen(pattern, key, &mut skip_longer, 0)
}

/// A port of `stringmatchlen_impl` (Redis 7.x). The C code reads the NUL
/// terminator past the end of the pattern in a few places; `at` returns 0 there
/// so the behaviour (including that of malformed patterns such as an
/// unterminated `[`) is the same.
fn matchlen(pat: &[u8], s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    // Protection against abusive patterns, as in Redis.
    if nesting > 1000 {
        return false;
    }
    let at = |i: usize| pat.get(i).copied().unwrap_or(0);
    let mut p = 0usize; // pattern position
    let mut plen = pat.len(); // pattern bytes left (from p)
    let mut si = 0usize;
    let mut slen = s.len();
    while plen > 0 && slen > 0 {
        match at(p) {
            b'*' => {
                while plen > 0 && at(p + 1) == b'*' {
                    p += 1;
                    plen -= 1;
                }
                if plen == 1 {
                    return true;
                }
                while slen > 0 {
                    if matchlen(
                        &pat[p + 1..p + plen],
                        &s[si..si + slen],
                        skip_longer,
                        nesting + 1,
                    ) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    si += 1;
                    slen -= 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                si += 1;
                slen -= 1;
            }
            b'[' => {
                p += 1;
                plen -= 1;
                let not = at(p) == b'^';
                if not {
                    p += 1;
                    plen -= 1;
                }
                let c = s[si];
                let mut matched = false;
                loop {
                    if at(p) == b'\\' && plen >= 2 {
                        p += 1;
                        plen -= 1;
                        if at(p) == c {
                            matched = true;
                        }
                    } else if at(p) == b']' {
                        break;
                    } else if plen == 0 {
                        p -= 1;
                        plen += 1;
                        break;
                    } else if plen >= 3 && at(p + 1) == b'-' {
                        let (mut start, mut end) = (at(p), at(p + 2));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        p += 2;
                        plen -= 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if at(p) == c {
                        matched = true;
                    }
                    p += 1;
                    plen -= 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                si += 1;
                slen -= 1;
            }
            b'\\' => {
                if plen >= 2 {
                    p += 1;
                    plen -= 1;
                }
                if at(p) != s[si] {
                    return false;
                }
                si += 1;
                slen -= 1;
            }
            ch => {
                if ch != s[si] {
                    return false;
                }
                si += 1;
                slen -= 1;
            }
        }
        p += 1;
        plen -= 1;
        if slen == 0 {
            while plen > 0 && at(p) == b'*' {
                p += 1;
                plen -= 1;
            }
            break;
        }
    }
    plen == 0 && slen == 0
}

/// A pattern's bytes as given on the command line.
#[cfg(unix)]
fn os_bytes(s: &OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt as _;
    s.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(s: &OsString) -> Vec<u8> {
    s.to_string_lossy().into_owned().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let yes: &[(&[u8], &[u8])] = &[
            (b"*", b""),
            (b"*", b"anything"),
            (b"user:*", b"user:1"),
            (b"user:*", b"user:"),
            (b"h?llo", b"hello"),
            (b"h[ae]llo", b"hallo"),
            (b"h[^e]llo", b"hallo"),
            (b"h[a-b]llo", b"hbllo"),
            (b"h[b-a]llo", b"hallo"),
            (b"*a*b*", b"xxaxxbxx"),
            (b"\\*", b"*"),
            (b"a\\", b"a\\"),
            (b"[\\]]", b"]"),
            (b"**x", b"abx"),
            (b"x**", b"x"),
            (b"[abc", b"a"),
            (b"[^", b"z"),
        ];
        for (p, s) in yes {
            assert!(glob_match(p, s), "{p:?} should match {s:?}");
        }
        let no: &[(&[u8], &[u8])] = &[
            (b"**", b""),
            (b"user:*", b"use"),
            (b"h?llo", b"hllo"),
            (b"h[^e]llo", b"hello"),
            (b"h[a-b]llo", b"hcllo"),
            (b"\\*", b"a"),
            (b"[", b"["),
            (b"a", b""),
            (b"", b"a"),
        ];
        for (p, s) in no {
            assert!(!glob_match(p, s), "{p:?} should not match {s:?}");
        }
        // Abusive patterns terminate quickly.
        let long = vec![b'a'; 5000];
        let mut pat = b"*a".repeat(30);
        pat.push(b'b');
        assert!(!glob_match(&pat, &long));
    }
}
