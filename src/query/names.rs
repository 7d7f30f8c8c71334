//! Processes by name and owner, as `pgrep` finds them.

use crate::snapshot::Snapshot;
use limier_platform::ProcessId;

/// A process name pattern as `pgrep` takes it, without regular
/// expressions: a substring, or anchored with `^` (at the start) and `$`
/// (at the end). Case matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    /// The pattern as typed.
    pub text: String,
    /// Match the whole command line (argv joined by spaces) instead of the
    /// name (`pgrep -f`).
    pub full: bool,
}

impl NamePattern {
    /// Why this pattern can match no process here, if it cannot: a name
    /// pattern longer than Linux's 15-byte process names (`pgrep` warns
    /// the same).
    pub fn matches_nothing(&self) -> Option<String> {
        let text = self.text.trim_start_matches('^').trim_end_matches('$');
        (cfg!(target_os = "linux") && !self.full && text.len() > 15).then(|| {
            format!(
                "--name {:?} is longer than the 15 bytes of a process name on Linux and would match nothing; add -f to match the command line",
                self.text
            )
        })
    }

    /// Whether `process` matches: its name (comm), or with `full` its
    /// command line (a process whose argv is empty — a kernel thread, a
    /// zombie — by its name).
    pub fn matches(&self, process: &crate::snapshot::Process) -> bool {
        let subject = if self.full && !process.record.cmdline.is_empty() {
            process.command_line()
        } else {
            process.record.comm.to_string_lossy().into_owned()
        };
        let (start, rest) = match self.text.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, self.text.as_str()),
        };
        let (end, needle) = match rest.strip_suffix('$') {
            Some(needle) => (true, needle),
            None => (false, rest),
        };
        match (start, end) {
            (true, true) => subject == needle,
            (true, false) => subject.starts_with(needle),
            (false, true) => subject.ends_with(needle),
            (false, false) => subject.contains(needle),
        }
    }
}

impl std::fmt::Display for NamePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.full {
            write!(f, "command line ~ {}", self.text)
        } else {
            write!(f, "name ~ {}", self.text)
        }
    }
}

/// Every process of `snapshot` whose name matches `pattern` (when given)
/// and whose owner is `owner` (when given), in pid order; never limier
/// itself, and kernel threads only with `kernel_threads`.
pub fn matching(
    snapshot: &Snapshot,
    pattern: Option<&NamePattern>,
    owner: Option<u32>,
    kernel_threads: bool,
) -> Vec<ProcessId> {
    snapshot
        .processes()
        .filter(|p| p.pid() != snapshot.self_pid && (kernel_threads || !p.record.kernel_thread))
        .filter(|p| pattern.is_none_or(|pattern| pattern.matches(p)))
        .filter(|p| owner.is_none_or(|uid| p.record.uid == Some(uid)))
        .map(|p| p.pid())
        .collect()
}
