#![no_main]
//! The byte streams of the kernel task iterators: the process table
//! (fixed records of stat's fields) and the visits (tgid, start time).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = limier_platform::parse::parse_task_dump(data) {
        for row in rows {
            let _ = row.tty_nr();
            let _ = row.into_stat(10_000_000);
        }
    }
    let _ = limier_platform::parse::parse_visit_dump(data);
});
