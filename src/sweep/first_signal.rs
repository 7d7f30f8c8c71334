//! Which signal opens a target's sweep: the one asked for, unless the
//! target ignores or blocks it, in which case waiting out the grace for it
//! is pointless.

use limier_platform::{Disposition, Signal};
use serde::Serialize;

/// Shells that, run interactively, ignore SIGTERM and end on SIGHUP (what
/// tmux sends a pane's shell when the pane closes).
const SHELLS: [&[u8]; 10] = [
    b"bash", b"zsh", b"fish", b"sh", b"dash", b"ksh", b"mksh", b"tcsh", b"csh", b"ash",
];

/// Whether a command name is a shell's (`bash`, `sh`, `zsh`, ...).
pub(crate) fn is_shell(comm: &[u8]) -> bool {
    SHELLS.contains(&comm)
}

/// Why a target was not sent the signal asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignalChoice {
    /// An interactive shell that ignores the signal asked for: sent SIGHUP
    /// instead, as tmux would.
    HangUp {
        /// The signal asked for (`SIGTERM`).
        instead_of: String,
    },
    /// It ignores or blocks the signal asked for: SIGKILL as soon as the
    /// other targets are signalled, without waiting out the grace.
    KilledAtOnce {
        /// The signal asked for.
        instead_of: String,
        /// What it does with it (`ignored` or `blocked`).
        disposition: Disposition,
    },
}

impl SignalChoice {
    /// The signal sent first instead of the one asked for.
    pub fn signal(&self) -> Signal {
        match self {
            SignalChoice::HangUp { .. } => Signal::Hup,
            SignalChoice::KilledAtOnce { .. } => Signal::Kill,
        }
    }
}

impl std::fmt::Display for SignalChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignalChoice::HangUp { instead_of } => {
                write!(
                    f,
                    "ignores {instead_of}: sent SIGHUP (an interactive shell, as tmux would)"
                )
            }
            SignalChoice::KilledAtOnce {
                instead_of,
                disposition,
            } => {
                let verb = if *disposition == Disposition::Blocked {
                    "blocks"
                } else {
                    "ignores"
                };
                write!(f, "{verb} {instead_of}: killed at once")
            }
        }
    }
}

/// The first signal for a target named `comm` that does `asked_does` with
/// the signal asked for and `hup_does` with SIGHUP (`None`: unknown, e.g.
/// on macOS). `None` means "send the signal asked for and wait out the
/// grace", the rule whenever nothing says it would be pointless.
pub fn choose(
    asked: Signal,
    asked_does: Option<Disposition>,
    hup_does: Option<Disposition>,
    comm: &[u8],
) -> Option<SignalChoice> {
    if asked == Signal::Kill {
        return None;
    }
    let disposition =
        asked_does.filter(|d| matches!(d, Disposition::Ignored | Disposition::Blocked))?;
    let shell = is_shell(comm);
    let hangs_up = matches!(hup_does, Some(Disposition::Default | Disposition::Caught));
    Some(if shell && hangs_up && asked != Signal::Hup {
        SignalChoice::HangUp {
            instead_of: asked.to_string(),
        }
    } else {
        SignalChoice::KilledAtOnce {
            instead_of: asked.to_string(),
            disposition,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Disposition::*;

    /// The signal asked for, what the target does with it and with SIGHUP,
    /// its name, and the first signal expected instead (`None`: as asked).
    type Case = (
        Signal,
        Option<Disposition>,
        Option<Disposition>,
        &'static [u8],
        Option<Signal>,
    );

    #[test]
    fn a_pointless_wait_is_skipped_and_said_why() {
        let cases: [Case; 9] = [
            // A plain process, or one that catches TERM: TERM and the grace.
            (Signal::Term, Some(Default), Some(Default), b"node", None),
            (Signal::Term, Some(Caught), Some(Caught), b"bash", None),
            // Unknown (macOS, unreadable): the rule as ever.
            (Signal::Term, None, None, b"bash", None),
            // An interactive shell ignores TERM, ends on HUP.
            (
                Signal::Term,
                Some(Ignored),
                Some(Caught),
                b"bash",
                Some(Signal::Hup),
            ),
            (
                Signal::Term,
                Some(Ignored),
                Some(Default),
                b"zsh",
                Some(Signal::Hup),
            ),
            // A shell that ignores HUP too, or a daemon ignoring TERM: KILL.
            (
                Signal::Term,
                Some(Ignored),
                Some(Ignored),
                b"bash",
                Some(Signal::Kill),
            ),
            (
                Signal::Term,
                Some(Ignored),
                Some(Default),
                b"nohup-job",
                Some(Signal::Kill),
            ),
            (
                Signal::Int,
                Some(Blocked),
                Some(Default),
                b"python3",
                Some(Signal::Kill),
            ),
            // KILL asked: nothing to choose.
            (Signal::Kill, Some(Ignored), Some(Ignored), b"bash", None),
        ];
        for (asked, does, hup, comm, expected) in cases {
            let choice = choose(asked, does, hup, comm);
            assert_eq!(
                choice.as_ref().map(SignalChoice::signal),
                expected,
                "{asked} {does:?} {hup:?} {}",
                String::from_utf8_lossy(comm)
            );
        }
        let shell = choose(Signal::Term, Some(Ignored), Some(Caught), b"bash").unwrap();
        assert_eq!(
            shell.to_string(),
            "ignores SIGTERM: sent SIGHUP (an interactive shell, as tmux would)"
        );
        let blocked = choose(Signal::Term, Some(Blocked), None, b"java").unwrap();
        assert_eq!(blocked.to_string(), "blocks SIGTERM: killed at once");
        assert_eq!(
            serde_json::to_value(&blocked).unwrap(),
            serde_json::json!({"kind": "killed_at_once", "instead_of": "SIGTERM", "disposition": "blocked"})
        );
    }
}
