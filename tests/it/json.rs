//! Every command's `--json` parses with no object holding a key twice.

use crate::support::*;

#[test]
fn every_command_prints_json_without_duplicate_keys() {
    let server = Scenario::start(&["chain", "3"]);
    let (_guard, root) = temp_dir();
    let resident = Scenario::start(&["cwd", root.to_str().unwrap()]);
    let port = server.port().to_string();
    let leaf = server.pid("leaf").to_string();
    let root_arg = root.to_str().unwrap();
    let cwd_pid = resident.pid("cwd").to_string();
    let commands: [&[&str]; 8] = [
        &["who", &port],
        &["who", "--pid", &leaf],
        &["in", root_arg],
        &["tree"],
        &["tree", &leaf],
        &["snapshot"],
        &["kill", "--pid", &cwd_pid, "--dry-run"],
        &["kill", "--dir", root_arg, "--grace", "1s"],
    ];
    for args in commands {
        // limier_json parses strictly: a duplicate key panics with its name.
        let (value, code) = limier_json(args);
        assert!(value.is_object() || value.is_array(), "{args:?}: {value}");
        assert_eq!(code, 0, "{args:?}: {value}");
    }
    assert!(strict_json(r#"{"pid": 1, "pid": 2}"#).is_err());
}
