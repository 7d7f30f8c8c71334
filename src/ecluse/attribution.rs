//! Which session each process belongs to, and on what evidence.
//!
//! Sessions are every session that left a trace ([`SessionView`]), active
//! or ended. For each process the evidence ([`Evidence`]) is collected per
//! kind — pid files, tags, worktree use — and the owner decided once, in
//! [`Attribution::owner`]: one session named → that session; two → a
//! conflict, shown and never resolved silently; none → unattributed. A port
//! is never evidence.

use super::evidence::{Evidence, EvidenceKind, Owner};
use super::sessions::{discover, SessionState, SessionView};
use super::{token_matches, Repo};
use crate::snapshot::{is_at_or_below, PathUse, Snapshot};
use crate::sweep::protection;
use limier_platform::ProcessId;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

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
        /// Whether the process's tag or worktree use agree with the session.
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
    /// The pid names a process no evidence may reach (init, a kernel
    /// thread, limier or one of its ancestors, another user's process):
    /// it selects nothing, not even below it.
    Protected {
        /// The pid written.
        pid: ProcessId,
        /// What the process is.
        why: crate::sweep::Protection,
    },
    /// The token matches, but the process started before the session and
    /// carries neither its tag nor its worktree: a note, never a kill.
    Implausible {
        /// The pid written.
        pid: ProcessId,
    },
    /// The file could not be parsed.
    Invalid {
        /// Why.
        reason: String,
    },
}

/// How much earlier than the session's `started_at` a process may seem to
/// start and still be plausibly its own: the two clocks round differently.
const START_SLACK_MS: u64 = 2_000;

/// A session's pid file for one service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PidFileKey {
    /// The session's slug.
    pub slug: String,
    /// The service.
    pub service: String,
}

impl PidFileKey {
    /// The key of `slug`'s pid file for `service`.
    pub fn new(slug: &str, service: &str) -> Self {
        PidFileKey {
            slug: slug.to_owned(),
            service: service.to_owned(),
        }
    }
}

/// Evidence for every process of a snapshot against every session of a repo.
#[derive(Debug, Clone, Default)]
pub struct Attribution {
    /// Every session of the repo that left a trace, active ones first.
    pub sessions: Vec<SessionView>,
    evidence: BTreeMap<ProcessId, Vec<Evidence>>,
    /// What each session's pid file for each service says.
    pub pid_files: BTreeMap<PidFileKey, PidFileCheck>,
    /// Things that could not be used, one line each (bad pid files, missing
    /// layers, another repo's tags).
    pub skipped: Vec<String>,
    /// Where each slug's view is in `sessions`.
    session_index: HashMap<String, usize>,
}

impl Attribution {
    /// Attributes the snapshot's processes to the repo's sessions: those in
    /// state.json, those that ended but left a worktree, pid files or tagged
    /// processes, and `named` slugs (asked for on the command line).
    pub fn build(snapshot: &Snapshot, repo: &Repo, named: &[String]) -> Attribution {
        let mut attribution = Attribution::default();
        if !snapshot.layers.environ {
            attribution
                .skipped
                .push("environment not read: ECLUSE_SLUG tags not checked".into());
        }
        // One pass over every captured path finds what lies in the repo;
        // worktrees inside it are filtered from that instead of re-scanned.
        let repo_root = crate::query::normalize(&repo.root);
        let repo_uses = if snapshot.layers.file_fds() {
            crate::query::placed_uses(snapshot, &repo_root).0.uses
        } else {
            attribution
                .skipped
                .push("open files not read: worktree use not checked".into());
            Vec::new()
        };
        let in_repo: BTreeSet<ProcessId> = repo_uses.iter().map(|u| u.pid).collect();
        let (tags, elsewhere) = tags(snapshot, &in_repo);
        let tag_slugs: BTreeSet<String> = tags.values().cloned().collect();
        let tag_slugs: Vec<String> = tag_slugs.into_iter().collect();
        attribution.sessions = discover(repo, &repo_uses, &tag_slugs, named);
        attribution.index_sessions();
        for (pid, slug) in elsewhere {
            if attribution.session(&slug).is_some() {
                attribution.skipped.push(format!(
                    "pid {pid} is tagged ECLUSE_SLUG={slug} but uses nothing inside {}: it may be another repo's session; left alone",
                    repo.root.display()
                ));
            }
        }

        for (pid, slug) in &tags {
            attribution.add(*pid, Evidence::new(slug, EvidenceKind::Tag));
        }
        let sessions = attribution.sessions.clone();
        for view in &sessions {
            attribution.add_worktree_uses(snapshot, view, &repo_root, &repo_uses);
        }
        let protected = crate::sweep::protected_pids(snapshot);
        // The pid files state.json lists, by slug: looked up once.
        let mut listed: HashMap<&str, Vec<&PathBuf>> = HashMap::new();
        for session in &repo.state.sessions {
            listed
                .entry(session.slug.as_str())
                .or_default()
                .extend(session.pid_files.iter());
        }
        let mut legacy = Vec::new();
        for view in &sessions {
            let listed = listed
                .get(view.slug.as_str())
                .map_or(&[][..], Vec::as_slice);
            attribution.add_pid_files(snapshot, repo, view, listed, &protected, &mut legacy);
        }
        // A legacy pid file is trusted only when the process is already tied
        // to the same session by its tag or its worktree.
        for (key, pid) in legacy {
            let corroborated = attribution.corroborates(pid, &key.slug);
            if corroborated {
                attribution.add_subtree(snapshot, pid, &key, false, &protected);
            } else {
                attribution.skipped.push(format!(
                    "{}/{}.pid: legacy pid file (no start token) for pid {pid}, not corroborated: ignored",
                    key.slug, key.service
                ));
            }
            attribution
                .pid_files
                .insert(key, PidFileCheck::Legacy { pid, corroborated });
        }
        attribution
    }

    /// Worktree use: every process with a path (live or deleted) in the
    /// session's worktree, by its first use.
    fn add_worktree_uses(
        &mut self,
        snapshot: &Snapshot,
        view: &SessionView,
        repo_root: &std::path::Path,
        repo_uses: &[PathUse],
    ) {
        if !snapshot.layers.file_fds() {
            return;
        }
        if let Some(why) = &view.worktree_refused {
            self.skipped.push(format!(
                "session {}: worktree_path {why}: its users are not taken as the session's",
                view.slug
            ));
            return;
        }
        let worktree = crate::query::normalize(&view.worktree);
        let outside;
        let uses: Vec<&PathUse> = if is_at_or_below(&worktree, repo_root) {
            repo_uses
                .iter()
                .filter(|u| is_at_or_below(u.as_asked(), &worktree))
                .collect()
        } else {
            outside = crate::query::placed_uses(snapshot, &worktree).0.uses;
            outside.iter().collect()
        };
        let mut first_use: BTreeMap<ProcessId, &PathUse> = BTreeMap::new();
        for path_use in uses {
            first_use.entry(path_use.pid).or_insert(path_use);
        }
        for (pid, first) in first_use {
            self.add(
                pid,
                Evidence::new(
                    &view.slug,
                    EvidenceKind::Worktree {
                        path: first.path.clone(),
                        use_kind: first.kind,
                        deleted: first.deleted,
                    },
                ),
            );
        }
    }

    fn add_pid_files(
        &mut self,
        snapshot: &Snapshot,
        repo: &Repo,
        view: &SessionView,
        listed: &[&PathBuf],
        protected: &BTreeMap<ProcessId, crate::sweep::Protection>,
        legacy: &mut Vec<(PidFileKey, ProcessId)>,
    ) {
        for (service, path, parsed) in repo.pid_files_listed(&view.slug, listed.iter().copied()) {
            let key = PidFileKey::new(&view.slug, &service);
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
            if let Some(why) = protection(snapshot, protected, pid) {
                self.skipped.push(format!(
                    "{}: pid {pid} is {why}: a pid file selects nothing there, nor below it",
                    path.display()
                ));
                self.pid_files
                    .insert(key, PidFileCheck::Protected { pid, why });
                continue;
            }
            match &file.token {
                Some(token) if token_matches(token, process.record.started_at_ms) => {
                    let started_after = view.started_at_ms.is_some_and(|session| {
                        process.record.started_at_ms + START_SLACK_MS >= session
                    });
                    if started_after || self.corroborates(pid, &view.slug) {
                        self.add_subtree(snapshot, pid, &key, true, protected);
                        self.pid_files.insert(key, PidFileCheck::Verified { pid });
                    } else {
                        self.skipped.push(format!(
                            "{}: pid {pid} started before session {} and carries neither its tag nor its worktree: not taken as the session's",
                            path.display(),
                            view.slug
                        ));
                        self.pid_files
                            .insert(key, PidFileCheck::Implausible { pid });
                    }
                }
                Some(_) => {
                    self.skipped.push(format!(
                        "{}: pid {pid} was recycled (its start time does not match the token): ignored",
                        path.display()
                    ));
                    self.pid_files.insert(key, PidFileCheck::Recycled { pid });
                }
                None => legacy.push((key, pid)),
            }
        }
    }

    /// Whether `pid` is tied to `slug` already by its tag or its worktree.
    fn corroborates(&self, pid: ProcessId, slug: &str) -> bool {
        self.evidence
            .get(&pid)
            .is_some_and(|list| list.iter().any(|e| e.session == slug))
    }

    /// Evidence from a pid file for `pid` and its descendants — but not
    /// through a protected process (limier's own shell below a service, a
    /// kernel thread), whose subtree the pid file proves nothing about.
    fn add_subtree(
        &mut self,
        snapshot: &Snapshot,
        pid: ProcessId,
        key: &PidFileKey,
        verified: bool,
        protected: &BTreeMap<ProcessId, crate::sweep::Protection>,
    ) {
        self.add(
            pid,
            Evidence::new(
                &key.slug,
                EvidenceKind::PidFile {
                    service: key.service.clone(),
                    verified,
                },
            ),
        );
        let mut stack: Vec<ProcessId> = snapshot.children(pid).to_vec();
        let mut seen = BTreeSet::from([pid]);
        while let Some(child) = stack.pop() {
            if !seen.insert(child) || protection(snapshot, protected, child).is_some() {
                continue;
            }
            self.add(
                child,
                Evidence::new(
                    &key.slug,
                    EvidenceKind::PidFileDescendant {
                        service: key.service.clone(),
                        ancestor: pid,
                        verified,
                    },
                ),
            );
            stack.extend_from_slice(snapshot.children(child));
        }
    }

    fn add(&mut self, pid: ProcessId, evidence: Evidence) {
        let list = self.evidence.entry(pid).or_default();
        if !list.contains(&evidence) {
            list.push(evidence);
        }
    }

    /// All evidence for `pid`, strongest first (then by session).
    pub fn evidence(&self, pid: ProcessId) -> Vec<&Evidence> {
        let mut list: Vec<&Evidence> = self.evidence.get(&pid).into_iter().flatten().collect();
        list.sort_by(|a, b| b.rank.cmp(&a.rank).then_with(|| a.session.cmp(&b.session)));
        list
    }

    /// Every pid some evidence names.
    pub fn pids(&self) -> impl Iterator<Item = ProcessId> + '_ {
        self.evidence.keys().copied()
    }

    /// Whose `pid` is: the one session its evidence names, a conflict when
    /// it names several (whatever their ranks: a pid file of one session
    /// and a cwd in another's worktree is a question for a human), or
    /// nobody.
    pub fn owner(&self, pid: ProcessId) -> Owner {
        let evidence: Vec<Evidence> = self.evidence(pid).into_iter().cloned().collect();
        let mut sessions: Vec<String> = Vec::new();
        for e in &evidence {
            if !sessions.contains(&e.session) {
                sessions.push(e.session.clone());
            }
        }
        match sessions.len() {
            0 => Owner::Unattributed,
            1 => Owner::Session {
                state: self
                    .session(&sessions[0])
                    .map_or(SessionState::Ended, |view| view.state),
                slug: sessions.remove(0),
                rank: evidence[0].rank,
                evidence,
            },
            _ => Owner::Conflict { sessions, evidence },
        }
    }

    /// The session view for `slug`.
    pub fn session(&self, slug: &str) -> Option<&SessionView> {
        // The index is checked, not trusted: `sessions` is public.
        match self.session_index.get(slug) {
            Some(&at) if self.sessions.get(at).is_some_and(|s| s.slug == slug) => {
                self.sessions.get(at)
            }
            _ => self.sessions.iter().find(|s| s.slug == slug),
        }
    }

    /// Indexes `sessions` by slug (the first of each).
    fn index_sessions(&mut self) {
        self.session_index.clear();
        for (at, view) in self.sessions.iter().enumerate() {
            self.session_index.entry(view.slug.clone()).or_insert(at);
        }
    }
}

/// The `ECLUSE_SLUG` of every tagged process that uses a path in the repo
/// (slugs are unique per repo only), and apart those of tagged processes
/// that do not.
fn tags(
    snapshot: &Snapshot,
    in_repo: &BTreeSet<ProcessId>,
) -> (BTreeMap<ProcessId, String>, Vec<(ProcessId, String)>) {
    let mut tags = BTreeMap::new();
    let mut elsewhere = Vec::new();
    if !snapshot.layers.environ {
        return (tags, elsewhere);
    }
    for process in snapshot.processes() {
        let Some(value) = process.env_value(b"ECLUSE_SLUG") else {
            continue;
        };
        let slug = String::from_utf8_lossy(value).into_owned();
        if !super::is_slug(&slug) {
            // `ECLUSE_SLUG=../../usr` names no session: its worktree would
            // lie outside the repo.
            continue;
        }
        if in_repo.contains(&process.pid()) {
            tags.insert(process.pid(), slug);
        } else {
            elsewhere.push((process.pid(), slug));
        }
    }
    (tags, elsewhere)
}
