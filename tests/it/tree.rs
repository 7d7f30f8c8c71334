//! `limier tree` and `limier snapshot`.

use crate::support::*;
use serde_json::Value;

#[test]
fn tree_of_a_chain_nests_every_level_and_shows_the_port() {
    let scenario = Scenario::start(&["chain", "5"]);
    let root = scenario.pids("link")[0];
    let (report, code) = limier_json(&["tree", &root.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(report["schema_version"], 1, "{report}");
    let mut node: &Value = &report["roots"][0];
    let mut path = vec![];
    loop {
        path.push(node["pid"].as_u64().unwrap() as u32);
        match node["children"].as_array().unwrap().as_slice() {
            [] => break,
            [only] => node = only,
            many => panic!("a chain has one child per level: {many:?}"),
        }
    }
    let mut expected = scenario.pids("link");
    expected.push(scenario.pid("leaf"));
    assert_eq!(path, expected);
    assert_eq!(node["listening"][0], format!("{}/tcp", scenario.port()));

    let human = String::from_utf8_lossy(&limier(&["tree", &root.to_string()]).stdout).into_owned();
    assert_eq!(human.lines().count(), 5, "{human}");
    assert!(
        human
            .lines()
            .last()
            .unwrap()
            .contains(&format!(":{}/tcp", scenario.port())),
        "{human}"
    );
    // Each line shows the arguments; the root names its user, and no child
    // repeats it (the owner does not change down the chain).
    let me = limier::platform::user_name(limier::platform::effective_uid()).unwrap();
    let first = human.lines().next().unwrap();
    assert!(first.contains("scenario.py chain 5"), "{first}");
    assert!(first.contains(&format!("[user {me} ")), "{first}");
    assert_eq!(human.matches("[user ").count(), 1, "{human}");
    assert_eq!(node["user"], me.as_str(), "{node}");
}

#[test]
fn snapshot_json_holds_processes_fds_and_sockets() {
    let scenario = Scenario::start(&["chain", "1"]);
    let leaf = scenario.pid("leaf");
    let (snapshot, code) = limier_json(&["snapshot", "--environ"]);
    assert_eq!(code, 0);
    let process = snapshot["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == leaf)
        .expect("leaf in snapshot");
    let socket_inodes: Vec<u64> = process["fds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|fd| fd["target"]["kind"] == "socket")
        .map(|fd| fd["target"]["inode"].as_u64().unwrap())
        .collect();
    let listening = snapshot["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_port"] == scenario.port() && s["state"] == "LISTEN")
        .expect("the listener in the socket table");
    assert!(socket_inodes.contains(&listening["inode"].as_u64().unwrap()));
    assert!(process["environ"].as_array().is_some());
    assert!(!process["maps"].as_array().unwrap().is_empty());
}

#[test]
fn snapshot_json_shows_environments_only_when_asked() {
    let scenario = Scenario::start(&["chain", "1"]);
    let leaf = scenario.pid("leaf");
    let (snapshot, code) = limier_json(&["snapshot"]);
    assert_eq!(code, 0);
    assert_eq!(
        snapshot["layers"]["environ"], false,
        "{}",
        snapshot["layers"]
    );
    let process = snapshot["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == leaf)
        .expect("the leaf in the snapshot");
    assert!(process.get("environ").is_none(), "{process}");
    assert!(
        snapshot["processes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("environ").is_none()),
        "an environment was shown without --environ"
    );
}

/// Finds the node of `pid` in a `tree --json` forest.
#[cfg(target_os = "linux")]
fn node_of(forest: &Value, pid: u32) -> Option<&Value> {
    forest.as_array()?.iter().find_map(|node| {
        if node["pid"] == pid {
            Some(node)
        } else {
            node_of(&node["children"], pid)
        }
    })
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn a_tmux_server_is_not_an_orphan_and_every_view_agrees_on_its_escapee() {
    if !std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipped: needs tmux (.ci/run installs it)");
        return;
    }
    let (_guard, root) = temp_dir();
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", "limier-orphans", "-f", "/dev/null"])
            .args(args)
            .env("TMUX_TMPDIR", &root)
            .env("TERM", "xterm")
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .output()
            .unwrap()
    };
    struct KillServer<'a>(&'a dyn Fn(&[&str]) -> std::process::Output);
    impl Drop for KillServer<'_> {
        fn drop(&mut self) {
            (self.0)(&["kill-server"]);
        }
    }
    let _server_guard = KillServer(&tmux);
    assert!(tmux(&["new-session", "-d", "-s", "keep", "sleep 300"])
        .status
        .success());
    // A pane whose command leaves a setsid() child behind and exits.
    assert!(tmux(&[
        "new-window",
        "-t",
        "keep",
        "sh -c 'setsid sleep 3017 & sleep 0.2'"
    ])
    .status
    .success());
    let server: u32 = String::from_utf8_lossy(&tmux(&["display", "-p", "#{pid}"]).stdout)
        .trim()
        .parse()
        .unwrap();
    let escapee = || -> Option<u32> {
        std::fs::read_dir("/proc").ok()?.find_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            (cmdline == b"sleep\x003017\x00").then_some(pid)
        })
    };
    assert!(
        eventually(std::time::Duration::from_secs(5), || escapee().is_some_and(
            |pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s
                .rsplit_once(')')
                .unwrap()
                .1
                .split_whitespace()
                .nth(1)
                == Some("1"))
        )),
        "the escapee was reparented to init"
    );
    let escapee = escapee().unwrap();
    let _reap = scopeguard_kill(escapee);

    let (report, _) = limier_json(&["tree"]);
    let forest = &report["roots"];
    assert_eq!(
        node_of(forest, server).unwrap()["markers"]["orphaned"],
        false
    );
    assert_eq!(
        node_of(forest, escapee).unwrap()["markers"]["orphaned"],
        true
    );
    let (who, _) = limier_json(&[
        "who",
        "--pid",
        &server.to_string(),
        "--pid",
        &escapee.to_string(),
    ]);
    assert_eq!(who["processes"][0]["orphaned"], false, "{who}");
    assert_eq!(who["processes"][1]["orphaned"], true, "{who}");
    let (snapshot, _) = limier_json(&["snapshot"]);
    let orphans: Vec<u64> = snapshot["orphaned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    assert!(orphans.contains(&u64::from(escapee)), "{orphans:?}");
    assert!(!orphans.contains(&u64::from(server)), "{orphans:?}");
    let human = String::from_utf8_lossy(&limier(&["tree"]).stdout).into_owned();
    let server_line = human
        .lines()
        .find(|l| l.contains(&format!(" {server} ")) || l.contains(&format!("{server} ")))
        .unwrap_or("");
    assert!(!server_line.contains("[orphaned]"), "{server_line}");
}

/// Kills `pid` when dropped (the escapee is init's child, not ours).
#[cfg(target_os = "linux")]
fn scopeguard_kill(pid: u32) -> impl Drop {
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            // SAFETY: plain syscall on a pid this test found by its unique
            // command line a moment ago.
            unsafe {
                libc::kill(self.0 as i32, libc::SIGKILL);
            }
        }
    }
    Kill(pid)
}

#[test]
#[cfg(target_os = "linux")] // node_of
fn tree_by_name_and_user_shows_the_matches_trees_as_pgrep_finds_them() {
    let scenario = Scenario::start(&["chain", "3"]);
    let top = scenario.pids("link")[0];
    // The whole command line names the scenario's chain: every link and
    // the leaf match, so the tree is rooted once, at the top of the chain.
    let marker = "scenario.py chain 3".to_owned();
    let me = limier::platform::effective_uid().to_string();
    let (report, code) = limier_json(&["tree", "-f", "--name", &marker, "-u", &me]);
    assert_eq!(code, 0, "{report}");
    let roots: Vec<u64> = report["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pid"].as_u64().unwrap())
        .collect();
    assert!(roots.contains(&u64::from(top)), "{report}");
    assert!(
        node_of(&report["roots"], scenario.pid("leaf")).is_some(),
        "the leaf is in the top's tree: {report}"
    );
    assert!(
        !roots.contains(&u64::from(scenario.pid("leaf"))),
        "a match below another is not a root of its own: {report}"
    );
    // Another user's only: nothing (exit 1).
    let output = limier(&["tree", "-f", "--name", &marker, "-u", "65534"]);
    assert_eq!(output.status.code(), Some(1));
    assert_usage_error(&["tree", "1", "--name", "x"], "cannot be used with");
}
