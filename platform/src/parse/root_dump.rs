//! The byte stream of limier's roots iterator program (`linux/kernel_iter`):
//! for every fd of limier itself, a 24-byte little-endian record — the fd
//! (u32), 4 zero bytes, the address of the file's `vfsmount` (u64) and of its
//! dentry (u64). The addresses are compared, never dereferenced, in user
//! space: they tell the mapping program which mount and dentry a directory
//! is.

use super::dump_record::fixed_records;
use super::ParseError;

/// Size of a record.
pub const ROOT_DUMP_RECORD: usize = 24;

/// One fd of limier's, as the kernel knows the file it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootDumpRow {
    /// One of limier's fds.
    pub fd: u32,
    /// Address of the `struct vfsmount` the file was opened through.
    pub mount: u64,
    /// Address of the file's `struct dentry`.
    pub dentry: u64,
}

/// Parses a whole dump.
pub fn parse_root_dump(bytes: &[u8]) -> Result<Vec<RootDumpRow>, ParseError> {
    let long = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
    Ok(fixed_records(bytes, ROOT_DUMP_RECORD, "root dump")?
        .map(|record| RootDumpRow {
            fd: u32::from_le_bytes(record[0..4].try_into().expect("4 bytes")),
            mount: long(&record[8..16]),
            dentry: long(&record[16..24]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fd: u32, mount: u64, dentry: u64) -> Vec<u8> {
        let mut out = fd.to_le_bytes().to_vec();
        out.extend([0; 4]);
        out.extend(mount.to_le_bytes());
        out.extend(dentry.to_le_bytes());
        out
    }

    #[test]
    fn parses_records_and_rejects_a_partial_one() {
        let mut dump = record(3, 0xffff_8881_0000_1000, 0xffff_8881_2222_3340);
        dump.extend(record(17, 0xffff_8881_0000_2000, 0xffff_8881_2222_5580));
        let rows = parse_root_dump(&dump).unwrap();
        assert_eq!(
            rows,
            vec![
                RootDumpRow {
                    fd: 3,
                    mount: 0xffff_8881_0000_1000,
                    dentry: 0xffff_8881_2222_3340
                },
                RootDumpRow {
                    fd: 17,
                    mount: 0xffff_8881_0000_2000,
                    dentry: 0xffff_8881_2222_5580
                },
            ]
        );
        assert!(parse_root_dump(&[]).unwrap().is_empty());
        let err = parse_root_dump(&dump[..30]).unwrap_err();
        assert!(err.reason.contains("30 bytes"), "{err:?}");
    }
}
