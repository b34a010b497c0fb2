//! Any bytes decoded as a DUMP payload (what `RESTORE` takes), with and
//! without the CRC check: no panic, and the CRC switch changes nothing else
//! (the same value, or the same error, once the CRC is right).
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_persist::rdb::payload::decode;

fuzz_target!(|data: &[u8]| {
    let unchecked = decode(data, false);
    let checked = decode(data, true);
    match (&unchecked, &checked) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{:?}", a.value), format!("{:?}", b.value)),
        (Ok(a), Err(_)) => assert!(!a.crc_ok, "rejected with a right CRC"),
        (Err(a), Ok(_)) => panic!("accepted with the CRC check only: {a}"),
        (Err(_), Err(_)) => {}
    }
});
