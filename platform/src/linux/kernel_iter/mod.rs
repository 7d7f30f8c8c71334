//! Every process's open fds, or its mapped files, in one pass: BPF
//! `task_file` and `task_vma` iterators.
//!
//! Reading fds through `/proc/PID/fd` costs a readlinkat(2) per fd (a path
//! lookup, a ptrace check and a d_path each); on a machine with tens of
//! thousands of fds that is most of a snapshot. With CAP_BPF and CAP_PERFMON
//! (root), limier instead loads a small iterator program, assembled at run
//! time from the running kernel's BTF, which walks every task's fd table in
//! the kernel and writes, per fd, the same text readlink would return
//! (`bpf_d_path`). Nothing is stat(2)ed: d_path reads dentries only, so a
//! dead NFS or FUSE mount cannot block it either.
//!
//! The dump is used only where it is exact: limier must run in the initial
//! pid namespace (the program sees global pids), and a process's fds are
//! taken from it only when its start time matches (see [`FdTable::take`]).
//! Anything else falls back to readlink.
//!
//! Mapped files are read the same way ([`MapReader`]): `/proc/PID/maps`
//! formats every mapping as text and renders its path once per mapping,
//! while the `task_vma` program renders each file once per run of
//! mappings, with the same exactness rules (the incarnation must match; a
//! path it cannot render sends that process back to its maps file).

mod assembler;
mod layout;
mod program;
mod roots;
mod syscall;
mod task_program;
mod vma_program;

pub use roots::MapRoots;

use crate::error::PlatformError;
use crate::fd_table::{FdScope, FdTable};
use crate::parse::{
    first_of_each_path, parse_fd_dump, parse_map_dump, strip_deleted, MapDumpEntry, MapDumpFile,
};
use crate::records::{MappedFile, StartTime};
use layout::kernel_layout;
#[cfg(test)]
use layout::VMLINUX_BTF;
use program::{assemble, SCRATCH_SIZE};
use rustix::fd::{AsRawFd, OwnedFd};
use std::io;
use std::path::Path;
use syscall::{bpf_fd, Attr};
use task_program::{assemble_tasks, assemble_visits};
use vma_program::{assemble_vma, VMA_SCRATCH_SIZE};

/// The inode of the initial pid namespace (`PROC_PID_INIT_INO`).
const INIT_PID_NS: &[u8] = b"pid:[4026531836]";

const MAP_TYPE_ARRAY: u32 = 2;
const MAP_TYPE_PERCPU_ARRAY: u32 = 6;
const PROG_TYPE_TRACING: u32 = 26;
const ATTACH_TRACE_ITER: u32 = 28;

fn bpf_error(step: &'static str, source: io::Error) -> PlatformError {
    PlatformError::Bpf {
        step,
        source,
        refusal: None,
    }
}

/// Whether the iterator's global pids are the pids `/proc` shows.
///
/// # References
/// pid_namespaces(7), proc(5) `/proc/self`, `/proc/pid/ns/`.
fn in_initial_pid_namespace(proc_root: &Path) -> bool {
    let ns = rustix::fs::readlink(proc_root.join("self/ns/pid"), Vec::new());
    let own = rustix::fs::readlink(proc_root.join("self"), Vec::new());
    match (ns, own) {
        (Ok(ns), Ok(own)) => {
            ns.as_bytes() == INIT_PID_NS
                && own.as_bytes() == std::process::id().to_string().as_bytes()
        }
        _ => false,
    }
}

/// Creates a one-entry scratch map of `size` bytes records are built in:
/// per CPU for the fd program, shared for the mapping program (which keeps
/// state from one mapping to the next).
///
/// # References
/// bpf(2) `BPF_MAP_CREATE`.
fn scratch_map(kind: u32, size: u32) -> Result<OwnedFd, PlatformError> {
    let mut attr = Attr::new().u32(0, kind).u32(4, 4).u32(8, size).u32(12, 1);
    // SAFETY: the attr holds no pointer.
    unsafe { bpf_fd(syscall::MAP_CREATE, &mut attr) }
        .map_err(|err| bpf_error("creating the scratch map", err))
}

/// Loads the program; on a verifier refusal, loads it again with a log to
/// say why.
///
/// # References
/// bpf(2) `BPF_PROG_LOAD`; Linux `Documentation/bpf/bpf_iterators.rst`.
fn load_program(
    insns: &[u64],
    attach_id: u32,
    name: &[u8],
    step: &'static str,
) -> Result<OwnedFd, PlatformError> {
    let license = b"GPL\0";
    let attempt = |log: &mut [u8]| {
        let mut attr = Attr::new()
            .u32(0, PROG_TYPE_TRACING)
            .u32(4, insns.len() as u32)
            .u64(8, insns.as_ptr() as u64)
            .u64(16, license.as_ptr() as u64)
            .name(48, name)
            .u32(68, ATTACH_TRACE_ITER)
            .u32(108, attach_id);
        if !log.is_empty() {
            attr = attr
                .u32(24, 1)
                .u32(28, log.len() as u32)
                .u64(32, log.as_mut_ptr() as u64);
        }
        // SAFETY: `insns` (insns.len() instructions), `license` (NUL-
        // terminated) and `log` (log.len() writable bytes) are borrowed for
        // the whole call.
        unsafe { bpf_fd(syscall::PROG_LOAD, &mut attr) }
    };
    if let Ok(program) = attempt(&mut []) {
        return Ok(program);
    }
    let mut log = vec![0u8; 64 * 1024];
    let err = match attempt(&mut log) {
        Ok(program) => return Ok(program),
        Err(err) => err,
    };
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let mut tail: Vec<&str> = text.lines().rev().take(3).collect();
    tail.reverse();
    Err(PlatformError::Bpf {
        step,
        source: err,
        refusal: Some(crate::VerifierRefusal {
            kernel: crate::os_release(),
            log: tail.join(" / "),
        }),
    })
}

/// Attaches the program as an iterator — over every task, or over the
/// process `pid` only — and reads the whole dump into `dump`.
///
/// # References
/// bpf(2) `BPF_LINK_CREATE` (`bpf_iter_link_info.task`), `BPF_ITER_CREATE`;
/// read(2).
fn run_into(program: &OwnedFd, pid: Option<u32>, dump: &mut Vec<u8>) -> Result<(), PlatformError> {
    // struct bpf_iter_link_info { struct { u32 tid, pid, pid_fd; } task; }
    let info: [u32; 3] = [0, pid.unwrap_or(0), 0];
    let mut attr = Attr::new()
        .u32(0, program.as_raw_fd() as u32)
        .u32(8, ATTACH_TRACE_ITER);
    if pid.is_some() {
        attr = attr.u64(16, info.as_ptr() as u64).u32(24, 12);
    }
    // SAFETY: `info` (12 bytes, the length stored) lives past the call.
    let link = unsafe { bpf_fd(syscall::LINK_CREATE, &mut attr) }
        .map_err(|err| bpf_error("attaching an iterator", err))?;
    let mut attr = Attr::new().u32(0, link.as_raw_fd() as u32);
    // SAFETY: the attr holds no pointer.
    let iterator = unsafe { bpf_fd(syscall::ITER_CREATE, &mut attr) }
        .map_err(|err| bpf_error("creating an iterator", err))?;
    loop {
        if dump.capacity() - dump.len() < 64 * 1024 {
            dump.reserve(dump.capacity().max(64 * 1024));
        }
        // rustix's spare-capacity buffer lengthens `dump` by what read(2)
        // filled.
        match rustix::io::read(&iterator, rustix::buffer::spare_capacity(dump)) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            // EAGAIN: the kernel visited a million fds without output in
            // one read (sockets scope) and yields; the next read resumes.
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
            Err(err) => return Err(bpf_error("reading an iterator", err.into())),
        }
    }
}

/// Reads a whole dump over every task.
fn run(program: &OwnedFd) -> Result<Vec<u8>, PlatformError> {
    let mut dump = Vec::with_capacity(1 << 20);
    run_into(program, None, &mut dump)?;
    Ok(dump)
}

/// The clock of a pass: boot-clock ticks when it began, and nanoseconds
/// per tick.
fn pass_clock(ticks_per_second: u64) -> (u64, u64) {
    let ns_per_tick = 1_000_000_000 / ticks_per_second.max(1);
    let began = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let began_ns = began.tv_sec as u64 * 1_000_000_000 + began.tv_nsec as u64;
    (began_ns / ns_per_tick, ns_per_tick)
}

fn require_initial_pid_namespace(proc_root: &Path) -> Result<(), PlatformError> {
    if in_initial_pid_namespace(proc_root) {
        Ok(())
    } else {
        Err(PlatformError::Unsupported {
            what: "the BPF iterators outside the initial pid namespace",
        })
    }
}

/// Dumps the fds of every process (or only their sockets) in one pass.
///
/// Fails, and the caller reads `/proc/PID/fd` instead, when the kernel lacks
/// BTF or BPF iterators, when limier lacks CAP_BPF/CAP_PERFMON, or when it
/// runs in a pid namespace other than the initial one.
///
/// # References
/// bpf(2); bpf-helpers(7) (`bpf_d_path`, `bpf_seq_write`); Linux
/// `Documentation/bpf/bpf_iterators.rst`.
pub fn dump_fds(
    proc_root: &Path,
    scope: FdScope,
    ticks_per_second: u64,
) -> Result<FdTable, PlatformError> {
    require_initial_pid_namespace(proc_root)?;
    let layout = kernel_layout()?;
    let map = scratch_map(MAP_TYPE_PERCPU_ARRAY, SCRATCH_SIZE)?;
    let insns = assemble(
        &layout.offsets,
        layout.below.as_ref(),
        scope,
        map.as_raw_fd(),
    );
    let program = load_program(
        &insns,
        layout.file_iterator,
        b"limier_fds",
        "loading the fd iterator",
    )?;
    let (began_ticks, ns_per_tick) = pass_clock(ticks_per_second);
    let bytes = run(&program)?;
    let rows = parse_fd_dump(&bytes).map_err(|source| PlatformError::Parse {
        from: crate::error::ParseSource::Call("the bpf fd iterator".into()),
        source,
    })?;
    Ok(FdTable::from_rows(rows, began_ticks, ns_per_tick))
}

/// Whether limier's boot clock is the kernel's: a time namespace with a
/// boot-time offset shifts the start times `/proc/PID/stat` shows, and the
/// task iterator reads them unshifted.
///
/// # References
/// time_namespaces(7) (`/proc/PID/timens_offsets`).
fn boot_clock_unshifted(proc_root: &Path) -> bool {
    match std::fs::read(proc_root.join("self/timens_offsets")) {
        Ok(text) => text
            .split(|&b| b == b'\n')
            .filter(|line| line.starts_with(b"boottime "))
            .all(|line| {
                line.split(|&b| b == b' ')
                    .filter(|word| !word.is_empty())
                    .skip(1)
                    .all(|n| n == b"0")
            }),
        // A kernel without time namespaces.
        Err(err) => err.kind() == io::ErrorKind::NotFound,
    }
}

/// The `task` iterator's attach id and the checks every task program
/// needs: the initial pid namespace, and a boot clock whose start times
/// are stat's.
fn task_iterator(proc_root: &Path) -> Result<u32, PlatformError> {
    require_initial_pid_namespace(proc_root)?;
    if !boot_clock_unshifted(proc_root) {
        return Err(PlatformError::Unsupported {
            what: "the BPF task iterator in a time namespace with a boot-time offset",
        });
    }
    kernel_layout()?
        .task_iterator
        .ok_or(PlatformError::Unsupported {
            what: "the BPF task iterator on this kernel",
        })
}

/// Every process's stat fields in one pass of the kernel's `task`
/// iterator, in the kernel's order (see [`crate::parse::parse_task_dump`]).
/// A kernel thread's `comm` is the kernel's short one (`/proc` shows its
/// full name), and a row marked unread lacks what it walked: the caller
/// reads those from `/proc`. A kernel may leave processes out.
///
/// Fails, and the caller reads `/proc/PID/stat` instead, where
/// [`dump_fds`] would, and in a time namespace with a boot-time offset.
///
/// # References
/// bpf(2); bpf-helpers(7) (`bpf_seq_write`, `bpf_probe_read_kernel`);
/// proc(5) `/proc/pid/stat`; Linux `fs/proc/array.c` (`do_task_stat`) and
/// `Documentation/bpf/bpf_iterators.rst`.
pub fn dump_tasks(proc_root: &Path) -> Result<Vec<crate::parse::TaskDumpRow>, PlatformError> {
    let attach_id = task_iterator(proc_root)?;
    let offsets = kernel_layout()?.tasks.ok_or(PlatformError::Unsupported {
        what: "the task iterator's members in this kernel's BTF",
    })?;
    let program = load_program(
        &assemble_tasks(&offsets),
        attach_id,
        b"limier_tasks",
        "loading the task iterator",
    )?;
    let bytes = run(&program)?;
    crate::parse::parse_task_dump(&bytes).map_err(|source| PlatformError::Parse {
        from: crate::error::ParseSource::Call("the bpf task iterator".into()),
        source,
    })
}

/// Which processes (pid and start time) the kernel's task iterator visits,
/// in one pass that reads nothing else: for the fd dump's "absent, so no
/// fds" rule (see [`FdTable::set_visited`]).
///
/// # References
/// bpf(2); bpf-helpers(7) (`bpf_seq_write`); Linux
/// `Documentation/bpf/bpf_iterators.rst`.
pub fn dump_visits(
    proc_root: &Path,
    ticks_per_second: u64,
) -> Result<Vec<(crate::records::ProcessId, StartTime)>, PlatformError> {
    let attach_id = task_iterator(proc_root)?;
    let program = load_program(
        &assemble_visits(&kernel_layout()?.offsets),
        attach_id,
        b"limier_visits",
        "loading the visits iterator",
    )?;
    let bytes = run(&program)?;
    let visits = crate::parse::parse_visit_dump(&bytes).map_err(|source| PlatformError::Parse {
        from: crate::error::ParseSource::Call("the bpf visits iterator".into()),
        source,
    })?;
    let ns_per_tick = 1_000_000_000 / ticks_per_second.max(1);
    Ok(visits
        .into_iter()
        .map(|(pid, start_ns)| (pid, StartTime(start_ns / ns_per_tick)))
        .collect())
}

/// The mapping iterator program, loaded once and run for one process at a
/// time: a capture gives each of its threads one, and reads every
/// process's mapped files as it reads the rest of that process.
///
/// Not `Sync`: the program keeps state in its map from one mapping to the
/// next, so one reader runs it at a time.
#[derive(Debug)]
pub struct MapReader {
    program: OwnedFd,
    /// Kept open for the program's lifetime.
    _map: OwnedFd,
    ns_per_tick: u64,
    /// Made with directories: it reports the files below them, and those
    /// its program could not judge (deleted on the way, or deeper than it
    /// climbs), whichever mount or namespace reaches them.
    only_below: bool,
    dump: std::cell::RefCell<Vec<u8>>,
    /// The paths read so far (see [`MapReader::read`]).
    paths: std::cell::RefCell<std::collections::HashMap<PathKey, std::path::PathBuf>>,
}

impl MapReader {
    /// Loads the program: for every mapped file, or — with `below` — for
    /// the files below those directories through any mount (see
    /// [`MapRoots`]) and the few it cannot judge; a process may then be
    /// given fewer files than it maps, never fewer of those below the
    /// directories. Which paths are uses is the caller's to decide.
    ///
    /// Fails, and the caller reads `/proc/PID/maps` instead, when the kernel
    /// lacks BTF or the `task_vma` iterator (before 5.12), when limier lacks
    /// CAP_BPF/CAP_PERFMON, or when it runs in a pid namespace other than the
    /// initial one.
    ///
    /// # References
    /// bpf(2); bpf-helpers(7) (`bpf_d_path`, `bpf_seq_write`,
    /// `bpf_probe_read_kernel`); proc(5) `/proc/pid/maps`; Linux
    /// `Documentation/bpf/bpf_iterators.rst`.
    pub fn new(
        proc_root: &Path,
        ticks_per_second: u64,
        below: Option<&MapRoots>,
    ) -> Result<Self, PlatformError> {
        require_initial_pid_namespace(proc_root)?;
        let layout = kernel_layout()?;
        let attach_id = layout.vma_iterator.ok_or(PlatformError::Unsupported {
            what: "the BPF task_vma iterator on this kernel",
        })?;
        let below = match (below, layout.below) {
            (Some(roots), Some(offsets)) => Some((offsets, roots)),
            (Some(_), None) => {
                return Err(PlatformError::Unsupported {
                    what: "the mount and dentry members in this kernel's BTF",
                })
            }
            (None, _) => None,
        };
        let map = scratch_map(MAP_TYPE_ARRAY, VMA_SCRATCH_SIZE)?;
        let insns = assemble_vma(
            &layout.offsets,
            map.as_raw_fd(),
            below.as_ref().map(|(offsets, roots)| (offsets, *roots)),
        );
        let program = load_program(
            &insns,
            attach_id,
            b"limier_maps",
            "loading the map iterator",
        )?;
        Ok(MapReader {
            program,
            _map: map,
            ns_per_tick: 1_000_000_000 / ticks_per_second.max(1),
            only_below: below.is_some(),
            dump: std::cell::RefCell::new(Vec::with_capacity(64 * 1024)),
            paths: Default::default(),
        })
    }

    /// The distinct files the process of `dir` maps (for a reader made
    /// with directories, those its program let through), when
    /// the pass saw the incarnation started at `start` and every path could
    /// be had; `None` means "read `/proc/PID/maps`" (another incarnation, a
    /// stacked file system's file, a mapping gone meanwhile, or the process
    /// is gone or not readable).
    ///
    /// Paths are read through `dir` (which pins the incarnation), once per
    /// distinct path object for the reader's lifetime: the same `vfsmount`,
    /// dentry and inode make the same `d_path` text.
    pub fn read(&self, dir: &crate::ProcessDir, start: StartTime) -> Option<Vec<MappedFile>> {
        let pid = dir.pid();
        let mut dump = self.dump.borrow_mut();
        dump.clear();
        run_into(&self.program, Some(pid.0), &mut dump).ok()?;
        let rows = parse_map_dump(&dump).ok()?;
        let mut paths = self.paths.borrow_mut();
        let mut files = Vec::with_capacity(rows.len());
        // Paths read for this process, cached only once a second pass shows
        // the same file still mapped at the same place: between the pass
        // and the readlink the process may have mapped another file over
        // the range (MAP_FIXED), whose path must not be cached as this
        // file's for every other process.
        let mut read_now: Vec<(MapDumpFile, std::path::PathBuf)> = Vec::new();
        let mut visited = false;
        for row in rows {
            if row.pid != pid || StartTime(row.start_ns / self.ns_per_tick) != start {
                return None;
            }
            match row.entry {
                MapDumpEntry::File(file) => {
                    let path = match paths.get(&PathKey::of(&file)) {
                        Some(path) => path.clone(),
                        None => {
                            let link = dir.map_file_link(file.vm_start, file.vm_end).ok()?;
                            let path = path_of_link(&link, file.deleted)?;
                            read_now.push((file, path.clone()));
                            path
                        }
                    };
                    // What the program let through but could not judge (a
                    // deleted file, a deep one) is placed by the caller,
                    // which reads the path in the process's namespace.
                    files.push(MappedFile {
                        path,
                        inode: file.inode,
                        deleted: file.deleted,
                        deleted_by_kernel: true,
                        device: None,
                    });
                }
                MapDumpEntry::Unrendered => return None,
                MapDumpEntry::Visited => visited = true,
            }
        }
        if !read_now.is_empty() {
            dump.clear();
            run_into(&self.program, Some(pid.0), &mut dump).ok()?;
            let again = parse_map_dump(&dump).ok()?;
            let still_mapped = |file: &MapDumpFile| {
                again.iter().any(|row| {
                    row.pid == pid
                        && StartTime(row.start_ns / self.ns_per_tick) == start
                        && row.entry == MapDumpEntry::File(*file)
                })
            };
            if !read_now.iter().all(|(file, _)| still_mapped(file)) {
                return None;
            }
            for (file, path) in read_now {
                paths.insert(PathKey::of(&file), path);
            }
        }
        let files = first_of_each_path(files);
        // Nothing seen of the process: the iterator found no such task, or
        // a task without file mappings; only the maps file tells which.
        let seen = if self.only_below {
            visited
        } else {
            !files.is_empty()
        };
        seen.then_some(files)
    }
}

/// What makes a mapped file's path text: the same `vfsmount`, dentry and
/// inode (and unlinked or not) render the same `d_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PathKey {
    mount: u64,
    dentry: u64,
    inode: u64,
    deleted: bool,
}

impl PathKey {
    fn of(file: &MapDumpFile) -> Self {
        PathKey {
            mount: file.mount,
            dentry: file.dentry,
            inode: file.inode,
            deleted: file.deleted,
        }
    }
}

/// The path a `map_files` link names, without the " (deleted)" the kernel
/// appends to an unlinked file; `None` for a link that is not an absolute
/// path, or whose suffix disagrees with the kernel's flag (a file unlinked
/// since the pass, or one named "… (deleted)": the caller reads the maps
/// file).
fn path_of_link(link: &[u8], deleted: bool) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let path = match (strip_deleted(link), deleted) {
        ((path, true), true) => path,
        // Unlinked between the pass and the readlink (or a file named so):
        // which, only the maps file can tell.
        ((_, true), false) | ((_, false), true) => return None,
        ((path, false), false) => path,
    };
    (path.first() == Some(&b'/'))
        .then(|| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(path)))
}

/// Runs a `task_vma` program that does nothing over each of `pids` (an
/// iterator link with a pid filter each, as [`MapReader`] runs its own):
/// the kernel's walk of the mappings alone, the floor of every mapping
/// reader built on the iterator. For benchmarks (`benches/maps.rs`).
///
/// # References
/// bpf(2) (`BPF_LINK_CREATE` with `bpf_iter_link_info.task.pid`).
pub fn empty_vma_walk(pids: &[crate::ProcessId]) -> Result<std::time::Duration, PlatformError> {
    let layout = kernel_layout()?;
    let iterator = layout.vma_iterator.ok_or(PlatformError::Unsupported {
        what: "the task_vma iterator (Linux 5.12+)",
    })?;
    let mut nothing = assembler::Assembler::new();
    nothing.mov_reg(assembler::R6, assembler::R1);
    let program = load_program(
        &nothing.finish(),
        iterator,
        b"limier_nothing",
        "loading an empty program",
    )?;
    let started = std::time::Instant::now();
    let mut dump = Vec::new();
    for pid in pids {
        dump.clear();
        // A process gone meanwhile is walked as nothing.
        let _ = run_into(&program, Some(pid.0), &mut dump);
    }
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What both map readers report alike: path, inode and deleted-ness
    /// (the text also names the device; the program says its flag is the
    /// kernel's).
    fn same_facts(files: &[MappedFile]) -> Vec<(&Path, u64, bool)> {
        files
            .iter()
            .map(|f| (f.path.as_path(), f.inode, f.deleted))
            .collect()
    }
    use crate::records::{FdTarget, ProcessId};
    use std::os::fd::AsRawFd;

    /// What `reader` reads of `pid` through a fresh directory fd (`None`
    /// for a pid that is gone).
    fn read_pid(reader: &MapReader, pid: ProcessId, start: StartTime) -> Option<Vec<MappedFile>> {
        let dir = crate::Backend::new().unwrap().open_process(pid).ok()?;
        reader.read(&dir, start)
    }

    /// Root on a kernel with BTF must get a dump, and it must say what
    /// readlink says about this very process.
    #[test]
    fn the_dump_matches_readlink_for_this_process() {
        let root = rustix::process::geteuid().is_root();
        let btf = Path::new(VMLINUX_BTF).exists();
        let tps = procfs::ticks_per_second();
        let held_file = std::fs::File::open("/proc/version").unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let result = dump_fds(Path::new("/proc"), FdScope::All, tps);
        let mut table = match result {
            Ok(table) => table,
            Err(err) if !(root && btf) => {
                eprintln!("no BPF here ({err}); nothing to compare");
                return;
            }
            Err(err) => panic!("root with BTF must load the fd iterator: {err}"),
        };
        let me = ProcessId(std::process::id());
        let stat = std::fs::read("/proc/self/stat").unwrap();
        let start = crate::parse::parse_stat(&stat).unwrap().start;
        let dumped = table.take(me, start).expect("this process is in the dump");
        assert!(table.rows > dumped.len());
        // Other tests open and close fds meanwhile: compare the ones this
        // test holds across the pass.
        for fd in [held_file.as_raw_fd(), listener.as_raw_fd()] {
            let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
            let expected = crate::parse::parse_fd_link(link.as_os_str().as_encoded_bytes());
            let record = dumped
                .iter()
                .find(|r| r.fd == fd as u32)
                .expect("fd in the dump");
            assert_eq!(record.target, expected, "fd {fd}");
            // The mount each file is on, as its fdinfo says.
            let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
            let mount: u32 = info
                .lines()
                .find_map(|line| line.strip_prefix("mnt_id:"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert_eq!(record.mount_id, Some(mount), "fd {fd}");
        }
    }

    /// Root on a kernel with BTF must get the process table in one pass,
    /// and every process must read as its stat file reads: a stopped, a
    /// zombie and a sleeping child, one on a terminal (`script`), one in a
    /// pid namespace of its own, and every other process on the machine
    /// (their states and thread counts may change between the two reads).
    #[test]
    fn the_task_table_matches_every_stat_file() {
        use std::process::{Command, Stdio};
        let root = rustix::process::geteuid().is_root();
        let btf = Path::new(VMLINUX_BTF).exists();
        let spawn = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut stopped = spawn("sleep", &["60"]);
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&stopped),
            rustix::process::Signal::STOP,
        )
        .unwrap();
        let mut zombie = spawn("true", &[]);
        let mut sleeping = spawn("sleep", &["60"]);
        // `exec`: without $SHELL (CI), script runs dash, which would keep
        // itself between script and sleep.
        let mut terminal = spawn("script", &["-qc", "exec sleep 60", "/dev/null"]);
        let mut namespaced = root.then(|| spawn("unshare", &["--pid", "--fork", "sleep", "60"]));
        let settled = |pid: u32, letter: u8| {
            (0..200).any(|_| {
                let stat = std::fs::read(format!("/proc/{pid}/stat")).unwrap_or_default();
                let ready = crate::parse::parse_stat(&stat)
                    .is_ok_and(|s| s.state == crate::records::ProcessState::from_letter(letter));
                if !ready {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                ready
            })
        };
        assert!(settled(stopped.id(), b'T') && settled(zombie.id(), b'Z'));
        assert!(settled(sleeping.id(), b'S'));
        // script's child is on the new terminal once it runs.
        let on_pty = || {
            std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
                let stat = std::fs::read(entry.path().join("stat")).unwrap_or_default();
                crate::parse::parse_stat(&stat).is_ok_and(|s| {
                    s.ppid.0 == terminal.id() && s.tty.is_some() && s.comm.as_bytes() == b"sleep"
                })
            })
        };
        assert!((0..200).any(|_| {
            on_pty() || {
                std::thread::sleep(std::time::Duration::from_millis(10));
                false
            }
        }));
        // unshare's child, in its own pid namespace, once it is forked.
        if let Some(namespaced) = &namespaced {
            let forked = || {
                std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
                    let stat = std::fs::read(entry.path().join("stat")).unwrap_or_default();
                    crate::parse::parse_stat(&stat).is_ok_and(|s| s.ppid.0 == namespaced.id())
                })
            };
            assert!((0..200).any(|_| {
                forked() || {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    false
                }
            }));
        }
        let backend = crate::Backend::new().unwrap();
        let table = match backend.dump_process_table() {
            Ok(table) => table.records,
            Err(err) if !(root && btf) => {
                eprintln!("no BPF here ({err}); nothing to compare");
                for child in [&mut stopped, &mut zombie, &mut sleeping, &mut terminal] {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return;
            }
            Err(err) => panic!("root with BTF must load the task iterator: {err}"),
        };
        let mut compared = 0;
        let mut on_terminal = 0;
        let steady = [stopped.id(), zombie.id(), sleeping.id()];
        let fields = |r: &crate::records::ProcessRecord| {
            (
                r.ppid,
                r.pgid,
                r.sid,
                r.tty,
                r.comm.clone(),
                r.kernel_thread,
                r.started_at_ms,
            )
        };
        // Processes elsewhere on the machine (other tests) exec, setsid or
        // lose their parent between the pass and the stat read: a process
        // that disagrees is asked again, pass and stat, and must agree in
        // one of three more tries (a wrapper chain such as `sh -c 'exec env
        // … exec sleep'` changes its comm more than once in a few ms).
        let mut changed = Vec::new();
        for record in &table {
            let Ok(stat) = backend.read_record(record.pid) else {
                continue;
            };
            if stat.start != record.start {
                continue;
            }
            let pid = record.pid.0;
            if fields(record) != fields(&stat) {
                changed.push(record.pid);
                continue;
            }
            if steady.contains(&pid) {
                assert_eq!(
                    (record.state, record.threads),
                    (stat.state, stat.threads),
                    "pid {pid}"
                );
            }
            compared += 1;
            on_terminal += usize::from(record.tty.is_some());
        }
        let mut disagreeing = changed.clone();
        for _ in 0..3 {
            let again = backend.dump_process_table().unwrap().records;
            disagreeing.retain(|pid| {
                let (Some(record), Ok(stat)) = (
                    again.iter().find(|r| r.pid == *pid),
                    backend.read_record(*pid),
                ) else {
                    return false;
                };
                fields(record) != fields(&stat)
            });
        }
        assert!(
            disagreeing.is_empty(),
            "pass and stat disagree: {disagreeing:?}"
        );
        assert!(changed.len() < 5, "{changed:?}");
        assert!(
            compared > 10 && compared + 5 >= table.len(),
            "{compared} of {}",
            table.len()
        );
        assert!(on_terminal >= 1, "script's child has a terminal");
        let listed = |pid: u32| table.iter().any(|r| r.pid.0 == pid);
        assert!(steady.iter().all(|&pid| listed(pid)));
        assert!(!listed(0), "no idle task");
        if let Some(namespaced) = &namespaced {
            // unshare's forked child: an ordinary process, numbered here.
            let inner = table
                .iter()
                .find(|r| r.ppid.0 == namespaced.id())
                .expect("unshare's child is listed");
            assert_eq!(inner.sid, backend.read_record(inner.pid).unwrap().sid);
        }
        for child in [&mut stopped, &mut zombie, &mut sleeping, &mut terminal]
            .into_iter()
            .chain(namespaced.as_mut())
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    #[test]
    fn only_sockets_in_the_sockets_scope() {
        let tps = procfs::ticks_per_second();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let Ok(mut table) = dump_fds(Path::new("/proc"), FdScope::Sockets, tps) else {
            assert!(!rustix::process::geteuid().is_root() || !Path::new(VMLINUX_BTF).exists());
            return;
        };
        let me = ProcessId(std::process::id());
        let stat = std::fs::read("/proc/self/stat").unwrap();
        let start = crate::parse::parse_stat(&stat).unwrap().start;
        let fds = table.take(me, start).unwrap();
        assert!(fds
            .iter()
            .all(|r| matches!(r.target, FdTarget::Socket { .. })));
        assert!(fds.iter().any(|r| r.fd == listener.as_raw_fd() as u32));
    }

    /// Root on a kernel with BTF must get a mapping dump, and it must name
    /// the files the maps file names, with their inodes, for a child that
    /// maps a file with a space in its name and one deleted after mapping.
    #[test]
    fn the_map_reader_matches_the_maps_file() {
        let root = rustix::process::geteuid().is_root();
        let btf = Path::new(VMLINUX_BTF).exists();
        let reader = match MapReader::new(Path::new("/proc"), procfs::ticks_per_second(), None) {
            Ok(reader) => reader,
            Err(err) if !(root && btf) => {
                eprintln!("no BPF here ({err}); nothing to compare");
                return;
            }
            Err(err) => panic!("root with BTF must load the map iterator: {err}"),
        };
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("mapped file.bin");
        let gone = dir.path().join("gone.bin");
        let child = crate::linux::mapping_child::MappingChild::start(&[&kept, &gone], &gone);
        let pid = ProcessId(child.pid());
        let text = std::fs::read(format!("/proc/{}/maps", pid.0)).unwrap();
        let from_text = crate::parse::parse_maps(&text).unwrap();
        let stat = std::fs::read(format!("/proc/{}/stat", pid.0)).unwrap();
        let start = crate::parse::parse_stat(&stat).unwrap().start;
        let dumped = read_pid(&reader, pid, start).expect("the reader sees the child");
        // Read again: the program's state from the last session must not
        // hide a file; another incarnation is refused.
        assert_eq!(read_pid(&reader, pid, start).as_ref(), Some(&dumped));
        assert_eq!(read_pid(&reader, pid, StartTime(start.0 + 1)), None);
        child.finish();
        assert_eq!(
            read_pid(&reader, pid, start),
            None,
            "a reaped child is gone"
        );
        assert_eq!(same_facts(&dumped), same_facts(&from_text));
        assert!(dumped.iter().all(|f| f.deleted_by_kernel));
        let kept_row = dumped.iter().find(|f| f.path == kept).unwrap();
        assert!(!kept_row.deleted);
        let gone_row = dumped.iter().find(|f| f.path == gone).unwrap();
        assert!(gone_row.deleted);
        // Each file once, though python maps libraries in several mappings.
        let mut paths: Vec<_> = dumped.iter().map(|f| &f.path).collect();
        let count = paths.len();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), count);
    }

    /// Unmounts what a test mounted, even when it fails.
    struct Mounted(Vec<std::path::PathBuf>);

    impl Mounted {
        fn mount(&mut self, args: &[&str], at: &Path) {
            let status = std::process::Command::new("mount")
                .args(args)
                .arg(at)
                .status()
                .expect("mount");
            assert!(status.success(), "mount {args:?} {}", at.display());
            self.0.push(at.to_path_buf());
        }
    }

    impl Drop for Mounted {
        fn drop(&mut self) {
            for at in self.0.iter().rev() {
                let _ = std::process::Command::new("umount")
                    .arg("-l")
                    .arg(at)
                    .status();
            }
        }
    }

    /// A reader made with a directory reports exactly the files of the maps
    /// file that lie below it: through the directory's own mount (near,
    /// deleted, deeper than the program climbs), through a tmpfs and a bind
    /// mount below it — and not the bind mount's file reached from outside.
    /// A process with nothing below is visited: an empty list, not "unseen".
    #[test]
    fn a_reader_with_a_directory_reports_exactly_the_files_below_it() {
        let root = rustix::process::geteuid().is_root();
        let btf = Path::new(VMLINUX_BTF).exists();
        let base = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(base.path()).unwrap();
        let dir = base.join("tree");
        let other = base.join("other");
        let mut deep = dir.clone();
        for level in 0..(vma_program::BELOW_DEPTH + 6) {
            deep.push(format!("d{level}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let roots = match MapRoots::resolve(Path::new("/proc"), std::slice::from_ref(&dir)) {
            Ok(roots) => roots,
            Err(err) if !(root && btf) => {
                eprintln!("no BPF here ({err}); nothing to compare");
                return;
            }
            Err(err) => panic!("root with BTF must find the directory: {err}"),
        };
        assert!(roots.nested.is_empty());
        let mut mounted = Mounted(Vec::new());
        let tmpfs = dir.join("tmp");
        let bound = dir.join("bound");
        std::fs::create_dir_all(&tmpfs).unwrap();
        std::fs::create_dir_all(&bound).unwrap();
        mounted.mount(&["-t", "tmpfs", "limier-test"], &tmpfs);
        mounted.mount(&["--bind", other.to_str().unwrap()], &bound);
        let roots = MapRoots::resolve(Path::new("/proc"), std::slice::from_ref(&dir)).unwrap();
        assert_eq!(roots.nested.len(), 2, "{roots:?}");
        let reader =
            MapReader::new(Path::new("/proc"), procfs::ticks_per_second(), Some(&roots)).unwrap();
        let near = dir.join("near.bin");
        let gone = dir.join("gone.bin");
        let deepest = deep.join("deep.bin");
        let in_tmpfs = tmpfs.join("t.bin");
        let outside = other.join("shared.bin");
        let through_bind = bound.join("shared.bin");
        let child = crate::linux::mapping_child::MappingChild::start(
            &[&near, &gone, &deepest, &in_tmpfs, &outside, &through_bind],
            &gone,
        );
        // Files in a directory no mount shows below `dir`.
        let elsewhere = base.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let lonely = crate::linux::mapping_child::MappingChild::start(
            &[&elsewhere.join("alone.bin"), &elsewhere.join("removed.bin")],
            &elsewhere.join("removed.bin"),
        );
        let start_of = |pid: u32| {
            let stat = std::fs::read(format!("/proc/{pid}/stat")).unwrap();
            crate::parse::parse_stat(&stat).unwrap().start
        };
        let pid = ProcessId(child.pid());
        let text = std::fs::read(format!("/proc/{}/maps", pid.0)).unwrap();
        // Below `dir`, and in `other`, which `dir/bound` shows: the same
        // files reached through another mount.
        let below: Vec<MappedFile> = crate::parse::parse_maps(&text)
            .unwrap()
            .into_iter()
            .filter(|file| file.path.starts_with(&dir) || file.path.starts_with(&other))
            .collect();
        let dumped = read_pid(&reader, pid, start_of(pid.0)).expect("the child is visited");
        assert_eq!(same_facts(&dumped), same_facts(&below));
        // In address order, which is not the order of mapping.
        let mut paths: Vec<&Path> = dumped.iter().map(|f| f.path.as_path()).collect();
        paths.sort();
        let mut expected = [
            near.as_path(),
            gone.as_path(),
            deepest.as_path(),
            in_tmpfs.as_path(),
            outside.as_path(),
            through_bind.as_path(),
        ];
        expected.sort();
        assert_eq!(paths, expected);
        assert!(dumped.iter().all(|f| f.deleted == (f.path == gone)));
        // Nothing of the lonely process is below: only its deleted file,
        // which the program cannot judge, is given (for the caller to place).
        let lonely_pid = ProcessId(lonely.pid());
        let removed = elsewhere.join("removed.bin");
        let lonely_files: Vec<std::path::PathBuf> =
            read_pid(&reader, lonely_pid, start_of(lonely_pid.0))
                .expect("the lonely process is visited")
                .into_iter()
                .map(|f| f.path)
                .collect();
        assert_eq!(lonely_files, vec![removed.clone()]);
        assert_eq!(
            read_pid(&reader, pid, StartTime(start_of(pid.0).0 + 1)),
            None
        );
        // The most directories a reader takes, on two mounts (the tmpfs is
        // one): the longest program the verifier must accept.
        let four = [dir.clone(), other.clone(), tmpfs.clone(), deep.clone()];
        let roots = MapRoots::resolve(Path::new("/proc"), &four).unwrap();
        assert_eq!(roots.dentries.len(), 4, "{roots:?}");
        let reader =
            MapReader::new(Path::new("/proc"), procfs::ticks_per_second(), Some(&roots)).unwrap();
        let mut paths: Vec<std::path::PathBuf> = read_pid(&reader, pid, start_of(pid.0))
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        paths.sort();
        let mut expected = vec![near, gone, deepest, in_tmpfs, outside, through_bind];
        expected.sort();
        assert_eq!(paths, expected);
        let five = [four.as_slice(), std::slice::from_ref(&base)].concat();
        assert!(MapRoots::resolve(Path::new("/proc"), &five).is_err());
        child.finish();
        lonely.finish();
    }
}
