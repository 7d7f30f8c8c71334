//! The "why is this running" dossier of one process.

use super::{ancestry, descendants, ChainLink, QueryError};
use crate::snapshot::Snapshot;
use limier_platform::{ByteString, ProcessId, ProcessState, SocketRecord};
use serde::Serialize;
use std::path::PathBuf;

/// Everything limier can say about why a process is running.
#[derive(Debug, Clone, Serialize)]
pub struct Dossier {
    /// The process.
    pub pid: ProcessId,
    /// Its parent.
    pub ppid: ProcessId,
    /// Its command name.
    pub comm: ByteString,
    /// Its effective uid (the owner of `/proc/PID`), when readable.
    pub uid: Option<u32>,
    /// That uid's user name.
    pub user: Option<String>,
    /// Its scheduler state.
    pub state: ProcessState,
    /// When it started, in ms since the epoch.
    pub started_at_ms: u64,
    /// Age at capture time, in milliseconds.
    pub age_ms: u64,
    /// Its process group.
    pub pgid: ProcessId,
    /// Its session.
    pub sid: ProcessId,
    /// Its argument words.
    pub cmdline: Vec<ByteString>,
    #[serde(serialize_with = "limier_platform::records::serialize_opt_path")]
    /// Its working directory.
    pub cwd: Option<PathBuf>,
    /// The working directory was deleted.
    pub cwd_deleted: bool,
    #[serde(serialize_with = "limier_platform::records::serialize_opt_path")]
    /// Its executable.
    pub exe: Option<PathBuf>,
    /// `pid` first, pid 1 last.
    pub chain: Vec<ChainLink>,
    /// The process itself looks reparented (see `Markers::orphaned`).
    pub orphaned: bool,
    /// Whether every part could be read.
    pub inspectable: bool,
    /// Sockets this process holds (with the sockets layer).
    pub sockets: Vec<SocketRecord>,
    /// Every descendant, any depth.
    pub descendants: Vec<ProcessId>,
}

/// Builds the dossier of `pid` from the snapshot.
pub fn dossier(snapshot: &Snapshot, pid: ProcessId) -> Result<Dossier, QueryError> {
    let process = snapshot
        .process(pid)
        .ok_or(QueryError::NoSuchProcess(pid))?;
    // Without the details and links of this process, its command line, cwd
    // and owner would read as empty: said, not shown so.
    let captured = snapshot.layers.details && snapshot.layers.links;
    if !captured && !process.details_asked {
        return Err(QueryError::DetailsNotLoaded(pid));
    }
    let record = &process.record;
    let chain = ancestry(snapshot, pid)?;
    let orphaned = chain.first().is_some_and(|link| link.markers.orphaned);
    let sockets = snapshot.sockets_held_by(pid).into_iter().cloned().collect();
    Ok(Dossier {
        pid,
        ppid: record.ppid,
        comm: record.comm.clone(),
        uid: record.uid,
        user: record.uid.and_then(limier_platform::user_name),
        state: record.state,
        started_at_ms: record.started_at_ms,
        age_ms: snapshot.captured_at_ms.saturating_sub(record.started_at_ms),
        pgid: record.pgid,
        sid: record.sid,
        cmdline: record.cmdline.clone(),
        cwd: record.cwd.clone(),
        cwd_deleted: record.cwd_deleted,
        exe: record.exe.clone(),
        chain,
        orphaned,
        inspectable: process.inspectable(),
        sockets,
        descendants: descendants(snapshot, pid),
    })
}
