#![no_main]
//! The byte stream of the kernel fd iterator (records of tgid, fd, start
//! time and path).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = limier_platform::parse::parse_fd_dump(data);
});
