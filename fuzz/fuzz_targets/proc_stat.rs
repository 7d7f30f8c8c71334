#![no_main]
//! `/proc/PID/stat` and the btime line of `/proc/stat`.
use libfuzzer_sys::fuzz_target;
use limier_platform::parse::{parse_boot_time, parse_stat};

fuzz_target!(|data: &[u8]| {
    if let Ok(stat) = parse_stat(data) {
        // A parsed comm always came from between the parentheses.
        assert!(stat.comm.as_bytes().len() < data.len());
    }
    let _ = parse_boot_time(data);
});
