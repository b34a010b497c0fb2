//! Redis 8 vector sets against the real servers of `../shared/servers`: the
//! `VADD` commands `dump --format resp` writes re-create, in a fresh server of
//! the same version, sets with the same `DEBUG DIGEST-VALUE` (element names,
//! quantized vectors, quant type, attributes) as the server that loaded the
//! corpus file, and the same VEMB, VGETATTR, VCARD, VDIM and VINFO quant-type /
//! hnsw-m / vector-dim / projection-input-dim.

use crate::common;

use std::path::{Path, PathBuf};

use common::{RedisServer, Reply, servers};

/// The corpus file holding the five `vset:*` keys that a version's server
/// loads and that we read to the end (8.6.3's `types.rdb` also holds type-26
/// streams).
fn corpus_files(corpus: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("redis-8.0.6", corpus.join("redis-8.0.6/types.rdb")),
        (
            "redis-8.0.6",
            corpus.join("redis-8.0.6/aof-preamble/appendonly.aof.2.base.rdb"),
        ),
        ("redis-8.6.3", corpus.join("redis-8.6.3/types-nostream.rdb")),
    ]
}

fn start(bin: &Path, rdb: Option<&Path>) -> RedisServer {
    let mut extra = vec!["--enable-debug-command", "yes"];
    let files: Vec<(&Path, &str)> = rdb.map(|p| (p, "dump.rdb")).into_iter().collect();
    extra.extend(["--dbfilename", "dump.rdb"]);
    RedisServer::try_start_bin(bin, &extra, &files).unwrap_or_else(|e| panic!("{e}"))
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.bytes()).into_owned()
}

/// Two observations agree: equal, except VEMB components, which agree to a
/// relative 2^-20: `VADD` of VEMB values normalizes and quantizes again, so the
/// re-added element's l2 and Q8 range may differ in their last bits (FORMATS.md
/// §8.5.11.2); the digest, which covers the quantized vectors, is exact.
fn same_observation(want: &str, got: &str) -> bool {
    if want == got {
        return true;
    }
    let (Some((wn, wv)), Some((gn, gv))) = (want.split_once(" vemb "), got.split_once(" vemb "))
    else {
        return false;
    };
    let (Some((wv, wa)), Some((gv, ga))) = (wv.split_once(" attr "), gv.split_once(" attr "))
    else {
        return false;
    };
    let nums = |s: &str| -> Vec<f64> { s.split(' ').map(|x| x.parse().unwrap()).collect() };
    let (wv, gv) = (nums(wv), nums(gv));
    wn == gn
        && wa == ga
        && wv.len() == gv.len()
        && wv
            .iter()
            .zip(&gv)
            .all(|(a, b)| (a - b).abs() <= a.abs().max(b.abs()) * f64::powi(2.0, -20))
}

/// What we compare of one vector set, read from a live server.
fn observe(s: &mut RedisServer, key: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!(
        "digest {}",
        text(&s.cmd(&[&b"DEBUG"[..], b"DIGEST-VALUE", key]).array()[0])
    ));
    out.push(format!("card {}", s.cmd(&[&b"VCARD"[..], key]).int()));
    out.push(format!("dim {}", s.cmd(&[&b"VDIM"[..], key]).int()));
    let info = s.cmd(&[&b"VINFO"[..], key]).array();
    for pair in info.chunks(2) {
        let name = text(&pair[0]);
        if [
            "quant-type",
            "hnsw-m",
            "vector-dim",
            "projection-input-dim",
            "size",
            "attributes-count",
        ]
        .contains(&name.as_str())
        {
            let v = match &pair[1] {
                Reply::Int(i) => i.to_string(),
                other => text(other),
            };
            out.push(format!("{name} {v}"));
        }
    }
    let mut names: Vec<Vec<u8>> = s
        .cmd(&[&b"VRANDMEMBER"[..], key, b"1000000"])
        .array()
        .iter()
        .map(Reply::bytes)
        .collect();
    names.sort();
    for n in names {
        let vemb: Vec<String> = s
            .cmd(&[&b"VEMB"[..], key, &n])
            .array()
            .iter()
            .map(text)
            .collect();
        let attr = match s.cmd(&[&b"VGETATTR"[..], key, &n]) {
            Reply::Bulk(None) => "nil".to_string(),
            other => text(&other),
        };
        out.push(format!(
            "{} vemb {} attr {attr}",
            String::from_utf8_lossy(&n),
            vemb.join(" ")
        ));
    }
    out
}

#[test]
fn resp_vadd_recreates_vector_sets_with_the_same_digest() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for (version, file) in corpus_files(&corpus) {
        let Some(bin) = servers::server_bin(version) else {
            return;
        };
        let mut original = start(&bin, Some(&file));
        let keys: Vec<Vec<u8>> = original
            .cmd(&["KEYS", "vset:*"])
            .array()
            .iter()
            .map(Reply::bytes)
            .collect();
        assert_eq!(keys.len(), 5, "{}: vset keys", file.display());
        let out = common::run(&[
            "dump",
            "--format",
            "resp",
            "--key",
            "vset:*",
            file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut fresh = start(&bin, None);
        for r in fresh.pipe_all(&out.stdout) {
            assert!(
                !matches!(r, Reply::Error(_)),
                "{version} {}: {r:?}",
                file.display()
            );
        }
        for k in &keys {
            let want = observe(&mut original, k);
            let got = observe(&mut fresh, k);
            let what = format!(
                "{version} {}: {}",
                file.display(),
                String::from_utf8_lossy(k)
            );
            assert_eq!(want.len(), got.len(), "{what}");
            for (w, g) in want.iter().zip(&got) {
                assert!(same_observation(w, g), "{what}:\n  want {w}\n  got  {g}");
            }
        }
    }
}

/// The vector set workload of the replay test: every quantization, REDUCE,
/// M, attributes (set, changed, removed), an update, removals (id gaps), a
/// binary name, FP32 input, and a set emptied by VREM.
fn vector_workload(s: &mut RedisServer) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        format!("{:.6}", (x % 2_000_001) as f64 / 1_000_000.0 - 1.0)
    };
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut vadd = |key: &str,
                    pre: &[&str],
                    dim: usize,
                    el: &[u8],
                    post: &[&str],
                    r: &mut dyn FnMut() -> String| {
        let mut c: Vec<Vec<u8>> = vec![b"VADD".to_vec(), key.into()];
        c.extend(pre.iter().map(|a| a.as_bytes().to_vec()));
        c.push(b"VALUES".to_vec());
        c.push(dim.to_string().into_bytes());
        for _ in 0..dim {
            c.push(r().into_bytes());
        }
        c.push(el.to_vec());
        c.extend(post.iter().map(|a| a.as_bytes().to_vec()));
        cmds.push(c);
    };
    for i in 0..40 {
        let el = format!("q{i}");
        vadd("vs:q8", &[], 8, el.as_bytes(), &[], &mut rnd);
        vadd(
            "vs:noquant",
            &[],
            5,
            el.as_bytes(),
            &["NOQUANT", "EF", "50"],
            &mut rnd,
        );
        vadd(
            "vs:bin",
            &[],
            70,
            el.as_bytes(),
            &["BIN", "M", "8"],
            &mut rnd,
        );
        vadd(
            "vs:reduce",
            &["REDUCE", "3"],
            8,
            el.as_bytes(),
            &[],
            &mut rnd,
        );
        vadd(
            "vs:reduce10",
            &["REDUCE", "4"],
            10,
            el.as_bytes(),
            &["NOQUANT"],
            &mut rnd,
        );
    }
    // Not `CAS`: Redis 8.6.3 aborts (assertion) loading an AOF with a `VADD
    // … CAS` into an existing set (our replay ignores the option).
    vadd(
        "vs:q8",
        &[],
        8,
        b"bin:\x00\xff",
        &["SETATTR", "{\"a\":1}"],
        &mut rnd,
    );
    vadd("vs:q8", &[], 8, b"q3", &[], &mut rnd);
    vadd("vs:q8", &[], 8, b"q4", &["SETATTR", "{\"u\":2}"], &mut rnd);
    vadd("vs:gone", &[], 3, b"only", &[], &mut rnd);
    for c in &cmds {
        assert!(!matches!(s.cmd(c), Reply::Error(_)), "{c:?}");
    }
    let zero: Vec<u8> = [0.0f32, -0.0, 0.5]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let rest: [Vec<&[u8]>; 6] = [
        vec![b"VADD", b"vs:fp32", b"FP32", &zero, b"z", b"NOQUANT"],
        vec![b"VSETATTR", b"vs:q8", b"q1", b"{\"k\":\"v\"}"],
        vec![b"VSETATTR", b"vs:q8", b"bin:\x00\xff", b""],
        vec![b"VREM", b"vs:q8", b"q7"],
        vec![b"VREM", b"vs:noquant", b"q39"],
        vec![b"VREM", b"vs:gone", b"only"],
    ];
    for c in &rest {
        assert!(!matches!(s.cmd(c), Reply::Error(_)), "{c:?}");
    }
}

/// `convert-aof-to-hybrid` of an AOF written by Redis 8.6.3 from VADD, VREM
/// and VSETATTR commands writes vector sets that Redis 8.6.3 loads with the
/// same DEBUG DIGEST-VALUE (and VEMB, VGETATTR, VCARD, VDIM, VINFO) as the
/// server that ran the commands.
#[test]
fn converted_aof_with_vadd_loads_with_the_same_digests() {
    let Some(bin) = servers::server_bin("redis-8.6.3") else {
        return;
    };
    let mut writer = RedisServer::try_start_bin(
        &bin,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--enable-debug-command",
            "yes",
        ],
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    vector_workload(&mut writer);
    let mut keys: Vec<Vec<u8>> = writer
        .cmd(&["KEYS", "vs:*"])
        .array()
        .iter()
        .map(Reply::bytes)
        .collect();
    keys.sort();
    assert_eq!(keys.len(), 6, "{keys:?}");
    let aof = writer.dir.path().join("appendonlydir");
    // The reference: the same server version loading the AOF (an update of
    // an existing element by VADD is applied but not propagated by 8.6.3, so
    // the writer itself holds a newer vector for `q3` and `q4`).
    let files = aof_files(&aof);
    let files: Vec<(&Path, &str)> = files
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    let mut reference =
        RedisServer::try_start_bin(&bin, &AOF_ARGS, &files).unwrap_or_else(|e| panic!("{e}"));
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let o = common::run(&[
        "convert-aof-to-hybrid",
        aof.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["commands_failed"], 0, "{j}");
    let names = aof_files(&out);
    let files: Vec<(&Path, &str)> = names
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    let mut loaded =
        RedisServer::try_start_bin(&bin, &AOF_ARGS, &files).unwrap_or_else(|e| panic!("{e}"));
    let mut got_keys: Vec<Vec<u8>> = loaded
        .cmd(&["KEYS", "*"])
        .array()
        .iter()
        .map(Reply::bytes)
        .collect();
    got_keys.sort();
    assert_eq!(got_keys, keys);
    let mut updated = 0;
    for k in &keys {
        let want = observe(&mut reference, k);
        updated += usize::from(want != observe(&mut writer, k));
        let got = observe(&mut loaded, k);
        let diff: Vec<String> = want
            .iter()
            .zip(&got)
            .filter(|(w, g)| w != g)
            .map(|(w, g)| format!("want {w}\n  got  {g}"))
            .collect();
        assert!(
            diff.is_empty() && want.len() == got.len(),
            "{}:\n  {}",
            String::from_utf8_lossy(k),
            diff.join("\n  ")
        );
    }
    // Only `vs:q8` had non-propagated updates.
    assert_eq!(updated, 1);
}

/// Arguments of a server loading an AOF directory `appendonlydir`.
const AOF_ARGS: [&str; 6] = [
    "--appendonly",
    "yes",
    "--appenddirname",
    "appendonlydir",
    "--enable-debug-command",
    "yes",
];

/// The files of an AOF directory, as (path, name under `appendonlydir/`).
fn aof_files(dir: &Path) -> Vec<(PathBuf, String)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.path(),
                format!("appendonlydir/{}", e.file_name().to_string_lossy()),
            )
        })
        .collect()
}

/// Our verdict on a DUMP payload: `None` when valid, else why not.
fn our_verdict(payload: &[u8]) -> Option<String> {
    use redis_persist::model::Value;
    use redis_persist::rdb::vectorset;
    match redis_persist::rdb::payload::decode(payload, true) {
        Err(e) => Some(e.to_string()),
        Ok(p) => match p.value {
            Value::Module(m) if vectorset::is_vectorset(m.module_id) => {
                vectorset::decode(m.encver, &m.raw, u32::from(p.version))
                    .err()
                    .map(|e| e.to_string())
            }
            _ => Some("not a vector set".into()),
        },
    }
}

/// Byte mutations of the corpus vector sets, as DUMP payloads (CRC fixed):
/// a live server of the same version (`RESTORE`, which runs the module's
/// loader) refuses exactly the ones our decoder refuses. (`redis-check-rdb`
/// cannot be the reference: it skips module values by their framing.)
#[test]
fn mutated_vector_sets_get_the_real_loaders_verdict() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let cases = [
        (
            "redis-8.0.6",
            "types.rdb",
            12u16,
            &["vset:q8", "vset:bin", "vset:noquant"][..],
        ),
        (
            "redis-8.6.3",
            "types-nostream.rdb",
            13,
            &["vset:q8", "vset:reduce", "vset:bin", "vset:noquant"],
        ),
    ];
    let mut failures = Vec::new();
    let (mut refused, mut total) = (0, 0);
    for (version, name, rdb_version, keys) in cases {
        let Some(bin) = servers::server_bin(version) else {
            return;
        };
        let mut srv = start(&bin, Some(&corpus.join(version).join(name)));
        for key in keys {
            let Reply::Bulk(Some(orig)) = srv.cmd(&["DUMP", key]) else {
                panic!("DUMP {key}");
            };
            assert!(our_verdict(&orig).is_none(), "{version} {key}");
            assert_eq!(
                &orig[orig.len() - 10..orig.len() - 8],
                &rdb_version.to_le_bytes()
            );
            // Mutate the module data (after the type byte and the 9-byte id),
            // not the footer.
            for i in 10..orig.len() - 10 {
                for v in [orig[i] ^ 0x01, orig[i] ^ 0x80, 0x00, 0x7f] {
                    if v == orig[i] {
                        continue;
                    }
                    let mut p = orig[..orig.len() - 8].to_vec();
                    p[i] = v;
                    let crc = redis_persist::io::crc64(&p);
                    p.extend_from_slice(&crc.to_le_bytes());
                    let ours = our_verdict(&p);
                    let real = srv.cmd(&[&b"RESTORE"[..], b"m", b"0", &p, b"REPLACE"]);
                    let accepted = real == Reply::Status("OK".into());
                    total += 1;
                    refused += usize::from(!accepted);
                    if accepted != ours.is_none() {
                        failures.push(format!(
                            "{version} {key} byte {i} -> {v:#04x}: ours {ours:?}, RESTORE {real:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        refused > total / 4,
        "only {refused} of {total} mutations refused"
    );
    common::assert_no_failures(&failures);
}
