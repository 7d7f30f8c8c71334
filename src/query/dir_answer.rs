//! `limier in DIR`'s answer as data: every process using a directory tree,
//! what each uses of it, and what the answer could not see. The CLI renders
//! it; its JSON is the contract (docs/JSON.md).

use super::{dir_users_below, DirFound, NamedProcess, QueryError, TypedDir, Unseen};
use crate::snapshot::{PathUse, Snapshot};
use limier_platform::{Backend, ByteString, ProcessId};
use serde::Serialize;
use std::path::PathBuf;

/// Who uses a directory tree (`limier in DIR --json`).
#[derive(Debug, Clone, Serialize)]
pub struct DirAnswer {
    /// The directory asked about: canonical, or the typed path made
    /// absolute when it could not be resolved (see `unresolved`).
    #[serde(serialize_with = "limier_platform::records::serialize_path")]
    pub dir: PathBuf,
    /// Why `dir` is the typed path rather than its canonical form (its
    /// file system did not answer, or failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
    /// Every process using the tree, in pid order.
    pub users: Vec<DirAnswerUser>,
    /// What the answer could not see, as `kill --dir` says it: processes
    /// that could not be checked, processes in a mount namespace whose
    /// mounts could not be read (their paths read as below `dir`), uses
    /// whose deleted-ness the kernel did not tell.
    pub unseen: Vec<Unseen>,
    /// How `dir` was found: a directory that is not there is matched by
    /// the path it had.
    #[serde(skip)]
    pub found: DirFound,
}

/// One process using the tree.
#[derive(Debug, Clone, Serialize)]
pub struct DirAnswerUser {
    /// The process.
    pub pid: ProcessId,
    /// Its command name.
    pub comm: ByteString,
    /// Its owner, when it could be read.
    pub uid: Option<u32>,
    /// The owner's login name, when it has one.
    pub user: Option<String>,
    /// Its command line (empty when it could not be read).
    pub cmdline: Vec<ByteString>,
    /// Every use, by kind then path (each names the pid too).
    pub uses: Vec<PathUse>,
}

impl DirAnswer {
    /// A directory that is not there and that nothing names (no user, no
    /// use left undecided or unplaced): as far as anyone can tell it never
    /// existed, which a caller says as an error rather than "nobody uses
    /// it", so that a typo never reads as free.
    pub fn names_nothing_there(&self) -> bool {
        self.found == DirFound::Former
            && self.users.is_empty()
            && !self.unseen.iter().any(Unseen::may_hide_a_directory_user)
    }
}

/// Who uses the tree at `typed` (resolved with
/// [`resolve_typed_dir`](super::resolve_typed_dir)) in `snapshot`, captured
/// with at least [`Layers::FILES`](crate::snapshot::Layers::FILES): the
/// users' command lines and owners are read for them alone.
pub fn dir_answer(
    snapshot: &mut Snapshot,
    backend: &Backend,
    typed: &TypedDir,
) -> Result<DirAnswer, QueryError> {
    let unchecked = NamedProcess::not_inspectable(snapshot);
    // `typed.path` is canonical and checked already: no second resolution.
    let mut found = dir_users_below(snapshot, &typed.path)?;
    let mut unseen = Vec::new();
    if !unchecked.is_empty() {
        unseen.push(Unseen::Processes {
            count: unchecked.len(),
            processes: unchecked,
        });
    }
    unseen.extend(found.unseen());
    let reported: Vec<ProcessId> = found.users.iter().map(|user| user.pid).collect();
    snapshot.load_details(backend, &reported, false);
    let users = std::mem::take(&mut found.users)
        .into_iter()
        .filter_map(|user| {
            let process = snapshot.process(user.pid)?;
            Some(DirAnswerUser {
                pid: user.pid,
                comm: process.record.comm.clone(),
                uid: process.record.uid,
                user: process.record.uid.and_then(limier_platform::user_name),
                cmdline: process.record.cmdline.clone(),
                uses: user.uses,
            })
        })
        .collect();
    Ok(DirAnswer {
        dir: typed.path.clone(),
        unresolved: typed.unresolved(),
        users,
        unseen,
        found: typed.found.clone(),
    })
}
