//! What happened to each selected process.

use crate::query::Unseen;
use limier_platform::{ByteString, Identity, ProcessId};
use serde::Serialize;

/// Why a process may never be signalled, nor reached by evidence about
/// something else (a pid file, a tag, a port). In the JSON, the sentence
/// its `Display` gives (`"ancestor of limier (9001)"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Pid 0.
    Kernel,
    /// Pid 1, the root of every process tree of its pid namespace.
    Init,
    /// The process limier runs in.
    Limier,
    /// An ancestor of limier's process (`limier`'s pid given): the shell,
    /// terminal or tmux pane it runs in.
    AncestorOfLimier(ProcessId),
    /// A kernel thread (`PF_KTHREAD`).
    KernelThread,
    /// Run for an ordinary user: another user's process (its uid).
    OtherUser(u32),
    /// Run for an ordinary user: a process whose owner could not be read.
    OwnerUnknown,
}

impl std::fmt::Display for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protection::Kernel => f.write_str("the kernel"),
            Protection::Init => f.write_str("init (pid 1)"),
            Protection::Limier => f.write_str("limier itself"),
            Protection::AncestorOfLimier(limier) => write!(f, "ancestor of limier ({limier})"),
            Protection::KernelThread => f.write_str("a kernel thread"),
            Protection::OtherUser(uid) => write!(f, "another user's process (uid {uid})"),
            Protection::OwnerUnknown => f.write_str("a process whose owner could not be read"),
        }
    }
}

impl Serialize for Protection {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_str(self)
    }
}

/// Why a selected process was not signalled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum SpareReason {
    /// pid 1, a kernel thread, limier itself or one of its ancestors.
    Protected(Protection),
    /// The pid now names another process (its start time changed).
    IdentityChanged,
    /// EPERM: another user's process. Found before any signal (`kill(pid,
    /// 0)`), so a dry run predicts it and a sweep never waits for it.
    PermissionDenied {
        /// The process's owner (effective uid), when it could be read.
        owner: Option<u32>,
    },
    /// The caller asked to spare it (e.g. it belongs to another ecluse session).
    Excluded(Exclusion),
}

/// Why a caller (ecluse's teardowns) spares a process its selectors take:
/// [`Selection::spare`](super::Selection::spare). In the JSON and in
/// messages, the sentence `Display` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exclusion {
    /// A reason a library user gives in its own words.
    Caller(String),
    /// Another session's process, or a leftover of an ended one. `owner`
    /// names it as evidence does ("session feat-b (pid file ...)",
    /// "leftover of ended session feat-a (...)").
    OtherSession {
        /// The owner, as its evidence says it.
        owner: String,
        /// A leftover of an ended session (said as is, not "belongs to").
        leftover: bool,
    },
    /// Evidence names several sessions, the one being ended among them:
    /// never resolved silently.
    Conflict {
        /// The conflict, as its evidence says it.
        owner: String,
    },
    /// A tmux server: ending tmux sessions is the caller's job.
    TmuxServer,
    /// It hosts processes of another session.
    HostsSession {
        /// That session's slug.
        session: String,
    },
    /// It runs on a terminal and only worktree use ties it to the session:
    /// a user's shell, editor or command.
    UserTerminal {
        /// The terminal's name (`pts/3`).
        terminal: String,
        /// The session worktree use ties it to.
        session: String,
    },
    /// It hosts such a terminal (a screen server, an editor's terminal
    /// host) with no terminal of its own, tied by worktree use alone too.
    TerminalHost {
        /// The terminal's name.
        terminal: String,
        /// The process on that terminal.
        pid: ProcessId,
        /// The session worktree use ties it to.
        session: String,
    },
    /// `down --keep-worktree`: it uses the kept worktree, with no pid file
    /// or tag of the session.
    KeptWorktree,
    /// `down --keep-worktree`: it holds the session's port with no evidence
    /// of any session.
    UnattributedPortHolder,
}

impl std::fmt::Display for Exclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exclusion::Caller(reason) => f.write_str(reason),
            Exclusion::OtherSession {
                owner,
                leftover: true,
            } => f.write_str(owner),
            Exclusion::OtherSession { owner, .. } => write!(f, "belongs to {owner}"),
            Exclusion::Conflict { owner } => f.write_str(owner),
            Exclusion::TmuxServer => f.write_str("tmux server: ending tmux sessions is ecluse's job"),
            Exclusion::HostsSession { session } => {
                write!(f, "hosts processes of session {session}")
            }
            Exclusion::UserTerminal { terminal, session } => write!(
                f,
                "runs on a terminal ({terminal}), tied to session {session} by worktree use alone: a user's, left alone"
            ),
            Exclusion::TerminalHost {
                terminal,
                pid,
                session,
            } => write!(
                f,
                "hosts a user's terminal ({terminal}, pid {pid}), tied to session {session} by worktree use alone: left alone"
            ),
            Exclusion::KeptWorktree => f.write_str(
                "uses the kept worktree, with no pid file or tag of the session: left alone",
            ),
            Exclusion::UnattributedPortHolder => {
                f.write_str("holds the session's port with no evidence of any session: left alone")
            }
        }
    }
}

impl Serialize for Exclusion {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_str(self)
    }
}

impl SpareReason {
    /// Whether the process was spared because it must never be signalled
    /// (not a failure of the sweep).
    pub fn is_protection(&self) -> bool {
        matches!(self, SpareReason::Protected(_))
    }
}

impl std::fmt::Display for SpareReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpareReason::Protected(protection) => protection.fmt(f),
            SpareReason::Excluded(reason) => reason.fmt(f),
            SpareReason::IdentityChanged => f.write_str("pid was reused by another process"),
            SpareReason::PermissionDenied { owner: None } => f.write_str("permission denied"),
            SpareReason::PermissionDenied { owner: Some(uid) } => {
                let name = limier_platform::user_name(*uid)
                    .map_or_else(|| format!("uid {uid}"), |name| format!("{name}, uid {uid}"));
                write!(f, "permission denied (owned by {name})")
            }
        }
    }
}

/// The fate of one selected process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// Dry run: it would have been signalled.
    WouldSignal,
    /// Exited after the first signal, within the grace period.
    Exited,
    /// Survived the grace period and was killed with SIGKILL.
    Killed,
    /// Gone before limier could signal it.
    AlreadyGone,
    /// Already dead but not reaped when selected: its parent has not waited for it.
    Zombie {
        /// The parent that has not reaped it.
        parent: ProcessId,
    },
    /// Not signalled, with the reason.
    Spared {
        /// Why.
        why: SpareReason,
    },
    /// Still alive after SIGKILL (uninterruptible sleep, or a signal error).
    Survived {
        /// What kept it alive, in words.
        detail: String,
    },
}

/// The fate in words, without the sweep's signal or grace (see
/// [`SweepReport::fate_text`] for those).
impl std::fmt::Display for Fate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fate::WouldSignal => f.write_str("would be signalled"),
            Fate::Exited => f.write_str("exited after the first signal"),
            Fate::Killed => f.write_str("killed after the grace period"),
            Fate::AlreadyGone => f.write_str("already gone"),
            Fate::Zombie { parent } => write!(f, "zombie (parent {parent} has not reaped it)"),
            Fate::Spared { why } => write!(f, "spared: {why}"),
            Fate::Survived { detail } => write!(f, "SURVIVED: {detail}"),
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct SweptProcess {
    /// The incarnation swept: its pid and its start time in the kernel's
    /// clock ticks since boot (`pid` and `start` in the JSON).
    #[serde(flatten)]
    pub identity: Identity,
    /// Its start time in ms since the epoch, as every report gives it
    /// (`null` for a child forked during the sweep).
    pub started_at_ms: Option<u64>,
    /// Its command name.
    pub comm: ByteString,
    /// Its effective uid (the owner of `/proc/PID`), when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The name of that uid, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Its argv (empty when it could not be read: a kernel thread, a
    /// zombie, a process gone).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cmdline: Vec<ByteString>,
    /// Which selectors matched it, and how (`port 3000` itself, a
    /// descendant of 42 through `pid 42`, ...).
    pub selected_by: Vec<super::SelectedBy>,
    #[serde(flatten)]
    /// What became of it.
    pub fate: Fate,
    /// After exiting, still an unreaped zombie of this parent at report time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreaped_by: Option<ProcessId>,
    /// Set when it was not sent the signal asked for, and why (it ignores
    /// or blocks it: an interactive shell got SIGHUP, anything else SIGKILL
    /// at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_signal: Option<super::SignalChoice>,
}

impl SweptProcess {
    /// The process id.
    pub fn pid(&self) -> ProcessId {
        self.identity.pid
    }
}

/// The whole sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    /// Nothing was signalled.
    pub dry_run: bool,
    /// The first signal's name.
    pub signal: String,
    /// The grace before SIGKILL, in ms.
    pub grace_ms: u64,
    /// Sweep rounds run (a respawn starts another).
    pub rounds: usize,
    /// How long the sweep took, to a tenth of a millisecond.
    pub duration_ms: f64,
    /// Every selected process, in pid order.
    pub processes: Vec<SweptProcess>,
    /// What the first round's selection could not see.
    pub unseen: Vec<Unseen>,
    /// Ports taken again after the sweep by a new child of a process it
    /// did not select (watched for up to a second after the sweep, at most the grace).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub respawned: Vec<super::Respawn>,
}

impl SweepReport {
    /// The report of a sweep that had nothing to select (no round ran).
    pub fn nothing(options: &super::SweepOptions) -> Self {
        SweepReport {
            dry_run: options.dry_run,
            signal: options.signal.to_string(),
            grace_ms: options.grace.as_millis() as u64,
            rounds: 0,
            duration_ms: 0.0,
            processes: Vec::new(),
            unseen: Vec::new(),
            respawned: Vec::new(),
        }
    }

    /// Processes now gone (exited, killed, already gone, or zombies).
    pub fn gone_count(&self) -> usize {
        self.processes
            .iter()
            .filter(|p| {
                matches!(
                    p.fate,
                    Fate::Exited | Fate::Killed | Fate::AlreadyGone | Fate::Zombie { .. }
                )
            })
            .count()
    }

    /// Processes alive after the sweep, or spared for a reason other than protection.
    pub fn survivor_count(&self) -> usize {
        self.processes
            .iter()
            .filter(|p| match &p.fate {
                Fate::Survived { .. } => true,
                Fate::Spared { why } => !why.is_protection(),
                _ => false,
            })
            .count()
    }

    /// Processes whose fate satisfies `predicate`.
    pub fn count(&self, predicate: impl Fn(&Fate) -> bool) -> usize {
        self.processes.iter().filter(|p| predicate(&p.fate)).count()
    }

    /// What became of `process`, in words: its fate, and the signal it got
    /// instead of the one asked for, and why.
    pub fn process_text(&self, process: &SweptProcess) -> String {
        match (&process.first_signal, &process.fate) {
            (Some(choice @ super::SignalChoice::KilledAtOnce { .. }), Fate::Killed) => {
                choice.to_string()
            }
            (Some(choice @ super::SignalChoice::HangUp { .. }), Fate::Exited) => {
                format!("exited after SIGHUP ({choice})")
            }
            (Some(choice), fate) => format!("{} ({choice})", self.fate_text(fate)),
            (None, fate) => self.fate_text(fate),
        }
    }

    /// A fate in words, naming this sweep's signal and grace:
    /// "would get SIGTERM", "exited after SIGTERM", "killed after 2000ms
    /// grace", "would be refused: permission denied (owned by root, uid 0)".
    pub fn fate_text(&self, fate: &Fate) -> String {
        match fate {
            Fate::Spared {
                why: why @ SpareReason::PermissionDenied { .. },
            } if self.dry_run => format!("would be refused: {why}"),
            Fate::WouldSignal => format!("would get {}", self.signal),
            Fate::Exited => format!("exited after {}", self.signal),
            Fate::Killed => format!("killed after {}ms grace", self.grace_ms),
            other => other.to_string(),
        }
    }
}
