#![no_main]
//! `/proc/PID/maps`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(files) = limier_platform::parse::parse_maps(data) {
        for file in files {
            assert!(file.path.is_absolute());
        }
    }
});
