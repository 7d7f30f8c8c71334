//! Which slot and service a port belongs to, by ecluse's formula.

use super::{Repo, Run};
use serde::Serialize;
use std::collections::BTreeMap;

/// Base or extra port of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortKind {
    /// The service's base port.
    Base,
    /// One of its extra ports.
    Extra,
}

/// What a port is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortAssignment {
    /// The port.
    pub port: u16,
    /// The service it belongs to.
    pub service: String,
    /// The slot it belongs to.
    pub slot: u8,
    /// Base or extra port.
    pub kind: PortKind,
    /// Whether a docker service owns it (its holder is the container runtime).
    pub docker: bool,
    /// The session that holds this slot in state.json, if any.
    pub session: Option<String>,
}

/// Every port of every service for slots 1..=max_slots, plus the sessions'
/// actual `port_overrides`.
#[derive(Debug, Clone, Default)]
pub struct PortMap {
    by_port: BTreeMap<u16, Vec<PortAssignment>>,
}

impl PortMap {
    /// Every port of every slot of every service of `repo`.
    pub fn build(repo: &Repo) -> PortMap {
        let mut map = PortMap::default();
        let stride = repo.config.stride();
        let session_on = |slot: u8| {
            repo.state
                .sessions
                .iter()
                .find(|s| s.slot == slot && s.is_active())
                .map(|s| s.slug.clone())
        };
        for slot in 1..=repo.config.max_slots {
            for service in &repo.config.services {
                let docker = service.run == Run::Docker;
                let mut add = |port: u16, kind: PortKind| {
                    map.add(PortAssignment {
                        port,
                        service: service.name.clone(),
                        slot,
                        kind,
                        docker,
                        session: session_on(slot),
                    })
                };
                if let Some(port) = service.port(slot, stride) {
                    add(port, PortKind::Base);
                }
                for port in service.extra_ports(slot, stride) {
                    add(port, PortKind::Extra);
                }
            }
        }
        for session in &repo.state.sessions {
            for (service, &port) in &session.port_overrides {
                let docker = repo
                    .config
                    .services
                    .iter()
                    .any(|s| &s.name == service && s.run == Run::Docker);
                map.add(PortAssignment {
                    port,
                    service: service.clone(),
                    slot: session.slot,
                    kind: PortKind::Base,
                    docker,
                    session: Some(session.slug.clone()),
                });
            }
        }
        map
    }

    fn add(&mut self, assignment: PortAssignment) {
        let list = self.by_port.entry(assignment.port).or_default();
        if !list.contains(&assignment) {
            list.push(assignment);
        }
    }

    /// What `port` is assigned to (several entries when configs overlap).
    pub fn lookup(&self, port: u16) -> &[PortAssignment] {
        self.by_port.get(&port).map_or(&[], Vec::as_slice)
    }

    /// Every assigned port.
    pub fn all(&self) -> impl Iterator<Item = &PortAssignment> {
        self.by_port.values().flatten()
    }
}
