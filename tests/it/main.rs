//! limier's integration tests: real processes, real sockets, exact pids.
//!
//! `.ci/run` runs them as root, then again as an ordinary user; a test that
//! needs root says why and is skipped in the second pass.

/// Skips the calling test, saying why, unless it runs as root (the tests
/// that need root are Linux's).
#[cfg(target_os = "linux")]
macro_rules! needs_root {
    ($why:expr) => {
        if !limier::platform::is_superuser() {
            eprintln!("skipped: needs root ({})", $why);
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
