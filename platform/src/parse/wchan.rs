//! `/proc/PID/wchan`: the kernel symbol a sleeping task waits in.

/// The symbol name, or `None` for "0" (running, or hidden by
/// `kernel.kptr_restrict`/ptrace rules), empty text and anything that is not
/// a plain symbol (letters, digits, `_` and `.`; at most 128 bytes).
///
/// # References
/// proc(5) `/proc/pid/wchan`.
pub fn parse_wchan(text: &[u8]) -> Option<String> {
    let symbol = text.trim_ascii();
    let plain = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.';
    if symbol.is_empty() || symbol == b"0" || symbol.len() > 128 || !symbol.iter().all(plain) {
        return None;
    }
    std::str::from_utf8(symbol).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbol_is_kept() {
        // Captured from a task blocked in close() on a stopped FUSE server.
        assert_eq!(
            parse_wchan(b"request_wait_answer").as_deref(),
            Some("request_wait_answer")
        );
        assert_eq!(
            parse_wchan(b"do_sys_poll\n").as_deref(),
            Some("do_sys_poll")
        );
        assert_eq!(
            parse_wchan(b"rpc_wait_bit_killable.isra.0").as_deref(),
            Some("rpc_wait_bit_killable.isra.0")
        );
    }

    #[test]
    fn running_hidden_and_odd_text_is_none() {
        assert_eq!(parse_wchan(b"0"), None);
        assert_eq!(parse_wchan(b""), None);
        assert_eq!(parse_wchan(b"\x1b[2J"), None);
        assert_eq!(parse_wchan(b"a b"), None);
        assert_eq!(parse_wchan(&[b'x'; 129]), None);
    }
}
