//! The Linux backend: procfs for processes and files, sock_diag for sockets,
//! pidfds for identity-checked signalling.

mod kernel_iter;
#[cfg(test)]
mod mapping_child;
pub use kernel_iter::{empty_vma_walk, MapReader, MapRoots};
mod pin;
mod process;
mod procmap_query;
mod signal;
mod sockets;
mod typed_path;

pub use pin::PinAttempt;
pub use process::ProcessDir;
pub use signal::ProcessHandle;
use typed_path::link_mount_ids_supported;
pub use typed_path::{mount_ids_within, regular_files_within, resolve_dir, resolve_dir_within};

use crate::error::PlatformError;
use crate::parse::parse_boot_time;
use crate::records::{ProcessId, StartTime};
use crate::AskMounts;
use std::path::{Path, PathBuf};

/// The Linux side of [`crate::Backend`], reading a proc filesystem at a
/// configurable root: the live `/proc` ([`new`](Self::new)) or a fixture
/// tree ([`with_proc_root`](Self::with_proc_root); sockets then come from
/// `<root>/net/*`).
#[derive(Debug, Clone)]
pub struct OsBackend {
    proc_root: PathBuf,
    ticks_per_second: u64,
    boot_time_ms: u64,
}

impl OsBackend {
    /// The backend for the live system.
    ///
    /// Fails when `/proc` belongs to another pid namespace than this
    /// process's ([`PlatformError::ForeignProcfs`]): its pid numbers would
    /// name other processes to `kill(2)` and `pidfd_open(2)` here.
    ///
    /// # References
    /// pid_namespaces(7) ("/proc and PID namespaces"); proc(5) `/proc/self`.
    pub fn new() -> Result<Self, PlatformError> {
        let proc_root = Path::new("/proc");
        let own = std::process::id();
        let seen = rustix::fs::readlink(proc_root.join("self"), Vec::new())
            .map(|link| link.to_string_lossy().into_owned())
            .map_err(|err| PlatformError::from_io(None, proc_root.join("self"), err.into()))?;
        // Equal numbers can be chance: NStgid lists this process's pid at
        // every level from the proc's namespace down, one field only when
        // the proc is this namespace's own.
        let levels = std::fs::read(proc_root.join("self/status"))
            .ok()
            .and_then(|status| {
                let line = status
                    .split(|&b| b == b'\n')
                    .find_map(|line| line.strip_prefix(b"NStgid:"))?;
                Some(
                    line.split(|b| b.is_ascii_whitespace())
                        .filter(|field| !field.is_empty())
                        .count(),
                )
            });
        if seen != own.to_string() || levels.is_some_and(|levels| levels != 1) {
            return Err(PlatformError::ForeignProcfs {
                proc_root: proc_root.to_owned(),
                seen_as: if seen.is_empty() {
                    "nothing".into()
                } else {
                    seen
                },
                own,
            });
        }
        Self::with_proc_root(proc_root)
    }

    /// A backend reading the proc filesystem mounted (or copied) at `root`.
    ///
    /// # References
    /// proc(5) (`/proc/stat` btime), sysconf(3) (`_SC_CLK_TCK`).
    pub fn with_proc_root(root: &Path) -> Result<Self, PlatformError> {
        let boot_time = read_parsed(root.join("stat"), None, parse_boot_time)?;
        Ok(OsBackend {
            proc_root: root.to_owned(),
            ticks_per_second: procfs::ticks_per_second().max(1),
            boot_time_ms: boot_time.saturating_mul(1000),
        })
    }

    /// The proc root this backend reads.
    pub fn proc_root(&self) -> &Path {
        &self.proc_root
    }

    /// Whether this backend reads the live system (and may signal it).
    pub fn is_live(&self) -> bool {
        self.proc_root == Path::new("/proc")
    }

    /// Every numeric entry of the proc root: the pids alive at this instant.
    ///
    /// # References
    /// proc(5).
    pub fn list_pids(&self) -> Result<Vec<ProcessId>, PlatformError> {
        let entries = std::fs::read_dir(&self.proc_root)
            .map_err(|err| PlatformError::from_io(None, self.proc_root.clone(), err))?;
        let mut pids: Vec<ProcessId> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
            .map(ProcessId)
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Opens `/proc/PID` once; every later read of the process goes through
    /// this directory fd, so all of them concern the same incarnation.
    pub fn open_process(&self, pid: ProcessId) -> Result<ProcessDir, PlatformError> {
        ProcessDir::open(self, pid)
    }

    /// Reads `/proc/PID/stat` alone, without opening the process directory:
    /// the cheapest way to learn a pid's parent, state and start time (one
    /// read gives all three for the same incarnation).
    ///
    /// # References
    /// proc(5) `/proc/pid/stat`.
    pub fn read_stat(&self, pid: ProcessId) -> Result<crate::parse::StatFields, PlatformError> {
        let path = self.proc_root.join(pid.0.to_string()).join("stat");
        // The kernel renders stat whole on the first read (`single_open`):
        // a read that does not fill the buffer is all of it.
        let text = read_whole(&path, WholeAt::ShortRead)
            .map_err(|err| PlatformError::from_io(Some(pid), path.clone(), err))?;
        crate::parse::parse_stat(&text).map_err(|source| PlatformError::Parse {
            from: path.into(),
            source,
        })
    }

    /// The stat-only record of a pid (see [`StatFields::into_record`](crate::parse::StatFields::into_record)).
    pub fn read_record(
        &self,
        pid: ProcessId,
    ) -> Result<crate::records::ProcessRecord, PlatformError> {
        let stat = self.read_stat(pid)?;
        let started_at_ms = self.start_to_epoch_ms(stat.start);
        Ok(stat.into_record(started_at_ms))
    }

    /// How many tasks (processes and their threads) the kernel runs: an
    /// upper bound on the processes, for one small read (`None` when it
    /// cannot be read).
    ///
    /// # References
    /// proc(5) `/proc/loadavg` (the fourth field, running/total).
    pub fn task_count() -> Option<usize> {
        let text = std::fs::read("/proc/loadavg").ok()?;
        let field = text.split(|&b| b == b' ').nth(3)?;
        let total = field.split(|&b| b == b'/').nth(1)?;
        crate::parse::parse_decimal(total)
    }

    /// The stat-only record of every process in one kernel pass (a BPF
    /// `task` iterator), the same fields as [`read_record`](Self::read_record)
    /// reads for each pid, at about the same moment. Kernel threads (whose
    /// `/proc` name is longer than the kernel's `comm`) and rows a kernel
    /// read failed for are read from their stat. A kernel may leave
    /// processes out of the pass: the caller lists `/proc` too.
    ///
    /// The pass is checked against this process's own stat (parent, group,
    /// session, terminal, start): a pass that disagrees — a layout read
    /// wrong, a clock in another time namespace — is refused whole. An
    /// error means "read `/proc/PID/stat` instead", as for
    /// [`dump_fds`](Self::dump_fds).
    pub fn dump_process_table(&self) -> Result<crate::records::TaskTable, PlatformError> {
        if !self.is_live() {
            return Err(PlatformError::Unsupported {
                what: "the task iterator on a copied proc tree",
            });
        }
        let own = self.read_stat(crate::Backend::self_pid())?;
        let rows = kernel_iter::dump_tasks(&self.proc_root)?;
        let ns_per_tick = 1_000_000_000 / self.ticks_per_second.max(1);
        let mut own_row = None;
        let mut from_proc = 0;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            let reread = row.unread || row.flags & crate::parse::PF_KTHREAD != 0;
            let stat = row.into_stat(ns_per_tick);
            if reread {
                // Read again as /proc shows it: the same incarnation only
                // (a pid reused since the pass is another process).
                match self.read_stat(stat.pid) {
                    Ok(again) if again.start == stat.start => {
                        let started_at_ms = self.start_to_epoch_ms(again.start);
                        records.push(again.into_record(started_at_ms));
                        from_proc += 1;
                    }
                    _ => {}
                }
                continue;
            }
            if stat.pid == own.pid {
                own_row = Some((stat.ppid, stat.pgid, stat.sid, stat.tty, stat.start));
            }
            let started_at_ms = self.start_to_epoch_ms(stat.start);
            records.push(stat.into_record(started_at_ms));
        }
        // Read before the pass and, should this process have changed
        // meanwhile (its parent gone), after it: one of the two must agree.
        let fields = |s: &crate::parse::StatFields| (s.ppid, s.pgid, s.sid, s.tty, s.start);
        let agrees = own_row.is_some_and(|row| {
            row == fields(&own)
                || self
                    .read_stat(crate::Backend::self_pid())
                    .is_ok_and(|after| row == fields(&after))
        });
        if !agrees {
            return Err(PlatformError::Unsupported {
                what: "a task iterator that agrees with /proc/self/stat",
            });
        }
        Ok(crate::records::TaskTable { records, from_proc })
    }

    /// Which processes the kernel's task iterator visits (pid and start
    /// time), for [`FdTable::set_visited`](crate::FdTable::set_visited).
    pub fn dump_visits(
        &self,
    ) -> Result<Vec<(ProcessId, crate::records::StartTime)>, PlatformError> {
        if !self.is_live() {
            return Err(PlatformError::Unsupported {
                what: "the task iterator on a copied proc tree",
            });
        }
        kernel_iter::dump_visits(&self.proc_root, self.ticks_per_second)
    }

    /// Whether [`dump_fds`](Self::dump_fds) can work at all: the live
    /// `/proc`, and this process holding `CAP_SYS_ADMIN`, or `CAP_BPF` with
    /// `CAP_PERFMON` (what loading a tracing BPF program takes). A cheap
    /// check, so an ordinary user's capture never pays for an attempt that
    /// must fail (it would read every process's stat twice).
    ///
    /// # References
    /// capabilities(7); proc(5) `/proc/self/status` (`CapEff`); bpf(2).
    pub fn fd_dump_possible(&self) -> bool {
        const CAP_SYS_ADMIN: u64 = 1 << 21;
        const CAP_PERFMON: u64 = 1 << 38;
        const CAP_BPF: u64 = 1 << 39;
        if !self.is_live() {
            return false;
        }
        let Ok(text) = std::fs::read("/proc/self/status") else {
            return false;
        };
        match crate::parse::parse_status_cap_eff(&text) {
            Ok(caps) => {
                caps & CAP_SYS_ADMIN != 0 || caps & (CAP_BPF | CAP_PERFMON) == CAP_BPF | CAP_PERFMON
            }
            Err(_) => false,
        }
    }

    /// The fds of every process in one kernel pass (a BPF iterator), for
    /// [`FdTable::take`](crate::FdTable::take). An error means "read
    /// `/proc/PID/fd` instead": no BTF or BPF iterators, no CAP_BPF, another
    /// pid namespace, or a backend that does not read the live `/proc`.
    pub fn dump_fds(&self, scope: crate::FdScope) -> Result<crate::FdTable, PlatformError> {
        if !self.is_live() {
            return Err(PlatformError::Unsupported {
                what: "the BPF fd iterator on a copied proc tree",
            });
        }
        kernel_iter::dump_fds(&self.proc_root, scope, self.ticks_per_second)
    }

    /// The mapping iterator loaded for reading one process at a time (see
    /// [`MapReader`]), for every mapped file or only those below `below`'s
    /// directories. An error means "read `/proc/PID/maps` instead", as for
    /// [`dump_fds`](Self::dump_fds).
    pub fn map_reader(&self, below: Option<&MapRoots>) -> Result<MapReader, PlatformError> {
        if !self.is_live() {
            return Err(PlatformError::Unsupported {
                what: "the BPF map iterator on a copied proc tree",
            });
        }
        MapReader::new(&self.proc_root, self.ticks_per_second, below)
    }

    /// `dirs` (absolute, canonical) found in the kernel, for a mapping
    /// reader that reports only the files below them (see [`MapRoots`]). An
    /// error means "read every mapped file".
    pub fn map_roots(&self, dirs: &[std::path::PathBuf]) -> Result<MapRoots, PlatformError> {
        if !self.is_live() {
            return Err(PlatformError::Unsupported {
                what: "the BPF map iterator on a copied proc tree",
            });
        }
        MapRoots::resolve(&self.proc_root, dirs)
    }

    /// Where in the kernel `identity` is sleeping (see
    /// [`ProcessDir::wait_channel`]), if it is still that incarnation and the
    /// kernel says. For telling why a process outlives SIGKILL.
    ///
    /// # References
    /// proc(5) `/proc/pid/wchan`, `/proc/pid/stat`.
    pub fn wait_channel(&self, identity: crate::Identity) -> Option<String> {
        let dir = self.open_incarnation(identity).ok()?;
        dir.wait_channel().ok().flatten()
    }

    /// The mount tables of this process's mount namespace and of each other
    /// one a member is in, read from the first member whose root is its
    /// namespace's and which is still the same process after the read.
    /// A namespace no such member is readable in has no table: its
    /// processes' paths cannot be placed (the caller says so).
    ///
    /// # References
    /// proc_pid_mountinfo(5); namespaces(7) `/proc/pid/ns/mnt`.
    pub fn read_mount_tables(
        &self,
        members: impl IntoIterator<Item = crate::NamespaceMember>,
    ) -> crate::MountTables {
        let own_link = self.proc_root.join("self/ns/mnt");
        let own = rustix::fs::readlink(&own_link, Vec::new())
            .ok()
            .and_then(|text| process::parse_namespace_link(text.as_bytes()));
        let mut tables = std::collections::BTreeMap::new();
        if let Some(own) = own {
            if let Ok(mounts) = read_parsed(
                self.proc_root.join("self/mountinfo"),
                None,
                crate::parse::parse_mount_points,
            ) {
                tables.insert(own, mounts);
            }
        }
        for member in members {
            if tables.contains_key(&member.namespace) || !member.root_is_namespace_root {
                continue;
            }
            let Ok(dir) = self.open_process(member.identity.pid) else {
                continue;
            };
            let same =
                |dir: &ProcessDir| dir.stat().is_ok_and(|s| s.start == member.identity.start);
            if !same(&dir) {
                continue;
            }
            // Read through the directory fd (the process it names). A member
            // that chrooted into a directory of another namespace also reads
            // `/` as its root, but sees none of its own namespace's mounts:
            // a table without a mount at `/` is not the namespace's. A
            // member that changed namespace or root meanwhile is not either.
            let Ok(mounts) = dir.mounts() else {
                continue;
            };
            let still = dir.namespace_and_root().ok() == Some((Some(member.namespace), true));
            if still && same(&dir) && mounts.iter().any(|m| m.path == Path::new("/")) {
                tables.insert(member.namespace, mounts);
            }
        }
        crate::MountTables { own, tables }
    }

    /// What the kernel says of the mount each asked link's target is on:
    /// an fd's from its fdinfo (the fd's link read before and after, and
    /// compared with `expected` — an fd closed and reused meanwhile is
    /// not the file asked about); the cwd's, root's and exe's by `statx`
    /// through the link in a process limier leaves behind (never blocking
    /// limier on a dead mount). A process gone, or another incarnation (its
    /// start time is checked once the answers are in), is [`MountAnswer::Gone`].
    ///
    /// # References
    /// proc_pid_fdinfo(5); statx(2) (`STATX_MNT_ID`, Linux 5.8); proc(5)
    /// `/proc/pid/cwd`.
    pub fn mount_ids_of(
        &self,
        asks: &[(crate::Identity, crate::UseLink, &Path)],
        patience: std::time::Duration,
        where_asked: AskMounts,
    ) -> Vec<crate::MountAnswer> {
        use crate::{MountAnswer, UseLink};
        let mut answers = vec![MountAnswer::Unknown; asks.len()];
        let mut links: Vec<(usize, PathBuf)> = Vec::new();
        // The fds, by process: each process opened and checked once.
        let mut fds: std::collections::BTreeMap<ProcessId, Vec<(usize, u32)>> =
            std::collections::BTreeMap::new();
        for (index, (identity, link, _)) in asks.iter().enumerate() {
            if let UseLink::Fd(fd) = link {
                fds.entry(identity.pid).or_default().push((index, *fd));
                continue;
            }
            // The process is checked once the answers are in: alive then
            // with its start time, it owned the pid throughout.
            if link_mount_ids_supported() {
                links.push((index, self.link_path(*identity, *link)));
            }
        }
        // Two helpers at once for a long list (2 cores: the statx calls
        // are most of the time), and the start times read on two threads.
        let halves = if links.len() >= PARALLEL_LINKS { 2 } else { 1 };
        let per_half = links
            .len()
            .div_ceil(halves)
            .clamp(1, typed_path::MAX_MOUNT_IDS);
        let ask_batch = |batch: &[(usize, PathBuf)]| -> Vec<(usize, Option<u32>, bool)> {
            let paths: Vec<&Path> = batch.iter().map(|(_, path)| path.as_path()).collect();
            let found = match where_asked {
                AskMounts::InHelper => mount_ids_within(&paths, patience),
                AskMounts::InProcess => {
                    Some(paths.iter().map(|path| link_mount_id(path)).collect())
                }
            };
            let Some(found) = found else {
                return Vec::new();
            };
            // A helper's answers may come late: each process is checked then.
            // In this process they are immediate, and the caller re-checks
            // the processes whose answer changes its verdict.
            batch
                .iter()
                .zip(found)
                .map(|((index, _), id)| {
                    let still =
                        where_asked == AskMounts::InProcess || self.is_incarnation(asks[*index].0);
                    (*index, id, still)
                })
                .collect()
        };
        for (index, id, still) in on_threads(&links, per_half, ask_batch) {
            answers[index] = match id {
                _ if !still => MountAnswer::Gone,
                Some(id) => MountAnswer::On(id),
                None => MountAnswer::Unknown,
            };
        }
        // fdinfo is procfs alone: read here, on two threads for many fds.
        let groups: Vec<(ProcessId, Vec<(usize, u32)>)> = fds.into_iter().collect();
        let fd_count: usize = groups.iter().map(|(_, fds)| fds.len()).sum();
        let halves = if fd_count >= PARALLEL_LINKS { 2 } else { 1 };
        let per_half = groups.len().div_ceil(halves).max(1);
        let ask_group = |groups: &[(ProcessId, Vec<(usize, u32)>)]| -> Vec<(usize, MountAnswer)> {
            let mut found = Vec::new();
            for (_, fds) in groups {
                let identity = asks[fds[0].0].0;
                let dir = self.open_incarnation(identity).ok();
                for (index, fd) in fds {
                    let answer = match &dir {
                        Some(dir) => fd_mount(dir, *fd, asks[*index].2),
                        None => MountAnswer::Gone,
                    };
                    found.push((*index, answer));
                }
            }
            found
        };
        for (index, answer) in on_threads(&groups, per_half, ask_group) {
            answers[index] = answer;
        }
        answers
    }

    /// `/proc/PID/cwd`, `root`, `exe` or `fd/N`: the link of `identity`'s
    /// process that `link` names.
    fn link_path(&self, identity: crate::Identity, link: crate::UseLink) -> PathBuf {
        self.proc_root
            .join(identity.pid.0.to_string())
            .join(link_name(link).as_ref())
    }

    /// The object each ask names (device, inode, link count): a process's
    /// link followed (`/proc/PID/cwd`, `fd/N`…), or a directory entry in
    /// limier's own namespace, all asked with `statx` without syncing
    /// attributes, in processes limier leaves behind after `patience`
    /// (one per [`typed_path::MAX_OBJECTS`] asks).
    /// A link's answer is kept only when the process is still the
    /// incarnation asked about and the link still reads as the text given;
    /// otherwise it is [`ObjectAnswer::Gone`](crate::ObjectAnswer::Gone)
    /// (the process) or [`ObjectAnswer::Changed`](crate::ObjectAnswer::Changed)
    /// (an fd closed and reused, a cwd changed).
    /// Anything not answered is
    /// [`ObjectAnswer::Unknown`](crate::ObjectAnswer::Unknown).
    ///
    /// # References
    /// statx(2) (`AT_STATX_DONT_SYNC`, `AT_SYMLINK_NOFOLLOW`); proc(5)
    /// `/proc/pid/cwd`, `/proc/pid/fd/`; readlinkat(2).
    pub fn objects_of(
        &self,
        asks: &[crate::ObjectAsk<'_>],
        patience: std::time::Duration,
    ) -> Vec<crate::ObjectAnswer> {
        use crate::{ObjectAnswer, ObjectAsk};
        let paths: Vec<(PathBuf, bool)> = asks
            .iter()
            .map(|ask| match ask {
                ObjectAsk::Link(identity, link, _) => (self.link_path(*identity, *link), true),
                ObjectAsk::Entry(path) => (path.to_path_buf(), false),
            })
            .collect();
        let borrowed: Vec<(&Path, bool)> = paths.iter().map(|(p, f)| (p.as_path(), *f)).collect();
        let Some(found) = borrowed
            .chunks(typed_path::MAX_OBJECTS)
            .map(|batch| typed_path::objects_within(batch, patience))
            .collect::<Option<Vec<_>>>()
        else {
            return vec![ObjectAnswer::Unknown; asks.len()];
        };
        asks.iter()
            .zip(found.into_iter().flatten())
            .map(|(ask, object)| match ask {
                ObjectAsk::Entry(_) => object,
                ObjectAsk::Link(identity, link, text) => {
                    let Ok(dir) = self.open_incarnation(*identity) else {
                        return ObjectAnswer::Gone;
                    };
                    let same_use = dir
                        .read_link(&link_name(*link))
                        .is_ok_and(|now| now == text.as_os_str().as_encoded_bytes());
                    match object {
                        _ if !same_use => ObjectAnswer::Changed,
                        ObjectAnswer::Found(_) => object,
                        // A link that still reads the same always has a
                        // target: a failure is no answer.
                        _ => ObjectAnswer::Unknown,
                    }
                }
            })
            .collect()
    }

    /// The reader of a process's fds when no kernel iterator serves.
    pub const FD_READER: crate::LayerReader = crate::LayerReader::Readlink;

    /// The reader of the process table when it is not read in one pass:
    /// `/proc/PID/stat`, one process at a time.
    pub const PROCESS_READER: crate::LayerReader = crate::LayerReader::StatFile;

    /// The kernel's clock ticks per second (`USER_HZ`): the unit of start
    /// times.
    pub fn ticks_per_second(&self) -> u64 {
        self.ticks_per_second
    }

    /// Converts a start time to milliseconds since the Unix epoch.
    pub fn start_to_epoch_ms(&self, start: StartTime) -> u64 {
        self.boot_time_ms + start.0.saturating_mul(1000) / self.ticks_per_second
    }
}

/// The name of `link` below `/proc/PID`.
fn link_name(link: crate::UseLink) -> std::borrow::Cow<'static, str> {
    use crate::UseLink;
    match link {
        UseLink::Cwd => "cwd".into(),
        UseLink::Root => "root".into(),
        UseLink::Exe => "exe".into(),
        UseLink::Fd(fd) => format!("fd/{fd}").into(),
    }
}

/// `work` over `items` in chunks of `per_chunk`, each chunk on a scoped
/// thread of its own, the answers joined in order (a chunk whose thread
/// panicked answers nothing).
fn on_threads<T: Sync, R: Send>(
    items: &[T],
    per_chunk: usize,
    work: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    std::thread::scope(|scope| {
        let work = &work;
        let running: Vec<_> = items
            .chunks(per_chunk.max(1))
            .map(|chunk| scope.spawn(move || work(chunk)))
            .collect();
        running
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    })
}

/// [`crate::Backend::mount_ids_of`] for one fd of a process already checked to
/// be the incarnation asked about: its fdinfo's mount id, taken only when
/// the fd names `expected` before and after (an fd closed and reused
/// meanwhile is not the file asked about). `expected` is the link's whole
/// text, or that text without the kernel's " (deleted)" (a use read as a
/// deleted file's).
///
/// # References
/// proc_pid_fdinfo(5) (`mnt_id`); proc(5) `/proc/pid/fd/`.
fn fd_mount(dir: &ProcessDir, fd: u32, expected: &Path) -> crate::MountAnswer {
    use crate::MountAnswer;
    let expected = expected.as_os_str().as_encoded_bytes();
    let names_expected = || {
        dir.read_link(&link_name(crate::UseLink::Fd(fd)))
            .is_ok_and(|text| {
                text == expected || {
                    let (stem, deleted) = crate::parse::strip_deleted(&text);
                    deleted && stem == expected
                }
            })
    };
    if !names_expected() {
        return MountAnswer::Gone;
    }
    match dir.fd_mount_id(fd) {
        Ok(id) if names_expected() => MountAnswer::On(id),
        Ok(_) => MountAnswer::Gone,
        Err(err) if err.is_gone() => MountAnswer::Gone,
        Err(_) => MountAnswer::Unknown,
    }
}

/// Reads the whole file at `path` and parses it; an error names the file
/// (and `pid`, for a process's own file).
pub(crate) fn read_parsed<T>(
    path: PathBuf,
    pid: Option<ProcessId>,
    parse: impl FnOnce(&[u8]) -> Result<T, crate::parse::ParseError>,
) -> Result<T, PlatformError> {
    let text = read_whole(&path, WholeAt::EmptyRead)
        .map_err(|err| PlatformError::from_io(pid, path.clone(), err))?;
    parse(&text).map_err(|source| PlatformError::Parse {
        from: path.into(),
        source,
    })
}

/// The id of the mount the target of `link` (a `/proc/PID/cwd`, `root` or
/// `exe`) is on, asked without syncing attributes; `None` when it cannot be
/// followed.
///
/// # References
/// statx(2) (`STATX_MNT_ID`, `AT_STATX_DONT_SYNC`).
fn link_mount_id(link: &Path) -> Option<u32> {
    let statx = rustix::fs::statx(
        rustix::fs::CWD,
        link,
        rustix::fs::AtFlags::STATX_DONT_SYNC,
        rustix::fs::StatxFlags::MNT_ID,
    )
    .ok()?;
    (statx.stx_mask & rustix::fs::StatxFlags::MNT_ID.bits() != 0).then_some(statx.stx_mnt_id as u32)
}

/// From this many links, [`crate::Backend::mount_ids_of`] asks in two helpers at
/// once.
const PARALLEL_LINKS: usize = 256;

/// How [`read_whole`] knows the file is over.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WholeAt {
    /// A read returned nothing (any file).
    EmptyRead,
    /// A read returned less than it had room for (a file the kernel
    /// renders whole on the first read).
    ShortRead,
}

/// Reads a whole (proc) file: open, reads into a buffer that grows until
/// `end` says the file is over, close. `std::fs::read` would first ask the
/// size (0 for proc files) and then probe with small reads: twice the
/// system calls for a file like `/proc/PID/stat`, read for every process.
///
/// # References
/// open(2), read(2); proc(5).
fn read_whole(path: &Path, end: WholeAt) -> std::io::Result<Vec<u8>> {
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let mut bytes = vec![0u8; 1024];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            bytes.resize(bytes.len() * 2, 0);
        }
        let room = bytes.len() - len;
        match rustix::io::read(&fd, &mut bytes[len..]) {
            Ok(0) => break,
            Ok(count) => {
                len += count;
                if end == WholeAt::ShortRead && count < room {
                    break;
                }
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    bytes.truncate(len);
    Ok(bytes)
}
