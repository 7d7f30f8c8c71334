//! The library's one-call API (`limier::listeners`, `dir_users`,
//! `is_descendant`, `kill_tree`, `port_owner`) on real processes.

use crate::support::*;
use limier::PortOwner;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn listeners_names_every_fork_sharer_and_a_dual_stack_holder_once() {
    let shared = Scenario::start(&["fork-share"]);
    let mut expected = vec![shared.pid("parent"), shared.pid("child")];
    expected.sort_unstable();
    assert_eq!(limier::listeners(shared.port()).unwrap(), expected);

    // One process, an IPv4 and an IPv6 socket on the same port.
    let port = free_port();
    let script = format!(
        "import socket,sys,time\n\
         a=socket.socket(); a.bind(('127.0.0.1',{port})); a.listen()\n\
         b=socket.socket(socket.AF_INET6); b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)\n\
         b.bind(('::1',{port})); b.listen()\n\
         print('ready', flush=True); time.sleep(60)\n"
    );
    let mut child = ChildGuard::spawn(
        Command::new("python3")
            .args(["-c", &script])
            .stdout(Stdio::piped()),
    );
    assert_eq!(child.first_line(), "ready");
    assert_eq!(limier::listeners(port).unwrap(), vec![child.pid()]);
    assert_eq!(limier::listeners(free_port()).unwrap(), Vec::<u32>::new());
}

#[test]
fn dir_users_resolves_symlinks_matches_deleted_dirs_and_leaves_the_caller_out() {
    let (_guard, root) = temp_dir();
    std::fs::create_dir_all(root.join("real/deep/er")).unwrap();
    std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
    let resident = Scenario::start(&["cwd", root.join("real/deep/er").to_str().unwrap()]);
    // The caller holds a file in the tree: it is not a user.
    let _own = std::fs::File::create(root.join("real/mine")).unwrap();
    let users = limier::dir_users(&root.join("link")).unwrap();
    assert_eq!(users, vec![resident.pid("cwd")]);

    std::fs::create_dir(root.join("gone")).unwrap();
    let orphan = Scenario::start(&["cwd", root.join("gone").to_str().unwrap()]);
    std::fs::remove_dir(root.join("gone")).unwrap();
    assert_eq!(
        limier::dir_users(&root.join("gone")).unwrap(),
        vec![orphan.pid("cwd")],
        "a deleted directory is matched by the path it had"
    );
    assert!(matches!(
        limier::dir_users(&root.join("nothing/here")),
        Err(limier::Error::Query(
            limier::query::QueryError::NoSuchDirectory(_)
        ))
    ));
}

#[test]
fn is_descendant_and_port_owner_see_a_six_deep_chain() {
    let chain = Scenario::start(&["chain", "6"]);
    let (top, leaf, port) = (chain.root_pid(), chain.pid("leaf"), chain.port());
    assert!(limier::is_descendant(top, leaf).unwrap());
    assert!(!limier::is_descendant(leaf, top).unwrap());
    assert!(!limier::is_descendant(leaf, leaf).unwrap());
    assert!(!limier::is_descendant(top, 2_000_000_000).unwrap());

    assert_eq!(
        limier::port_owner(top, port).unwrap(),
        PortOwner::Up { listener: leaf }
    );
    assert_eq!(
        limier::port_owner(leaf, port).unwrap(),
        PortOwner::Up { listener: leaf }
    );
    // A sibling of the chain is not the listener's ancestor.
    let sibling = ChildGuard::spawn(Command::new("sleep").arg("60"));
    assert_eq!(
        limier::port_owner(sibling.pid(), port).unwrap(),
        PortOwner::WrongOwner {
            listener: Some(leaf)
        }
    );
    assert_eq!(
        limier::port_owner(top, free_port()).unwrap(),
        PortOwner::Down
    );
    // 0, the kernel, is everyone's ancestor, which proves nothing: a pid
    // file naming it owns no listener.
    assert_eq!(
        limier::port_owner(0, port).unwrap(),
        PortOwner::WrongOwner {
            listener: Some(leaf)
        }
    );
}

#[test]
fn kill_tree_ends_the_group_member_that_was_reparented_to_init() {
    // A group leader whose child forked a sleeper and exited: the sleeper is
    // no longer below the leader, but still in its process group.
    let mut leader = ChildGuard::spawn(
        Command::new("sh")
            .args(["-c", "(sleep 300 & echo $!); exec sleep 301"])
            .stdout(Stdio::piped())
            .process_group(0),
    );
    let sleeper: u32 = leader.first_line().parse().unwrap();
    let leader_pid = leader.pid();
    let report = limier::kill_tree(leader_pid, Duration::from_secs(1)).unwrap();
    let swept: Vec<u32> = report.processes.iter().map(|p| p.pid().0).collect();
    assert!(swept.contains(&leader_pid), "{report:?}");
    assert!(swept.contains(&sleeper), "{report:?}");
    assert_eq!(report.survivor_count(), 0, "{report:?}");
    let _ = leader.0.wait();
    assert!(eventually(Duration::from_secs(3), || !alive(sleeper)));
    // Pid 0 is the kernel: in a container init's group and session are 0.
    for everything in [0, 1] {
        assert!(
            matches!(
                limier::kill_trees(&[everything], Duration::from_secs(1)),
                Err(limier::Error::Sweep(
                    limier::sweep::SweepError::SelectsEverything { .. }
                ))
            ),
            "{everything}"
        );
    }
    assert!(!limier::group_alive(0).unwrap());
    assert!(matches!(
        limier::kill_tree(1, Duration::from_secs(1)),
        Err(limier::Error::Sweep(
            limier::sweep::SweepError::SelectsEverything { .. }
        ))
    ));
}

/// `kill_trees`: two unrelated trees, each a shell with a child, ended by one
/// sweep with one grace; a bystander lives; an empty list ends nothing.
#[test]
fn kill_trees_ends_several_trees_in_one_sweep() {
    let spawn_tree = || {
        ChildGuard::spawn(
            Command::new("sh")
                .args(["-c", "sleep 300 & echo $!; wait"])
                .stdout(Stdio::piped()),
        )
    };
    let (mut first, mut second) = (spawn_tree(), spawn_tree());
    let children: Vec<u32> = vec![
        first.first_line().parse().unwrap(),
        second.first_line().parse().unwrap(),
    ];
    let bystander = ChildGuard::spawn(Command::new("sleep").arg("300"));
    let report = limier::kill_trees(&[first.pid(), second.pid()], Duration::from_secs(1)).unwrap();
    let mut swept: Vec<u32> = report.processes.iter().map(|p| p.pid().0).collect();
    swept.sort_unstable();
    let mut expected = vec![first.pid(), second.pid(), children[0], children[1]];
    expected.sort_unstable();
    assert_eq!(swept, expected, "{report:?}");
    assert_eq!(report.survivor_count(), 0, "{report:?}");
    let _ = (first.0.wait(), second.0.wait());
    for child in children {
        assert!(
            eventually(Duration::from_secs(3), || !alive(child)),
            "{child}"
        );
    }
    assert!(alive(bystander.pid()));
    let nothing = limier::kill_trees(&[], Duration::from_secs(1)).unwrap();
    assert!(nothing.processes.is_empty());
}

/// `kill_started_trees`: a pid file's token that still names the process
/// ends its tree; a token of another start (a reused pid) leaves it alive.
#[test]
fn kill_started_trees_ends_only_the_process_the_token_names() {
    let mut service = ChildGuard::spawn(
        Command::new("sh")
            .args(["-c", "sleep 300 & echo $!; wait"])
            .stdout(Stdio::piped()),
    );
    let child: u32 = service.first_line().parse().unwrap();
    let other = ChildGuard::spawn(Command::new("sleep").arg("300"));
    let token = limier::start_token(service.pid()).unwrap().unwrap();
    let stale = "Thu Jan  1 00:00:00 1970";
    let report = limier::kill_started_trees(
        &[(service.pid(), token.as_str()), (other.pid(), stale)],
        Duration::from_secs(1),
    )
    .unwrap();
    let mut swept: Vec<u32> = report.processes.iter().map(|p| p.pid().0).collect();
    swept.sort_unstable();
    let mut expected = vec![service.pid(), child];
    expected.sort_unstable();
    assert_eq!(swept, expected, "{report:?}");
    let _ = service.0.wait();
    assert!(eventually(Duration::from_secs(3), || !alive(child)));
    assert!(alive(other.pid()), "a stale token selected its pid");
}

/// The answers ecluse asked `kill -0`, `ps` and `pgrep` for, beside those
/// tools, on real processes: a listener with a child, a zombie, a gone pid.
#[test]
fn the_one_calls_answer_what_kill_ps_and_pgrep_answered() {
    let port = free_port();
    // A python listener whose first line is its port, with a child sleep.
    let mut parent = ChildGuard::spawn(
        Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import socket,subprocess,sys,time\n\
                     s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen()\n\
                     c=subprocess.Popen(['sleep','600'])\n\
                     z=subprocess.Popen(['true']); time.sleep(0.3)\n\
                     print(c.pid, z.pid, flush=True); time.sleep(600)"
                ),
            ])
            .stdout(Stdio::piped()),
    );
    let line = parent.first_line();
    let mut pids = line.split_whitespace().map(|p| p.parse::<u32>().unwrap());
    let (child, zombie) = (pids.next().unwrap(), pids.next().unwrap());
    let pid = parent.pid();
    assert!(limier::pid_alive(pid).unwrap());
    assert!(
        !limier::pid_alive(zombie).unwrap(),
        "a zombie serves nothing"
    );
    assert!(!limier::pid_alive(4_000_000).unwrap());
    assert_eq!(limier::listening_ports(pid).unwrap(), vec![port]);
    assert!(limier::listening_ports(child).unwrap().is_empty());
    let mut children = limier::children(pid).unwrap();
    children.sort();
    let mut expected = vec![child, zombie];
    expected.sort();
    assert_eq!(children, expected);
    assert!(limier::children(4_000_000).unwrap().is_empty());
    let cmdline = limier::cmdline(child).unwrap().unwrap();
    assert_eq!(cmdline, "sleep 600");
    assert_eq!(limier::cmdline(4_000_000).unwrap(), None);
    // The pid file token: ps's text matches limier's, and limier's is
    // ps's format (a second either way).
    let token = limier::start_token(child).unwrap().unwrap();
    let ps = ps_lstart(child);
    assert!(
        limier::pid_matches_token(child, &ps).unwrap(),
        "{ps} vs {token}"
    );
    assert!(limier::pid_matches_token(child, &token).unwrap());
    assert!(!limier::pid_matches_token(child, "Thu Jan  1 00:00:00 1970").unwrap());
    assert!(!limier::pid_matches_token(zombie, &token).unwrap());
    assert_eq!(limier::start_token(4_000_000).unwrap(), None);
    // The group the python leads (its own, spawned from the test: the
    // test's group) is alive while a member is.
    let pgid = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = stat.rsplit_once(')')?.1.to_owned();
            rest.split_whitespace().nth(2)?.parse::<u32>().ok()
        })
        .unwrap();
    assert!(limier::group_alive(pgid).unwrap());
    assert!(!limier::group_alive(4_000_000).unwrap());
    // The python and its sleep end together: the sleep would outlive the
    // guard, holding the test's stdout open (a harness piping it waits).
    let report = limier::kill_tree(pid, Duration::from_secs(1)).unwrap();
    assert_eq!(report.survivor_count(), 0, "{report:?}");
    let _ = parent.0.wait();
    assert!(eventually(Duration::from_secs(3), || !alive(child)));
}

#[test]
fn init_as_the_expected_pid_owns_no_descendant_s_port() {
    let scenario = Scenario::start(&["chain", "2"]);
    let port = scenario.port();
    assert_eq!(
        limier::port_owner(1, port).unwrap(),
        PortOwner::WrongOwner {
            listener: Some(scenario.pid("leaf"))
        },
        "a pid file naming init proves nothing about pid 1's descendants"
    );
    assert_eq!(
        limier::port_owner(scenario.root_pid(), port).unwrap(),
        PortOwner::Up {
            listener: scenario.pid("leaf")
        }
    );
}

#[test]
fn a_dossier_without_the_details_layer_is_an_error_not_empty_fields() {
    use limier::snapshot::{capture, CaptureOptions, Layers};
    let scenario = Scenario::start(&["chain", "1"]);
    let leaf = limier::ProcessId(scenario.pid("leaf"));
    let backend = limier::Backend::new().unwrap();
    let mut snapshot = capture(&backend, CaptureOptions::new(Layers::PORTS)).unwrap();
    let err = limier::query::dossier(&snapshot, leaf).unwrap_err();
    assert!(err.to_string().contains("details"), "{err}");
    snapshot.load_details(&backend, &[leaf], false);
    let dossier = limier::query::dossier(&snapshot, leaf).unwrap();
    assert!(
        !dossier.cmdline.is_empty() && dossier.cwd.is_some(),
        "{dossier:?}"
    );
}
