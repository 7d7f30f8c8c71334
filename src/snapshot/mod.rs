//! One native snapshot of the system: processes, their files, and sockets.
//!
//! A [`Snapshot`] is captured once per command and every question is answered
//! from it (see [`crate::query`]). Optional layers (fds, mappings, environment,
//! sockets) are read only when the command's queries need them.

mod capture;
mod dir_tree;
#[cfg(test)]
pub(crate) mod fixture;
mod index;
mod sources;

pub use capture::{capture, CaptureOptions, FdSource, Parallelism};
pub use dir_tree::{DirTree, Placement, Via};
pub(crate) use index::is_at_or_below;
pub use index::{Decided, MappedObject, PathUse, UndecidedUse, UseKind};
pub use sources::{LayerSources, NotUsed, Sources, WhyNotUsed};

use index::Indexes;
pub use limier_platform::FdScope;
use limier_platform::{
    EnvVar, FdRecord, MappedFile, MountAnswer, MountTables, Port, ProcessId, ProcessRecord,
    Protocol, SocketInode, SocketRecord,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// One optional layer of a snapshot: what a question needs, what a
/// process refused. JSON names it in snake case (`fds`, `environ`,
/// `file_fds`, ...); messages by `Display` (`file fds` says why it lacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// cmdline and owner.
    Details,
    /// exe, cwd, root.
    Links,
    /// The TCP/UDP socket table.
    Sockets,
    /// Open file descriptors.
    Fds,
    /// Every open file descriptor, not only sockets (what path questions need).
    FileFds,
    /// Memory-mapped files.
    Maps,
    /// Environments.
    Environ,
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layer::Details => "details",
            Layer::Links => "links",
            Layer::Sockets => "sockets",
            Layer::Fds => "fds",
            Layer::FileFds => "file fds (it kept socket fds only, as Layers::PORTS does)",
            Layer::Maps => "maps",
            Layer::Environ => "environ",
        })
    }
}

/// Which optional layers a snapshot reads besides the process table
/// (pid, parents, groups, sessions, state, start time, comm, owner). A set:
/// `a | b` reads what either reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layers {
    /// cmdline and owner (uid) of every process (without them, read for the
    /// processes reported with [`Snapshot::load_details`]).
    pub details: bool,
    /// exe, cwd and root of every process: what directory questions match.
    pub links: bool,
    /// The TCP/UDP socket table.
    pub sockets: bool,
    /// Open file descriptors of every process (the kernel's one-pass dump or
    /// readlink, never stat: see [`FdSource`]): every fd
    /// ([`FdScope::All`]), socket fds only ([`FdScope::Sockets`], all port
    /// questions need), or none.
    pub fds: Option<FdScope>,
    /// Memory-mapped files (the kernel's one-pass dump or the maps text:
    /// see [`FdSource`]).
    pub maps: bool,
    /// Environments.
    pub environ: bool,
}

/// The JSON keeps its two fd flags: `fds` (read at all) and
/// `only_socket_fds`.
impl Serialize for Layers {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut layers = out.serialize_struct("Layers", 7)?;
        layers.serialize_field("details", &self.details)?;
        layers.serialize_field("links", &self.links)?;
        layers.serialize_field("sockets", &self.sockets)?;
        layers.serialize_field("fds", &self.fds.is_some())?;
        layers.serialize_field("only_socket_fds", &(self.fds == Some(FdScope::Sockets)))?;
        layers.serialize_field("maps", &self.maps)?;
        layers.serialize_field("environ", &self.environ)?;
        layers.end()
    }
}

impl Layers {
    /// Whether a process's directory must be opened for these layers:
    /// anything beyond its stat (and the sockets, read machine-wide).
    pub fn needs_process_dir(&self) -> bool {
        self.details || self.links || self.fds.is_some() || self.maps || self.environ
    }

    /// Only the process table.
    pub const PROCESSES: Layers = Layers {
        details: false,
        links: false,
        sockets: false,
        fds: None,
        maps: false,
        environ: false,
    };
    /// What port questions need: sockets and the fds that hold them
    /// (details are read afterwards for the few processes reported, with
    /// [`Snapshot::load_details`]).
    pub const PORTS: Layers = Layers {
        details: false,
        links: false,
        sockets: true,
        fds: Some(FdScope::Sockets),
        maps: false,
        environ: false,
    };
    /// What directory questions need: cwd/exe/root, fds and mappings
    /// (details are read afterwards for the users reported, with
    /// [`Snapshot::load_details`]).
    pub const FILES: Layers = Layers {
        details: false,
        links: true,
        sockets: false,
        fds: Some(FdScope::All),
        maps: true,
        environ: false,
    };
    /// Everything.
    pub const ALL: Layers = Layers {
        details: true,
        links: true,
        sockets: true,
        fds: Some(FdScope::All),
        maps: true,
        environ: true,
    };

    /// Whether every fd was kept (not only sockets): what path questions need.
    pub fn file_fds(&self) -> bool {
        self.fds == Some(FdScope::All)
    }

    /// The union of two layer sets (`self | other`).
    pub fn union(self, other: Layers) -> Layers {
        self | other
    }

    /// Whether the set holds no layer (the process table alone).
    pub fn is_empty(&self) -> bool {
        *self == Layers::PROCESSES
    }

    /// Adds `layer`: [`Layer::Fds`] and [`Layer::FileFds`] both mean every
    /// fd.
    pub fn insert(&mut self, layer: Layer) {
        *self = *self | Layers::from(layer);
    }

    /// Whether the set holds `layer` ([`Layer::FileFds`]: every fd, not
    /// only sockets).
    pub fn contains(&self, layer: Layer) -> bool {
        match layer {
            Layer::Details => self.details,
            Layer::Links => self.links,
            Layer::Sockets => self.sockets,
            Layer::Fds => self.fds.is_some(),
            Layer::FileFds => self.file_fds(),
            Layer::Maps => self.maps,
            Layer::Environ => self.environ,
        }
    }

    /// The layers of the set, in [`Layer`] order; fds once, as
    /// [`Layer::Fds`] (whether only sockets is [`file_fds`](Self::file_fds)).
    pub fn iter(&self) -> impl Iterator<Item = Layer> + '_ {
        [
            Layer::Details,
            Layer::Links,
            Layer::Sockets,
            Layer::Fds,
            Layer::Maps,
            Layer::Environ,
        ]
        .into_iter()
        .filter(|layer| self.contains(*layer))
    }
}

impl From<Layer> for Layers {
    /// The set of `layer` alone ([`Layer::Fds`]: every fd).
    fn from(layer: Layer) -> Layers {
        let mut layers = Layers::PROCESSES;
        match layer {
            Layer::Details => layers.details = true,
            Layer::Links => layers.links = true,
            Layer::Sockets => layers.sockets = true,
            Layer::Fds | Layer::FileFds => layers.fds = Some(FdScope::All),
            Layer::Maps => layers.maps = true,
            Layer::Environ => layers.environ = true,
        }
        layers
    }
}

/// A set of layers as the JSON lists a process's refused ones:
/// `["fds", "maps"]`.
fn serialize_layer_list<S: serde::Serializer>(layers: &Layers, out: S) -> Result<S::Ok, S::Error> {
    out.collect_seq(layers.iter())
}

impl std::ops::BitOr for Layers {
    type Output = Layers;

    /// What either reads; every fd when either keeps every fd.
    fn bitor(self, other: Layers) -> Layers {
        let fds = match (self.fds, other.fds) {
            (Some(FdScope::All), _) | (_, Some(FdScope::All)) => Some(FdScope::All),
            (Some(FdScope::Sockets), _) | (_, Some(FdScope::Sockets)) => Some(FdScope::Sockets),
            (None, None) => None,
        };
        Layers {
            details: self.details || other.details,
            links: self.links || other.links,
            sockets: self.sockets || other.sockets,
            fds,
            maps: self.maps || other.maps,
            environ: self.environ || other.environ,
        }
    }
}

/// One process as captured: the record plus the optional layers read for it.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    #[serde(flatten)]
    /// The process table entry (and details, when read).
    pub record: ProcessRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Open fds, when the layer was read.
    pub fds: Option<Vec<FdRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Mapped files, when the layer was read.
    pub maps: Option<Vec<MappedFile>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The environment, when the layer was read.
    pub environ: Option<Vec<EnvVar>>,
    /// Layers that were refused (EACCES): the answer may miss this process's part.
    #[serde(
        serialize_with = "serialize_layer_list",
        skip_serializing_if = "Layers::is_empty"
    )]
    pub denied: Layers,
    /// [`Snapshot::load_details`] was asked for this process (whatever it
    /// could read): its command line and links are as known as they get.
    #[serde(skip)]
    pub details_asked: bool,
}

impl Process {
    /// A process built from a record alone (the optional layers unread).
    pub fn from_record(record: ProcessRecord) -> Self {
        Process {
            record,
            fds: None,
            maps: None,
            environ: None,
            denied: Layers::PROCESSES,
            details_asked: false,
        }
    }

    /// The process id.
    pub fn pid(&self) -> ProcessId {
        self.record.pid
    }

    /// Whether every part limier tried to read was readable.
    pub fn inspectable(&self) -> bool {
        self.record.inspectable && self.denied.is_empty()
    }

    /// Open fd `fd`, when the fd layer was read and holds it.
    pub fn fd(&self, fd: u32) -> Option<&FdRecord> {
        self.fds.as_ref()?.iter().find(|record| record.fd == fd)
    }

    /// The mount open fd `fd`'s file is on, when it came with the fd (the
    /// kernel fd dump): the fd was placed by it already.
    pub fn fd_mount(&self, fd: u32) -> Option<u32> {
        self.fd(fd)?.mount_id
    }

    /// The value of `key` in the environment, if the environment was read.
    pub fn env_value(&self, key: &[u8]) -> Option<&[u8]> {
        self.environ
            .as_ref()?
            .iter()
            .find(|var| var.key.as_bytes() == key)
            .map(|var| var.value.as_bytes())
    }

    /// The command line joined with spaces (lossy), or `[comm]` when empty.
    pub fn command_line(&self) -> String {
        if self.record.cmdline.is_empty() {
            return format!("[{}]", self.record.comm.to_string_lossy());
        }
        let words: Vec<std::borrow::Cow<'_, str>> = self
            .record
            .cmdline
            .iter()
            .map(|w| w.to_string_lossy())
            .collect();
        words.join(" ")
    }
}

/// The whole captured system, with its indexes.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// Milliseconds since the epoch when the capture started.
    pub captured_at_ms: u64,
    /// The pid of the process that took the snapshot.
    pub self_pid: ProcessId,
    /// The layers read.
    pub layers: Layers,
    #[serde(serialize_with = "serialize_values")]
    processes: BTreeMap<ProcessId, Process>,
    sockets: Vec<SocketRecord>,
    /// Pids that vanished between listing and reading (dropped).
    pub vanished: usize,
    /// Which reader served the fds and mappings, and why a faster one did
    /// not (empty for a snapshot built from parts).
    pub sources: Sources,
    #[serde(skip)]
    indexes: Indexes,
    /// The mount table of each mount namespace the processes are in (read
    /// with the links layer).
    #[serde(skip)]
    mounts: MountTables,
    #[serde(skip)]
    captured: bool,
    /// The kernel's answers on which mount a link's target is on, kept for
    /// the snapshot's lifetime (see [`link_mounts`](Self::link_mounts)).
    #[serde(skip)]
    link_mounts: std::sync::Mutex<
        std::collections::HashMap<(ProcessId, limier_platform::UseLink), MountAnswer>,
    >,
    /// Each directory tree's placed uses, kept for the snapshot's lifetime
    /// (see [`placed_once`](Self::placed_once)).
    #[serde(skip)]
    placed: std::sync::Mutex<std::collections::HashMap<std::ffi::OsString, PlacedUses>>,
}

/// A directory tree's uses, each placed, and the uses whose deleted-ness
/// could not be decided (see [`crate::query::placed_uses`]).
pub type PlacedUses = (DirUses, Vec<UndecidedUse>);

/// The ancestors of a process, nearest first (see [`Snapshot::ancestors`]).
#[derive(Debug)]
pub struct Ancestors<'a> {
    snapshot: &'a Snapshot,
    current: Option<ProcessId>,
    seen: std::collections::HashSet<ProcessId>,
}

impl Iterator for Ancestors<'_> {
    type Item = ProcessId;

    fn next(&mut self) -> Option<ProcessId> {
        let current = self.current.take()?;
        let parent = self.snapshot.process(current)?.record.ppid;
        if parent.0 == 0 || !self.seen.insert(parent) {
            return None;
        }
        self.current = Some(parent);
        Some(parent)
    }
}

/// The uses of a directory tree, and whose paths could not be placed.
#[derive(Debug, Clone, Default)]
pub struct DirUses {
    /// Every use, in pid order.
    pub uses: Vec<PathUse>,
    /// Processes in a mount namespace limier could not read whose paths
    /// read as below the directory: whether they use it cannot be told.
    pub unplaceable: std::collections::BTreeSet<ProcessId>,
    /// Uses whose deleted-ness decides whether they are in the tree (see
    /// [`UndecidedUse`]): not in `uses` until someone decides.
    pub undecided: Vec<UndecidedUse>,
    /// Uses of a link (cwd, root, exe, an fd) whose text alone could not be
    /// placed (see [`DirTree::place`]): placed once their mount is known
    /// ([`DirTree::place_on_mount`]), unplaceable otherwise.
    pub unplaced_links: Vec<PathUse>,
}

impl Snapshot {
    /// Builds a snapshot from records already in hand (tests, replays, other tools).
    pub fn from_parts(
        processes: Vec<Process>,
        sockets: Vec<SocketRecord>,
        layers: Layers,
        self_pid: ProcessId,
        captured_at_ms: u64,
    ) -> Self {
        let processes: BTreeMap<ProcessId, Process> =
            processes.into_iter().map(|p| (p.pid(), p)).collect();
        let indexes = Indexes::build(&processes, &sockets);
        Snapshot {
            captured_at_ms,
            self_pid,
            layers,
            processes,
            sockets,
            vanished: 0,
            sources: Sources::default(),
            indexes,
            mounts: MountTables::default(),
            captured: false,
            link_mounts: Default::default(),
            placed: Default::default(),
        }
    }

    /// Every process, in pid order.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.processes.values()
    }

    /// The process with `pid`, if captured.
    pub fn process(&self, pid: ProcessId) -> Option<&Process> {
        self.processes.get(&pid)
    }

    /// How many processes were captured.
    pub fn len(&self) -> usize {
        self.processes.len()
    }

    /// Whether no process was captured.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }

    /// Every socket of the socket table (empty unless `layers.sockets`).
    pub fn sockets(&self) -> &[SocketRecord] {
        &self.sockets
    }

    /// Direct children of `pid`, in pid order.
    pub fn children(&self, pid: ProcessId) -> &[ProcessId] {
        self.indexes.children.get(&pid).map_or(&[], Vec::as_slice)
    }

    /// The ancestors of `pid`, nearest first: its parent, that one's parent,
    /// and so on up to a process whose parent is pid 0. The walk ends after a
    /// parent that is not in the snapshot (that parent is still yielded), and
    /// at the first repeat: cycle-safe on an inconsistent table. `pid` itself
    /// is not yielded.
    pub fn ancestors(&self, pid: ProcessId) -> Ancestors<'_> {
        Ancestors {
            snapshot: self,
            current: Some(pid),
            seen: std::collections::HashSet::from([pid]),
        }
    }

    /// Members of process group `pgid`.
    pub fn group_members(&self, pgid: ProcessId) -> &[ProcessId] {
        self.indexes.by_pgid.get(&pgid).map_or(&[], Vec::as_slice)
    }

    /// Members of session `sid`.
    pub fn session_members(&self, sid: ProcessId) -> &[ProcessId] {
        self.indexes.by_sid.get(&sid).map_or(&[], Vec::as_slice)
    }

    /// The (pid, fd) pairs holding socket `inode`.
    pub fn socket_holders(&self, inode: SocketInode) -> &[(ProcessId, u32)] {
        self.indexes
            .socket_holders
            .get(&inode)
            .map_or(&[], Vec::as_slice)
    }

    /// The sockets `pid` holds an fd to, each once, in the socket table's order.
    pub fn sockets_held_by(&self, pid: ProcessId) -> Vec<&SocketRecord> {
        let Some(process) = self.processes.get(&pid) else {
            return Vec::new();
        };
        let inodes: std::collections::HashSet<SocketInode> = process
            .fds
            .iter()
            .flatten()
            .filter_map(|fd| match fd.target {
                limier_platform::FdTarget::Socket { inode } => Some(inode),
                _ => None,
            })
            .collect();
        self.sockets
            .iter()
            .filter(|s| inodes.contains(&s.inode))
            .collect()
    }

    /// Sockets bound to `port` with `protocol`.
    pub fn sockets_on(
        &self,
        protocol: Protocol,
        port: Port,
    ) -> impl Iterator<Item = &SocketRecord> {
        self.indexes
            .by_port
            .get(&(protocol, port))
            .into_iter()
            .flatten()
            .map(|&i| &self.sockets[i])
    }

    /// Every use of a path in the tree at `dir` as its text places it (see
    /// [`DirTree`]: the same directory under any path, in any mount
    /// namespace), in pid order, with the processes whose paths could not
    /// be placed (in a mount namespace whose mounts could not be read, a
    /// path whose text lies below `dir`) and the uses whose text ends in
    /// " (deleted)". [`query::placed_uses`](crate::query::placed_uses)
    /// asks the kernel what the text cannot say.
    pub fn dir_uses(&self, dir: &std::path::Path) -> DirUses {
        self.uses_in(&self.dir_tree(dir))
    }

    /// [`dir_uses`](Self::dir_uses) of a tree already built.
    pub fn uses_in(&self, tree: &DirTree) -> DirUses {
        let mut uses = DirUses::default();
        for process in self.processes.values() {
            index::uses_below(process, tree, &mut uses);
        }
        uses
    }

    /// The tree at `dir` as this snapshot's mount tables place it.
    pub fn dir_tree(&self, dir: &std::path::Path) -> DirTree {
        DirTree::new(&self.mounts, dir)
    }

    /// The mount table of each mount namespace the processes are in.
    pub fn mount_tables(&self) -> &MountTables {
        &self.mounts
    }

    /// Whether this snapshot was captured from the live system (its
    /// processes may be asked more, by identity), not built from parts.
    pub fn is_captured(&self) -> bool {
        self.captured
    }

    /// The placed uses of the tree at `path`, computed by `place` the first
    /// time the tree is asked about and kept: two questions of one snapshot
    /// about one directory (`ecluse flush`'s tag and worktree selectors)
    /// pay for one pass and get one answer.
    pub(crate) fn placed_once(
        &self,
        path: &std::path::Path,
        place: impl FnOnce() -> PlacedUses,
    ) -> PlacedUses {
        // Keyed by the path's bytes, as placement compares them (`Path`'s
        // own equality would take `/w/./x` for `/w/x`).
        let key = path.as_os_str().to_owned();
        let known = self.placed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(placed) = known.get(&key) {
            return placed.clone();
        }
        // Not held while placing: placing asks `link_mounts`, whose lock is
        // another, and a second thread asking the same tree only repeats
        // the work.
        drop(known);
        let placed = place();
        self.placed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, placed.clone());
        placed
    }

    /// Which mount each asked link's target is on
    /// ([`Backend::mount_ids_of`](limier_platform::Backend::mount_ids_of)),
    /// each asked of the kernel once per snapshot. A snapshot built from
    /// parts has no processes to ask: every answer is unknown.
    pub fn link_mounts(
        &self,
        asks: &[(
            limier_platform::Identity,
            limier_platform::UseLink,
            &std::path::Path,
        )],
    ) -> Vec<MountAnswer> {
        if !self.captured {
            return vec![MountAnswer::Unknown; asks.len()];
        }
        let mut known = self.link_mounts.lock().unwrap_or_else(|e| e.into_inner());
        let new: Vec<(
            limier_platform::Identity,
            limier_platform::UseLink,
            &std::path::Path,
        )> = asks
            .iter()
            .filter(|(identity, link, _)| !known.contains_key(&(identity.pid, *link)))
            .copied()
            .collect();
        if !new.is_empty() {
            // In this process where no mount can make the call wait on a
            // server; in a helper limier can leave behind otherwise.
            let namespaces = new.iter().filter_map(|(identity, _, _)| {
                self.processes
                    .get(&identity.pid)
                    .and_then(|p| p.record.mount_ns)
            });
            let where_asked = if self.mounts.may_ask_servers(namespaces) {
                limier_platform::AskMounts::InHelper
            } else {
                limier_platform::AskMounts::InProcess
            };
            let answers = match limier_platform::Backend::new() {
                Ok(backend) => {
                    backend.mount_ids_of(&new, crate::query::RESOLVE_PATIENCE, where_asked)
                }
                Err(_) => vec![MountAnswer::Unknown; new.len()],
            };
            for ((identity, link, _), answer) in new.iter().zip(answers) {
                known.insert((identity.pid, *link), answer);
            }
        }
        asks.iter()
            .map(|(identity, link, _)| known[&(identity.pid, *link)])
            .collect()
    }

    /// Drops every process's environment (secrets, often) once the
    /// questions that needed it are answered, before the snapshot is shown.
    pub fn forget_environ(&mut self) {
        for process in self.processes.values_mut() {
            process.environ = None;
        }
        self.layers.environ = false;
    }

    /// Gives a snapshot built from parts its mount tables (see
    /// [`from_parts`](Self::from_parts)): without them paths are compared
    /// as text.
    pub fn set_mount_tables(&mut self, mounts: MountTables) {
        self.mounts = mounts;
        self.placed
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Reads details (cmdline, exe, cwd, root) and, if `environ`, the
    /// environment of `pids` after capture: the lazy path for questions that
    /// report on a few processes out of thousands. A pid whose start time
    /// changed since the capture is left as it was. The path index keeps
    /// what was captured; use [`Layers::details`] at capture time for
    /// directory questions.
    pub fn load_details(
        &mut self,
        backend: &limier_platform::Backend,
        pids: &[ProcessId],
        environ: bool,
    ) {
        // What is read now may place a use differently.
        self.placed
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for pid in pids {
            let Some(process) = self.processes.get_mut(pid) else {
                continue;
            };
            process.details_asked = true;
            let Ok(dir) = backend.open_incarnation(process.record.identity()) else {
                continue;
            };
            if process.record.uid.is_none() {
                // A stat-only capture: the owner comes from the directory.
                process.record.uid = dir.basic().ok().and_then(|basic| basic.uid);
            }
            if !self.layers.details && process.record.cmdline.is_empty() {
                let _ = dir.add_cmdline(&mut process.record);
            }
            if !self.layers.links && process.record.cwd.is_none() {
                let _ = dir.add_links(&mut process.record);
            }
            if environ && process.environ.is_none() {
                match dir.environ() {
                    Ok(vars) => process.environ = Some(vars),
                    Err(err) if err.is_permission_denied() => process.denied.insert(Layer::Environ),
                    Err(_) => {}
                }
            }
        }
    }

    /// Processes some layer of which could not be read (another user's).
    pub fn not_inspectable(&self) -> impl Iterator<Item = &Process> {
        self.processes.values().filter(|p| !p.inspectable())
    }

    /// Number of processes that could not be fully inspected.
    pub fn not_inspectable_count(&self) -> usize {
        self.not_inspectable().count()
    }
}

/// Serialises the process map as a JSON array, in pid order.
fn serialize_values<S: serde::Serializer>(
    map: &BTreeMap<ProcessId, Process>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(map.values())
}

#[cfg(test)]
mod tests {
    use super::{FdScope, Layers};

    #[test]
    fn a_tree_is_placed_once_per_snapshot_until_details_are_read() {
        let mut builder = super::fixture::SnapshotBuilder::new();
        builder.process(10, 1, "node").cwd(10, "/w/a", false);
        let mut snapshot = builder.build();
        let runs = std::cell::Cell::new(0);
        let place = |snapshot: &super::Snapshot, path: &str| {
            snapshot.placed_once(std::path::Path::new(path), || {
                runs.set(runs.get() + 1);
                let tree = snapshot.dir_tree(std::path::Path::new(path));
                (snapshot.uses_in(&tree), Vec::new())
            })
        };
        let first = place(&snapshot, "/w");
        assert_eq!(first.0.uses.len(), 1);
        place(&snapshot, "/w");
        assert_eq!(runs.get(), 1);
        // Another tree is another question, and so is another text of it
        // (placement compares bytes: `/w/./a` places nothing).
        place(&snapshot, "/w/a");
        assert_eq!(runs.get(), 2);
        assert!(place(&snapshot, "/w/./a").0.uses.is_empty());
        assert_eq!(runs.get(), 3);
        // Details read since may place a use differently: asked anew.
        let backend = limier_platform::Backend::new().unwrap();
        snapshot.load_details(&backend, &[], false);
        place(&snapshot, "/w");
        assert_eq!(runs.get(), 4);
        // The query's own answer is the one kept.
        let asked = crate::query::placed_uses(&snapshot, std::path::Path::new("/w"));
        assert_eq!(asked.0.uses, first.0.uses);
    }

    #[test]
    fn a_process_s_refused_layers_are_a_set_listed_by_name() {
        use super::{Layer, Process};
        let mut denied = Layers::default();
        assert!(denied.is_empty());
        denied.insert(Layer::Maps);
        denied.insert(Layer::Fds);
        denied.insert(Layer::Maps);
        assert!(denied.contains(Layer::Fds) && denied.contains(Layer::FileFds));
        assert!(!denied.contains(Layer::Environ));
        assert_eq!(denied.iter().collect::<Vec<_>>(), [Layer::Fds, Layer::Maps]);
        let mut process = Process::from_record(limier_platform::ProcessRecord::bare(
            limier_platform::ProcessId(7),
            limier_platform::ProcessId(1),
            limier_platform::StartTime(1),
            "x",
        ));
        assert!(serde_json::to_value(&process)
            .unwrap()
            .get("denied")
            .is_none());
        process.denied = denied | Layer::Environ.into();
        assert_eq!(
            serde_json::to_value(&process).unwrap()["denied"],
            serde_json::json!(["fds", "maps", "environ"])
        );
        assert!(!process.inspectable());
    }

    #[test]
    fn a_union_keeps_every_fd_when_either_side_needs_files() {
        assert!(!Layers::PORTS.file_fds());
        assert!(Layers::FILES.file_fds());
        assert!(Layers::PORTS.union(Layers::FILES).file_fds());
        assert!(Layers::FILES.union(Layers::PORTS).file_fds());
        let ports = Layers::PORTS | Layers::PROCESSES;
        assert_eq!(ports.fds, Some(FdScope::Sockets));
        let none = Layers::PROCESSES | Layers::PROCESSES;
        assert_eq!(none.fds, None);
        assert_eq!(Layers::ALL | Layers::PORTS, Layers::ALL);
        let json = serde_json::to_value(Layers::PORTS).unwrap();
        assert_eq!(
            (&json["fds"], &json["only_socket_fds"]),
            (&true.into(), &true.into())
        );
        let json = serde_json::to_value(Layers::FILES).unwrap();
        assert_eq!(
            (&json["fds"], &json["only_socket_fds"]),
            (&true.into(), &false.into())
        );
    }
}
