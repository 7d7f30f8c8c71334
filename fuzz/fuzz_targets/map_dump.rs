#![no_main]
//! The byte stream of the kernel mapping iterator (records of tgid, start
//! time, inode and path).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = limier_platform::parse::parse_map_dump(data);
});
