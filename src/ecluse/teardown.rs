//! Turning a session, or a whole repo, into a sweep selection.

use super::{Attribution, EcluseError, Owner, PortMap, Repo, Trace};
use crate::query::{descendants, holders, PortQuery, TypedDir};
use crate::snapshot::Snapshot;
use crate::sweep::{Exclusion, Selection, Selector};
use limier_platform::{Port, ProcessId};
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

/// Everything whose evidence names `slug` alone, and whatever holds one
/// of its ports with no evidence of any session; never a process whose
/// evidence names another session (spared, with the reason), and a process
/// whose evidence names `slug` and another is a conflict, spared and
/// listed. Works for a session ecluse already ended: its worktree (present
/// or removed), pid files and `ECLUSE_SLUG` tag still find its leftovers.
/// Rounds after the first re-check the worktree for respawns.
pub fn down_selection(
    snapshot: &Snapshot,
    attribution: &Attribution,
    slug: &str,
) -> Result<TeardownPlan, EcluseError> {
    let view = attribution
        .session(slug)
        .filter(|view| view.traces.iter().any(|t| *t != Trace::Named))
        .ok_or_else(|| EcluseError::NoSuchSession(slug.to_owned()))?;
    // The tag is matched through the attribution (scoped to this repo), not
    // as a global environment selector: another repo may run the same slug.
    // A worktree_path outside the repo's worktrees is never swept (the
    // attribution already said why and took no evidence from it).
    let mut selection = Selection::new(Vec::new());
    if view.worktree_refused.is_none() {
        selection
            .selectors
            .push(Selector::Dir(TypedDir::as_given(&view.worktree)));
    }
    let mut skipped = attribution.skipped.clone();
    for pid in attribution.pids() {
        let Some(process) = snapshot.process(pid) else {
            continue;
        };
        let owner = attribution.owner(pid);
        match &owner {
            Owner::Session {
                slug: owner_slug, ..
            } if owner_slug == slug => {
                selection.selectors.push(Selector::Process {
                    identity: process.record.identity(),
                    reason: owner.to_string(),
                });
            }
            Owner::Session { .. } => {
                // "belongs to session feat-b (...)", "leftover of ended session feat-a (...)"
                selection.spare.insert(
                    pid,
                    Exclusion::OtherSession {
                        owner: owner.to_string(),
                        leftover: owner.is_leftover(),
                    },
                );
            }
            Owner::Conflict { sessions, .. } if sessions.iter().any(|s| s == slug) => {
                skipped.push(format!("pid {pid}: {owner}"));
                selection.spare.insert(
                    pid,
                    Exclusion::Conflict {
                        owner: owner.to_string(),
                    },
                );
            }
            _ => {}
        }
    }
    for (service, port) in &view.ports {
        for holding in holders(snapshot, PortQuery::new(*port))? {
            for pid in holding.pids() {
                let Some(process) = snapshot.process(pid) else {
                    continue;
                };
                if attribution.owner(pid) == Owner::Unattributed {
                    selection.selectors.push(Selector::Process {
                        identity: process.record.identity(),
                        reason: format!(
                            "holds {service}'s port {port}, no evidence of any session"
                        ),
                    });
                    // Its children with it (a dev server's workers), as a
                    // port sweep takes them; another session's stay spared.
                    for child in descendants(snapshot, pid) {
                        let Some(below) = snapshot.process(child) else {
                            continue;
                        };
                        if attribution.owner(child).slug().is_some_and(|s| s != slug) {
                            continue;
                        }
                        selection.selectors.push(Selector::Process {
                            identity: below.record.identity(),
                            reason: format!("below pid {pid}, which holds {service}'s port {port}"),
                        });
                    }
                }
            }
        }
    }
    spare_hosts(snapshot, attribution, Some(slug), &mut selection);
    spare_terminals(snapshot, attribution, Some(slug), &mut selection);
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
    let refused = repo.worktree_root_refused();
    let mut selection = Selection::new(Vec::new());
    let mut skipped = attribution.skipped.clone();
    match &refused {
        None => selection
            .selectors
            .push(Selector::Dir(TypedDir::as_given(&worktrees))),
        Some(why) => skipped.push(format!("{why}: not swept")),
    }
    for pid in attribution.pids() {
        let Some(process) = snapshot.process(pid) else {
            continue;
        };
        let owner = attribution.owner(pid);
        if owner == Owner::Unattributed {
            continue;
        }
        let reason = owner.to_string();
        selection.selectors.push(Selector::Process {
            identity: process.record.identity(),
            reason,
        });
    }
    // A tagged process whose cwd is in the worktrees: placed as every
    // directory question places it (the mount its cwd is on, deleted-ness
    // from the kernel), asked only when some process is tagged. The
    // worktrees' `Dir` selector is answered from the same placement (the
    // snapshot keeps it): one pass.
    let tagged: Vec<_> = snapshot
        .processes()
        .filter_map(|process| Some((process, process.env_value(b"ECLUSE_SLUG")?)))
        .collect();
    let cwds_there: std::collections::HashSet<ProcessId> = if tagged.is_empty() || refused.is_some()
    {
        Default::default()
    } else {
        crate::query::placed_uses(snapshot, &crate::query::normalize(&worktrees))
            .0
            .uses
            .iter()
            .filter(|u| u.kind == crate::snapshot::UseKind::Cwd)
            .map(|u| u.pid)
            .collect()
    };
    for (process, slug) in tagged {
        if cwds_there.contains(&process.pid()) {
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
    spare_terminals(snapshot, attribution, None, &mut selection);
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
        if crate::sweep::is_tmux_server(process.record.comm.as_bytes()) {
            selection.spare.entry(pid).or_insert(Exclusion::TmuxServer);
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
                .or_insert_with(|| Exclusion::HostsSession {
                    session: other.clone(),
                });
        }
    }
}

/// Spares what runs on a terminal and is tied to the session (to any
/// session, for a flush) by worktree use alone: a shell, an editor or a
/// command a user started by hand in another terminal is theirs, not the
/// session's — and so is what hosts such a terminal there with no terminal
/// of its own (a screen server, an editor's terminal host) when worktree
/// use alone ties it too. ecluse's services are tied by their pid files and
/// tag (a setsid child has no terminal), and the session's own tmux shell
/// window ends with its tmux session, ecluse's job. A process holding one
/// of the session's ports is not spared: the next session needs the port.
fn spare_terminals(
    snapshot: &Snapshot,
    attribution: &Attribution,
    slug: Option<&str>,
    selection: &mut Selection,
) {
    let worktree_use_only = |pid: ProcessId| -> Option<String> {
        match attribution.owner(pid) {
            Owner::Session {
                slug: owner,
                rank: super::Rank::WorktreeUse,
                ..
            } if slug.is_none_or(|slug| slug == owner) => Some(owner),
            _ => None,
        }
    };
    let port_holders: std::collections::HashSet<ProcessId> = attribution
        .sessions
        .iter()
        .filter(|view| slug.is_none_or(|slug| view.slug == slug))
        .flat_map(|view| view.ports.iter().map(|(_, port)| *port))
        .filter_map(|port| holders(snapshot, PortQuery::new(port)).ok())
        .flatten()
        .flat_map(|holding| holding.pids())
        .collect();
    for process in snapshot.processes() {
        let Some(tty) = process.record.tty else {
            continue;
        };
        let pid = process.pid();
        if port_holders.contains(&pid) {
            continue;
        }
        let Some(owner) = worktree_use_only(pid) else {
            continue;
        };
        let terminal = limier_platform::tty_name(tty);
        selection
            .spare
            .entry(pid)
            .or_insert_with(|| Exclusion::UserTerminal {
                terminal: terminal.clone(),
                session: owner.clone(),
            });
        for host in snapshot.ancestors(pid) {
            let Some(record) = snapshot.process(host).map(|p| &p.record) else {
                break;
            };
            if record.tty.is_some() || port_holders.contains(&host) {
                continue;
            }
            if worktree_use_only(host).is_none() {
                continue;
            }
            selection
                .spare
                .entry(host)
                .or_insert_with(|| Exclusion::TerminalHost {
                    terminal: terminal.clone(),
                    pid,
                    session: owner.clone(),
                });
        }
    }
}

/// What a teardown did: the plan (with what it skipped) and the sweep's
/// report.
#[derive(Debug)]
pub struct Teardown {
    /// What was selected and deliberately left out.
    pub plan: TeardownPlan,
    /// What became of each process.
    pub report: crate::sweep::SweepReport,
}

/// Narrows a [`down_selection`] for a `down` that keeps the worktree:
/// the worktree is not swept as a directory, and a process tied to the
/// session by worktree use alone — a terminal or an editor left there — or
/// holding one of its ports with no evidence of any session is spared, said
/// why. What a pid file or the session's tag names is still selected
/// (setsid children inherit the tag).
pub fn keeping_worktree(mut plan: TeardownPlan, attribution: &Attribution) -> TeardownPlan {
    let mut kept = Vec::new();
    for selector in std::mem::take(&mut plan.selection.selectors) {
        let why = match &selector {
            Selector::Dir(_) => continue,
            Selector::Process { identity, .. } => match attribution.owner(identity.pid) {
                Owner::Session {
                    rank: super::Rank::WorktreeUse,
                    ..
                } => Some(Exclusion::KeptWorktree),
                Owner::Unattributed => Some(Exclusion::UnattributedPortHolder),
                _ => None,
            },
            _ => None,
        };
        match (why, &selector) {
            (Some(why), Selector::Process { identity, .. }) => {
                plan.selection.spare.insert(identity.pid, why);
            }
            _ => kept.push(selector),
        }
    }
    plan.selection.selectors = kept;
    plan
}

/// `ecluse down SLUG`'s process work: one pinned snapshot
/// ([`Repo::teardown_capture_options`]), [`down_selection`] (narrowed by
/// [`keeping_worktree`] when the worktree stays: then without the mapping
/// layer, whose evidence it would spare), one sweep (freeze, the
/// first signal each target needs, one grace, SIGKILL, verify). A session
/// with no trace left ends nothing.
pub fn end_session(
    backend: &limier_platform::Backend,
    repo: &Repo,
    slug: &str,
    keep_worktree: bool,
    options: &crate::sweep::SweepOptions,
) -> Result<Teardown, crate::Error> {
    let mut capture_options = repo.teardown_capture_options();
    if keep_worktree {
        // Mapped files are the costliest layer (most of a capture under a
        // dev-server load), and no directory is swept. They are read only
        // for processes with no cwd, root, exe or fd in a worktree, and for
        // those they add worktree use, which a kept worktree spares; the
        // rare process whose mapping alone corroborated a legacy pid file
        // is left alive (a tokenless pid file alone selects nothing), and
        // one whose mapping alone put it in another session's worktree is
        // judged by its pid file or tag.
        capture_options.layers.maps = false;
    }
    let snapshot = crate::snapshot::capture(backend, capture_options)?;
    let attribution = Attribution::build(&snapshot, repo, &[slug.to_owned()]);
    let plan = match down_selection(&snapshot, &attribution, slug) {
        Ok(plan) => plan,
        Err(EcluseError::NoSuchSession(_)) => TeardownPlan {
            selection: Selection::new(Vec::new()),
            skipped: Vec::new(),
        },
        Err(err) => return Err(err.into()),
    };
    let plan = if keep_worktree {
        keeping_worktree(plan, &attribution)
    } else {
        plan
    };
    run(backend, &snapshot, plan, options)
}

/// `ecluse flush`'s process work: one pinned snapshot, [`flush_selection`],
/// one sweep.
pub fn end_all(
    backend: &limier_platform::Backend,
    repo: &Repo,
    options: &crate::sweep::SweepOptions,
) -> Result<Teardown, crate::Error> {
    let snapshot = crate::snapshot::capture(backend, repo.teardown_capture_options())?;
    let attribution = Attribution::build(&snapshot, repo, &[]);
    let plan = flush_selection(&snapshot, repo, &attribution);
    run(backend, &snapshot, plan, options)
}

fn run(
    backend: &limier_platform::Backend,
    snapshot: &Snapshot,
    plan: TeardownPlan,
    options: &crate::sweep::SweepOptions,
) -> Result<Teardown, crate::Error> {
    let report = if plan.selection.selectors.is_empty() {
        crate::sweep::SweepReport::nothing(options)
    } else {
        crate::sweep::sweep_from(backend, Some(snapshot), &plan.selection, options)?
    };
    Ok(Teardown { plan, report })
}
