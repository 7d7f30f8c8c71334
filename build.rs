//! Tells the integration tests whether they are built by root: a test that
//! needs root is then run, and otherwise reported ignored with its reason
//! (`cfg(limier_tests_as_root)`; the test checks again when it runs, since
//! a binary built by root may be run by another user, as `.ci/as-user` does).
//! The library and the binary do not use it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(limier_tests_as_root)");
    println!("cargo::rerun-if-changed=build.rs");
    // Who builds: asked again when another user (or sudo) builds in the
    // same target directory.
    for who in ["USER", "LOGNAME", "SUDO_UID"] {
        println!("cargo::rerun-if-env-changed={who}");
    }
    if effective_uid() == Some(0) {
        println!("cargo::rustc-cfg=limier_tests_as_root");
    }
}

/// The build's effective uid: `/proc/self/status` on Linux, `id -u`
/// elsewhere; `None` when neither says.
fn effective_uid() -> Option<u32> {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let line = status.lines().find(|line| line.starts_with("Uid:"))?;
        return line.split_whitespace().nth(2)?.parse().ok();
    }
    let out = std::process::Command::new("id").arg("-u").output().ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}
