//! Snapshots built by hand for table-driven unit tests: a small builder
//! over [`Snapshot::from_parts`], so that attribution, sweep planning and
//! teardown are tested without spawning processes.

use super::{Layers, Process, Snapshot};
use limier_platform::{
    ByteString, EnvVar, FdRecord, FdTarget, MappedFile, Port, ProcessId, ProcessRecord, Protocol,
    SocketInode, SocketRecord, SocketState, StartTime,
};
use std::path::PathBuf;

/// The pid the builder gives "limier itself" (never a process of a table).
pub const SELF_PID: u32 = 99_999;

/// A snapshot under construction: init (pid 1) and limier itself (a child
/// of init) are always there; every layer counts as read.
pub struct SnapshotBuilder {
    processes: Vec<Process>,
    sockets: Vec<SocketRecord>,
    next_inode: u64,
    mounts: limier_platform::MountTables,
}

impl Default for SnapshotBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapshotBuilder {
    /// init and limier itself.
    pub fn new() -> Self {
        let mut builder = SnapshotBuilder {
            processes: Vec::new(),
            sockets: Vec::new(),
            next_inode: 1_000,
            mounts: limier_platform::MountTables::default(),
        };
        builder.process(1, 0, "systemd");
        builder.process(SELF_PID, 1, "limier");
        builder
    }

    /// Adds process `pid`, child of `ppid`, named `comm`, started at tick
    /// `pid * 10` (and `pid * 10` ms after the epoch), leading its own group
    /// and session, with no fds, mappings or environment.
    pub fn process(&mut self, pid: u32, ppid: u32, comm: &str) -> &mut Self {
        let mut record = ProcessRecord::bare(
            ProcessId(pid),
            ProcessId(ppid),
            StartTime(u64::from(pid) * 10),
            comm,
        );
        record.started_at_ms = u64::from(pid) * 10;
        record.uid = Some(1000);
        let mut process = Process::from_record(record);
        process.fds = Some(Vec::new());
        process.maps = Some(Vec::new());
        process.environ = Some(Vec::new());
        self.processes.push(process);
        self
    }

    fn get(&mut self, pid: u32) -> &mut Process {
        self.processes
            .iter_mut()
            .find(|p| p.record.pid == ProcessId(pid))
            .unwrap_or_else(|| panic!("fixture: add pid {pid} first"))
    }

    /// Sets the process group and session of `pid`.
    pub fn group(&mut self, pid: u32, pgid: u32, sid: u32) -> &mut Self {
        let record = &mut self.get(pid).record;
        record.pgid = ProcessId(pgid);
        record.sid = ProcessId(sid);
        self
    }

    /// Sets the cwd of `pid` (`deleted`: the directory was removed).
    pub fn cwd(&mut self, pid: u32, path: &str, deleted: bool) -> &mut Self {
        let record = &mut self.get(pid).record;
        record.cwd = Some(PathBuf::from(path));
        record.cwd_deleted = deleted;
        self
    }

    /// Sets the environment variable `key=value` of `pid`.
    pub fn env(&mut self, pid: u32, key: &str, value: &str) -> &mut Self {
        self.get(pid)
            .environ
            .get_or_insert_with(Vec::new)
            .push(EnvVar {
                key: ByteString(key.as_bytes().to_vec()),
                value: ByteString(value.as_bytes().to_vec()),
            });
        self
    }

    /// Gives `pid` an open fd on `path`.
    pub fn open(&mut self, pid: u32, path: &str, deleted: bool) -> &mut Self {
        let fds = self.get(pid).fds.get_or_insert_with(Vec::new);
        let fd = 3 + fds.len() as u32;
        fds.push(FdRecord {
            fd,
            target: FdTarget::Path {
                path: PathBuf::from(path),
                deleted,
            },
            mount_id: None,
        });
        self
    }

    /// Gives `pid` a mapping of `path`.
    pub fn map(&mut self, pid: u32, path: &str) -> &mut Self {
        self.get(pid)
            .maps
            .get_or_insert_with(Vec::new)
            .push(MappedFile {
                path: PathBuf::from(path),
                inode: 1,
                deleted: false,
                deleted_by_kernel: false,
                device: None,
            });
        self
    }

    /// Gives `pid` a TCP socket listening on `port` (every address).
    pub fn listen(&mut self, pid: u32, port: u16) -> &mut Self {
        self.next_inode += 1;
        let inode = SocketInode(self.next_inode);
        self.sockets.push(SocketRecord {
            protocol: Protocol::Tcp,
            local_addr: "0.0.0.0".parse().unwrap(),
            local_port: Port(port),
            remote_addr: None,
            remote_port: None,
            state: SocketState::Listen,
            inode,
            uid: 1000,
        });
        let fds = self.get(pid).fds.get_or_insert_with(Vec::new);
        let fd = 3 + fds.len() as u32;
        fds.push(FdRecord {
            fd,
            target: FdTarget::Socket { inode },
            mount_id: None,
        });
        self
    }

    /// Makes `ppid` the parent of `pid`.
    /// Makes `pid` run as `uid` (every fixture process runs as 1000, as
    /// limier itself does).
    pub fn uid(&mut self, pid: u32, uid: u32) -> &mut Self {
        self.get(pid).record.uid = Some(uid);
        self
    }

    pub fn parent(&mut self, pid: u32, ppid: u32) -> &mut Self {
        self.get(pid).record.ppid = ProcessId(ppid);
        self
    }

    /// Makes `pid` a zombie (exited, not yet reaped).
    pub fn zombie(&mut self, pid: u32) -> &mut Self {
        let process = self.get(pid);
        process.record.state = limier_platform::ProcessState::Zombie;
        process.fds = None;
        process.maps = None;
        process.environ = None;
        self
    }

    /// Marks `pid` a kernel thread.
    pub fn kernel_thread(&mut self, pid: u32) -> &mut Self {
        let process = self.get(pid);
        process.record.kernel_thread = true;
        process.fds = None;
        process.maps = None;
        process.environ = None;
        self
    }

    /// Puts `pid` in mount namespace `namespace`.
    pub fn mount_ns(&mut self, pid: u32, namespace: u64) -> &mut Self {
        self.get(pid).record.mount_ns = Some(namespace);
        self
    }

    /// The mount tables (without them, paths are compared as text).
    pub fn mounts(&mut self, mounts: limier_platform::MountTables) -> &mut Self {
        self.mounts = mounts;
        self
    }

    /// The snapshot, every layer read, taken by [`SELF_PID`].
    pub fn build(&self) -> Snapshot {
        let mut snapshot = Snapshot::from_parts(
            self.processes.clone(),
            self.sockets.clone(),
            Layers::ALL,
            ProcessId(SELF_PID),
            1_000_000,
        );
        snapshot.set_mount_tables(self.mounts.clone());
        snapshot
    }
}
