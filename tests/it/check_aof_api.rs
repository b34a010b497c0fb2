//! The library API the replay and conversion code uses: `aof::open` on every corpus
//! AOF input (single files, hybrid files, multi-part directories and manifests),
//! files in load order, RDB preambles read with the RDB reader and the RESP
//! commands read after them with absolute offsets. The command counts must match
//! the checker's, and the commands must be what the server wrote.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use redis_persist::aof::{self, CommandReader, FileKind, Layout, Record};
use redis_persist::rdb;

/// Per file: kind, RDB keys, commands, first command offset, last command.
type FileRead = (FileKind, u64, u64, Option<u64>, Option<Vec<Vec<u8>>>);

/// Reads every file of an input the way a replay engine would.
fn read_input(path: &Path) -> Vec<FileRead> {
    let input = aof::open(path).unwrap();
    let mut out = Vec::new();
    let mut line = 1;
    for f in input.files() {
        let content = f.open().unwrap();
        let mut keys = 0;
        let src = if content.rdb_preamble().is_some() {
            let mut r = rdb::Reader::new(content.into_source());
            while let Some(ev) = r.next_event().unwrap() {
                if matches!(ev, rdb::Event::KeyStart(..)) {
                    keys += 1;
                }
            }
            r.into_source()
        } else {
            content.into_source()
        };
        let rdb_end = src.offset();
        let mut reader = CommandReader::with_line(src, line);
        let mut n = 0;
        let mut first = None;
        let mut last = None;
        let mut cmd = aof::Command::default();
        while reader.read_command_into(&mut cmd).unwrap() {
            assert!(cmd.offset >= rdb_end);
            first.get_or_insert(cmd.offset);
            n += 1;
            last = Some(cmd.args.clone());
        }
        line = reader.line();
        out.push((f.kind, keys, n, first, last));
    }
    out
}

#[test]
fn corpus_inputs_read_in_load_order() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut checked = 0;
    let mut versions: Vec<PathBuf> = fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    versions.sort();
    for v in versions {
        for entry in fs::read_dir(&v).unwrap() {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let is_input =
                (p.is_dir() && name.starts_with("aof-")) || name.starts_with("appendonly-");
            if !is_input {
                continue;
            }
            let files = read_input(&p);
            // The checker's counts agree.
            let out = common::run(&["check-aof", "--json", p.to_str().unwrap()]);
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            for (i, (kind, keys, n, first, last)) in files.iter().enumerate() {
                let f = &doc["files"][i];
                assert_eq!(f["commands"], *n, "{}", p.display());
                assert_eq!(f["kind"], kind_name(*kind));
                if f["format"] == "rdb-preamble" {
                    assert_eq!(f["rdb"]["keys"], *keys, "{}", p.display());
                    assert_eq!(
                        first.unwrap_or(f["size"].as_u64().unwrap()),
                        f["resp_start"].as_u64().unwrap()
                    );
                }
                if *kind == FileKind::Incr {
                    // Every incr file of the corpus ends with the workload's last
                    // write: the FLUSHDB of db 15.
                    let last = last.as_ref().unwrap();
                    assert!(
                        last[0].eq_ignore_ascii_case(b"flushdb"),
                        "{}: {last:?}",
                        p.display()
                    );
                }
            }
            if p.is_dir() {
                assert_eq!(aof::open(&p).unwrap().layout(), Layout::MultiPart);
                assert_eq!(files[0].0, FileKind::Base);
                assert!(files.iter().skip(1).all(|f| f.0 == FileKind::Incr));
            } else {
                assert_eq!(files.len(), 1);
                assert_eq!(files[0].0, FileKind::Single);
            }
            checked += 1;
        }
    }
    assert!(checked >= 22, "{checked}");
}

fn kind_name(k: FileKind) -> &'static str {
    match k {
        FileKind::Single => "single",
        FileKind::Base => "base",
        FileKind::Incr => "incr",
    }
}

#[test]
fn records_expose_annotations_and_timestamps() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("redis-7.0.15/aof-timestamps");
    let input = aof::open(&dir).unwrap();
    let incr = input.files().last().unwrap();
    let mut reader = incr.open().unwrap().commands();
    let mut ts = Vec::new();
    let mut cmds = 0;
    while let Some(rec) = reader.next_record().unwrap() {
        match rec {
            Record::Annotation(a) => {
                assert!(a.text.starts_with(b"TS:"));
                ts.push(a.timestamp.unwrap());
            }
            Record::Command(c) => {
                assert!(!c.args.is_empty());
                cmds += 1;
            }
        }
    }
    assert!(ts.len() >= 2, "{ts:?}");
    assert!(ts.windows(2).all(|w| w[0] < w[1]));
    assert!(cmds > 10);
}

#[test]
fn manifest_errors_are_errors_for_replay() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("appendonly.aof.manifest"),
        "file a seq 0 type i\n",
    )
    .unwrap();
    let e = aof::open(tmp.path()).unwrap_err();
    assert!(
        matches!(e.kind(), aof::ErrorKind::Manifest(m) if m.kind == aof::ManifestErrorKind::InvalidFormat)
    );
    assert!(
        e.to_string().contains("Invalid AOF manifest file format"),
        "{e}"
    );
}
