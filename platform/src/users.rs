//! User names for uids.

/// The login name of `uid` from the system's user database, if it has one.
///
/// # References
/// getpwuid_r(3).
pub fn user_name(uid: u32) -> Option<String> {
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
    if rc != 0 || result.is_null() || passwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name is a NUL-terminated string inside `buffer`.
    let name = unsafe { std::ffi::CStr::from_ptr(passwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
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
