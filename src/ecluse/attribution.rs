//! Which session each process belongs to, and on what evidence.

use super::{token_matches, Repo};
use crate::query::{descendants, holders, PortQuery};
use crate::snapshot::{is_at_or_below, Snapshot, UseKind};
use limier_platform::ProcessId;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A session as attribution sees it: from state.json, or named on the
/// command line after ecluse already forgot it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// The session's slug.
    pub slug: String,
    /// Its slot, when state.json lists it.
    pub slot: Option<u8>,
    #[serde(serialize_with = "limier_platform::records::serialize_path")]
    /// Its worktree (listed in state.json, or by convention).
    pub worktree: PathBuf,
    /// `(service, port)` the session's services listen on.
    pub ports: Vec<(String, u16)>,
    /// Whether state.json lists the session (false: ecluse forgot it).
    pub in_state: bool,
}

impl SessionView {
    fn from_state(repo: &Repo, session: &super::Session) -> SessionView {
        let stride = repo.config.stride();
        let mut ports = Vec::new();
        for service in &repo.config.services {
            if !session.runs(&service.name) {
                continue;
            }
            let base = session
                .port_overrides
                .get(&service.name)
                .copied()
                .or_else(|| service.port(session.slot, stride));
            ports.extend(base.map(|p| (service.name.clone(), p)));
            for port in service.extra_ports(session.slot, stride) {
                ports.push((service.name.clone(), port));
            }
        }
        SessionView {
            slug: session.slug.clone(),
            slot: Some(session.slot),
            worktree: session.worktree_path.clone(),
            ports,
            in_state: true,
        }
    }

    fn forgotten(repo: &Repo, slug: &str) -> SessionView {
        SessionView {
            slug: slug.to_owned(),
            slot: None,
            worktree: repo.worktree_for(slug),
            ports: Vec::new(),
            in_state: false,
        }
    }
}

/// One piece of evidence that a process belongs to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvidenceKind {
    /// The verified process of a pid file (`verified: false` for a legacy
    /// file without token, corroborated by other evidence).
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
        /// The verified pid-file process the process descends from.
        ancestor: ProcessId,
    },
    /// `ECLUSE_SLUG=<slug>` in its environment, and a path inside the repo
    /// (slugs are unique per repo only).
    EnvTag,
    /// Its cwd, root, exe, an fd or a mapping is inside the session's worktree.
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
    /// It listens on one of the session's ports.
    Port {
        /// The service the port belongs to.
        service: String,
        /// The port.
        port: u16,
    },
}

impl EvidenceKind {
    /// 1 (strongest) to 4.
    pub fn strength(&self) -> u8 {
        match self {
            EvidenceKind::PidFile { .. } | EvidenceKind::PidFileDescendant { .. } => 1,
            EvidenceKind::EnvTag => 2,
            EvidenceKind::Worktree { .. } => 3,
            EvidenceKind::Port { .. } => 4,
        }
    }

    /// A short phrase: `pid file of web`, `env ECLUSE_SLUG`, `cwd in worktree`.
    pub fn describe(&self) -> String {
        match self {
            EvidenceKind::PidFile {
                service,
                verified: true,
            } => format!("pid file of {service}"),
            EvidenceKind::PidFile {
                service,
                verified: false,
            } => {
                format!("legacy pid file of {service}")
            }
            EvidenceKind::PidFileDescendant { service, ancestor } => {
                format!("below {service}'s pid {ancestor}")
            }
            EvidenceKind::EnvTag => "tagged ECLUSE_SLUG".into(),
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
                format!("{what} in worktree{gone}")
            }
            EvidenceKind::Port { service, port } => format!("listens on {service}'s port {port}"),
        }
    }
}

/// Evidence tied to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The session the evidence names.
    pub session: String,
    #[serde(flatten)]
    /// What was seen.
    pub kind: EvidenceKind,
}

/// Whose a process is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "owner", rename_all = "snake_case")]
pub enum Owner {
    /// No evidence names a session.
    Unattributed,
    /// One session, on this evidence.
    Session {
        /// The session's slug.
        slug: String,
        /// The evidence, in words.
        evidence: String,
    },
    /// Evidence names several sessions: reported, never resolved silently.
    Conflict {
        /// Every session named.
        sessions: Vec<String>,
        /// The evidence for each, in words.
        evidence: Vec<String>,
    },
}

impl Owner {
    /// The owning session's slug, when there is exactly one.
    pub fn slug(&self) -> Option<&str> {
        match self {
            Owner::Session { slug, .. } => Some(slug),
            _ => None,
        }
    }
}

/// How a pid file checked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "pid_file", rename_all = "snake_case")]
pub enum PidFileCheck {
    /// The pid runs and its start time matches the token.
    Verified {
        /// The pid written.
        pid: ProcessId,
    },
    /// Legacy file (no token); used only when other evidence agrees.
    Legacy {
        /// The pid written.
        pid: ProcessId,
        /// Whether the process's tag or cwd agree with the session.
        corroborated: bool,
    },
    /// The pid runs but started at another time: recycled, never trusted.
    Recycled {
        /// The pid written.
        pid: ProcessId,
    },
    /// Nothing runs with that pid.
    Dead {
        /// The pid written.
        pid: ProcessId,
    },
    /// The file could not be parsed.
    Invalid {
        /// Why.
        reason: String,
    },
}

/// Evidence for every process of a snapshot against every session of a repo.
#[derive(Debug, Clone, Default)]
pub struct Attribution {
    /// Every session of the repo, listed or found by its traces.
    pub sessions: Vec<SessionView>,
    evidence: BTreeMap<ProcessId, Vec<Evidence>>,
    /// `(slug, service)` → what its pid file says.
    pub pid_files: BTreeMap<(String, String), PidFileCheck>,
    /// Things that could not be used, one line each (bad pid files, missing layers).
    pub skipped: Vec<String>,
}

impl Attribution {
    /// Attributes the snapshot's processes to the repo's sessions (from
    /// state.json) and to `extra_slugs` (sessions ecluse no longer lists,
    /// found by their conventional worktree and tag).
    pub fn build(snapshot: &Snapshot, repo: &Repo, extra_slugs: &[String]) -> Attribution {
        let mut attribution = Attribution::default();
        for session in &repo.state.sessions {
            attribution
                .sessions
                .push(SessionView::from_state(repo, session));
        }
        for slug in extra_slugs {
            if !attribution.sessions.iter().any(|s| &s.slug == slug) {
                attribution
                    .sessions
                    .push(SessionView::forgotten(repo, slug));
            }
        }
        if !snapshot.layers.environ {
            attribution
                .skipped
                .push("environment not read: ECLUSE_SLUG tags not checked".into());
        }
        let sessions = attribution.sessions.clone();
        // One pass over every captured path finds what lies in the repo;
        // worktrees inside it are filtered from that instead of re-scanned.
        let repo_uses = if snapshot.layers.file_fds() {
            snapshot.path_uses_below(&repo.root)
        } else {
            Vec::new()
        };
        let in_repo: BTreeSet<ProcessId> = repo_uses.iter().map(|u| u.pid).collect();
        let mut legacy = Vec::new();
        for view in &sessions {
            attribution.add_pid_files(snapshot, repo, view, &mut legacy);
            if snapshot.layers.environ {
                for process in snapshot.processes() {
                    if process.env_value(b"ECLUSE_SLUG") != Some(view.slug.as_bytes()) {
                        continue;
                    }
                    // Slugs are only unique within a repo: a tag counts when
                    // the process also has a path inside this repo.
                    if in_repo.contains(&process.pid()) {
                        attribution.add(process.pid(), &view.slug, EvidenceKind::EnvTag);
                    } else {
                        attribution.skipped.push(format!(
                            "pid {} is tagged ECLUSE_SLUG={} but uses nothing inside {}: it may be another repo's session; left alone",
                            process.pid(),
                            view.slug,
                            repo.root.display()
                        ));
                    }
                }
            }
            if snapshot.layers.file_fds() {
                let outside;
                let uses: Vec<&crate::snapshot::PathUse> = if view.worktree.starts_with(&repo.root)
                {
                    repo_uses
                        .iter()
                        .filter(|u| is_at_or_below(&u.path, &view.worktree))
                        .collect()
                } else {
                    outside = snapshot.path_uses_below(&crate::query::normalize(&view.worktree));
                    outside.iter().collect()
                };
                let mut first_use: BTreeMap<ProcessId, &crate::snapshot::PathUse> = BTreeMap::new();
                for path_use in uses {
                    first_use.entry(path_use.pid).or_insert(path_use);
                }
                for (pid, first) in first_use {
                    attribution.add(
                        pid,
                        &view.slug,
                        EvidenceKind::Worktree {
                            path: first.path.clone(),
                            use_kind: first.kind,
                            deleted: first.deleted,
                        },
                    );
                }
            }
            for (service, port) in &view.ports {
                let Ok(found) = holders(snapshot, PortQuery::new(*port)) else {
                    continue;
                };
                for holding in found {
                    for pid in holding.pids() {
                        attribution.add(
                            pid,
                            &view.slug,
                            EvidenceKind::Port {
                                service: service.clone(),
                                port: holding.socket.local_port.0,
                            },
                        );
                    }
                }
            }
        }
        // A legacy pid file is trusted only when the process is already tied
        // to the same session by its tag or its worktree.
        for (slug, service, pid) in legacy {
            let corroborated = attribution.evidence.get(&pid).is_some_and(|ev| {
                ev.iter()
                    .any(|e| e.session == slug && e.kind.strength() <= 3)
            });
            if corroborated {
                attribution.add_subtree(snapshot, pid, &slug, &service, false);
            } else {
                attribution.skipped.push(format!(
                    "{slug}/{service}.pid: legacy pid file (no start token) for pid {pid}, not corroborated: ignored"
                ));
            }
            attribution.pid_files.insert(
                (slug.clone(), service.clone()),
                PidFileCheck::Legacy { pid, corroborated },
            );
        }
        attribution
    }

    fn add_pid_files(
        &mut self,
        snapshot: &Snapshot,
        repo: &Repo,
        view: &SessionView,
        legacy: &mut Vec<(String, String, ProcessId)>,
    ) {
        for (service, path, parsed) in repo.pid_files(&view.slug) {
            let key = (view.slug.clone(), service.clone());
            let file = match parsed {
                Ok(file) => file,
                Err(reason) => {
                    self.skipped
                        .push(format!("{}: {reason}: ignored", path.display()));
                    self.pid_files.insert(key, PidFileCheck::Invalid { reason });
                    continue;
                }
            };
            let pid = ProcessId(file.pid);
            let Some(process) = snapshot.process(pid) else {
                self.pid_files.insert(key, PidFileCheck::Dead { pid });
                continue;
            };
            match &file.token {
                Some(token) if token_matches(token, process.record.started_at_ms) => {
                    self.add_subtree(snapshot, pid, &view.slug, &service, true);
                    self.pid_files.insert(key, PidFileCheck::Verified { pid });
                }
                Some(_) => {
                    self.skipped.push(format!(
                        "{}: pid {pid} was recycled (its start time does not match the token): ignored",
                        path.display()
                    ));
                    self.pid_files.insert(key, PidFileCheck::Recycled { pid });
                }
                None => legacy.push((view.slug.clone(), service, pid)),
            }
        }
    }

    fn add_subtree(
        &mut self,
        snapshot: &Snapshot,
        pid: ProcessId,
        slug: &str,
        service: &str,
        verified: bool,
    ) {
        self.add(
            pid,
            slug,
            EvidenceKind::PidFile {
                service: service.to_owned(),
                verified,
            },
        );
        for child in descendants(snapshot, pid) {
            self.add(
                child,
                slug,
                EvidenceKind::PidFileDescendant {
                    service: service.to_owned(),
                    ancestor: pid,
                },
            );
        }
    }

    fn add(&mut self, pid: ProcessId, slug: &str, kind: EvidenceKind) {
        let list = self.evidence.entry(pid).or_default();
        let evidence = Evidence {
            session: slug.to_owned(),
            kind,
        };
        if !list.contains(&evidence) {
            list.push(evidence);
        }
    }

    /// All evidence for `pid`, strongest first.
    pub fn evidence(&self, pid: ProcessId) -> Vec<&Evidence> {
        let mut list: Vec<&Evidence> = self.evidence.get(&pid).into_iter().flatten().collect();
        list.sort_by_key(|e| e.kind.strength());
        list
    }

    /// Every attributed pid.
    pub fn pids(&self) -> impl Iterator<Item = ProcessId> + '_ {
        self.evidence.keys().copied()
    }

    /// Whose `pid` is. Identity evidence (pid file, tag, worktree) naming
    /// two sessions is a conflict; port evidence counts only when there is
    /// no identity evidence (a port held by another session's process is
    /// that process's session's, and a wrong owner for the port's).
    pub fn owner(&self, pid: ProcessId) -> Owner {
        let evidence = self.evidence(pid);
        let identity: Vec<&&Evidence> =
            evidence.iter().filter(|e| e.kind.strength() <= 3).collect();
        let considered: Vec<&&Evidence> = if identity.is_empty() {
            evidence.iter().collect()
        } else {
            identity
        };
        let sessions: BTreeSet<&str> = considered.iter().map(|e| e.session.as_str()).collect();
        match sessions.len() {
            0 => Owner::Unattributed,
            1 => Owner::Session {
                slug: considered[0].session.clone(),
                evidence: considered[0].kind.describe(),
            },
            _ => Owner::Conflict {
                sessions: sessions.iter().map(|s| s.to_string()).collect(),
                evidence: considered
                    .iter()
                    .map(|e| format!("{}: {}", e.session, e.kind.describe()))
                    .collect(),
            },
        }
    }

    /// The session view for `slug`.
    pub fn session(&self, slug: &str) -> Option<&SessionView> {
        self.sessions.iter().find(|s| s.slug == slug)
    }
}
