#![no_main]
//! macOS raw buffers: KERN_PROCARGS2, vnode paths, region info.
use libfuzzer_sys::fuzz_target;
use limier_platform::parse::darwin::{parse_procargs2, region_from_buffer, vnode_path_at, FD_VNODE_PATH_OFFSET};

fuzz_target!(|data: &[u8]| {
    let _ = parse_procargs2(data);
    let _ = region_from_buffer(data);
    let _ = vnode_path_at(data, FD_VNODE_PATH_OFFSET);
    let _ = vnode_path_at(data, 0);
});
