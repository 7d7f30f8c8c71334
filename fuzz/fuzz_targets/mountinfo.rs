#![no_main]
//! `/proc/PID/mountinfo`: mount ids and escaped mount points.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = limier_platform::parse::parse_mount_points(data);
});
