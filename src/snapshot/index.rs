//! The snapshot's indexes: parent → children, groups, sessions, socket
//! holders and ports; and the path question (who uses what below a
//! directory), answered by one pass over the captured paths.

use super::dir_tree::{DirTree, Placement, Via};
use super::{DirUses, Process};
use limier_platform::{FdTarget, Port, ProcessId, Protocol, SocketInode, SocketRecord};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// How a process uses a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "fd", rename_all = "snake_case")]
pub enum UseKind {
    /// Its working directory.
    Cwd,
    /// Its root directory.
    Root,
    /// Its executable.
    Exe,
    /// An open fd, by number.
    Fd(u32),
    /// A memory-mapped file.
    Map,
}

impl UseKind {
    /// The process's link this use is read through (`/proc/PID/cwd`,
    /// `fd/N`…): what the kernel is asked about it; `None` for a mapped
    /// file, which has none.
    pub fn link(self) -> Option<limier_platform::UseLink> {
        use limier_platform::UseLink;
        match self {
            UseKind::Cwd => Some(UseLink::Cwd),
            UseKind::Root => Some(UseLink::Root),
            UseKind::Exe => Some(UseLink::Exe),
            UseKind::Fd(fd) => Some(UseLink::Fd(fd)),
            UseKind::Map => None,
        }
    }
}

/// One use of a path by a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathUse {
    /// The process.
    pub pid: ProcessId,
    #[serde(rename = "use")]
    /// How it uses the path.
    pub kind: UseKind,
    #[serde(serialize_with = "limier_platform::records::serialize_path")]
    /// The path used, as the process names it (in its mount namespace).
    pub path: PathBuf,
    /// The kernel reported the file or directory as deleted.
    pub deleted: bool,
    /// The same object's path below the directory as asked, when it is not
    /// `path` (reached through another path or namespace): see
    /// [`as_asked`](Self::as_asked).
    #[serde(skip)]
    pub elsewhere_as: Option<Box<Path>>,
    /// The other path or mount namespace it was reached through, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Box<Via>>,
}

impl PathUse {
    /// The same object's path below the directory as asked: `path`, unless
    /// it was reached through another path or namespace.
    pub fn as_asked(&self) -> &Path {
        self.elsewhere_as.as_deref().unwrap_or(&self.path)
    }
}

#[derive(Debug, Default)]
pub(super) struct Indexes {
    pub children: HashMap<ProcessId, Vec<ProcessId>>,
    pub by_pgid: HashMap<ProcessId, Vec<ProcessId>>,
    pub by_sid: HashMap<ProcessId, Vec<ProcessId>>,
    pub socket_holders: HashMap<SocketInode, Vec<(ProcessId, u32)>>,
    pub by_port: HashMap<(Protocol, Port), Vec<usize>>,
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
            for fd in process.fds.iter().flatten() {
                if let FdTarget::Socket { inode } = &fd.target {
                    idx.socket_holders
                        .entry(*inode)
                        .or_default()
                        .push((pid, fd.fd));
                }
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
}

/// Every use by one process of a path in `tree`, added to `found`; a
/// process whose paths could not be placed (a mount namespace limier could
/// not read) is added to its `unplaceable`, and a use whose text ends in
/// " (deleted)" (either reading in the tree) to its `undecided`, for the
/// kernel to decide which reading is true.
///
/// One pass over the process's cwd, root, exe, fds and mappings, comparing
/// bytes with the tree's few aliases: cheaper for a one-shot question than
/// building an ordered index of tens of thousands of paths first.
pub(super) fn uses_below(process: &Process, tree: &DirTree, found: &mut DirUses) {
    let record = &process.record;
    let pid = record.pid;
    let namespace = record.mount_ns;
    // `on`: what the reader said of where the object is (the kernel fd
    // dump's mount id, the maps file's device).
    let mut check = |path: &Path, kind: UseKind, deleted: Deleted, on: On| {
        let place = |path: &Path| match on {
            On::Mount(id) => tree.place_on_known_mount(namespace, path, id),
            On::Device(device) => tree.place_on_device(namespace, path, device),
            On::Unknown => tree.place(namespace, path),
        };
        let placed = place(path);
        if let Deleted::BySuffix(mapped) = deleted {
            // The kernel appends " (deleted)" to an unlinked file's path;
            // a name may also end so. The text alone cannot say which.
            let mut literal = path.as_os_str().to_owned();
            literal.push(DELETED_SUFFIX);
            let literal = PathBuf::from(literal);
            let literal_placed = place(&literal);
            let inside = |p: &Placement| matches!(p, Placement::Inside { .. });
            if inside(&placed) || inside(&literal_placed) {
                found.undecided.push(UndecidedUse {
                    pid,
                    kind,
                    text: literal,
                    own_namespace: namespace.is_none() || namespace == tree.own_namespace(),
                    mapped,
                    placed: [placed, literal_placed],
                });
                return;
            }
        }
        match placed {
            Placement::Outside => {}
            Placement::Inside { as_asked, via } => found.uses.push(PathUse {
                pid,
                kind,
                path: path.to_owned(),
                deleted: deleted != Deleted::No,
                elsewhere_as: as_asked.map(PathBuf::into_boxed_path),
                via: via.map(Box::new),
            }),
            // A link's mount can be asked (`place_on_mount`); a mapping's
            // cannot, and it stays unplaced.
            Placement::Unplaceable { .. } if kind != UseKind::Map => {
                found.unplaced_links.push(PathUse {
                    pid,
                    kind,
                    path: path.to_owned(),
                    deleted: deleted != Deleted::No,
                    elsewhere_as: None,
                    via: None,
                });
            }
            Placement::Unplaceable { .. } => {
                found.unplaceable.insert(pid);
            }
        }
    };
    let by_suffix = |deleted: bool| {
        if deleted {
            Deleted::BySuffix(None)
        } else {
            Deleted::No
        }
    };
    if let Some(cwd) = &record.cwd {
        check(
            cwd,
            UseKind::Cwd,
            by_suffix(record.cwd_deleted),
            On::Unknown,
        );
    }
    if let Some(root) = &record.root {
        check(root, UseKind::Root, Deleted::No, On::Unknown);
    }
    if let Some(exe) = &record.exe {
        check(
            exe,
            UseKind::Exe,
            by_suffix(record.exe_deleted),
            On::Unknown,
        );
    }
    for fd in process.fds.iter().flatten() {
        if let FdTarget::Path { path, deleted } = &fd.target {
            let on = fd.mount_id.map_or(On::Unknown, On::Mount);
            check(path, UseKind::Fd(fd.fd), by_suffix(*deleted), on);
        }
    }
    for map in process.maps.iter().flatten() {
        let deleted = match (map.deleted, map.deleted_by_kernel) {
            (false, _) => Deleted::No,
            (true, true) => Deleted::ByKernel,
            (true, false) => Deleted::BySuffix(map.device.map(|device| MappedObject {
                device,
                inode: map.inode,
            })),
        };
        let on = map.device.map_or(On::Unknown, On::Device);
        check(&map.path, UseKind::Map, deleted, on);
    }
}

/// Where a reader said a path's object is, beside its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// On the mount with this id (the kernel fd dump).
    Mount(u32),
    /// On this super block (a maps file's `major:minor`).
    Device((u32, u32)),
    /// Not said: the text is placed.
    Unknown,
}

/// How a path's reader said whether its object was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deleted {
    /// Not deleted (no " (deleted)" suffix, or the kernel's flag unset).
    No,
    /// The kernel's own flag on the dentry (the mapping program).
    ByKernel,
    /// The text ended in " (deleted)", taken off: the kernel's suffix or
    /// part of a name. A mapped file's object as the maps file names it
    /// comes along.
    BySuffix(Option<MappedObject>),
}

/// A mapped file's object as the maps file names it (its link count is
/// not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedObject {
    /// The device (`major`, `minor`).
    pub device: (u32, u32),
    /// The inode.
    pub inode: u64,
}

/// What the kernel appends to the path of an unlinked file or directory.
const DELETED_SUFFIX: &str = " (deleted)";

/// A use whose path text ends in " (deleted)", read as the path of a
/// deleted file or as a name that ends so, one of them in the asked tree:
/// which is true is the kernel's to say (see
/// [`placed_uses`](crate::query::placed_uses)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndecidedUse {
    /// The process.
    pub pid: ProcessId,
    /// How it uses the path.
    pub kind: UseKind,
    /// The path text as the kernel gave it, suffix included.
    pub text: PathBuf,
    /// The process is in limier's mount namespace: `text` names the same
    /// entry for limier.
    pub own_namespace: bool,
    /// For a mapped file, its object as the maps file names it.
    pub mapped: Option<MappedObject>,
    /// Where each reading lies: the deleted one, then the literal one.
    pub placed: [Placement; 2],
}

impl UndecidedUse {
    /// The use under the reading chosen: the path of a deleted file when
    /// `deleted`, else the name as the kernel gave it, placed as that
    /// reading was.
    pub fn decided(self, deleted: bool) -> Decided {
        let [deleted_placed, literal_placed] = self.placed;
        let (placed, path) = if deleted {
            let text = self.text.as_os_str().as_encoded_bytes();
            let stripped = &text[..text.len() - DELETED_SUFFIX.len()];
            let stripped = std::ffi::OsStr::from_bytes(stripped);
            (deleted_placed, PathBuf::from(stripped))
        } else {
            (literal_placed, self.text)
        };
        match placed {
            Placement::Inside { as_asked, via } => Decided::Use(PathUse {
                pid: self.pid,
                kind: self.kind,
                path,
                deleted,
                elsewhere_as: as_asked.map(PathBuf::into_boxed_path),
                via: via.map(Box::new),
            }),
            Placement::Outside => Decided::Outside,
            Placement::Unplaceable { .. } => Decided::Unplaceable(self.pid),
        }
    }
}

/// An [`UndecidedUse`] once a reading is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// A use of the tree.
    Use(PathUse),
    /// Not in the tree.
    Outside,
    /// The reading chosen cannot be placed (see [`Placement::Unplaceable`]):
    /// this process's use cannot be told.
    Unplaceable(ProcessId),
}

/// Whether any path `process` uses (as captured so far) lies in `tree`.
/// Only a use a later question cannot move out of the tree counts: not one
/// whose " (deleted)" the kernel is still to decide, nor a link whose text
/// may name another mount (its mount is asked then), unless the fd's mount
/// came with it. (A cwd, root or exe is asked again whatever its text; where
/// no mount lies on its way and one namespace is seen, the answer can only
/// agree, or find its process gone.)
pub(super) fn uses_anything_below(process: &Process, tree: &DirTree) -> bool {
    let mut found = DirUses::default();
    uses_below(process, tree, &mut found);
    found.uses.iter().any(|path_use| match path_use.kind {
        UseKind::Fd(fd) if process.fd_mount(fd).is_some() => true,
        UseKind::Map => true,
        _ => !tree.text_may_name_another_mount(&path_use.path),
    })
}

/// `path == dir` or `path` is inside `dir`, by bytes on a component
/// boundary: the one "at or below" rule for paths (already made absolute
/// and normalised) everywhere limier compares them.
pub(crate) fn is_at_or_below(path: &Path, dir: &Path) -> bool {
    let path = path.as_os_str().as_bytes();
    let dir = dir.as_os_str().as_bytes();
    let dir = if dir.len() > 1 {
        dir.strip_suffix(b"/").unwrap_or(dir)
    } else {
        dir
    };
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest[0] == b'/' || dir == b"/",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_at_or_below, uses_anything_below};
    use crate::snapshot::{fixture::SnapshotBuilder, DirTree};
    use limier_platform::parse::MountPoint;
    use limier_platform::{MountTables, ProcessId};
    use std::path::Path;

    /// Whether a cwd in the tree by its text spares reading the process's
    /// mappings: only where no mount point lies on its way, since its mount
    /// is asked later and may move it out of the tree.
    #[test]
    fn a_use_whose_mount_may_move_it_spares_no_mapping_read() {
        let mount = |id: u32, device: (u32, u32), path: &str| MountPoint {
            id,
            parent: 1,
            device,
            root: "/".into(),
            root_deleted: false,
            path: path.into(),
            fstype: "ext4".into(),
        };
        let tables = |own: Vec<MountPoint>| MountTables {
            own: Some(7),
            tables: [(7, own)].into_iter().collect(),
        };
        let snapshot = SnapshotBuilder::new()
            .process(10, 1, "node")
            .cwd(10, "/home/u/repo/wt", false)
            .build();
        let process = snapshot.process(ProcessId(10)).unwrap();
        let plain = tables(vec![mount(1, (8, 1), "/")]);
        let tree = DirTree::new(&plain, Path::new("/home/u/repo"));
        assert!(uses_anything_below(process, &tree));
        // /home a mount of its own: the cwd may be what lay under it.
        let home = tables(vec![mount(1, (8, 1), "/"), mount(2, (8, 2), "/home")]);
        let tree = DirTree::new(&home, Path::new("/home/u/repo"));
        assert!(!uses_anything_below(process, &tree));
    }

    #[test]
    fn below_is_component_wise() {
        assert!(is_at_or_below(Path::new("/a/b"), Path::new("/a/b")));
        assert!(is_at_or_below(Path::new("/a/b/c"), Path::new("/a/b")));
        assert!(is_at_or_below(Path::new("/a/b/c"), Path::new("/a/b/")));
        assert!(!is_at_or_below(Path::new("/a/bc"), Path::new("/a/b")));
        assert!(!is_at_or_below(Path::new("/a"), Path::new("/a/b")));
        assert!(is_at_or_below(Path::new("/x"), Path::new("/")));
    }
}
