//! The running kernel's release, for messages that depend on it (a BPF
//! program a kernel's verifier refused).

/// The kernel release `uname -r` prints (`6.18.44-…` on Linux, `24.1.0` on
/// macOS), or `unknown`.
///
/// # References
/// uname(2).
pub fn os_release() -> String {
    // SAFETY: `utsname` is plain old data (arrays of c_char); all zeroes is
    // a valid value, and uname(2) only writes within it.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a live, writable utsname.
    if unsafe { libc::uname(&mut name) } != 0 {
        return "unknown".to_string();
    }
    let release: Vec<u8> = name
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&release).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn release_is_what_proc_says() {
        let release = super::os_release();
        if let Ok(proc) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
            assert_eq!(release, proc.trim());
        }
        assert!(!release.is_empty());
    }
}
