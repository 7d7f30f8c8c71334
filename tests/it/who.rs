//! `limier who`: holders, ancestry chains and markers on real sockets.

use crate::support::*;

#[test]
fn who_finds_listener_below_six_levels() {
    let scenario = Scenario::start(&["chain", "6"]);
    let port = scenario.port().to_string();
    let (report, code) = limier_json(&["who", &port]);
    assert_eq!(code, 0);
    let leaf = scenario.pid("leaf");
    assert_eq!(holder_pids(&report, 0), vec![leaf]);
    let chain: Vec<u32> = report["ports"][0]["sockets"][0]["holders"][0]["process"]["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["pid"].as_u64().unwrap() as u32)
        .collect();
    let mut expected = scenario.pids("link");
    expected.reverse();
    expected.insert(0, leaf);
    assert_eq!(&chain[..6], &expected[..], "leaf then its five ancestors");
    assert_eq!(
        chain[6],
        std::process::id(),
        "then the test process that started the scenario"
    );
    assert_eq!(*chain.last().unwrap(), 1, "the chain ends at init");
}

#[test]
fn bare_number_is_a_port_and_terse_prints_pids() {
    let scenario = Scenario::start(&["chain", "2"]);
    let port = scenario.port().to_string();
    let output = limier(&["-t", &port]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}\n", scenario.pid("leaf"))
    );
    let human = limier(&[&port]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.starts_with(&format!(":{port}/tcp LISTEN 127.0.0.1\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {}", scenario.pid("leaf"))),
        "{text}"
    );
    assert!(text.contains("chain  python3"), "{text}");
}

#[test]
fn who_reports_both_holders_of_a_socket_inherited_across_fork() {
    let scenario = Scenario::start(&["fork-share"]);
    let port = scenario.port().to_string();
    let (report, code) = limier_json(&["who", &format!("{port}/tcp")]);
    assert_eq!(code, 0);
    let sockets = report["ports"][0]["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), 1, "one socket, shared");
    let mut expected = vec![scenario.pid("parent"), scenario.pid("child")];
    expected.sort_unstable();
    assert_eq!(holder_pids(&report, 0), expected);
    // The human view shows the shared work once: one dossier, the other
    // holder by pid.
    let human = String::from_utf8_lossy(&limier(&["who", &port]).stdout).into_owned();
    assert_eq!(human.matches("    chain  ").count(), 1, "{human}");
    let also = human
        .lines()
        .find(|l| l.trim_start().starts_with("also "))
        .unwrap_or_else(|| panic!("no 'also' line: {human}"));
    assert!(
        also.contains(&format!("{} (fd ", expected[1]))
            || also.contains(&format!("{} (fd ", expected[0])),
        "{also}"
    );
}

#[test]
fn who_reports_every_reuseport_listener() {
    let scenario = Scenario::start(&["reuseport"]);
    let port = scenario.port().to_string();
    let (report, _) = limier_json(&["who", &port]);
    let sockets = report["ports"][0]["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), 2, "two SO_REUSEPORT sockets: {report}");
    let mut expected = vec![scenario.pid("first"), scenario.pid("second")];
    expected.sort_unstable();
    assert_eq!(holder_pids(&report, 0), expected);
}

#[test]
fn who_finds_ipv6_only_listener() {
    let scenario = Scenario::start(&["ipv6"]);
    let port = scenario.port().to_string();
    let (report, code) = limier_json(&["who", &port]);
    assert_eq!(code, 0);
    assert_eq!(holder_pids(&report, 0), vec![scenario.pid("listener")]);
    assert_eq!(report["ports"][0]["sockets"][0]["local_addr"], "::1");
}

#[test]
fn who_finds_udp_socket_and_protocol_filters_it() {
    let scenario = Scenario::start(&["udp"]);
    let port = scenario.port();
    let (report, code) = limier_json(&["who", &format!("{port}/udp")]);
    assert_eq!(code, 0);
    assert_eq!(holder_pids(&report, 0), vec![scenario.pid("listener")]);
    assert_eq!(report["ports"][0]["sockets"][0]["protocol"], "udp");
    let (report, code) = limier_json(&["who", &format!("{port}/tcp")]);
    assert_eq!(code, 1, "no TCP socket on a UDP-only port");
    assert!(report["ports"][0]["sockets"].as_array().unwrap().is_empty());
}

#[test]
fn who_marks_setsid_daemon_reparented_to_init_as_orphaned() {
    let scenario = Scenario::start(&["daemon"]);
    let daemon = scenario.pid("daemon");
    let port = scenario.port().to_string();
    let (report, _) = limier_json(&["who", &port]);
    assert_eq!(holder_pids(&report, 0), vec![daemon]);
    let process = &report["ports"][0]["sockets"][0]["holders"][0]["process"];
    assert_eq!(process["orphaned"], true, "{process}");
    assert_eq!(process["ppid"], 1);
    let chain = process["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "daemon ← init: {process}");
    assert_eq!(chain[0]["markers"]["orphaned"], true);
    let human = String::from_utf8_lossy(&limier(&["who", &port]).stdout).into_owned();
    assert!(human.contains("[orphaned]"), "{human}");
    assert_eq!(human.matches("orphaned").count(), 1, "said once: {human}");
}

#[test]
fn who_pid_gives_dossier_sockets_and_descendants() {
    let scenario = Scenario::start(&["chain", "4"]);
    let root = scenario.pids("link")[0];
    let (report, code) = limier_json(&["who", "--pid", &root.to_string()]);
    assert_eq!(code, 0);
    let process = &report["processes"][0];
    assert_eq!(process["pid"], root);
    let mut below: Vec<u32> = process["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u32)
        .collect();
    below.sort_unstable();
    let mut expected: Vec<u32> = scenario.pids("link")[1..].to_vec();
    expected.push(scenario.pid("leaf"));
    expected.sort_unstable();
    assert_eq!(below, expected);
    let (leaf_report, _) = limier_json(&["who", "--pid", &scenario.pid("leaf").to_string()]);
    let sockets = leaf_report["processes"][0]["sockets"].as_array().unwrap();
    assert!(
        sockets
            .iter()
            .any(|s| s["local_port"] == scenario.port() && s["state"] == "LISTEN"),
        "{leaf_report}"
    );
}

#[test]
fn who_exits_1_when_nothing_holds_the_port() {
    let port = free_port().to_string();
    let output = limier(&["who", &port]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("nothing holds this port"));
}

#[test]
fn a_time_wait_socket_is_explained_not_blamed_on_permissions() {
    // The side that closes first keeps its port in TIME_WAIT, with no file.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let port = client.local_addr().unwrap().port().to_string();
    drop(client);
    std::thread::sleep(std::time::Duration::from_millis(50));
    drop(accepted);
    let output = limier(&["who", &port, "--all-states"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains(" TIME_WAIT 127.0.0.1 → 127.0.0.1:"), "{text}");
    assert!(
        text.contains("(no process holds it: closed, kept by the kernel in TIME_WAIT)"),
        "{text}"
    );
    // Listening sockets only by default: nothing listens there.
    assert_eq!(limier(&["who", &port]).status.code(), Some(1));
}

#[test]
fn all_states_shows_both_ends_of_a_connection_to_the_port() {
    let server = Scenario::start(&["chain", "1"]);
    let port = server.port();
    // A client in another process, connected and holding the connection.
    let mut client = ChildGuard::spawn(
        std::process::Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import socket, sys, time\n\
                 s = socket.create_connection(('127.0.0.1', {port}))\n\
                 print(s.getsockname()[1], flush=True)\n\
                 time.sleep(60)\n"
            ))
            .stdout(std::process::Stdio::piped()),
    );
    let client_port: u64 = client.first_line().trim().parse().unwrap();
    let (report, code) = limier_json(&["who", &port.to_string(), "--all-states"]);
    assert_eq!(code, 0, "{report}");
    let clients = report["ports"][0]["clients"]
        .as_array()
        .expect("clients listed");
    let mine = clients
        .iter()
        .find(|c| c["local_port"] == client_port)
        .unwrap_or_else(|| panic!("the client's end is missing: {report}"));
    assert_eq!(mine["remote_port"], port, "{mine}");
    assert_eq!(mine["holders"][0]["process"]["pid"], client.pid(), "{mine}");
    // Without --all-states, only the listener.
    let (plain, _) = limier_json(&["who", &port.to_string()]);
    assert!(plain["ports"][0].get("clients").is_none(), "{plain}");
    let human =
        String::from_utf8_lossy(&limier(&["who", &port.to_string(), "--all-states"]).stdout)
            .into_owned();
    assert!(
        human.contains(&format!(
            ":{client_port}/tcp ESTABLISHED 127.0.0.1 (client) → 127.0.0.1:{port}"
        )),
        "{human}"
    );
}

#[test]
fn who_alone_lists_every_listener_one_line_a_socket() {
    let chain = Scenario::start(&["chain", "2"]);
    let shared = Scenario::start(&["fork-share"]);
    let (port, shared_port) = (chain.port(), shared.port());
    let leaf = chain.pid("leaf");
    let output = limier(&["who"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.starts_with("PORT "), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{port}/tcp ")))
        .unwrap_or_else(|| panic!("no line for {port}: {text}"));
    assert!(line.contains(&format!(" {leaf} ")), "{line}");
    assert!(
        line.contains("LISTEN") && line.contains("python3"),
        "{line}"
    );
    // The two holders of one socket inherited across fork share its line.
    let shared_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{shared_port}/tcp ")))
        .collect();
    assert_eq!(shared_lines.len(), 1, "{text}");
    let pids_cell = shared_lines[0].split_whitespace().nth(3).unwrap();
    let mut listed: Vec<u32> = pids_cell.split(',').map(|p| p.parse().unwrap()).collect();
    listed.sort_unstable();
    let mut holders = vec![shared.pid("parent"), shared.pid("child")];
    holders.sort_unstable();
    assert_eq!(listed, holders, "{}", shared_lines[0]);
    // -t lists the holders' pids, --json the same report `who PORT` gives.
    let terse = String::from_utf8_lossy(&limier(&["-t", "who"]).stdout).into_owned();
    assert!(terse.lines().any(|l| l == leaf.to_string()), "{terse}");
    let (report, code) = limier_json(&["who"]);
    assert_eq!(code, 0);
    let entry = report["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["query"] == format!("{port}/tcp"))
        .unwrap_or_else(|| panic!("{port}/tcp missing from {report}"));
    assert_eq!(entry["sockets"][0]["holders"][0]["process"]["pid"], leaf);
    // --why: the full view, chains included.
    let why = String::from_utf8_lossy(&limier(&["who", "--why"]).stdout).into_owned();
    assert!(why.contains(&format!(":{port}/tcp LISTEN")), "{why}");
    assert!(why.contains("chain  python3"), "{why}");
}

#[test]
fn ports_take_lists_ranges_and_lsof_spelling() {
    let first = Scenario::start(&["chain", "1"]);
    let second = Scenario::start(&["chain", "1"]);
    let (a, b) = (first.port(), second.port());
    let (low, high) = (a.min(b), a.max(b));
    let want = [first.pid("leaf"), second.pid("leaf")];
    let holders = |args: &[&str]| {
        let output = limier(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let mut pids: Vec<u32> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        pids.sort_unstable();
        pids
    };
    let expect = |args: &[&str]| {
        let mut want = want.to_vec();
        want.sort_unstable();
        assert_eq!(holders(args), want, "{args:?}");
    };
    expect(&["-t", "who", &format!("{a},{b}")]);
    expect(&["-t", "who", &format!(":{a}"), &format!(":{b}/tcp")]);
    expect(&["-t", "who", &format!("{a}-{a},{b}-{b}/tcp")]);
    if high - low < 2000 {
        // Other tests' listeners may hold ports in between.
        let range = holders(&["-t", "who", &format!("{low}-{high}")]);
        assert!(want.iter().all(|pid| range.contains(pid)), "{range:?}");
    }
    expect(&["-t", &format!(":{a},{b}")]);
    // --pid takes several pids, and a number after it is still a port.
    let (one, two) = (first.pid("leaf"), second.pid("leaf"));
    let (report, code) = limier_json(&["who", "--pid", &format!("{one},{two}")]);
    assert_eq!(code, 0);
    assert_eq!(report["processes"][1]["pid"], two, "{report}");
    let (report, _) = limier_json(&["who", "--pid", &one.to_string(), &b.to_string()]);
    assert_eq!(report["processes"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(holder_pids(&report, 0), vec![two], "{report}");
}

#[test]
#[cfg(target_os = "linux")] // 15-byte names
fn who_by_name_and_user_keeps_the_holders_pgrep_would_find() {
    let scenario = Scenario::start(&["chain", "2"]);
    let leaf = scenario.pid("leaf").to_string();
    let port = scenario.port().to_string();
    let me = limier::platform::effective_uid().to_string();
    // The listing of every port, narrowed to this chain's command line.
    let output = limier(&[
        "-t",
        "who",
        "-f",
        "--name",
        "scenario.py chain 2",
        "-u",
        &me,
    ]);
    assert_eq!(output.status.code(), Some(0));
    let pids = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(pids.lines().any(|l| l == leaf), "{pids}");
    // Another user's holders only: nothing.
    let output = limier(&["-t", "who", &port, "-u", "65534"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_usage_error(
        &["who", "--name", "a-name-longer-than-15"],
        "longer than the 15 bytes",
    );
}
