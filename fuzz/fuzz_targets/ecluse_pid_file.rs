#![no_main]
//! ecluse pid files and their lstart tokens.
use libfuzzer_sys::fuzz_target;
use limier::ecluse::{token_matches, PidFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(file) = PidFile::parse(text) {
        assert!(file.pid > 0);
        if let Some(token) = &file.token {
            let _ = token_matches(token, 1_795_785_071_030);
        }
    }
});
