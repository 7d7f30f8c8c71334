//! Attribution, ranking, status and teardown on fixture snapshots, table
//! driven: each case builds a repo (a temporary directory with ecluse's
//! files) and a snapshot by hand, then checks whose each process is, what
//! `status` says and what `down` would sweep and spare.

use super::*;
use crate::snapshot::fixture::SnapshotBuilder;
use crate::snapshot::Snapshot;
use crate::sweep::{plan, Protection, Selection, Selector};
use limier_platform::ProcessId;
use std::path::{Path, PathBuf};

const CONFIG: &str = "mode = \"host\"\nmax_slots = 8\n\n\
    [[services]]\nname = \"web\"\nbase_port = 7300\ncommand = \"pnpm dev\"\n\n\
    [[services]]\nname = \"db\"\nbase_port = 5432\nrun = \"docker\"\n";

/// web listens on 7301 in slot 1 (feat-a), 7302 in slot 2 (feat-b); db
/// (docker) on 5433 and 5434.
const A_WEB: u16 = 7301;
const B_WEB: u16 = 7302;
const B_DB: u16 = 5434;

/// When every fixture session was started: 4 s after the epoch, after
/// the processes of pid 400 and up (a fixture process starts `pid * 10`
/// ms after it), before those below 200 (the slack is 2 s).
const SESSION_STARTED: &str = "1970-01-01T00:00:04Z";

/// A repo on disk: `.ecluse.toml`, state.json listing `active` (started at
/// [`SESSION_STARTED`]), worktree directories for `worktrees`.
struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl World {
    fn new(active: &[(&str, u8)], worktrees: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join(".ecluse.toml"), CONFIG).unwrap();
        for slug in worktrees {
            std::fs::create_dir_all(root.join(".ecluse/worktrees").join(slug)).unwrap();
        }
        let sessions: Vec<String> = active
            .iter()
            .map(|(slug, slot)| {
                format!(
                    "{{\"slug\": \"{slug}\", \"slot\": {slot}, \"started_at\": \"{SESSION_STARTED}\", \"worktree_path\": \"{}\"}}",
                    root.join(".ecluse/worktrees").join(slug).display()
                )
            })
            .collect();
        std::fs::create_dir_all(root.join(".ecluse")).unwrap();
        std::fs::write(
            root.join(".ecluse/state.json"),
            format!(
                "{{\"version\": 1, \"sessions\": [{}]}}",
                sessions.join(", ")
            ),
        )
        .unwrap();
        World { _dir: dir, root }
    }

    fn worktree(&self, slug: &str) -> String {
        self.root
            .join(".ecluse/worktrees")
            .join(slug)
            .to_string_lossy()
            .into_owned()
    }

    fn pid_file(&self, slug: &str, service: &str, text: &str) {
        let dir = self.root.join(".ecluse/pids").join(slug);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{service}.pid")), text).unwrap();
    }

    fn repo(&self) -> Repo {
        Repo::load_unlocked(&self.root).unwrap()
    }
}

/// The start token ecluse writes for a fixture process (started at
/// `pid * 10` ms after the epoch).
fn token_of(pid: u32) -> String {
    lstart_token(&limier_platform::local_time(i64::from(pid) * 10 / 1000).unwrap())
}

/// A token for a start far from the fixture's: a recycled pid.
fn wrong_token() -> String {
    lstart_token(&limier_platform::local_time(86_400 * 365).unwrap())
}

/// What a case expects of one process's owner.
#[derive(Debug, PartialEq)]
enum Whose {
    Nobody,
    Active(&'static str, Rank),
    Ended(&'static str, Rank),
    Conflict(&'static [&'static str]),
}

fn whose(owner: &Owner) -> Whose {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    match owner {
        Owner::Unattributed => Whose::Nobody,
        Owner::Session {
            slug,
            state: SessionState::Active,
            rank,
            ..
        } => Whose::Active(leak(slug), *rank),
        Owner::Session {
            slug,
            state: SessionState::Ended,
            rank,
            ..
        } => Whose::Ended(leak(slug), *rank),
        Owner::Conflict { sessions, .. } => {
            let names: Vec<&'static str> = sessions.iter().map(|s| leak(s)).collect();
            Whose::Conflict(Box::leak(names.into_boxed_slice()))
        }
    }
}

/// One case: the world, the snapshot, and what must come out.
struct Case {
    name: &'static str,
    active: &'static [(&'static str, u8)],
    worktrees: &'static [&'static str],
    setup: fn(&World, &mut SnapshotBuilder),
    owners: &'static [(u32, Whose)],
    /// (session, service, verdict, listener's owner)
    status: &'static [(&'static str, &'static str, Verdict, Option<Whose>)],
    /// (slug, pids swept, pids selected but spared); a process whose
    /// evidence names another session is never swept, selected or not.
    down: &'static [(&'static str, &'static [u32], &'static [u32])],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a session's own service on its own port",
            active: &[("feat-a", 1), ("feat-b", 2)],
            worktrees: &["feat-a", "feat-b"],
            setup: |w, s| {
                s.process(100, 1, "sh")
                    .cwd(100, &w.worktree("feat-a"), false)
                    .env(100, "ECLUSE_SLUG", "feat-a");
                s.process(101, 100, "node")
                    .cwd(101, &w.worktree("feat-a"), false)
                    .env(101, "ECLUSE_SLUG", "feat-a")
                    .listen(101, A_WEB);
            },
            owners: &[
                (100, Whose::Active("feat-a", Rank::Tag)),
                (101, Whose::Active("feat-a", Rank::Tag)),
            ],
            status: &[
                (
                    "feat-a",
                    "web",
                    Verdict::Up,
                    Some(Whose::Active("feat-a", Rank::Tag)),
                ),
                ("feat-b", "web", Verdict::Down, None),
            ],
            down: &[("feat-a", &[100, 101], &[]), ("feat-b", &[], &[])],
        },
        Case {
            name: "an active session's process on another session's port",
            active: &[("feat-a", 1), ("feat-b", 2)],
            worktrees: &["feat-a", "feat-b"],
            setup: |w, s| {
                s.process(201, 1, "python3")
                    .cwd(201, &w.worktree("feat-a"), false)
                    .env(201, "ECLUSE_SLUG", "feat-a")
                    .listen(201, B_WEB);
            },
            owners: &[(201, Whose::Active("feat-a", Rank::Tag))],
            status: &[(
                "feat-b",
                "web",
                Verdict::WrongOwner,
                Some(Whose::Active("feat-a", Rank::Tag)),
            )],
            down: &[("feat-b", &[], &[]), ("feat-a", &[201], &[])],
        },
        Case {
            name: "a leftover of an ended session, its worktree kept",
            active: &[("feat-b", 2)],
            worktrees: &["feat-a", "feat-b"],
            setup: |w, s| {
                s.process(201, 1, "python3")
                    .cwd(201, &w.worktree("feat-a"), false)
                    .env(201, "ECLUSE_SLUG", "feat-a")
                    .listen(201, B_WEB);
                s.process(300, 1, "sh")
                    .cwd(300, &w.worktree("feat-b"), false);
            },
            owners: &[
                (201, Whose::Ended("feat-a", Rank::Tag)),
                (300, Whose::Active("feat-b", Rank::WorktreeUse)),
            ],
            status: &[(
                "feat-b",
                "web",
                Verdict::WrongOwner,
                Some(Whose::Ended("feat-a", Rank::Tag)),
            )],
            down: &[("feat-a", &[201], &[]), ("feat-b", &[300], &[])],
        },
        Case {
            name: "a leftover of an ended session, its worktree removed",
            active: &[("feat-b", 2)],
            worktrees: &["feat-b"],
            setup: |w, s| {
                let gone = format!("{}/src", w.worktree("feat-a"));
                s.process(201, 1, "python3")
                    .cwd(201, &gone, true)
                    .listen(201, B_WEB);
            },
            owners: &[(201, Whose::Ended("feat-a", Rank::WorktreeUse))],
            status: &[(
                "feat-b",
                "web",
                Verdict::WrongOwner,
                Some(Whose::Ended("feat-a", Rank::WorktreeUse)),
            )],
            down: &[("feat-a", &[201], &[]), ("feat-b", &[], &[])],
        },
        Case {
            name: "an open file or a mapping in a worktree is worktree use",
            active: &[("feat-b", 2)],
            worktrees: &["feat-b"],
            setup: |w, s| {
                s.process(901, 1, "vim").cwd(901, "/tmp", false).open(
                    901,
                    &format!("{}/README.md", w.worktree("feat-b")),
                    false,
                );
                s.process(902, 1, "node").cwd(902, "/tmp", false).map(
                    902,
                    &format!("{}/node_modules/addon.node", w.worktree("feat-b")),
                );
            },
            owners: &[
                (901, Whose::Active("feat-b", Rank::WorktreeUse)),
                (902, Whose::Active("feat-b", Rank::WorktreeUse)),
            ],
            status: &[("feat-b", "web", Verdict::Down, None)],
            down: &[("feat-b", &[901, 902], &[])],
        },
        Case {
            name: "a tag without a path in the repo is another repo's slug",
            active: &[("feat-b", 2)],
            worktrees: &["feat-b"],
            setup: |_, s| {
                s.process(301, 1, "node")
                    .cwd(301, "/srv/other-repo", false)
                    .env(301, "ECLUSE_SLUG", "feat-b")
                    .listen(301, B_WEB);
            },
            owners: &[(301, Whose::Nobody)],
            status: &[("feat-b", "web", Verdict::WrongOwner, Some(Whose::Nobody))],
            // No evidence of any session, on feat-b's port: swept as ever.
            down: &[("feat-b", &[301], &[])],
        },
        Case {
            name: "a verified pid file ties its process and descendants",
            active: &[("feat-b", 2)],
            worktrees: &["feat-b"],
            setup: |w, s| {
                w.pid_file("feat-b", "web", &format!("401\n{}\n", token_of(401)));
                s.process(401, 1, "sh").cwd(401, "/tmp", false);
                s.process(402, 401, "node").listen(402, B_WEB);
            },
            owners: &[
                (401, Whose::Active("feat-b", Rank::PidFile)),
                (402, Whose::Active("feat-b", Rank::PidFile)),
            ],
            status: &[(
                "feat-b",
                "web",
                Verdict::Up,
                Some(Whose::Active("feat-b", Rank::PidFile)),
            )],
            down: &[("feat-b", &[401, 402], &[])],
        },
        Case {
            name: "a recycled pid file ties nothing",
            active: &[("feat-b", 2)],
            worktrees: &["feat-b"],
            setup: |w, s| {
                w.pid_file("feat-b", "web", &format!("401\n{}\n", wrong_token()));
                s.process(401, 1, "sh").cwd(401, "/tmp", false);
            },
            owners: &[(401, Whose::Nobody)],
            status: &[("feat-b", "web", Verdict::Down, None)],
            down: &[("feat-b", &[], &[])],
        },
        Case {
            name: "a legacy pid file counts where the worktree agrees",
            active: &[("feat-b", 2)],
            worktrees: &["feat-b"],
            setup: |w, s| {
                w.pid_file("feat-b", "web", "401\n");
                s.process(401, 1, "sh")
                    .cwd(401, &w.worktree("feat-b"), false);
                s.process(402, 401, "node").listen(402, B_WEB);
            },
            owners: &[
                (401, Whose::Active("feat-b", Rank::WorktreeUse)),
                (402, Whose::Active("feat-b", Rank::WorktreeUse)),
            ],
            status: &[(
                "feat-b",
                "web",
                Verdict::Up,
                Some(Whose::Active("feat-b", Rank::WorktreeUse)),
            )],
            down: &[("feat-b", &[401, 402], &[])],
        },
        Case {
            name: "a legacy pid file alone counts for nothing",
            active: &[("feat-b", 2)],
            worktrees: &["feat-b"],
            setup: |w, s| {
                w.pid_file("feat-b", "web", "401\n");
                s.process(401, 1, "sh").cwd(401, "/tmp", false);
            },
            owners: &[(401, Whose::Nobody)],
            status: &[("feat-b", "web", Verdict::Down, None)],
            down: &[("feat-b", &[], &[])],
        },
        Case {
            name: "evidence naming two sessions is a conflict, spared by both",
            active: &[("feat-a", 1), ("feat-b", 2)],
            worktrees: &["feat-a", "feat-b"],
            setup: |w, s| {
                s.process(501, 1, "node")
                    .cwd(501, &w.worktree("feat-b"), false)
                    .env(501, "ECLUSE_SLUG", "feat-a")
                    .listen(501, B_WEB);
            },
            owners: &[(501, Whose::Conflict(&["feat-a", "feat-b"]))],
            status: &[(
                "feat-b",
                "web",
                Verdict::WrongOwner,
                Some(Whose::Conflict(&["feat-a", "feat-b"])),
            )],
            // Selected by feat-b's worktree, spared; listed by both.
            down: &[("feat-a", &[], &[]), ("feat-b", &[], &[501])],
        },
        Case {
            name: "a port alone is no evidence",
            active: &[("feat-a", 1), ("feat-b", 2)],
            worktrees: &["feat-a", "feat-b"],
            setup: |_, s| {
                s.process(601, 1, "python3")
                    .cwd(601, "/home/dev", false)
                    .listen(601, B_WEB);
            },
            owners: &[(601, Whose::Nobody)],
            status: &[("feat-b", "web", Verdict::WrongOwner, Some(Whose::Nobody))],
            down: &[("feat-b", &[601], &[]), ("feat-a", &[], &[])],
        },
        Case {
            name: "docker services are reported, not judged",
            active: &[("feat-b", 2)],
            worktrees: &["feat-b"],
            setup: |_, s| {
                s.process(701, 1, "docker-proxy").listen(701, B_DB);
            },
            owners: &[(701, Whose::Nobody)],
            status: &[("feat-b", "db", Verdict::NotJudged, Some(Whose::Nobody))],
            down: &[("feat-b", &[], &[])],
        },
    ]
}

/// The pids a selection sweeps, and those it selects but spares.
fn swept_and_spared(snapshot: &Snapshot, selection: &Selection) -> (Vec<u32>, Vec<u32>) {
    let plan = plan(snapshot, selection).unwrap();
    let mut swept = Vec::new();
    let mut spared = Vec::new();
    for target in &plan.targets {
        match &target.spare {
            None => swept.push(target.identity.pid.0),
            Some(_) => spared.push(target.identity.pid.0),
        }
    }
    (swept, spared)
}

#[test]
fn attribution_status_and_teardown_on_fixture_snapshots() {
    for case in cases() {
        let world = World::new(case.active, case.worktrees);
        let mut builder = SnapshotBuilder::new();
        (case.setup)(&world, &mut builder);
        let snapshot = builder.build();
        let repo = world.repo();
        let attribution = Attribution::build(&snapshot, &repo, &[]);
        for (pid, expected) in case.owners {
            let owner = attribution.owner(ProcessId(*pid));
            assert_eq!(&whose(&owner), expected, "{}: owner of {pid}", case.name);
        }
        let sessions = status(&snapshot, &repo, &attribution, None).unwrap();
        for (slug, service, verdict, listener) in case.status {
            let found = sessions
                .iter()
                .find(|s| s.slug == *slug)
                .and_then(|s| s.services.iter().find(|v| v.name == *service))
                .unwrap_or_else(|| panic!("{}: no {slug}/{service}", case.name));
            assert_eq!(found.verdict, *verdict, "{}: {slug}/{service}", case.name);
            assert_eq!(
                found.listener_session.as_ref().map(whose),
                *listener,
                "{}: {slug}/{service} listener",
                case.name
            );
        }
        for (slug, swept, spared) in case.down {
            let attribution = Attribution::build(&snapshot, &repo, &[slug.to_string()]);
            let plan = down_selection(&snapshot, &attribution, slug)
                .unwrap_or_else(|e| panic!("{}: down {slug}: {e}", case.name));
            let (got_swept, got_spared) = swept_and_spared(&snapshot, &plan.selection);
            assert_eq!(&got_swept, swept, "{}: down {slug} sweeps", case.name);
            assert_eq!(&got_spared, spared, "{}: down {slug} spares", case.name);
            // A conflict naming this session is listed, never resolved.
            for (pid, expected) in case.owners {
                if let Whose::Conflict(sessions) = expected {
                    if sessions.contains(slug) {
                        assert!(
                            plan.skipped
                                .iter()
                                .any(|s| s.starts_with(&format!("pid {pid}: conflict: "))),
                            "{}: down {slug} lists the conflict: {:?}",
                            case.name,
                            plan.skipped
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_session_that_left_a_trace_is_known_and_how() {
    let world = World::new(&[("feat-b", 2)], &["feat-b", "kept"]);
    world.pid_file("pidonly", "web", "4242\n");
    let mut builder = SnapshotBuilder::new();
    builder.process(201, 1, "python3").cwd(
        201,
        &format!("{}/src", world.worktree("removed")),
        true,
    );
    builder
        .process(202, 1, "node")
        .cwd(202, world.root.to_str().unwrap(), false)
        .env(202, "ECLUSE_SLUG", "tagged");
    let snapshot = builder.build();
    let attribution = Attribution::build(&snapshot, &world.repo(), &[]);
    let found: Vec<(&str, SessionState, Vec<Trace>)> = attribution
        .sessions
        .iter()
        .map(|s| (s.slug.as_str(), s.state, s.traces.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "feat-b",
                SessionState::Active,
                vec![Trace::StateFile, Trace::WorktreeDir]
            ),
            ("kept", SessionState::Ended, vec![Trace::WorktreeDir]),
            ("pidonly", SessionState::Ended, vec![Trace::PidFiles]),
            ("removed", SessionState::Ended, vec![Trace::DeletedWorktree]),
            ("tagged", SessionState::Ended, vec![Trace::Tag]),
        ]
    );
    // The pid file of a session with nothing else left names a dead pid.
    assert_eq!(
        attribution.pid_files[&PidFileKey::new("pidonly", "web")],
        PidFileCheck::Dead {
            pid: ProcessId(4242)
        }
    );
    // A slug that left nothing: no such session.
    let nothing = Attribution::build(&snapshot, &world.repo(), &["never".into()]);
    assert!(matches!(
        down_selection(&snapshot, &nothing, "never"),
        Err(EcluseError::NoSuchSession(_))
    ));
}

#[test]
fn ranks_order_evidence_and_the_owner_says_it_in_data_and_words() {
    let world = World::new(&[("feat-a", 1)], &["feat-a"]);
    world.pid_file("feat-a", "web", &format!("100\n{}\n", token_of(100)));
    let mut builder = SnapshotBuilder::new();
    builder
        .process(100, 1, "node")
        .cwd(100, &world.worktree("feat-a"), false)
        .env(100, "ECLUSE_SLUG", "feat-a");
    let snapshot = builder.build();
    let attribution = Attribution::build(&snapshot, &world.repo(), &[]);
    let ranks: Vec<Rank> = attribution
        .evidence(ProcessId(100))
        .iter()
        .map(|e| e.rank)
        .collect();
    assert_eq!(ranks, [Rank::PidFile, Rank::Tag, Rank::WorktreeUse]);
    assert!(Rank::PidFile > Rank::Tag && Rank::Tag > Rank::WorktreeUse);
    let owner = attribution.owner(ProcessId(100));
    assert_eq!(
        owner.to_string(),
        "session feat-a (pid file of web, tagged ECLUSE_SLUG, cwd in its worktree)"
    );
    let json = serde_json::to_value(&owner).unwrap();
    assert_eq!(json["owner"], "session");
    assert_eq!(json["slug"], "feat-a");
    assert_eq!(json["ended"], false);
    assert_eq!(json["rank"], "pid_file");
    assert_eq!(json["evidence"][0]["kind"], "pid_file");
    assert_eq!(json["evidence"][0]["service"], "web");
    assert_eq!(json["evidence"][1]["kind"], "tag");
    assert_eq!(json["evidence"][2]["kind"], "worktree");
    assert_eq!(json["evidence"][2]["use"]["kind"], "cwd");
    assert_eq!(
        Path::new(json["evidence"][2]["path"].as_str().unwrap()),
        Path::new(&world.worktree("feat-a"))
    );
}

#[test]
fn flush_takes_every_session_and_native_port_but_no_docker_port() {
    let world = World::new(&[("feat-b", 2)], &["feat-a", "feat-b"]);
    let mut builder = SnapshotBuilder::new();
    builder
        .process(201, 1, "python3")
        .cwd(201, &world.worktree("feat-a"), false)
        .listen(201, B_WEB);
    builder
        .process(300, 1, "sh")
        .cwd(300, &world.worktree("feat-b"), false);
    builder.process(701, 1, "docker-proxy").listen(701, B_DB);
    builder.process(800, 1, "bash").cwd(800, "/home/dev", false);
    let snapshot = builder.build();
    let repo = world.repo();
    let attribution = Attribution::build(&snapshot, &repo, &[]);
    let plan = flush_selection(&snapshot, &repo, &attribution);
    let (swept, spared) = swept_and_spared(&snapshot, &plan.selection);
    assert_eq!(swept, [201, 300]);
    assert!(spared.is_empty(), "{spared:?}");
    assert!(
        plan.skipped
            .iter()
            .any(|s| s.contains("docker") && s.contains("5434")),
        "{:?}",
        plan.skipped
    );
}

/// A pid file is evidence with limits: naming init or limier's own shell,
/// it selects nothing (not the process, not below it); naming a process
/// that started before the session and carries neither its tag nor its
/// worktree, it is a note, not a kill; and its descendants are not taken
/// through a protected process.
#[test]
fn a_pid_file_never_reaches_past_what_it_proves() {
    let world = World::new(&[("feat-b", 2)], &["feat-b"]);
    let mut builder = SnapshotBuilder::new();
    // init's other children; limier's shell (50) with another child (51).
    builder.process(600, 1, "cron");
    builder.process(50, 1, "bash");
    builder.parent(fixture_self(), 50);
    builder.process(51, 50, "vim");
    // An old process (started at 1.5 s, before the session), untagged.
    builder.process(150, 1, "postgres");
    builder.process(601, 150, "postgres");
    builder.process(700, 1, "tmux: server");
    let protected_cases = [
        ("init", 1u32, Protection::Init),
        (
            "shell",
            50,
            Protection::AncestorOfLimier(ProcessId(fixture_self())),
        ),
    ];
    for (service, pid, _) in protected_cases {
        world.pid_file("feat-b", service, &format!("{pid}\n{}\n", token_of(pid)));
    }
    world.pid_file("feat-b", "db", &format!("150\n{}\n", token_of(150)));
    let snapshot = builder.build();
    let repo = world.repo();
    let attribution = Attribution::build(&snapshot, &repo, &[]);
    for (service, pid, why) in protected_cases {
        let check = &attribution.pid_files[&PidFileKey::new("feat-b", service)];
        assert!(
            matches!(check, PidFileCheck::Protected { pid: p, why: w } if p.0 == pid && *w == why),
            "{service}: {check:?}"
        );
    }
    assert_eq!(
        attribution.pid_files[&PidFileKey::new("feat-b", "db")],
        PidFileCheck::Implausible {
            pid: ProcessId(150)
        }
    );
    for pid in [1, 50, 51, 150, 600, 601, 700, fixture_self()] {
        assert_eq!(
            whose(&attribution.owner(ProcessId(pid))),
            Whose::Nobody,
            "owner of {pid}"
        );
    }
    for needle in [
        "is init (pid 1)",
        "ancestor of limier",
        "started before session feat-b",
    ] {
        assert!(
            attribution.skipped.iter().any(|line| line.contains(needle)),
            "{needle}: {:?}",
            attribution.skipped
        );
    }
    let teardown = down_selection(&snapshot, &attribution, "feat-b").unwrap();
    let (swept, spared) = swept_and_spared(&snapshot, &teardown.selection);
    assert!(swept.is_empty(), "swept {swept:?}");
    assert!(spared.is_empty(), "spared {spared:?}");
}

/// A verified pid file's descendants stop at a protected process: limier,
/// run by an ordinary user (1000), takes no evidence through another
/// user's process (a setuid helper below the service), nor below it; and a
/// service that is limier's own ancestor is protected whole.
#[test]
fn a_pid_file_subtree_stops_at_a_protected_process() {
    let world = World::new(&[("feat-b", 2)], &["feat-b"]);
    world.pid_file("feat-b", "web", &format!("401\n{}\n", token_of(401)));
    world.pid_file("feat-b", "api", &format!("420\n{}\n", token_of(420)));
    let mut builder = SnapshotBuilder::new();
    builder.process(401, 1, "node");
    builder.process(402, 401, "esbuild");
    builder.process(450, 401, "sudo").uid(450, 0);
    builder.process(451, 450, "vim");
    builder.process(420, 1, "node");
    builder.process(421, 420, "bash");
    builder.parent(fixture_self(), 421);
    let snapshot = builder.build();
    let attribution = Attribution::build(&snapshot, &world.repo(), &[]);
    assert_eq!(
        whose(&attribution.owner(ProcessId(402))),
        Whose::Active("feat-b", Rank::PidFile)
    );
    assert!(matches!(
        &attribution.pid_files[&PidFileKey::new("feat-b", "api")],
        PidFileCheck::Protected {
            why: Protection::AncestorOfLimier(_),
            ..
        }
    ));
    for pid in [450, 451, 420, 421, fixture_self()] {
        assert_eq!(
            whose(&attribution.owner(ProcessId(pid))),
            Whose::Nobody,
            "owner of {pid}"
        );
    }
}

/// A state.json whose worktree_path lies outside the repo's worktrees (and
/// is no git worktree of it) gives no evidence and is never swept.
#[test]
fn a_worktree_path_outside_the_repo_is_refused() {
    let world = World::new(&[("feat-b", 2)], &["feat-b"]);
    let state = format!(
        "{{\"version\": 1, \"sessions\": [{{\"slug\": \"feat-b\", \"slot\": 2, \"started_at\": \"{SESSION_STARTED}\", \"worktree_path\": \"/usr\"}}]}}"
    );
    std::fs::write(world.root.join(".ecluse/state.json"), state).unwrap();
    let mut builder = SnapshotBuilder::new();
    builder.process(500, 1, "bash").cwd(500, "/usr/lib", false);
    builder
        .process(501, 1, "python3")
        .map(501, "/usr/lib/libc.so.6");
    let snapshot = builder.build();
    let repo = world.repo();
    let attribution = Attribution::build(&snapshot, &repo, &[]);
    for pid in [500, 501] {
        assert_eq!(whose(&attribution.owner(ProcessId(pid))), Whose::Nobody);
    }
    assert!(
        attribution
            .skipped
            .iter()
            .any(|s| s.contains("/usr is neither below worktree_dir")),
        "{:?}",
        attribution.skipped
    );
    let teardown = down_selection(&snapshot, &attribution, "feat-b").unwrap();
    assert!(!teardown
        .selection
        .selectors
        .iter()
        .any(|s| matches!(s, crate::sweep::Selector::Dir(_))));
    let (swept, _) = swept_and_spared(&snapshot, &teardown.selection);
    assert!(swept.is_empty(), "{swept:?}");
}

fn fixture_self() -> u32 {
    crate::snapshot::fixture::SELF_PID
}

/// A `down` that keeps the worktree sweeps what a pid file or the tag
/// names, and spares a process tied by worktree use alone (an editor left
/// there) and an unattributed holder of the session's port; without
/// keeping it, both are swept.
#[test]
fn keeping_the_worktree_spares_worktree_use_alone_and_port_squatters() {
    let world = World::new(&[("feat-b", 2)], &["feat-b"]);
    let mut builder = SnapshotBuilder::new();
    // 400: the pid file's service; 410: a tagged setsid child; 420: an
    // editor with its cwd in the worktree; 430: an untagged squatter on
    // feat-b's web port, its cwd elsewhere.
    builder
        .process(400, 1, "node")
        .cwd(400, &world.worktree("feat-b"), false);
    builder
        .process(410, 1, "workerd")
        .cwd(410, &world.worktree("feat-b"), false)
        .env(410, "ECLUSE_SLUG", "feat-b");
    builder
        .process(420, 1, "vim")
        .cwd(420, &world.worktree("feat-b"), false);
    builder
        .process(430, 1, "python3")
        .cwd(430, "/srv", false)
        .listen(430, B_WEB);
    world.pid_file("feat-b", "web", &format!("400\n{}\n", token_of(400)));
    let snapshot = builder.build();
    let repo = world.repo();
    let attribution = Attribution::build(&snapshot, &repo, &["feat-b".to_string()]);
    let whole = down_selection(&snapshot, &attribution, "feat-b").unwrap();
    let (swept, _) = swept_and_spared(&snapshot, &whole.selection);
    assert_eq!(swept, [400, 410, 420, 430]);
    let kept = crate::ecluse::keeping_worktree(whole, &attribution);
    assert!(!kept
        .selection
        .selectors
        .iter()
        .any(|s| matches!(s, Selector::Dir(_))));
    let (swept, _) = swept_and_spared(&snapshot, &kept.selection);
    assert_eq!(swept, [400, 410]);
    assert_eq!(
        kept.selection.spare[&ProcessId(420)],
        crate::sweep::Exclusion::KeptWorktree
    );
    assert!(kept.selection.spare[&ProcessId(420)]
        .to_string()
        .contains("kept worktree"));
    assert_eq!(
        kept.selection.spare[&ProcessId(430)],
        crate::sweep::Exclusion::UnattributedPortHolder
    );
    assert!(kept.selection.spare[&ProcessId(430)]
        .to_string()
        .contains("no evidence"));
}
