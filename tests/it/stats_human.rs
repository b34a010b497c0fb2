//! The human `stats` report (issue 18): every line fits an 80- and a
//! 120-column terminal (`COLUMNS`), the prefix table and the TTL table
//! account for every key, and times are dates.

use crate::common;

fn report(columns: &str, extra: &[&str]) -> String {
    let f = common::root().join("testdata/stats/redis-7.0-mixed.rdb");
    let mut cmd = common::bin();
    cmd.env("COLUMNS", columns).arg("stats").args(extra).arg(&f);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The numbers in the `keys` column of the table under `title`, for the rows
/// of top-level prefixes (no indentation) or of every row.
fn column(text: &str, title: &str, top_level_only: bool) -> Vec<u64> {
    let table = text.split(title).nth(1).unwrap();
    let mut v = Vec::new();
    for line in table.lines().skip(1) {
        if line.starts_with('└') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('│').split('┆').collect();
        if cells.len() < 2 || (top_level_only && cells[0].starts_with("   ")) {
            continue;
        }
        if let Ok(n) = cells[1].trim().parse() {
            v.push(n);
        }
    }
    v
}

#[test]
fn fits_80_and_120_columns() {
    for (cols, w) in [("80", 80), ("120", 120)] {
        for top in ["20", "3"] {
            let text = report(cols, &["--top", top]);
            for line in text.lines() {
                assert!(
                    line.chars().count() <= w,
                    "COLUMNS={cols}: {} chars: {line}",
                    line.chars().count()
                );
            }
            // Nothing lost to the narrow layout: every section is there.
            for s in [
                "Types",
                "Encodings",
                "Biggest keys by serialized size",
                "Key prefixes",
                "TTLs",
            ] {
                assert!(text.contains(s), "COLUMNS={cols}: no {s}");
            }
            // A wide terminal shows the encodings in the top tables.
            let top_header_with_encodings = text
                .lines()
                .any(|l| l.contains("RDB encoding") && l.contains("elements"));
            assert_eq!(top_header_with_encodings, w >= 120, "COLUMNS={cols}");
        }
    }
}

#[test]
fn tables_account_for_every_key() {
    // 59 keys (README of testdata/stats).
    for top in ["20", "3", "1"] {
        let text = report("120", &["--top", top]);
        assert!(text.contains("keys: 59 in 2 database(s)"));
        let prefixes = column(&text, "Key prefixes", true);
        assert_eq!(
            prefixes.iter().sum::<u64>(),
            59,
            "--top {top}: {prefixes:?}\n{text}"
        );
        if top != "20" {
            assert!(text.contains("(other)"), "--top {top}");
        }
        let ttl = column(&text, "TTLs", false);
        assert_eq!(ttl.iter().sum::<u64>(), 59, "--top {top}: {ttl:?}");
    }
}

#[test]
fn times_are_dates() {
    let text = report("120", &["--now", "1700000000000"]);
    assert!(
        text.contains("TTLs (relative to 2023-11-14 22:13:20 UTC (1700000000000 ms))"),
        "{text}"
    );
}
