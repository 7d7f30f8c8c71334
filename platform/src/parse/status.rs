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

#[cfg(test)]
mod tests {
    use super::*;

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
