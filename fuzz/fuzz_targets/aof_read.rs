//! Any bytes checked as the RESP part of an AOF (what `check-aof` reads after
//! any RDB preamble) and simulated through the server's loader: no panic, and
//! the repair's promise: the valid prefix lies within the file and, cut there,
//! the file checks clean to its end with the same complete commands and
//! MULTI blocks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_persist::aof::check::check_resp_bytes;
use redis_persist::io::Source;

fuzz_target!(|data: &[u8]| {
    let r = check_resp_bytes(data, 1, None);
    let cut = usize::try_from(r.valid_up_to).unwrap();
    assert!(
        cut <= data.len(),
        "valid_up_to {cut} past the end {}",
        data.len()
    );
    if r.stop.is_some() {
        let again = check_resp_bytes(&data[..cut], 1, None);
        assert!(
            again.stop.is_none(),
            "the cut file stops again: {:?}",
            again.stop
        );
        assert_eq!(again.valid_up_to, r.valid_up_to);
        assert_eq!(again.commands + r.cut_commands, r.commands, "commands kept");
        assert_eq!(
            again.multi_blocks, r.multi_blocks,
            "complete MULTI blocks kept"
        );
    } else {
        assert_eq!(cut, data.len(), "no stop, yet not valid to the end");
    }
    let _ = redis_persist::aof::loader::simulate(Source::new(data).with_size(data.len() as u64));
});
