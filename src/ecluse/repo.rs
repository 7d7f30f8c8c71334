//! Finding and loading an ecluse repository.

use super::{Config, EcluseError, PidFile, State};
use limier_platform::{read_capped, LastLink};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest state.json read (about 400,000 sessions); a larger one is an
/// error, not an hour of parsing or a machine out of memory.
pub const STATE_CAP: u64 = 64 << 20;
/// The largest pid file read: a pid and a start token take under 40 bytes.
pub const PID_FILE_CAP: u64 = 512;
/// The largest `.ecluse.toml` read.
pub const CONFIG_CAP: u64 = 1 << 20;

/// An ecluse repository: its root, configuration and state.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The directory holding `.ecluse.toml`.
    pub root: PathBuf,
    /// `.ecluse.toml`, parsed.
    pub config: Config,
    /// `.ecluse/state.json`, parsed.
    pub state: State,
}

impl Repo {
    /// Finds the repository around `start`: the nearest directory holding
    /// `.ecluse.toml`, or, from inside a worktree, the root above it.
    pub fn discover(start: &Path, lock_timeout: Duration) -> Result<Repo, EcluseError> {
        let start = std::fs::canonicalize(start).map_err(|source| EcluseError::Io {
            path: start.to_owned(),
            source,
        })?;
        let candidates: Vec<&Path> = start
            .ancestors()
            .filter(|dir| dir.join(".ecluse.toml").is_file())
            .collect();
        let nearest = *candidates
            .first()
            .ok_or_else(|| EcluseError::NotARepo(start.clone()))?;
        // A worktree holds its own copy of .ecluse.toml; the root is the
        // ancestor whose worktree_dir contains it.
        for &outer in &candidates[1..] {
            if let Ok(config) = load_config(outer) {
                if crate::snapshot::is_at_or_below(nearest, &outer.join(&config.worktree_dir)) {
                    return Repo::load(outer, lock_timeout);
                }
            }
        }
        Repo::load(nearest, lock_timeout)
    }

    /// [`discover`](Self::discover) that cannot hang on a dead mount: the
    /// `.ecluse.toml` candidates around `start` are first asked about in a
    /// process limier leaves behind (see
    /// [`regular_files_within`](limier_platform::regular_files_within)),
    /// waiting at most `patience`; only when one is there is the repo read.
    pub fn discover_within(
        start: &Path,
        patience: Duration,
        lock_timeout: Duration,
    ) -> Result<Repo, EcluseError> {
        let absolute = std::env::current_dir()
            .map(|cwd| cwd.join(start))
            .unwrap_or_else(|_| start.to_owned());
        let candidates: Vec<PathBuf> = crate::query::normalize(&absolute)
            .ancestors()
            .map(|dir| dir.join(".ecluse.toml"))
            .collect();
        let candidates: Vec<&Path> = candidates.iter().map(PathBuf::as_path).collect();
        match limier_platform::regular_files_within(&candidates, patience) {
            None => Err(EcluseError::Unanswered {
                dir: absolute,
                patience_ms: patience.as_millis(),
            }),
            Some(kinds) if !kinds.contains(&true) => Err(EcluseError::NotARepo(absolute)),
            Some(_) => Repo::discover(start, lock_timeout),
        }
    }

    /// Loads the repository rooted at `root`; state.json is read under a
    /// shared lock on `.ecluse/state.lock`, waiting at most `lock_timeout`.
    pub fn load(root: &Path, lock_timeout: Duration) -> Result<Repo, EcluseError> {
        let lock_path = root.join(".ecluse").join("state.lock");
        let _lock = limier_platform::lock_shared(&lock_path, lock_timeout)?;
        Repo::load_unlocked(root)
    }

    /// Loads the repository rooted at `root` without taking ecluse's lock:
    /// for a caller that holds it already (ecluse itself, which locks
    /// state.lock exclusively while it works).
    pub fn load_unlocked(root: &Path) -> Result<Repo, EcluseError> {
        let config = load_config(root)?;
        let state_path = root.join(".ecluse").join("state.json");
        // ecluse writes state.json itself, never as a link: a FIFO, a link
        // to /dev/zero or a flood is refused, never waited on or read
        // without end.
        let state = match read_capped(&state_path, STATE_CAP, LastLink::Refuse) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| EcluseError::Invalid {
                    path: state_path.clone(),
                    reason: "not UTF-8 text".into(),
                })?;
                State::parse(&text).map_err(|reason| EcluseError::Invalid {
                    path: state_path,
                    reason,
                })?
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => State {
                version: 1,
                sessions: Vec::new(),
            },
            Err(source) => {
                return Err(EcluseError::Io {
                    path: state_path,
                    source,
                })
            }
        };
        let repo = Repo {
            root: root.to_owned(),
            config,
            state,
        };
        repo.refuse_oversized_pid_files()?;
        Ok(repo)
    }

    /// A pid file over [`PID_FILE_CAP`] is no pid file ecluse wrote: an
    /// error naming it, before anything is attributed. Only `lstat` is
    /// asked (a FIFO or a link is not opened here; reading skips it, named).
    fn refuse_oversized_pid_files(&self) -> Result<(), EcluseError> {
        let pids = self.root.join(".ecluse").join("pids");
        for slug in subdirectories(&pids) {
            let Ok(entries) = std::fs::read_dir(pids.join(slug)) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                let oversized = path.extension().is_some_and(|x| x == "pid")
                    && std::fs::symlink_metadata(&path)
                        .is_ok_and(|m| m.is_file() && m.len() > PID_FILE_CAP);
                if oversized {
                    return Err(EcluseError::Invalid {
                        path,
                        reason: format!(
                            "is larger than {PID_FILE_CAP} bytes; not a pid file ecluse wrote"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// A repository from configuration and state the caller already loaded
    /// (parsed with [`Config::parse`] and [`State::parse`]); nothing is read
    /// and no lock is taken.
    ///
    /// ```
    /// use limier::ecluse::{Config, Repo, State};
    /// let config = Config::parse("mode = \"host\"\n[[services]]\nname = \"web\"\nbase_port = 7300\ncommand = \"npm run dev\"\n")?;
    /// let state = State::parse(r#"{"version": 1, "sessions": []}"#)?;
    /// let repo = Repo::from_parts("/repo".as_ref(), config, state);
    /// assert_eq!(repo.worktree_for("feat-b"), std::path::Path::new("/repo/.ecluse/worktrees/feat-b"));
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_parts(root: &Path, config: Config, state: State) -> Repo {
        Repo {
            root: root.to_owned(),
            config,
            state,
        }
    }

    /// `<root>/<worktree_dir>`.
    pub fn worktree_root(&self) -> PathBuf {
        self.root.join(&self.config.worktree_dir)
    }

    /// How to capture for ecluse's questions: every layer, except the
    /// mappings of a process that uses a worktree already by its cwd, root,
    /// exe or an open fd, and mapped files outside the repo. Mappings are the
    /// costliest layer to read, and for such a process they could add only
    /// more worktree use — evidence of the weakest kind, which it has. (A
    /// process in one worktree mapping a file of another is therefore not
    /// seen as a conflict.) Evidence never comes from a file outside the
    /// repo and its worktrees.
    pub fn capture_options(&self) -> crate::snapshot::CaptureOptions {
        let mut options = crate::snapshot::CaptureOptions::new(crate::snapshot::Layers::ALL);
        let mut dirs = vec![crate::query::normalize(&self.worktree_root())];
        for session in &self.state.sessions {
            let path = crate::query::normalize(&session.worktree_path);
            if !dirs
                .iter()
                .any(|dir| crate::snapshot::is_at_or_below(&path, dir))
            {
                dirs.push(path);
            }
        }
        // Evidence comes from paths in the repo and in the worktrees: where
        // every worktree lies in the repo (ecluse's default), only mapped
        // files below the repo are read.
        let root = crate::query::normalize(&self.root);
        if dirs
            .iter()
            .all(|dir| crate::snapshot::is_at_or_below(dir, &root))
        {
            options.maps_only_below = vec![root];
        }
        options.maps_needless_below = dirs;
        options
    }

    /// [`capture_options`](Self::capture_options) for a capture a teardown
    /// sweeps from (`down`, `flush`): each process held by its pidfs inode
    /// from its first read ([`CaptureOptions::pin`](crate::snapshot::CaptureOptions::pin)).
    pub fn teardown_capture_options(&self) -> crate::snapshot::CaptureOptions {
        let mut options = self.capture_options();
        options.pin = true;
        options
    }

    /// The port `service` listens on in `session`: the override state.json
    /// records (ecluse moved the port off a taken one), else ecluse's
    /// formula (`base + slot * stride`); `None` for a service with no port.
    /// The one place the port plan is decided.
    pub fn service_port(&self, session: &super::Session, service: &super::Service) -> Option<u16> {
        session
            .port_overrides
            .get(&service.name)
            .copied()
            .or_else(|| service.port(session.slot, self.config.stride()))
    }

    /// The worktree a slug gets by convention (used when state.json no longer lists it).
    pub fn worktree_for(&self, slug: &str) -> PathBuf {
        self.worktree_root().join(slug)
    }

    /// `<root>/.ecluse/pids/<slug>/`.
    pub fn pid_dir(&self, slug: &str) -> PathBuf {
        self.root.join(".ecluse").join("pids").join(slug)
    }

    /// Every pid file of a slug: `(service, path, parsed or why not)`.
    pub fn pid_files(&self, slug: &str) -> Vec<(String, PathBuf, Result<PidFile, String>)> {
        let listed = self
            .state
            .sessions
            .iter()
            .filter(|s| s.slug == slug)
            .flat_map(|s| s.pid_files.iter());
        self.pid_files_listed(slug, listed)
    }

    /// [`pid_files`](Self::pid_files), given the paths state.json lists for
    /// the slug (a caller asking for every session looks them up once, not
    /// once per session).
    pub(crate) fn pid_files_listed<'a>(
        &self,
        slug: &str,
        listed: impl Iterator<Item = &'a PathBuf>,
    ) -> Vec<(String, PathBuf, Result<PidFile, String>)> {
        let mut paths: Vec<PathBuf> = listed.cloned().collect();
        if let Ok(entries) = std::fs::read_dir(self.pid_dir(slug)) {
            paths.extend(
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "pid")),
            );
        }
        paths.sort();
        paths.dedup();
        let own_dir = crate::query::normalize(&self.pid_dir(slug));
        paths
            .into_iter()
            .filter_map(|path| {
                let service = path.file_stem()?.to_string_lossy().into_owned();
                // A listed path elsewhere (`/dev/ttyS0`, a file on a dead
                // mount) is never opened.
                if crate::query::normalize(&path).parent() != Some(own_dir.as_path()) {
                    let reason = format!("not in {}: not read", own_dir.display());
                    return Some((service, path, Err(reason)));
                }
                let parsed = match read_capped(&path, PID_FILE_CAP, LastLink::Refuse) {
                    Ok(bytes) => match std::str::from_utf8(&bytes) {
                        Ok(text) => PidFile::parse(text),
                        Err(_) => Err("not UTF-8 text".to_owned()),
                    },
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
                    Err(err) => Err(err.to_string()),
                };
                Some((service, path, parsed))
            })
            .collect()
    }

    /// The repository's git worktrees, as git records them
    /// (`.git/worktrees/*/gitdir`, each naming `<worktree>/.git`); nothing
    /// is run.
    pub fn git_worktrees(&self) -> Vec<PathBuf> {
        let admin = self.root.join(".git").join("worktrees");
        subdirectories(&admin)
            .into_iter()
            .filter_map(|name| {
                let gitdir = admin.join(name).join("gitdir");
                let bytes = read_capped(&gitdir, 4096, LastLink::Refuse).ok()?;
                let text = String::from_utf8(bytes).ok()?;
                let dot_git = PathBuf::from(text.trim_end_matches(['\n', '\r']));
                let worktree = dot_git.parent()?;
                (dot_git.file_name()? == ".git").then(|| crate::query::normalize(worktree))
            })
            .collect()
    }

    /// What decides whether a session's worktree may be swept or taken as
    /// evidence, read once for all sessions (see [`WorktreeRules::check`]).
    pub fn worktree_rules(&self) -> WorktreeRules {
        WorktreeRules {
            root: crate::query::normalize(&self.worktree_root()),
            root_refused: self.worktree_root_refused(),
            git_worktrees: self.git_worktrees(),
        }
    }

    /// Why `worktree_dir` may not be swept or taken as evidence, if so: it
    /// is the repo itself or above it (`..`, `/`), or a system directory or a
    /// home itself (`/tmp` is not one, but `/usr` is). `.ecluse.toml` may come
    /// from anyone who can commit to the repo.
    pub fn worktree_root_refused(&self) -> Option<String> {
        let root = crate::query::normalize(&self.worktree_root());
        let repo = crate::query::normalize(&self.root);
        if crate::snapshot::is_at_or_below(&repo, &root) {
            return Some(format!(
                "worktree_dir {} is the repo or above it",
                root.display()
            ));
        }
        let home = limier_platform::home_dir(limier_platform::effective_uid());
        crate::sweep::system_dir(&root, home.as_deref())
            .map(|what| format!("worktree_dir {} is {what}", root.display()))
    }

    /// Slugs with a directory under `.ecluse/pids`.
    pub fn pid_slugs(&self) -> Vec<String> {
        subdirectories(&self.root.join(".ecluse").join("pids"))
    }

    /// Slugs with a directory under worktree_dir (sessions ecluse may have forgotten).
    pub fn worktree_slugs(&self) -> Vec<String> {
        subdirectories(&self.worktree_root())
    }
}

/// Which worktrees a session may have: below the repo's `worktree_dir`
/// (unless that is refused, see [`Repo::worktree_root_refused`]), or one of
/// its git worktrees.
#[derive(Debug, Clone)]
pub struct WorktreeRules {
    /// `worktree_dir`, absolute and normalised.
    pub root: PathBuf,
    /// Why `worktree_dir` itself may not be used, if so.
    pub root_refused: Option<String>,
    /// The repo's git worktrees ([`Repo::git_worktrees`]).
    pub git_worktrees: Vec<PathBuf>,
}

impl WorktreeRules {
    /// `Ok` when `worktree` lies below a usable `worktree_dir` or is one of
    /// the git worktrees; `Err` says what it is otherwise.
    pub fn check(&self, worktree: &Path) -> Result<(), String> {
        let path = crate::query::normalize(worktree);
        let below = crate::snapshot::is_at_or_below(&path, &self.root) && path != self.root;
        if (below && self.root_refused.is_none()) || self.git_worktrees.contains(&path) {
            return Ok(());
        }
        Err(format!(
            "{} is neither below worktree_dir ({}) nor a git worktree of the repo",
            path.display(),
            self.root.display()
        ))
    }
}

/// The names of the directories in `dir`, sorted (none if it cannot be read).
fn subdirectories(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn load_config(root: &Path) -> Result<Config, EcluseError> {
    let path = root.join(".ecluse.toml");
    let bytes =
        read_capped(&path, CONFIG_CAP, LastLink::Follow).map_err(|source| EcluseError::Io {
            path: path.clone(),
            source,
        })?;
    let text = String::from_utf8(bytes).map_err(|_| EcluseError::Invalid {
        path: path.clone(),
        reason: "not UTF-8 text".into(),
    })?;
    Config::parse(&text).map_err(|reason| EcluseError::Invalid { path, reason })
}
