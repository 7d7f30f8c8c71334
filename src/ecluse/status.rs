//! `limier ecluse status`: is each service up, down, or held by someone else?

use super::attribution::{PidFileCheck, PidFileKey};
use super::{Attribution, EcluseError, Owner, Repo, Run};
use crate::query::{descendants, holders, PortQuery};
use crate::snapshot::Snapshot;
use limier_platform::ProcessId;
use serde::Serialize;

/// The verdict on one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Healthy: the service or its descendant listens.
    Up,
    /// Nothing listens.
    Down,
    /// The port is held by a process that is neither the stored pid nor its
    /// descendant, nor tied to the session by identity evidence.
    WrongOwner,
    /// Docker services: who holds the port is reported, nothing is judged.
    NotJudged,
}

/// One service of one session. The first fields keep ecluse's JSON names.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    /// The service's name.
    pub name: String,
    #[serde(rename = "type")]
    /// `native` or `docker`.
    pub kind: Run,
    /// Its port in this session.
    pub port: Option<u16>,
    /// `null` for docker services (not judged).
    pub healthy: Option<bool>,
    /// Whether ecluse starts it (it has a command).
    pub managed: bool,
    /// The pid file's pid (whatever its check said).
    pub pid: Option<ProcessId>,
    /// Its tmux window, under tmux.
    pub tmux_window: Option<String>,
    /// The listener, when one can be named.
    pub listener_pid: Option<ProcessId>,
    /// A listener that is not the service nor its descendant.
    pub wrong_owner: bool,
    /// Whose the listener is (session, active or ended, conflict or
    /// unattributed), with the evidence: for a wrong owner, the session its
    /// identity names.
    pub listener_session: Option<Owner>,
    /// The verdict.
    pub verdict: Verdict,
    /// Every process with a TCP listener on the port.
    pub listener_pids: Vec<ProcessId>,
    /// What the pid file says, when there is one.
    pub pid_file: Option<PidFileCheck>,
}

/// One session. Keeps ecluse's `slug`, `slot`, `all_healthy`, `tmux_session`, `services`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionStatus {
    /// The session's slug.
    pub slug: String,
    /// Its slot.
    pub slot: u8,
    /// Whether every managed service is up.
    pub all_healthy: bool,
    /// Its tmux session, under tmux.
    pub tmux_session: Option<String>,
    /// "active", "pending" or "stopped".
    pub status: String,
    /// Every service of the session.
    pub services: Vec<ServiceStatus>,
}

/// Checks every service of every session (or of `slug` alone).
pub fn status(
    snapshot: &Snapshot,
    repo: &Repo,
    attribution: &Attribution,
    slug: Option<&str>,
) -> Result<Vec<SessionStatus>, EcluseError> {
    let sessions: Vec<&super::Session> = match slug {
        Some(slug) => vec![repo
            .state
            .sessions
            .iter()
            .find(|s| s.slug == slug)
            .ok_or_else(|| EcluseError::NotInState(slug.to_owned()))?],
        None => repo.state.sessions.iter().collect(),
    };
    let mut out = Vec::new();
    for session in sessions {
        let mut services = Vec::new();
        for service in repo
            .config
            .services
            .iter()
            .filter(|s| session.runs(&s.name))
        {
            let port = repo.service_port(session, service);
            let mut listener_pids: Vec<ProcessId> = match port {
                // TCP listeners, as ecluse judged: a UDP socket bound to the
                // same number is not the service's server.
                Some(port) => holders(snapshot, PortQuery::tcp_listeners(port))?
                    .iter()
                    .flat_map(|h| h.pids())
                    .collect(),
                None => Vec::new(),
            };
            listener_pids.sort_unstable();
            listener_pids.dedup();
            let check = attribution
                .pid_files
                .get(&PidFileKey::new(&session.slug, &service.name))
                .cloned();
            let stored = match &check {
                Some(PidFileCheck::Verified { pid }) => Some(*pid),
                Some(PidFileCheck::Legacy {
                    pid,
                    corroborated: true,
                }) => Some(*pid),
                _ => None,
            };
            let pid = match &check {
                Some(
                    PidFileCheck::Verified { pid }
                    | PidFileCheck::Legacy { pid, .. }
                    | PidFileCheck::Recycled { pid }
                    | PidFileCheck::Dead { pid }
                    | PidFileCheck::Protected { pid, .. }
                    | PidFileCheck::Implausible { pid },
                ) => Some(*pid),
                _ => None,
            };
            // Who may hold the port: the stored pid and its descendants; with
            // no usable pid file, whatever its evidence ties to this session
            // alone (the port itself is never evidence).
            let ours = |listener: ProcessId| match stored {
                Some(stored) => {
                    listener == stored || descendants(snapshot, stored).contains(&listener)
                }
                None => attribution.owner(listener).slug() == Some(session.slug.as_str()),
            };
            let docker = service.run == Run::Docker;
            let intruder = listener_pids.iter().copied().find(|&l| !ours(l));
            let verdict = if docker {
                Verdict::NotJudged
            } else if listener_pids.iter().any(|&l| ours(l)) {
                Verdict::Up
            } else if intruder.is_some() {
                Verdict::WrongOwner
            } else if port.is_none() && stored.is_some() {
                Verdict::Up
            } else {
                Verdict::Down
            };
            let listener = match verdict {
                Verdict::WrongOwner => intruder,
                _ => listener_pids.first().copied(),
            };
            let managed = service.managed();
            services.push(ServiceStatus {
                name: service.name.clone(),
                kind: service.run,
                port,
                healthy: (!docker).then_some(verdict == Verdict::Up || !managed),
                managed: if docker { true } else { managed },
                pid,
                tmux_window: (session.process_manager.as_deref() == Some("tmux") && !docker)
                    .then(|| service.name.clone()),
                listener_pid: listener,
                wrong_owner: verdict == Verdict::WrongOwner,
                listener_session: listener.map(|l| attribution.owner(l)),
                verdict,
                listener_pids,
                pid_file: check,
            });
        }
        let all_healthy = services
            .iter()
            .all(|s| s.kind == Run::Docker || !s.managed || s.healthy == Some(true));
        out.push(SessionStatus {
            slug: session.slug.clone(),
            slot: session.slot,
            all_healthy,
            tmux_session: session.tmux_session.clone(),
            status: session.status.clone().unwrap_or_else(|| "active".into()),
            services,
        });
    }
    Ok(out)
}
