//! The `limier` binary: the command line over the library; this maps it to an exit code.
#![forbid(unsafe_code)]

mod cli;

fn main() {
    std::process::exit(cli::main(std::env::args_os()));
}
