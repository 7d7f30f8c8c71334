//! Processes carrying an environment tag.

use super::QueryError;
use crate::snapshot::Snapshot;
use limier_platform::ProcessId;

/// Processes whose environment (as of exec) holds `key=value`.
///
/// ecluse tags every service with `ECLUSE_SLUG`; the tag survives setsid and
/// reparenting, which is why it finds escapees a tree walk cannot.
pub fn with_env(snapshot: &Snapshot, key: &str, value: &str) -> Result<Vec<ProcessId>, QueryError> {
    if !snapshot.layers.environ {
        return Err(QueryError::LayerMissing(crate::snapshot::Layer::Environ));
    }
    Ok(snapshot
        .processes()
        .filter(|p| p.env_value(key.as_bytes()) == Some(value.as_bytes()))
        .map(|p| p.pid())
        .collect())
}
