//! Deep validation against the upstream corrupt-payload suite
//! (`corpus/upstream/restore-payloads.json`, from Redis'
//! `tests/integration/corrupt-dump.tcl`): every payload Redis rejects with
//! `sanitize-dump-payload yes` is rejected, the ones it accepts are accepted, and
//! the legacy stream payloads of `stream-cgroups.tcl` load.

use crate::common;

use redis_persist::rdb::payload;
use serde_json::Value as J;

fn unhex(h: &str) -> Vec<u8> {
    common::expected::unhex(h)
}

#[test]
fn corrupt_dump_payloads_get_the_deep_sanitize_verdict() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let doc: J = serde_json::from_slice(
        &std::fs::read(corpus.join("upstream/restore-payloads.json")).unwrap(),
    )
    .unwrap();
    let cases = doc["corrupt_dump_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 81);
    let (mut rejected, mut accepted, mut wrong) = (0, 0, Vec::new());
    for case in cases {
        let skip_crc = case["checksum_validation_skipped"].as_bool().unwrap();
        for (i, r) in case["restores"].as_array().unwrap().iter().enumerate() {
            let bytes = unhex(r["payload_hex"].as_str().unwrap());
            let want_reject = r["observed_deep_sanitize"]
                .as_str()
                .unwrap()
                .starts_with("rejected");
            let got = payload::decode(&bytes, !skip_crc);
            match (&got, want_reject) {
                (Err(_), true) => rejected += 1,
                (Ok(_), false) => accepted += 1,
                _ => wrong.push(format!(
                    "{} (restore {i}, type {}): want {}, got {:?}",
                    case["name"],
                    r["type_byte"],
                    if want_reject { "rejected" } else { "accepted" },
                    got.map(|p| format!("{:?}", p.value)
                        .chars()
                        .take(200)
                        .collect::<String>())
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong verdicts:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        rejected >= 80 && accepted >= 1,
        "rejected {rejected}, accepted {accepted}"
    );
}

#[test]
fn legacy_stream_payloads_load() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let doc: J = serde_json::from_slice(
        &std::fs::read(corpus.join("upstream/restore-payloads.json")).unwrap(),
    )
    .unwrap();
    let cases = doc["valid_legacy_stream_payloads"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let p = payload::decode(&unhex(c["payload_hex"].as_str().unwrap()), true)
            .unwrap_or_else(|e| panic!("{}: {e}", c["name"]));
        let redis_persist::model::Value::Stream(s) = p.value else {
            panic!("not a stream")
        };
        assert!(!s.entries.is_empty());
        // RDB types 15/19 store no active time: the consumers have none.
        for g in &s.groups {
            for cn in &g.consumers {
                assert_eq!(cn.active_time_ms, None);
            }
        }
    }
}
