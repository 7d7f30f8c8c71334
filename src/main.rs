//! The `limier` binary: everything is in the library; this maps it to an exit code.

fn main() {
    std::process::exit(limier::cli::main(std::env::args_os()));
}
