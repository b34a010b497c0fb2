//! Function libraries are checked as the server's loader takes them in
//! (issue 19): a library whose metadata the loader refuses, or a second
//! library of a name already loaded ("Library '…' already exists"), makes
//! the server refuse the whole RDB, and `check-rdb` reports an error, by
//! every path it can take (one thread; the walk-first parallel check; the
//! parallel check by guessed chunks; `--threads 2` on a file large enough to
//! be checked in parallel). Each verdict is compared with what redis-server
//! 7.0, Redis 8.6.3 and Valkey 9.1.2 do with the same file. `salvage` writes
//! neither a refused library nor a second one of a name, and reports what it
//! dropped.

use crate::common;

use std::fs;
use std::path::Path;

use redis_persist::io::{Memory, Source};
use redis_persist::rdb::check::{self, CheckOptions};
use redis_persist::rdb::parallel::Mapped;
use serde_json::Value;

/// An RDB that redis-server 7.0 wrote: two function libraries (`mylib`,
/// `mylic`), a few keys and a 9 MiB string (so that `check-rdb --threads 2`
/// checks it in parallel).
fn saved_with_two_libraries() -> Option<Vec<u8>> {
    let mut server = common::RedisServer::start_with(&["--dbfilename", "dump.rdb"], &[])?;
    for (lib, f) in [("mylib", "f"), ("mylic", "g")] {
        let code =
            format!("#!lua name={lib}\nredis.register_function('{f}', function() return 1 end)");
        assert_eq!(
            server.cmd(&["FUNCTION", "LOAD", code.as_str()]),
            common::Reply::Bulk(Some(lib.as_bytes().to_vec()))
        );
    }
    for i in 0..200 {
        server.cmd(&["SET".to_owned(), format!("k{i}"), format!("v{i}")]);
    }
    // Incompressible (LZF would shrink a repeated byte to nothing).
    let mut rng = common::Rng(0x9e37_79b9_7f4a_7c15);
    let big: Vec<u8> = (0..9 << 20).map(|_| b'a' + rng.below(26) as u8).collect();
    server.cmd(&[b"SET".as_slice(), b"big", &big]);
    Some(fs::read(server.save()).unwrap())
}

/// `saved` with `from` replaced by `to` (same length) at its first occurrence,
/// the checksum disabled (zero), as the loader accepts.
fn patch(saved: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = saved.windows(from.len()).position(|w| w == from).unwrap();
    let mut d = saved.to_vec();
    d[at..at + to.len()].copy_from_slice(to);
    let n = d.len();
    d[n - 8..].fill(0);
    d
}

/// Whether `bin` refuses to start on `file` as its `dump.rdb`.
fn server_refuses(bin: &Path, file: &Path) -> bool {
    common::RedisServer::try_start_bin(bin, &["--dbfilename", "dump.rdb"], &[(file, "dump.rdb")])
        .is_err()
}

/// The library's reports of `data` by its three paths: one thread, the
/// walk-first parallel check and the guessed-chunks parallel check (small
/// chunks, so that the file is cut in many).
fn library_verdicts(data: &[u8]) -> Vec<(&'static str, check::Report)> {
    let opts = CheckOptions {
        chunk_size: 64 << 10,
        ..CheckOptions::default()
    };
    let len = data.len() as u64;
    let whole = check::check(
        redis_persist::rdb::Reader::new(Source::new(Memory(data)).with_size(len)),
        opts,
    )
    .0;
    let walk = check::check_parallel(Source::new(Memory(data)).with_size(len), opts, 2).0;
    let release = |_| {};
    let guessed = check::check_parallel_in(
        Source::new(Memory(data)).with_size(len),
        Some(Mapped {
            data,
            release: &release,
            pages: None,
        }),
        opts,
        2,
    )
    .0;
    vec![
        ("one thread", whole),
        ("walk-first", walk),
        ("guessed", guessed),
    ]
}

#[test]
fn every_check_path_refuses_what_the_loader_refuses() {
    let Some(saved) = saved_with_two_libraries() else {
        return;
    };
    let servers: Vec<(&str, std::path::PathBuf)> = [
        common::redis_server_bin().map(|b| ("redis-server 7.0", b)),
        common::servers::redis_86().map(|b| ("redis 8.6.3", b)),
        common::servers::server_bin("valkey-9.1.2").map(|b| ("valkey 9.1.2", b)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, Option<&str>); 5] = [
        ("good", patch(&saved, b"name=mylib", b"name=mylib"), None),
        (
            "bad name",
            patch(&saved, b"name=mylic", b"name=my-ic"),
            Some("library name 'my-ic'"),
        ),
        (
            "bad engine",
            patch(&saved, b"#!lua name=mylic", b"#!lux name=mylic"),
            Some("engine 'lux' not found"),
        ),
        (
            "same name twice",
            patch(&saved, b"name=mylic", b"name=mylib"),
            Some("library 'mylib' already exists"),
        ),
        (
            "no metadata",
            patch(&saved, b"#!lua name=mylic", b"--lua name=mylic"),
            Some("missing library metadata"),
        ),
    ];
    for (what, data, refused) in cases {
        let f = tmp.path().join("case.rdb");
        fs::write(&f, &data).unwrap();
        for (name, bin) in &servers {
            assert_eq!(
                server_refuses(bin, &f),
                refused.is_some(),
                "{what}: {name} refuses ⇔ check-rdb reports an error"
            );
        }
        for (path, rep) in library_verdicts(&data) {
            let msgs: Vec<&str> = rep.problems.iter().map(|p| p.message.as_str()).collect();
            match refused {
                None => assert!(rep.is_ok() && msgs.is_empty(), "{what} ({path}): {msgs:?}"),
                Some(m) => {
                    assert!(!rep.is_ok(), "{what} ({path})");
                    assert_eq!(msgs.len(), 1, "{what} ({path}): {msgs:?}");
                    assert!(
                        msgs[0].starts_with("function library refused by the server's loader")
                            && msgs[0].contains(m),
                        "{what} ({path}): {msgs:?}"
                    );
                }
            }
            assert_eq!(rep.functions, 2, "{what} ({path})");
            assert_eq!(rep.keys, 201, "{what} ({path})");
        }
        salvage_leaves_out_what_the_loader_refuses(what, &f, refused.is_some(), &servers);
        let mut first = None;
        for threads in ["1", "2"] {
            let r = common::run(&[
                "check-rdb",
                "--json",
                "--threads",
                threads,
                f.to_str().unwrap(),
            ]);
            let v: Value = serde_json::from_slice(&r.stdout).unwrap();
            assert_eq!(
                v["ok"],
                refused.is_none(),
                "{what} --threads {threads}: {v}"
            );
            assert_eq!(
                r.status.code(),
                Some(i32::from(refused.is_some())),
                "{what} --threads {threads}"
            );
            let problems = v["files"][0]["problems"].clone();
            // Both paths give the same problems (message and offset).
            match &first {
                None => first = Some(problems),
                Some(p) => assert_eq!(p, &problems, "{what}: --threads 1 vs 2"),
            }
        }
    }
}

/// `salvage` of `input`: a refused library is left out and reported as lost
/// (exit 1), the first library of a name is kept; the output loads in every
/// server of `servers` with every key and the libraries kept.
fn salvage_leaves_out_what_the_loader_refuses(
    what: &str,
    input: &Path,
    refused: bool,
    servers: &[(&str, std::path::PathBuf)],
) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.rdb");
    let r = common::run(&[
        "salvage",
        "--json",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        r.status.code(),
        Some(i32::from(refused)),
        "{what}: salvage: {v}"
    );
    let lost = v["keys_lost"].as_array().unwrap();
    if refused {
        assert_eq!(lost.len(), 1, "{what}: {v}");
        assert!(
            lost[0]["reason"]
                .as_str()
                .unwrap()
                .starts_with("function library left out: the server's loader refuses it"),
            "{what}: {v}"
        );
    } else {
        assert!(lost.is_empty(), "{what}: {v}");
    }
    for (name, bin) in servers {
        let mut server = common::RedisServer::try_start_bin(
            bin,
            &["--dbfilename", "dump.rdb"],
            &[(&out, "dump.rdb")],
        )
        .unwrap_or_else(|e| panic!("{what}: {name} refuses the salvaged file: {e}"));
        assert_eq!(
            server.cmd(&["DBSIZE"]),
            common::Reply::Int(201),
            "{what}: {name}"
        );
        let libs = server.cmd(&["FUNCTION", "LIST"]).array().len();
        assert_eq!(libs, if refused { 1 } else { 2 }, "{what}: {name}");
    }
}
