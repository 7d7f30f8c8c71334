//! Race-resistant kill sweeps.
//!
//! A sweep resolves a [`Selection`] on a snapshot into process identities
//! (pid + start time), then: freezes them (SIGSTOP) and adds descendants
//! forked meanwhile, sends the signal and SIGCONT, waits on pidfds until they
//! exit or the grace period ends, SIGKILLs survivors, and re-reads the system
//! to confirm (a late respawn found by `Env` or `Dir` starts another round).
//!
//! Every signal goes through a handle opened for the identity and checked
//! against a fresh read of the start time, so a recycled pid is never hit.
//! Pid 1, kernel threads, the calling process and its ancestors are never
//! signalled.
//!
//! ```no_run
//! use limier::sweep::{Selection, Selector, SweepOptions, sweep};
//! use std::time::Duration;
//!
//! let backend = limier::Backend::new()?;
//! let selection = Selection::new(vec![Selector::Env {
//!     key: "ECLUSE_SLUG".into(),
//!     value: "feat-b".into(),
//! }]);
//! let options = SweepOptions { grace: Duration::from_secs(2), ..SweepOptions::default() };
//! let report = sweep(&backend, &selection, &options)?;
//! println!("{} gone, {} survived", report.gone_count(), report.survivor_count());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod execute;
mod first_signal;
mod plan;
mod report;
mod respawn;

pub use crate::query::NamePattern;
pub use crate::query::Unseen;
pub use execute::{execute, sweep, sweep_from};
pub use first_signal::{choose as choose_first_signal, SignalChoice};
pub use plan::{plan, Match, Plan, SelectedBy, Target};
pub(crate) use plan::{protected_pids, protection};
pub use report::{Exclusion, Fate, Protection, SpareReason, SweepReport, SweptProcess};
pub use respawn::Respawn;

use crate::query::{DirFound, PortQuery, TypedDir};
use crate::snapshot::{CaptureOptions, Layers};
use limier_platform::{Identity, ProcessId, Signal};
use std::collections::BTreeMap;
use std::time::Duration;

/// One way of selecting processes; a selection is the union of its selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The process and all its current descendants. Pid 1 is refused
    /// ([`SweepError::SelectsEverything`]).
    Pid(ProcessId),
    /// A process's whole tree: the process, the process group and the
    /// session it leads (members that outlived their parent and were
    /// reparented to init stay in both), and every descendant of each. The
    /// group and session are taken even when their leader is gone: the
    /// kernel never reuses a pid that still names a group or session.
    /// Pids 0 and 1 are refused ([`SweepError::SelectsEverything`]).
    Tree(ProcessId),
    /// Every member of a process group (group 0 is refused).
    Pgid(ProcessId),
    /// Every member of a session (session 0 is refused).
    Sid(ProcessId),
    /// Every holder of a port, and its descendants — but not those of a
    /// protected holder (pid 1 under socket activation, limier's ancestors),
    /// which is spared alone.
    Port(PortQuery),
    /// Every process using a directory tree (`limier in`): cwd, root, exe,
    /// open files, mappings. Resolve what a user typed with
    /// [`resolve_typed_dir`](crate::query::resolve_typed_dir) (symlinks,
    /// a deleted directory's former path, a dead mount);
    /// [`TypedDir::as_given`] takes a path already resolved. `/` is refused
    /// ([`SweepError::SelectsEverything`]).
    Dir(TypedDir),
    /// Every process whose name (or, with [`NamePattern::full`], command
    /// line) matches — not its descendants, as `pkill NAME`, `pkill -f`: a
    /// name may also be init's or a service manager's.
    Name(NamePattern),
    /// Every process of a user (`pkill -u USER`: the effective uid, the
    /// owner of `/proc/PID`). Uid 0 is refused
    /// ([`SweepError::SelectsEverything`]).
    User(u32),
    /// Every process whose environment holds `key=value`.
    Env {
        /// The variable's name.
        key: String,
        /// Its value.
        value: String,
    },
    /// Exactly one process incarnation (no descendants), with the reason it
    /// was chosen; matches nothing once the pid names another process.
    Process {
        /// The incarnation.
        identity: Identity,
        /// Why it was chosen, for the report.
        reason: String,
    },
}

impl Selector {
    /// A short label for reports: `pid 42`, `port 3000/tcp`, `env ECLUSE_SLUG=x`.
    pub fn label(&self) -> String {
        match self {
            Selector::Pid(pid) => format!("pid {pid}"),
            Selector::Tree(pid) => format!("tree of {pid}"),
            Selector::Pgid(pgid) => format!("pgid {pgid}"),
            Selector::Sid(sid) => format!("sid {sid}"),
            Selector::Port(query) => {
                let spec = crate::input::PortSpec {
                    port: query.port,
                    protocol: query.protocol,
                };
                format!("port {spec}")
            }
            Selector::Dir(dir) => format!("dir {}", dir.path.display()),
            Selector::Env { key, value } => format!("env {key}={value}"),
            Selector::Name(pattern) => pattern.to_string(),
            Selector::User(uid) => match limier_platform::user_name(*uid) {
                Some(name) => format!("user {name}"),
                None => format!("uid {uid}"),
            },
            Selector::Process { reason, .. } => reason.clone(),
        }
    }

    fn layers(&self) -> Layers {
        match self {
            Selector::Pid(_)
            | Selector::Tree(_)
            | Selector::Pgid(_)
            | Selector::Sid(_)
            | Selector::Process { .. } => Layers::PROCESSES,
            Selector::Port(_) => Layers::PORTS,
            Selector::Dir(_) => Layers::FILES,
            // The owner and the command line are details.
            Selector::Name(_) | Selector::User(_) => Layers {
                details: true,
                ..Layers::PROCESSES
            },
            // The tag is read from the environment; details name the processes.
            Selector::Env { .. } => Layers {
                environ: true,
                details: true,
                ..Layers::PROCESSES
            },
        }
    }
}

/// A union of selectors, plus processes to spare whatever matches.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The selectors; a process matching any is selected.
    pub selectors: Vec<Selector>,
    /// Pids never to signal, with the reason (e.g. another session's).
    pub spare: BTreeMap<ProcessId, Exclusion>,
    /// Let a directory selector name a system directory or a home directory
    /// itself (see [`system_dir`]); refused otherwise.
    pub allow_system_dirs: bool,
    /// Only processes of this uid are selected, whatever selected them
    /// (`pkill -u USER PATTERN`); `None`: anyone's.
    pub owner: Option<u32>,
}

/// The top-level trees of the system itself: a sweep of one selects nearly
/// every process (each maps `/usr/lib`, reads `/etc`, holds `/dev/null`).
const SYSTEM_TREES: [&str; 13] = [
    "/usr", "/bin", "/sbin", "/etc", "/boot", "/proc", "/sys", "/dev", "/run", "/nix", "/snap",
    "/System", "/Library",
];

/// What `dir` (absolute, normalised) is when no user means to sweep every
/// process using it: the root, a system tree or a directory in one
/// (`/usr`, `/lib64`, `/etc/nginx`, `/nix`, macOS's `/System` and
/// `/Library`), `/home`, `/root`, `/Users`, or `home` itself
/// (a directory below a home is an ordinary project). `None` for anything
/// else.
pub fn system_dir(dir: &std::path::Path, home: Option<&std::path::Path>) -> Option<String> {
    use std::path::{Component, Path};
    let mut components = dir.components();
    if components.next() != Some(Component::RootDir) {
        return None;
    }
    let Some(Component::Normal(top)) = components.next() else {
        return Some("the root directory".into());
    };
    let top_path = Path::new("/").join(top);
    let top_bytes = top.as_encoded_bytes();
    if SYSTEM_TREES.iter().any(|tree| top_path == Path::new(tree)) || top_bytes.starts_with(b"lib")
    {
        return Some(format!("a system directory ({})", top_path.display()));
    }
    if dir == Path::new("/home")
        || dir == Path::new("/root")
        || dir == Path::new("/Users")
        || home == Some(dir)
    {
        return Some("a home directory itself".into());
    }
    None
}

/// Whether a command name is a tmux server's (`tmux: server`): it ends its
/// panes itself and continues their stopped processes at once. The one
/// place sweeps and ecluse's teardowns recognize it.
pub(crate) fn is_tmux_server(comm: &[u8]) -> bool {
    comm.starts_with(b"tmux")
}

impl Selection {
    /// A selection of `selectors`, sparing nothing.
    pub fn new(selectors: Vec<Selector>) -> Self {
        Selection {
            selectors,
            spare: BTreeMap::new(),
            allow_system_dirs: false,
            owner: None,
        }
    }

    /// The part of the selection that can match processes born after the
    /// first round (a respawn re-binding the port, re-entering the directory,
    /// inheriting the tag). Pids, groups and sessions are pinned to round one:
    /// their numbers may be reused by unrelated processes afterwards.
    pub fn respawn_selection(&self) -> Selection {
        Selection {
            selectors: self
                .selectors
                .iter()
                .filter(|s| {
                    matches!(
                        s,
                        Selector::Port(_)
                            | Selector::Dir(_)
                            | Selector::Env { .. }
                            | Selector::Name(_)
                    )
                })
                .cloned()
                .collect(),
            spare: self.spare.clone(),
            allow_system_dirs: self.allow_system_dirs,
            owner: self.owner,
        }
    }

    /// The snapshot layers needed to resolve this selection.
    pub fn layers(&self) -> Layers {
        let base = if self.owner.is_some() {
            // The owner filter reads every target's uid.
            Layers {
                details: true,
                ..Layers::PROCESSES
            }
        } else {
            Layers::PROCESSES
        };
        self.selectors
            .iter()
            .fold(base, |acc, s| acc.union(s.layers()))
    }

    /// How to capture for this selection: its layers; no mappings read for
    /// a process a directory selector takes by its cwd, root, exe or an fd
    /// already (see [`CaptureOptions::maps_needless_below`]); and, where
    /// every directory exists, only the mapped files below them (see
    /// [`CaptureOptions::maps_only_below`]: only directory selectors look at
    /// mappings).
    pub fn capture_options(&self) -> CaptureOptions {
        let mut options = CaptureOptions::new(self.layers());
        // A sweep signals what it captured: each process is held exactly.
        options.pin = true;
        let dirs: Vec<&TypedDir> = self
            .selectors
            .iter()
            .filter_map(|s| match s {
                Selector::Dir(dir) => Some(dir),
                _ => None,
            })
            .collect();
        options.maps_needless_below = dirs
            .iter()
            .map(|dir| crate::query::normalize(&dir.path))
            .collect();
        if dirs.iter().all(|dir| dir.found == DirFound::Present) {
            options.maps_only_below = options.maps_needless_below.clone();
        }
        options
    }
}

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The first signal (SIGTERM by default).
    pub signal: Signal,
    /// How long to wait after the signal before SIGKILL.
    pub grace: Duration,
    /// SIGSTOP targets first so none can fork while the sweep works.
    pub freeze: bool,
    /// Plan only: report what would be signalled.
    pub dry_run: bool,
    /// Bound on freeze rounds (re-reading for children forked meanwhile).
    pub max_freeze_rounds: usize,
    /// Bound on whole sweep rounds (re-selection after the kill).
    pub max_rounds: usize,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            signal: Signal::Term,
            grace: Duration::from_secs(2),
            freeze: true,
            dry_run: false,
            max_freeze_rounds: 16,
            max_rounds: 4,
        }
    }
}

/// Why a sweep could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The selection has no selector.
    #[error("nothing to select: give at least one selector")]
    EmptySelection,
    /// A selector that names every process on the machine (`--pid 1`, `--dir /`).
    #[error(
        "{selector} would select every process on the machine; refusing (name a narrower selector)"
    )]
    SelectsEverything {
        /// The selector, as labelled in reports.
        selector: String,
    },
    /// A directory selector naming a system directory or a home directory
    /// itself, without [`Selection::allow_system_dirs`].
    #[error("{selector} is {what}: a sweep of it would select nearly every process; refusing (name the project directory, or allow system directories if you mean it)")]
    SystemDirectory {
        /// The selector, as labelled in reports.
        selector: String,
        /// What the directory is.
        what: String,
    },
    /// The system could not be read.
    #[error(transparent)]
    Platform(#[from] limier_platform::PlatformError),
    /// A selector's question failed.
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
}
