#![no_main]
//! `/proc/PID/wchan`: the kernel symbol a sleeping task waits in.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(symbol) = limier_platform::parse::parse_wchan(data) {
        assert!(!symbol.is_empty() && symbol.len() <= 128);
        assert!(data.windows(symbol.len()).any(|w| w == symbol.as_bytes()));
    }
});
