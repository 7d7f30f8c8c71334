//! limier's integration tests: real processes, real sockets, exact pids.
//!
//! `.ci/run` runs them as root, then again as an ordinary user; a test that
//! needs root says why and is skipped in the second pass.

/// Skips the calling test unless it runs as root (the tests that need root
/// are Linux's). Why it needs root is said once, in the reason of its
/// `cfg_attr(not(limier_tests_as_root), ignore …)` attribute: built by
/// another user, the test is reported ignored with that reason;
/// this guard serves a binary built by root and run by another user (as
/// `.ci/as-user` runs it, which reads the reasons from the attributes).
#[cfg(target_os = "linux")]
macro_rules! needs_root {
    () => {
        if !limier::platform::is_superuser() {
            eprintln!("skipped: needs root (its ignore attribute says why)");
            return;
        }
    };
}

mod ecluse;
// Linux only: they read /proc directly, mount FUSE, trace with strace or
// load the kernel's fd iterator.
#[cfg(target_os = "linux")]
mod ecluse_e2e;
mod errors;
#[cfg(target_os = "linux")]
mod fd_source;
#[cfg(target_os = "linux")]
mod hostile;
#[cfg(target_os = "linux")]
mod hostile_state;
mod in_dir;
mod json;
mod kill;
#[cfg(target_os = "linux")]
mod namespaces;
mod one_call;
#[cfg(target_os = "linux")]
mod ordinary_user;
mod support;
mod tree;
mod who;
