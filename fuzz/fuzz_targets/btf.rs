#![no_main]
//! The kernel's BTF blob (`/sys/kernel/btf/vmlinux`) and the lookups the
//! iterator programs make in it (structs, functions, enum values).
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
        let [_, _, enums] = btf.type_ids(&["pid"], &["bpf_iter_task"], &["pid_type"]);
        if let Some(id) = enums[0] {
            let _ = btf.enum_value(id, "PIDTYPE_SID");
        }
    }
});
