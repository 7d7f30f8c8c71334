//! Pure parsers for the text the kernel exposes: bytes in, record or error out.
//!
//! None of these functions opens a file, so they compile on every OS, are
//! unit-tested on captured text and are the entry points of the fuzz targets.

mod btf;
pub mod darwin;
pub mod darwin_map;
mod dump_record;
mod fd_dump;
mod fdlink;
mod map_dump;
mod maps;
mod mountinfo;
mod nul;
mod proc_net;
mod root_dump;
mod stat;
mod status;
mod task_dump;
mod tty;
mod wchan;

pub use btf::{parse_btf, Btf};
pub use fd_dump::{parse_fd_dump, FdDumpRow, FD_DUMP_HEADER, FD_DUMP_PATH_MAX};
pub use fdlink::parse_fd_link;
pub use fdlink::strip_deleted;
pub use map_dump::{
    parse_map_dump, MapDumpEntry, MapDumpFile, MapDumpRow, MAP_DUMP_FILE, MAP_DUMP_HEADER,
    MAP_DUMP_UNRENDERED, MAP_DUMP_VISITED,
};
pub use maps::{first_of_each_path, parse_maps};
pub use mountinfo::{parse_mount_points, MountPoint};
pub use nul::{parse_cmdline, parse_environ};
pub use proc_net::parse_proc_net;
pub use root_dump::{parse_root_dump, RootDumpRow, ROOT_DUMP_RECORD};
pub use stat::{parse_boot_time, parse_stat, StatFields, PF_KTHREAD};
pub use status::{parse_status_cap_eff, parse_status_signals, parse_status_uid, SignalMasks};
pub use task_dump::{
    parse_task_dump, parse_visit_dump, TaskDumpRow, TASK_DUMP_RECORD, TASK_DUMP_TERMINAL,
    TASK_DUMP_UNREAD, VISIT_DUMP_RECORD,
};
pub use tty::{darwin_tty_name, linux_tty_name, tty_name};
pub use wchan::parse_wchan;

/// Why a parser rejected its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct ParseError {
    /// Which format was being parsed (`stat`, `maps`, …).
    pub what: &'static str,
    /// What was wrong with the input.
    pub reason: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, reason: impl Into<String>) -> Self {
        ParseError {
            what,
            reason: reason.into(),
        }
    }
}

/// Parses an ASCII decimal number, rejecting anything else.
pub(crate) fn parse_decimal<T: std::str::FromStr>(bytes: &[u8]) -> Option<T> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}
