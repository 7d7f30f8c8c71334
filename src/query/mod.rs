//! Questions answered from one [`Snapshot`](crate::snapshot::Snapshot).
//!
//! These are the calls ecluse makes: who holds a port ([`holders`]), how a
//! process came to be ([`ancestry`]), what it spawned ([`descendants`]), who
//! uses a directory ([`users_of`]), and who carries an environment tag
//! ([`with_env`]).

mod ancestry;
mod dossier;
mod env;
mod family;
mod holders;
mod typed_dir;
mod users;

pub use ancestry::is_orphaned;
pub use ancestry::{ancestry, ChainLink, Markers};
pub use dossier::{dossier, Dossier};
pub use env::with_env;
pub use family::{descendants, is_descendant};
pub use holders::{holder_pids, holders, Holder, PortHolding, PortQuery, StateFilter};
pub use typed_dir::{resolve_typed_dir, TypedDir, DELETED, RESOLVE_PATIENCE};
pub use users::{normalize, users_below, users_of, DirUser};

use limier_platform::ProcessId;
use std::path::PathBuf;

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("no process with pid {0}")]
    NoSuchProcess(ProcessId),
    #[error("{}: no such directory", .0.display())]
    NoSuchDirectory(PathBuf),
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the snapshot was captured without the {0} layer")]
    LayerMissing(&'static str),
}
