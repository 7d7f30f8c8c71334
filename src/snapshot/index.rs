//! The snapshot's indexes: parent → children, groups, sessions, socket
//! holders, ports, and a component-ordered path index.

use super::Process;
use limier_platform::{FdTarget, Port, ProcessId, Protocol, SocketInode, SocketRecord};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// How a process uses a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "fd", rename_all = "snake_case")]
pub enum UseKind {
    Cwd,
    Root,
    Exe,
    Fd(u32),
    Map,
}

/// One use of a path by a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathUse {
    pub pid: ProcessId,
    #[serde(rename = "use")]
    pub kind: UseKind,
    #[serde(serialize_with = "limier_platform::records::serialize_path")]
    pub path: PathBuf,
    /// The kernel reported the file or directory as deleted.
    pub deleted: bool,
}

#[derive(Debug, Default)]
pub(super) struct Indexes {
    pub children: HashMap<ProcessId, Vec<ProcessId>>,
    pub by_pgid: HashMap<ProcessId, Vec<ProcessId>>,
    pub by_sid: HashMap<ProcessId, Vec<ProcessId>>,
    pub socket_holders: HashMap<SocketInode, Vec<(ProcessId, u32)>>,
    pub by_port: HashMap<(Protocol, Port), Vec<usize>>,
    /// Path → uses; `Path`'s ordering is component-wise, so everything below a
    /// directory is one contiguous range after it.
    pub paths: BTreeMap<PathBuf, Vec<PathUse>>,
}

impl Indexes {
    pub fn build(processes: &BTreeMap<ProcessId, Process>, sockets: &[SocketRecord]) -> Self {
        let mut idx = Indexes::default();
        for process in processes.values() {
            let record = &process.record;
            let pid = record.pid;
            if pid != record.ppid {
                idx.children.entry(record.ppid).or_default().push(pid);
            }
            idx.by_pgid.entry(record.pgid).or_default().push(pid);
            idx.by_sid.entry(record.sid).or_default().push(pid);
            let mut add = |path: &Path, kind: UseKind, deleted: bool| {
                idx.paths.entry(path.to_owned()).or_default().push(PathUse {
                    pid,
                    kind,
                    path: path.to_owned(),
                    deleted,
                });
            };
            if let Some(cwd) = &record.cwd {
                add(cwd, UseKind::Cwd, record.cwd_deleted);
            }
            if let Some(root) = &record.root {
                add(root, UseKind::Root, false);
            }
            if let Some(exe) = &record.exe {
                add(exe, UseKind::Exe, false);
            }
            for fd in process.fds.iter().flatten() {
                match &fd.target {
                    FdTarget::Socket { inode } => {
                        idx.socket_holders.entry(*inode).or_default().push((pid, fd.fd));
                    }
                    FdTarget::Path { path, deleted } => add(path, UseKind::Fd(fd.fd), *deleted),
                    _ => {}
                }
            }
            for map in process.maps.iter().flatten() {
                add(&map.path, UseKind::Map, map.deleted);
            }
        }
        for (i, socket) in sockets.iter().enumerate() {
            idx.by_port
                .entry((socket.protocol, socket.local_port))
                .or_default()
                .push(i);
        }
        idx
    }

    pub fn uses_below<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = &'a PathUse> {
        self.paths
            .range::<Path, _>((std::ops::Bound::Included(dir), std::ops::Bound::Unbounded))
            .take_while(move |(path, _)| path.starts_with(dir))
            .flat_map(|(_, uses)| uses.iter())
    }
}
