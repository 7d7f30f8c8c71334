//! Where the mapping readers' time goes, on the processes running now.
//!
//!     LIMIER_TIME_BELOW=DIR cargo bench --bench maps
//!
//! Reads every process's mappings one thread at a time: by the maps text,
//! by the kernel's mapping reader for every file, by that reader asked only
//! for the files below one directory (`LIMIER_TIME_BELOW`, or an empty
//! one: nothing below it), and by a program that does nothing — the
//! kernel's walk alone, the floor of every reader built on the iterator.
//! Needs root (the reader loads a BPF iterator); run it beside a load
//! (`benches/support/load.py`) to see dev-server-like processes.

#[cfg(target_os = "linux")]
fn main() {
    use limier::platform::{empty_vma_walk, Backend, MapReader, MapRoots, ProcessId};
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    let backend = Backend::new().expect("the live /proc");
    let proc_root = Path::new("/proc");
    let ticks = backend.ticks_per_second();
    let empty = tempfile::tempdir().expect("a temporary directory");
    let below_dir: PathBuf = std::env::var_os("LIMIER_TIME_BELOW")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::fs::canonicalize(empty.path()).expect("canonical"));
    let every = match MapReader::new(proc_root, ticks, None) {
        Ok(reader) => reader,
        Err(err) => {
            eprintln!("maps bench: no kernel mapping reader here ({err}); run it as root");
            return;
        }
    };
    let roots = MapRoots::resolve(proc_root, std::slice::from_ref(&below_dir)).expect("roots");
    let below = MapReader::new(proc_root, ticks, Some(&roots)).expect("the reader below");
    let processes: Vec<_> = std::fs::read_dir(proc_root)
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(|pid: u32| {
            let dir = backend.open_process(ProcessId(pid)).ok()?;
            let start = dir.stat().ok()?.start;
            Some((dir, start))
        })
        .collect();
    let time = |read: &dyn Fn(
        &limier::platform::ProcessDir,
        limier::platform::StartTime,
    ) -> Option<usize>| {
        let started = Instant::now();
        let (mut files, mut missed) = (0, 0);
        for (dir, start) in &processes {
            match read(dir, *start) {
                Some(found) => files += found,
                None => missed += 1,
            }
        }
        (started.elapsed(), files, missed)
    };
    let text = time(&|dir, _| dir.maps_text().ok().map(|f| f.len()));
    let reader = time(&|dir, start| every.read(dir, start).map(|f| f.len()));
    let reader_below = time(&|dir, start| below.read(dir, start).map(|f| f.len()));
    let pids: Vec<ProcessId> = processes.iter().map(|(dir, _)| dir.pid()).collect();
    let walk = empty_vma_walk(&pids).expect("the empty program");
    println!("{} processes, one thread:", processes.len());
    println!("| reader | time | files | not read |");
    println!("|---|---:|---:|---:|");
    for (name, (took, files, missed)) in [
        ("maps text", text),
        ("kernel reader, every file", reader),
        ("kernel reader, below the directory", reader_below),
    ] {
        println!("| {name} | {took:.2?} | {files} | {missed} |");
    }
    println!("| empty program (the walk alone) | {walk:.2?} | | |");
    println!("(below: {})", below_dir.display());
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("maps bench: the mapping readers are Linux's");
}
