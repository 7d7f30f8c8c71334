//! NUL-separated files: `/proc/PID/cmdline` and `/proc/PID/environ`.

use crate::records::{ByteString, EnvVar};

/// Splits `/proc/PID/cmdline` into argv words.
///
/// A trailing NUL ends the last word; a process that rewrote its argv into one
/// space-separated string (as some daemons do) is returned as one word.
///
/// # References
/// proc(5), `/proc/pid/cmdline`.
pub fn parse_cmdline(bytes: &[u8]) -> Vec<ByteString> {
    let body = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == 0).map(ByteString::from).collect()
}

/// Splits `/proc/PID/environ` into `KEY=VALUE` pairs.
///
/// Entries without `=` are kept with an empty value; empty entries are skipped.
///
/// # References
/// proc(5), `/proc/pid/environ`.
pub fn parse_environ(bytes: &[u8]) -> Vec<EnvVar> {
    bytes
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(env_var)
        .collect()
}

/// Splits one `KEY=VALUE` entry at its first `=`; no `=` means an empty value.
pub(crate) fn env_var(entry: &[u8]) -> EnvVar {
    match entry.iter().position(|&b| b == b'=') {
        Some(eq) => EnvVar {
            key: ByteString::from(&entry[..eq]),
            value: ByteString::from(&entry[eq + 1..]),
        },
        None => EnvVar {
            key: ByteString::from(entry),
            value: ByteString::default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_words_are_split_on_nul() {
        let words = parse_cmdline(b"node\0/repo/node_modules/.bin/vite\0--port\x007301\0");
        let words: Vec<_> = words.iter().map(|w| w.to_string_lossy()).collect();
        assert_eq!(
            words,
            ["node", "/repo/node_modules/.bin/vite", "--port", "7301"]
        );
    }

    #[test]
    fn empty_cmdline_is_empty_and_empty_words_survive() {
        assert!(parse_cmdline(b"").is_empty());
        assert_eq!(parse_cmdline(b"a\0\0b\0").len(), 3);
        assert_eq!(parse_cmdline(b"rewritten title no nuls").len(), 1);
    }

    #[test]
    fn environ_pairs_keep_bytes_and_later_equals_signs() {
        let vars = parse_environ(b"ECLUSE_SLUG=feat-b\0A=b=c\0NOEQ\0\0BIN=\xff\xfe\0");
        assert_eq!(vars.len(), 4);
        assert_eq!(vars[0].key.as_bytes(), b"ECLUSE_SLUG");
        assert_eq!(vars[0].value.as_bytes(), b"feat-b");
        assert_eq!(vars[1].value.as_bytes(), b"b=c");
        assert_eq!(vars[2].key.as_bytes(), b"NOEQ");
        assert_eq!(vars[2].value.as_bytes(), b"");
        assert_eq!(vars[3].value.as_bytes(), b"\xff\xfe");
    }
}
