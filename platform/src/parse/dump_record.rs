//! The record framing both kernel iterator programs write: a fixed-size
//! little-endian header holding, among its fields, the length of the path
//! that follows (bytes including its NUL, or a negative number for none).

use super::ParseError;

/// One record's header and, when its length field is positive, its path
/// bytes (as written, NUL included).
pub(super) struct DumpRecord<'a> {
    header: &'a [u8],
    /// The length field as written (negative: no path follows).
    pub length: i32,
    pub path: Option<&'a [u8]>,
}

impl DumpRecord<'_> {
    /// The little-endian u32 at `at` in the header.
    pub fn word(&self, at: usize) -> u32 {
        let h = self.header;
        u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
    }

    /// The little-endian u64 at `at` in the header.
    pub fn long(&self, at: usize) -> u64 {
        u64::from(self.word(at)) | u64::from(self.word(at + 4)) << 32
    }
}

/// Splits the next record off `rest`: a header of `header_len` bytes whose
/// i32 at `length_at` is the path's length, at most `path_max`. `what`
/// names the stream in errors.
pub(super) fn next_record<'a>(
    rest: &mut &'a [u8],
    header_len: usize,
    length_at: usize,
    path_max: usize,
    what: &'static str,
) -> Result<DumpRecord<'a>, ParseError> {
    let error = |reason: String| ParseError::new(what, reason);
    let bytes = *rest;
    let header = bytes.get(..header_len).ok_or_else(|| {
        error(format!(
            "{} bytes left, a header needs {header_len}",
            bytes.len()
        ))
    })?;
    let mut record = DumpRecord {
        header,
        length: 0,
        path: None,
    };
    let length = record.word(length_at) as i32;
    record.length = length;
    let mut after = &bytes[header_len..];
    if length > 0 {
        let length = length as usize;
        if length > path_max {
            return Err(error(format!("path length {length} over PATH_MAX")));
        }
        record.path = Some(
            after
                .get(..length)
                .ok_or_else(|| error(format!("path of {length} bytes truncated")))?,
        );
        after = &after[length..];
    }
    *rest = after;
    Ok(record)
}

/// The `size`-byte records of a stream of fixed-size records, or an error
/// when `bytes` is not a whole number of them. `what` names the stream in
/// errors.
pub(super) fn fixed_records<'a>(
    bytes: &'a [u8],
    size: usize,
    what: &'static str,
) -> Result<std::slice::ChunksExact<'a, u8>, ParseError> {
    if bytes.len() % size != 0 {
        return Err(ParseError::new(
            what,
            format!(
                "{} bytes is not a whole number of {size}-byte records",
                bytes.len()
            ),
        ));
    }
    Ok(bytes.chunks_exact(size))
}
