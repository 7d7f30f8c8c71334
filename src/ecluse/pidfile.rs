//! ecluse pid files and their `ps -o lstart=` start tokens.

use limier_platform::LocalTime;

/// A parsed pid file: `"<pid>\n<token>\n"`, or `"<pid>"` from older versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidFile {
    /// The pid written.
    pub pid: u32,
    /// The `lstart` token; `None` for legacy files.
    pub token: Option<String>,
}

impl PidFile {
    /// Parses pid-file text. A pid of 0 or anything non-numeric is an error.
    pub fn parse(text: &str) -> Result<PidFile, String> {
        let mut lines = text.lines();
        let first = lines.next().map(str::trim).unwrap_or("");
        let pid: u32 = first
            .parse()
            .ok()
            .filter(|&p| p > 0 && p <= i32::MAX as u32)
            .ok_or_else(|| format!("first line {first:?} is not a pid"))?;
        let token = lines
            .next()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Ok(PidFile { pid, token })
    }
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats a local time the way `ps -o lstart=` does (`%a %b %e %H:%M:%S %Y`):
/// `Thu Nov 26 11:58:00 2026`, `Wed Jan  1 00:00:00 1986`.
pub fn lstart_token(time: &LocalTime) -> String {
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        WEEKDAYS[time.weekday as usize % 7],
        MONTHS[(time.month as usize + 11) % 12],
        time.day,
        time.hour,
        time.minute,
        time.second,
        time.year
    )
}

/// The start token ecluse writes for a process that started at
/// `started_at_ms` (ms since the epoch): its local start time in `ps -o
/// lstart=` form; `None` where the local time cannot be told. The one
/// place a process record becomes a token.
pub fn start_token_of(started_at_ms: u64) -> Option<String> {
    limier_platform::local_time((started_at_ms / 1000) as i64).map(|time| lstart_token(&time))
}

/// Whether `token` names a process started at `started_at_ms` (epoch ms,
/// local time zone). ps and limier derive the second from the boot time
/// slightly differently, so a token one second off still matches; a recycled
/// pid is off by far more.
pub fn token_matches(token: &str, started_at_ms: u64) -> bool {
    let seconds = (started_at_ms / 1000) as i64;
    let wanted = token.split_whitespace().collect::<Vec<_>>().join(" ");
    (seconds - 1..=seconds + 1).any(|s| {
        limier_platform::local_time(s)
            .map(|t| {
                lstart_token(&t)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    == wanted
            })
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_token_and_legacy_files() {
        assert_eq!(
            PidFile::parse("15192\nFri Nov 27 13:16:36 2026\n"),
            Ok(PidFile {
                pid: 15192,
                token: Some("Fri Nov 27 13:16:36 2026".into())
            })
        );
        assert_eq!(
            PidFile::parse("42"),
            Ok(PidFile {
                pid: 42,
                token: None
            })
        );
        assert_eq!(
            PidFile::parse("42\n\n"),
            Ok(PidFile {
                pid: 42,
                token: None
            })
        );
        for bad in ["", "\n", "abc\n", "0\n", "-5", "99999999999", "12 13"] {
            assert!(PidFile::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats_like_ps_lstart_with_padded_day() {
        let time = LocalTime {
            year: 1986,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            weekday: 3,
        };
        assert_eq!(lstart_token(&time), "Wed Jan  1 00:00:00 1986");
        let time = LocalTime {
            year: 2026,
            month: 11,
            day: 26,
            hour: 11,
            minute: 58,
            second: 0,
            weekday: 4,
        };
        assert_eq!(lstart_token(&time), "Thu Nov 26 11:58:00 2026");
    }
}
