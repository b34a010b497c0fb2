//! Unit tests of the engine's command semantics (the live-server comparisons are
//! in `tests/replay*.rs`).

use super::*;

fn run(e: &mut Engine, cmds: &[&str]) {
    for c in cmds {
        let args: Vec<&[u8]> = c.split(' ').map(str::as_bytes).collect();
        e.apply(&args).unwrap();
    }
}

fn string(e: &Engine, db: usize, k: &str) -> Option<Vec<u8>> {
    match e.dataset().dbs[db].get(k.as_bytes()).map(|s| &s.value) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

#[test]
fn multi_exec_and_unterminated_block() {
    let mut e = Engine::new();
    run(
        &mut e,
        &["MULTI", "SET a 1", "SELECT 2", "SET b 2", "EXEC", "SET c 3"],
    );
    assert_eq!(string(&e, 0, "a").as_deref(), Some(&b"1"[..]));
    assert_eq!(string(&e, 2, "b").as_deref(), Some(&b"2"[..]));
    assert_eq!(string(&e, 2, "c").as_deref(), Some(&b"3"[..]));
    run(&mut e, &["MULTI", "SET d 4"]);
    assert_eq!(e.finish_file(), Some(1));
    assert!(string(&e, 2, "d").is_none());
    e.start_file();
    assert_eq!(e.selected_db(), 0);
}

#[test]
fn runtime_errors_are_counted_not_fatal() {
    let mut e = Engine::new();
    run(&mut e, &["RPUSH l a", "SET l x NX"]);
    let out = e.apply(&["INCR", "l"]).unwrap();
    assert!(matches!(out, Outcome::Failed(CommandError(ref m)) if m.starts_with("WRONGTYPE")));
    assert_eq!(
        e.apply(&["SELECT", "99"]).unwrap(),
        Outcome::Failed(CommandError("ERR DB index is out of range".into()))
    );
    assert_eq!(e.stats().errors, 2);
    assert_eq!(
        e.apply(&["SET", "only-key"]).unwrap(),
        Outcome::Failed(CommandError(
            "ERR wrong number of arguments for 'set' command".into()
        ))
    );
}

#[test]
fn unsupported_commands_are_fatal_with_a_reason() {
    let mut e = Engine::new();
    let err = e.apply(&["EVAL", "return 1", "0"]).unwrap_err();
    assert!(err.to_string().contains("Lua"), "{err}");
    let err = e.apply(&["MYMODULE.SET", "k", "v"]).unwrap_err();
    assert!(err.to_string().contains("MYMODULE.SET"), "{err}");
    assert!(
        e.apply(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"])
            .is_err()
    );
    // Inside MULTI the error comes when queuing.
    run(&mut e, &["MULTI"]);
    assert!(e.apply(&["EVALSHA", "abc", "0"]).is_err());
}

#[test]
fn expire_never_deletes_during_replay() {
    let mut e = Engine::new();
    e.set_now_ms(1_000_000);
    run(
        &mut e,
        &[
            "SET k v PXAT 5",
            "APPEND k w",
            "SET t v",
            "EXPIRE t 10",
            "PEXPIREAT t 20000000 GT",
            "PEXPIREAT t 1 GT",
        ],
    );
    let ds = e.dataset();
    assert_eq!(ds.dbs[0][&b"k"[..]].expire_ms, Some(5));
    assert_eq!(string(&e, 0, "k").as_deref(), Some(&b"vw"[..]));
    assert_eq!(e.dataset().dbs[0][&b"t"[..]].expire_ms, Some(20_000_000));
    let mut ds = e.into_dataset();
    assert_eq!(ds.remove_expired(1_000_000), (1, 0));
}

#[test]
fn bitfield_and_setbit() {
    let mut e = Engine::new();
    run(
        &mut e,
        &[
            "SETBIT b 7 1",
            "BITFIELD f SET u8 0 255 INCRBY u8 0 10 OVERFLOW SAT INCRBY i8 8 200",
            "BITFIELD g OVERFLOW FAIL INCRBY u2 0 5",
        ],
    );
    assert_eq!(string(&e, 0, "b"), Some(vec![1]));
    assert_eq!(string(&e, 0, "f"), Some(vec![9, 127]));
    assert_eq!(string(&e, 0, "g"), Some(vec![0]));
}

#[test]
fn streams_groups_and_claims() {
    let mut e = Engine::new();
    e.set_now_ms(10_000);
    run(
        &mut e,
        &[
            "XADD x 1-1 f v",
            "XADD x 2-0 f v",
            "XADD x MAXLEN = 2 LIMIT 100 3-0 f v",
            "XGROUP CREATE x g 0",
            "XCLAIM x g c1 0 2-0 TIME 500 RETRYCOUNT 1 FORCE JUSTID LASTID 2-0",
            "XCLAIM x g c1 0 3-0 TIME 600 RETRYCOUNT 2 JUSTID FORCE",
            "XGROUP SETID x g 3-0 ENTRIESREAD 3",
            "XACK x g 2-0",
            "XDEL x 3-0",
            "XCLAIM x g c2 0 3-0 FORCE JUSTID",
        ],
    );
    let Value::Stream(s) = &e.dataset().dbs[0][&b"x"[..]].value else {
        panic!()
    };
    assert_eq!(s.entries.len(), 1);
    assert_eq!(s.entries_added, 3);
    assert_eq!(s.max_deleted_id, crate::model::StreamId::new(3, 0));
    let g = &s.groups[&b"g"[..]];
    assert_eq!(g.entries_read, 3);
    assert!(g.pel.is_empty(), "{:?}", g.pel);
    assert!(g.consumers.contains_key(&b"c1"[..]));
    // Redis 7.2+ creates XCLAIM's consumer before looking at the ids, so even
    // when its only id is gone (7.0 created it only when claiming).
    assert!(g.consumers[&b"c2"[..]].pel.is_empty());
}

#[test]
fn sort_store_and_zset_store() {
    let mut e = Engine::new();
    run(
        &mut e,
        &[
            "RPUSH l 3 1 2",
            "SET w_1 30",
            "SET w_2 20",
            "SET w_3 10",
            "SORT l BY w_* STORE out",
            "ZADD z1 1 a 2 b",
            "ZADD z2 5 b 7 c",
            "ZUNIONSTORE u 2 z1 z2 WEIGHTS 2 1",
            "ZINTERSTORE i 2 z1 z2 AGGREGATE MAX",
        ],
    );
    let Value::List(l) = &e.dataset().dbs[0][&b"out"[..]].value else {
        panic!()
    };
    assert_eq!(
        l.iter().map(Bytes::as_slice).collect::<Vec<_>>(),
        vec![&b"3"[..], b"2", b"1"]
    );
    let Value::Zset(z) = &e.dataset().dbs[0][&b"u"[..]].value else {
        panic!()
    };
    assert_eq!(z.score(b"b"), Some(9.0));
    let Value::Zset(z) = &e.dataset().dbs[0][&b"i"[..]].value else {
        panic!()
    };
    assert_eq!(z.len(), 1);
    assert_eq!(z.score(b"b"), Some(5.0));
}

#[test]
fn restore_decodes_dump_payloads() {
    // FORMATS.md §4 golden payloads (RDB 12): string `hello`, list `a`,`b`.
    let hex = |s: &str| -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    };
    let hello = hex("00 05 68 65 6c 6c 6f 0c 00 a8 04 eb b6 9f 1e be 43");
    let list =
        hex("12 01 02 0d 0d 00 00 00 02 00 81 61 02 81 62 02 ff 0c 00 a3 9d 3e 49 e9 6b 25 f8");
    let mut e = Engine::new();
    e.set_now_ms(1000);
    assert_eq!(
        e.apply(&[&b"RESTORE"[..], b"s", b"0", &hello]).unwrap(),
        Outcome::Applied
    );
    assert_eq!(
        e.apply(&[&b"RESTORE"[..], b"l", b"5000", &list, b"ABSTTL"])
            .unwrap(),
        Outcome::Applied
    );
    assert_eq!(
        e.apply(&[&b"RESTORE"[..], b"r", b"50", &hello]).unwrap(),
        Outcome::Applied
    );
    assert_eq!(string(&e, 0, "s").as_deref(), Some(&b"hello"[..]));
    let ds = e.dataset();
    assert_eq!(ds.dbs[0][&b"l"[..]].expire_ms, Some(5000));
    assert_eq!(ds.dbs[0][&b"r"[..]].expire_ms, Some(1050));
    let Value::List(l) = &ds.dbs[0][&b"l"[..]].value else {
        panic!()
    };
    assert_eq!(l.len(), 2);
    // BUSYKEY without REPLACE; a corrupted CRC is refused.
    let out = e.apply(&[&b"RESTORE"[..], b"s", b"0", &hello]).unwrap();
    assert!(matches!(out, Outcome::Failed(CommandError(ref m)) if m.starts_with("BUSYKEY")));
    let mut bad = hello.clone();
    bad[3] ^= 1;
    let out = e.apply(&[&b"RESTORE"[..], b"t", b"0", &bad]).unwrap();
    assert_eq!(
        out,
        Outcome::Failed(CommandError(
            "ERR DUMP payload version or checksum are wrong".into()
        ))
    );
    assert_eq!(
        e.apply(&[&b"RESTORE"[..], b"s", b"0", &list, b"REPLACE"])
            .unwrap(),
        Outcome::Applied
    );
}

/// Every command name with random argument lists: the engine must never panic
/// (runtime errors are fine), whatever the arity or the argument values.
#[test]
fn random_arguments_never_panic() {
    let names = [
        "set",
        "setnx",
        "setex",
        "psetex",
        "mset",
        "msetnx",
        "append",
        "setrange",
        "getset",
        "getdel",
        "getex",
        "incr",
        "decr",
        "incrby",
        "decrby",
        "incrbyfloat",
        "setbit",
        "bitfield",
        "bitop",
        "pfadd",
        "pfmerge",
        "pfcount",
        "pfdebug",
        "lpush",
        "rpush",
        "lpushx",
        "rpushx",
        "linsert",
        "lset",
        "lrem",
        "ltrim",
        "lpop",
        "blpop",
        "rpop",
        "brpop",
        "rpoplpush",
        "brpoplpush",
        "lmove",
        "blmove",
        "lmpop",
        "blmpop",
        "sadd",
        "srem",
        "smove",
        "spop",
        "sinterstore",
        "sunionstore",
        "sdiffstore",
        "zadd",
        "zincrby",
        "zrem",
        "zremrangebyscore",
        "zremrangebyrank",
        "zremrangebylex",
        "zpopmin",
        "bzpopmin",
        "zpopmax",
        "bzpopmax",
        "zmpop",
        "bzmpop",
        "zunionstore",
        "zinterstore",
        "zdiffstore",
        "zrangestore",
        "geoadd",
        "georadius",
        "georadiusbymember",
        "geosearchstore",
        "hset",
        "hmset",
        "hsetnx",
        "hdel",
        "hincrby",
        "hincrbyfloat",
        "hexpire",
        "hpexpire",
        "hexpireat",
        "hpexpireat",
        "hpersist",
        "hsetex",
        "hgetdel",
        "hgetex",
        "msetex",
        "delex",
        "delifeq",
        "xadd",
        "xtrim",
        "xdel",
        "xack",
        "xclaim",
        "xautoclaim",
        "xgroup",
        "xsetid",
        "del",
        "unlink",
        "rename",
        "renamenx",
        "move",
        "copy",
        "swapdb",
        "flushdb",
        "flushall",
        "select",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "persist",
        "restore",
        "function",
        "sort",
        "multi",
        "exec",
        "discard",
        "ping",
    ];
    let tokens: [&[u8]; 48] = [
        b"k",
        b"k2",
        b"k3",
        b"0",
        b"1",
        b"-1",
        b"2",
        b"3",
        b"-5",
        b"100",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"1.5",
        b"inf",
        b"-inf",
        b"nan",
        b"",
        b"\xff\x00",
        b"NX",
        b"XX",
        b"GT",
        b"LT",
        b"CH",
        b"INCR",
        b"EX",
        b"PX",
        b"PXAT",
        b"KEEPTTL",
        b"GET",
        b"FIELDS",
        b"LIMIT",
        b"COUNT",
        b"BY",
        b"STORE",
        b"WEIGHTS",
        b"AGGREGATE",
        b"MAXLEN",
        b"MINID",
        b"~",
        b"=",
        b"*",
        b"1-1",
        b"0-1",
        b"FORCE",
        b"JUSTID",
        b"LASTID",
        b"CREATE",
        b"u8",
    ];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m as u64) as usize
    };
    let mut e = Engine::new();
    e.set_now_ms(1_700_000_000_000);
    for i in 0..300_000 {
        let name = names[next(names.len())];
        let n = next(9);
        let mut args: Vec<Vec<u8>> = vec![name.as_bytes().to_vec()];
        for _ in 0..n {
            args.push(tokens[next(tokens.len())].to_vec());
        }
        // Seed some keys with every type now and then.
        if i % 500 == 0 {
            run(
                &mut e,
                &[
                    "DEL k k2 k3",
                    "RPUSH k a b",
                    "SADD k2 1 2",
                    "XADD k3 1-1 f v",
                    "XGROUP CREATE k3 CREATE 0",
                ],
            );
        }
        let _ = e.apply(&args);
    }
    assert!(e.stats().errors > 1000);
    assert!(e.stats().commands > 250_000);
    e.finish_file();
}

#[test]
fn function_restore_and_read_only_commands() {
    // FUNCTION DUMP of one library, built by hand: F5 + string, version, CRC.
    let code = b"#!lua name=dumped\nredis.register_function('d', function() return 1 end)";
    let mut p = vec![0xf5];
    crate::rdb::writer::put_string(&mut p, code, None);
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = crate::io::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    let mut e = Engine::new();
    assert_eq!(
        e.apply(&[&b"FUNCTION"[..], b"RESTORE", &p]).unwrap(),
        Outcome::Applied
    );
    assert!(matches!(
        e.apply(&[&b"FUNCTION"[..], b"RESTORE", &p]).unwrap(),
        Outcome::Failed(_)
    ));
    assert_eq!(
        e.apply(&[&b"FUNCTION"[..], b"RESTORE", &p, b"REPLACE"])
            .unwrap(),
        Outcome::Applied
    );
    assert_eq!(e.dataset().function_libraries().len(), 1);
    run(
        &mut e,
        &["SET a 1", "GET a", "LRANGE a 0 -1", "XINFO STREAM a"],
    );
    assert_eq!(e.stats().errors, 1);
}

#[test]
fn hash_field_ttl_commands() {
    let mut e = Engine::new();
    e.set_now_ms(1_000);
    run(
        &mut e,
        &[
            "HSET h a 1 b 2 c 3",
            "HPEXPIREAT h 5000 FIELDS 2 a b",
            "HINCRBY h a 5",
            "HSET h b 20",
            "HPEXPIRE h 100 GT FIELDS 1 c",
            "HPEXPIRE h 100 NX FIELDS 1 c",
            "HSETEX h FXX KEEPTTL FIELDS 1 a 7",
            "HSETEX h FNX PX 50 FIELDS 1 a 8",
            "HSETEX h2 EX 10 FIELDS 2 x 1 y 2",
            "HGETEX h2 PERSIST FIELDS 1 x",
            "HGETDEL h2 FIELDS 1 y",
        ],
    );
    let ttl = |key: &str, f: &str| match &e.dataset().dbs[0][key.as_bytes()].value {
        Value::Hash(h) => h.get(f.as_bytes()).unwrap().expire_ms,
        _ => panic!(),
    };
    assert_eq!(
        ttl("h", "a"),
        Some(5000),
        "HINCRBY and HSETEX KEEPTTL keep the TTL"
    );
    assert_eq!(ttl("h", "b"), None, "HSET clears the TTL");
    assert_eq!(
        ttl("h", "c"),
        Some(1100),
        "GT fails without a TTL, NX sets it"
    );
    assert_eq!(ttl("h2", "x"), None);
    let Value::Hash(h2) = &e.dataset().dbs[0][&b"h2"[..]].value else {
        panic!()
    };
    assert_eq!(h2.len(), 1);
    assert_eq!(e.stats().errors, 0);
}

#[test]
fn compare_and_set_and_digests() {
    // Digests as Redis 8.6.3's `DIGEST` printed them: "hello" 9555e8555c62dcfd,
    // "5" dedb980100c87e72 (compared as text, ignoring case).
    let mut e = Engine::new();
    run(
        &mut e,
        &[
            "SET a hello",
            "SET a world IFDEQ 9555E8555C62DCFD",
            "SET n 5",
            "SET n 6 IFDNE dedb980100c87e72",
            "SET b x",
            "SET b y IFEQ x",
            "SET b z IFEQ x",
            "SET c q IFNE q",
            "SET d 1",
            "DELEX d IFDEQ 0123456789abcdef",
            "SET f 1",
            "DELIFEQ f 1",
            "MSETEX 2 m1 a m2 b PXAT 4102444800000",
            "MSETEX 2 m1 x m3 y NX",
            "MSETEX 1 m1 z KEEPTTL XX",
        ],
    );
    assert_eq!(string(&e, 0, "a").as_deref(), Some(&b"world"[..]));
    assert_eq!(string(&e, 0, "n").as_deref(), Some(&b"5"[..]));
    assert_eq!(string(&e, 0, "b").as_deref(), Some(&b"y"[..]));
    assert_eq!(string(&e, 0, "c").as_deref(), Some(&b"q"[..]));
    assert_eq!(string(&e, 0, "d").as_deref(), Some(&b"1"[..]));
    assert!(string(&e, 0, "f").is_none());
    assert_eq!(string(&e, 0, "m1").as_deref(), Some(&b"z"[..]));
    assert!(string(&e, 0, "m3").is_none());
    assert_eq!(
        e.dataset().dbs[0][&b"m1"[..]].expire_ms,
        Some(4_102_444_800_000)
    );
    assert_eq!(e.stats().errors, 0);
    for bad in [
        "SET a x IFDEQ 123",
        "SET a x NX IFEQ a",
        "MSETEX 0 a b",
        "DELEX a IFEQ",
    ] {
        let args: Vec<&[u8]> = bad.split(' ').map(str::as_bytes).collect();
        assert!(
            matches!(e.apply(&args).unwrap(), Outcome::Failed(_)),
            "{bad}"
        );
    }
}
