#![no_main]
//! The byte stream of the kernel roots iterator (fd, mount and dentry
//! addresses of limier's own fds).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = limier_platform::parse::parse_root_dump(data);
});
