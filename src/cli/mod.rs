//! The `limier` command line: arguments, rendering, exit codes.
//!
//! `main.rs` only calls [`main`]; everything here turns library answers into
//! human or JSON output. Exit codes: 0 found/done, 1 nothing found, 2 bad
//! input or error, 3 a sweep left something alive.

pub mod args;
mod ecluse_cmd;
mod format;
mod in_dir;
mod kill;
mod man;
pub use limier::sanitize;
mod snapshot_cmd;
mod style;
mod tree;
mod who;

use args::{Cli, Command};
use clap::{CommandFactory, Parser};
use std::ffi::OsString;
use std::io::Write;

/// Exit code: something was found, or every requested action succeeded.
pub const EXIT_FOUND: i32 = 0;
/// Exit code: the question had no answer (no holder, no user, nothing matched).
pub const EXIT_NOTHING: i32 = 1;
/// Exit code: bad input or an error; one line on stderr says what.
pub const EXIT_ERROR: i32 = 2;
/// Exit code: a sweep left a process alive or spared one for a non-protection reason.
pub const EXIT_SURVIVORS: i32 = 3;

/// What a command produced.
pub struct Outcome {
    pub stdout: String,
    /// Notes for stderr (incomplete answers, skipped items).
    pub notes: Vec<String>,
    pub code: i32,
}

/// A command's failure: one line for the user, exit 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::error::Error> From<E> for CliError {
    fn from(err: E) -> Self {
        CliError(err.to_string())
    }
}

/// How to render: JSON, terse pids, or the human view (with or without colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// `--json`: the command's document.
    Json,
    /// `-t`: pids, one per line.
    Terse,
    /// The human view.
    Human {
        /// Whether to colour it (a terminal, no `NO_COLOR`).
        color: bool,
    },
}

impl Render {
    /// Whether a person reads it (notes a machine form cannot carry are
    /// then in the view itself).
    pub fn is_human(self) -> bool {
        matches!(self, Render::Human { .. })
    }
}

/// Runs limier with these arguments (the first is the program name) and
/// returns the exit code. Output goes to stdout/stderr; a closed stdout
/// (broken pipe) counts as success.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    // Room for a sweep's pidfds while no thread shares the fd table yet
    // (see Backend::reserve_fds); a sweep of more grows it once more.
    limier::Backend::reserve_fds(960);
    let args = with_implicit_who(args.into_iter().collect());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => return report_clap_error(err),
    };
    for source in [
        limier::snapshot::FdSource::from_env(),
        limier::snapshot::FdSource::maps_from_env(),
        limier::snapshot::FdSource::procs_from_env(),
    ] {
        if let Err(message) = source {
            eprintln!("limier: {message}");
            return EXIT_ERROR;
        }
    }
    let render = if cli.json {
        Render::Json
    } else if cli.terse {
        Render::Terse
    } else {
        Render::Human {
            color: style::color_enabled(),
        }
    };
    let result = match cli.command {
        Command::Who(args) => who::run(&args, render),
        Command::In(args) => in_dir::run(&args, render),
        Command::Tree(args) => tree::run(&args, render),
        Command::Snapshot(args) => snapshot_cmd::run(&args, render),
        Command::Kill(args) => kill::run(&args, render),
        Command::Ecluse(command) => ecluse_cmd::run(&command, render),
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "limier", &mut buffer);
            Ok(Outcome {
                stdout: String::from_utf8_lossy(&buffer).into_owned(),
                notes: Vec::new(),
                code: EXIT_FOUND,
            })
        }
        Command::Man { command, dir } => man::run(command.as_deref(), dir.as_deref()),
    };
    let quiet = cli.quiet || std::env::var_os("LIMIER_QUIET").is_some_and(|v| !v.is_empty());
    match result {
        Ok(outcome) => {
            // The answer first; what could change it after, on stderr.
            let code = write_stdout(&outcome.stdout).unwrap_or(outcome.code);
            if !quiet {
                for note in &outcome.notes {
                    eprintln!("limier: {note}");
                }
            }
            code
        }
        Err(CliError(message)) => {
            let one_line: Vec<&str> = message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("limier: {}", one_line.join(": "));
            EXIT_ERROR
        }
    }
}

/// Writes to stdout; `Some(0)` on a broken pipe (the reader went away).
fn write_stdout(text: &str) -> Option<i32> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => None,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Some(EXIT_FOUND),
        Err(err) => {
            eprintln!("limier: writing output: {err}");
            Some(EXIT_ERROR)
        }
    }
}

/// `limier 3000` means `limier who 3000`: a first positional that looks
/// like a port (`3000`, `:3000`, `3000-3010`, `3000,3001/udp`) turns into
/// the `who` command.
fn with_implicit_who(mut args: Vec<OsString>) -> Vec<OsString> {
    let first = args
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, a)| !a.to_string_lossy().starts_with('-'));
    if let Some((index, arg)) = first {
        let text = arg.to_string_lossy();
        // A port, a list, a range or lsof's `:PORT`; a malformed one too
        // (`70000`), so that `who` says what is wrong with it.
        if text.starts_with(|c: char| c.is_ascii_digit() || c == ':') {
            args.insert(index, OsString::from("who"));
        }
    }
    args
}

/// Prints clap's verdict: help and version as they are, errors as one line.
fn report_clap_error(err: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            EXIT_FOUND
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            EXIT_ERROR
        }
        _ => {
            let message = match (err.kind(), std::error::Error::source(&err)) {
                (ErrorKind::ValueValidation, Some(source)) => source.to_string(),
                // The first paragraph, on one line: the verdict and, for
                // missing arguments, their names on the lines below it.
                _ => err
                    .to_string()
                    .lines()
                    .take_while(|line| !line.trim().is_empty())
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ")
                    .trim_start_matches("error: ")
                    .to_owned(),
            };
            let message = if message.is_empty() {
                "bad arguments".to_owned()
            } else {
                message
            };
            let message = match clap_suggestion(&err) {
                Some(suggestion) => format!("{message}; did you mean {suggestion}?"),
                None => message,
            };
            eprintln!("limier: {message} (see limier --help)");
            EXIT_ERROR
        }
    }
}

/// clap's "a similar subcommand/argument exists" tip, quoted, e.g. `'who'`.
fn clap_suggestion(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .find_map(|kind| match err.get(kind)? {
        ContextValue::String(one) => Some(format!("'{one}'")),
        ContextValue::Strings(many) if !many.is_empty() => Some(
            many.iter()
                .map(|one| format!("'{one}'"))
                .collect::<Vec<_>>()
                .join(" or "),
        ),
        _ => None,
    })
}

/// The version of every command's JSON document (docs/JSON.md): raised
/// when a field changes meaning or goes; new fields do not raise it.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Serialises `value` (an object) as pretty JSON with a trailing newline,
/// with `schema_version` first.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    let fields = match serde_json::to_value(value).map_err(|e| CliError(e.to_string()))? {
        serde_json::Value::Object(fields) => fields,
        _ => {
            return Err(CliError(
                "a command's JSON document must be an object".into(),
            ))
        }
    };
    let mut document = serde_json::Map::new();
    document.insert("schema_version".into(), SCHEMA_VERSION.into());
    document.extend(fields);
    let mut text = serde_json::to_string_pretty(&serde_json::Value::Object(document))
        .map_err(|e| CliError(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// The first three of `processes` as a note names them: `4242 (node)`.
fn first_named(processes: &[limier::query::NamedProcess]) -> Vec<String> {
    processes
        .iter()
        .take(3)
        .map(|p| format!("{} ({})", p.pid, sanitize::sanitize(p.comm.as_bytes())))
        .collect()
}

/// The stderr note for processes a directory or environment question could
/// not read: said only where they could change the answer.
pub(crate) fn unchecked_note(processes: &[limier::query::NamedProcess]) -> Option<String> {
    let named = first_named(processes);
    let processes = match processes.len() {
        0 => return None,
        1 => format!("pid {}", named[0]),
        2 | 3 => format!("pids {}", named.join(", ")),
        n => format!("{n} processes (pids {}, ...)", named.join(", ")),
    };
    Some(if limier::platform::is_superuser() {
        format!(
            "{processes} could not be checked, even by root (not dumpable, or a security module)"
        )
    } else {
        format!("{processes} of other users were not checked; run as root to include them")
    })
}

/// The stderr note for processes whose paths read as below a directory in
/// a mount namespace limier could not read.
pub(crate) fn other_namespace_note(pids: &[limier::platform::ProcessId]) -> String {
    let list: Vec<String> = pids.iter().take(5).map(|pid| pid.to_string()).collect();
    let more = if pids.len() > 5 { ", ..." } else { "" };
    let (noun, verb) = if pids.len() == 1 {
        ("process", "is")
    } else {
        ("processes", "are")
    };
    format!(
        "{} {noun} ({}{more}) {verb} in a mount namespace whose mounts could not be read: \
         their paths may name another directory there, so they are not counted",
        pids.len(),
        list.join(", ")
    )
}

/// The stderr note for a use whose path may be deleted or merely named so.
pub(crate) fn undecided_note(pid: limier::platform::ProcessId, path: &std::path::Path) -> String {
    format!(
        "process {pid} uses {}: the path of a deleted file or a name ending in \" (deleted)\"; \
         the kernel did not tell which, so it is not counted",
        sanitize::sanitize(path.as_os_str().as_encoded_bytes())
    )
}

/// The stderr note for what a question or a selection could not see.
pub(crate) fn unseen_note(unseen: &limier::sweep::Unseen) -> Option<String> {
    use limier::sweep::Unseen;
    match unseen {
        Unseen::Processes { processes, .. } => unchecked_note(processes),
        Unseen::OtherMountNamespace { pids } => Some(other_namespace_note(pids)),
        Unseen::NotOwned { uid, processes } => {
            let user = limier::platform::user_name(*uid).unwrap_or_else(|| format!("uid {uid}"));
            let named = first_named(processes);
            let more = if processes.len() > 3 { ", ..." } else { "" };
            Some(format!(
                "{} matched but {} not {}'s (-u): left alone (pids {}{more})",
                match processes.len() {
                    1 => "1 process".to_owned(),
                    n => format!("{n} processes"),
                },
                if processes.len() == 1 { "is" } else { "are" },
                sanitize::sanitize(user.as_bytes()),
                named.join(", ")
            ))
        }
        Unseen::Undecided { pid, path } => Some(undecided_note(*pid, path)),
        Unseen::Socket {
            port,
            protocol,
            uid,
        } => Some(if limier::platform::is_superuser() {
            format!("port {port}/{protocol}: its holder's fds were refused even to root (uid {uid} made the socket)")
        } else {
            let owner = limier::platform::user_name(*uid)
                .map_or_else(|| format!("uid {uid}"), |name| format!("{name}, uid {uid}"));
            format!("port {port}/{protocol} is held by another user ({owner}), whose process this user cannot see; run as root to name it")
        }),
    }
}

/// The stderr note for a typed directory that could not be resolved.
pub(crate) fn unresolved_note(
    typed: &std::path::Path,
    dir: &limier::query::TypedDir,
) -> Option<String> {
    let why = dir.unresolved()?;
    let typed = sanitize::sanitize(typed.as_os_str().as_encoded_bytes());
    let path = sanitize::sanitize(dir.path.as_os_str().as_encoded_bytes());
    Some(match dir.found {
        limier::query::DirFound::Former => format!("{typed} {why}: {path}"),
        _ => format!("{typed} {why}; matched as {path}, symlinks not followed"),
    })
}

/// Captures a live snapshot as `options` say.
pub(crate) fn capture_with(
    options: limier::snapshot::CaptureOptions,
) -> Result<limier::snapshot::Snapshot, CliError> {
    let backend = limier::platform::Backend::new()?;
    Ok(limier::snapshot::capture(&backend, options)?)
}

/// Terse output: distinct pids, sorted, one per line.
pub(crate) fn terse_pids(pids: impl IntoIterator<Item = limier::platform::ProcessId>) -> String {
    let mut pids: Vec<u32> = pids.into_iter().map(|p| p.0).collect();
    pids.sort_unstable();
    pids.dedup();
    pids.iter().map(|p| format!("{p}\n")).collect()
}
