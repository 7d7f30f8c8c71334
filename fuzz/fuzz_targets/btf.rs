#![no_main]
//! The kernel's BTF blob (`/sys/kernel/btf/vmlinux`) and the lookups the fd
//! iterator makes in it.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = limier_platform::parse::parse_btf(data) {
        let _ = btf.function_id("bpf_iter_task_file");
        for (structure, member) in [
            ("task_struct", "tgid"),
            ("file", "f_path"),
            ("inode", "i_mode"),
            ("loop", "x"),
        ] {
            let _ = btf.member_offset(structure, member);
        }
    }
});
