//! One error type for library users, with `From` for every layer's own.

use crate::ecluse::EcluseError;
use crate::input::InputError;
use crate::query::QueryError;
use crate::sweep::SweepError;
use limier_platform::{LockError, PlatformError, SignalError};

/// Any error limier's library returns.
///
/// Each layer keeps its own enum (and says which pid or path it concerns);
/// this wraps them so a caller can use `?` across layers and match on the
/// one it cares about. A process that vanished mid-scan or another user's
/// process that could not be read is never an error: snapshots count them.
///
/// ```
/// fn holders_of(port: u16) -> Result<Vec<u32>, limier::Error> {
///     limier::listeners(port)
/// }
/// # let _ = holders_of;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The OS could not be read (listing processes, the socket table).
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// A signal could not be delivered.
    #[error(transparent)]
    Signal(#[from] SignalError),
    /// A question could not be asked of the snapshot (no such process or
    /// directory, a layer not captured).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A sweep could not run (an empty selection, one that selects everything).
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// ecluse's files could not be used.
    #[error(transparent)]
    Ecluse(#[from] EcluseError),
    /// A typed value was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
}
