//! What ties a process to a session, and how much each kind counts.
//!
//! Evidence is identity only: a pid file (verified by its start token, or
//! the process descends from one), an `ECLUSE_SLUG` tag carried by a process
//! that also uses a path in the repo, and use of a session's worktree. The
//! port a process listens on is never evidence: it says which session
//! *should* own the port, not which session the process belongs to.

use super::sessions::SessionState;
use crate::snapshot::UseKind;
use limier_platform::ProcessId;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// How strongly a kind of evidence ties a process to a session, weakest
/// first (so `Ord` ranks them): worktree use < tag < pid file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rank {
    /// The process uses a path in the session's worktree (or a legacy pid
    /// file without token names it or an ancestor, corroborated by such use
    /// or a tag).
    WorktreeUse,
    /// `ECLUSE_SLUG=<slug>` in its environment, with a path in the repo.
    Tag,
    /// A pid file whose start token matches names it or an ancestor.
    PidFile,
}

impl fmt::Display for Rank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rank::WorktreeUse => "worktree use",
            Rank::Tag => "tag",
            Rank::PidFile => "pid file",
        })
    }
}

/// One piece of evidence that a process belongs to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvidenceKind {
    /// The process a pid file names (`verified: false` for a legacy file
    /// without a start token, used only when other evidence agrees).
    PidFile {
        /// The service the pid file is for.
        service: String,
        /// Whether its start token matched.
        verified: bool,
    },
    /// A descendant of a pid-file process.
    PidFileDescendant {
        /// The service whose pid file names the ancestor.
        service: String,
        /// The pid-file process the process descends from.
        ancestor: ProcessId,
        /// Whether the ancestor's pid file was verified by its start token.
        verified: bool,
    },
    /// `ECLUSE_SLUG=<slug>` in its environment, and a path inside the repo
    /// (slugs are unique per repo only).
    Tag,
    /// Its cwd, root, exe, an fd or a mapping is inside the session's
    /// worktree (by the path it had, if the worktree was removed).
    Worktree {
        #[serde(serialize_with = "limier_platform::records::serialize_path")]
        /// The path used.
        path: PathBuf,
        #[serde(rename = "use")]
        /// How it is used (cwd, fd, map, ...).
        use_kind: UseKind,
        /// The path was deleted (a removed worktree).
        deleted: bool,
    },
}

impl EvidenceKind {
    /// This kind's rank.
    pub fn rank(&self) -> Rank {
        match self {
            EvidenceKind::PidFile { verified: true, .. }
            | EvidenceKind::PidFileDescendant { verified: true, .. } => Rank::PidFile,
            EvidenceKind::Tag => Rank::Tag,
            EvidenceKind::PidFile {
                verified: false, ..
            }
            | EvidenceKind::PidFileDescendant {
                verified: false, ..
            }
            | EvidenceKind::Worktree { .. } => Rank::WorktreeUse,
        }
    }
}

/// A short phrase: `pid file of web`, `tagged ECLUSE_SLUG`, `cwd in its worktree`.
impl fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvidenceKind::PidFile {
                service,
                verified: true,
            } => write!(f, "pid file of {service}"),
            EvidenceKind::PidFile {
                service,
                verified: false,
            } => write!(f, "legacy pid file of {service}"),
            EvidenceKind::PidFileDescendant {
                service, ancestor, ..
            } => write!(f, "below {service}'s pid {ancestor}"),
            EvidenceKind::Tag => f.write_str("tagged ECLUSE_SLUG"),
            EvidenceKind::Worktree {
                use_kind, deleted, ..
            } => {
                let what = match use_kind {
                    UseKind::Cwd => "cwd",
                    UseKind::Root => "root",
                    UseKind::Exe => "exe",
                    UseKind::Fd(_) => "open file",
                    UseKind::Map => "mapped file",
                };
                let gone = if *deleted { " (deleted)" } else { "" };
                write!(f, "{what} in its worktree{gone}")
            }
        }
    }
}

/// Evidence tied to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The session the evidence names.
    pub session: String,
    /// The kind's rank.
    pub rank: Rank,
    #[serde(flatten)]
    /// What was seen.
    pub kind: EvidenceKind,
}

impl Evidence {
    /// Evidence of `kind` for `session`.
    pub fn new(session: &str, kind: EvidenceKind) -> Self {
        Evidence {
            session: session.to_owned(),
            rank: kind.rank(),
            kind,
        }
    }
}

/// Whose a process is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "owner", rename_all = "snake_case")]
pub enum Owner {
    /// No evidence names a session.
    Unattributed,
    /// All the evidence names one session.
    Session {
        /// The session's slug.
        slug: String,
        /// Whether state.json still lists the session; `Ended`: the
        /// process is a leftover of an ended session. In the JSON, `ended`
        /// (true or false).
        #[serde(rename = "ended", serialize_with = "serialize_ended")]
        state: SessionState,
        /// The strongest evidence's rank.
        rank: Rank,
        /// The evidence, strongest first.
        evidence: Vec<Evidence>,
    },
    /// Evidence names several sessions: reported, never resolved silently.
    Conflict {
        /// Every session named, in order.
        sessions: Vec<String>,
        /// The evidence for each, strongest first.
        evidence: Vec<Evidence>,
    },
}

/// A session's state as the JSON's `ended` flag.
fn serialize_ended<S: serde::Serializer>(state: &SessionState, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_bool(*state == SessionState::Ended)
}

impl Owner {
    /// The owning session's slug, when there is exactly one.
    pub fn slug(&self) -> Option<&str> {
        match self {
            Owner::Session { slug, .. } => Some(slug),
            _ => None,
        }
    }

    /// Whether the evidence names one session, which state.json no longer
    /// lists: the process is a leftover of an ended session.
    pub fn is_leftover(&self) -> bool {
        matches!(
            self,
            Owner::Session {
                state: SessionState::Ended,
                ..
            }
        )
    }

    /// Whether identity evidence names a session other than `slug` (alone
    /// or in a conflict).
    pub fn names_other_than(&self, slug: &str) -> bool {
        match self {
            Owner::Unattributed => false,
            Owner::Session { slug: owner, .. } => owner != slug,
            Owner::Conflict { sessions, .. } => sessions.iter().any(|s| s != slug),
        }
    }
}

/// `feat-a (tagged ECLUSE_SLUG, cwd in its worktree)`; `leftover of ended
/// session feat-a (...)`; `conflict: feat-a (...) / feat-b (...)`; `no
/// session`.
impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons = |f: &mut fmt::Formatter<'_>, evidence: &[Evidence], session: &str| {
            let words: Vec<String> = evidence
                .iter()
                .filter(|e| e.session == session)
                .map(|e| e.kind.to_string())
                .collect();
            write!(f, "({})", words.join(", "))
        };
        match self {
            Owner::Unattributed => f.write_str("no session"),
            Owner::Session {
                slug,
                state,
                evidence,
                ..
            } => {
                if *state == SessionState::Ended {
                    write!(f, "leftover of ended session {slug} ")?;
                } else {
                    write!(f, "session {slug} ")?;
                }
                reasons(f, evidence, slug)
            }
            Owner::Conflict { sessions, evidence } => {
                f.write_str("conflict: ")?;
                for (index, session) in sessions.iter().enumerate() {
                    if index > 0 {
                        f.write_str(" / ")?;
                    }
                    write!(f, "{session} ")?;
                    reasons(f, evidence, session)?;
                }
                Ok(())
            }
        }
    }
}
