//! User names for uids.

/// The login name of `uid` from the system's user database, if it has one.
///
/// # References
/// getpwuid_r(3).
pub fn user_name(uid: u32) -> Option<String> {
    // A report names the same few uids over and over, and each lookup may
    // read /etc/passwd or ask a directory service: one lookup per uid.
    static NAMES: std::sync::Mutex<Option<std::collections::HashMap<u32, Option<String>>>> =
        std::sync::Mutex::new(None);
    let mut names = NAMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    names
        .get_or_insert_with(std::collections::HashMap::new)
        .entry(uid)
        .or_insert_with(|| {
            passwd_field(uid, |passwd| passwd.pw_name)
                .map(|name| String::from_utf8_lossy(&name).into_owned())
        })
        .clone()
}

/// The uid of the user named `name` (`getpwnam_r`), or `name` itself when
/// it is a number; `None` for no such user.
///
/// # References
/// getpwnam_r(3).
pub fn uid_of(name: &str) -> Option<u32> {
    if let Ok(uid) = name.parse::<u32>() {
        return Some(uid);
    }
    let name = std::ffi::CString::new(name).ok()?;
    // An entry larger than the buffer (ERANGE) is asked again with more.
    let mut size = 4096;
    loop {
        let mut buffer = vec![0 as libc::c_char; size];
        // SAFETY: `passwd` is plain old data; it is only read after
        // getpwnam_r succeeds and sets `result` to point at it.
        let mut passwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is to a live local (`name` is
        // NUL-terminated); `buffer.len()` is its true size.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut passwd,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        return (rc == 0 && !result.is_null()).then_some(passwd.pw_uid);
    }
}

/// The home directory of `uid` from the system's user database, if it has
/// one.
///
/// # References
/// getpwuid_r(3).
pub fn home_dir(uid: u32) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    passwd_field(uid, |passwd| passwd.pw_dir)
        .filter(|dir| !dir.is_empty())
        .map(|dir| std::ffi::OsString::from_vec(dir).into())
}

/// The string `field` picks from `uid`'s user database entry.
fn passwd_field(uid: u32, field: impl Fn(&libc::passwd) -> *mut libc::c_char) -> Option<Vec<u8>> {
    let mut buffer = vec![0 as libc::c_char; 4096];
    // SAFETY: `passwd` is plain old data; it is only read after getpwuid_r
    // succeeds and sets `result` to point at it.
    let mut passwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to a live local; `buffer.len()` is its true
    // size, and the strings getpwuid_r stores point into `buffer`, which
    // outlives their use below.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut passwd,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut result,
        )
    };
    let value = field(&passwd);
    if rc != 0 || result.is_null() || value.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so the field is a NUL-terminated string
    // inside `buffer`, alive here.
    Some(
        unsafe { std::ffi::CStr::from_ptr(value) }
            .to_bytes()
            .to_vec(),
    )
}

/// The effective uid of this process.
///
/// # References
/// geteuid(2).
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Whether this process runs with uid 0 (root can still be refused, e.g. by
/// a process that is not dumpable or by a security module).
///
/// # References
/// geteuid(2).
pub fn is_superuser() -> bool {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}
