//! The terminal limier prints to.

/// The width in columns of the terminal on stdout: `COLUMNS` when set to a
/// number, else the terminal's window size; `None` when stdout is not a
/// terminal (a pipe, a file), where lines are never cut.
///
/// # References
/// ioctl_tty(2): `TIOCGWINSZ`.
pub fn terminal_columns() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|&columns| columns > 0)
    {
        return Some(columns);
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which
    // points at a live, properly aligned `winsize` owned by this frame; fd 1
    // is only read from.
    let result = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut size as *mut libc::winsize) };
    (result == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}
