//! `.ecluse/state.json`, read under ecluse's shared lock.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The session list ecluse keeps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct State {
    /// The file format's version.
    pub version: u32,
    #[serde(default)]
    /// Every session ecluse knows.
    pub sessions: Vec<Session>,
}

/// One session of state.json; fields limier does not use are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Session {
    /// The session's slug.
    pub slug: String,
    /// Its slot.
    pub slot: u8,
    #[serde(default)]
    /// host, hybrid or container.
    pub mode: Option<String>,
    #[serde(default)]
    /// The git branch of its worktree.
    pub branch: Option<String>,
    /// Its worktree.
    pub worktree_path: PathBuf,
    #[serde(default)]
    /// When it was started (RFC 3339).
    pub started_at: Option<String>,
    /// "pending" or "stopped"; absent means active.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    /// Ports moved off their nominal value, by service.
    pub port_overrides: BTreeMap<String, u16>,
    #[serde(default)]
    /// tmux, nohup or none.
    pub process_manager: Option<String>,
    #[serde(default)]
    /// Its tmux session, under tmux.
    pub tmux_session: Option<String>,
    #[serde(default)]
    /// Its pid files.
    pub pid_files: Vec<PathBuf>,
    #[serde(default)]
    /// Where its services log.
    pub log_dir: Option<PathBuf>,
    #[serde(default)]
    /// The services started, when not all.
    pub services_subset: Option<Vec<String>>,
}

impl Session {
    /// Whether ecluse marked no transitional status on the session (it is
    /// neither being set up nor torn down).
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
