//! `completions/` and `man/` must match what the clap definition generates.
//! Run `UPDATE_GENERATED=1 cargo test --release --test it generated::` to rewrite them.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for sub in ["completions", "man"] {
        let Ok(rd) = fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            let name = format!("{sub}/{}", e.file_name().to_string_lossy());
            m.insert(name, fs::read(e.path()).unwrap());
        }
    }
    m
}

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let root = common::root();
    let update = std::env::var_os("UPDATE_GENERATED").is_some();
    let tmp = tempfile::tempdir().unwrap();
    let target = if update {
        root.clone()
    } else {
        tmp.path().to_path_buf()
    };
    if update {
        let _ = fs::remove_dir_all(root.join("completions"));
        let _ = fs::remove_dir_all(root.join("man"));
    }
    common::generate_into(&target);
    if update {
        return;
    }
    let want = files(tmp.path());
    let have = files(&root);
    assert!(
        want.len() >= 5 + 6,
        "expected 5 completion files and 6 man pages, got {want:?}"
    );
    let want_names: Vec<_> = want.keys().collect();
    let have_names: Vec<_> = have.keys().collect();
    assert_eq!(
        want_names, have_names,
        "completions/ or man/ differ in their file list: run UPDATE_GENERATED=1 cargo test --release --test it generated::"
    );
    for (name, bytes) in &want {
        assert!(
            have[name] == *bytes,
            "{name} is stale: run UPDATE_GENERATED=1 cargo test --release --test it generated::"
        );
    }
}

#[test]
fn unbuilt_or_bad_usage_exits_2() {
    let out = common::run(&["check-rdb"]);
    assert_eq!(out.status.code(), Some(2));
}
