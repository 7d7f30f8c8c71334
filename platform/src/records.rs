//! Plain records produced by the OS backends.
//!
//! Nothing here knows which OS produced it: the Linux and macOS backends both
//! fill these types, and everything above the platform boundary works on them.

use serde::{Serialize, Serializer};
use std::ffi::OsStr;
use std::fmt;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A process id as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ProcessId(pub u32);

impl From<ProcessId> for u32 {
    fn from(pid: ProcessId) -> u32 {
        pid.0
    }
}

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The moment a process started, in the backend's native unit.
///
/// On Linux this is clock ticks since boot (`/proc/PID/stat` field 22); on
/// macOS microseconds since the epoch. Only equality matters for identity;
/// [`ProcessRecord::started_at_ms`] carries the wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StartTime(pub u64);

/// A process incarnation: a pid is only ever trusted together with its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Identity {
    /// The process id.
    pub pid: ProcessId,
    /// When that process started: tells a recycled pid apart.
    pub start: StartTime,
}

/// How exactly a capture holds a process for a later signal: what a sweep
/// compares, besides pid and start time, before it signals.
///
/// The start time counts clock ticks (10 ms on Linux): a pid reused within
/// one tick (a small `pid_max`, a busy pid namespace) passes that check. The
/// pidfs inode does not repeat while the machine runs (Linux 6.9 and later,
/// 64-bit), so a pinned process is told from any later owner of its pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(tag = "by", content = "inode", rename_all = "kebab-case")]
pub enum Pin {
    /// Pid and start time only: a kernel without pidfs (before 6.9), macOS
    /// (where the start time counts microseconds and is re-read just before
    /// each signal), a record built by hand, or a capture not asked to pin.
    #[default]
    StartTime,
    /// The inode of a pidfd opened before the process's first read and
    /// still naming a live process after it: the read was of this process.
    Pidfs(u64),
    /// The process had already exited (a zombie, or reaped) when it was
    /// read: nothing may be signalled on the strength of this record.
    Exited,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.pid, self.start.0)
    }
}

/// A socket inode number, as shown in `socket:[N]` fd links and in sock_diag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SocketInode(pub u64);

/// A TCP or UDP port number (1-65535 when it names a real port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Port(pub u16);

impl From<Port> for u16 {
    fn from(port: Port) -> u16 {
        port.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Bytes a process chose (comm, cmdline words, environment), kept losslessly.
///
/// Serialised as a JSON string when the bytes are valid UTF-8, otherwise as
/// `{"lossy": "<UTF-8 with U+FFFD>", "bytes": [..]}` so nothing is lost.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteString(pub Vec<u8>);

impl ByteString {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as text, invalid UTF-8 replaced by U+FFFD (borrowed when
    /// they are valid), as std's `OsStr::to_string_lossy`.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The bytes as an OS string (lossless on Unix).
    pub fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(&self.0)
    }
}

impl From<&[u8]> for ByteString {
    fn from(bytes: &[u8]) -> Self {
        ByteString(bytes.to_vec())
    }
}

impl From<&str> for ByteString {
    fn from(text: &str) -> Self {
        ByteString(text.as_bytes().to_vec())
    }
}

impl fmt::Debug for ByteString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl Serialize for ByteString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_bytes_lossless(&self.0, serializer)
    }
}

/// Serialises bytes as a string when they are UTF-8, else as `{lossy, bytes}`.
pub fn serialize_bytes_lossless<S: Serializer>(
    bytes: &[u8],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match std::str::from_utf8(bytes) {
        Ok(text) => serializer.serialize_str(text),
        Err(_) => {
            let mut map = serializer.serialize_map(Some(2))?;
            map.serialize_entry("lossy", &String::from_utf8_lossy(bytes))?;
            map.serialize_entry("bytes", bytes)?;
            map.end()
        }
    }
}

/// Serialises a path with [`serialize_bytes_lossless`].
pub fn serialize_path<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serialize_bytes_lossless(path.as_os_str().as_bytes(), serializer)
}

/// Serialises an optional path with [`serialize_bytes_lossless`].
pub fn serialize_opt_path<S: Serializer>(
    path: &Option<PathBuf>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(path) => serialize_path(path, serializer),
        None => serializer.serialize_none(),
    }
}

/// The scheduler state letter of a process (`R`, `S`, `D`, `Z`, `T`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessState {
    /// Running or runnable (`R`).
    Running,
    /// Interruptible sleep (`S`).
    Sleeping,
    /// Uninterruptible sleep, usually I/O (`D`).
    DiskSleep,
    /// Exited, not yet reaped by its parent (`Z`).
    Zombie,
    /// Stopped by a signal (`T`).
    Stopped,
    /// Stopped by a tracer (`t`).
    TracingStop,
    /// Dead (`X`).
    Dead,
    /// An idle kernel thread (`I`).
    Idle,
    /// A state letter limier does not know.
    Other,
}

impl ProcessState {
    /// Maps the state letter of proc(5) `stat` field 3.
    pub fn from_letter(letter: u8) -> Self {
        match letter {
            b'R' => ProcessState::Running,
            b'S' => ProcessState::Sleeping,
            b'D' => ProcessState::DiskSleep,
            b'Z' => ProcessState::Zombie,
            b'T' => ProcessState::Stopped,
            b't' => ProcessState::TracingStop,
            b'X' | b'x' => ProcessState::Dead,
            b'I' => ProcessState::Idle,
            _ => ProcessState::Other,
        }
    }
}

/// What the kernel says about one process: the always-read layer of a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessRecord {
    /// The process id.
    pub pid: ProcessId,
    /// The parent pid (1, or a subreaper, once the parent died).
    pub ppid: ProcessId,
    /// The process group id.
    pub pgid: ProcessId,
    /// The session id.
    pub sid: ProcessId,
    /// The controlling terminal's device number (`tty_nr` in
    /// `/proc/PID/stat`, `e_tdev` on macOS); `None` for a process with
    /// none (a daemon, a service started detached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<u32>,
    /// The effective uid: the owner of `/proc/PID` on Linux (root for a
    /// process that made itself non-dumpable), `pbi_uid` on macOS; `None`
    /// when it could not be read.
    pub uid: Option<u32>,
    /// The scheduler state.
    pub state: ProcessState,
    /// The start time (with `pid`, the process's identity).
    pub start: StartTime,
    /// Start time as milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// The command name (at most 15 bytes on Linux).
    pub comm: ByteString,
    /// argv words; empty for kernel threads and zombies.
    pub cmdline: Vec<ByteString>,
    #[serde(serialize_with = "serialize_opt_path")]
    /// The executable, when it could be read.
    pub exe: Option<PathBuf>,
    #[serde(serialize_with = "serialize_opt_path")]
    /// The working directory, when it could be read.
    pub cwd: Option<PathBuf>,
    /// The kernel marked the cwd ` (deleted)`; `cwd` holds the old path.
    pub cwd_deleted: bool,
    /// The kernel marked the executable ` (deleted)` (replaced or removed
    /// since it started); `exe` holds the old path.
    pub exe_deleted: bool,
    #[serde(serialize_with = "serialize_opt_path")]
    /// The root directory (a chroot), when it could be read.
    pub root: Option<PathBuf>,
    /// A kernel thread: no user space, never signalled.
    pub kernel_thread: bool,
    /// Number of threads.
    pub threads: u32,
    /// False when some links (cwd, exe, fds) were refused: another user's process.
    pub inspectable: bool,
    /// How the capture holds this process for a later signal.
    #[serde(skip)]
    pub pin: Pin,
    /// The inode of its mount namespace (Linux, read with its links):
    /// which mount table its paths are to be read against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_ns: Option<u64>,
}

impl ProcessRecord {
    /// A sleeping process with only its identity, parent and name: the start
    /// of a record built by hand (fixture snapshots, replays). It leads its
    /// own group and session, runs one thread and is inspectable.
    pub fn bare(pid: ProcessId, ppid: ProcessId, start: StartTime, comm: &str) -> Self {
        ProcessRecord {
            pid,
            ppid,
            pgid: pid,
            sid: pid,
            tty: None,
            uid: None,
            state: ProcessState::Sleeping,
            start,
            started_at_ms: 0,
            comm: ByteString(comm.as_bytes().to_vec()),
            cmdline: Vec::new(),
            exe: None,
            cwd: None,
            cwd_deleted: false,
            exe_deleted: false,
            root: None,
            kernel_thread: false,
            threads: 1,
            inspectable: true,
            pin: Pin::StartTime,
            mount_ns: None,
        }
    }

    /// The (pid, start time) pair that names this incarnation.
    pub fn identity(&self) -> Identity {
        Identity {
            pid: self.pid,
            start: self.start,
        }
    }
}

/// Where an open file descriptor points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FdTarget {
    /// A file or directory.
    Path {
        #[serde(serialize_with = "serialize_path")]
        /// Its path as the kernel renders it (without ` (deleted)`).
        path: PathBuf,
        /// The kernel marked the path ` (deleted)`.
        deleted: bool,
    },
    /// A socket.
    Socket {
        /// Its inode: the key into the socket table.
        inode: SocketInode,
    },
    /// A pipe.
    Pipe {
        /// The pipe's inode.
        inode: u64,
    },
    /// An anonymous inode (eventfd, epoll, inotify, ...).
    AnonInode {
        /// Its kind, as the kernel names it.
        name: String,
    },
    /// Anything else, with the raw link text.
    Other {
        /// The link text.
        link: ByteString,
    },
}

/// One open file descriptor of a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FdRecord {
    /// The fd number.
    pub fd: u32,
    /// What it points to.
    pub target: FdTarget,
    /// The id of the mount its file is on, where the reader had it (the
    /// kernel fd dump): `None` otherwise.
    #[serde(skip)]
    pub mount_id: Option<u32>,
}

/// One file mapped into a process's memory (deduplicated by path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedFile {
    #[serde(serialize_with = "serialize_path")]
    /// The mapped file's path.
    pub path: PathBuf,
    /// Its inode.
    pub inode: u64,
    /// The kernel marked the path ` (deleted)`.
    pub deleted: bool,
    /// `deleted` is the kernel's own flag on the dentry (the mapping
    /// program), not a reading of the text's ` (deleted)` suffix, which a
    /// name can also end in.
    #[serde(skip)]
    pub deleted_by_kernel: bool,
    /// The file's device (`major`, `minor`) where the reader names it (the
    /// maps file does).
    #[serde(skip)]
    pub device: Option<(u32, u32)>,
}

/// A file-system object as the kernel identifies it: what two paths must
/// share to name the same file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId {
    /// The device (`major`, `minor`): one per super block.
    pub device: (u32, u32),
    /// The inode within that device.
    pub inode: u64,
    /// How many names the object has (0: unlinked from every directory).
    pub links: u32,
}

/// What [`Backend::objects_of`](crate::Backend::objects_of) found for one
/// ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectAnswer {
    /// The object named.
    Found(ObjectId),
    /// No entry of that name (`ENOENT`, `ENOTDIR`): asked of a directory
    /// entry only.
    Missing,
    /// A link asked about no longer reads as it did: the use asked about
    /// is not there now.
    Changed,
    /// The process of a link asked about is gone (or its pid names another
    /// incarnation): it uses nothing now.
    Gone,
    /// No answer: refused, or not in time.
    Unknown,
}

/// An object [`Backend::objects_of`](crate::Backend::objects_of) is asked
/// about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectAsk<'a> {
    /// What a process's link reaches (its cwd, root, exe or an fd), when
    /// the link still reads as `text` and the process is that incarnation.
    Link(Identity, UseLink, &'a Path),
    /// The directory entry of this name in limier's own mount namespace,
    /// a last symbolic link not followed.
    Entry(&'a Path),
}

/// One `KEY=VALUE` entry of a process's environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    /// The variable's name.
    pub key: ByteString,
    /// Its value.
    pub value: ByteString,
}

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// TCP connection state; UDP sockets report `Bound` or `Connected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SocketState {
    /// TCP: accepting connections.
    Listen,
    /// TCP: connected.
    Established,
    /// TCP: connecting.
    SynSent,
    /// TCP: a connection half-open.
    SynRecv,
    /// TCP: closing (FIN_WAIT1).
    FinWait1,
    /// TCP: closing (FIN_WAIT2).
    FinWait2,
    /// TCP: closed, waiting out stray packets.
    TimeWait,
    /// TCP: closed.
    Close,
    /// TCP: the peer closed.
    CloseWait,
    /// TCP: closing, waiting for the last ACK.
    LastAck,
    /// TCP: both sides closing.
    Closing,
    /// UDP: bound to a local address.
    Bound,
    /// UDP: connected to a peer.
    Connected,
    /// A state limier does not know.
    Unknown,
}

impl SocketState {
    /// Maps the kernel's TCP state number (include/net/tcp_states.h).
    pub fn from_tcp_number(number: u8) -> Self {
        match number {
            1 => SocketState::Established,
            2 => SocketState::SynSent,
            3 => SocketState::SynRecv,
            4 => SocketState::FinWait1,
            5 => SocketState::FinWait2,
            6 => SocketState::TimeWait,
            7 => SocketState::Close,
            8 => SocketState::CloseWait,
            9 => SocketState::LastAck,
            10 => SocketState::Listen,
            11 => SocketState::Closing,
            _ => SocketState::Unknown,
        }
    }

    /// The state as `ss` names it (`LISTEN`, `ESTAB`, `UNCONN`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SocketState::Listen => "LISTEN",
            SocketState::Established => "ESTABLISHED",
            SocketState::SynSent => "SYN_SENT",
            SocketState::SynRecv => "SYN_RECV",
            SocketState::FinWait1 => "FIN_WAIT1",
            SocketState::FinWait2 => "FIN_WAIT2",
            SocketState::TimeWait => "TIME_WAIT",
            SocketState::Close => "CLOSE",
            SocketState::CloseWait => "CLOSE_WAIT",
            SocketState::LastAck => "LAST_ACK",
            SocketState::Closing => "CLOSING",
            SocketState::Bound => "BOUND",
            SocketState::Connected => "CONNECTED",
            SocketState::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for SocketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One TCP or UDP socket of the system socket table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketRecord {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The local address (`0.0.0.0` or `::` for any).
    pub local_addr: IpAddr,
    /// The local port.
    pub local_port: Port,
    /// The peer's address, for a connected socket.
    pub remote_addr: Option<IpAddr>,
    /// The peer's port, for a connected socket.
    pub remote_port: Option<Port>,
    /// The socket's state.
    pub state: SocketState,
    /// The socket's inode: the key to the fds holding it.
    pub inode: SocketInode,
    /// The uid that created the socket.
    pub uid: u32,
}

/// The process table from one kernel pass
/// ([`Backend::dump_process_table`](crate::Backend::dump_process_table)).
#[derive(Debug, Clone)]
pub struct TaskTable {
    /// Every process the pass visited, kernel threads and rows the pass
    /// could not read included (those read from `/proc`).
    pub records: Vec<ProcessRecord>,
    /// How many of `records` were read from `/proc/PID/stat` instead.
    pub from_proc: usize,
}

/// The reader that produced a layer (fds or mapped files) of a process: the
/// `sources` a snapshot reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LayerReader {
    /// A BPF iterator program: every process in one pass in the kernel
    /// (Linux, root).
    KernelIterator,
    /// readlink(2) on `/proc/PID/fd/N`, one fd at a time.
    Readlink,
    /// The `PROCMAP_QUERY` ioctl on `/proc/PID/maps` (Linux 6.11+).
    ProcmapQuery,
    /// The text of `/proc/PID/maps`.
    MapsText,
    /// libproc (macOS).
    Libproc,
    /// `/proc/PID/stat`, one process at a time (the process table).
    StatFile,
}

impl LayerReader {
    /// Every reader, in order (fastest first within an OS).
    pub const ALL: [LayerReader; 6] = [
        LayerReader::KernelIterator,
        LayerReader::Readlink,
        LayerReader::ProcmapQuery,
        LayerReader::MapsText,
        LayerReader::Libproc,
        LayerReader::StatFile,
    ];

    /// Its name in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            LayerReader::KernelIterator => "kernel-iterator",
            LayerReader::Readlink => "readlink",
            LayerReader::ProcmapQuery => "procmap-query",
            LayerReader::MapsText => "maps-text",
            LayerReader::StatFile => "stat-file",
            LayerReader::Libproc => "libproc",
        }
    }
}

impl fmt::Display for LayerReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a process does with a signal, from its masks (Linux:
/// `/proc/PID/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Ignored: sending it does nothing.
    Ignored,
    /// Blocked: it stays pending until the process unblocks it.
    Blocked,
    /// A handler catches it (it may end the process, or not).
    Caught,
    /// The default action (for TERM, HUP, INT: the process ends).
    Default,
}

/// The mount table of each mount namespace a capture's processes are in:
/// what a path a process names is to be read against. Empty where the OS
/// has no mount namespaces (macOS) or nothing was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountTables {
    /// The mount namespace of the capturing process.
    pub own: Option<u64>,
    /// Each namespace's mounts, mount points relative to that namespace's
    /// root (read from a process whose root is the namespace's).
    pub tables: std::collections::BTreeMap<u64, Vec<crate::parse::MountPoint>>,
}

impl MountTables {
    /// Whether asking a link's mount with `statx(AT_STATX_DONT_SYNC)` may
    /// wait on a server: a 9p mount revalidates a dentry reached through a
    /// `/proc` link by asking its server (`d_weak_revalidate`), and an
    /// overlay may sit on one. NFS does not without an open, FUSE has no
    /// such hook and answers from its cache. True as well when a namespace
    /// of `namespaces` has no table: its mounts are not known.
    ///
    /// # References
    /// Linux `fs/namei.c` `complete_walk`; `fs/9p/vfs_dentry.c`;
    /// `fs/nfs/dir.c` `nfs_weak_revalidate`; `fs/fuse/dir.c`
    /// `fuse_update_get_attr`.
    pub fn may_ask_servers(&self, namespaces: impl IntoIterator<Item = u64>) -> bool {
        let unknown = namespaces
            .into_iter()
            .any(|namespace| !self.tables.contains_key(&namespace));
        unknown
            || self
                .tables
                .values()
                .flatten()
                .any(|mount| mount.fstype == "9p")
    }
}

/// A process whose mount namespace's table is wanted: its namespace, its
/// identity and whether its root directory is that namespace's (`/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceMember {
    /// The mount namespace's inode.
    pub namespace: u64,
    /// The process.
    pub identity: Identity,
    /// Its root directory reads `/`: its mountinfo is the namespace's whole.
    pub root_is_namespace_root: bool,
}

/// A link of a process whose target's mount is asked (see
/// `Backend::mount_ids_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UseLink {
    /// Its working directory.
    Cwd,
    /// Its root directory.
    Root,
    /// Its executable.
    Exe,
    /// An open fd.
    Fd(u32),
}

/// What the kernel says of the mount a process's link reaches (see
/// `Backend::mount_ids_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountAnswer {
    /// The target is on the mount with this id (unique on the machine).
    On(u32),
    /// The process, or the fd, is gone (or the pid names another process):
    /// there is no such use any more.
    Gone,
    /// No answer: refused, a kernel without `STATX_MNT_ID` (before 5.8),
    /// a link that changed while it was asked, or no answer in time.
    Unknown,
}
