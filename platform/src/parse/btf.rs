//! The kernel's BTF type information (`/sys/kernel/btf/vmlinux`): just
//! enough of it to find a function's type id and a struct member's offset.
//!
//! limier's fd iterator program (see `linux/kernel_iter`) is loaded against the
//! running kernel's own types, so every offset it uses comes from here and
//! none is compiled in.

use super::ParseError;

const MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_ENUM64: u32 = 19;
const KIND_MAX: u32 = 19;
/// Nested anonymous structs and unions followed when looking up a member.
const MAX_NESTING: usize = 8;
/// Members one lookup may visit: a crafted blob whose anonymous members
/// refer to their own struct must not make a lookup exponential.
const MEMBER_BUDGET: usize = 1 << 16;

/// One type's header, decoded.
#[derive(Debug, Clone, Copy)]
struct TypeEntry {
    /// Byte offset of the type's 12-byte header in the type section.
    at: usize,
    kind: u32,
    kind_flag: bool,
    vlen: usize,
}

/// Type ids looked up by name, in the order asked (`None`: not found).
pub type TypeIds = Vec<Option<u32>>;

/// A parsed BTF blob: where each type starts, by id (id 0 is `void`).
///
/// Only the start offsets are kept (4 bytes a type; the kernel has about
/// 150,000 types): headers are decoded again when looked at.
#[derive(Debug)]
pub struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
    starts: Vec<u32>,
}

fn error(reason: impl Into<String>) -> ParseError {
    ParseError::new("btf", reason)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// The little-endian word at `at`, or `None` past the end.
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    (at < bytes.len() && bytes.len() - at >= 4).then(|| le32(bytes, at))
}

/// The little-endian word at `at`, which the caller knows is in bounds.
/// Plain indexing and shifts, always inlined: the type walk reads about
/// half a million words, and an unoptimised build (a library user's `cargo
/// test`) would otherwise pay a call and every layer of
/// `get(..)?.try_into().ok()?` for each.
#[inline(always)]
fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from(bytes[at])
        | u32::from(bytes[at + 1]) << 8
        | u32::from(bytes[at + 2]) << 16
        | u32::from(bytes[at + 3]) << 24
}

/// Parses a little-endian BTF blob (the only byte order limier loads on).
///
/// # References
/// Linux `Documentation/bpf/btf.rst` (type and string sections).
pub fn parse_btf(bytes: &[u8]) -> Result<Btf<'_>, ParseError> {
    let magic = u16_at(bytes, 0).ok_or_else(|| error("truncated header"))?;
    if magic != MAGIC {
        return Err(error(format!("bad magic {magic:#x}")));
    }
    let field = |at| u32_at(bytes, at).ok_or_else(|| error("truncated header"));
    let header_len = field(4)? as usize;
    let (type_off, type_len) = (field(8)? as usize, field(12)? as usize);
    let (str_off, str_len) = (field(16)? as usize, field(20)? as usize);
    let section = |off: usize, len: usize| {
        let start = header_len.checked_add(off)?;
        bytes.get(start..start.checked_add(len)?)
    };
    let types = section(type_off, type_len).ok_or_else(|| error("type section out of range"))?;
    let strings = section(str_off, str_len).ok_or_else(|| error("string section out of range"))?;
    if u32::try_from(types.len()).is_err() {
        return Err(error("type section over 4 GiB"));
    }
    // Type 0 is void and has no header; its start is never decoded.
    let mut starts = Vec::with_capacity(types.len() / 32);
    starts.push(u32::MAX);
    // The hottest loop of a kernel-dump capture (about 130,000 types):
    // plain indexing, no closures, so that an unoptimised build (a library
    // user's `cargo test`) walks it in a few milliseconds.
    let mut at = 0;
    let len = types.len();
    while at < len {
        if len - at < 12 {
            return Err(error("truncated type"));
        }
        let info = le32(types, at + 4);
        let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        let trailing = match kind {
            KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
            KIND_ARRAY => 12,
            KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => vlen * 12,
            KIND_ENUM | KIND_FUNC_PROTO => vlen * 8,
            0 => return Err(error(format!("unknown kind 0 at type byte {at}"))),
            kind if kind > KIND_MAX => {
                return Err(error(format!("unknown kind {kind} at type byte {at}")))
            }
            _ => 0,
        };
        starts.push(at as u32);
        // vlen is 16 bits: the step is below 800 KiB and `at` below 4 GiB.
        at += 12 + trailing;
    }
    if at != types.len() {
        return Err(error("type section ends inside a type"));
    }
    Ok(Btf {
        types,
        strings,
        starts,
    })
}

/// Decodes the 12-byte header of the type at byte `at`.
fn decode(types: &[u8], at: usize) -> Option<TypeEntry> {
    let info = u32_at(types, at + 4)?;
    u32_at(types, at + 8)?;
    Some(TypeEntry {
        at,
        kind: (info >> 24) & 0x1f,
        kind_flag: info >> 31 == 1,
        vlen: (info & 0xffff) as usize,
    })
}

impl<'a> Btf<'a> {
    /// How many types (including `void`).
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether the blob holds no type besides `void`.
    pub fn is_empty(&self) -> bool {
        self.starts.len() <= 1
    }

    /// The header of type `id` (`None` for void and unknown ids).
    fn entry(&self, id: u32) -> Option<TypeEntry> {
        let at = *self.starts.get(id as usize).filter(|_| id != 0)?;
        decode(self.types, at as usize)
    }

    /// Whether the string at `name_off` is `name` (no scan for its end).
    fn name_is(&self, name_off: u32, name: &[u8]) -> bool {
        let start = name_off as usize;
        let Some(end) = start.checked_add(name.len()) else {
            return false;
        };
        self.strings.get(start..end) == Some(name) && self.strings.get(end).is_none_or(|&b| b == 0)
    }

    fn find(&self, kind: u32, name: &str) -> Option<u32> {
        self.find_many(&[(kind, name)])[0]
    }

    /// The ids of several (kind, name) pairs in one pass over the types;
    /// only the info word is read of a type whose kind nobody wants.
    fn find_many(&self, wanted: &[(u32, &str)]) -> Vec<Option<u32>> {
        let mut found = vec![None; wanted.len()];
        let mut missing = wanted.len();
        // Every wanted kind, as a bit: one test per type in the hot loop.
        let kinds: u32 = wanted
            .iter()
            .fold(0, |bits, &(k, _)| bits | 1 << (k & 0x1f));
        let mut id = 0;
        while id + 1 < self.starts.len() {
            id += 1;
            // Every start was checked by parse_btf: 12 header bytes follow.
            let at = self.starts[id] as usize;
            let kind = u32::from(self.types[at + 7]) & 0x1f;
            if kinds & (1 << kind) == 0 {
                continue;
            }
            // An enum without members is a forward declaration: the
            // definition comes elsewhere.
            if kind == KIND_ENUM && self.types[at + 4] == 0 && self.types[at + 5] == 0 {
                continue;
            }
            let name_off = le32(self.types, at);
            // The first byte rules out nearly every name without a compare.
            let Some(&first) = self.strings.get(name_off as usize) else {
                continue;
            };
            for (slot, &(k, name)) in found.iter_mut().zip(wanted) {
                if slot.is_none()
                    && k == kind
                    && name.as_bytes().first() == Some(&first)
                    && self.name_is(name_off, name.as_bytes())
                {
                    *slot = Some(id as u32);
                    missing -= 1;
                }
            }
            if missing == 0 {
                break;
            }
        }
        found
    }

    /// The ids of the structs named in `structs` and of the functions named
    /// in `functions`, in one pass over the types.
    pub fn struct_and_function_ids(
        &self,
        structs: &[&str],
        functions: &[&str],
    ) -> (Vec<Option<u32>>, Vec<Option<u32>>) {
        let [structs, functions, _] = self.type_ids(structs, functions, &[]);
        (structs, functions)
    }

    /// The ids of structs, functions and enums by name, in one pass over
    /// the types (`None` for a name not found), in that order.
    pub fn type_ids(&self, structs: &[&str], functions: &[&str], enums: &[&str]) -> [TypeIds; 3] {
        let wanted: Vec<(u32, &str)> = structs
            .iter()
            .map(|name| (KIND_STRUCT, *name))
            .chain(functions.iter().map(|name| (KIND_FUNC, *name)))
            .chain(enums.iter().map(|name| (KIND_ENUM, *name)))
            .collect();
        let mut ids = self.find_many(&wanted);
        let enums = ids.split_off(structs.len() + functions.len());
        let functions = ids.split_off(structs.len());
        [ids, functions, enums]
    }

    /// The value of `member` in the (32-bit) enum with id `id`.
    pub fn enum_value(&self, id: u32, member: &str) -> Option<i32> {
        let entry = self.entry(id)?;
        if entry.kind != KIND_ENUM {
            return None;
        }
        (0..entry.vlen).find_map(|index| {
            let at = entry.at + 12 + index * 8;
            let name_off = u32_at(self.types, at)?;
            self.name_is(name_off, member.as_bytes())
                .then(|| u32_at(self.types, at + 4).map(|value| value as i32))?
        })
    }

    /// The type id of the function named `name` (a BPF program's attach id).
    pub fn function_id(&self, name: &str) -> Option<u32> {
        self.find(KIND_FUNC, name)
    }

    /// The byte offset of `member` in `struct name`, looking through
    /// anonymous structs and unions; `None` for a missing member or a
    /// bitfield.
    pub fn member_offset(&self, name: &str, member: &str) -> Option<usize> {
        self.member_offset_in(self.find(KIND_STRUCT, name)?, member)
    }

    /// [`member_offset`](Self::member_offset) in the struct with id `id`
    /// (from [`struct_and_function_ids`](Self::struct_and_function_ids)).
    pub fn member_offset_in(&self, id: u32, member: &str) -> Option<usize> {
        let mut budget = MEMBER_BUDGET;
        self.member_in(id, member.as_bytes(), 0, &mut budget)
    }

    fn member_in(&self, id: u32, member: &[u8], depth: usize, budget: &mut usize) -> Option<usize> {
        let entry = self.entry(id)?;
        if !(entry.kind == KIND_STRUCT || entry.kind == KIND_UNION) || depth > MAX_NESTING {
            return None;
        }
        for index in 0..entry.vlen {
            *budget = budget.checked_sub(1)?;
            let at = entry.at + 12 + index * 12;
            let name_off = u32_at(self.types, at)?;
            let member_type = u32_at(self.types, at + 4)?;
            let raw_offset = u32_at(self.types, at + 8)?;
            let (bits, bitfield_size) = if entry.kind_flag {
                (raw_offset & 0x00ff_ffff, raw_offset >> 24)
            } else {
                (raw_offset, 0)
            };
            if name_off == 0 {
                let inner = self.member_in(self.resolve(member_type)?, member, depth + 1, budget);
                if let Some(offset) = inner {
                    return Some(bits as usize / 8 + offset);
                }
            } else if self.name_is(name_off, member) {
                return (bitfield_size == 0 && bits % 8 == 0).then_some(bits as usize / 8);
            }
        }
        None
    }

    /// Follows typedefs and qualifiers to the underlying type.
    fn resolve(&self, mut id: u32) -> Option<u32> {
        for _ in 0..MAX_NESTING {
            let entry = self.entry(id)?;
            // typedef, volatile, const, restrict, type tag: size_or_type is a type id.
            if matches!(entry.kind, 8..=11 | 18) {
                id = u32_at(self.types, entry.at + 8)?;
            } else {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF blob: header, type section, string section.
    fn blob(types: &[u8], strings: &[u8]) -> Vec<u8> {
        let mut blob = Vec::new();
        blob.extend_from_slice(&MAGIC.to_le_bytes());
        blob.extend_from_slice(&[1, 0]);
        let (types_len, strings_len) = (types.len() as u32, strings.len() as u32);
        for word in [24u32, 0, types_len, types_len, strings_len] {
            blob.extend_from_slice(&word.to_le_bytes());
        }
        blob.extend_from_slice(types);
        blob.extend_from_slice(strings);
        blob
    }

    /// Builds a BTF blob: `struct file { long f_mode; union { struct path
    /// f_path; }; }`, `struct path { void *mnt; }`, `FUNC iter` and `enum
    /// pid_type { PIDTYPE_PGID = 2, PIDTYPE_SID = 3 }`.
    fn sample() -> Vec<u8> {
        let strings =
            b"\0file\0f_mode\0f_path\0path\0mnt\0iter\0long\0pid_type\0PIDTYPE_PGID\0PIDTYPE_SID\0";
        let name = |s: &str| {
            let needle = format!("\0{s}\0");
            (strings
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap()
                + 1) as u32
        };
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                types.extend_from_slice(&w.to_le_bytes());
            }
        };
        // 1: int long
        push(&[name("long"), KIND_INT << 24, 8, 64]);
        // 2: struct path { long mnt; } (size 8)
        push(&[name("path"), KIND_STRUCT << 24 | 1, 8, name("mnt"), 1, 0]);
        // 3: anonymous union { struct path f_path; }
        push(&[0, KIND_UNION << 24 | 1, 8, name("f_path"), 2, 0]);
        // 4: struct file { long f_mode; union; }
        push(&[
            name("file"),
            KIND_STRUCT << 24 | 2,
            16,
            name("f_mode"),
            1,
            0,
            0,
            3,
            64,
        ]);
        // 5: FUNC iter (proto id 0 is fine for the parser)
        push(&[name("iter"), KIND_FUNC << 24, 0]);
        // 6: enum pid_type (4 bytes, two enumerators)
        push(&[name("pid_type"), KIND_ENUM << 24 | 2, 4]);
        push(&[name("PIDTYPE_PGID"), 2, name("PIDTYPE_SID"), 3]);
        blob(&types, strings)
    }

    #[test]
    fn finds_functions_and_members_through_anonymous_unions() {
        let blob = sample();
        let btf = parse_btf(&blob).unwrap();
        assert_eq!(btf.len(), 7);
        assert_eq!(btf.function_id("iter"), Some(5));
        assert_eq!(btf.function_id("file"), None);
        assert_eq!(btf.member_offset("file", "f_mode"), Some(0));
        assert_eq!(btf.member_offset("file", "f_path"), Some(8));
        assert_eq!(btf.member_offset("file", "nothing"), None);
        assert_eq!(btf.member_offset("path", "mnt"), Some(0));
        // The one-pass lookup the fd iterator uses agrees.
        let (ids, functions) =
            btf.struct_and_function_ids(&["file", "path", "absent"], &["iter", "gone"]);
        assert_eq!(functions, [Some(5), None]);
        assert_eq!(ids[2], None);
        assert_eq!(btf.member_offset_in(ids[0].unwrap(), "f_path"), Some(8));
        assert_eq!(btf.member_offset_in(ids[1].unwrap(), "mnt"), Some(0));
        let [_, _, enums] = btf.type_ids(&[], &[], &["pid_type", "file"]);
        assert_eq!(enums, [Some(6), None], "a struct is no enum");
        assert_eq!(btf.enum_value(6, "PIDTYPE_SID"), Some(3));
        assert_eq!(btf.enum_value(6, "PIDTYPE_PGID"), Some(2));
        assert_eq!(btf.enum_value(6, "PIDTYPE_TGID"), None);
        assert_eq!(btf.enum_value(4, "f_mode"), None, "a struct's member");
    }

    #[test]
    fn a_struct_of_anonymous_members_of_itself_ends_quickly() {
        // struct loop { 60000 anonymous members of type `struct loop` }
        let strings = b"\0loop\0";
        let mut types = Vec::new();
        let vlen = 60_000u32;
        for w in [1u32, KIND_STRUCT << 24 | vlen, 8] {
            types.extend_from_slice(&w.to_le_bytes());
        }
        for _ in 0..vlen {
            for w in [0u32, 1, 0] {
                types.extend_from_slice(&w.to_le_bytes());
            }
        }
        let blob = blob(&types, strings);
        let btf = parse_btf(&blob).unwrap();
        assert_eq!(btf.member_offset("loop", "x"), None);
        // Stopped by its step budget, not by the end of the search.
        let id = btf.find(KIND_STRUCT, "loop").unwrap();
        let mut budget = MEMBER_BUDGET;
        assert_eq!(btf.member_in(id, b"x", 0, &mut budget), None);
        assert_eq!(budget, 0, "every step of the budget taken, and no more");
    }

    #[test]
    fn rejects_truncated_and_foreign_blobs() {
        let blob = sample();
        assert!(parse_btf(&blob[..10]).is_err());
        assert!(parse_btf(&blob[..40]).is_err());
        let mut wrong = blob.clone();
        wrong[0] = 0;
        assert!(parse_btf(&wrong).is_err());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_the_running_kernel() {
        let Ok(bytes) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            return; // a kernel built without BTF: nothing to check
        };
        let btf = parse_btf(&bytes).unwrap();
        assert!(btf.len() > 1000);
        assert!(btf.function_id("bpf_iter_task_file").is_some());
        let (ids, functions) = btf.struct_and_function_ids(
            &["task_struct"],
            &["bpf_iter_task_file", "bpf_iter_task_vma"],
        );
        assert_eq!(functions[0], btf.function_id("bpf_iter_task_file"));
        assert_eq!(functions[1], btf.function_id("bpf_iter_task_vma"));
        assert!(functions[1].is_some());
        assert_eq!(
            btf.member_offset_in(ids[0].unwrap(), "tgid"),
            btf.member_offset("task_struct", "tgid")
        );
        assert!(btf.member_offset("task_struct", "tgid").is_some());
        assert!(btf.member_offset("file", "f_path").is_some());
        assert_eq!(btf.member_offset("path", "mnt"), Some(0));
        let [_, _, enums] = btf.type_ids(&[], &[], &["pid_type"]);
        assert_eq!(btf.enum_value(enums[0].unwrap(), "PIDTYPE_PGID"), Some(2));
        assert_eq!(btf.enum_value(enums[0].unwrap(), "PIDTYPE_SID"), Some(3));
    }
}
