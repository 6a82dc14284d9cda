//! What surrounds HAProxy's message on a line: a syslog header (RFC 3164 with or without a
//! hostname, RFC 5424), what rsyslog writes to a file (traditional or high-precision
//! timestamp, no `<PRI>`), `journalctl -o short` / `short-iso` / `short-precise`, or nothing
//! (`journalctl -o cat`, `log stdout format raw`).
//!
//! Pure functions over byte slices: nothing is copied, nothing allocated.

/// The header of one line and where HAProxy's message starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Envelope<'a> {
    /// `<PRI>` when the line has one (a datagram, `format short`).
    pub pri: Option<u8>,
    /// `rfc5424`, `rfc3164` (with a host), `local` (RFC 3164 without a host, HAProxy's
    /// default), `file` (rsyslog/journalctl: a timestamp, a host and a tag, no `<PRI>`), `raw`.
    pub format: &'static str,
    pub timestamp: &'a [u8],
    pub host: &'a [u8],
    /// The program name (`haproxy`, `systemd`), empty when the line has no tag.
    pub tag: &'a [u8],
    pub pid: Option<u32>,
    pub message: &'a [u8],
}

impl Envelope<'_> {
    /// The line belongs to another program (systemd, kernel, cron): its tag is known and does
    /// not look like HAProxy's (`haproxy`, `haproxy-ext`, a `log-tag` with `haproxy` in it).
    pub fn foreign(&self) -> bool {
        !self.tag.is_empty() && memchr::memmem::find(self.tag, b"haproxy").is_none()
    }
}

/// The month number (1-12) of a three-letter English abbreviation.
#[inline]
pub fn month(m: &[u8]) -> Option<u8> {
    let n = match m {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    Some(n)
}

/// Splits a line into its header and HAProxy's message.
pub fn split(line: &[u8]) -> Envelope<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut env = Envelope {
        format: "raw",
        message: line,
        ..Envelope::default()
    };
    let mut rest = line;
    if let Some((pri, r)) = pri(line) {
        env.pri = Some(pri);
        rest = r;
        if let Some(r) = rest.strip_prefix(b"1 ") {
            return rfc5424(r, env);
        }
    }
    let ts_len = rfc3164_timestamp(rest).or_else(|| iso_timestamp(rest));
    let Some(n) = ts_len else {
        env.message = rest;
        return env;
    };
    env.timestamp = &rest[..n];
    let after = skip_spaces(&rest[n..]);
    let (first, after_first) = word(after);
    if let Some((tag, pid)) = tag(first) {
        env.format = "local";
        env.tag = tag;
        env.pid = pid;
        env.message = after_first;
        return env;
    }
    let (second, after_second) = word(after_first);
    match tag(second) {
        Some((tag, pid)) => {
            env.format = if env.pri.is_some() { "rfc3164" } else { "file" };
            env.host = first;
            env.tag = tag;
            env.pid = pid;
            env.message = after_second;
        }
        None => env.message = after,
    }
    env
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ').count();
    &s[n..]
}

/// The next space-separated word and what follows it (leading spaces skipped).
fn word(s: &[u8]) -> (&[u8], &[u8]) {
    let i = crate::base::bytes::find_byte(s, 0, b' ');
    if i < s.len() {
        (&s[..i], &s[i + 1..])
    } else {
        (s, &s[s.len()..])
    }
}

fn pri(s: &[u8]) -> Option<(u8, &[u8])> {
    let r = s.strip_prefix(b"<")?;
    let end = r.iter().take(4).position(|&b| b == b'>')?;
    if end == 0 {
        return None;
    }
    let mut v: u16 = 0;
    for &b in &r[..end] {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u16::from(b - b'0');
    }
    (v <= 191).then(|| (v as u8, &r[end + 1..]))
}

/// `Mmm dd hh:mm:ss` (day space- or zero-padded), with `.ffffff` from `short-precise`.
fn rfc3164_timestamp(s: &[u8]) -> Option<usize> {
    let b = s.get(..15)?;
    let ok = month(&b[..3]).is_some()
        && b[3] == b' '
        && (b[4] == b' ' || b[4].is_ascii_digit())
        && b[5].is_ascii_digit()
        && b[6] == b' '
        && b[9] == b':'
        && b[12] == b':'
        && [7, 8, 10, 11, 13, 14]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !ok {
        return None;
    }
    let mut n = 15;
    if s.get(n) == Some(&b'.') {
        n += 1;
        while s.get(n).is_some_and(u8::is_ascii_digit) {
            n += 1;
        }
    }
    (s.get(n) == Some(&b' ')).then_some(n)
}

/// `2026-11-23T19:23:03[.ffffff][Z|+01:00|+0100]` (rsyslog's high precision, `short-iso`).
fn iso_timestamp(s: &[u8]) -> Option<usize> {
    let b = s.get(..19)?;
    let ok = b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && b[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !ok || b[10] == b' ' {
        return None;
    }
    let n = memchr::memchr(b' ', s)?;
    s[19..n]
        .iter()
        .all(|&c| c.is_ascii_digit() || matches!(c, b'.' | b'+' | b'-' | b':' | b'Z'))
        .then_some(n)
}

/// `name[pid]:` or `name:` (a word that ends with `:` and has no `/`).
fn tag(w: &[u8]) -> Option<(&[u8], Option<u32>)> {
    let w = w.strip_suffix(b":")?;
    if w.is_empty() || w.contains(&b'/') {
        return None;
    }
    if let Some(inner) = w.strip_suffix(b"]") {
        let open = inner.iter().rposition(|&b| b == b'[')?;
        if open == 0 {
            return None;
        }
        return Some((&inner[..open], parse_u32(&inner[open + 1..])));
    }
    // `10.0.0.1:` or `::1:` is never a tag: a tag starts with a letter.
    w[0].is_ascii_alphabetic().then_some((w, None))
}

fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut v = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

fn rfc5424<'a>(r: &'a [u8], mut env: Envelope<'a>) -> Envelope<'a> {
    env.format = "rfc5424";
    let nil = |w: &'_ [u8]| -> bool { w == b"-" };
    let (ts, r) = word(r);
    let (host, r) = word(r);
    let (app, r) = word(r);
    let (pid, r) = word(r);
    let (_msgid, r) = word(r);
    env.timestamp = if nil(ts) { b"" } else { ts };
    env.host = if nil(host) { b"" } else { host };
    env.tag = if nil(app) { b"" } else { app };
    env.pid = parse_u32(pid);
    let msg = if let Some(m) = r.strip_prefix(b"-") {
        m
    } else if r.first() == Some(&b'[') {
        skip_sd(r)
    } else {
        r
    };
    let msg = msg.strip_prefix(b" ").unwrap_or(msg);
    env.message = msg.strip_prefix("\u{feff}".as_bytes()).unwrap_or(msg);
    env
}

/// Skips `[id k="v"]...` elements (with `\]` and `\"` escapes inside values).
fn skip_sd(s: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < s.len() && s[i] == b'[' {
        let mut in_q = false;
        i += 1;
        while i < s.len() {
            match s[i] {
                b'\\' => i += 1,
                b'"' => in_q = !in_q,
                b']' if !in_q => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    &s[i.min(s.len())..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    /// (line, format, timestamp, host, tag, pid, message)
    type Case = (
        &'static [u8],
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<u32>,
        &'static str,
    );

    #[test]
    fn every_header_people_have() {
        let cases: &[Case] = &[
            (
                b"<134>Nov 23 19:23:03 haproxy[7710]: m x",
                "local",
                "Nov 23 19:23:03",
                "",
                "haproxy",
                Some(7710),
                "m x",
            ),
            (
                b"<150>Dec  6 21:10:49 lb1 haproxy[6879]: m",
                "rfc3164",
                "Dec  6 21:10:49",
                "lb1",
                "haproxy",
                Some(6879),
                "m",
            ),
            (
                b"Dec  6 21:10:49 lb1 haproxy[6879]: m",
                "file",
                "Dec  6 21:10:49",
                "lb1",
                "haproxy",
                Some(6879),
                "m",
            ),
            (
                b"Dec 06 21:10:49.123456 lb1 haproxy[6879]: m",
                "file",
                "Dec 06 21:10:49.123456",
                "lb1",
                "haproxy",
                Some(6879),
                "m",
            ),
            (
                b"2026-12-06T21:10:49.049649+00:00 lb1 haproxy[6879]: m",
                "file",
                "2026-12-06T21:10:49.049649+00:00",
                "lb1",
                "haproxy",
                Some(6879),
                "m",
            ),
            (
                b"2026-12-06T21:10:49+0100 lb1 haproxy[6879]: m",
                "file",
                "2026-12-06T21:10:49+0100",
                "lb1",
                "haproxy",
                Some(6879),
                "m",
            ),
            (
                b"<142>1 2026-11-23T19:23:03.625442+00:00 - haproxy 7710 - - m y",
                "rfc5424",
                "2026-11-23T19:23:03.625442+00:00",
                "",
                "haproxy",
                Some(7710),
                "m y",
            ),
            (
                b"<142>1 2026-11-23T19:23:03Z lb1 haproxy 7710 - [a@1 x=\"]\\\"\"] m",
                "rfc5424",
                "2026-11-23T19:23:03Z",
                "lb1",
                "haproxy",
                Some(7710),
                "m",
            ),
            (
                b"127.0.0.1:1 [06/Dec/2026:21:10:49.044] fe",
                "raw",
                "",
                "",
                "",
                None,
                "127.0.0.1:1 [06/Dec/2026:21:10:49.044] fe",
            ),
            (
                b"<134>127.0.0.1:1 [d] fe",
                "raw",
                "",
                "",
                "",
                None,
                "127.0.0.1:1 [d] fe",
            ),
            (
                b"Dec 06 21:10:48 lb1 systemd[1]: Started haproxy.",
                "file",
                "Dec 06 21:10:48",
                "lb1",
                "systemd",
                Some(1),
                "Started haproxy.",
            ),
            (
                b"Nov 23 19:23:03 lb1 kernel: x",
                "file",
                "Nov 23 19:23:03",
                "lb1",
                "kernel",
                None,
                "x",
            ),
        ];
        for (line, format, ts, host, tag, pid, msg) in cases {
            let e = split(line);
            assert_eq!(e.format, *format, "{}", s(line));
            assert_eq!(
                (s(e.timestamp), s(e.host), s(e.tag), e.pid, s(e.message)),
                (*ts, *host, *tag, *pid, *msg),
                "{}",
                s(line)
            );
        }
        assert!(split(b"Dec 06 21:10:48 lb1 systemd[1]: x").foreign());
        assert!(!split(b"Dec 06 21:10:48 lb1 haproxy[1]: x").foreign());
        assert!(!split(b"x").foreign());
    }

    #[test]
    fn junk_never_panics() {
        for l in [
            &b""[..],
            b"<",
            b"<>",
            b"<1",
            b"<999>x",
            b"<1>1",
            b"<1>1 ",
            b"<1>1 a b",
            b"Nov 23 19:23:0",
            b"Nov 23 19:23:03",
            b"Nov 23 19:23:03 ",
            b"2026-11-23T19:23:03",
            b"\xff\xfe",
            b"a:",
            b"Nov 23 19:23:03 [x]: m",
            b"<12>Nov 23 19:23:03 h t[: m",
        ] {
            let _ = split(l);
        }
    }
}
