//! Who uses a directory tree, without walking the filesystem.

use super::QueryError;
use crate::snapshot::{DirUses, PathUse, Placement, Snapshot, UndecidedUse, UseKind};
use limier_platform::{MountAnswer, ProcessId, UseLink};
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
    if snapshot.layers.fds.is_none() {
        return Err(QueryError::LayerMissing(crate::snapshot::Layer::Fds));
    }
    if !snapshot.layers.file_fds() {
        return Err(QueryError::LayerMissing(crate::snapshot::Layer::FileFds));
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
/// the mount its object is on where that can be had, and the uses whose
/// deleted-ness could not be decided.
///
/// The snapshot's pass places each path by its text
/// ([`Snapshot::dir_uses`]). Where the snapshot was captured with mount
/// tables, the kernel is then asked which mount each cwd, root and exe
/// found by its text (or not placeable by it) is on, and each such fd of a
/// process of another mount namespace
/// ([`Snapshot::link_mounts`]: fdinfo, or `statx` without syncing
/// attributes); those uses are placed again against their mount
/// ([`DirTree::place_on_mount`](crate::snapshot::DirTree::place_on_mount)),
/// read in the frame of the namespace that mount is in. The fds of
/// processes in limier's own namespace and mapped files keep their text's
/// placement (a mount id each would cost a read per open file), and so
/// does a link whose text lies outside the tree: a process of limier's
/// namespace that went into another namespace's mount (`cd
/// /proc/PID/root/app`) and names its cwd in that namespace's terms is
/// not found by a question about that mount's directory in limier's.
///
/// A use whose process is gone by then (checked where the mount's answer
/// changes the verdict) is dropped; one whose mount could not be had keeps
/// its text's placement, and a text that could not be placed counts its
/// process in `unplaceable`.
pub fn placed_uses(snapshot: &Snapshot, path: &Path) -> (DirUses, Vec<UndecidedUse>) {
    let tree = snapshot.dir_tree(path);
    let mut found = snapshot.uses_in(&tree);
    let undecided = decide_deleted(&mut found);
    // A snapshot built by hand has no processes to ask.
    if snapshot.mount_tables().tables.is_empty() || !snapshot.is_captured() {
        for unplaced in std::mem::take(&mut found.unplaced_links) {
            found.unplaceable.insert(unplaced.pid);
        }
        return (found, undecided);
    }
    let own = snapshot.mount_tables().own;
    let foreign = |pid: ProcessId| {
        snapshot
            .process(pid)
            .and_then(|p| p.record.mount_ns)
            .is_some_and(|ns| Some(ns) != own)
    };
    // The text results: what is asked again is taken out; what stands
    // stays in place (most uses: nothing moved or allocated for them).
    let mut by_text: BTreeMap<(ProcessId, UseKind), (PathUse, bool)> = BTreeMap::new();
    let asked = |path_use: &PathUse| match path_use.kind {
        UseKind::Cwd | UseKind::Root | UseKind::Exe => true,
        UseKind::Fd(_) => foreign(path_use.pid),
        UseKind::Map => false,
    };
    for path_use in found.uses.iter().filter(|u| asked(u)) {
        by_text.insert((path_use.pid, path_use.kind), (path_use.clone(), true));
    }
    found.uses.retain(|u| !asked(u));
    for path_use in std::mem::take(&mut found.unplaced_links) {
        by_text.insert((path_use.pid, path_use.kind), (path_use, false));
    }
    // Each link found by its text (or not placed by it): the kernel says
    // which mount it is on. Answers are kept with the snapshot, so a second
    // question of the same snapshot asks only what is new.
    let mut asks: Vec<(limier_platform::Identity, UseLink, PathBuf, UseKind)> = Vec::new();
    for ((pid, kind), (path_use, _)) in &by_text {
        let Some(process) = snapshot.process(*pid) else {
            continue;
        };
        let link = match kind {
            UseKind::Cwd => UseLink::Cwd,
            UseKind::Root => UseLink::Root,
            UseKind::Exe => UseLink::Exe,
            UseKind::Fd(fd) => UseLink::Fd(*fd),
            UseKind::Map => continue,
        };
        asks.push((
            process.record.identity(),
            link,
            path_use.path.clone(),
            *kind,
        ));
    }
    let answers = snapshot.link_mounts(
        &asks
            .iter()
            .map(|(identity, link, text, _)| (*identity, *link, text.as_path()))
            .collect::<Vec<_>>(),
    );
    // A verdict that differs from the text's is only taken for the process
    // captured (a pid reused since would answer for another).
    let backend = limier_platform::Backend::new().ok();
    let still_captured = |identity: &limier_platform::Identity| {
        backend
            .as_ref()
            .is_some_and(|backend| backend.is_incarnation(*identity))
    };
    for ((identity, _, text, kind), answer) in asks.iter().zip(answers) {
        let pid = identity.pid;
        let from_text = by_text.remove(&(pid, *kind));
        let text_inside = matches!(from_text, Some((_, true)));
        let placed = match answer {
            MountAnswer::Gone => continue,
            MountAnswer::On(id) => {
                let placed = tree.place_on_mount(id, text);
                let inside = matches!(placed, Placement::Inside { .. });
                if inside != text_inside && !still_captured(identity) {
                    continue;
                }
                placed
            }
            // No answer: the text's placement stands.
            MountAnswer::Unknown => match &from_text {
                Some((path_use, true)) => Placement::Inside {
                    as_asked: path_use.elsewhere_as.clone().map(PathBuf::from),
                    via: path_use.via.clone().map(|via| *via),
                },
                Some((_, false)) => Placement::Unplaceable { mount_ns: 0 },
                None => Placement::Outside,
            },
        };
        match placed {
            Placement::Inside { as_asked, via } => {
                let deleted = from_text.as_ref().is_some_and(|(u, _)| u.deleted);
                found.uses.push(PathUse {
                    pid,
                    kind: *kind,
                    path: text.to_path_buf(),
                    deleted,
                    elsewhere_as: as_asked.map(PathBuf::into_boxed_path),
                    via: via.map(Box::new),
                });
            }
            Placement::Outside => {}
            Placement::Unplaceable { .. } => {
                found.unplaceable.insert(pid);
            }
        }
    }
    // Anything not asked (none is expected) keeps its text's placement.
    for (path_use, inside) in by_text.into_values() {
        if inside {
            found.uses.push(path_use);
        } else {
            found.unplaceable.insert(path_use.pid);
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
