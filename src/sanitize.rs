//! Making process-chosen strings safe to print on a terminal.
//!
//! comm, cmdline words, paths and environment values are chosen by whoever
//! started the process. Printed raw, an escape sequence could rewrite the
//! screen, a carriage return could hide text, a bidi override could reverse
//! it. Every such string goes through [`sanitize`] before human output; JSON
//! output keeps the original bytes (see docs/JSON.md).

/// Replaces control characters, escape sequences and bidi controls with
/// visible escapes (`\x1b`, `\u{202e}`); invalid UTF-8 becomes U+FFFD.
pub fn sanitize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    sanitize_str(&text)
}

/// [`sanitize`] for text already decoded.
pub fn sanitize_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\x7f' || ('\u{80}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_bidi_or_invisible(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn is_bidi_or_invisible(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_control() {
        assert_eq!(sanitize(b"a\x1b[31mred\x1b[0m"), "a\\x1b[31mred\\x1b[0m");
        assert_eq!(sanitize(b"line\rover"), "line\\rover");
        assert_eq!(sanitize("x\u{202e}gnp.exe".as_bytes()), "x\\u{202e}gnp.exe");
        assert_eq!(sanitize("\u{9b}2J".as_bytes()), "\\x9b2J");
        assert_eq!(sanitize(b"bad\xffutf8"), "bad\u{fffd}utf8");
        assert_eq!(
            sanitize("plain (vite) \u{e9}".as_bytes()),
            "plain (vite) \u{e9}"
        );
    }
}
