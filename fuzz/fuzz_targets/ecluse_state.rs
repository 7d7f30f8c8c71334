#![no_main]
//! `.ecluse/state.json`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = limier::ecluse::State::parse(text);
    }
});
