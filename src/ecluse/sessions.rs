//! Every session of a repo that left a trace: the ones state.json lists,
//! and the ended ones ecluse forgot but whose worktree, pid files or tagged
//! processes remain.

use super::{Repo, WorktreeRules};
use crate::snapshot::PathUse;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

/// Whether ecluse still lists a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Listed in state.json.
    Active,
    /// Not in state.json: `ecluse down` ended it (or it was never listed),
    /// but something of it remains.
    Ended,
}

/// How a session was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trace {
    /// state.json lists it.
    StateFile,
    /// A directory of its name under `worktree_dir`.
    WorktreeDir,
    /// A process uses a path under `worktree_dir/<slug>` that was deleted
    /// (the worktree was removed).
    DeletedWorktree,
    /// A directory of its name under `.ecluse/pids`.
    PidFiles,
    /// A process using a path in the repo carries `ECLUSE_SLUG=<slug>`.
    Tag,
    /// Named on the command line (`limier ecluse down SLUG`).
    Named,
}

/// A session as attribution sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// The session's slug.
    pub slug: String,
    /// Active (in state.json) or ended.
    pub state: SessionState,
    /// How it was found.
    pub traces: Vec<Trace>,
    /// Its slot, when state.json lists it.
    pub slot: Option<u8>,
    #[serde(serialize_with = "limier_platform::records::serialize_path")]
    /// Its worktree (listed in state.json, or by convention).
    pub worktree: PathBuf,
    /// `(service, port)` the session's native services listen on (active
    /// sessions; docker ports are not limier's to judge).
    pub ports: Vec<(String, u16)>,
    /// When state.json says the session was started (epoch ms): a pid
    /// file's process started before it is not plausibly the session's.
    pub started_at_ms: Option<u64>,
    /// `Err` when the worktree may not be swept or taken as evidence: a
    /// `worktree_path` outside the repo's worktree_dir that is not one of
    /// its git worktrees (`/usr`, another user's home), said why.
    #[serde(skip)]
    pub worktree_refused: Option<String>,
}

impl SessionView {
    fn from_state(repo: &Repo, session: &super::Session, rules: &WorktreeRules) -> SessionView {
        let stride = repo.config.stride();
        let mut ports = Vec::new();
        for service in &repo.config.services {
            if !session.runs(&service.name) || service.run == super::Run::Docker {
                continue;
            }
            let base = repo.service_port(session, service);
            ports.extend(base.map(|p| (service.name.clone(), p)));
            for port in service.extra_ports(session.slot, stride) {
                ports.push((service.name.clone(), port));
            }
        }
        SessionView {
            slug: session.slug.clone(),
            state: SessionState::Active,
            traces: vec![Trace::StateFile],
            slot: Some(session.slot),
            worktree: session.worktree_path.clone(),
            ports,
            started_at_ms: session.started_at_ms(),
            worktree_refused: rules.check(&session.worktree_path).err(),
        }
    }

    fn ended(repo: &Repo, slug: &str, trace: Trace, rules: &WorktreeRules) -> SessionView {
        SessionView {
            slug: slug.to_owned(),
            state: SessionState::Ended,
            traces: vec![trace],
            slot: None,
            worktree: repo.worktree_for(slug),
            ports: Vec::new(),
            started_at_ms: None,
            worktree_refused: rules.root_refused.clone(),
        }
    }

    /// Whether the session ended (ecluse no longer lists it).
    pub fn is_ended(&self) -> bool {
        self.state == SessionState::Ended
    }
}

/// The sessions of `repo` that left a trace, active ones first (in
/// state.json's order), then ended ones by slug; `named` slugs are added
/// (ended, traced as named) when nothing else found them.
///
/// `repo_uses` are the snapshot's path uses inside the repo, and `tags`
/// the `ECLUSE_SLUG` values of processes among them.
pub(super) fn discover(
    repo: &Repo,
    repo_uses: &[PathUse],
    tags: &[String],
    named: &[String],
) -> Vec<SessionView> {
    let rules = repo.worktree_rules();
    let mut sessions: Vec<SessionView> = repo
        .state
        .sessions
        .iter()
        .map(|session| SessionView::from_state(repo, session, &rules))
        .collect();
    let mut ended: BTreeMap<String, SessionView> = BTreeMap::new();
    let mut active_at: HashMap<String, usize> = HashMap::new();
    for (at, session) in sessions.iter().enumerate() {
        active_at.entry(session.slug.clone()).or_insert(at);
    }
    let mut note = |slug: &str, trace: Trace| {
        if !super::is_slug(slug) {
            return;
        }
        if let Some(active) = active_at.get(slug).map(|&at| &mut sessions[at]) {
            if !active.traces.contains(&trace) {
                active.traces.push(trace);
            }
            return;
        }
        let view = ended
            .entry(slug.to_owned())
            .or_insert_with(|| SessionView::ended(repo, slug, trace, &rules));
        if !view.traces.contains(&trace) {
            view.traces.push(trace);
        }
    };
    for slug in repo.worktree_slugs() {
        note(&slug, Trace::WorktreeDir);
    }
    for path_use in repo_uses.iter().filter(|u| u.deleted) {
        if let Some(slug) = slug_below(&rules.root, &path_use.path) {
            note(&slug, Trace::DeletedWorktree);
        }
    }
    for slug in repo.pid_slugs() {
        note(&slug, Trace::PidFiles);
    }
    for slug in tags {
        note(slug, Trace::Tag);
    }
    for slug in named {
        note(slug, Trace::Named);
    }
    for view in sessions.iter_mut().chain(ended.values_mut()) {
        view.traces.sort();
    }
    sessions.extend(ended.into_values());
    sessions
}

/// The first component of `path` below `root` (`root/feat-a/src` →
/// `feat-a`), when `path` lies below `root`.
fn slug_below(root: &Path, path: &Path) -> Option<String> {
    match path.strip_prefix(root).ok()?.components().next()? {
        Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slug_is_the_first_component_below_the_worktree_root() {
        let root = Path::new("/r/.ecluse/worktrees");
        assert_eq!(
            slug_below(root, Path::new("/r/.ecluse/worktrees/feat-a/src/x")),
            Some("feat-a".into())
        );
        assert_eq!(
            slug_below(root, Path::new("/r/.ecluse/worktrees/feat-b")),
            Some("feat-b".into())
        );
        assert_eq!(slug_below(root, Path::new("/r/.ecluse/worktrees")), None);
        assert_eq!(slug_below(root, Path::new("/r/src")), None);
    }
}
