//! A controlling terminal's name from its device number.

/// The name of the terminal whose device number the running OS gave
/// (`pts/3`, `ttys003`), or `tty MAJOR:MINOR` for one without a usual name.
pub fn tty_name(dev: u32) -> String {
    if cfg!(target_os = "macos") {
        darwin_tty_name(dev)
    } else {
        linux_tty_name(dev)
    }
}

/// Linux: `tty_nr` is `new_encode_dev` (major in bits 8-19, minor in bits
/// 0-7 and 20-31); pseudo-terminals are majors 136-143, virtual consoles
/// major 4 below minor 64, serial ports major 4 from 64.
///
/// # References
/// include/linux/kdev_t.h (`new_encode_dev`); Documentation/admin-guide/devices.txt.
pub fn linux_tty_name(dev: u32) -> String {
    let major = (dev >> 8) & 0xfff;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", minor + (major - 136) * 256),
        4 if minor < 64 => format!("tty{minor}"),
        4 => format!("ttyS{}", minor - 64),
        _ => format!("tty {major}:{minor}"),
    }
}

/// macOS: `e_tdev` is a `dev_t` (major in the top byte, minor in the low
/// 24 bits); pseudo-terminals are major 16 (`/dev/ttysNNN`).
///
/// # References
/// sys/types.h (`major`, `minor`); xnu bsd/kern/tty_ptmx.c.
pub fn darwin_tty_name(dev: u32) -> String {
    let (major, minor) = (dev >> 24, dev & 0xff_ffff);
    match major {
        16 => format!("ttys{minor:03}"),
        _ => format!("tty {major}:{minor}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_terminals_are_named_as_ps_names_them() {
        assert_eq!(linux_tty_name(34816), "pts/0");
        assert_eq!(linux_tty_name(136 << 8 | 7), "pts/7");
        // pts/300: major 137, minor 44.
        assert_eq!(linux_tty_name(137 << 8 | 44), "pts/300");
        // pts/5000: major 136, minor 5000 (bits above 8 in 20-31).
        assert_eq!(
            linux_tty_name(136 << 8 | (5000 & 0xff) | ((5000 & !0xff) << 12)),
            "pts/5000"
        );
        assert_eq!(linux_tty_name(4 << 8 | 1), "tty1");
        assert_eq!(linux_tty_name(4 << 8 | 64), "ttyS0");
        assert_eq!(linux_tty_name(5 << 8 | 1), "tty 5:1");
    }

    #[test]
    fn darwin_terminals_are_named_as_ps_names_them() {
        assert_eq!(darwin_tty_name(16 << 24 | 3), "ttys003");
        assert_eq!(darwin_tty_name(0x0400_0001), "tty 4:1");
    }
}
