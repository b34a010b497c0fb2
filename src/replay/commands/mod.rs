//! Command dispatch and the key-access helpers every command family uses.
//!
//! Each family lives in its own file; a handler receives the engine and the
//! arguments (name included) and returns `Err(text)` for a runtime error Redis
//! would reply with. Handlers check their own arity, because the AOF loader
//! does not (and a short command must never panic the replayer).
//!
//! Every handler has the same signature (it is called through a table), so some
//! return `Ok` unconditionally, and they all name the engine `e` and the
//! arguments `a`.
#![allow(clippy::unnecessary_wraps, clippy::many_single_char_names)]

mod geo;
mod hash;
mod keyspace;
mod list;
mod set;
mod sort;
mod stream;
mod string;
mod vectorset;
mod zset;

use std::collections::VecDeque;

use super::args::{CmdResult, WRONGTYPE};
use super::bytes::Bytes;
use super::dataset::{Db, Slot, StreamValue, Value, Zset};
use super::packed::{FastSet, PackedMap, PackedSet};
use super::{Engine, ReplayError};

type Handler = fn(&mut Engine, &[&[u8]]) -> CmdResult;

/// (handler, minimum argument count including the name).
fn lookup(name: &[u8]) -> Option<(Handler, usize)> {
    let s = std::str::from_utf8(name).ok()?;
    Some(match s {
        // strings
        "set" => (string::set, 3),
        "setnx" => (string::setnx, 3),
        "setex" => (string::setex, 4),
        "psetex" => (string::psetex, 4),
        "mset" => (string::mset, 3),
        "msetnx" => (string::msetnx, 3),
        "msetex" => (string::msetex, 4),
        "delex" => (string::delex, 2),
        "delifeq" => (string::delifeq, 3),
        "append" => (string::append, 3),
        "setrange" => (string::setrange, 4),
        "getset" => (string::getset, 3),
        "getdel" => (string::getdel, 2),
        "getex" => (string::getex, 2),
        "incr" => (string::incr, 2),
        "decr" => (string::decr, 2),
        "incrby" => (string::incrby, 3),
        "decrby" => (string::decrby, 3),
        "incrbyfloat" => (string::incrbyfloat, 3),
        "setbit" => (string::setbit, 4),
        "bitfield" => (string::bitfield, 2),
        "bitop" => (string::bitop, 4),
        "pfadd" => (string::pfadd, 2),
        "pfmerge" => (string::pfmerge, 2),
        "pfcount" => (string::pfcount, 2),
        "pfdebug" => (string::pfdebug, 3),
        // vector sets (Redis 8)
        "vadd" => (vectorset::vadd, 5),
        "vrem" => (vectorset::vrem, 3),
        "vsetattr" => (vectorset::vsetattr, 4),
        // lists
        "lpush" => (list::lpush, 3),
        "rpush" => (list::rpush, 3),
        "lpushx" => (list::lpushx, 3),
        "rpushx" => (list::rpushx, 3),
        "linsert" => (list::linsert, 5),
        "lset" => (list::lset, 4),
        "lrem" => (list::lrem, 4),
        "ltrim" => (list::ltrim, 4),
        "lpop" | "blpop" => (list::lpop, 2),
        "rpop" | "brpop" => (list::rpop, 2),
        "rpoplpush" | "brpoplpush" => (list::rpoplpush, 3),
        "lmove" | "blmove" => (list::lmove, 5),
        "lmpop" => (list::lmpop, 4),
        "blmpop" => (list::blmpop, 5),
        // sets
        "sadd" => (set::sadd, 3),
        "srem" => (set::srem, 3),
        "smove" => (set::smove, 4),
        "spop" => (set::spop, 2),
        "sinterstore" => (set::sinterstore, 3),
        "sunionstore" => (set::sunionstore, 3),
        "sdiffstore" => (set::sdiffstore, 3),
        // sorted sets
        "zadd" => (zset::zadd, 4),
        "zincrby" => (zset::zincrby, 4),
        "zrem" => (zset::zrem, 3),
        "zremrangebyscore" => (zset::zremrangebyscore, 4),
        "zremrangebyrank" => (zset::zremrangebyrank, 4),
        "zremrangebylex" => (zset::zremrangebylex, 4),
        "zpopmin" | "bzpopmin" => (zset::zpopmin, 2),
        "zpopmax" | "bzpopmax" => (zset::zpopmax, 2),
        "zmpop" => (zset::zmpop, 4),
        "bzmpop" => (zset::bzmpop, 5),
        "zunionstore" => (zset::zunionstore, 4),
        "zinterstore" => (zset::zinterstore, 4),
        "zdiffstore" => (zset::zdiffstore, 4),
        "zrangestore" => (zset::zrangestore, 5),
        // geo
        "geoadd" => (geo::geoadd, 5),
        "georadius" => (geo::georadius, 6),
        "georadiusbymember" => (geo::georadiusbymember, 5),
        "geosearchstore" => (geo::geosearchstore, 7),
        // hashes
        "hset" | "hmset" => (hash::hset, 4),
        "hsetnx" => (hash::hsetnx, 4),
        "hdel" => (hash::hdel, 3),
        "hincrby" => (hash::hincrby, 4),
        "hincrbyfloat" => (hash::hincrbyfloat, 4),
        "hexpire" => (hash::hexpire, 6),
        "hpexpire" => (hash::hpexpire, 6),
        "hexpireat" => (hash::hexpireat, 6),
        "hpexpireat" => (hash::hpexpireat, 6),
        "hpersist" => (hash::hpersist, 5),
        "hsetex" => (hash::hsetex, 6),
        "hgetdel" => (hash::hgetdel, 5),
        "hgetex" => (hash::hgetex, 5),
        // streams
        "xadd" => (stream::xadd, 5),
        "xtrim" => (stream::xtrim, 4),
        "xdel" => (stream::xdel, 3),
        "xack" => (stream::xack, 4),
        "xclaim" => (stream::xclaim, 6),
        "xautoclaim" => (stream::xautoclaim, 6),
        "xgroup" => (stream::xgroup, 2),
        "xsetid" => (stream::xsetid, 3),
        "xdelex" => (stream::xdelex, 5),
        "xackdel" => (stream::xackdel, 6),
        "xcfgset" => (stream::xcfgset, 2),
        "xidmprecord" => (stream::xidmprecord, 5),
        // keyspace
        "del" | "unlink" => (keyspace::del, 2),
        "rename" => (keyspace::rename, 3),
        "renamenx" => (keyspace::renamenx, 3),
        "move" => (keyspace::move_, 3),
        "copy" => (keyspace::copy, 3),
        "swapdb" => (keyspace::swapdb, 3),
        "flushdb" => (keyspace::flushdb, 1),
        "flushall" => (keyspace::flushall, 1),
        "select" => (keyspace::select, 2),
        "trimslots" => (keyspace::trimslots, 5),
        "cluster" => (keyspace::cluster, 2),
        "expire" => (keyspace::expire, 3),
        "pexpire" => (keyspace::pexpire, 3),
        "expireat" => (keyspace::expireat, 3),
        "pexpireat" => (keyspace::pexpireat, 3),
        "persist" => (keyspace::persist, 2),
        "restore" | "restore-asking" => (keyspace::restore, 4),
        "function" => (keyspace::function, 2),
        "sort" => (sort::sort, 2),
        // commands that may sit in an AOF without changing the dataset
        "multi" => (keyspace::nested_multi, 1),
        "discard" => (keyspace::discard, 1),
        "ping" | "echo" | "publish" | "spublish" | "watch" | "unwatch" => (keyspace::noop, 1),
        // Read-only commands never reach an AOF written by Redis, but the loader
        // accepts them (they change nothing), so a hand-edited AOF holding one
        // still replays.
        "get"
        | "mget"
        | "strlen"
        | "getrange"
        | "substr"
        | "getbit"
        | "bitcount"
        | "bitpos"
        | "bitfield_ro"
        | "lcs"
        | "exists"
        | "type"
        | "ttl"
        | "pttl"
        | "expiretime"
        | "pexpiretime"
        | "dump"
        | "object"
        | "touch"
        | "randomkey"
        | "dbsize"
        | "keys"
        | "scan"
        | "lrange"
        | "llen"
        | "lindex"
        | "lpos"
        | "smembers"
        | "scard"
        | "sismember"
        | "smismember"
        | "srandmember"
        | "sinter"
        | "sunion"
        | "sdiff"
        | "sintercard"
        | "sscan"
        | "zrange"
        | "zrangebyscore"
        | "zrangebylex"
        | "zrevrange"
        | "zrevrangebyscore"
        | "zrevrangebylex"
        | "zcard"
        | "zscore"
        | "zmscore"
        | "zrank"
        | "zrevrank"
        | "zcount"
        | "zlexcount"
        | "zrandmember"
        | "zunion"
        | "zinter"
        | "zdiff"
        | "zintercard"
        | "zscan"
        | "hget"
        | "hmget"
        | "hgetall"
        | "hkeys"
        | "hvals"
        | "hlen"
        | "hexists"
        | "hstrlen"
        | "hrandfield"
        | "hscan"
        | "httl"
        | "hpttl"
        | "hexpiretime"
        | "hpexpiretime"
        | "xrange"
        | "xrevrange"
        | "xlen"
        | "xread"
        | "xinfo"
        | "xpending"
        | "geopos"
        | "geodist"
        | "geohash"
        | "georadius_ro"
        | "georadiusbymember_ro"
        | "geosearch"
        | "sort_ro"
        | "lastsave"
        | "time"
        | "info" => (keyspace::noop, 1),
        _ => return None,
    })
}

/// Fails with [`ReplayError`] for a command this engine cannot apply.
pub(crate) fn check_supported<A: AsRef<[u8]>>(name: &[u8], args: &[A]) -> Result<(), ReplayError> {
    let reason = match name {
        b"eval" | b"evalsha" | b"eval_ro" | b"evalsha_ro" | b"fcall" | b"fcall_ro" => {
            "a Lua script in the AOF (verbatim script replication, Redis <= 6.2 or \
             lua-replicate-commands no) needs a Lua interpreter to replay"
        }
        b"script" => {
            let sub = args.get(1).map(|a| a.as_ref().to_ascii_lowercase());
            if sub.as_deref() == Some(b"flush") {
                return Ok(());
            }
            "SCRIPT with a Lua body (verbatim script replication) needs a Lua interpreter"
        }
        b"xreadgroup" => {
            "XREADGROUP is never written by Redis (it propagates XCLAIM/XGROUP SETID); \
             replaying it raw would need the reading client's state"
        }
        _ => {
            if lookup(name).is_some() {
                return Ok(());
            }
            "unknown command (a module command, or a command this engine does not know)"
        }
    };
    let shown = args.first().map_or(name, AsRef::as_ref);
    Err(ReplayError::unsupported(shown, reason))
}

/// Runs one command: `Err` = cannot replay, `Ok(Err)` = runtime error.
pub(crate) fn dispatch(
    e: &mut Engine,
    name: &[u8],
    args: &[&[u8]],
) -> Result<CmdResult, ReplayError> {
    check_supported(name, args)?;
    if name == b"script" {
        // SCRIPT FLUSH: the script cache is not part of the dataset.
        return Ok(Ok(()));
    }
    let Some((handler, min)) = lookup(name) else {
        return Err(ReplayError::unsupported(name, "unknown command"));
    };
    if name == b"vadd" {
        vectorset::check_limit(e, args)?;
    }
    if args.len() < min {
        return Ok(Err(format!(
            "ERR wrong number of arguments for '{}' command",
            String::from_utf8_lossy(name)
        )));
    }
    Ok(handler(e, args))
}

/// Error for a wrong argument count.
pub(crate) fn wrong_args(args: &[&[u8]]) -> String {
    format!(
        "ERR wrong number of arguments for '{}' command",
        String::from_utf8_lossy(args[0]).to_lowercase()
    )
}

impl Engine {
    pub(crate) fn dbm(&mut self) -> &mut Db {
        &mut self.ds.dbs[self.db]
    }

    pub(crate) fn slot(&self, key: &[u8]) -> Option<&Slot> {
        self.ds.dbs[self.db].get(key)
    }

    pub(crate) fn slot_mut(&mut self, key: &[u8]) -> Option<&mut Slot> {
        self.ds.dbs[self.db].get_mut(key)
    }

    pub(crate) fn exists(&self, key: &[u8]) -> bool {
        self.ds.dbs[self.db].contains_key(key)
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Slot> {
        self.ds.dbs[self.db].remove(key)
    }

    /// Replaces the value of `key` and drops its TTL (Redis `setKey`).
    pub(crate) fn set_key(&mut self, key: &[u8], value: Value) {
        self.dbm().insert(
            key.into(),
            Slot {
                value,
                expire_ms: None,
            },
        );
    }

    /// Replaces the value of `key`, keeping its TTL if it existed.
    pub(crate) fn set_key_keepttl(&mut self, key: &[u8], value: Value) {
        match self.slot_mut(key) {
            Some(s) => s.value = value,
            None => self.set_key(key, value),
        }
    }

    /// Removes `key` if it is an aggregate with no element left.
    pub(crate) fn drop_if_empty(&mut self, key: &[u8]) {
        if self.slot(key).is_some_and(|s| s.value.is_empty_aggregate()) {
            self.remove(key);
        }
    }

    pub(crate) fn get_string(&self, key: &[u8]) -> Result<Option<&Vec<u8>>, String> {
        match self.slot(key) {
            None => Ok(None),
            Some(Slot {
                value: Value::String(s),
                ..
            }) => Ok(Some(s)),
            Some(_) => Err(WRONGTYPE.into()),
        }
    }

    pub(crate) fn get_list(&mut self, key: &[u8]) -> Result<Option<&mut VecDeque<Bytes>>, String> {
        match self.slot_mut(key) {
            None => Ok(None),
            Some(Slot {
                value: Value::List(l),
                ..
            }) => Ok(Some(l)),
            Some(_) => Err(WRONGTYPE.into()),
        }
    }

    pub(crate) fn list_or_create(&mut self, key: &[u8]) -> Result<&mut VecDeque<Bytes>, String> {
        if !self.exists(key) {
            self.set_key(key, Value::List(VecDeque::new()));
        }
        self.get_list(key).map(|l| l.expect("just created"))
    }

    pub(crate) fn get_set(&mut self, key: &[u8]) -> Result<Option<&mut PackedSet>, String> {
        match self.slot_mut(key) {
            None => Ok(None),
            Some(Slot {
                value: Value::Set(l),
                ..
            }) => Ok(Some(l)),
            Some(_) => Err(WRONGTYPE.into()),
        }
    }

    pub(crate) fn set_or_create(&mut self, key: &[u8]) -> Result<&mut PackedSet, String> {
        if !self.exists(key) {
            self.set_key(key, Value::Set(Box::default()));
        }
        self.get_set(key).map(|l| l.expect("just created"))
    }

    pub(crate) fn get_zset(&mut self, key: &[u8]) -> Result<Option<&mut Zset>, String> {
        match self.slot_mut(key) {
            None => Ok(None),
            Some(Slot {
                value: Value::Zset(l),
                ..
            }) => Ok(Some(l)),
            Some(_) => Err(WRONGTYPE.into()),
        }
    }

    pub(crate) fn get_hash(&mut self, key: &[u8]) -> Result<Option<&mut PackedMap>, String> {
        match self.slot_mut(key) {
            None => Ok(None),
            Some(Slot {
                value: Value::Hash(l),
                ..
            }) => Ok(Some(l)),
            Some(_) => Err(WRONGTYPE.into()),
        }
    }

    pub(crate) fn get_stream(&mut self, key: &[u8]) -> Result<Option<&mut StreamValue>, String> {
        match self.slot_mut(key) {
            None => Ok(None),
            Some(Slot {
                value: Value::Stream(l),
                ..
            }) => Ok(Some(l)),
            Some(_) => Err(WRONGTYPE.into()),
        }
    }

    /// Members of a set or sorted set used as a set-like input (`*STORE`).
    pub(crate) fn read_set_like(&self, key: &[u8]) -> Result<Option<FastSet<Bytes>>, String> {
        match self.slot(key) {
            None => Ok(None),
            Some(Slot {
                value: Value::Set(s),
                ..
            }) => Ok(Some(s.iter().map(Bytes::from).collect())),
            Some(_) => Err(WRONGTYPE.into()),
        }
    }
}
