//! Redis 8 vector sets against the real servers of `../shared/servers`: the
//! `VADD` commands `dump --format resp` writes re-create, in a fresh server of
//! the same version, sets with the same `DEBUG DIGEST-VALUE` (element names,
//! quantized vectors, quant type, attributes) as the server that loaded the
//! corpus file, and the same VEMB, VGETATTR, VCARD, VDIM and VINFO quant-type /
//! hnsw-m / vector-dim / projection-input-dim.

mod common;

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
    RedisServer::start_bin(bin, &extra, &files).unwrap_or_else(|e| panic!("{e}"))
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
        assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
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
            let what = format!("{version} {}: {}", file.display(), String::from_utf8_lossy(k));
            assert_eq!(want.len(), got.len(), "{what}");
            for (w, g) in want.iter().zip(&got) {
                assert!(same_observation(w, g), "{what}:\n  want {w}\n  got  {g}");
            }
        }
    }
}
