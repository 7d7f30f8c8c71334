//! The directory a user typed, resolved without hanging on a dead mount.

use super::{normalize, QueryError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long resolving a typed directory may take before limier stops
/// waiting and matches the path as typed: long enough for a slow network
/// filesystem, short enough that a dead one does not look like a hang.
pub const RESOLVE_PATIENCE: Duration = Duration::from_secs(2);

/// A directory the user named, and the path it is matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedDir {
    /// The path processes are matched against (see [`found`](Self::found)).
    pub path: PathBuf,
    /// How the directory was found, which says what `path` is.
    pub found: DirFound,
}

/// How a typed directory was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirFound {
    /// It exists: `path` is canonical (or was given already resolved).
    Present,
    /// It no longer exists (a deleted worktree): `path` is its parent,
    /// resolved, joined with its name — where processes whose cwd was
    /// deleted under them still say they are.
    Former,
    /// Its filesystem did not answer within the patience given (a dead NFS
    /// server, a stopped FUSE daemon) or answered with an error of its own
    /// (`ENOTCONN` from a crashed FUSE daemon, `ESTALE`, `EIO`), said here:
    /// `path` is as typed, made absolute and normalised lexically, symlinks
    /// not followed.
    Unanswered(String),
}

impl TypedDir {
    /// A directory already resolved by whoever wrote it down (a worktree
    /// path in ecluse's state, a path from a snapshot), matched as given:
    /// made absolute and normalised lexically, nothing read.
    pub fn as_given(path: &Path) -> TypedDir {
        TypedDir {
            path: normalize(path),
            found: DirFound::Present,
        }
    }

    /// How to capture `layers` for a question about this directory: where
    /// it exists, only the mapped files below it are asked about
    /// ([`CaptureOptions::maps_only_below`](crate::snapshot::CaptureOptions::maps_only_below)).
    /// The one place a directory question's capture is decided.
    pub fn capture_options(
        &self,
        layers: crate::snapshot::Layers,
    ) -> crate::snapshot::CaptureOptions {
        let mut options = crate::snapshot::CaptureOptions::new(layers);
        if self.found == DirFound::Present {
            options.maps_only_below = vec![self.path.clone()];
        }
        options
    }

    /// Why `path` is not the directory's canonical path, in words (what
    /// `limier in --json` reports as `unresolved`); `None` when it is.
    pub fn unresolved(&self) -> Option<String> {
        match &self.found {
            DirFound::Present => None,
            DirFound::Former => {
                Some("does not exist (deleted?); matched by the path it had".into())
            }
            DirFound::Unanswered(why) => Some(why.clone()),
        }
    }
}

/// Resolves `dir` in a process limier leaves behind (a helper thread on
/// macOS), waiting at most `patience`.
///
/// A path that is not a directory or may not be searched is an error, as is
/// one whose parent does not exist either. A directory that no longer
/// exists below one that does (a deleted worktree) is matched by the path it
/// had — a process whose cwd was deleted still reports it — with its parent
/// resolved. The root of a dead mount resolves at once (see
/// [`resolve_dir`](limier_platform::resolve_dir)); a path inside one blocks in the
/// kernel, or fails with the filesystem's own error, and is then taken as
/// typed — the question "who holds this dead mount" is the one asked most
/// when it is dead (see [`resolve_dir_within`](limier_platform::resolve_dir_within)).
///
/// ```no_run
/// use limier::query::{resolve_typed_dir, RESOLVE_PATIENCE};
/// let typed = resolve_typed_dir(std::path::Path::new("."), RESOLVE_PATIENCE)?;
/// println!("{} ({:?})", typed.path.display(), typed.found);
/// # Ok::<(), limier::Error>(())
/// ```
pub fn resolve_typed_dir(dir: &Path, patience: Duration) -> Result<TypedDir, QueryError> {
    // Resolved as typed (`a/..` through a symlink `a` is not `.`); made
    // absolute only so that a deleted directory has a parent to resolve.
    let owned = std::env::current_dir()
        .map(|cwd| cwd.join(dir))
        .unwrap_or_else(|_| dir.to_owned());
    let answer = resolve_or_former(&owned, patience);
    let unanswered = match answer {
        Some(Ok(found)) => return Ok(found),
        Some(Err(err)) => match err.kind() {
            std::io::ErrorKind::NotFound => {
                return Err(QueryError::NoSuchDirectory(dir.to_owned()))
            }
            std::io::ErrorKind::NotADirectory => {
                return Err(QueryError::NotADirectory(dir.to_owned()))
            }
            std::io::ErrorKind::PermissionDenied => {
                return Err(QueryError::PermissionDenied(dir.to_owned()))
            }
            _ => format!("could not be resolved: {err}"),
        },
        None => format!(
            "did not answer within {} ms (a hung mount?)",
            patience.as_millis()
        ),
    };
    Ok(TypedDir {
        path: normalize(dir),
        found: DirFound::Unanswered(unanswered),
    })
}

/// Resolves `dir`; when it is missing but its parent is a directory, the
/// parent's resolved path joined with the missing name.
/// The directory, or its former path below a parent that exists; `None`
/// when the filesystem gave no answer within `patience` (each lookup runs
/// in a process limier leaves behind, see
/// [`resolve_dir_within`](limier_platform::resolve_dir_within)).
fn resolve_or_former(dir: &Path, patience: Duration) -> Option<std::io::Result<TypedDir>> {
    let deadline = std::time::Instant::now() + patience;
    match limier_platform::resolve_dir_within(dir, patience)? {
        Ok(path) => Some(Ok(TypedDir {
            path,
            found: DirFound::Present,
        })),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
                return Some(Err(err));
            };
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match limier_platform::resolve_dir_within(parent, left)? {
                Ok(parent) => Some(Ok(TypedDir {
                    path: parent.join(name),
                    found: DirFound::Former,
                })),
                Err(_) => Some(Err(err)),
            }
        }
        Err(err) => Some(Err(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_resolves_and_a_file_or_nothing_is_an_error() {
        let dir = std::env::temp_dir().join(format!("limier-typed-dir-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::write(dir.join("file"), "x").unwrap();
        let typed = resolve_typed_dir(&dir.join("a/.."), RESOLVE_PATIENCE).unwrap();
        assert_eq!(typed.found, DirFound::Present);
        assert_eq!(typed.unresolved(), None);
        assert_eq!(typed.path, std::fs::canonicalize(&dir).unwrap());
        assert!(matches!(
            resolve_typed_dir(&dir.join("file"), RESOLVE_PATIENCE),
            Err(QueryError::NotADirectory(_))
        ));
        assert!(matches!(
            resolve_typed_dir(&dir.join("missing/below"), RESOLVE_PATIENCE),
            Err(QueryError::NoSuchDirectory(_))
        ));
        // A deleted directory below one that exists: its former path, the
        // parent resolved through a symlink.
        std::os::unix::fs::symlink(&dir, dir.join("link")).unwrap();
        let former = resolve_typed_dir(&dir.join("link/gone"), RESOLVE_PATIENCE).unwrap();
        assert_eq!(
            former.path,
            std::fs::canonicalize(&dir).unwrap().join("gone")
        );
        assert_eq!(former.found, DirFound::Former);
        assert!(former.unresolved().unwrap().contains("deleted"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
