//! limier: process forensics from one native snapshot.
//!
//! The one-call API answers one question per call, in plain pids — what a
//! tool like ecluse asks `lsof`, `pgrep`, `ps` and `kill` today:
//!
//! ```no_run
//! use std::time::Duration;
//! let holders: Vec<u32> = limier::listeners(3000)?;
//! let users: Vec<u32> = limier::dir_users(std::path::Path::new("/repo/.ecluse/worktrees/feat-b"))?;
//! if let Some(&pid) = holders.first() {
//!     let report = limier::kill_tree(pid, Duration::from_secs(2))?;
//!     println!("{} gone, {} survived", report.gone_count(), report.survivor_count());
//! }
//! # Ok::<(), limier::Error>(())
//! ```
//!
//! For several questions of one moment, capture a [`snapshot::Snapshot`]
//! once and ask it with [`query`]: who holds a port, how a process came to
//! be, who uses a directory, who carries an environment tag. [`sweep`] kills
//! a selection of processes without ever signalling a recycled pid,
//! [`ecluse`] reads ecluse's files to answer its session questions natively
//! (and ends a session's processes in one sweep), and [`who`] builds the
//! whole answer `limier who` prints, as data.
//!
//! ```no_run
//! use limier::query::{holders, ancestry, PortQuery};
//! use limier::snapshot::{capture, CaptureOptions, Layers};
//!
//! let backend = limier::Backend::new()?;
//! let snapshot = capture(&backend, CaptureOptions::new(Layers::PORTS))?;
//! for holding in holders(&snapshot, PortQuery::new(3000))? {
//!     for pid in holding.pids() {
//!         let chain = ancestry(&snapshot, pid)?;
//!         println!("{pid}: {} links to init", chain.len());
//!     }
//! }
//! # Ok::<(), limier::Error>(())
//! ```
//!
//! The command line is the `cli` feature (on by default); a library user
//! writes `limier = { version = "0.1", default-features = false }` and
//! compiles no clap.

// Everything that touches the OS unsafely lives in `limier-platform`.
#![forbid(unsafe_code)]
#![warn(missing_docs, unnameable_types)]

pub mod ecluse;
mod error;
pub mod input;
mod one_call;
pub mod query;
pub mod sanitize;
pub mod snapshot;
pub mod sweep;
pub mod who;

pub use error::Error;
pub use one_call::{
    children, cmdline, dir_users, group_alive, is_descendant, kill_started_trees, kill_tree,
    kill_trees, listeners, listening_ports, pid_alive, pid_matches_token, port_owner, start_token,
    PortOwner,
};
pub use sweep::{Fate, SpareReason, SweepReport};

/// The OS boundary: the plain records limier's answers are made of, and the
/// backend that reads them (`/proc` and sock_diag on Linux, libproc on macOS).
pub use limier_platform as platform;
pub use limier_platform::{
    Backend, ByteString, EnvVar, FdRecord, FdTarget, Identity, LayerReader, LockError, MappedFile,
    PlatformError, Port, ProcessId, ProcessRecord, ProcessState, Protocol, Signal, SignalError,
    SocketInode, SocketRecord, SocketState, StartTime, VerifierRefusal,
};
