//! Every process's open fds in one pass: a BPF `task_file` iterator.
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

mod program;
mod syscall;

use crate::error::PlatformError;
use crate::fd_table::{FdScope, FdTable};
use crate::parse::{parse_btf, parse_fd_dump};
use program::{assemble, Offsets, SCRATCH_SIZE};
use rustix::fd::{AsRawFd, OwnedFd};
use std::io;
use std::path::Path;
use syscall::{bpf_fd, Attr};

const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";
/// The inode of the initial pid namespace (`PROC_PID_INIT_INO`).
const INIT_PID_NS: &[u8] = b"pid:[4026531836]";
const ITERATOR_FUNCTION: &str = "bpf_iter_task_file";

const MAP_TYPE_PERCPU_ARRAY: u32 = 6;
const PROG_TYPE_TRACING: u32 = 26;
const ATTACH_TRACE_ITER: u32 = 28;

fn bpf_error(step: &'static str, source: io::Error) -> PlatformError {
    PlatformError::Bpf {
        step,
        source,
        log: String::new(),
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

/// The kernel's BTF: mapped where the kernel allows it (6.16 and later),
/// read otherwise.
///
/// # References
/// mmap(2); Linux `Documentation/bpf/btf.rst`.
fn vmlinux_btf() -> Result<BtfBytes, PlatformError> {
    let io_error = |err: io::Error| PlatformError::from_io(None, VMLINUX_BTF.into(), err);
    let file = std::fs::File::open(VMLINUX_BTF).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len() as usize;
    if size > 0 {
        // SAFETY: a fresh private read-only mapping of a file we hold open;
        // no Rust reference to it exists until mmap returns, and it is
        // unmapped only in BtfBytes::drop, after the last borrow.
        let mapped = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                size,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::PRIVATE,
                &file,
                0,
            )
        };
        if let Ok(address) = mapped {
            return Ok(BtfBytes::Mapped { address, size });
        }
    }
    let mut bytes = Vec::with_capacity(size);
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(io_error)?;
    Ok(BtfBytes::Read(bytes))
}

/// The BTF blob, mapped or read.
enum BtfBytes {
    Mapped {
        address: *mut std::ffi::c_void,
        size: usize,
    },
    Read(Vec<u8>),
}

impl BtfBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            // SAFETY: the mapping is `size` readable bytes, alive until drop,
            // and never written (PROT_READ, MAP_PRIVATE).
            BtfBytes::Mapped { address, size } => unsafe {
                std::slice::from_raw_parts(*address as *const u8, *size)
            },
            BtfBytes::Read(bytes) => bytes,
        }
    }
}

impl Drop for BtfBytes {
    fn drop(&mut self) {
        if let BtfBytes::Mapped { address, size } = *self {
            // SAFETY: the mapping made in vmlinux_btf, unmapped once; every
            // slice of it was borrowed from `self` and has ended.
            let _ = unsafe { rustix::mm::munmap(address, size) };
        }
    }
}

/// The member offsets the program needs and the iterator's attach id, read
/// from the kernel's BTF once per process (they change only with the
/// kernel): a program that captures many times — a library user calling
/// `limier::listeners` in a loop — walks the 150,000 types once.
fn kernel_offsets() -> Result<(Offsets, u32), PlatformError> {
    static FOUND: std::sync::OnceLock<(Offsets, u32)> = std::sync::OnceLock::new();
    if let Some(found) = FOUND.get() {
        return Ok(*found);
    }
    let found = read_kernel_offsets()?;
    Ok(*FOUND.get_or_init(|| found))
}

/// Reads the member offsets the program needs from the kernel's BTF.
fn read_kernel_offsets() -> Result<(Offsets, u32), PlatformError> {
    let blob = vmlinux_btf()?;
    let btf = parse_btf(blob.bytes()).map_err(|source| PlatformError::Parse {
        path: VMLINUX_BTF.into(),
        source,
    })?;
    let missing = |what: &str| PlatformError::Parse {
        path: VMLINUX_BTF.into(),
        source: crate::parse::ParseError::new("btf", format!("no {what}")),
    };
    const STRUCTS: [&str; 4] = ["task_struct", "file", "inode", "bpf_iter_meta"];
    let (ids, function) = btf.struct_and_function_ids(&STRUCTS, ITERATOR_FUNCTION);
    let offset = |index: usize, member: &str| -> Result<i16, PlatformError> {
        ids[index]
            .and_then(|id| btf.member_offset_in(id, member))
            .and_then(|offset| i16::try_from(offset).ok())
            .ok_or_else(|| missing(&format!("{}.{member}", STRUCTS[index])))
    };
    let offsets = Offsets {
        task_pid: offset(0, "pid")?,
        task_tgid: offset(0, "tgid")?,
        task_start_boottime: offset(0, "start_boottime")?,
        file_path: i32::from(offset(1, "f_path")?),
        file_inode: offset(1, "f_inode")?,
        inode_mode: offset(2, "i_mode")?,
        meta_seq: offset(3, "seq")?,
    };
    let attach_id = function.ok_or_else(|| missing(ITERATOR_FUNCTION))?;
    Ok((offsets, attach_id))
}

/// Creates the one-entry per-CPU scratch map records are built in.
///
/// # References
/// bpf(2) `BPF_MAP_CREATE`.
fn scratch_map() -> Result<OwnedFd, PlatformError> {
    let mut attr = Attr::new()
        .u32(0, MAP_TYPE_PERCPU_ARRAY)
        .u32(4, 4)
        .u32(8, SCRATCH_SIZE)
        .u32(12, 1);
    bpf_fd(syscall::MAP_CREATE, &mut attr).map_err(|err| bpf_error("creating the scratch map", err))
}

/// Loads the program; on a verifier refusal, loads it again with a log to
/// say why.
///
/// # References
/// bpf(2) `BPF_PROG_LOAD`; Linux `Documentation/bpf/bpf_iterators.rst`.
fn load_program(insns: &[u64], attach_id: u32) -> Result<OwnedFd, PlatformError> {
    let license = b"GPL\0";
    let attempt = |log: &mut [u8]| {
        let mut attr = Attr::new()
            .u32(0, PROG_TYPE_TRACING)
            .u32(4, insns.len() as u32)
            .u64(8, insns.as_ptr() as u64)
            .u64(16, license.as_ptr() as u64)
            .bytes(48, b"limier_fds")
            .u32(68, ATTACH_TRACE_ITER)
            .u32(108, attach_id);
        if !log.is_empty() {
            attr = attr
                .u32(24, 1)
                .u32(28, log.len() as u32)
                .u64(32, log.as_mut_ptr() as u64);
        }
        // `insns`, `license` and `log` outlive the call.
        bpf_fd(syscall::PROG_LOAD, &mut attr)
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
        step: "loading the fd iterator",
        source: err,
        log: tail.join(" / "),
    })
}

/// Attaches the program as an iterator and reads the whole dump.
///
/// # References
/// bpf(2) `BPF_LINK_CREATE`, `BPF_ITER_CREATE`; read(2).
fn run(program: &OwnedFd) -> Result<Vec<u8>, PlatformError> {
    let mut attr = Attr::new()
        .u32(0, program.as_raw_fd() as u32)
        .u32(8, ATTACH_TRACE_ITER);
    let link = bpf_fd(syscall::LINK_CREATE, &mut attr)
        .map_err(|err| bpf_error("attaching the fd iterator", err))?;
    let mut attr = Attr::new().u32(0, link.as_raw_fd() as u32);
    let iterator = bpf_fd(syscall::ITER_CREATE, &mut attr)
        .map_err(|err| bpf_error("creating the fd iterator", err))?;
    let mut dump: Vec<u8> = Vec::with_capacity(1 << 20);
    loop {
        if dump.capacity() - dump.len() < 64 * 1024 {
            dump.reserve(dump.capacity());
        }
        match rustix::io::read(&iterator, dump.spare_capacity_mut()) {
            Ok(([], _)) => return Ok(dump),
            Ok((filled, _)) => {
                let count = filled.len();
                // SAFETY: read(2) initialised `count` bytes of the spare
                // capacity, directly after the current length.
                unsafe { dump.set_len(dump.len() + count) };
            }
            // EAGAIN: the kernel visited a million fds without output in
            // one read (sockets scope) and yields; the next read resumes.
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
            Err(err) => return Err(bpf_error("reading the fd iterator", err.into())),
        }
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
    if !in_initial_pid_namespace(proc_root) {
        return Err(PlatformError::Unsupported {
            what: "the BPF fd iterator outside the initial pid namespace",
        });
    }
    let (offsets, attach_id) = kernel_offsets()?;
    let map = scratch_map()?;
    let insns = assemble(&offsets, scope, map.as_raw_fd());
    let program = load_program(&insns, attach_id)?;
    let ns_per_tick = 1_000_000_000 / ticks_per_second.max(1);
    let began = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let began_ns = began.tv_sec as u64 * 1_000_000_000 + began.tv_nsec as u64;
    let bytes = run(&program)?;
    let rows = parse_fd_dump(&bytes).map_err(|source| PlatformError::Parse {
        path: "bpf fd iterator".into(),
        source,
    })?;
    Ok(FdTable::from_rows(
        rows,
        began_ns / ns_per_tick,
        ns_per_tick,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{FdTarget, ProcessId};
    use std::os::fd::AsRawFd;

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
}
