//! limier's integration tests: real processes, real sockets, exact pids.

mod ecluse;
mod ecluse_e2e;
mod errors;
mod fd_source;
mod hostile;
mod in_dir;
mod kill;
mod one_call;
mod support;
mod tree;
mod who;
