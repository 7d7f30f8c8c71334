#![no_main]
//! `.ecluse.toml` and the port formula on whatever it yields.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(config) = limier::ecluse::Config::parse(text) {
        for service in &config.services {
            for slot in 0..=config.max_slots {
                let _ = service.port(slot, config.stride());
                let _ = service.extra_ports(slot, config.stride());
            }
        }
    }
});
