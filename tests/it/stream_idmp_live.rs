//! Redis 8.6 streams (RDB type 26 with the IDMP state, the 8.2/8.6 stream
//! commands) against a live Redis 8.6.3 from `../shared/servers`:
//!
//! * the RDB 13 the writer produces from the corpus streams loads in 8.6.3, and
//!   what the server saves again reads back identical (IDMP counters included);
//! * `dump --format resp` of the corpus file, run by 8.6.3, recreates every
//!   stream with its IDMP configuration and iids (the two counters are not
//!   carried by commands, as by the server's own AOF rewrite);
//! * the AOF 8.6.3 writes for a workload of `XADD … IDMP/IDMPAUTO`, `XCFGSET`,
//!   `XIDMPRECORD`, `XDELEX`, `XACKDEL` and trimming with `KEEPREF`/`DELREF`/
//!   `ACKED` replays to the server's dataset; after `BGREWRITEAOF`, the
//!   rewritten AOF replays to what 8.6.3 itself loads from it.
//!
//! The server's dataset is read from the RDB it saves, with the reader that
//! `rdb_corpus` checks against the corpus.

use crate::common;
use crate::replay_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{RedisServer, Reply, servers};
use redis_persist::io::Source;
use redis_persist::model::{Entry, Stream, StreamIdmp, Value};
use redis_persist::rdb::writer::{WriteError, WriterOptions, write_all};
use redis_persist::rdb::{Entries, Event, Item, Reader};
use redis_persist::replay::{Engine, Outcome};
use replay_support::{manifest_files, parse_resp};

type Streams = BTreeMap<(u64, Vec<u8>), Stream>;

/// Every entry of an RDB file.
fn read_rdb(path: &Path) -> Vec<Entry> {
    let data = std::fs::read(path).unwrap();
    let src = Source::new(&data[..]).with_size(data.len() as u64);
    let mut entries = Entries::new(Reader::new(src));
    let mut out = Vec::new();
    while let Some(item) = entries
        .next_item()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        if let Item::Entry(e) = item {
            out.push(*e);
        }
    }
    out
}

/// The RDB type byte of every key of a file.
fn rdb_types(path: &Path) -> BTreeMap<Vec<u8>, u8> {
    let data = std::fs::read(path).unwrap();
    let mut r = Reader::new(Source::new(&data[..]).with_size(data.len() as u64));
    let mut out = BTreeMap::new();
    while let Some(ev) = r.next_event().unwrap() {
        if let Event::KeyStart(k) = ev {
            out.insert(k.key.to_vec(), k.rdb_type);
        }
    }
    out
}

/// The streams of `entries`, consumer seen/active times zeroed when asked (a
/// replay sets them when it runs).
fn streams(entries: Vec<Entry>, zero_times: bool) -> Streams {
    let mut out = Streams::new();
    for e in entries {
        if let Value::Stream(mut s) = e.value {
            // A stream without IDMP state is one with the default state.
            s.idmp.get_or_insert_with(StreamIdmp::new);
            if zero_times {
                for g in &mut s.groups {
                    for c in &mut g.consumers {
                        c.seen_time_ms = 0;
                        c.active_time_ms = None;
                    }
                }
            }
            out.insert((e.db, e.key), *s);
        }
    }
    out
}

fn assert_streams_eq(label: &str, want: &Streams, got: &Streams) {
    let wk: Vec<_> = want.keys().collect();
    let gk: Vec<_> = got.keys().collect();
    assert_eq!(wk, gk, "{label}: stream keys");
    for (k, w) in want {
        assert_eq!(
            w,
            &got[k],
            "{label}: stream {:?} (db {})",
            String::from_utf8_lossy(&k.1),
            k.0
        );
    }
}

fn corpus_86() -> Option<PathBuf> {
    let c = common::corpus()?.join("redis-8.6.3/types.rdb");
    assert!(c.is_file(), "{} missing", c.display());
    Some(c)
}

fn save(s: &mut RedisServer) -> PathBuf {
    s.save()
}

#[test]
fn rdb13_streams_written_by_the_writer_load_in_redis_86() {
    let (Some(bin), Some(file)) = (servers::redis_86(), corpus_86()) else {
        return;
    };
    let original: Vec<Entry> = read_rdb(&file)
        .into_iter()
        .filter(|e| matches!(e.value, Value::Stream(_)))
        .collect();
    let has_producers = |e: &Entry| match &e.value {
        Value::Stream(s) => s.idmp.as_ref().is_some_and(|i| !i.producers.is_empty()),
        _ => false,
    };
    assert!(
        original.iter().any(has_producers),
        "the corpus file has a stream with IDMP producers"
    );
    let want = streams(original.clone(), false);
    let opts = WriterOptions {
        ctime: Some(1_700_000_000),
        ..WriterOptions::for_version(13)
    };
    let bytes = write_all(Vec::new(), opts, &[], original.clone(), |_| (0, 0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.rdb");
    std::fs::write(&ours, &bytes).unwrap();
    // Every stream is type 26 in RDB 13, and reads back as written.
    assert!(rdb_types(&ours).values().all(|t| *t == 26));
    assert_streams_eq("our RDB 13", &want, &streams(read_rdb(&ours), false));

    let mut s = RedisServer::start_bin(&bin, &["--dbfilename", "dump.rdb"], &[(&ours, "dump.rdb")]);
    let n = s.cmd(&["DBSIZE"]).int();
    assert_eq!(n as usize, want.len(), "{}", s.log());
    let saved = save(&mut s);
    assert_streams_eq("saved by 8.6.3", &want, &streams(read_rdb(&saved), false));

    // An older version cannot carry the IDMP state: refused, naming the key.
    let err = write_all(
        Vec::new(),
        WriterOptions::for_version(12),
        &[],
        original,
        |_| (0, 0),
    )
    .unwrap_err();
    match err {
        WriteError::Unrepresentable { key, version, .. } => {
            assert!(key.starts_with("stream:idmp"), "{key}");
            assert_eq!(version, 12);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn resp_dump_recreates_idmp_streams_in_redis_86() {
    let (Some(bin), Some(file)) = (servers::redis_86(), corpus_86()) else {
        return;
    };
    let out = common::run(&["dump", "--format", "resp", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmds = parse_resp(&out.stdout);
    assert!(cmds.iter().any(|c| c[0] == b"XIDMPRECORD"));
    assert!(cmds.iter().any(|c| c[0] == b"XCFGSET"));
    let mut s = RedisServer::start_bin(&bin, &[], &[]);
    for c in &cmds {
        if let Reply::Error(e) = s.cmd(c) {
            panic!("{:?}: {e}", String::from_utf8_lossy(&c.join(&b' ')));
        }
    }
    let saved = save(&mut s);
    // Commands cannot carry the all-time counters: a server running them
    // counts every recorded iid as added and no duplicate.
    let mut want = streams(read_rdb(&file), true);
    for st in want.values_mut() {
        if let Some(i) = &mut st.idmp {
            i.iids_added = i.iids_tracked() as u64;
            i.iids_duplicates = 0;
        }
    }
    assert_streams_eq("RESP run by 8.6.3", &want, &streams(read_rdb(&saved), true));
}

/// Commands, as words; `{ID}` is replaced by the id of the first entry of
/// `s:idmp` read from the server.
const WORKLOAD: &[&str] = &[
    "XADD s:idmp IDMP p1 a * f 1",
    "XADD s:idmp IDMP p1 b * f 2",
    "XADD s:idmp IDMP p1 a * f dup",
    "XADD s:idmp IDMP p2 a * f 3",
    "XCFGSET s:idmp IDMP-MAXSIZE 100",
    "XCFGSET s:idmp IDMP-MAXSIZE 2",
    "XADD s:idmp IDMP p1 c * f 4",
    "XADD s:idmp IDMP p1 d * f 5",
    "XADD s:idmp IDMP p1 e MAXLEN 100 * f 6",
    "XADD s:idmp IDMP p1 d MAXLEN 0 * f dup",
    "XIDMPRECORD s:idmp p3 x {ID}",
    "XIDMPRECORD s:idmp p3 x {ID}",
    "XADD s:cfg 1-0 a 1",
    "XCFGSET s:cfg IDMP-DURATION 1234 IDMP-MAXSIZE 10000",
    "XADD s:auto IDMPAUTO pa * k v",
    "XADD s:auto IDMPAUTO pa * k v",
    "XADD t 1-0 f 1",
    "XADD t 2-0 f 2",
    "XADD t 3-0 f 3",
    "XADD t 4-0 f 4",
    "XADD t 5-0 f 5",
    "XADD t 6-0 f 6",
    "XGROUP CREATE t g1 0",
    "XGROUP CREATE t g2 0",
    "XREADGROUP GROUP g1 c1 COUNT 3 STREAMS t >",
    "XREADGROUP GROUP g2 c2 COUNT 1 STREAMS t >",
    "XACK t g1 2-0",
    "XDELEX t ACKED IDS 4 1-0 2-0 3-0 4-0",
    "XDELEX t KEEPREF IDS 1 1-0",
    "XDELEX t DELREF IDS 1 3-0",
    "XDELEX t IDS 1 9-0",
    "XACKDEL t g2 ACKED IDS 1 5-0",
    "XACKDEL t g1 IDS 2 2-0 9-0",
    "XADD u 1-0 f 1",
    "XADD u 2-0 f 2",
    "XADD u 3-0 f 3",
    "XADD u 4-0 f 4",
    "XADD u 5-0 f 5",
    "XADD u 6-0 f 6",
    "XGROUP CREATE u g 0",
    "XREADGROUP GROUP g c COUNT 4 STREAMS u >",
    "XACK u g 1-0 3-0",
    "XTRIM u MAXLEN 2 ACKED",
    "XTRIM u MAXLEN = 3 DELREF",
    "XADD u KEEPREF MAXLEN 1 7-0 f 7",
    "XADD u DELREF MINID 8-0 8-0 f 8",
    "XADD v 1-0 f 1",
    "XADD v 2-0 f 2",
    "XADD v 3-0 f 3",
    "XADD v 4-0 f 4",
    "XGROUP CREATE v g 0",
    "XGROUP CREATE v h 0",
    "XREADGROUP GROUP g c COUNT 4 STREAMS v >",
    "XREADGROUP GROUP h c COUNT 2 STREAMS v >",
    "XACKDEL v g DELREF IDS 1 2-0",
    "XACKDEL v g ACKED IDS 2 3-0 1-0",
    "XACKDEL v g KEEPREF IDS 1 4-0",
];

fn aof_dir(s: &RedisServer) -> PathBuf {
    s.dir.path().join("appendonlydir")
}

/// Replays the files of the AOF directory `dir` with the engine.
fn replay(dir: &Path) -> Engine {
    let mut engine = Engine::new();
    for f in manifest_files(dir, "appendonly.aof.manifest") {
        let data = std::fs::read(&f).unwrap();
        engine.start_file();
        for cmd in parse_resp(&data) {
            let out = engine
                .apply(&cmd)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(
                !matches!(out, Outcome::Failed(_)),
                "{}: {:?} failed: {out:?}",
                f.display(),
                String::from_utf8_lossy(&cmd.join(&b' '))
            );
        }
        assert_eq!(engine.finish_file(), None);
    }
    engine
}

fn wait_rewrite(s: &mut RedisServer) {
    assert!(matches!(s.cmd(&["BGREWRITEAOF"]), Reply::Status(_)));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let info = String::from_utf8(s.cmd(&["INFO", "persistence"]).bytes()).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            std::thread::sleep(Duration::from_millis(200));
            return;
        }
        assert!(Instant::now() < deadline, "BGREWRITEAOF did not finish");
    }
}

#[test]
fn replayed_aof_of_redis_86_matches_the_server() {
    let Some(bin) = servers::redis_86() else {
        return;
    };
    let aof = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--aof-use-rdb-preamble",
        "no",
        "--appenddirname",
        "appendonlydir",
    ];
    let mut s = RedisServer::start_bin(&bin, &aof, &[]);
    // The AOF of an empty server before the workload: its base is empty.
    let mut first = None;
    for c in WORKLOAD {
        if c.contains("{ID}") && first.is_none() {
            let r = s.cmd(&["XRANGE", "s:idmp", "-", "+", "COUNT", "1"]).array();
            first = Some(String::from_utf8(r[0].array()[0].bytes()).unwrap());
        }
        let c = c.replace("{ID}", first.as_deref().unwrap_or(""));
        let words: Vec<&str> = c.split(' ').collect();
        if let Reply::Error(e) = s.cmd(&words) {
            panic!("{c}: {e}");
        }
    }
    // A binary producer and iid.
    let r = s.cmd(&[
        &b"XADD"[..],
        b"s:idmp",
        b"IDMP",
        b"p\x00\xff",
        b"\xfe\x00i",
        b"*",
        b"f",
        b"7",
    ]);
    assert!(matches!(r, Reply::Bulk(_)), "{r:?}");

    let live = streams(read_rdb(&save(&mut s)), true);
    let engine = replay(&aof_dir(&s));
    // IDMPAUTO's iid is computed by the server: its record is the one
    // difference, counted by the engine.
    assert_eq!(engine.stats().idmp_auto_unrecorded, 1);
    let mut want = live.clone();
    let auto = want.get_mut(&(0, b"s:auto".to_vec())).unwrap();
    let idmp = auto.idmp.as_mut().unwrap();
    assert_eq!((idmp.iids_added, idmp.iids_duplicates), (1, 1));
    assert_eq!(idmp.producers.len(), 1);
    idmp.producers.clear();
    let got = streams(engine.dataset().entries().collect(), true);
    assert_streams_eq("replayed AOF", &want, &got);

    // The rewrite (XCFGSET + XIDMPRECORD): what 8.6.3 loads from it.
    wait_rewrite(&mut s);
    let dir = aof_dir(&s);
    let engine = replay(&dir);
    let files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = format!("appendonlydir/{}", p.file_name().unwrap().to_str().unwrap());
            (p, name)
        })
        .collect();
    let refs: Vec<(&Path, &str)> = files
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    let mut reloaded = RedisServer::start_bin(&bin, &aof, &refs);
    let want = streams(read_rdb(&save(&mut reloaded)), true);
    assert!(
        want[&(0, b"s:auto".to_vec())]
            .idmp
            .as_ref()
            .is_some_and(|i| i.iids_tracked() == 1),
        "the rewrite carries the IDMPAUTO iid"
    );
    let got = streams(engine.dataset().entries().collect(), true);
    assert_streams_eq("replayed rewrite", &want, &got);
}
