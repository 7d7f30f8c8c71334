//! limier's integration tests: real processes, real sockets, exact pids.

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
mod in_dir;
mod json;
mod kill;
mod one_call;
#[cfg(target_os = "linux")]
mod ordinary_user;
mod support;
mod tree;
mod who;
