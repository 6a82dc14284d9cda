//! Dates in HAProxy's logs, as seconds on the log's own clock.
//!
//! HAProxy writes the accept date in the host's local time without an offset
//! (`23/Nov/2026:19:23:03.623`); CLF adds one (`+0000`). harun compares dates as written, with
//! no time zone conversion: `since`/`until` are read on the same clock as the log.

use super::envelope::month;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day number.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let mut v = 0i64;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Some(v)
}

/// `dd/Mon/yyyy:hh:mm:ss[.mmm][ +zzzz]` → seconds (the offset is ignored: see the module doc).
pub fn accept_date_secs(s: &[u8]) -> Option<i64> {
    if s.len() < 20 || s[2] != b'/' || s[6] != b'/' || s[11] != b':' {
        return None;
    }
    let d = digits(&s[0..2])?;
    let m = i64::from(month(&s[3..6])?);
    let y = digits(&s[7..11])?;
    let hh = digits(&s[12..14])?;
    let mm = digits(&s[15..17])?;
    let ss = digits(&s[18..20])?;
    if s[14] != b':' || s[17] != b':' || hh > 23 || mm > 59 || ss > 60 || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// The minute of an accept date, with a one-entry cache: consecutive lines share their
/// minute, so most lines cost one 17-byte comparison.
#[derive(Default)]
pub struct MinuteCache {
    key: [u8; 17],
    minute: Option<i64>,
}

impl MinuteCache {
    pub fn minute(&mut self, date: &[u8]) -> Option<i64> {
        let k = date.get(..17)?;
        if self.minute.is_some() && k == self.key {
            return self.minute;
        }
        let m = accept_date_secs(date).map(|s| s.div_euclid(60));
        if m.is_some() {
            self.key.copy_from_slice(k);
            self.minute = m;
        }
        m
    }

    /// Seconds of an accept date (the minute from the cache, the seconds read directly).
    #[inline]
    pub fn secs(&mut self, date: &[u8]) -> Option<i64> {
        let m = self.minute(date)?;
        let ss = date.get(18..20)?;
        if !ss[0].is_ascii_digit() || !ss[1].is_ascii_digit() {
            return None;
        }
        Some(m * 60 + i64::from(ss[0] - b'0') * 10 + i64::from(ss[1] - b'0'))
    }
}

/// `yyyy-mm-ddThh:mm[:ss]` (also with a space) or HAProxy's `dd/Mon/yyyy:hh:mm:ss`.
pub fn parse_user_time(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if let Some(t) = accept_date_secs(b) {
        return Some(t);
    }
    if b.len() == 19 && b[2] == b'/' {
        return None;
    }
    if b.len() < 16
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
    {
        return None;
    }
    let y = digits(&b[0..4])?;
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let hh = digits(&b[11..13])?;
    let mm = digits(&b[14..16])?;
    let ss = match b.get(16) {
        None => 0,
        Some(b':') => digits(b.get(17..19)?)?,
        Some(_) => return None,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// `2026-11-23T19:23` for a minute number.
pub fn format_minute(minute: i64) -> String {
    let secs = minute * 60;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Seconds as `2026-11-23T19:23:03`.
pub fn format_secs(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An HAProxy time value in ms: `30s`, `5000` (ms), `100ms`, `1m`, `2h`, `1d`, `500us`.
pub fn haproxy_time_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: i64 = s[..end].parse().ok()?;
    let mult = match &s[end..] {
        "" | "ms" => 1,
        "us" => return Some(n / 1000),
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = accept_date_secs(b"23/Nov/2026:19:23:03.623").unwrap();
        assert_eq!(format_secs(t), "2026-11-23T19:23:03");
        assert_eq!(
            accept_date_secs(b"06/Dec/2026:21:10:52 +0000")
                .map(format_secs)
                .as_deref(),
            Some("2026-12-06T21:10:52")
        );
        assert_eq!(parse_user_time("2026-11-23T19:23"), Some(t - 3));
        assert_eq!(parse_user_time("2026-11-23 19:23:03"), Some(t));
        assert_eq!(parse_user_time("23/Nov/2026:19:23:03"), Some(t));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00",
            "2026-11-23T25:00",
            "23/Foo/2026:19:23:03",
            "2026-11-23T19:2x",
        ] {
            assert_eq!(parse_user_time(bad), None, "{bad}");
        }
        assert_eq!(accept_date_secs(b"d"), None);
        assert_eq!(format_minute(t / 60), "2026-11-23T19:23");
        for z in [-800_000, -1, 0, 1, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(haproxy_time_ms("30s"), Some(30_000));
        assert_eq!(haproxy_time_ms("5000"), Some(5000));
        assert_eq!(haproxy_time_ms("1m"), Some(60_000));
        assert_eq!(haproxy_time_ms("x"), None);
        assert_eq!(haproxy_time_ms("10q"), None);
        let mut c = MinuteCache::default();
        assert_eq!(c.minute(b"23/Nov/2026:19:23:03.623"), Some(t / 60));
        assert_eq!(c.minute(b"23/Nov/2026:19:23:59.999"), Some(t / 60));
        assert_eq!(c.minute(b"23/Nov/2026:19:24:00.000"), Some(t / 60 + 1));
        assert_eq!(c.minute(b"garbage"), None);
        assert_eq!(c.secs(b"23/Nov/2026:19:23:03.623"), Some(t));
    }
}
