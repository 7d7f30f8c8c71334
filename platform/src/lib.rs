//! limier's OS boundary.
//!
//! This crate is the only code in limier that knows which OS it runs on. It
//! turns `/proc`, sock_diag (Linux) or libproc (macOS) into the plain records
//! of [`records`], and offers the few OS actions limier needs: identity-checked
//! signalling, waiting for exits, local time, and shared file locks.
//!
//! The pure parsers in [`parse`] compile everywhere and never touch a file.

#![warn(missing_docs)]
// Every unsafe block says why it is sound.
#![warn(clippy::undocumented_unsafe_blocks)]

mod backend;
pub use backend::{AskMounts, Backend};
pub mod error;
pub mod fd_table;
pub mod parse;
pub mod records;
pub mod signal;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::{
    empty_vma_walk, mount_ids_within, regular_files_within, resolve_dir, resolve_dir_within,
    MapReader, MapRoots, PinAttempt, ProcessDir, ProcessHandle,
};

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::{
    regular_files_within, resolve_dir, resolve_dir_within, MapReader, MapRoots, PinAttempt,
    ProcessDir, ProcessHandle,
};

pub use error::{ParseSource, PlatformError, SignalError, VerifierRefusal};
pub use fd_table::{FdScope, FdTable};
pub use parse::tty_name;
pub use records::*;
pub use signal::Signal;

mod clock;
mod lock;
mod terminal;
mod users;
pub use clock::{local_time, LocalTime};
pub use lock::{lock_shared, LockError, SharedLock};
pub use terminal::terminal_columns;
pub use users::{effective_uid, home_dir, is_superuser, uid_of, user_name};
mod capped_read;
mod os_release;
mod shared;
pub use capped_read::{read_capped, LastLink};
pub use os_release::os_release;
