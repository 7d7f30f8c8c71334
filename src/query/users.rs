//! Who uses a directory tree, without walking the filesystem.

use super::QueryError;
use crate::snapshot::{Decided, DirUses, PathUse, Placement, Snapshot, UndecidedUse, UseKind};
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
    /// Uses whose path ends in " (deleted)" that the kernel did not decide
    /// (a deleted file's path, or a name that ends so: see
    /// [`placed_uses`]), their link changed since the capture, or nothing
    /// answered: not counted.
    pub undecided: Vec<UndecidedUse>,
}

impl DirUsers {
    /// What these users leave unseen, as questions and sweeps say it:
    /// the processes whose paths could not be placed, then each use whose
    /// deleted-ness the kernel did not tell.
    pub fn unseen(&self) -> Vec<super::Unseen> {
        let unplaceable =
            (!self.unplaceable.is_empty()).then(|| super::Unseen::OtherMountNamespace {
                pids: self.unplaceable.clone(),
            });
        unplaceable
            .into_iter()
            .chain(self.undecided.iter().map(|u| super::Unseen::Undecided {
                pid: u.pid,
                path: u.text.clone(),
            }))
            .collect()
    }
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
/// ([`Snapshot::dir_uses`]); an fd the kernel fd dump read (root) is placed
/// by the mount it read with it
/// ([`DirTree::place_on_known_mount`](crate::snapshot::DirTree::place_on_known_mount)).
/// Where the snapshot was captured with mount tables, the kernel is then
/// asked which mount each other cwd, root, exe and fd found by its text
/// (or not placeable by it) is on — an fd of a process of limier's own
/// namespace only where its text may name another mount (a read per fd)
/// ([`DirTree::text_may_name_another_mount`](crate::snapshot::DirTree::text_may_name_another_mount))
/// — ([`Snapshot::link_mounts`]: fdinfo, or
/// `statx` without syncing attributes); those uses are placed again
/// against their mount
/// ([`DirTree::place_on_mount`](crate::snapshot::DirTree::place_on_mount)),
/// read in the frame of the namespace that mount is in. Mapped files are
/// placed as read (the mapping program, as root, compares the kernel's own
/// mount and dentry; the maps text is placed with its line's device,
/// [`DirTree::place_on_device`](crate::snapshot::DirTree::place_on_device)),
/// and a link whose text lies outside the tree keeps that placement: a
/// process of limier's
/// namespace that went into another namespace's mount (`cd
/// /proc/PID/root/app`) and names its cwd in that namespace's terms is
/// not found by a question about that mount's directory in limier's.
///
/// A use whose process is gone by then (checked where the mount's answer
/// changes the verdict) is dropped; one whose mount could not be had keeps
/// its text's placement, and a text that could not be placed counts its
/// process in `unplaceable`.
///
/// Asked again of the same snapshot, the first answer is returned.
pub fn placed_uses(snapshot: &Snapshot, path: &Path) -> (DirUses, Vec<UndecidedUse>) {
    snapshot.placed_once(path, || place_uses(snapshot, path))
}

/// [`placed_uses`], computed.
fn place_uses(snapshot: &Snapshot, path: &Path) -> (DirUses, Vec<UndecidedUse>) {
    let tree = snapshot.dir_tree(path);
    let mut found = snapshot.uses_in(&tree);
    // One backend for the kernel's answers below, made when first needed.
    let backend = std::cell::OnceCell::new();
    let backend = || {
        backend
            .get_or_init(|| limier_platform::Backend::new().ok())
            .as_ref()
    };
    let undecided = decide_deleted(snapshot, backend, &mut found);
    // A snapshot built by hand has no processes to ask.
    if snapshot.mount_tables().tables.is_empty() || !snapshot.is_captured() {
        for unplaced in std::mem::take(&mut found.unplaced_links) {
            found.unplaceable.insert(unplaced.pid);
        }
        return (found, undecided);
    }
    // The text results: what is asked again is taken out; what stands
    // stays in place (most uses: nothing moved or allocated for them).
    let mut by_text: BTreeMap<(ProcessId, UseKind), (PathUse, bool)> = BTreeMap::new();
    // An fd the kernel dump read with its mount was placed by it already.
    // Any other is asked where its text may name another mount (a read per
    // fd: the ordinary user's common case, one mount namespace and nothing
    // stacked on the way, does without), or for a process of another
    // namespace.
    let own = snapshot.mount_tables().own;
    let foreign = |pid: ProcessId| {
        snapshot
            .process(pid)
            .and_then(|p| p.record.mount_ns)
            .is_some_and(|ns| Some(ns) != own)
    };
    let mount_known =
        |pid: ProcessId, fd: u32| snapshot.process(pid).and_then(|p| p.fd_mount(fd)).is_some();
    let asked = |path_use: &PathUse| match path_use.kind {
        UseKind::Cwd | UseKind::Root | UseKind::Exe => true,
        UseKind::Fd(fd) => {
            (foreign(path_use.pid) || tree.text_may_name_another_mount(&path_use.path))
                && !mount_known(path_use.pid, fd)
        }
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
        let Some(link) = kind.link() else {
            continue;
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
    let still_captured = |identity: &limier_platform::Identity| {
        backend().is_some_and(|backend| backend.is_incarnation(*identity))
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

/// Decides each use whose text ends in " (deleted)" by what the kernel
/// says of its object (see [`deleted_reading`]): the object a process's
/// link reaches (a cwd, root, exe or fd, followed without syncing
/// attributes) or the device and inode the maps file gives, and the entry
/// that has the whole text as its name in limier's namespace (looked up,
/// never through a link). Both are asked in a process limier leaves
/// behind. A use whose process is gone is dropped; one whose link no
/// longer reads as captured is not decided from the name alone. A use
/// nothing decides stays undecided and is returned, but for a mapped file
/// or an executable (a file: both readings name the same directory) whose
/// two readings place it alike, shown as the deleted reading (what the
/// suffix almost always is).
/// `backend` gives the backend to ask (`None`: none could be made).
fn decide_deleted<'b>(
    snapshot: &Snapshot,
    backend: impl Fn() -> Option<&'b limier_platform::Backend>,
    found: &mut DirUses,
) -> Vec<UndecidedUse> {
    use limier_platform::{ObjectAnswer, ObjectAsk};
    let undecided = std::mem::take(&mut found.undecided);
    if undecided.is_empty() {
        return undecided;
    }
    // Per use: its link's ask, if any, and its entry's, if any.
    let mut asks: Vec<ObjectAsk<'_>> = Vec::new();
    let mut slots: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    for use_ in &undecided {
        let link = use_.kind.link();
        let identity = snapshot
            .process(use_.pid)
            .filter(|_| snapshot.is_captured())
            .map(|p| p.record.identity());
        let link_slot = link.zip(identity).map(|(link, identity)| {
            asks.push(ObjectAsk::Link(identity, link, &use_.text));
            asks.len() - 1
        });
        let entry_slot = use_.own_namespace.then(|| {
            asks.push(ObjectAsk::Entry(&use_.text));
            asks.len() - 1
        });
        slots.push((link_slot, entry_slot));
    }
    let answers = match backend() {
        Some(backend) => backend.objects_of(&asks, super::RESOLVE_PATIENCE),
        None => vec![ObjectAnswer::Unknown; asks.len()],
    };
    let answer = |slot: Option<usize>| slot.map_or(ObjectAnswer::Unknown, |at| answers[at]);
    let mut left = Vec::new();
    for (use_, (link_slot, entry_slot)) in undecided.into_iter().zip(slots) {
        let link = answer(link_slot);
        if link == ObjectAnswer::Gone {
            // Its process is gone: no use, as every question drops it.
            continue;
        }
        let object = match link {
            ObjectAnswer::Found(object) => Some(KnownObject::Linked(object)),
            _ => use_.mapped.map(KnownObject::Mapped),
        };
        let reading = if link == ObjectAnswer::Changed {
            None
        } else {
            deleted_reading(object, answer(entry_slot))
        };
        let inside = |p: &Placement| matches!(p, Placement::Inside { .. });
        let alike = inside(&use_.placed[0]) == inside(&use_.placed[1])
            && matches!(use_.kind, UseKind::Map | UseKind::Exe)
            && link != ObjectAnswer::Changed;
        let decided = match reading {
            Some(deleted) => use_.decided(deleted),
            None if alike => use_.decided(true),
            None => {
                left.push(use_);
                continue;
            }
        };
        match decided {
            Decided::Use(path_use) => found.uses.push(path_use),
            Decided::Outside => {}
            Decided::Unplaceable(pid) => {
                found.unplaceable.insert(pid);
            }
        }
    }
    found.uses.sort_by_key(|u| u.pid);
    left
}

/// What is known of the object a use whose text ends in " (deleted)"
/// reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KnownObject {
    /// Through the process's link: device, inode and link count.
    Linked(limier_platform::ObjectId),
    /// As the maps file names it: device and inode.
    Mapped(crate::snapshot::MappedObject),
}

/// Whether a use whose text ends in " (deleted)" is a deleted object's
/// (`Some(true)`: the kernel appended the suffix), names an entry whose
/// name ends so (`Some(false)`), or cannot be told (`None`), from its
/// object (if known) and the entry of the whole text's name in limier's
/// namespace (if asked):
/// - an object with no link left is deleted;
/// - an entry that is the object itself is its name;
/// - no such entry at all: the suffix is the kernel's;
/// - another object under that name, or nothing known: not told.
fn deleted_reading(
    object: Option<KnownObject>,
    entry: limier_platform::ObjectAnswer,
) -> Option<bool> {
    use limier_platform::ObjectAnswer;
    let (device, inode) = match object {
        Some(KnownObject::Linked(object)) if object.links == 0 => return Some(true),
        Some(KnownObject::Linked(object)) => (object.device, object.inode),
        Some(KnownObject::Mapped(mapped)) => (mapped.device, mapped.inode),
        None => match entry {
            ObjectAnswer::Missing => return Some(true),
            _ => return None,
        },
    };
    match entry {
        ObjectAnswer::Missing => Some(true),
        ObjectAnswer::Found(named) if (named.device, named.inode) == (device, inode) => Some(false),
        ObjectAnswer::Found(_)
        | ObjectAnswer::Changed
        | ObjectAnswer::Gone
        | ObjectAnswer::Unknown => None,
    }
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

#[cfg(test)]
mod tests {
    use super::{deleted_reading, KnownObject};
    use crate::snapshot::MappedObject;
    use limier_platform::{ObjectAnswer, ObjectId};

    const DIR: ObjectId = ObjectId {
        device: (0, 42),
        inode: 77,
        links: 2,
    };

    #[test]
    fn an_object_with_no_link_left_is_deleted_whatever_bears_the_name() {
        let removed = ObjectId { links: 0, ..DIR };
        for entry in [
            ObjectAnswer::Found(DIR),
            ObjectAnswer::Missing,
            ObjectAnswer::Unknown,
        ] {
            assert_eq!(
                deleted_reading(Some(KnownObject::Linked(removed)), entry),
                Some(true)
            );
        }
    }

    #[test]
    fn the_entry_that_is_the_object_itself_is_its_name() {
        let linked = Some(KnownObject::Linked(DIR));
        assert_eq!(
            deleted_reading(linked, ObjectAnswer::Found(DIR)),
            Some(false)
        );
        // The same inode number on another device is another object.
        let elsewhere = ObjectId {
            device: (8, 1),
            ..DIR
        };
        assert_eq!(
            deleted_reading(linked, ObjectAnswer::Found(elsewhere)),
            None
        );
        // A mapped file is known by device and inode alone.
        let mapped = Some(KnownObject::Mapped(MappedObject {
            device: DIR.device,
            inode: DIR.inode,
        }));
        assert_eq!(
            deleted_reading(mapped, ObjectAnswer::Found(DIR)),
            Some(false)
        );
        let other = ObjectId { inode: 78, ..DIR };
        assert_eq!(deleted_reading(mapped, ObjectAnswer::Found(other)), None);
    }

    #[test]
    fn no_entry_of_the_whole_name_makes_the_suffix_the_kernel_s() {
        // A file unlinked here but linked elsewhere (a pnpm store) still
        // has links: no entry of the whole name decides it.
        let hard_linked = Some(KnownObject::Linked(DIR));
        assert_eq!(
            deleted_reading(hard_linked, ObjectAnswer::Missing),
            Some(true)
        );
        assert_eq!(deleted_reading(None, ObjectAnswer::Missing), Some(true));
    }

    #[test]
    fn nothing_known_decides_nothing() {
        assert_eq!(deleted_reading(None, ObjectAnswer::Unknown), None);
        assert_eq!(deleted_reading(None, ObjectAnswer::Found(DIR)), None);
        assert_eq!(
            deleted_reading(Some(KnownObject::Linked(DIR)), ObjectAnswer::Unknown),
            None
        );
    }
}
