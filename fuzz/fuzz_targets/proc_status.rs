#![no_main]
//! `/proc/PID/status` (the Uid line).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = limier_platform::parse::parse_status_uid(data);
});
