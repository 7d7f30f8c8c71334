//! `/proc/PID/mountinfo`: every mount in that process's mount namespace —
//! id, parent, device, root within the file system and mount point.
//!
//! A line is `ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [TAGS...] - FSTYPE
//! SOURCE SUPER_OPTIONS`; ROOT and MOUNT_POINT escape space, tab, newline
//! and backslash as `\040`, `\011`, `\012` and `\134`.
//!
//! # References
//! proc_pid_mountinfo(5).

use super::ParseError;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// One mount: its id (as `struct mount.mnt_id`), its parent, the file
/// system it shows (device and the directory within it) and where.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MountPoint {
    /// The mount's id, unique on the machine.
    pub id: u32,
    /// The id of the mount it is mounted on (its own id for a namespace's root).
    pub parent: u32,
    /// The file system's device, `(major, minor)`: one per super block.
    pub device: (u32, u32),
    /// The directory of that file system the mount shows at its mount
    /// point (`/` for a whole file system; a bind mount's source).
    pub root: PathBuf,
    /// That directory was deleted (the kernel's `//deleted` suffix, taken
    /// off `root`): `root` names where it was, not what is there now.
    pub root_deleted: bool,
    /// Its mount point, relative to the reading process's root.
    pub path: PathBuf,
    /// The file system's type (`ext4`, `tmpfs`, `fuse.sshfs`, `9p`, ...).
    pub fstype: String,
}

fn error(line: usize, reason: &str) -> ParseError {
    ParseError::new("mountinfo", format!("line {}: {reason}", line + 1))
}

/// Parses the whole file.
pub fn parse_mount_points(bytes: &[u8]) -> Result<Vec<MountPoint>, ParseError> {
    let mut mounts = Vec::new();
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split(|&b| b == b' ');
        let mut number_field = |what: &str| {
            fields
                .next()
                .and_then(|f| std::str::from_utf8(f).ok()?.parse::<u32>().ok())
                .ok_or_else(|| error(number, what))
        };
        let id = number_field("no mount id")?;
        let parent = number_field("no parent id")?;
        let device = fields
            .next()
            .and_then(|f| {
                let (major, minor) = std::str::from_utf8(f).ok()?.split_once(':')?;
                Some((major.parse().ok()?, minor.parse().ok()?))
            })
            .ok_or_else(|| error(number, "no device"))?;
        let mut path_field = |what: &str| {
            let field = fields.next().ok_or_else(|| error(number, what))?;
            if field.first() != Some(&b'/') {
                return Err(error(number, &format!("{what} that is not absolute")));
            }
            let bytes = unescape(field).ok_or_else(|| error(number, "a bad escape"))?;
            Ok(PathBuf::from(OsString::from_vec(bytes)))
        };
        let root = path_field("a root")?;
        let path = path_field("a mount point")?;
        // After the optional fields, a lone "-", then the type.
        let fstype = fields
            .by_ref()
            .skip_while(|field| *field != b"-")
            .nth(1)
            .map(|field| String::from_utf8_lossy(field).into_owned())
            .ok_or_else(|| error(number, "no file system type"))?;
        let (root, root_deleted) = match root.as_os_str().as_bytes().strip_suffix(b"//deleted") {
            Some(kept) => (PathBuf::from(std::ffi::OsStr::from_bytes(kept)), true),
            None => (root, false),
        };
        mounts.push(MountPoint {
            id,
            parent,
            device,
            root,
            root_deleted,
            path,
            fstype,
        });
    }
    Ok(mounts)
}

/// Undoes the kernel's `\ooo` escapes (`seq_path`'s `mangle_path`).
fn unescape(field: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(field.len());
    let mut rest = field;
    while let Some((&byte, after)) = rest.split_first() {
        if byte != b'\\' {
            out.push(byte);
            rest = after;
            continue;
        }
        let digits = after.get(..3)?;
        let mut value: u32 = 0;
        for &digit in digits {
            if !(b'0'..=b'7').contains(&digit) {
                return None;
            }
            value = value * 8 + u32::from(digit - b'0');
        }
        out.push(u8::try_from(value).ok()?);
        rest = &after[3..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first lines captured on this machine (kernel 6.18), then two
    /// mounts added by hand: a mount point holding a space and a tab, and a
    /// bind mount of a subdirectory.
    const CAPTURED: &[u8] = b"\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs model_tools_unavailable ro,size=4k,mode=755
97 27 0:52 / /tmp/work\\040tree/cache\\011x rw,relatime shared:60 - tmpfs tmpfs rw
98 27 254:0 /home/dev/src /tmp/bound rw,relatime shared:1 - ext4 /dev/vda rw
";

    #[test]
    fn reads_ids_and_unescaped_mount_points() {
        let mounts = parse_mount_points(CAPTURED).unwrap();
        assert_eq!(mounts.len(), 6);
        assert_eq!(
            mounts[2],
            MountPoint {
                id: 27,
                parent: 1,
                device: (254, 0),
                root: "/".into(),
                root_deleted: false,
                path: "/".into(),
                fstype: "ext4".into(),
            }
        );
        assert_eq!(
            mounts[4],
            MountPoint {
                id: 97,
                parent: 27,
                device: (0, 52),
                root: "/".into(),
                root_deleted: false,
                path: "/tmp/work tree/cache\tx".into(),
                fstype: "tmpfs".into(),
            }
        );
        // The mount point, and the root within the file system apart.
        assert_eq!(mounts[5].path, PathBuf::from("/tmp/bound"));
        assert_eq!(mounts[5].root, PathBuf::from("/home/dev/src"));
        // A bind of a directory deleted since: its root says so.
        let deleted =
            parse_mount_points(b"99 27 254:0 /tmp/z/src//deleted /tmp/z/mnt rw - ext4 a rw\n")
                .unwrap();
        assert_eq!(deleted[0].root, PathBuf::from("/tmp/z/src"));
        assert!(deleted[0].root_deleted && !mounts[5].root_deleted);
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse_mount_points(b"x 1 0:1 / / rw - ext4 a rw\n").is_err());
        assert!(parse_mount_points(b"22 1 0:1 /\n").is_err());
        assert!(parse_mount_points(b"22 1 0:1 / /a rw shared:1\n").is_err());
        assert!(parse_mount_points(b"22 1 0:1 / relative rw - ext4 a rw\n").is_err());
        assert!(parse_mount_points(b"22 1 0:1 relative / rw - ext4 a rw\n").is_err());
        assert!(parse_mount_points(b"22 1 0-1 / / rw - ext4 a rw\n").is_err());
        assert!(parse_mount_points(b"22 1 0:1 / /a\\04 rw - ext4 a rw\n").is_err());
        assert!(parse_mount_points(b"22 1 0:1 / /a\\400 rw - ext4 a rw\n").is_err());
        assert!(parse_mount_points(b"").unwrap().is_empty());
    }
}
