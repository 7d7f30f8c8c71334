//! [`Backend`]: every question limier asks the OS and every action it takes
//! through it, each documented once, here. Each OS answers them its own way
//! (`linux::OsBackend`: procfs, BPF iterators, sock_diag, pidfds;
//! `macos::OsBackend`: libproc); their docs say only how, with their
//! references. Nothing above this crate knows which one serves.

#[cfg(target_os = "linux")]
use crate::linux::OsBackend;
#[cfg(target_os = "macos")]
use crate::macos::OsBackend;

use crate::records::{Identity, Pin, ProcessId, ProcessRecord, StartTime};
use crate::{
    Disposition, FdScope, FdTable, LayerReader, MapReader, MapRoots, MountAnswer, MountTables,
    NamespaceMember, ObjectAnswer, ObjectAsk, PinAttempt, PlatformError, ProcessDir, ProcessHandle,
    Signal, SignalError, SocketRecord, TaskTable, UseLink,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The OS as limier sees it: the live system's processes, sockets, files
/// and mounts, read at the moment each method is called, and the
/// identity-checked signals of a sweep.
///
/// Cheap to clone; holds no open file.
#[derive(Debug, Clone)]
pub struct Backend {
    os: OsBackend,
}

/// Where [`Backend::mount_ids_of`] asks `statx` through a process's links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskMounts {
    /// In this process: only where no mount may make the call wait on a
    /// server (see [`MountTables::may_ask_servers`]).
    /// The processes are not read again after the links: an answer is
    /// about the process that owned the pid at that moment, which the
    /// caller checks where the answer matters.
    InProcess,
    /// In a forked helper limier never waits for beyond the patience given:
    /// safe on any mount, but forking a large process costs its later writes
    /// a copy-on-write fault each.
    InHelper,
}

impl Backend {
    /// The backend for the live system.
    ///
    /// Fails where the process table this process would read names other
    /// processes than `kill(2)` reaches from here (Linux: a `/proc` of
    /// another pid namespace, [`PlatformError::ForeignProcfs`]).
    pub fn new() -> Result<Self, PlatformError> {
        Ok(Backend {
            os: OsBackend::new()?,
        })
    }

    /// A Linux backend reading the proc filesystem mounted (or copied) at
    /// `root`: fixtures for tests. It never signals, and its sockets come
    /// from `<root>/net/*`.
    #[cfg(target_os = "linux")]
    pub fn with_proc_root(root: &Path) -> Result<Self, PlatformError> {
        Ok(Backend {
            os: OsBackend::with_proc_root(root)?,
        })
    }

    /// Whether this backend reads the live system (and may signal it).
    pub fn is_live(&self) -> bool {
        self.os.is_live()
    }

    /// Every pid alive at this instant, sorted, without repeats.
    pub fn list_pids(&self) -> Result<Vec<ProcessId>, PlatformError> {
        self.os.list_pids()
    }

    /// Opens the process `pid` names now. Every later read through the
    /// [`ProcessDir`] concerns that incarnation (Linux: reads go through
    /// the `/proc/PID` directory fd; macOS: the start time read at open
    /// is checked again).
    pub fn open_process(&self, pid: ProcessId) -> Result<ProcessDir, PlatformError> {
        self.os.open_process(pid)
    }

    /// The directory of the process `identity` names, held open: `Gone`
    /// when the pid is free or now names another incarnation (its start
    /// time differs), so that nothing read through it belongs to a
    /// recycled pid.
    pub fn open_incarnation(&self, identity: Identity) -> Result<ProcessDir, PlatformError> {
        self.os.open_incarnation(identity)
    }

    /// Whether `identity` still names a running incarnation (a zombie
    /// still does).
    pub fn is_incarnation(&self, identity: Identity) -> bool {
        self.os.is_incarnation(identity)
    }

    /// A pid's parent, state and start time, read together (one read on
    /// Linux): the cheapest question about one process.
    pub fn read_stat(&self, pid: ProcessId) -> Result<crate::parse::StatFields, PlatformError> {
        self.os.read_stat(pid)
    }

    /// The cheap record of a pid: its stat fields with the start in epoch
    /// milliseconds (and, on macOS, the owner, which comes with them).
    pub fn read_record(&self, pid: ProcessId) -> Result<ProcessRecord, PlatformError> {
        self.os.read_record(pid)
    }

    /// How many tasks the kernel runs, an upper bound on the processes, for
    /// sizing; `None` when no cheap read tells (macOS).
    pub fn task_count() -> Option<usize> {
        OsBackend::task_count()
    }

    /// The stat-only record of every process in one kernel pass, the same
    /// fields as [`read_record`](Self::read_record) reads per pid. The pass
    /// may leave processes out: the caller lists pids too. An error means
    /// "read each process instead" (no kernel iterator, not allowed, or a
    /// pass that disagrees with this process's own record).
    pub fn dump_process_table(&self) -> Result<TaskTable, PlatformError> {
        self.os.dump_process_table()
    }

    /// Which processes the kernel's one-pass readers visit (pid and start
    /// time), for [`FdTable::set_visited`].
    pub fn dump_visits(&self) -> Result<Vec<(ProcessId, StartTime)>, PlatformError> {
        self.os.dump_visits()
    }

    /// Whether [`dump_fds`](Self::dump_fds) can work at all: a cheap check,
    /// so a capture never pays for an attempt that must fail.
    pub fn fd_dump_possible(&self) -> bool {
        self.os.fd_dump_possible()
    }

    /// The fds of every process in one kernel pass, for [`FdTable::take`].
    /// An error means "read each process's fds instead".
    pub fn dump_fds(&self, scope: FdScope) -> Result<FdTable, PlatformError> {
        self.os.dump_fds(scope)
    }

    /// The kernel mapping reader, for every mapped file or only those below
    /// `below`'s directories (see [`MapReader`]). An error means "read each
    /// process's maps instead".
    pub fn map_reader(&self, below: Option<&MapRoots>) -> Result<MapReader, PlatformError> {
        self.os.map_reader(below)
    }

    /// `dirs` (absolute, canonical) found in the kernel, for a mapping
    /// reader that reports only the files below them. An error means "read
    /// every mapped file".
    pub fn map_roots(&self, dirs: &[PathBuf]) -> Result<MapRoots, PlatformError> {
        self.os.map_roots(dirs)
    }

    /// Where in the kernel `identity` is sleeping, if it is still that
    /// incarnation and the kernel says: for telling why a process outlives
    /// SIGKILL.
    pub fn wait_channel(&self, identity: Identity) -> Option<String> {
        self.os.wait_channel(identity)
    }

    /// The mount tables of this process's mount namespace and of each other
    /// one a member is in. A namespace no member could be read in has no
    /// table: its processes' paths cannot be placed (the caller says so).
    /// Empty where the OS has no mount namespaces (macOS): paths are
    /// compared as the kernel names them.
    pub fn read_mount_tables(
        &self,
        members: impl IntoIterator<Item = NamespaceMember>,
    ) -> MountTables {
        self.os.read_mount_tables(members)
    }

    /// What the kernel says of the mount each asked link's target is on,
    /// one answer per ask: [`MountAnswer::Gone`] for a process gone or
    /// another incarnation, `Unknown` where nothing was learnt (always, on
    /// macOS). Never blocks beyond `patience` on a dead mount when asked
    /// [`AskMounts::InHelper`].
    pub fn mount_ids_of(
        &self,
        asks: &[(Identity, UseLink, &Path)],
        patience: Duration,
        where_asked: AskMounts,
    ) -> Vec<MountAnswer> {
        self.os.mount_ids_of(asks, patience, where_asked)
    }

    /// The object each ask names (device, inode, link count): a process's
    /// link followed, or a directory entry in limier's own namespace, asked
    /// where limier can leave the call behind after `patience`. A link's
    /// answer is kept only when the process is still the incarnation asked
    /// about and the link still reads as the text given
    /// ([`ObjectAnswer::Gone`], [`ObjectAnswer::Changed`] otherwise);
    /// anything not answered is [`ObjectAnswer::Unknown`] (always, on
    /// macOS, which names no unlinked file).
    pub fn objects_of(&self, asks: &[ObjectAsk<'_>], patience: Duration) -> Vec<ObjectAnswer> {
        self.os.objects_of(asks, patience)
    }

    /// Holds `pid` before its record is read, so the record can be tied to
    /// one incarnation ([`PinAttempt::after_read`]): a pidfd and its pidfs
    /// inode on Linux 6.9+, nothing where the OS has none (the start time
    /// then pins it).
    pub fn pin_before_read(&self, pid: ProcessId) -> PinAttempt {
        self.os.pin_before_read(pid)
    }

    /// Makes room in this process's fd table for `count` more handles, so
    /// a sweep's hundreds of pidfds grow it once (best effort; nothing to
    /// do on macOS).
    pub fn reserve_fds(count: usize) {
        OsBackend::reserve_fds(count)
    }

    /// A handle on exactly the incarnation `identity` names, checked by
    /// `pin` (the pidfs inode where held, exact; the start time otherwise).
    /// Every signal through it reaches that process or fails as gone.
    pub fn open_handle(&self, identity: Identity, pin: Pin) -> Result<ProcessHandle, SignalError> {
        self.os.open_handle(identity, pin)
    }

    /// What the incarnation `identity` does with `signal` (ignored, blocked,
    /// caught, default); `None` when that cannot be read.
    pub fn disposition(&self, identity: Identity, signal: Signal) -> Option<Disposition> {
        self.os.disposition(identity, signal)
    }

    /// Every TCP and UDP socket, IPv4 and IPv6, with its inode and owner;
    /// the processes holding them come from the fd layer.
    pub fn sockets(&self) -> Result<Vec<SocketRecord>, PlatformError> {
        self.os.sockets()
    }

    /// The reader of a process's fds when no kernel iterator serves.
    pub const FD_READER: LayerReader = OsBackend::FD_READER;

    /// The reader of the process table when it is not read in one pass.
    pub const PROCESS_READER: LayerReader = OsBackend::PROCESS_READER;

    /// The pid of the calling process.
    pub fn self_pid() -> ProcessId {
        ProcessId(std::process::id())
    }

    /// Start-time units per second (Linux: the kernel's `USER_HZ` clock
    /// ticks; macOS: microseconds).
    pub fn ticks_per_second(&self) -> u64 {
        self.os.ticks_per_second()
    }

    /// A start time in milliseconds since the Unix epoch.
    pub fn start_to_epoch_ms(&self, start: StartTime) -> u64 {
        self.os.start_to_epoch_ms(start)
    }

    /// Milliseconds since the Unix epoch, now.
    pub fn now_epoch_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}
