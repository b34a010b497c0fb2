//! A deterministic workload covering every type and encoding boundary, sent to a
//! real server (shared by the tests that compare with a live redis-server, and by
//! the generator of `testdata/`).
#![allow(dead_code)]

use super::{RedisServer, Reply, Rng};

/// Sends a workload covering every type and encoding boundary.
pub fn workload(s: &mut RedisServer, seed: u64) {
    let mut rng = Rng(seed);
    let mut ok = |args: Vec<Vec<u8>>| {
        let r = s.cmd(&args);
        assert!(
            !matches!(r, Reply::Error(_)),
            "{:?} -> {r:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    };
    let b = |x: &str| x.as_bytes().to_vec();
    let v = |xs: &[&str]| xs.iter().map(|x| b(x)).collect::<Vec<_>>();
    // Strings: ints of every RDB width, non-canonical numbers, LZF boundary, binary.
    for (k, val) in [
        ("s:i8", "-128"),
        ("s:i16", "32767"),
        ("s:i32", "-2147483648"),
        ("s:i64", "9223372036854775807"),
        ("s:lead0", "007"),
        ("s:plus", "+1"),
        ("s:mzero", "-0"),
        ("s:empty", ""),
        ("s:lzf20", "aaaaaaaaaaaaaaaaaaaa"),
        ("s:lzf21", "aaaaaaaaaaaaaaaaaaaaa"),
    ] {
        ok(v(&["SET", k, val]));
    }
    ok(vec![
        b("SET"),
        b"bin:\x00\xff\xfe".to_vec(),
        b"\x00\x01\xc3\x28\r\n".to_vec(),
    ]);
    ok(vec![
        b("SET"),
        b("s:big"),
        "the quick brown fox ".repeat(5000).into_bytes(),
    ]);
    let random: Vec<u8> = (0..3000).map(|_| rng.next() as u8).collect();
    ok(vec![b("SET"), b("s:random"), random]);
    ok(v(&["SET", "12345", "int-named key"]));
    ok(v(&["PFADD", "hll", "a", "b", "c"]));
    ok(v(&["SETBIT", "bits", "100000", "1"]));
    // Lists: small listpack, many nodes, compressed nodes, huge elements (PLAIN).
    ok(v(&[
        "RPUSH",
        "l:small",
        "a",
        "",
        "1",
        "-5",
        "9223372036854775807",
    ]));
    let mut big = vec![b("RPUSH"), b("l:large")];
    big.extend((0..3000).map(|i| format!("element-{i}-{}", "x".repeat(i % 40)).into_bytes()));
    ok(big);
    ok(v(&["CONFIG", "SET", "list-compress-depth", "1"]));
    let mut comp = vec![b("RPUSH"), b("l:compressed")];
    comp.extend((0..2000).map(|i| format!("compressible-{i:05}-aaaaaaaaaaaaaaaa").into_bytes()));
    ok(comp);
    ok(v(&["CONFIG", "SET", "list-compress-depth", "0"]));
    ok(vec![
        b("RPUSH"),
        b("l:bigelem"),
        b("small"),
        vec![b'B'; 10000],
        b("tail"),
    ]);
    // Sets: intsets of each width, listpack-sized, hashtable, binary members.
    ok(v(&["SADD", "set:i16", "1", "2", "-3"]));
    ok(v(&["SADD", "set:i32", "1", "70000"]));
    ok(v(&["SADD", "set:i64", "1", "5000000000"]));
    ok(v(&["SADD", "set:str", "a", "b", "c"]));
    let mut hs = vec![b("SADD"), b("set:large")];
    hs.extend((0..700).map(|i| format!("m{i}").into_bytes()));
    ok(hs);
    let mut hi = vec![b("SADD"), b("set:ints")];
    hi.extend((0..600).map(|i| (i * 7).to_string().into_bytes()));
    ok(hi);
    ok(vec![
        b("SADD"),
        b("set:bin"),
        b"\x00".to_vec(),
        b"\xff\xfe".to_vec(),
        b"".to_vec(),
    ]);
    // Sorted sets: listpack and skiplist, special scores.
    ok(v(&[
        "ZADD", "z:small", "-inf", "ninf", "inf", "pinf", "0.1", "tenth", "3", "three", "-2.5",
        "neg", "1e300", "big",
    ]));
    let mut zl = vec![b("ZADD"), b("z:large")];
    for i in 0..300 {
        zl.push(format!("{}", (i as f64) * 1.25 - 100.0).into_bytes());
        zl.push(format!("member-{i}").into_bytes());
    }
    ok(zl);
    ok(vec![
        b("ZADD"),
        b("z:long"),
        b("1"),
        vec![b'M'; 100],
        b("2"),
        b("short"),
    ]);
    ok(v(&[
        "GEOADD",
        "geo",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.087269",
        "37.502669",
        "Catania",
    ]));
    // Hashes: listpack and hashtable.
    ok(v(&["HSET", "h:small", "a", "1", "b", "", "c", "-7"]));
    let mut hl = vec![b("HSET"), b("h:large")];
    for i in 0..600 {
        hl.push(format!("f{i}").into_bytes());
        hl.push(format!("v{i}").into_bytes());
    }
    ok(hl);
    ok(vec![b("HSET"), b("h:longval"), b("f"), vec![b'v'; 100]]);
    ok(vec![
        b("HSET"),
        b("h:bin"),
        b"\x00".to_vec(),
        b"\xff".to_vec(),
    ]);
    // Streams: entries, deletions, groups, PEL, consumers.
    for i in 1..=150 {
        if i % 3 == 0 {
            ok(vec![
                b("XADD"),
                b("st"),
                format!("{i}-1").into_bytes(),
                b("other"),
                format!("{i}").into_bytes(),
            ]);
        } else {
            ok(vec![
                b("XADD"),
                b("st"),
                format!("{i}-1").into_bytes(),
                b("f"),
                format!("{i}").into_bytes(),
                b("g"),
                b("x"),
            ]);
        }
    }
    ok(v(&["XDEL", "st", "5-1", "77-1"]));
    ok(v(&["XGROUP", "CREATE", "st", "g1", "0"]));
    ok(v(&["XGROUP", "CREATE", "st", "g2", "$"]));
    ok(v(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "3",
        "STREAMS",
        "st",
        ">",
    ]));
    ok(v(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "2",
        "STREAMS",
        "st",
        ">",
    ]));
    ok(v(&["XACK", "st", "g1", "1-1"]));
    ok(v(&["XGROUP", "CREATECONSUMER", "st", "g1", "carol"]));
    ok(v(&[
        "XCLAIM",
        "st",
        "g1",
        "bob",
        "0",
        "2-1",
        "TIME",
        "1700000000000",
        "RETRYCOUNT",
        "7",
    ]));
    ok(v(&["XADD", "st:empty", "MAXLEN", "0", "1-1", "a", "b"]));
    ok(v(&["XGROUP", "CREATE", "st:mk", "g", "$", "MKSTREAM"]));
    // Expiries, other databases, functions.
    ok(v(&["SET", "exp:s", "v"]));
    ok(v(&["PEXPIREAT", "exp:s", "4102444800123"]));
    ok(v(&["RPUSH", "exp:l", "a"]));
    ok(v(&["PEXPIREAT", "exp:l", "4102444800000"]));
    ok(v(&["SELECT", "3"]));
    ok(v(&["SET", "db3:k", "x"]));
    ok(v(&["HSET", "db3:h", "a", "b"]));
    ok(v(&["SELECT", "15"]));
    ok(v(&["SADD", "db15:s", "1"]));
    ok(v(&["SELECT", "0"]));
    ok(v(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=testlib\nredis.register_function('tf', function(keys, args) return 1 end)",
    ]));
}
