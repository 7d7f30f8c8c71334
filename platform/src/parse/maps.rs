//! `/proc/PID/maps`.

use super::fdlink::strip_deleted;
use super::{parse_decimal, ParseError};
use crate::records::MappedFile;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Returns the distinct files mapped by a process, in first-seen order.
///
/// Anonymous mappings and pseudo-paths (`[heap]`, `[vdso]`) are skipped.
/// Malformed lines are an error: maps text comes from the kernel, so a bad
/// line means the input is not a maps file.
///
/// # References
/// proc(5), `/proc/pid/maps`.
pub fn parse_maps(text: &[u8]) -> Result<Vec<MappedFile>, ParseError> {
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut rest = line;
        let mut fields = [&b""[..]; 5];
        for slot in fields.iter_mut() {
            let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
            rest = &rest[start..];
            let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
            *slot = &rest[..end];
            rest = &rest[end..];
        }
        let [range, perms, _offset, device, inode] = fields;
        if !range.contains(&b'-') || perms.len() != 4 {
            return Err(ParseError::new(
                "maps",
                "line is not address perms offset dev inode",
            ));
        }
        let inode: u64 =
            parse_decimal(inode).ok_or_else(|| ParseError::new("maps", "non-numeric inode"))?;
        let device = parse_device(device)
            .ok_or_else(|| ParseError::new("maps", "device is not major:minor in hex"))?;
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        let name = &rest[start..];
        if name.first() != Some(&b'/') {
            continue;
        }
        let (path, deleted) = strip_deleted(name);
        let path = PathBuf::from(OsStr::from_bytes(path));
        if seen.insert(path.clone()) {
            files.push(MappedFile {
                path,
                inode,
                deleted,
                deleted_by_kernel: false,
                device: Some(device),
            });
        }
    }
    Ok(files)
}

/// A maps line's device, `major:minor` in hex (`%02x:%02x`: a minor of
/// 256 or more has more digits).
fn parse_device(field: &[u8]) -> Option<(u32, u32)> {
    let colon = field.iter().position(|&b| b == b':')?;
    let hex = |digits: &[u8]| {
        let text = std::str::from_utf8(digits).ok()?;
        (!text.is_empty() && text.len() <= 8)
            .then(|| u32::from_str_radix(text, 16).ok())
            .flatten()
    };
    Some((hex(&field[..colon])?, hex(&field[colon + 1..])?))
}

/// Keeps the first record of each mapped file, in order. Readers that
/// report a file once per run of its mappings leave few duplicates (where
/// other mappings lie between two of its own); sorting by inode finds them
/// without hashing every path.
pub fn first_of_each_path(files: Vec<MappedFile>) -> Vec<MappedFile> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        (files[a].inode, &files[a].path, a).cmp(&(files[b].inode, &files[b].path, b))
    });
    let mut repeated = vec![false; files.len()];
    for pair in order.windows(2) {
        let (first, then) = (&files[pair[0]], &files[pair[1]]);
        if first.inode == then.inode && first.path == then.path {
            repeated[pair[1]] = true;
        }
    }
    files
        .into_iter()
        .zip(repeated)
        .filter_map(|(file, repeated)| (!repeated).then_some(file))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED: &[u8] = b"\
55d0c0a00000-55d0c0a02000 r--p 00000000 fe:01 1311019                    /usr/bin/cat
55d0c0a02000-55d0c0a07000 r-xp 00002000 fe:01 1311019                    /usr/bin/cat
55d0c1e8e000-55d0c1eaf000 rw-p 00000000 00:00 0                          [heap]
7f1a2c000000-7f1a2c021000 rw-p 00000000 00:00 0 
7f1a2c400000-7f1a2c6e9000 r--p 00000000 fe:01 1320537                    /usr/lib/locale/locale-archive
7f1a2c800000-7f1a2c801000 r--p 00000000 fe:01 2000001                    /tmp/dir with space/data.bin (deleted)
7ffd5b3f3000-7ffd5b3f7000 r--p 00000000 00:00 0                          [vvar]
";

    #[test]
    fn parses_captured_maps_and_dedupes() {
        let files = parse_maps(CAPTURED).unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.to_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "/usr/bin/cat",
                "/usr/lib/locale/locale-archive",
                "/tmp/dir with space/data.bin"
            ]
        );
        assert_eq!(files[0].inode, 1311019);
        assert_eq!(files[0].device, Some((0xfe, 0x01)));
        assert!(files[2].deleted);
        assert!(!files[2].deleted_by_kernel, "read from the text");
        assert!(!files[0].deleted);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_maps(b"hello world\n").is_err());
        assert!(parse_maps(b"1-2 r--p 0 00:00 x /a\n").is_err());
        assert!(parse_maps(b"1-2 r--p 0 0000 1 /a\n").is_err());
        assert!(parse_maps(b"1-2 r--p 0 fe:zz 1 /a\n").is_err());
        let wide = parse_maps(b"1-2 r--p 0 103:10a 7 /a\n").unwrap();
        assert_eq!(wide[0].device, Some((0x103, 0x10a)));
        assert_eq!(parse_maps(b"").unwrap(), vec![]);
    }
    #[test]
    fn each_mapped_path_is_kept_once_in_first_seen_order() {
        let file = |path: &str, inode: u64| MappedFile {
            path: path.into(),
            inode,
            deleted: false,
            deleted_by_kernel: false,
            device: None,
        };
        let files = vec![
            file("/usr/lib/libc.so.6", 7),
            file("/srv/app/addon.node", 3),
            file("/usr/lib/libc.so.6", 7),
            file("/srv/other/link-to-addon.node", 3),
            file("/srv/app/addon.node", 3),
        ];
        assert_eq!(
            first_of_each_path(files),
            [
                file("/usr/lib/libc.so.6", 7),
                file("/srv/app/addon.node", 3),
                file("/srv/other/link-to-addon.node", 3),
            ]
        );
    }
}
