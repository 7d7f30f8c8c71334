//! What ecluse says about a port and its holders: the slot and service the
//! port belongs to by ecluse's formula, the session each holder belongs to,
//! and a warning where those two disagree.

use super::{Attribution, Owner, PortAssignment, PortMap};
use limier_platform::ProcessId;
use serde::Serialize;
use std::fmt;

/// Where a port's holder and the port's slot disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortWarning {
    /// The port is a slot's by the formula, and its holder belongs to
    /// (or is a leftover of) another session.
    OtherSession {
        /// The port.
        port: u16,
        /// The slots and services the port belongs to.
        assignments: Vec<PortAssignment>,
        /// The holder.
        pid: ProcessId,
        /// The session the holder's evidence names.
        owner: Owner,
    },
    /// The holder's evidence names several sessions.
    Conflict {
        /// The port.
        port: u16,
        /// The holder.
        pid: ProcessId,
        /// The conflicting owner.
        owner: Owner,
    },
}

/// `port 3010 is slot 1 web (session feat-a) but pid 42 belongs to session
/// feat-b (...)`; `pid 42 on port 3010: evidence in conflict: ...`. The JSON
/// carries the same sentence.
impl fmt::Display for PortWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortWarning::OtherSession {
                port,
                assignments,
                pid,
                owner,
            } => {
                let slots = assignments
                    .iter()
                    .map(|a| match &a.session {
                        Some(s) => format!("slot {} {} (session {s})", a.slot, a.service),
                        None => format!("slot {} {} (no session)", a.slot, a.service),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let verb = if owner.is_leftover() {
                    "is the"
                } else {
                    "belongs to"
                };
                write!(f, "port {port} is {slots} but pid {pid} {verb} {owner}")
            }
            PortWarning::Conflict { port, pid, owner } => {
                write!(f, "pid {pid} on port {port}: evidence in {owner}")
            }
        }
    }
}

impl Serialize for PortWarning {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What ecluse says about one port: the formula's slots and services, and
/// a verdict on each holder asked about.
#[derive(Debug, Clone)]
pub struct PortContext {
    /// The slots and services the port belongs to (empty: none).
    pub assignments: Vec<PortAssignment>,
    /// Each holder asked about, with the session it belongs to.
    pub owners: Vec<(ProcessId, Owner)>,
    /// Where a holder and the port's slot disagree.
    pub warnings: Vec<PortWarning>,
}

impl PortContext {
    /// Judges `holders` of `port` on `attribution`, against the port's
    /// slot by `map` (built once per repo with [`PortMap::build`]).
    pub fn judge(
        map: &PortMap,
        attribution: &Attribution,
        port: u16,
        holders: &[ProcessId],
    ) -> PortContext {
        let assignments = map.lookup(port).to_vec();
        let expected: Vec<&str> = assignments
            .iter()
            .filter_map(|a| a.session.as_deref())
            .collect();
        let mut owners = Vec::new();
        let mut warnings = Vec::new();
        for &pid in holders {
            let owner = attribution.owner(pid);
            match &owner {
                Owner::Session { slug, .. }
                    if !assignments.is_empty() && !expected.contains(&slug.as_str()) =>
                {
                    warnings.push(PortWarning::OtherSession {
                        port,
                        assignments: assignments.clone(),
                        pid,
                        owner: owner.clone(),
                    });
                }
                Owner::Conflict { .. } => warnings.push(PortWarning::Conflict {
                    port,
                    pid,
                    owner: owner.clone(),
                }),
                _ => {}
            }
            owners.push((pid, owner));
        }
        PortContext {
            assignments,
            owners,
            warnings,
        }
    }
}
