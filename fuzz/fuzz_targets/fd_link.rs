#![no_main]
//! readlink targets of `/proc/PID/fd/N`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = limier_platform::parse::parse_fd_link(data);
});
