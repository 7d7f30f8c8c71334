//! Questions answered from one [`Snapshot`](crate::snapshot::Snapshot).
//!
//! These are the calls ecluse makes: who holds a port ([`holders`]), how a
//! process came to be ([`ancestry`]), what it spawned ([`descendants`]), who
//! uses a directory ([`users_of`]), and who carries an environment tag
//! ([`with_env`]).

mod ancestry;
mod dir_answer;
mod dossier;
mod env;
mod family;
mod forest;
mod holders;
mod names;
mod typed_dir;
mod users;

pub use ancestry::{ancestry, ChainLink, Markers};
pub use ancestry::{is_orphaned, orphan_candidates};
pub use dir_answer::{dir_answer, DirAnswer, DirAnswerUser};
pub use dossier::{dossier, Dossier};
pub use env::with_env;
pub use family::{descendants, is_descendant};
pub use forest::{forest, TreeNode};
pub use holders::{
    clients, holder_pids, holders, is_listening, is_tcp_listener, tcp_listening_ports, Holder,
    NamedProcess, PortHolding, PortQuery, StateFilter, Unseen,
};
pub use names::{matching, NamePattern};
pub use typed_dir::{resolve_typed_dir, DirFound, TypedDir, RESOLVE_PATIENCE};
pub use users::{
    dir_users_below, normalize, placed_uses, users_below, users_of, DirUser, DirUsers,
};

use limier_platform::ProcessId;
use std::path::PathBuf;

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The snapshot holds no process with this pid.
    #[error("no process with pid {0}")]
    NoSuchProcess(ProcessId),
    /// The directory (as typed) does not exist, nor does its parent.
    #[error("{}: no such directory", .0.display())]
    NoSuchDirectory(PathBuf),
    /// The path (as typed) is not a directory.
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The directory, or one on the way to it, may not be searched by this
    /// user.
    #[error("{}: permission denied (this user may not search it or a directory above it)", .0.display())]
    PermissionDenied(PathBuf),
    /// The directory could not be resolved for another reason.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory, as typed.
        path: PathBuf,
        /// The OS's error.
        source: std::io::Error,
    },
    /// The snapshot lacks a layer the question needs.
    #[error("the snapshot was captured without the {0} layer")]
    LayerMissing(crate::snapshot::Layer),
    /// The snapshot holds no command line and links for a process a
    /// question describes: capture with the details and links layers, or
    /// call [`Snapshot::load_details`](crate::snapshot::Snapshot::load_details)
    /// for it first.
    #[error("pid {0}: its details were neither captured nor loaded (capture the details and links layers, or Snapshot::load_details for this pid)")]
    DetailsNotLoaded(ProcessId),
}
