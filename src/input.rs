//! Values people type: ports, pids, durations, signals and `KEY=VALUE` tags.
//!
//! Each is a type with [`FromStr`], so a command line, a configuration file
//! or a fuzz target parses them the same way, with the same one-line errors.
//!
//! ```
//! use limier::input::{DurationSpec, PortSpec};
//! use limier::Protocol;
//!
//! let spec: PortSpec = "5353/udp".parse()?;
//! assert_eq!(u16::from(spec.port), 5353);
//! assert_eq!(spec.protocol, Some(Protocol::Udp));
//! let grace: DurationSpec = "500ms".parse()?;
//! assert_eq!(grace.0, std::time::Duration::from_millis(500));
//! assert_eq!(
//!     "70000".parse::<PortSpec>().unwrap_err().to_string(),
//!     "port \"70000\" is out of range (1-65535)"
//! );
//! # Ok::<(), limier::input::InputError>(())
//! ```

use crate::query::{PortQuery, StateFilter};
use limier_platform::{Port, ProcessId, Protocol, Signal};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a typed value was refused; the message names the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Not a port, or not in 1-65535, or an unknown protocol.
    #[error("{0}")]
    Port(String),
    /// Not a positive pid.
    #[error("{0}")]
    Pid(String),
    /// Not a non-negative duration of at most a day.
    #[error("{0}")]
    Duration(String),
    /// Not a signal name or number, or a signal that does not end a process.
    #[error("{0}")]
    Signal(String),
    /// Not `KEY=VALUE` with a non-empty key.
    #[error("{0}")]
    EnvTag(String),
}

/// A port with an optional protocol: `3000`, `3000/tcp`, `5353/udp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortSpec {
    /// The port, 1-65535.
    pub port: Port,
    /// `None` asks about TCP and UDP alike.
    pub protocol: Option<Protocol>,
}

impl PortSpec {
    /// The question this value asks: listeners (TCP `LISTEN`, bound UDP),
    /// or sockets in every state.
    pub fn query(&self, all_states: bool) -> PortQuery {
        PortQuery {
            port: self.port,
            protocol: self.protocol,
            states: if all_states {
                StateFilter::Any
            } else {
                StateFilter::Listening
            },
        }
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            Some(protocol) => write!(f, "{}/{}", self.port, protocol),
            None => write!(f, "{}", self.port),
        }
    }
}

impl FromStr for PortSpec {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (number, protocol) = match text.split_once('/') {
            Some((number, proto)) => {
                let protocol = match proto.to_ascii_lowercase().as_str() {
                    "tcp" => Protocol::Tcp,
                    "udp" => Protocol::Udp,
                    _ => {
                        return Err(InputError::Port(format!(
                            "protocol {proto:?} in {text:?} is not tcp or udp"
                        )))
                    }
                };
                (number, Some(protocol))
            }
            None => (text, None),
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::Port(format!("port {text:?} is not a number")));
        }
        match number.parse::<u32>() {
            Ok(port @ 1..=65535) => Ok(PortSpec {
                port: Port(port as u16),
                protocol,
            }),
            _ => Err(InputError::Port(format!(
                "port {number:?} is out of range (1-65535)"
            ))),
        }
    }
}

/// Ports as typed on a command line: one port (`3000`, `3000/tcp`, or
/// lsof's and ss's `:3000`), a list (`3000,3001/udp`) or a range
/// (`3000-3010`, `3000-3010/tcp`), in any mix; in the order typed, each
/// once.
///
/// ```
/// use limier::input::PortList;
/// let ports: PortList = ":3000,5353/udp,8000-8002".parse()?;
/// let text: Vec<String> = ports.0.iter().map(|p| p.to_string()).collect();
/// assert_eq!(text, ["3000", "5353/udp", "8000", "8001", "8002"]);
/// # Ok::<(), limier::input::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortList(pub Vec<PortSpec>);

/// The most ports one sweep's typed port lists may name: a mistyped range
/// (`3000-30000` for `3000-3010`) must not sweep every server on the
/// machine.
pub const MAX_SWEEP_PORTS: usize = 256;

impl PortList {
    /// Every port of `lists`, in order, each once; a port asked for with a
    /// protocol is dropped where the same port is asked for without one
    /// (that asks for both protocols already).
    pub fn flatten(lists: &[PortList]) -> Vec<PortSpec> {
        let any: std::collections::HashSet<Port> = lists
            .iter()
            .flat_map(|list| &list.0)
            .filter(|spec| spec.protocol.is_none())
            .map(|spec| spec.port)
            .collect();
        let mut seen = std::collections::HashSet::new();
        lists
            .iter()
            .flat_map(|list| &list.0)
            .filter(|spec| spec.protocol.is_none() || !any.contains(&spec.port))
            .filter(|spec| seen.insert(**spec))
            .copied()
            .collect()
    }

    /// [`flatten`](Self::flatten) for a sweep: at most
    /// [`MAX_SWEEP_PORTS`] ports.
    pub fn for_sweep(lists: &[PortList]) -> Result<Vec<PortSpec>, InputError> {
        let ports = PortList::flatten(lists);
        if ports.len() > MAX_SWEEP_PORTS {
            return Err(InputError::Port(format!(
                "the ports given name {} ports; a sweep takes at most {MAX_SWEEP_PORTS} (a mistyped range would end every server on the machine)",
                ports.len()
            )));
        }
        Ok(ports)
    }
}

impl FromStr for PortList {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut ports: Vec<PortSpec> = Vec::new();
        for item in text.split(',') {
            let item = item.trim();
            let item = item.strip_prefix(':').unwrap_or(item);
            if item.is_empty() {
                let why = if text.contains(',') {
                    format!("no port between the commas of {text:?}")
                } else {
                    format!("no port in {text:?}")
                };
                return Err(InputError::Port(why));
            }
            let (body, protocol) = match item.split_once('/') {
                Some((body, protocol)) => (body, Some(protocol)),
                None => (item, None),
            };
            let spec = |number: &str| -> Result<PortSpec, InputError> {
                let number = number.trim();
                match protocol {
                    Some(protocol) => format!("{number}/{protocol}").parse(),
                    None => number.parse(),
                }
            };
            let new: Vec<PortSpec> = match body.split_once('-') {
                Some((first, last)) => {
                    let (first, last) = (spec(first)?, spec(last)?);
                    if first.port > last.port {
                        return Err(InputError::Port(format!(
                            "port range {item:?} runs backwards"
                        )));
                    }
                    (first.port.0..=last.port.0)
                        .map(|port| PortSpec {
                            port: Port(port),
                            protocol: first.protocol,
                        })
                        .collect()
                }
                None => vec![spec(body)?],
            };
            ports.extend(new);
        }
        Ok(PortList(PortList::flatten(&[PortList(ports)])))
    }
}

/// A pid as typed: a positive decimal number no larger than the kernel's
/// maximum (`i32::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidSpec(pub ProcessId);

impl FromStr for PidSpec {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<u32>() {
            Ok(0) => Err(InputError::Pid(format!(
                "pid {text:?} is not a process (pids start at 1)"
            ))),
            Ok(pid) if pid <= i32::MAX as u32 => Ok(PidSpec(ProcessId(pid))),
            _ => Err(InputError::Pid(format!(
                "pid {text:?} is not a positive number"
            ))),
        }
    }
}

/// A duration as typed: `2s`, `500ms`, `1.5` (seconds), `1m`; at most a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationSpec(pub Duration);

impl FromStr for DurationSpec {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            InputError::Duration(format!(
                "duration {text:?} is not a non-negative time like 2s, 500ms or 1.5"
            ))
        };
        let trimmed = text.trim();
        let (number, scale) = if let Some(n) = trimmed.strip_suffix("ms") {
            (n, 0.001)
        } else if let Some(n) = trimmed.strip_suffix('s') {
            (n, 1.0)
        } else if let Some(n) = trimmed.strip_suffix('m') {
            (n, 60.0)
        } else {
            (trimmed, 1.0)
        };
        let value: f64 = number.trim().parse().map_err(|_| bad())?;
        if !value.is_finite() || value < 0.0 || value * scale > 86_400.0 {
            return Err(bad());
        }
        Ok(DurationSpec(Duration::from_secs_f64(value * scale)))
    }
}

/// The first signal of a sweep, as typed: a name (`TERM`, `SIGINT`, `hup`)
/// or number; `STOP` and `CONT` are refused, as they end nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSignal(pub Signal);

impl FromStr for SweepSignal {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let signal: Signal = text.parse().map_err(InputError::Signal)?;
        if matches!(signal, Signal::Stop | Signal::Cont) {
            return Err(InputError::Signal(format!(
                "signal {text:?} does not end a process"
            )));
        }
        Ok(SweepSignal(signal))
    }
}

/// An environment tag as typed: `KEY=VALUE` (the value may be empty, the
/// key may not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvTag {
    /// The variable's name.
    pub key: String,
    /// Its value (everything after the first `=`).
    pub value: String,
}

impl FromStr for EnvTag {
    type Err = InputError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(EnvTag {
                key: key.to_owned(),
                value: value.to_owned(),
            }),
            _ => Err(InputError::EnvTag(format!(
                "environment selector {text:?} is not KEY=VALUE"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports_of(text: &str) -> PortList {
        text.parse().unwrap()
    }

    fn ports(text: &str) -> Result<Vec<String>, String> {
        text.parse::<PortList>()
            .map(|list| list.0.iter().map(|p| p.to_string()).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn port_lists_take_lsof_spellings_ranges_and_repeats() {
        assert_eq!(ports(":3000").unwrap(), ["3000"]);
        assert_eq!(ports("28101,28201").unwrap(), ["28101", "28201"]);
        assert_eq!(ports("80-82/udp, 81").unwrap(), ["80/udp", "82/udp", "81"]);
        assert_eq!(ports("3000,3000").unwrap(), ["3000"]);
        assert_eq!(ports("1-65535").unwrap().len(), 65535);
        assert_eq!(
            ports("3010-3000").unwrap_err(),
            "port range \"3010-3000\" runs backwards"
        );
        assert_eq!(
            ports("3000,").unwrap_err(),
            "no port between the commas of \"3000,\""
        );
        assert_eq!(ports(":").unwrap_err(), "no port in \":\"");
        assert_eq!(ports("3000 - 3002").unwrap(), ["3000", "3001", "3002"]);
        assert_eq!(ports("81/udp,81,82/tcp").unwrap(), ["81", "82/tcp"]);
        let lists = [ports_of("1-200"), ports_of("150-260")];
        assert_eq!(PortList::flatten(&lists).len(), 260);
        assert!(PortList::for_sweep(&lists)
            .unwrap_err()
            .to_string()
            .contains("name 260 ports"));
        assert_eq!(PortList::for_sweep(&lists[..1]).unwrap().len(), 200);
        assert_eq!(
            ports("0-3").unwrap_err(),
            "port \"0\" is out of range (1-65535)"
        );
        assert_eq!(ports("3000-x").unwrap_err(), "port \"x\" is not a number");
        assert_eq!(
            ports("3000-3001/sctp").unwrap_err(),
            "protocol \"sctp\" in \"3000/sctp\" is not tcp or udp"
        );
        assert_eq!(ports("::1").unwrap_err(), "port \":1\" is not a number");
    }

    fn port(text: &str) -> Result<PortSpec, String> {
        text.parse::<PortSpec>().map_err(|e| e.to_string())
    }

    #[test]
    fn port_specs() {
        assert_eq!(port("3000").unwrap().port, Port(3000));
        assert_eq!(port("53/UDP").unwrap().protocol, Some(Protocol::Udp));
        assert_eq!(port("53/UDP").unwrap().to_string(), "53/udp");
        assert_eq!(
            port("0").unwrap_err(),
            "port \"0\" is out of range (1-65535)"
        );
        assert_eq!(
            port("70000").unwrap_err(),
            "port \"70000\" is out of range (1-65535)"
        );
        assert_eq!(port("abc").unwrap_err(), "port \"abc\" is not a number");
        assert!(port("-1").is_err());
        assert!(port("80/sctp").is_err());
        assert!(port("99999999999999999999").is_err());
    }

    #[test]
    fn durations_pids_signals_and_tags() {
        let duration = |t: &str| t.parse::<DurationSpec>().map(|d| d.0);
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("1m"), Ok(Duration::from_secs(60)));
        assert!(duration("-1").is_err());
        assert!(duration("soon").is_err());
        assert!(duration("NaN").is_err());
        assert!(duration("2d").is_err());
        let tag: EnvTag = "A=b=c".parse().unwrap();
        assert_eq!((tag.key.as_str(), tag.value.as_str()), ("A", "b=c"));
        assert!("NOVALUE".parse::<EnvTag>().is_err());
        assert!("=x".parse::<EnvTag>().is_err());
        assert_eq!("42".parse::<PidSpec>(), Ok(PidSpec(ProcessId(42))));
        assert!("0".parse::<PidSpec>().is_err());
        assert!("x".parse::<PidSpec>().is_err());
        assert!("2147483648".parse::<PidSpec>().is_err());
        assert_eq!("int".parse::<SweepSignal>(), Ok(SweepSignal(Signal::Int)));
        assert_eq!(
            "STOP".parse::<SweepSignal>().unwrap_err().to_string(),
            "signal \"STOP\" does not end a process"
        );
        assert!("BOGUS".parse::<SweepSignal>().is_err());
    }
}
