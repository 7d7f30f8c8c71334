//! The macOS backend: libproc for processes, files and sockets, sysctl
//! `KERN_PROCARGS2` for argv and environment, kqueue for exit waits.
//!
//! Built and tested by the GitHub Actions macOS job only (these machines
//! cannot compile for darwin); its decoding logic lives in
//! [`crate::parse::darwin`] and is unit-tested everywhere.

mod process;
mod signal;
mod sockets;

pub use process::ProcessDir;
pub use signal::ProcessHandle;

use crate::error::PlatformError;
use crate::records::{ProcessId, StartTime};
use crate::AskMounts;
use std::path::PathBuf;

/// The canonical path of the directory at `path` (realpath, then a check
/// that it is a directory).
///
/// # References
/// realpath(3), stat(2).
pub fn resolve_dir(path: &std::path::Path) -> std::io::Result<PathBuf> {
    let canonical = std::fs::canonicalize(path)?;
    if !std::fs::metadata(&canonical)?.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::ENOTDIR));
    }
    Ok(canonical)
}

/// [`resolve_dir`] on a helper thread, waiting at most `patience`: `None`
/// when no answer came. On macOS the thread is left behind when the lookup
/// blocks (Linux forks a process instead, which cannot keep limier from
/// exiting).
pub fn resolve_dir_within(
    path: &std::path::Path,
    patience: std::time::Duration,
) -> Option<std::io::Result<PathBuf>> {
    let path = path.to_owned();
    on_helper_thread(patience, move || resolve_dir(&path))
}

/// For each of `paths`, whether it names a regular file, asked on a helper
/// thread: `None` when no answer came within `patience` (left behind, as
/// in [`resolve_dir_within`]).
pub fn regular_files_within(
    paths: &[&std::path::Path],
    patience: std::time::Duration,
) -> Option<Vec<bool>> {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    on_helper_thread(patience, move || {
        paths.iter().map(|p| p.is_file()).collect()
    })
}

/// Runs `job` on a thread and waits at most `patience` for its answer.
fn on_helper_thread<T: Send + 'static>(
    patience: std::time::Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bounded-fs".into())
        .spawn(move || {
            let _ = sender.send(job());
        })
        .ok()?;
    receiver.recv_timeout(patience).ok()
}

/// The macOS backend. It has no configuration: libproc reads the live kernel.
#[derive(Debug, Clone, Default)]
pub struct OsBackend {
    _private: (),
}

impl OsBackend {
    /// The backend for the live system.
    pub fn new() -> Result<Self, PlatformError> {
        Ok(OsBackend { _private: () })
    }

    /// Always true: there is no fixture root on macOS.
    pub fn is_live(&self) -> bool {
        true
    }

    /// Every pid alive at this instant.
    ///
    /// # References
    /// libproc.h `proc_listpids(PROC_ALL_PIDS)`.
    pub fn list_pids(&self) -> Result<Vec<ProcessId>, PlatformError> {
        let pids = libproc::processes::pids_by_type(libproc::processes::ProcFilter::All).map_err(
            |source| PlatformError::Call {
                call: "proc_listpids(PROC_ALL_PIDS)".into(),
                source,
            },
        )?;
        let mut pids: Vec<ProcessId> = pids.into_iter().map(ProcessId).collect();
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Reads the process's BSD info once; its start time pins the incarnation.
    pub fn open_process(&self, pid: ProcessId) -> Result<ProcessDir, PlatformError> {
        ProcessDir::open(pid)
    }

    /// macOS has no mount namespaces: no tables, and paths are compared as
    /// the kernel names them.
    pub fn read_mount_tables(
        &self,
        _members: impl IntoIterator<Item = crate::NamespaceMember>,
    ) -> crate::MountTables {
        crate::MountTables::default()
    }

    /// macOS has no mount namespaces: no mount ids are asked (paths are
    /// compared as the kernel names them).
    pub fn mount_ids_of(
        &self,
        asks: &[(crate::Identity, crate::UseLink, &std::path::Path)],
        _patience: std::time::Duration,
        _where_asked: AskMounts,
    ) -> Vec<crate::MountAnswer> {
        vec![crate::MountAnswer::Unknown; asks.len()]
    }

    /// macOS never marks a path " (deleted)" (libproc names no unlinked
    /// file), so no object is asked about: every answer is unknown.
    pub fn objects_of(
        &self,
        asks: &[crate::ObjectAsk<'_>],
        _patience: std::time::Duration,
    ) -> Vec<crate::ObjectAnswer> {
        vec![crate::ObjectAnswer::Unknown; asks.len()]
    }

    /// macOS has no pidfd: a capture's records are held by pid and start
    /// time (microseconds), re-checked before every signal.
    pub fn pin_before_read(&self, _pid: ProcessId) -> PinAttempt {
        PinAttempt
    }

    /// The stat-equivalent fields of one pid.
    pub fn read_stat(&self, pid: ProcessId) -> Result<crate::parse::StatFields, PlatformError> {
        ProcessDir::open(pid)?.stat()
    }

    /// The cheap record of a pid (BSD info: the owner comes with it here).
    pub fn read_record(
        &self,
        pid: ProcessId,
    ) -> Result<crate::records::ProcessRecord, PlatformError> {
        ProcessDir::open(pid)?.basic()
    }

    /// Never: the one-pass fd dump is a Linux BPF iterator.
    pub fn fd_dump_possible(&self) -> bool {
        false
    }

    /// The one-pass fd dump is a Linux BPF iterator; on macOS fds are read
    /// per process with `proc_pidinfo`, so this always says "unsupported".
    pub fn dump_fds(&self, _scope: crate::FdScope) -> Result<crate::FdTable, PlatformError> {
        Err(PlatformError::Unsupported {
            what: "the one-pass fd dump",
        })
    }

    /// The kernel's task count is read on Linux only: `None` (macOS lists
    /// its processes with one call anyway).
    pub fn task_count() -> Option<usize> {
        None
    }

    /// The one-pass process table is a Linux BPF iterator: always
    /// "unsupported" (macOS lists processes with one `proc_listpids`).
    pub fn dump_process_table(&self) -> Result<crate::records::TaskTable, PlatformError> {
        Err(PlatformError::Unsupported {
            what: "the one-pass process table",
        })
    }

    /// The visits pass is a Linux BPF iterator: always "unsupported".
    pub fn dump_visits(
        &self,
    ) -> Result<Vec<(ProcessId, crate::records::StartTime)>, PlatformError> {
        Err(PlatformError::Unsupported {
            what: "the kernel's visits pass",
        })
    }

    /// The mapping reader is a Linux BPF iterator: always "unsupported".
    pub fn map_reader(&self, _below: Option<&MapRoots>) -> Result<MapReader, PlatformError> {
        Err(PlatformError::Unsupported {
            what: "the kernel mapping reader",
        })
    }

    /// Goes with the mapping reader: always "unsupported".
    pub fn map_roots(&self, _dirs: &[PathBuf]) -> Result<MapRoots, PlatformError> {
        Err(PlatformError::Unsupported {
            what: "the kernel mapping reader",
        })
    }

    /// Growing the fd table costs no grace period on macOS: nothing to do.
    pub fn reserve_fds(_count: usize) {}

    /// libproc exposes no kernel wait channel; survivors are reported
    /// without one.
    pub fn wait_channel(&self, _identity: crate::Identity) -> Option<String> {
        None
    }

    /// The reader of a process's fds when no kernel iterator serves.
    pub const FD_READER: crate::LayerReader = crate::LayerReader::Libproc;

    /// The reader of the process table when it is not read in one pass:
    /// `proc_pidinfo`, one process at a time.
    pub const PROCESS_READER: crate::LayerReader = crate::LayerReader::Libproc;

    /// macOS start times are microseconds since the epoch.
    pub fn start_to_epoch_ms(&self, start: StartTime) -> u64 {
        start.0 / 1000
    }

    /// Start times are microseconds since the epoch.
    pub fn ticks_per_second(&self) -> u64 {
        1_000_000
    }
}

/// Classifies a failed libproc call on `pid`: gone (ESRCH) or refused.
pub(crate) fn pid_error(pid: ProcessId, what: &str) -> PlatformError {
    let probe = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid.0 as i32), None);
    if probe == Err(nix::errno::Errno::ESRCH) {
        PlatformError::Gone { pid }
    } else {
        PlatformError::PermissionDenied {
            pid: Some(pid),
            path: PathBuf::from(format!("{what}({pid})")),
        }
    }
}

/// The directories of a Linux kernel mapping reader: no values on macOS
/// ([`crate::Backend::map_roots`] always fails).
#[derive(Debug, Clone)]
pub enum MapRoots {}

/// The Linux kernel mapping reader has no macOS counterpart: this type has
/// no values, and [`crate::Backend::map_reader`] always fails.
#[derive(Debug)]
pub enum MapReader {}

impl MapReader {
    /// Never called: no `MapReader` exists on macOS.
    pub fn read(
        &self,
        _dir: &crate::ProcessDir,
        _start: crate::StartTime,
    ) -> Option<Vec<crate::MappedFile>> {
        match *self {}
    }
}

/// The macOS counterpart of Linux's pidfd pin: holds nothing.
#[derive(Debug)]
pub struct PinAttempt;

impl PinAttempt {
    /// Always [`Pin::StartTime`](crate::records::Pin::StartTime).
    pub fn after_read(self) -> crate::records::Pin {
        crate::records::Pin::StartTime
    }
}
