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

    /// When the session was started, in milliseconds since the Unix epoch
    /// (`None` when `started_at` is absent or not RFC 3339).
    pub fn started_at_ms(&self) -> Option<u64> {
        rfc3339_ms(self.started_at.as_deref()?)
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
        if let Some(session) = state.sessions.iter().find(|s| !is_slug(&s.slug)) {
            return Err(format!(
                "session slug {:?} is not a single path component",
                session.slug
            ));
        }
        Ok(state)
    }
}

/// Whether `slug` can name a session: one plain path component (not empty,
/// not `.` or `..`, no `/` or NUL), at most 255 bytes. A slug is joined to
/// the worktree and pid directories: `../../usr` or `/usr` would name a
/// directory outside the repo.
pub fn is_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 255
        && slug != "."
        && slug != ".."
        && !slug.contains(['/', '\0'])
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as milliseconds since the
/// Unix epoch; `None` for anything else or a time before 1970.
pub(crate) fn rfc3339_ms(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let digits = bytes.get(from..from + len)?;
        digits.iter().all(u8::is_ascii_digit).then(|| {
            digits
                .iter()
                .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, c)| bytes.get(at) != Some(&c))
        || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut millis = 0;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return None;
        }
        let fraction = &text[start..at.min(start + 3)];
        millis = fraction.parse::<i64>().ok()? * 10i64.pow(3 - fraction.len() as u32);
    }
    let offset_minutes = match bytes.get(at)? {
        b'Z' | b'z' if at + 1 == bytes.len() => 0,
        sign @ (b'+' | b'-') if at + 6 == bytes.len() && bytes[at + 3] == b':' => {
            let minutes = number(at + 1, 2)? * 60 + number(at + 4, 2)?;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    u64::try_from(seconds * 1000 + millis).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_as_epoch_milliseconds() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_ms("2026-11-27T13:16:39.079432110+00:00"),
            Some(1_795_785_399_079)
        );
        assert_eq!(
            rfc3339_ms("2026-11-27T14:16:39.5+01:00"),
            Some(1_795_785_399_500)
        );
        assert_eq!(
            rfc3339_ms("2000-02-29T00:00:00-05:30"),
            Some(951_802_200_000)
        );
        for bad in [
            "x",
            "",
            "2026-11-27",
            "2026-13-01T00:00:00Z",
            "2026-11-27T13:16:39",
            "2026-11-27T13:16:39.Z",
            "2026-11-27T13:16:39+0000",
            "1969-12-31T23:59:59Z",
            "2026-11-27T13:16:39Zjunk",
            "２026-11-27T13:16:39Z",
        ] {
            assert_eq!(rfc3339_ms(bad), None, "{bad}");
        }
    }

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
    fn a_slug_is_one_plain_path_component() {
        for good in ["feat-a", "s1", "a.b", "..x", "x.."] {
            assert!(is_slug(good), "{good}");
        }
        for bad in ["", ".", "..", "/usr", "../../usr", "a/b", "a\0b"] {
            assert!(!is_slug(bad), "{bad:?}");
            let text = format!(
                r#"{{"version":1,"sessions":[{{"slug":{},"slot":1,"worktree_path":"/r/w"}}]}}"#,
                serde_json::to_string(bad).unwrap()
            );
            assert!(State::parse(&text).unwrap_err().contains("slug"), "{bad:?}");
        }
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
