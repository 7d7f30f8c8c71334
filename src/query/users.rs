//! Who uses a directory tree, without walking the filesystem.

use super::QueryError;
use crate::snapshot::{DirUses, PathUse, Placement, Snapshot, UndecidedUse, UseKind};
use limier_platform::ProcessId;
use limier_platform::UseLink;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// One process and every way it uses the directory tree.
#[derive(Debug, Clone, Serialize)]
pub struct DirUser {
    /// The process.
    pub pid: ProcessId,
    /// Every use, by kind then path.
    pub uses: Vec<PathUse>,
}

/// Processes whose cwd, root, exe, an open fd or a mapped file lies at or
/// below `dir`, with the kind of each use.
///
/// `dir` is resolved first with
/// [`resolve_typed_dir`](super::resolve_typed_dir) (symlinks followed; a
/// deleted directory matched by the path it had; a filesystem that does not
/// answer matched as typed); the answer comes from the snapshot's path
/// index, never from a filesystem walk. The process that took the snapshot
/// is left out.
/// A cwd deleted by the kernel still matches by its old path and is marked.
/// The directory is matched as the objects it holds (see
/// [`DirTree`](crate::snapshot::DirTree)): the same tree reached through a
/// bind mount or from another mount namespace is found, and another
/// directory that only has the same path text in another namespace is not.
///
/// ```no_run
/// use limier::query::users_of;
/// use limier::snapshot::{capture, CaptureOptions, Layers};
/// let backend = limier::Backend::new()?;
/// let snapshot = capture(&backend, CaptureOptions::new(Layers::FILES))?;
/// for user in users_of(&snapshot, std::path::Path::new("/tmp"))? {
///     println!("{} uses /tmp {} ways", user.pid, user.uses.len());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn users_of(snapshot: &Snapshot, dir: &Path) -> Result<Vec<DirUser>, QueryError> {
    let typed = super::resolve_typed_dir(dir, super::RESOLVE_PATIENCE)?;
    users_below(snapshot, &typed.path)
}

/// Like [`users_of`] for a path already resolved (or no longer there: a
/// deleted worktree): `path` is only made absolute and normalised lexically.
///
/// The process that took the snapshot is left out: its cwd or binary in the
/// directory is an artefact of asking.
pub fn users_below(snapshot: &Snapshot, path: &Path) -> Result<Vec<DirUser>, QueryError> {
    dir_users_below(snapshot, path).map(|users| users.users)
}

/// The users of a directory tree, and the processes whose use of it could
/// not be told (see [`dir_users_below`]).
#[derive(Debug, Clone, Default)]
pub struct DirUsers {
    /// Every user, in pid order.
    pub users: Vec<DirUser>,
    /// Processes in a mount namespace whose mounts limier could not read,
    /// naming a path that reads as below the directory: never counted as
    /// users, since the same text may name another directory there.
    pub unplaceable: Vec<ProcessId>,
    /// Uses whose path ends in " (deleted)" where a deleted file's path and
    /// a name that ends so disagree on the answer, and an entry of that
    /// name exists (or could not be looked for): not counted.
    pub undecided: Vec<UndecidedUse>,
}

/// [`users_below`], with the processes whose paths could not be placed.
pub fn dir_users_below(snapshot: &Snapshot, path: &Path) -> Result<DirUsers, QueryError> {
    if !snapshot.layers.fds {
        return Err(QueryError::LayerMissing("fds"));
    }
    if !snapshot.layers.file_fds() {
        return Err(QueryError::LayerMissing(
            "file fds (it kept socket fds only, as Layers::PORTS does)",
        ));
    }
    let path = normalize(path);
    let (found, undecided) = placed_uses(snapshot, &path);
    let mut by_pid: BTreeMap<ProcessId, Vec<PathUse>> = BTreeMap::new();
    for path_use in found.uses {
        if path_use.pid == snapshot.self_pid {
            continue;
        }
        by_pid.entry(path_use.pid).or_default().push(path_use);
    }
    let users = by_pid
        .into_iter()
        .map(|(pid, mut uses)| {
            uses.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.path.cmp(&b.path)));
            DirUser { pid, uses }
        })
        .collect();
    let unplaceable = found
        .unplaceable
        .into_iter()
        .filter(|pid| *pid != snapshot.self_pid)
        .collect();
    let undecided = undecided
        .into_iter()
        .filter(|u| u.pid != snapshot.self_pid)
        .collect();
    Ok(DirUsers {
        users,
        unplaceable,
        undecided,
    })
}

/// Every use of the tree at `path` (absolute, normalised), each placed by
/// the mount its object is on where the snapshot has mount tables, and the
/// uses whose deleted-ness could not be decided.
///
/// The snapshot's pass places each path by its text
/// ([`Snapshot::dir_uses`]); then the mount of every link a use was found
/// by (cwd, root, exe, an fd) is asked of the kernel
/// ([`Backend::mount_ids_of`](limier_platform::Backend::mount_ids_of):
/// fdinfo, or `statx` in a process limier leaves behind) and the use is
/// placed again against that mount ([`DirTree::place_on_mount`]): text
/// rendered in another namespace's frame is then read in that frame, and a
/// process that entered another namespace's mount is not taken for a user.
/// A use whose mount cannot be had is left out and its process counted in
/// `unplaceable`. Mapped files are placed by text (their mount ids are not
/// read).
pub fn placed_uses(snapshot: &Snapshot, path: &Path) -> (DirUses, Vec<UndecidedUse>) {
    let mut found = snapshot.dir_uses(path);
    let undecided = decide_deleted(&mut found);
    // A snapshot built by hand has no processes to ask: its links are
    // placed by their text alone.
    if snapshot.mount_tables().tables.is_empty() || !snapshot.is_captured() {
        for unplaced in std::mem::take(&mut found.unplaced_links) {
            found.unplaceable.insert(unplaced.pid);
        }
        return (found, undecided);
    }
    let tree = snapshot.dir_tree(path);
    let uses = std::mem::take(&mut found.uses);
    let (links, maps): (Vec<PathUse>, Vec<PathUse>) =
        uses.into_iter().partition(|u| u.kind != UseKind::Map);
    let links: Vec<PathUse> = links
        .into_iter()
        .chain(std::mem::take(&mut found.unplaced_links))
        .collect();
    let link_of = |u: &PathUse| {
        let identity = snapshot.process(u.pid)?.record.identity();
        let link = match u.kind {
            UseKind::Cwd => UseLink::Cwd,
            UseKind::Root => UseLink::Root,
            UseKind::Exe => UseLink::Exe,
            UseKind::Fd(fd) => UseLink::Fd(fd),
            UseKind::Map => return None,
        };
        Some((identity, link))
    };
    // Every link use has its process in the snapshot; one that had not
    // would be asked as pid 0, which names no process (no mount id).
    let nobody = (
        limier_platform::Identity {
            pid: ProcessId(0),
            start: limier_platform::StartTime(0),
        },
        UseLink::Cwd,
    );
    let asks: Vec<(limier_platform::Identity, UseLink)> =
        links.iter().map(|u| link_of(u).unwrap_or(nobody)).collect();
    let ids = match limier_platform::Backend::new() {
        Ok(backend) => backend.mount_ids_of(&asks, super::RESOLVE_PATIENCE),
        Err(_) => vec![None; asks.len()],
    };
    found.uses = maps;
    for (mut path_use, id) in links.into_iter().zip(ids) {
        let placed = match id {
            Some(id) => tree.place_on_mount(id, &path_use.path),
            None => Placement::Unplaceable { mount_ns: 0 },
        };
        match placed {
            Placement::Inside { as_asked, via } => {
                path_use.as_asked = as_asked;
                path_use.via = via;
                found.uses.push(path_use);
            }
            Placement::Outside => {}
            Placement::Unplaceable { .. } => {
                found.unplaceable.insert(path_use.pid);
            }
        }
    }
    found.uses.sort_by_key(|u| u.pid);
    (found, undecided)
}

/// Decides the uses whose deleted-ness decides them, from what exists: the
/// kernel appends " (deleted)" to an unlinked path, so where no entry has
/// the whole text as its name (looked up in a process limier leaves
/// behind), the path is a deleted one. Where such an entry exists, or the
/// process is in another mount namespace, or the lookup got no answer,
/// either reading may be true: the use stays undecided and is returned.
/// Nothing is looked up through a process's links.
fn decide_deleted(found: &mut DirUses) -> Vec<UndecidedUse> {
    let undecided = std::mem::take(&mut found.undecided);
    let (askable, mut left): (Vec<_>, Vec<_>) =
        undecided.into_iter().partition(|u| u.own_namespace);
    if askable.is_empty() {
        return left;
    }
    let names: Vec<&Path> = askable.iter().map(|u| u.text.as_path()).collect();
    let exist = limier_platform::names_exist_within(&names, super::RESOLVE_PATIENCE);
    for (index, undecided) in askable.into_iter().enumerate() {
        match exist.as_ref().map(|exist| exist[index]) {
            Some(false) => found.uses.extend(undecided.decided(true)),
            Some(true) | None => left.push(undecided),
        }
    }
    found.uses.sort_by_key(|u| u.pid);
    left
}

/// Makes `path` absolute (against the cwd) and removes `.` and `..` lexically.
pub fn normalize(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
