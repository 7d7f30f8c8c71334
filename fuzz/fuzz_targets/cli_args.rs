#![no_main]
//! Typed values (limier::input): ports, pids, durations, signals, KEY=VALUE.
use libfuzzer_sys::fuzz_target;
use limier::input::{DurationSpec, EnvTag, PidSpec, PortSpec, SweepSignal};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = text.parse::<PortSpec>() {
        assert!(spec.port.0 >= 1);
        // What is printed parses back to the same value.
        assert_eq!(spec.to_string().parse::<PortSpec>(), Ok(spec));
    }
    if let Ok(pid) = text.parse::<PidSpec>() {
        assert!(pid.0 .0 >= 1);
    }
    if let Ok(duration) = text.parse::<DurationSpec>() {
        assert!(duration.0.as_secs() <= 86_400);
    }
    if let Ok(signal) = text.parse::<SweepSignal>() {
        assert!(!matches!(signal.0, limier::Signal::Stop | limier::Signal::Cont));
    }
    if let Ok(tag) = text.parse::<EnvTag>() {
        assert!(!tag.key.is_empty());
    }
});
