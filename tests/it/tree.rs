//! `limier tree` and `limier snapshot`.

use crate::support::*;
use serde_json::Value;

#[test]
fn tree_of_a_chain_nests_every_level_and_shows_the_port() {
    let scenario = Scenario::start(&["chain", "5"]);
    let root = scenario.pids("link")[0];
    let (forest, code) = limier_json(&["tree", &root.to_string()]);
    assert_eq!(code, 0);
    let mut node: &Value = &forest[0];
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
}

#[test]
fn snapshot_json_holds_processes_fds_and_sockets() {
    let scenario = Scenario::start(&["chain", "1"]);
    let leaf = scenario.pid("leaf");
    let (snapshot, code) = limier_json(&["snapshot"]);
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
