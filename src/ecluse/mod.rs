//! ecluse's process work, done natively from ecluse's own files.
//!
//! [`Repo`] reads `.ecluse.toml`, `.ecluse/state.json` (under ecluse's
//! shared lock) and the pid files; [`Attribution`] finds every session that
//! left a trace (active or ended) and decides which session each process
//! belongs to, on ranked [`Evidence`] — never the port it holds; [`status`]
//! checks every service's port owner; [`down_selection`] and
//! [`flush_selection`] turn a session or a whole repo into a sweep
//! selection. limier never writes ecluse's files.
//!
//! ```no_run
//! use limier::ecluse::{Repo, Attribution, status};
//! use limier::snapshot::capture;
//! let repo = Repo::discover(std::path::Path::new("."), std::time::Duration::from_secs(2))?;
//! let backend = limier::Backend::new()?;
//! let snapshot = capture(&backend, repo.capture_options())?;
//! let attribution = Attribution::build(&snapshot, &repo, &[]);
//! for session in status(&snapshot, &repo, &attribution, None)? {
//!     println!("{}: all healthy = {}", session.slug, session.all_healthy);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attribution;
mod config;
mod evidence;
mod pidfile;
mod port_context;
mod ports;
mod repo;
mod sessions;
mod state;
mod status;
mod teardown;
#[cfg(test)]
mod tests;

pub use attribution::{Attribution, PidFileCheck, PidFileKey};
pub use config::{Config, ExtraPort, Run, Service};
pub use evidence::{Evidence, EvidenceKind, Owner, Rank};
pub use pidfile::{lstart_token, start_token_of, token_matches, PidFile};
pub use port_context::{PortContext, PortWarning};
pub use ports::{PortAssignment, PortKind, PortMap};
pub use repo::{Repo, WorktreeRules};
pub use sessions::{SessionState, SessionView, Trace};
pub use state::{is_slug, Session, State};
pub use status::{status, ServiceStatus, SessionStatus, Verdict};
pub use teardown::{
    down_selection, end_all, end_session, flush_selection, keeping_worktree, Teardown, TeardownPlan,
};

use std::path::PathBuf;

/// Why ecluse's files could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EcluseError {
    /// No `.ecluse.toml` in the directory (named) or above it.
    #[error("no .ecluse.toml in {} or any parent directory (use --repo DIR)", .0.display())]
    NotARepo(PathBuf),
    /// A file of ecluse's could not be parsed.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file of ecluse's could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS's error.
        source: std::io::Error,
    },
    /// ecluse's state lock could not be taken in time.
    #[error(transparent)]
    Lock(#[from] limier_platform::LockError),
    /// No session with this slug: not in state.json, and nothing of it
    /// remains (worktree, pid files, tagged processes).
    #[error("no session {0:?}: not in .ecluse/state.json, and nothing of it remains")]
    NoSuchSession(String),
    /// state.json does not list this session (it may have ended: `limier
    /// who` and `limier ecluse down` still find its leftovers).
    #[error("no session {0:?} in .ecluse/state.json (ended, or never started)")]
    NotInState(String),
    /// A question of the snapshot failed.
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    /// Looking for `.ecluse.toml` around a directory got no answer in time
    /// (a mount whose server stopped answering).
    #[error("{} did not answer within {patience_ms} ms (a hung mount?); name the repo with --repo", dir.display())]
    Unanswered {
        /// The directory looked around.
        dir: PathBuf,
        /// How long limier waited.
        patience_ms: u128,
    },
}
