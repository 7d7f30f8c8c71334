//! Colour, only on a terminal and never with `NO_COLOR`.

use std::io::IsTerminal;

/// Whether human output may use colour: stdout is a terminal, `NO_COLOR`
/// is unset or empty, and `TERM` is not `dumb`.
pub fn color_enabled() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    !no_color && !dumb && std::io::stdout().is_terminal()
}

/// Wraps `text` in an SGR sequence when `on`.
pub fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

pub const BOLD: &str = "1";
pub const YELLOW: &str = "33";
pub const DIM: &str = "2";
