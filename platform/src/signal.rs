//! Signals limier sends, by name, independent of the OS's numbering.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A signal the sweep may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Signal {
    /// SIGTERM: asks a process to end.
    Term,
    /// SIGKILL: ends a process; it cannot be caught.
    Kill,
    /// SIGSTOP: freezes a process; it cannot be caught.
    Stop,
    /// SIGCONT: resumes a stopped process.
    Cont,
    /// SIGHUP: the terminal hung up.
    Hup,
    /// SIGINT: an interrupt (Ctrl-C).
    Int,
    /// SIGQUIT: quit, with a core dump (Ctrl-\\).
    Quit,
    /// SIGUSR1: user-defined.
    Usr1,
    /// SIGUSR2: user-defined.
    Usr2,
}

impl Signal {
    /// The signal's name: `SIGTERM`, `SIGKILL`, ...
    pub fn name(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
            Signal::Stop => "STOP",
            Signal::Cont => "CONT",
            Signal::Hup => "HUP",
            Signal::Int => "INT",
            Signal::Quit => "QUIT",
            Signal::Usr1 => "USR1",
            Signal::Usr2 => "USR2",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIG{}", self.name())
    }
}

impl FromStr for Signal {
    type Err = String;

    /// Accepts `TERM`, `SIGTERM`, `term` and the POSIX numbers 1, 2, 3, 9, 15.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        Ok(match bare {
            "TERM" | "15" => Signal::Term,
            "KILL" | "9" => Signal::Kill,
            "HUP" | "1" => Signal::Hup,
            "INT" | "2" => Signal::Int,
            "QUIT" | "3" => Signal::Quit,
            "USR1" => Signal::Usr1,
            "USR2" => Signal::Usr2,
            "STOP" => Signal::Stop,
            "CONT" => Signal::Cont,
            _ => {
                return Err(format!(
                    "unknown signal {text:?} (try TERM, INT, HUP, QUIT, KILL, USR1, USR2)"
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        assert_eq!("SIGTERM".parse(), Ok(Signal::Term));
        assert_eq!("int".parse(), Ok(Signal::Int));
        assert_eq!("9".parse(), Ok(Signal::Kill));
        assert!("SIGFOO".parse::<Signal>().is_err());
        assert!("".parse::<Signal>().is_err());
    }
}
