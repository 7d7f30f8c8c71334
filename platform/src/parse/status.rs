//! `/proc/PID/status`.

use super::{parse_decimal, ParseError};

/// Reads the real uid (first number of the `Uid:` line) of `/proc/PID/status`.
///
/// # References
/// proc(5), `/proc/pid/status`.
pub fn parse_status_uid(text: &[u8]) -> Result<u32, ParseError> {
    text.split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"Uid:"))
        .and_then(|rest| {
            rest.split(|b| b.is_ascii_whitespace())
                .find(|field| !field.is_empty())
        })
        .and_then(parse_decimal)
        .ok_or_else(|| ParseError::new("status", "no numeric Uid line"))
}

/// Reads the effective capability set (the `CapEff:` line, hexadecimal)
/// of `/proc/PID/status`.
///
/// # References
/// proc(5), `/proc/pid/status`; capabilities(7).
pub fn parse_status_cap_eff(text: &[u8]) -> Result<u64, ParseError> {
    let bad = || ParseError::new("status", "no hexadecimal CapEff line");
    let field = text
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"CapEff:"))
        .ok_or_else(bad)?;
    let hex = std::str::from_utf8(field).map_err(|_| bad())?.trim();
    if hex.is_empty() || hex.len() > 16 {
        return Err(bad());
    }
    u64::from_str_radix(hex, 16).map_err(|_| bad())
}

/// The signal masks of `/proc/PID/status`: bit `n - 1` stands for signal
/// `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalMasks {
    /// `SigBlk`: blocked (held pending).
    pub blocked: u64,
    /// `SigIgn`: ignored.
    pub ignored: u64,
    /// `SigCgt`: caught by a handler.
    pub caught: u64,
}

/// Reads the `SigBlk`, `SigIgn` and `SigCgt` lines (hexadecimal) of
/// `/proc/PID/status` (the thread group's leader's).
///
/// # References
/// proc(5), `/proc/pid/status`.
pub fn parse_status_signals(text: &[u8]) -> Result<SignalMasks, ParseError> {
    let field = |name: &[u8]| -> Result<u64, ParseError> {
        let bad = || {
            ParseError::new(
                "status",
                format!("no hexadecimal {} line", String::from_utf8_lossy(name)),
            )
        };
        let value = text
            .split(|&b| b == b'\n')
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(b":"))
            .ok_or_else(bad)?;
        let hex = std::str::from_utf8(value).map_err(|_| bad())?.trim();
        if hex.is_empty() || hex.len() > 16 {
            return Err(bad());
        }
        u64::from_str_radix(hex, 16).map_err(|_| bad())
    };
    Ok(SignalMasks {
        blocked: field(b"SigBlk")?,
        ignored: field(b"SigIgn")?,
        caught: field(b"SigCgt")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_interactive_shells_signal_masks() {
        // bash -i: ignores QUIT (3), TERM (15) and the tty stops; catches HUP.
        let text = b"Name:\tbash\nSigQ:\t0/95671\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000010000\nSigIgn:\t0000000000384004\nSigCgt:\t000000004b813efb\n";
        let masks = parse_status_signals(text).unwrap();
        assert_ne!(masks.ignored & 1 << (15 - 1), 0, "TERM ignored");
        assert_eq!(masks.ignored & 1, 0, "HUP not ignored");
        assert_ne!(masks.caught & 1, 0, "HUP caught");
        assert_eq!(masks.blocked, 0x10000);
        assert!(parse_status_signals(b"SigBlk:\t0\nSigIgn:\tzz\nSigCgt:\t0\n").is_err());
        assert!(parse_status_signals(b"Name:\tx\n").is_err());
    }

    #[test]
    fn reads_real_uid_from_captured_status() {
        let text = b"Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t900\nNgid:\t0\nPid:\t900\nPPid:\t1\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(parse_status_uid(text), Ok(1000));
    }

    #[test]
    fn reads_the_effective_capabilities() {
        let root = b"Name:\tcat\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";
        assert_eq!(parse_status_cap_eff(root), Ok(0x1ff_ffff_ffff));
        let user = b"CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n";
        assert_eq!(parse_status_cap_eff(user), Ok(0));
        assert!(parse_status_cap_eff(b"Name:\tx\n").is_err());
        assert!(parse_status_cap_eff(b"CapEff:\tzz\n").is_err());
        assert!(parse_status_cap_eff(b"CapEff:\t\n").is_err());
        assert!(parse_status_cap_eff(b"CapEff:\t00000000000000000001\n").is_err());
    }

    #[test]
    fn missing_or_garbage_uid_is_an_error() {
        assert!(parse_status_uid(b"Name:\tx\n").is_err());
        assert!(parse_status_uid(b"Uid:\t\n").is_err());
        assert!(parse_status_uid(b"Uid:\tabc 1 1 1\n").is_err());
    }
}
