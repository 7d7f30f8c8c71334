//! The command line, as clap definitions.

use clap::{Args, Parser, Subcommand};
use limier::input::{DurationSpec, EnvTag, InputError, PidSpec, PortList, SweepSignal};
use limier::platform::Signal;
use std::path::PathBuf;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  limier 3000                   who holds port 3000 (a bare number is a port)
  limier who 5353/udp --json    the same, for a UDP port, as JSON
  limier who --pid 4242         the dossier of one process
  limier in ~/repo              every process using a directory tree
  limier tree 4242              the process tree below pid 4242
  limier kill --port 3000       stop whatever holds port 3000, and its children
  limier ecluse status          ecluse's services, checked natively

Exit codes: 0 found (or all done), 1 nothing found, 2 bad input or error,
3 a kill left something alive.";

/// Process forensics: who holds a port, who lives in a directory, and kill
/// sweeps that never hit the wrong process.
#[derive(Debug, Parser)]
#[command(name = "limier", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// Print JSON for programs instead of the human view.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only pids, one per line (like `lsof -t`).
    #[arg(short = 't', long, global = true, conflicts_with = "json")]
    pub terse: bool,
    /// No notes on stderr (what could not be seen, pids that name nothing);
    /// errors still print. `LIMIER_QUIET=1` does the same.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Who holds a port, and why: every holder with its ancestry, cwd and age.
    #[command(after_help = "\
Examples:
  limier who                    every listening port, one line a socket (ss -ltnp)
  limier who --why              the same, each holder with its ancestry and cwd
  limier who -u alice --name node   alice's node servers' ports
  limier who 3000               TCP listeners and UDP sockets on port 3000
  limier who 3000/tcp 5353/udp  several ports, one protocol each
  limier who :8000-8010,9229    ranges and lists, lsof's :PORT too
  limier who 3000 --all-states  established connections too
  limier who --pid 4242,4243    processes: dossier, sockets, descendants
  limier -t 3000                holder pids only

The chain marks [orphaned] a process reparented to init whose session or
group was made by a process that is gone, or whose environment names it a
job of a tmux pane, a screen window or an ecluse service (TMUX_PANE, WINDOW,
ECLUSE_SLUG). A tmux server, sshd or user service is not an orphan.")]
    Who(WhoArgs),
    /// Every process using a directory tree: cwd, root, exe, open files, mappings.
    #[command(after_help = "\
Examples:
  limier in .                   who uses the current directory or anything below
  limier in /repo --json        the same, as JSON
  limier -t in /mnt/usb         pids only (for scripts)

Nothing on the filesystem is walked or stat()ed through fds: only /proc is read.
limier itself is left out. A DIR whose filesystem does not answer within 2 s
(a dead NFS or FUSE mount) is matched as typed, with a note.")]
    In(InArgs),
    /// The process forest, or the subtree of one pid, with ports and cwd.
    #[command(after_help = "\
Examples:
  limier tree                   the whole forest (kernel threads hidden)
  limier tree --name vite       every vite process's tree (pgrep vite)
  limier tree -u alice          alice's processes, as trees
  limier tree 4242              pid 4242 and everything below it
  limier tree --json            nested JSON")]
    Tree(TreeArgs),
    /// The raw snapshot: every process, fd, mapping and socket (environments with --environ).
    #[command(after_help = "\
Examples:
  limier snapshot --json > snap.json
  limier snapshot --json --environ   with every environment (secrets too)
  limier snapshot               a summary of what was captured")]
    Snapshot(SnapshotArgs),
    /// Race-resistant kill sweep: freeze, TERM, wait on pidfds, KILL, verify.
    #[command(after_help = "\
Examples:
  limier kill --port 3000                 the holders of port 3000 and their descendants
  limier kill --pid 4242 --dry-run        show what would be signalled, and why
  limier kill --env ECLUSE_SLUG=feat-b    everything tagged for a session
  limier kill --dir ./worktree --grace 5s
  limier kill --pgid 4200 --signal INT --no-freeze
  limier kill --name vite -u alice        alice's vite processes (pkill -u alice vite)
  limier kill -f --name 'next dev'        by the whole command line (pkill -f)

--pid selects a process and its current descendants. A descendant that
escaped with setsid() and was reparented to init is no longer below it:
select it by --env, --dir, --sid or --port instead.

Never signalled: pid 1, kernel threads, limier itself and its ancestors.
Refused: --pid 1 and --dir / (each selects every process); --dir of a
system directory (/usr, /bin, /sbin, /lib*, /etc, /boot, /proc, /sys, /dev,
/run, or one inside them), /home, /root or your home itself, unless
--allow-system-dir. A port held by
a protected process (pid 1 under socket activation, your own shell) selects
that process alone, which is spared, not its children.
Exit codes: 0 everything selected is gone, 1 nothing matched, 2 bad input,
3 something survived or was spared for a reason other than protection.")]
    Kill(KillArgs),
    /// ecluse's process work, natively from ecluse's own files.
    #[command(
        subcommand,
        after_help = "\
Examples:
  limier ecluse status                  every session of the repo around the cwd
  limier ecluse down feat-b --dry-run   what belongs to feat-b, and why
  limier ecluse flush --repo ~/mono     sweep every session of a repo

The repo is the nearest directory holding .ecluse.toml (from inside a
worktree, the root above it), or --repo DIR. limier never writes ecluse's files."
    )]
    Ecluse(EcluseCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Example:\n  limier completions bash > /etc/bash_completion.d/limier")]
    Completions { shell: clap_complete::Shell },
    /// Print a man page (roff): limier(1), or one command's, e.g. limier-who(1).
    #[command(after_help = "\
Examples:
  limier man > /usr/local/share/man/man1/limier.1
  limier man who                the page of one command: limier-who(1)
  limier man ecluse-down        a command of a command: limier-ecluse-down(1)
  limier man --dir /usr/local/share/man/man1   every page, one file each")]
    Man {
        /// The command whose page to print (`who`, `kill`, `ecluse-status`).
        command: Option<String>,
        /// Write every page (limier.1, limier-who.1, ...) into this directory.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct WhoArgs {
    /// Ports to ask about: 3000, 3000/tcp, 5353/udp, :3000, lists
    /// (3000,3001) and ranges (3000-3010/tcp). None: every listening port,
    /// one line per socket (like `ss -ltnp`).
    #[arg(value_name = "PORT[/PROTO]", value_parser = parse_port_list)]
    pub ports: Vec<PortList>,
    /// Ask about processes instead of ports: --pid 4242,4243 or --pid 4242
    /// --pid 4243 (a number after a pid is a port, as everywhere in `who`).
    #[arg(long, value_name = "PID", value_parser = parse_pid, value_delimiter = ',')]
    pub pid: Vec<u32>,
    /// With no port: every holder's full view (ancestry, cwd, age), as for
    /// a port asked by number.
    #[arg(long)]
    pub why: bool,
    /// Only holders pgrep would find.
    #[command(flatten)]
    pub pgrep: PgrepArgs,
    /// Count sockets in every TCP state, not just LISTEN.
    #[arg(long)]
    pub all_states: bool,
    /// The ecluse repository to attribute ports and processes to (default: found from the cwd).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

/// pgrep's ways of naming processes, for the process views.
#[derive(Debug, Args)]
pub struct PgrepArgs {
    /// Processes whose name holds PATTERN, as pgrep: a substring, `^` and
    /// `$` anchor it (no regular expressions).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// --name matches the whole command line (pgrep -f).
    #[arg(short = 'f', long, requires = "name")]
    pub full: bool,
    /// Processes of USER (a name or a uid).
    #[arg(short = 'u', long, value_name = "USER", value_parser = parse_user)]
    pub user: Option<u32>,
}

impl PgrepArgs {
    /// The name pattern, when one is given.
    pub fn pattern(&self) -> Option<limier::query::NamePattern> {
        self.name.as_ref().map(|text| limier::query::NamePattern {
            text: text.clone(),
            full: self.full,
        })
    }

    /// Whether any of them is given.
    pub fn given(&self) -> bool {
        self.name.is_some() || self.user.is_some()
    }
}

#[derive(Debug, Args)]
pub struct InArgs {
    /// The directory tree to look for.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    /// Root the tree at this process.
    #[arg(value_parser = parse_pid, conflicts_with_all = ["name", "user"])]
    pub pid: Option<u32>,
    /// Only the trees of processes pgrep would find.
    #[command(flatten)]
    pub pgrep: PgrepArgs,
    /// Show kernel threads too.
    #[arg(long)]
    pub kernel_threads: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Show every process's environment too (it may hold secrets: left out
    /// by default).
    #[arg(long)]
    pub environ: bool,
    /// Leave the environments out (the default; kept for older scripts).
    #[arg(long, hide = true, conflicts_with = "environ")]
    pub no_environ: bool,
}

#[derive(Debug, Args, Clone)]
pub struct SweepArgs {
    /// Print what would be signalled, and why, without signalling.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait after the signal before SIGKILL (e.g. 2s, 500ms, 1.5).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub grace: Duration,
    /// The first signal to send.
    #[arg(long, value_name = "SIG", default_value = "TERM", value_parser = SignalParser, hide_possible_values = true)]
    pub signal: Signal,
    /// Do not SIGSTOP the targets first (for programs that must not be stopped).
    #[arg(long)]
    pub no_freeze: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// A process and all its descendants.
    #[arg(long, value_name = "PID", value_parser = parse_pid)]
    pub pid: Vec<u32>,
    /// Every member of a process group.
    #[arg(long, value_name = "PGID", value_parser = parse_pid)]
    pub pgid: Vec<u32>,
    /// Every member of a session.
    #[arg(long, value_name = "SID", value_parser = parse_pid)]
    pub sid: Vec<u32>,
    /// Every holder of a port, and its descendants.
    #[arg(long, value_name = "PORT[/PROTO]", value_parser = parse_port_list)]
    pub port: Vec<PortList>,
    /// Every process using a directory tree.
    #[arg(long, value_name = "DIR")]
    pub dir: Vec<PathBuf>,
    /// Every process whose environment holds KEY=VALUE.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// Every process whose name holds PATTERN, as pkill (not its
    /// descendants): a substring, `^` and `$` anchor it (no regular
    /// expressions).
    #[arg(long, value_name = "PATTERN")]
    pub name: Vec<String>,
    /// --name matches the whole command line (pkill -f).
    #[arg(short = 'f', long)]
    pub full: bool,
    /// Only processes of USER (a name or a uid); alone, every process of
    /// USER (pkill -u).
    #[arg(short = 'u', long, value_name = "USER", value_parser = parse_user)]
    pub user: Option<u32>,
    /// Let --dir name a system directory (/usr, /etc, /lib*, /dev, ...) or
    /// a home directory itself, refused otherwise.
    #[arg(long)]
    pub allow_system_dir: bool,
    #[command(flatten)]
    pub sweep: SweepArgs,
}

#[derive(Debug, Subcommand)]
pub enum EcluseCommand {
    /// Per session and service: port, stored pid, listener, verdict.
    #[command(after_help = "\
Examples:
  limier ecluse status              every session of the repo around the cwd
  limier ecluse status feat-b --json
Exit 1 when a managed native service is unhealthy.")]
    Status {
        slug: Option<String>,
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Sweep every process attributed to one session.
    #[command(after_help = "\
Examples:
  limier ecluse down feat-b --dry-run
  limier ecluse down feat-b --grace 5s
State, tmux sessions and worktrees are left to ecluse.")]
    Down {
        slug: String,
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        sweep: SweepArgs,
    },
    /// Sweep every session, worktree, tagged process and service port.
    #[command(after_help = "\
Examples:
  limier ecluse flush --dry-run
  limier ecluse flush --grace 1s --json")]
    Flush {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        sweep: SweepArgs,
    },
}

#[derive(Debug, Args, Clone)]
pub struct RepoArgs {
    /// The ecluse repository (default: found from the current directory upwards).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// How long to wait for ecluse's state lock.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

/// Clap's adapters over the library's typed values ([`limier::input`]).
pub fn parse_port_list(text: &str) -> Result<PortList, InputError> {
    text.parse()
}

/// A user: a login name or a uid.
pub fn parse_user(text: &str) -> Result<u32, String> {
    limier::platform::uid_of(text).ok_or_else(|| format!("no user named {text:?}"))
}

/// A pid: a positive decimal number.
pub fn parse_pid(text: &str) -> Result<u32, InputError> {
    text.parse::<PidSpec>().map(|pid| u32::from(pid.0))
}

/// `2s`, `500ms`, `1.5`, `1m`.
pub fn parse_duration(text: &str) -> Result<Duration, InputError> {
    text.parse::<DurationSpec>().map(|d| d.0)
}

/// A signal name or number that ends a process.
pub fn parse_signal(text: &str) -> Result<Signal, InputError> {
    text.parse::<SweepSignal>().map(|s| s.0)
}

/// `--signal`'s parser: [`parse_signal`], with the names it takes offered
/// to shell completion (names only: file names are never offered).
#[derive(Debug, Clone, Copy)]
pub struct SignalParser;

impl clap::builder::TypedValueParser for SignalParser {
    type Value = Signal;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Signal, clap::Error> {
        let parse: fn(&str) -> Result<Signal, InputError> = parse_signal;
        clap::builder::TypedValueParser::parse_ref(&parse, cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            ["TERM", "INT", "HUP", "QUIT", "KILL", "USR1", "USR2"]
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// `KEY=VALUE` (the value may be empty, the key may not).
pub fn parse_env_pair(text: &str) -> Result<(String, String), InputError> {
    text.parse::<EnvTag>().map(|tag| (tag.key, tag.value))
}
