//! limier's integration tests: real processes, real sockets, exact pids.

mod errors;
mod in_dir;
mod kill;
mod support;
mod tree;
mod who;
