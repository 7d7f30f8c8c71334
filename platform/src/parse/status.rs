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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_real_uid_from_captured_status() {
        let text = b"Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t900\nNgid:\t0\nPid:\t900\nPPid:\t1\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(parse_status_uid(text), Ok(1000));
    }

    #[test]
    fn missing_or_garbage_uid_is_an_error() {
        assert!(parse_status_uid(b"Name:\tx\n").is_err());
        assert!(parse_status_uid(b"Uid:\t\n").is_err());
        assert!(parse_status_uid(b"Uid:\tabc 1 1 1\n").is_err());
    }
}
