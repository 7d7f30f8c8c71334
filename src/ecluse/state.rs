//! `.ecluse/state.json`, read under ecluse's shared lock.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The session list ecluse keeps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct State {
    pub version: u32,
    #[serde(default)]
    pub sessions: Vec<Session>,
}

/// One session of state.json; fields limier does not use are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Session {
    pub slug: String,
    pub slot: u8,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    pub worktree_path: PathBuf,
    #[serde(default)]
    pub started_at: Option<String>,
    /// "pending" or "stopped"; absent means active.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub port_overrides: BTreeMap<String, u16>,
    #[serde(default)]
    pub process_manager: Option<String>,
    #[serde(default)]
    pub tmux_session: Option<String>,
    #[serde(default)]
    pub pid_files: Vec<PathBuf>,
    #[serde(default)]
    pub log_dir: Option<PathBuf>,
    #[serde(default)]
    pub services_subset: Option<Vec<String>>,
}

impl Session {
    pub fn is_active(&self) -> bool {
        self.status.is_none()
    }

    /// Whether the session runs `service` (all services unless a subset was chosen).
    pub fn runs(&self, service: &str) -> bool {
        self.services_subset
            .as_ref()
            .is_none_or(|subset| subset.iter().any(|s| s == service))
    }
}

impl State {
    /// Parses state.json text; only version 1 is understood.
    pub fn parse(text: &str) -> Result<State, String> {
        let state: State = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if state.version != 1 {
            return Err(format!(
                "state version {} is not supported (limier reads version 1)",
                state.version
            ));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_ecluse_0_3_1_writes() {
        let text = r#"{
  "version": 1,
  "sessions": [
    {
      "slug": "feat-a", "mode": "host", "slot": 1, "branch": "feat-a",
      "worktree_path": "/tmp/erepo/.ecluse/worktrees/feat-a",
      "compose_project": null, "overlay_file": null, "app_port": 17301,
      "started_at": "2026-11-27T13:16:39.079432110+00:00",
      "port_overrides": { "web": 17301 },
      "process_manager": "tmux", "tmux_session": "ecluse-feat-a",
      "pid_files": ["/tmp/erepo/.ecluse/pids/feat-a/web.pid"]
    },
    { "slug": "old", "slot": 2, "worktree_path": "/w/old", "status": "stopped", "started_at": "x" }
  ]
}"#;
        let state = State::parse(text).unwrap();
        assert_eq!(state.sessions.len(), 2);
        assert_eq!(state.sessions[0].port_overrides["web"], 17301);
        assert!(state.sessions[0].is_active());
        assert!(!state.sessions[1].is_active());
        assert!(state.sessions[1].runs("anything"));
    }

    #[test]
    fn truncated_and_wrong_version_are_errors() {
        assert!(State::parse(r#"{"version":1,"sessions":[{"slug":"a""#).is_err());
        assert!(State::parse(r#"{"version":2,"sessions":[]}"#)
            .unwrap_err()
            .contains("version 2"));
        assert!(State::parse("").is_err());
        assert!(State::parse(
            r#"{"version":1,"sessions":[{"slug":"a","slot":300,"worktree_path":"/"}]}"#
        )
        .is_err());
    }
}
