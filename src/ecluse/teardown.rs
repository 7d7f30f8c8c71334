//! Turning a session, or a whole repo, into a sweep selection.

use super::{Attribution, EcluseError, Owner, PortMap, Repo};
use crate::query::{descendants, PortQuery, TypedDir};
use crate::snapshot::Snapshot;
use crate::sweep::{Selection, Selector};
use limier_platform::Port;
use serde::Serialize;

/// A selection plus what was deliberately left out.
#[derive(Debug, Clone, Serialize)]
pub struct TeardownPlan {
    #[serde(skip)]
    /// What to sweep, with what to spare.
    pub selection: Selection,
    /// One line per thing skipped (docker ports, bad pid files, conflicts).
    pub skipped: Vec<String>,
}

/// Everything attributed to `slug`, never a process attributed to another
/// session. Works for a slug ecluse already forgot (after `ecluse down`):
/// its worktree and `ECLUSE_SLUG` tag still find the escapees. Rounds after
/// the first re-check the worktree for respawns.
pub fn down_selection(
    snapshot: &Snapshot,
    attribution: &Attribution,
    slug: &str,
) -> Result<TeardownPlan, EcluseError> {
    let view = attribution
        .session(slug)
        .ok_or_else(|| EcluseError::NoSuchSession(slug.to_owned()))?;
    // The tag is matched through the attribution (scoped to this repo), not
    // as a global environment selector: another repo may run the same slug.
    let mut selection = Selection::new(vec![Selector::Dir(TypedDir::as_given(&view.worktree))]);
    let mut skipped = attribution.skipped.clone();
    for pid in attribution.pids() {
        let Some(process) = snapshot.process(pid) else {
            continue;
        };
        match attribution.owner(pid) {
            Owner::Session {
                slug: owner,
                evidence,
            } if owner == slug => {
                selection.selectors.push(Selector::Process {
                    identity: process.record.identity(),
                    reason: format!("session {slug}: {evidence}"),
                });
            }
            Owner::Session {
                slug: owner,
                evidence,
            } => {
                selection
                    .spare
                    .insert(pid, format!("belongs to session {owner} ({evidence})"));
            }
            Owner::Conflict { sessions, evidence } if sessions.iter().any(|s| s == slug) => {
                let why = format!("conflicting evidence: {}", evidence.join("; "));
                skipped.push(format!("pid {pid}: {why}"));
                selection.spare.insert(pid, why);
            }
            _ => {}
        }
    }
    spare_hosts(snapshot, attribution, Some(slug), &mut selection);
    Ok(TeardownPlan { selection, skipped })
}

/// Every session, every directory under worktree_dir, every tagged process
/// living (or having lived) there, and every listener on every native
/// service port of every slot. Docker ports are skipped and listed.
pub fn flush_selection(
    snapshot: &Snapshot,
    repo: &Repo,
    attribution: &Attribution,
) -> TeardownPlan {
    let worktrees = repo.worktree_root();
    let mut selection = Selection::new(vec![Selector::Dir(TypedDir::as_given(&worktrees))]);
    let mut skipped = attribution.skipped.clone();
    for pid in attribution.pids() {
        let Some(process) = snapshot.process(pid) else {
            continue;
        };
        let reason = match attribution.owner(pid) {
            Owner::Session { slug, evidence } => format!("session {slug}: {evidence}"),
            Owner::Conflict { sessions, .. } => format!("sessions {}", sessions.join(", ")),
            Owner::Unattributed => continue,
        };
        selection.selectors.push(Selector::Process {
            identity: process.record.identity(),
            reason,
        });
    }
    for process in snapshot.processes() {
        let Some(slug) = process.env_value(b"ECLUSE_SLUG") else {
            continue;
        };
        let lived_there = process
            .record
            .cwd
            .as_ref()
            .is_some_and(|cwd| cwd.starts_with(&worktrees));
        if lived_there {
            selection.selectors.push(Selector::Process {
                identity: process.record.identity(),
                reason: format!("tagged ECLUSE_SLUG={}", String::from_utf8_lossy(slug)),
            });
        }
    }
    let mut docker_ports = Vec::new();
    for assignment in PortMap::build(repo).all() {
        if assignment.docker {
            docker_ports.push(format!(
                "{} ({} slot {})",
                assignment.port, assignment.service, assignment.slot
            ));
            continue;
        }
        selection.selectors.push(Selector::Port(PortQuery {
            port: Port(assignment.port),
            protocol: None,
            states: crate::query::StateFilter::Listening,
        }));
    }
    selection.selectors.dedup();
    if !docker_ports.is_empty() {
        skipped.push(format!(
            "docker service ports left alone: {}",
            docker_ports.join(", ")
        ));
    }
    spare_hosts(snapshot, attribution, None, &mut selection);
    TeardownPlan { selection, skipped }
}

/// Spares tmux servers (ending tmux sessions is ecluse's job) and, for a
/// single-session teardown, any process hosting another session's processes.
fn spare_hosts(
    snapshot: &Snapshot,
    attribution: &Attribution,
    slug: Option<&str>,
    selection: &mut Selection,
) {
    for process in snapshot.processes() {
        let pid = process.pid();
        if process.record.comm.as_bytes().starts_with(b"tmux") {
            selection
                .spare
                .entry(pid)
                .or_insert_with(|| "tmux server: ending tmux sessions is ecluse's job".into());
            continue;
        }
        let Some(slug) = slug else { continue };
        let hosted: Vec<String> = descendants(snapshot, pid)
            .into_iter()
            .filter_map(|child| attribution.owner(child).slug().map(str::to_owned))
            .filter(|owner| owner != slug)
            .collect();
        if let Some(other) = hosted.first() {
            selection
                .spare
                .entry(pid)
                .or_insert_with(|| format!("hosts processes of session {other}"));
        }
    }
}
