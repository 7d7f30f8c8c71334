//! `limier man`: the man pages, one per command, generated from the
//! definitions.

use super::args::Cli;
use super::{CliError, Outcome, EXIT_FOUND};
use clap::CommandFactory;
use std::path::Path;

/// Every page: (`limier-who`, the command named so), the top one first.
fn pages() -> Vec<(String, clap::Command)> {
    let mut pages = Vec::new();
    let mut command = Cli::command();
    // Global options (--json, -t, -q) are then listed on every page.
    command.build();
    collect("limier", command, &mut pages);
    pages
}

fn collect(name: &str, command: clap::Command, pages: &mut Vec<(String, clap::Command)>) {
    // Its subcommands' pages are named `<name>-<sub>`, as the SUBCOMMANDS
    // section of this one refers to them.
    let subcommands: Vec<clap::Command> = command.get_subcommands().cloned().collect();
    pages.push((name.to_owned(), command.name(name.to_owned())));
    for sub in subcommands {
        let sub_name = format!("{name}-{}", sub.get_name());
        collect(&sub_name, sub, pages);
    }
}

fn render(command: clap::Command) -> Result<Vec<u8>, CliError> {
    let mut buffer = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut buffer)
        .map_err(|err| CliError(format!("rendering the man page: {err}")))?;
    Ok(buffer)
}

/// Prints the page of `command` (`who`, `ecluse-down`; none: limier(1)),
/// or writes every page into `dir`.
pub fn run(command: Option<&str>, dir: Option<&Path>) -> Result<Outcome, CliError> {
    if let Some(dir) = dir {
        let mut written = Vec::new();
        for (name, command) in pages() {
            let path = dir.join(format!("{name}.1"));
            std::fs::write(&path, render(command)?)
                .map_err(|err| CliError(format!("{}: {err}", path.display())))?;
            written.push(path.display().to_string());
        }
        return Ok(Outcome {
            stdout: written.join("\n") + "\n",
            notes: Vec::new(),
            code: EXIT_FOUND,
        });
    }
    let wanted = match command {
        Some(command) => format!("limier-{}", command.trim_start_matches("limier-")),
        None => "limier".to_owned(),
    };
    let all = pages();
    let names: Vec<String> = all
        .iter()
        .map(|(name, _)| name.trim_start_matches("limier-").to_owned())
        .filter(|name| name != "limier")
        .collect();
    let Some((_, page)) = all.into_iter().find(|(name, _)| *name == wanted) else {
        return Err(CliError(format!(
            "no man page for {:?} (pages: {})",
            command.unwrap_or_default(),
            names.join(", ")
        )));
    };
    Ok(Outcome {
        stdout: String::from_utf8_lossy(&render(page)?).into_owned(),
        notes: Vec::new(),
        code: EXIT_FOUND,
    })
}
