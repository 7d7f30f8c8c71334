//! The directory a user typed, resolved without hanging on a dead mount.

use super::{normalize, QueryError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long resolving a typed directory may take before limier stops
/// waiting and matches the path as typed: long enough for a slow network
/// filesystem, short enough that a dead one does not look like a hang.
pub const RESOLVE_PATIENCE: Duration = Duration::from_secs(2);

/// A directory the user named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedDir {
    /// Canonical when resolved; otherwise the typed path made absolute and
    /// normalised lexically (symlinks not followed).
    pub path: PathBuf,
    /// Why it could not be resolved, when it could not: its filesystem did
    /// not answer within the patience given (a dead NFS server, a stopped
    /// FUSE daemon) or answered with an error of its own (`ENOTCONN` from a
    /// crashed FUSE daemon, `ESTALE`, `EIO`).
    pub unresolved: Option<String>,
}

/// Resolves `dir` on a helper thread, waiting at most `patience`.
///
/// A path that does not exist, is not a directory or may not be searched is
/// an error. The root of a dead mount resolves at once (see
/// [`limier_platform::resolve_dir`]); a path inside one blocks in the
/// kernel, or fails with the filesystem's own error, and is then taken as
/// typed — the question "who holds this dead mount" is the one asked most
/// when it is dead (see [`crate::patience::within`]).
pub fn resolve_typed_dir(dir: &Path, patience: Duration) -> Result<TypedDir, QueryError> {
    let owned = dir.to_owned();
    let answer = crate::patience::within(patience, move || limier_platform::resolve_dir(&owned));
    let unresolved = match answer {
        Some(Ok(path)) => {
            return Ok(TypedDir {
                path,
                unresolved: None,
            })
        }
        Some(Err(err)) => match err.kind() {
            std::io::ErrorKind::NotFound => {
                return Err(QueryError::NoSuchDirectory(dir.to_owned()))
            }
            std::io::ErrorKind::NotADirectory => {
                return Err(QueryError::NotADirectory(dir.to_owned()))
            }
            std::io::ErrorKind::PermissionDenied => {
                return Err(QueryError::Io {
                    path: dir.to_owned(),
                    source: err,
                })
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
        unresolved: Some(unresolved),
    })
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
        assert_eq!(typed.unresolved, None);
        assert_eq!(typed.path, std::fs::canonicalize(&dir).unwrap());
        assert!(matches!(
            resolve_typed_dir(&dir.join("file"), RESOLVE_PATIENCE),
            Err(QueryError::NotADirectory(_))
        ));
        assert!(matches!(
            resolve_typed_dir(&dir.join("missing"), RESOLVE_PATIENCE),
            Err(QueryError::NoSuchDirectory(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
