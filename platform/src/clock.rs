//! Wall-clock conversions that need the OS's time-zone database.

/// A broken-down local time, as `localtime_r(3)` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Calendar year (e.g. 2026).
    pub year: i32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    /// Hour, 0-23.
    pub hour: u32,
    /// Minute, 0-59.
    pub minute: u32,
    /// Second, 0-60 (a leap second).
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

/// Converts seconds since the epoch to local time in the process's time zone (`TZ`).
///
/// Returns `None` when the C library cannot represent the time.
///
/// # References
/// localtime_r(3), tzset(3).
pub fn local_time(epoch_seconds: i64) -> Option<LocalTime> {
    // time_t is 64-bit on the targets limier supports, 32-bit on some others.
    #[allow(clippy::useless_conversion)]
    let time: libc::time_t = epoch_seconds.try_into().ok()?;
    // SAFETY: `tm` is plain old data, so an all-zero value is valid; it is
    // only read after localtime_r reports success by returning non-null.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live, properly aligned locals for the
    // duration of the call; localtime_r is the re-entrant variant and keeps
    // no reference to them.
    let result = unsafe { libc::localtime_r(&time, &mut tm) };
    if result.is_null() {
        return None;
    }
    Some(LocalTime {
        year: tm.tm_year + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
        weekday: u32::try_from(tm.tm_wday).ok()?,
    })
}
