#![no_main]
//! `/proc/PID/cmdline` and `/proc/PID/environ` splitting; the sanitiser on the result.
use libfuzzer_sys::fuzz_target;
use limier_platform::parse::{parse_cmdline, parse_environ};

fuzz_target!(|data: &[u8]| {
    for word in parse_cmdline(data) {
        let shown = limier::sanitize::sanitize(word.as_bytes());
        assert!(!shown.chars().any(|c| c.is_control()), "control character survived sanitising");
    }
    for var in parse_environ(data) {
        assert!(!var.key.as_bytes().contains(&b'='));
    }
});
