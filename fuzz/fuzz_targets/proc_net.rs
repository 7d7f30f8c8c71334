#![no_main]
//! `/proc/net/{tcp,tcp6,udp,udp6}`.
use libfuzzer_sys::fuzz_target;
use limier_platform::{parse::parse_proc_net, Protocol};

fuzz_target!(|data: &[u8]| {
    let _ = parse_proc_net(data, Protocol::Tcp);
    let _ = parse_proc_net(data, Protocol::Udp);
});
