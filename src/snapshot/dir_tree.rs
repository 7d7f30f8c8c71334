//! A directory asked about, as the file-system objects it holds rather than
//! the text of its path: which paths, in each mount namespace, reach the
//! same tree.
//!
//! A path a process names (its cwd, an open file, a mapping) is text in
//! that process's mount namespace. The same text in another namespace can
//! name another directory (a private tmpfs over it, a container's own
//! file system), and another text can name the same one (a bind mount).
//! So the tree is held as file-system places — a device (one per super
//! block) and a directory within that file system — read from limier's own
//! mount table: the directory itself, and every mount below it. In each
//! namespace, the mounts that show one of those places give the paths that
//! reach the tree there (its *aliases*); a process's path is a use when it
//! lies below an alias and no other mount covers it on the way.

use super::index::is_at_or_below;
use limier_platform::parse::MountPoint;
use limier_platform::MountTables;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where a use was found when not at the asked path in limier's own mount
/// namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Via {
    /// The path that reaches the asked directory in the process's mount
    /// namespace (a bind mount, the same directory mounted elsewhere).
    #[serde(serialize_with = "limier_platform::records::serialize_path")]
    pub path: PathBuf,
    /// The process's mount namespace, when it is not limier's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_ns: Option<u64>,
}

/// Where a path a process names lies, against a [`DirTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Not in the tree.
    Outside,
    /// In the tree.
    Inside {
        /// The same object's path below the directory as asked, when it is
        /// not the path placed.
        as_asked: Option<PathBuf>,
        /// The other path it was reached through, if any.
        via: Option<Via>,
    },
    /// Its text lies below the asked path, but the process is in a mount
    /// namespace whose mounts limier could not read: whether it is the same
    /// directory cannot be told.
    Unplaceable {
        /// The process's mount namespace.
        mount_ns: u64,
    },
}

/// One place of the tree in limier's own namespace.
#[derive(Debug, Clone)]
struct Place {
    device: (u32, u32),
    /// The directory within the file system.
    fs_path: PathBuf,
    /// Where limier sees it.
    own_path: PathBuf,
    /// For a mount below the directory: its id. Such a place counts only
    /// where it is reached inside the asked tree (a chroot's `dev` is the
    /// host's devtmpfs: its `/dev/null` is not a use of the chroot).
    nested: Option<u32>,
}

/// A path that reaches a place in one namespace, through one mount.
#[derive(Debug, Clone)]
struct Alias {
    path: PathBuf,
    /// The directory within the file system at `path`.
    fs_path: PathBuf,
    place: usize,
    /// Mount points strictly below `path`: what lies below them is another
    /// mount's.
    covered: Vec<PathBuf>,
    /// The mount that shows the place at `path`.
    mount: u32,
}

/// The tree below a directory, as places and their aliases per namespace.
#[derive(Debug, Clone)]
pub struct DirTree {
    asked: PathBuf,
    own: Option<u64>,
    places: Vec<Place>,
    aliases: HashMap<u64, Vec<Alias>>,
    /// Every mount read, by id, with the namespace whose table holds it.
    mounts: HashMap<u32, (u64, MountPoint)>,
    /// The mount points of limier's own table (other than `/`) at the asked
    /// directory, above it or below it: what lay at one before it was
    /// mounted (a file opened there then) is named by text that now reaches
    /// the mount.
    mounted_on_the_way: Vec<PathBuf>,
}

impl DirTree {
    /// The tree at `asked` (absolute, normalised; resolved where it exists)
    /// in limier's namespace. Without mount tables (macOS, a snapshot built
    /// by hand), paths are compared as text.
    pub fn new(tables: &MountTables, asked: &Path) -> DirTree {
        let mut tree = DirTree {
            asked: asked.to_owned(),
            own: tables.own,
            places: Vec::new(),
            aliases: HashMap::new(),
            mounts: HashMap::new(),
            mounted_on_the_way: Vec::new(),
        };
        let Some(own_table) = tables.own.and_then(|own| tables.tables.get(&own)) else {
            return tree;
        };
        tree.mounted_on_the_way = own_table
            .iter()
            .filter(|mount| {
                mount.path != Path::new("/")
                    && (is_at_or_below(asked, &mount.path) || is_at_or_below(&mount.path, asked))
            })
            .map(|mount| mount.path.clone())
            .collect();
        // limier itself chrooted (no mount at its `/`): paths as text.
        let Some(mount) = covering(own_table, asked) else {
            return tree;
        };
        tree.places.push(Place {
            device: mount.device,
            fs_path: rebase(asked, &mount.path, &mount.root),
            own_path: asked.to_owned(),
            nested: None,
        });
        // The mounts limier sees below the directory (not those hidden
        // under another mount).
        for mount in own_table {
            if mount.path != asked
                && is_at_or_below(&mount.path, asked)
                && covering(own_table, &mount.path).map(|m| m.id) == Some(mount.id)
            {
                tree.places.push(Place {
                    device: mount.device,
                    fs_path: mount.root.clone(),
                    own_path: mount.path.clone(),
                    nested: Some(mount.id),
                });
            }
        }
        for (namespace, table) in &tables.tables {
            tree.aliases
                .insert(*namespace, aliases_in(table, &tree.places, asked));
            for mount in table {
                tree.mounts.insert(mount.id, (*namespace, mount.clone()));
            }
        }
        tree
    }

    /// limier's own mount namespace, when the tables name it.
    pub fn own_namespace(&self) -> Option<u64> {
        self.own
    }

    /// The other paths that reach the directory itself in limier's own
    /// namespace (bind mounts of it, or of a directory above it: a
    /// directory that is a bind of `/` is reached as `/`). A sweep refuses a
    /// directory also reached as `/` or as a system directory.
    pub fn also_reached_as(&self) -> Vec<PathBuf> {
        let Some(own) = self.own.and_then(|own| self.aliases.get(&own)) else {
            return Vec::new();
        };
        own.iter()
            .filter(|alias| alias.place == 0 && !is_at_or_below(&alias.path, &self.asked))
            .map(|alias| alias.path.clone())
            .collect()
    }

    /// Where `path`, named by a process in mount namespace `mount_ns`
    /// (`None`: unread, taken as limier's own), lies when only its text is
    /// known.
    ///
    /// The kernel renders a path relative to limier's root when its mount
    /// is in limier's namespace (a file opened before the process left it)
    /// and relative to the process's namespace's root otherwise: both
    /// readings are tried, and where they disagree the path is
    /// [`Placement::Unplaceable`] (see [`place_on_mount`](Self::place_on_mount)
    /// for the exact answer).
    pub fn place(&self, mount_ns: Option<u64>, path: &Path) -> Placement {
        if self.places.is_empty() {
            return if is_at_or_below(path, &self.asked) {
                Placement::Inside {
                    as_asked: None,
                    via: None,
                }
            } else {
                Placement::Outside
            };
        }
        let own = self.own.unwrap_or_default();
        let namespace = mount_ns.unwrap_or(own);
        let in_own = self.place_in(own, path);
        if namespace == own {
            return in_own;
        }
        let in_theirs = self.place_in(namespace, path);
        match (&in_own, &in_theirs) {
            (_, Placement::Unplaceable { .. }) => in_theirs,
            (Placement::Outside, Placement::Outside) => Placement::Outside,
            (Placement::Inside { .. }, Placement::Inside { .. }) => in_theirs,
            _ => Placement::Unplaceable {
                mount_ns: namespace,
            },
        }
    }

    /// Where `path` lies, its object known to be on the mount with id
    /// `mount_id` (unique on the machine): the path is read against the
    /// table of the namespace that mount is in. A mount in no table read,
    /// or a path that does not lie below that mount's point, is
    /// [`Placement::Unplaceable`].
    pub fn place_on_mount(&self, mount_id: u32, path: &Path) -> Placement {
        if self.places.is_empty() {
            return self.place(None, path);
        }
        let own = self.own.unwrap_or_default();
        let Some((namespace, mount)) = self.mounts.get(&mount_id) else {
            return Placement::Unplaceable { mount_ns: 0 };
        };
        if !is_at_or_below(path, &mount.path) {
            return Placement::Unplaceable {
                mount_ns: *namespace,
            };
        }
        let fs_path = rebase(path, &mount.path, &mount.root);
        let inside_text = is_at_or_below(path, &self.asked);
        // The mount below the directory itself, or another showing the
        // same place — a mount below counts only reached inside the tree.
        let found = self
            .places
            .iter()
            .enumerate()
            .filter(|(_, place)| match place.nested {
                Some(id) if id == mount_id => true,
                Some(_) => {
                    inside_text
                        && !mount.root_deleted
                        && place.device == mount.device
                        && is_at_or_below(&fs_path, &place.fs_path)
                }
                None => {
                    !mount.root_deleted
                        && place.device == mount.device
                        && is_at_or_below(&fs_path, &place.fs_path)
                }
            })
            .max_by_key(|(_, place)| place.fs_path.as_os_str().len());
        let Some((index, place)) = found else {
            return Placement::Outside;
        };
        let own_frame = *namespace == own;
        let as_asked = if own_frame && inside_text {
            None
        } else if place.nested == Some(mount_id) {
            Some(rebase(path, &mount.path, &place.own_path))
        } else {
            Some(rebase(&fs_path, &place.fs_path, &place.own_path))
        };
        let via = (!own_frame || !inside_text).then(|| {
            let alias = if index == 0 && is_at_or_below(&place.fs_path, &mount.root) {
                rebase(&place.fs_path, &mount.root, &mount.path)
            } else {
                mount.path.clone()
            };
            Via {
                path: alias,
                mount_ns: (!own_frame).then_some(*namespace),
            }
        });
        Placement::Inside { as_asked, via }
    }

    /// Whether `path`, named by a process of limier's own namespace, can
    /// name an object on a mount other than the one its text reaches now:
    /// it passes through a mount point of limier's table other than `/`
    /// (at the asked directory, above it or below it: a file opened there
    /// before the mount, or on a mount stacked under it), or the tables
    /// read are of more mount namespaces than limier's own (a process of
    /// limier's namespace can hold a file on another's mount, which the
    /// kernel names in that namespace's terms).
    pub fn text_may_name_another_mount(&self, path: &Path) -> bool {
        self.aliases.len() > 1
            || self
                .mounted_on_the_way
                .iter()
                .any(|point| is_at_or_below(path, point))
    }

    /// Where `path`, named by a process in mount namespace `mount_ns`
    /// (`None`: limier's own), lies, its object known to be on the mount
    /// with id `mount_id` (the kernel fd dump reads it with the path). A
    /// text outside the tree stays outside (see
    /// [`place`](Self::place)); one inside through the very mount its
    /// object is on stands; any other is placed by that mount
    /// ([`place_on_mount`](Self::place_on_mount)): a file on a mount since
    /// covered by another at the same path, or on another namespace's
    /// mount, is not the tree's for its text.
    pub fn place_on_known_mount(
        &self,
        mount_ns: Option<u64>,
        path: &Path,
        mount_id: u32,
    ) -> Placement {
        if self.places.is_empty() {
            return self.place(mount_ns, path);
        }
        let own = self.own.unwrap_or_default();
        if mount_ns.unwrap_or(own) == own {
            let (placed, through) = self.place_through(own, path);
            match placed {
                Placement::Outside => return Placement::Outside,
                Placement::Inside { .. } if through == Some(mount_id) => return placed,
                _ => {}
            }
        } else if self.place(mount_ns, path) == Placement::Outside {
            return Placement::Outside;
        }
        self.place_on_mount(mount_id, path)
    }

    /// Where a mapped file's `path`, named by a process in mount namespace
    /// `mount_ns` (`None`: limier's own), lies, its object known to be on
    /// the super block `device` (the maps file's `major:minor`). A text
    /// inside through a mount of another device names an object that is
    /// not there: it lies on a mount of `device` the path passes through,
    /// now hidden under another (a file under a mount stacked since), and
    /// is placed on the deepest such mount, as an fd on it would be
    /// ([`place_on_mount`](Self::place_on_mount)); with none, it is
    /// outside. The deepest is a guess where several mounts of the device
    /// lie on the path (a bind of the same file system stacked there, or
    /// one lazily unmounted since): the maps file names no mount. A mount
    /// whose files map from another file system (overlayfs, FUSE, aufs,
    /// shiftfs), and any path of another namespace, keep the text's
    /// placement.
    pub fn place_on_device(
        &self,
        mount_ns: Option<u64>,
        path: &Path,
        device: (u32, u32),
    ) -> Placement {
        let own = self.own.unwrap_or_default();
        if self.places.is_empty() || mount_ns.unwrap_or(own) != own {
            return self.place(mount_ns, path);
        }
        let (placed, through) = self.place_through(own, path);
        let elsewhere = through
            .and_then(|id| self.mounts.get(&id))
            .is_some_and(|(_, mount)| mount.device != device && !maps_another_fs(&mount.fstype));
        if !elsewhere {
            return placed;
        }
        let hidden = self
            .mounts
            .values()
            .filter(|(namespace, mount)| {
                *namespace == own && mount.device == device && is_at_or_below(path, &mount.path)
            })
            .map(|(_, mount)| mount)
            .max_by_key(|mount| mount.path.as_os_str().len());
        match hidden {
            Some(mount) => self.place_on_mount(mount.id, path),
            None => Placement::Outside,
        }
    }

    /// `path` read against namespace `namespace`'s table alone.
    fn place_in(&self, namespace: u64, path: &Path) -> Placement {
        self.place_through(namespace, path).0
    }

    /// [`place_in`](Self::place_in), with the mount of the alias a path
    /// inside was reached through.
    fn place_through(&self, namespace: u64, path: &Path) -> (Placement, Option<u32>) {
        let Some(aliases) = self.aliases.get(&namespace) else {
            let placed = if is_at_or_below(path, &self.asked) {
                Placement::Unplaceable {
                    mount_ns: namespace,
                }
            } else {
                Placement::Outside
            };
            return (placed, None);
        };
        for alias in aliases {
            if !is_at_or_below(path, &alias.path)
                || alias.covered.iter().any(|c| is_at_or_below(path, c))
            {
                continue;
            }
            let place = &self.places[alias.place];
            // The alias is where limier sees the place itself: the path is
            // its own (no rebasing, nothing allocated, for the many paths
            // found where they were asked).
            let as_asked = if alias.path == place.own_path && alias.fs_path == place.fs_path {
                None
            } else {
                let fs_path = rebase(path, &alias.path, &alias.fs_path);
                Some(rebase(&fs_path, &place.fs_path, &place.own_path))
            };
            let foreign = Some(namespace) != self.own;
            let via = (foreign || !is_at_or_below(path, &self.asked)).then(|| Via {
                path: alias.path.clone(),
                mount_ns: foreign.then_some(namespace),
            });
            return (Placement::Inside { as_asked, via }, Some(alias.mount));
        }
        (Placement::Outside, None)
    }
}

/// Whether a file system of type `fstype` may map files of another (its
/// mapped files show the backing file system's device): overlayfs, aufs,
/// shiftfs, and FUSE (with passthrough; `fuseblk` too).
fn maps_another_fs(fstype: &str) -> bool {
    matches!(fstype, "overlay" | "aufs" | "shiftfs" | "fuse" | "fuseblk")
        || fstype.starts_with("fuse.")
        || fstype.starts_with("fuseblk.")
}

/// Every path that reaches one of `places` in the namespace whose mounts
/// are `table`, each through a mount not hidden by another.
fn aliases_in(table: &[MountPoint], places: &[Place], asked: &Path) -> Vec<Alias> {
    let mut aliases = Vec::new();
    for mount in table {
        for (index, place) in places.iter().enumerate() {
            // A deleted directory's bind shows the old directory: only the
            // mount below the tree itself is taken at its word.
            let own_mount = place.nested == Some(mount.id);
            if mount.device != place.device || (mount.root_deleted && !own_mount) {
                continue;
            }
            let (path, fs_path) = if is_at_or_below(&place.fs_path, &mount.root) {
                (
                    rebase(&place.fs_path, &mount.root, &mount.path),
                    place.fs_path.clone(),
                )
            } else if is_at_or_below(&mount.root, &place.fs_path) {
                (mount.path.clone(), mount.root.clone())
            } else {
                continue;
            };
            // Hidden by a mount over it or over a directory on the way.
            if covering(table, &path).map(|m| m.id) != Some(mount.id) {
                continue;
            }
            // A mount below the directory counts only inside the tree.
            if place.nested.is_some() && !is_at_or_below(&path, asked) {
                continue;
            }
            let covered = table
                .iter()
                .filter(|m| m.path != path && is_at_or_below(&m.path, &path))
                .map(|m| m.path.clone())
                .collect();
            aliases.push(Alias {
                path,
                fs_path,
                place: index,
                covered,
                mount: mount.id,
            });
        }
    }
    aliases
}

/// The mount `path` is on, as the namespace whose mounts are `table` shows
/// it: from the namespace's root mount down, at each mount point on the way
/// the mount mounted there on the one reached so far, and of several
/// stacked there the last (the one nothing is mounted on at the same
/// point). A mount under another mounted over its parent is hidden and
/// never reached.
fn covering<'t>(table: &'t [MountPoint], path: &Path) -> Option<&'t MountPoint> {
    let ids: std::collections::HashSet<u32> = table.iter().map(|m| m.id).collect();
    let root = table
        .iter()
        .find(|m| m.path == Path::new("/") && (m.parent == m.id || !ids.contains(&m.parent)))?;
    let mut current = top_of_stack(table, root);
    loop {
        // The next mount on the way: mounted on `current`, at a point at or
        // below `current`'s own, at or above `path`; the nearest first.
        let next = table
            .iter()
            .filter(|m| {
                m.parent == current.id
                    && m.id != current.id
                    && m.path != current.path
                    && is_at_or_below(path, &m.path)
            })
            .min_by_key(|m| m.path.as_os_str().len());
        match next {
            Some(next) => current = top_of_stack(table, next),
            None => return Some(current),
        }
    }
}

/// The last of the mounts stacked at `bottom`'s mount point on it.
fn top_of_stack<'t>(table: &'t [MountPoint], bottom: &'t MountPoint) -> &'t MountPoint {
    let mut top = bottom;
    while let Some(above) = table
        .iter()
        .find(|m| m.parent == top.id && m.id != top.id && m.path == top.path)
    {
        top = above;
    }
    top
}

/// `path`, which lies at or below `from`, moved to lie as far below `to`.
fn rebase(path: &Path, from: &Path, to: &Path) -> PathBuf {
    match path.strip_prefix(from) {
        Ok(rest) if rest.as_os_str().is_empty() => to.to_owned(),
        Ok(rest) => to.join(rest),
        Err(_) => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(id: u32, parent: u32, device: (u32, u32), root: &str, path: &str) -> MountPoint {
        MountPoint {
            id,
            parent,
            device,
            root: root.into(),
            root_deleted: false,
            path: path.into(),
            fstype: "ext4".into(),
        }
    }

    const DISK: (u32, u32) = (254, 0);
    const OWN: u64 = 1;
    const OTHER: u64 = 2;

    /// limier's namespace: the disk at `/`, a bind of `/repo/src` at
    /// `/elsewhere`, a tmpfs at `/repo/cache`. Another namespace: the disk,
    /// and a private tmpfs over `/repo/wt`.
    fn tables() -> MountTables {
        let own = vec![
            mount(27, 1, DISK, "/", "/"),
            mount(71, 27, DISK, "/repo/src", "/elsewhere"),
            mount(72, 27, (0, 40), "/", "/repo/cache"),
        ];
        let other = vec![
            mount(90, 89, DISK, "/", "/"),
            mount(91, 90, (0, 42), "/", "/repo/wt"),
        ];
        MountTables {
            own: Some(OWN),
            tables: [(OWN, own), (OTHER, other)].into_iter().collect(),
        }
    }

    /// The as-asked path (`path` itself when not given) and the via.
    fn inside(placement: Placement, path: &str) -> (PathBuf, Option<Via>) {
        match placement {
            Placement::Inside { as_asked, via } => (as_asked.unwrap_or_else(|| path.into()), via),
            other => panic!("expected inside, got {other:?}"),
        }
    }

    #[test]
    fn the_same_text_in_another_namespace_over_a_private_mount_is_outside() {
        let tree = DirTree::new(&tables(), Path::new("/repo"));
        // Own namespace: text and object agree.
        let (as_asked, via) = inside(tree.place(Some(OWN), Path::new("/repo/wt/x")), "/repo/wt/x");
        assert_eq!((as_asked, via), (PathBuf::from("/repo/wt/x"), None));
        // The other namespace's /repo/wt is its own tmpfs; by its text
        // alone the path may be limier's (a file opened before the process
        // left limier's namespace), so it is not placed...
        assert_eq!(
            tree.place(Some(OTHER), Path::new("/repo/wt/x")),
            Placement::Unplaceable { mount_ns: OTHER }
        );
        // ...until its mount says: the tmpfs (outside), or limier's disk (a
        // use, read in limier's frame).
        assert_eq!(
            tree.place_on_mount(91, Path::new("/repo/wt/x")),
            Placement::Outside
        );
        let (as_asked, via) = inside(
            tree.place_on_mount(27, Path::new("/repo/wt/x")),
            "/repo/wt/x",
        );
        assert_eq!((as_asked, via), (PathBuf::from("/repo/wt/x"), None));
        // A process of limier's namespace that went into the other's tmpfs
        // (through /proc/PID/cwd) is not a user either.
        assert_eq!(
            tree.place_on_mount(91, Path::new("/repo/wt/in")),
            Placement::Outside
        );
        // Its /repo/lib is the disk's /repo/lib: the same directory.
        let (as_asked, via) = inside(tree.place(Some(OTHER), Path::new("/repo/lib")), "/repo/lib");
        assert_eq!(as_asked, PathBuf::from("/repo/lib"));
        assert_eq!(
            via,
            Some(Via {
                path: "/repo".into(),
                mount_ns: Some(OTHER)
            })
        );
    }

    #[test]
    fn a_bind_mount_elsewhere_reaches_the_same_tree() {
        let tree = DirTree::new(&tables(), Path::new("/repo"));
        let (as_asked, via) = inside(
            tree.place(Some(OWN), Path::new("/elsewhere/main.rs")),
            "/elsewhere/main.rs",
        );
        assert_eq!(as_asked, PathBuf::from("/repo/src/main.rs"));
        assert_eq!(
            via,
            Some(Via {
                path: "/elsewhere".into(),
                mount_ns: None
            })
        );
        // Asked about the bind mount, the source is found too.
        let tree = DirTree::new(&tables(), Path::new("/elsewhere"));
        let (as_asked, via) = inside(
            tree.place(Some(OWN), Path::new("/repo/src/lib.rs")),
            "/repo/src/lib.rs",
        );
        assert_eq!(as_asked, PathBuf::from("/elsewhere/lib.rs"));
        assert_eq!(via.unwrap().path, PathBuf::from("/repo/src"));
        assert_eq!(
            tree.place(Some(OWN), Path::new("/repo/README")),
            Placement::Outside
        );
    }

    #[test]
    fn a_mount_below_the_directory_is_in_its_tree_only_where_limier_sees_it() {
        let tree = DirTree::new(&tables(), Path::new("/repo"));
        let (as_asked, via) = inside(
            tree.place(Some(OWN), Path::new("/repo/cache/a")),
            "/repo/cache/a",
        );
        assert_eq!((as_asked, via), (PathBuf::from("/repo/cache/a"), None));
        // The other namespace has no tmpfs at /repo/cache: its path there
        // is on the disk, which is /repo/cache's mount point directory.
        let (as_asked, _) = inside(
            tree.place(Some(OTHER), Path::new("/repo/cache/a")),
            "/repo/cache/a",
        );
        assert_eq!(as_asked, PathBuf::from("/repo/cache/a"));
        // Sibling text is not below.
        assert_eq!(
            tree.place(Some(OWN), Path::new("/repository")),
            Placement::Outside
        );
    }

    #[test]
    fn a_namespace_without_a_table_is_unplaceable_and_no_tables_means_text() {
        let tree = DirTree::new(&tables(), Path::new("/repo"));
        assert_eq!(
            tree.place(Some(3), Path::new("/repo/x")),
            Placement::Unplaceable { mount_ns: 3 }
        );
        assert_eq!(tree.place(Some(3), Path::new("/etc")), Placement::Outside);
        // Unread namespace: limier's own.
        assert!(matches!(
            tree.place(None, Path::new("/elsewhere/x")),
            Placement::Inside { .. }
        ));
        let text = DirTree::new(&MountTables::default(), Path::new("/repo"));
        assert!(matches!(
            text.place(Some(OTHER), Path::new("/repo/wt/x")),
            Placement::Inside { via: None, .. }
        ));
        assert_eq!(
            text.place(None, Path::new("/elsewhere/x")),
            Placement::Outside
        );
    }

    #[test]
    fn a_mount_stacked_over_the_directory_hides_the_one_below() {
        let mut tables = tables();
        // In the other namespace a second tmpfs is stacked over the first
        // at /repo/wt, and a bind of the disk's /repo over /repo/wt/inner.
        let other = tables.tables.get_mut(&OTHER).unwrap();
        other.push(mount(92, 91, (0, 43), "/", "/repo/wt"));
        other.push(mount(93, 92, DISK, "/repo", "/repo/wt/inner"));
        let tree = DirTree::new(&tables, Path::new("/repo"));
        assert_eq!(
            tree.place_on_mount(92, Path::new("/repo/wt/x")),
            Placement::Outside
        );
        let (as_asked, via) = inside(
            tree.place_on_mount(93, Path::new("/repo/wt/inner/lib")),
            "/repo/wt/inner/lib",
        );
        assert_eq!(as_asked, PathBuf::from("/repo/lib"));
        assert_eq!(via.unwrap().path, PathBuf::from("/repo/wt/inner"));
    }

    #[test]
    fn an_fd_s_own_mount_overrides_its_text_only_where_they_differ() {
        let mut tables = tables();
        let tree = DirTree::new(&tables, Path::new("/repo"));
        // Two namespaces' tables: any path may.
        assert!(tree.text_may_name_another_mount(Path::new("/repo/a")));
        let alone = MountTables {
            own: Some(OWN),
            tables: [(OWN, tables.tables[&OWN].clone())].into_iter().collect(),
        };
        let one = DirTree::new(&alone, Path::new("/repo"));
        assert!(one.text_may_name_another_mount(Path::new("/repo/cache/x")));
        assert!(!one.text_may_name_another_mount(Path::new("/repo/a")));
        let plain = DirTree::new(&alone, Path::new("/srv"));
        assert!(!plain.text_may_name_another_mount(Path::new("/srv/a")));
        // The text's own mount: the text's answer, the cache's too.
        assert_eq!(
            tree.place_on_known_mount(None, Path::new("/repo/a"), 27),
            tree.place(None, Path::new("/repo/a"))
        );
        inside(
            tree.place_on_known_mount(None, Path::new("/repo/cache/x"), 72),
            "/repo/cache/x",
        );
        // Named /repo/cache/x but on the disk: what lay under the cache's
        // mount point before it was mounted, still in the tree.
        let (as_asked, _) = inside(
            tree.place_on_known_mount(None, Path::new("/repo/cache/x"), 27),
            "/repo/cache/x",
        );
        assert_eq!(as_asked, PathBuf::from("/repo/cache/x"));
        // Outside by text stays outside; a mount in no table is unplaceable.
        assert_eq!(
            tree.place_on_known_mount(None, Path::new("/srv/a"), 72),
            Placement::Outside
        );
        assert!(matches!(
            tree.place_on_known_mount(None, Path::new("/repo/a"), 999),
            Placement::Unplaceable { .. }
        ));
        // A tmpfs stacked over /repo itself: a file of the disk's /repo,
        // opened before, is not in the tree the path reaches now.
        let own = tables.tables.get_mut(&OWN).unwrap();
        own.push(mount(73, 27, (0, 44), "/", "/repo"));
        let stacked = DirTree::new(&tables, Path::new("/repo"));
        assert_eq!(
            stacked.place_on_known_mount(None, Path::new("/repo/a"), 27),
            Placement::Outside
        );
        inside(
            stacked.place_on_known_mount(None, Path::new("/repo/a"), 73),
            "/repo/a",
        );
    }

    #[test]
    fn a_mapped_file_of_another_device_than_its_text_reaches_is_outside() {
        let mut tables = tables();
        let tree = DirTree::new(&tables, Path::new("/repo"));
        inside(
            tree.place_on_device(None, Path::new("/repo/lib.so"), DISK),
            "/repo/lib.so",
        );
        inside(
            tree.place_on_device(None, Path::new("/repo/cache/x"), (0, 40)),
            "/repo/cache/x",
        );
        // Named below the cache's mount point, on the disk: what lay there
        // before the cache was mounted, in the tree as an fd on it is.
        assert_eq!(
            tree.place_on_device(None, Path::new("/repo/cache/x"), DISK),
            tree.place_on_known_mount(None, Path::new("/repo/cache/x"), 27)
        );
        inside(
            tree.place_on_device(None, Path::new("/repo/cache/x"), DISK),
            "/repo/cache/x",
        );
        // A device no mount on the way has: not the tree's.
        assert_eq!(
            tree.place_on_device(None, Path::new("/repo/a"), (7, 7)),
            Placement::Outside
        );
        // Another namespace's path keeps its text's placement.
        assert_eq!(
            tree.place_on_device(Some(OTHER), Path::new("/repo/a"), (9, 9)),
            tree.place(Some(OTHER), Path::new("/repo/a"))
        );
        // An overlay maps its lower and upper file systems' files.
        let own = tables.tables.get_mut(&OWN).unwrap();
        own.push(MountPoint {
            fstype: "overlay".into(),
            ..mount(74, 27, (0, 45), "/", "/repo/merged")
        });
        let tree = DirTree::new(&tables, Path::new("/repo"));
        inside(
            tree.place_on_device(None, Path::new("/repo/merged/bin"), DISK),
            "/repo/merged/bin",
        );
    }

    #[test]
    fn a_mount_hidden_under_another_is_not_part_of_the_tree() {
        // limier's namespace: the disk, a tmpfs A at /h/x, then a tmpfs B
        // mounted over /h (A is hidden), and A's contents bound at /e1.
        let own = vec![
            mount(27, 1, DISK, "/", "/"),
            mount(60, 27, (0, 60), "/", "/h/x"),
            mount(61, 27, (0, 61), "/", "/h"),
            mount(62, 27, (0, 60), "/", "/e1"),
        ];
        let tables = MountTables {
            own: Some(OWN),
            tables: [(OWN, own.clone())].into_iter().collect(),
        };
        assert_eq!(covering(&own, Path::new("/h/x/f")).unwrap().id, 61);
        let tree = DirTree::new(&tables, Path::new("/h"));
        assert_eq!(tree.place(None, Path::new("/e1/f")), Placement::Outside);
        assert_eq!(
            tree.place_on_mount(62, Path::new("/e1/f")),
            Placement::Outside
        );
        assert!(matches!(
            tree.place_on_mount(61, Path::new("/h/y")),
            Placement::Inside { .. }
        ));
        // A bind of a directory deleted since shows nothing of its namesake.
        let mut own = own;
        own.push(MountPoint {
            root_deleted: true,
            ..mount(63, 27, DISK, "/h2", "/mnt")
        });
        let tables = MountTables {
            own: Some(OWN),
            tables: [(OWN, own)].into_iter().collect(),
        };
        let tree = DirTree::new(&tables, Path::new("/h2"));
        assert_eq!(tree.place(None, Path::new("/mnt/f")), Placement::Outside);
        assert_eq!(
            tree.place_on_mount(63, Path::new("/mnt/f")),
            Placement::Outside
        );
    }

    #[test]
    fn a_mount_below_counts_only_inside_the_tree_and_a_bind_of_root_is_noticed() {
        // A chroot's dev: the host's devtmpfs mounted again below /c.
        let devtmpfs = (0, 5);
        let tables = MountTables {
            own: Some(OWN),
            tables: [(
                OWN,
                vec![
                    mount(27, 1, DISK, "/", "/"),
                    mount(30, 27, devtmpfs, "/", "/dev"),
                    mount(70, 27, devtmpfs, "/", "/c/dev"),
                    mount(71, 27, DISK, "/", "/hostroot"),
                ],
            )]
            .into_iter()
            .collect(),
        };
        let chroot = DirTree::new(&tables, Path::new("/c"));
        assert_eq!(
            chroot.place(None, Path::new("/dev/null")),
            Placement::Outside
        );
        assert_eq!(
            chroot.place_on_mount(30, Path::new("/dev/null")),
            Placement::Outside
        );
        assert!(matches!(
            chroot.place_on_mount(70, Path::new("/c/dev/null")),
            Placement::Inside { via: None, .. }
        ));
        // /hostroot shows the whole disk: /c is also /hostroot/c.
        assert_eq!(chroot.also_reached_as(), vec![PathBuf::from("/hostroot/c")]);
        // A bind of / is / itself.
        let hostroot = DirTree::new(&tables, Path::new("/hostroot"));
        assert_eq!(hostroot.also_reached_as(), vec![PathBuf::from("/")]);
    }
}
