#![no_main]
//! Command-line value parsers: ports, pids, durations, signals, KEY=VALUE.
use libfuzzer_sys::fuzz_target;
use limier::cli::args::{parse_duration, parse_env_pair, parse_pid, parse_port_spec, parse_signal};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = parse_port_spec(text) {
        assert!(spec.port.0 >= 1);
    }
    if let Ok(pid) = parse_pid(text) {
        assert!(pid >= 1);
    }
    let _ = parse_duration(text);
    let _ = parse_signal(text);
    let _ = parse_env_pair(text);
});
