//! One HAProxy log record, as byte slices into the line it came from, and the fast parsers of
//! HAProxy's fixed formats (`option httplog`, `option tcplog`, the default `Connect from`
//! format) and of its own notices.
//!
//! The fast parsers find fields by skipping separators from known positions and never copy:
//! this is what keeps `log_summary` near `halog`'s speed.

use crate::base::bytes::find_byte;

/// An absent value (a field the format does not have).
pub const NA: i64 = i64::MIN;

/// Which fixed or custom format produced an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    HttpLog,
    TcpLog,
    Clf,
    /// `Connect from A to B (frontend/MODE)`, HAProxy's format without any log option.
    Default,
    /// A `log-format` read from the configuration (index in the list given to the parser).
    Custom(usize),
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::HttpLog => "httplog",
            Format::TcpLog => "tcplog",
            Format::Clf => "clf",
            Format::Default => "default",
            Format::Custom(_) => "custom",
        }
    }
}

/// One traffic log record. Timers are milliseconds; `-1` is kept ("not reached": the
/// session ended before that phase), [`NA`] means the format has no such field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub format: Format,
    /// HTTP (httplog, clf, a custom format with `%ST` or `%r`) or TCP.
    pub http: bool,
    /// `127.0.0.1`, `::1`, `unix` (a unix-socket client).
    pub client_ip: &'a [u8],
    /// The client port; for a unix socket HAProxy logs the listener's id here.
    pub client_port: i64,
    /// `23/Nov/2026:19:23:03.623` (httplog, tcplog) or `23/Nov/2026:19:23:03 +0000` (clf).
    pub accept_date: &'a [u8],
    /// The frontend without the `~` that marks an SSL/TLS listener.
    pub frontend: &'a [u8],
    pub ssl: bool,
    pub backend: &'a [u8],
    /// `<NOSRV>` when no server was selected (served locally, refused, queued out, bad request).
    pub server: &'a [u8],
    /// `backend/server` as one slice when the line has it so (httplog, tcplog): the key of
    /// per-server aggregates without copying.
    pub backend_server: &'a [u8],
    pub t_request: i64,
    pub t_queue: i64,
    pub t_connect: i64,
    pub t_response: i64,
    /// Ta, the active time of an HTTP request (the last httplog timer).
    pub t_active: i64,
    /// Tt, the whole session (tcplog's last timer; `%Tt` in a custom format).
    pub t_total: i64,
    pub status: i64,
    pub bytes_read: i64,
    /// `----`, `SC--`, `sH--`, `cD` (tcplog: two characters).
    pub termination_state: &'a [u8],
    pub actconn: i64,
    pub feconn: i64,
    pub beconn: i64,
    pub srv_conn: i64,
    pub retries: i64,
    /// `+` before the retries: the request was redispatched to another server.
    pub redispatched: bool,
    pub srv_queue: i64,
    pub backend_queue: i64,
    pub captured_request_cookie: &'a [u8],
    pub captured_response_cookie: &'a [u8],
    pub captured_request_headers: Option<&'a [u8]>,
    pub captured_response_headers: Option<&'a [u8]>,
    /// The request line without its quotes (`<BADREQ>` for an invalid request).
    pub request: &'a [u8],
    /// The request line was cut (HAProxy's `len`): no closing quote.
    pub truncated: bool,
    /// `option logasap`: a `+` before the total time or the bytes.
    pub logasap: bool,
    /// `%HM` / `%HU` of a custom format that logs them apart from the request line.
    pub(crate) method_var: &'a [u8],
    pub(crate) uri_var: &'a [u8],
    /// Captures and request line not parsed yet ([`Entry::complete`]): what follows the
    /// queue counters of an httplog line. Empty once parsed.
    pub(crate) tail: &'a [u8],
}

impl<'a> Entry<'a> {
    pub(crate) fn new(format: Format, http: bool) -> Self {
        Entry {
            format,
            http,
            client_ip: b"",
            client_port: NA,
            accept_date: b"",
            frontend: b"",
            ssl: false,
            backend: b"",
            server: b"",
            backend_server: b"",
            t_request: NA,
            t_queue: NA,
            t_connect: NA,
            t_response: NA,
            t_active: NA,
            t_total: NA,
            status: NA,
            bytes_read: NA,
            termination_state: b"",
            actconn: NA,
            feconn: NA,
            beconn: NA,
            srv_conn: NA,
            retries: NA,
            redispatched: false,
            srv_queue: NA,
            backend_queue: NA,
            captured_request_cookie: b"",
            captured_response_cookie: b"",
            captured_request_headers: None,
            captured_response_headers: None,
            request: b"",
            truncated: false,
            logasap: false,
            method_var: b"",
            uri_var: b"",
            tail: b"",
        }
    }

    /// Parses the captures and the request line of an entry read with [`parse_fixed_head`].
    /// False when what follows the captures is not a quoted request (not an httplog line).
    #[inline]
    pub fn complete(&mut self) -> bool {
        if self.tail.is_empty() {
            return true;
        }
        let mut c = Cur::new(self.tail);
        self.tail = b"";
        self.captured_request_headers = c.braces();
        if self.captured_request_headers.is_some() {
            self.captured_response_headers = c.braces();
        }
        let rest = c.rest();
        match rest.strip_prefix(b"\"") {
            Some(r) => match memchr::memchr(b'"', r) {
                Some(end) => self.request = &r[..end],
                None => {
                    self.request = r;
                    self.truncated = true;
                }
            },
            // Cut by `len` inside or right after the captures.
            None if rest.is_empty() => self.truncated = true,
            None => return false,
        }
        true
    }

    /// The line may have been cut by HAProxy's `len` and [`Entry::complete`] would say so:
    /// a whole httplog line ends on the closing quote of its request (or has more fields
    /// after it, httpslog: then complete() decides).
    #[inline]
    pub fn maybe_truncated(&self) -> bool {
        self.truncated || self.tail.last().is_some_and(|&b| b != b'"')
    }

    /// The method of the request line (`GET`), empty for `<BADREQ>` or a cut line.
    pub fn method(&self) -> &'a [u8] {
        if self.request.is_empty() {
            return self.method_var;
        }
        if self.request == b"<BADREQ>" {
            return b"";
        }
        match memchr::memchr(b' ', self.request) {
            Some(i) => &self.request[..i],
            None => b"",
        }
    }

    /// The URI of the request line (up to the protocol; what is left of a cut line).
    pub fn uri(&self) -> &'a [u8] {
        if self.request.is_empty() {
            return self.uri_var;
        }
        if self.request == b"<BADREQ>" {
            return b"";
        }
        let Some(i) = memchr::memchr(b' ', self.request) else {
            return b"";
        };
        let rest = &self.request[i + 1..];
        match memchr::memrchr(b' ', rest) {
            Some(j) if rest[j + 1..].starts_with(b"HTTP/") => &rest[..j],
            _ => rest,
        }
    }

    /// The total time of the session or request: Ta for HTTP, Tt for TCP.
    pub fn t_end(&self) -> i64 {
        if self.t_active != NA {
            self.t_active
        } else {
            self.t_total
        }
    }

    /// The first two characters of the termination state (`SC`, `--`).
    pub fn termination2(&self) -> &'a [u8] {
        &self.termination_state[..self.termination_state.len().min(2)]
    }

    /// The session did not end normally (first character not `-`).
    pub fn abnormal(&self) -> bool {
        self.termination_state.first().is_some_and(|&c| c != b'-')
    }
}

/// A message HAProxy writes about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice<'a> {
    /// `server_down`, `server_up`, `server_maint`, `server_ready`, `no_server`, `check`,
    /// `proxy`, `startup`, `other`.
    pub event: &'static str,
    /// `backend/server` (server events), the backend (`no_server`) or the proxy.
    pub subject: &'a [u8],
    /// From `[WARNING]  (pid) : ...` (HAProxy's stderr): the level word; empty otherwise.
    pub level: &'a [u8],
    pub text: &'a [u8],
}

/// What one line is.
// Boxing the entry would allocate for every line; a `Line` only lives on the stack.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Traffic(Entry<'a>),
    /// `Connect from A:P to B:Q (frontend/MODE)`.
    Connect {
        client: &'a [u8],
        frontend: &'a [u8],
        mode: &'a [u8],
    },
    Notice(Notice<'a>),
    /// Not recognised.
    Unknown,
}

/// A cursor over a message.
pub(crate) struct Cur<'a> {
    pub s: &'a [u8],
    pub i: usize,
}

impl<'a> Cur<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Cur { s, i: 0 }
    }
    fn skip_spaces(&mut self) {
        while self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }
    /// The next space-separated word (leading spaces skipped).
    #[inline]
    pub fn word(&mut self) -> Option<&'a [u8]> {
        let s = self.s;
        let mut i = self.i;
        while i < s.len() && s[i] == b' ' {
            i += 1;
        }
        if i >= s.len() {
            self.i = i;
            return None;
        }
        let end = find_byte(s, i, b' ');
        self.i = end;
        Some(&s[i..end])
    }
    /// `[...]`: HAProxy's accept date, 24 characters inside the brackets in every version
    /// (checked first), any length otherwise.
    #[inline]
    pub fn date(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        let s = self.s;
        let i = self.i;
        if s.get(i) == Some(&b'[')
            && s.get(i + 25) == Some(&b']')
            && s.get(i + 26).is_none_or(|&b| b == b' ')
        {
            self.i = i + 26;
            return Some(&s[i + 1..i + 25]);
        }
        self.word()?.strip_prefix(b"[")?.strip_suffix(b"]")
    }

    pub fn rest(&mut self) -> &'a [u8] {
        self.skip_spaces();
        &self.s[self.i.min(self.s.len())..]
    }
    /// `{...}` up to `} ` or the end (HAProxy cuts a line at `len`, maybe inside a capture).
    pub fn braces(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest();
        if rest.first() != Some(&b'{') {
            return None;
        }
        let mut from = 1;
        loop {
            match memchr::memchr(b'}', &rest[from..]) {
                Some(j) => {
                    let e = from + j;
                    if e + 1 == rest.len() || rest[e + 1] == b' ' {
                        self.i += e + 1;
                        return Some(&rest[1..e]);
                    }
                    from = e + 1;
                }
                None => {
                    self.i = self.s.len();
                    return Some(&rest[1..]);
                }
            }
        }
    }
}

/// A decimal integer with an optional `-`; `+` prefixes are reported in `plus`.
#[inline]
pub(crate) fn int(s: &[u8], plus: &mut bool) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => {
            *plus = true;
            (false, &s[1..])
        }
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if neg { -v } else { v })
}

/// `a/b/c` into `out` (exactly `out.len()` numbers), in one pass.
#[inline]
fn slashed(s: &[u8], out: &mut [i64], plus: &mut bool) -> Option<()> {
    let n = out.len();
    let mut k = 0;
    let mut i = 0;
    while k < n {
        let mut neg = false;
        match s.get(i) {
            Some(b'-') => {
                neg = true;
                i += 1;
            }
            Some(b'+') => {
                *plus = true;
                i += 1;
            }
            _ => {}
        }
        let start = i;
        let mut v: i64 = 0;
        while i < s.len() {
            let d = s[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(i64::from(d));
            i += 1;
        }
        if i == start || i - start > 18 {
            return None;
        }
        out[k] = if neg { -v } else { v };
        k += 1;
        if k < n {
            if s.get(i) != Some(&b'/') {
                return None;
            }
            i += 1;
        }
    }
    (i == s.len()).then_some(())
}

fn count_slashes(s: &[u8]) -> usize {
    s.iter().filter(|&&b| b == b'/').count()
}

/// `ip:port`: the port after the last `:` (IPv6 `::1:5`, unix `unix:2`).
pub(crate) fn client(w: &[u8]) -> (&[u8], i64) {
    match w.iter().rposition(|&b| b == b':') {
        Some(i) => {
            let mut p = false;
            match int(&w[i + 1..], &mut p) {
                Some(port) => (&w[..i], port),
                None => (w, NA),
            }
        }
        None => (w, NA),
    }
}

pub(crate) fn frontend(w: &[u8]) -> (&[u8], bool) {
    match w.strip_suffix(b"~") {
        Some(f) => (f, true),
        None => (w, false),
    }
}

/// Parses an `option httplog` or `option tcplog` message up to the queue counters; the
/// captures and the request line wait in `tail` for [`Entry::complete`] (a summary needs
/// them only for the lines it lists).
#[inline(always)]
pub fn parse_fixed_head(msg: &[u8]) -> Option<Entry<'_>> {
    let mut c = Cur::new(msg);
    let (ip, port) = client(c.word()?);
    let date = c.date()?;
    let (fe, ssl) = frontend(c.word()?);
    let bs = c.word()?;
    let slash = find_byte(bs, 0, b'/');
    if slash == bs.len() {
        return None;
    }
    let timers = c.word()?;
    let mut plus = false;
    let mut e = match count_slashes(timers) {
        4 => {
            let mut t = [0i64; 5];
            slashed(timers, &mut t, &mut plus)?;
            let mut e = Entry::new(Format::HttpLog, true);
            e.t_request = t[0];
            e.t_queue = t[1];
            e.t_connect = t[2];
            e.t_response = t[3];
            e.t_active = t[4];
            e.status = int(c.word()?, &mut plus)?;
            e
        }
        2 => {
            let mut t = [0i64; 3];
            slashed(timers, &mut t, &mut plus)?;
            let mut e = Entry::new(Format::TcpLog, false);
            e.t_queue = t[0];
            e.t_connect = t[1];
            e.t_total = t[2];
            e
        }
        _ => return None,
    };
    e.client_ip = ip;
    e.client_port = port;
    e.accept_date = date;
    e.frontend = fe;
    e.ssl = ssl;
    e.backend = &bs[..slash];
    e.server = &bs[slash + 1..];
    e.backend_server = bs;
    e.bytes_read = int(c.word()?, &mut plus)?;
    if e.http {
        e.captured_request_cookie = c.word()?;
        e.captured_response_cookie = c.word()?;
    }
    let ts = c.word()?;
    if ts.len() != if e.http { 4 } else { 2 } {
        return None;
    }
    e.termination_state = ts;
    let mut conns = [0i64; 5];
    let mut redispatched = false;
    let w = c.word()?;
    // The `+` of the last counter (retries) means redispatched, not logasap.
    let last = w.iter().rposition(|&b| b == b'/')?;
    let mut ignore = false;
    slashed(&w[..last], &mut conns[..4], &mut ignore)?;
    conns[4] = int(&w[last + 1..], &mut redispatched)?;
    e.actconn = conns[0];
    e.feconn = conns[1];
    e.beconn = conns[2];
    e.srv_conn = conns[3];
    e.retries = conns[4];
    e.redispatched = redispatched;
    let mut q = [0i64; 2];
    slashed(c.word()?, &mut q, &mut ignore)?;
    e.srv_queue = q[0];
    e.backend_queue = q[1];
    e.logasap = plus;
    if e.http {
        let rest = c.rest();
        match rest.first() {
            // Captures and request come later (complete()); a cut line may end anywhere.
            Some(b'{') => e.tail = rest,
            Some(b'"') => {
                e.tail = rest;
                // The common case decided now: a line that ends on its closing quote is whole.
                e.truncated = false;
            }
            None => e.truncated = true,
            Some(_) => return None,
        }
    }
    Some(e)
}

/// Parses an `option httplog` or `option tcplog` message, captures and request included.
pub fn parse_fixed(msg: &[u8]) -> Option<Entry<'_>> {
    let mut e = parse_fixed_head(msg)?;
    e.complete().then_some(e)
}

/// `Connect from 10.0.1.2:33312 to 10.0.3.31:8012 (www/HTTP)`.
fn parse_connect(msg: &[u8]) -> Option<Line<'_>> {
    let r = msg.strip_prefix(b"Connect from ")?;
    let mut c = Cur::new(r);
    let client = c.word()?;
    if c.word()? != b"to" {
        return None;
    }
    let _to = c.word()?;
    let p = c.word()?.strip_prefix(b"(")?.strip_suffix(b")")?;
    let slash = memchr::memrchr(b'/', p)?;
    Some(Line::Connect {
        client,
        frontend: &p[..slash],
        mode: &p[slash + 1..],
    })
}

fn unquote(s: &[u8]) -> &[u8] {
    s.strip_prefix(b"'")
        .and_then(|x| x.strip_suffix(b"'"))
        .unwrap_or(s)
}

/// HAProxy's messages about itself: server state changes, `backend X has no server
/// available!`, health checks, proxies starting and stopping; with or without the
/// `[LEVEL]  (pid) : ` prefix of its stderr.
pub fn parse_notice(msg: &[u8]) -> Option<Notice<'_>> {
    let mut level: &[u8] = b"";
    let mut text = msg;
    if msg.first() == Some(&b'[') {
        let close = memchr::memchr(b']', msg)?;
        level = &msg[1..close];
        if !level.iter().all(u8::is_ascii_uppercase) || level.is_empty() {
            return None;
        }
        let colon = memchr::memmem::find(&msg[close..], b" : ")?;
        text = &msg[close + colon + 3..];
    }
    let n = |event: &'static str, subject: &'static [u8]| Notice {
        event,
        subject,
        level,
        text,
    };
    if let Some(r) = text.strip_prefix(b"Server ") {
        let mut c = Cur::new(r);
        let subject = c.word()?;
        let rest = c.rest();
        let event = if rest.starts_with(b"is DOWN") {
            "server_down"
        } else if rest.starts_with(b"is going DOWN for maintenance")
            || rest.starts_with(b"was DOWN and now enters maintenance")
            || rest.starts_with(b"is going down for maintenance")
        {
            "server_maint"
        } else if rest.starts_with(b"is UP") {
            "server_up"
        } else {
            "server_other"
        };
        return Some(Notice {
            subject: unquote(subject),
            ..n(event, b"")
        });
    }
    if let Some(r) = text.strip_prefix(b"backend ") {
        let mut c = Cur::new(r);
        let subject = c.word()?;
        if c.rest().starts_with(b"has no server available") {
            return Some(Notice {
                subject: unquote(subject),
                ..n("no_server", b"")
            });
        }
    }
    if let Some(r) = text.strip_prefix(b"Health check for ") {
        let r = r
            .strip_prefix(b"backup server ")
            .or_else(|| r.strip_prefix(b"server "))?;
        let subject = Cur::new(r).word()?;
        return Some(Notice {
            subject: subject.strip_suffix(b",").unwrap_or(subject),
            ..n("check", b"")
        });
    }
    for prefix in [
        &b"Proxy "[..],
        b"Stopping frontend ",
        b"Stopping backend ",
        b"Stopping proxy ",
    ] {
        if let Some(r) = text.strip_prefix(prefix) {
            let subject = Cur::new(r).word()?;
            return Some(Notice {
                subject: unquote(subject),
                ..n("proxy", b"")
            });
        }
    }
    if !level.is_empty() {
        return Some(n("other", b""));
    }
    None
}

/// Recognises one message (the envelope already removed) with the fixed formats only.
pub fn classify(msg: &[u8]) -> Line<'_> {
    if let Some(e) = parse_fixed(msg) {
        return Line::Traffic(e);
    }
    if let Some(l) = parse_connect(msg) {
        return l;
    }
    if let Some(n) = parse_notice(msg) {
        return Line::Notice(n);
    }
    Line::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(msg: &str) -> Entry<'_> {
        parse_fixed(msg.as_bytes()).unwrap_or_else(|| panic!("{msg}"))
    }

    #[test]
    fn httplog_fields_typed() {
        let x = e("127.0.0.1:46934 [06/Dec/2026:21:10:49.131] fe_http bk_refused/r1 0/0/-1/-1/1002 503 217 - - SC-- 1/1/0/0/1 0/0 {127.0.0.1:33209|curl/7.88.1} {} \"GET /refused HTTP/1.1\"");
        assert_eq!((x.client_ip, x.client_port), (&b"127.0.0.1"[..], 46934));
        assert_eq!(x.accept_date, b"06/Dec/2026:21:10:49.131");
        assert_eq!(
            (x.frontend, x.backend, x.server),
            (&b"fe_http"[..], &b"bk_refused"[..], &b"r1"[..])
        );
        assert_eq!(x.backend_server, b"bk_refused/r1");
        assert_eq!(
            (
                x.t_request,
                x.t_queue,
                x.t_connect,
                x.t_response,
                x.t_active
            ),
            (0, 0, -1, -1, 1002)
        );
        assert_eq!((x.status, x.bytes_read, x.retries), (503, 217, 1));
        assert_eq!(x.termination_state, b"SC--");
        assert_eq!(
            x.captured_request_headers,
            Some(&b"127.0.0.1:33209|curl/7.88.1"[..])
        );
        assert_eq!(x.captured_response_headers, Some(&b""[..]));
        assert_eq!((x.method(), x.uri()), (&b"GET"[..], &b"/refused"[..]));
        assert!(!x.truncated && !x.logasap && !x.redispatched && x.http && x.abnormal());
        assert_eq!(x.t_total, NA);
    }

    #[test]
    fn httplog_variants() {
        let x = e("127.0.0.1:44624 [06/Dec/2026:21:10:52.350] fe_asap bk_ok/s1 0/0/0/0/+0 200 +117 - - ---- 2/1/2/2/0 0/0 \"GET /asap HTTP/1.1\"");
        assert!(x.logasap && !x.redispatched);
        assert_eq!((x.t_active, x.bytes_read), (0, 117));
        let x = e("127.0.0.1:46954 [06/Dec/2026:21:10:50.458] fe_http bk_redisp/s1 0/0/0/2/2 200 117 - - ---- 1/1/0/0/+1 0/0 {a|b} {} \"GET /redisp HTTP/1.1\"");
        assert!(x.redispatched && !x.logasap);
        assert_eq!(x.retries, 1);
        let x = e("unix:2 [06/Dec/2026:21:10:52.323] fe_http bk_ok/s1 0/0/0/0/0 200 117 - - ---- 2/2/1/1/0 0/0 {lab|curl/7.88.1} {} \"GET /unix HTTP/1.1\"");
        assert_eq!((x.client_ip, x.client_port), (&b"unix"[..], 2));
        let x = e("::1:57844 [06/Dec/2026:21:10:52.330] fe_v6 bk_ok/s1 0/0/0/0/0 200 117 - - ---- 2/1/1/1/0 0/0 \"GET /v6 HTTP/1.1\"");
        assert_eq!((x.client_ip, x.client_port), (&b"::1"[..], 57844));
        assert_eq!(x.captured_request_headers, None);
        let x = e("127.0.0.1:49262 [06/Dec/2026:21:10:52.339] fe_ssl~ bk_ok/s1 0/0/3/0/3 200 117 - - ---- 2/1/1/1/0 0/0 \"GET /tls HTTP/1.1\"");
        assert_eq!((x.frontend, x.ssl), (&b"fe_ssl"[..], true));
        let x = e("127.0.0.1:47020 [06/Dec/2026:21:10:52.310] fe_http fe_http/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 2/2/0/0/0 0/0 \"<BADREQ>\"");
        assert_eq!(
            (x.server, x.request, x.method(), x.uri()),
            (&b"<NOSRV>"[..], &b"<BADREQ>"[..], &b""[..], &b""[..])
        );
        assert_eq!(x.t_request, -1);
        // Cut by `len`: inside the captures, or inside the request line.
        let x = e("127.0.0.1:46888 [06/Dec/2026:21:10:49.044] fe_http bk_ok/s1 0/0/0/3/3 200 117 - - ---- 1/1/0/0/0 0/0 {127.0.0.1:33209|cu");
        assert!(x.truncated);
        assert_eq!(
            (x.status, x.captured_request_headers),
            (200, Some(&b"127.0.0.1:33209|cu"[..]))
        );
        let x = e("1.2.3.4:1 [d] f b/s 0/0/0/0/0 200 1 - - ---- 0/0/0/0/0 0/0 \"GET /very/lo");
        assert!(x.truncated);
        assert_eq!(x.uri(), b"/very/lo");
        // A `}` inside a captured header does not end the block.
        let x = e("1.2.3.4:1 [d] f b/s 0/0/0/0/0 200 1 - - ---- 0/0/0/0/0 0/0 {a}b|c} {x} \"GET / HTTP/1.1\"");
        assert_eq!(x.captured_request_headers, Some(&b"a}b|c"[..]));
        // httpslog: more fields after the request.
        let x = e("1.2.3.4:1 [d] f b/s 0/0/0/0/0 200 1 - - ---- 0/0/0/0/0 0/0 \"GET /s HTTP/1.1\" 0/0/0/0/0 lab/TLSv1.3/TLS_AES_256_GCM_SHA384");
        assert_eq!(x.uri(), b"/s");
    }

    #[test]
    fn tcplog() {
        let x = e(
            "127.0.0.1:60156 [06/Dec/2026:21:10:52.387] fe_tcp bk_tcp/t1 1/0/0 10 -- 2/1/0/0/0 0/0",
        );
        assert!(!x.http);
        assert_eq!(x.format, Format::TcpLog);
        assert_eq!(
            (x.t_queue, x.t_connect, x.t_total, x.t_request, x.t_active),
            (1, 0, 0, NA, NA)
        );
        assert_eq!(
            (x.bytes_read, x.termination_state, x.status),
            (10, &b"--"[..], NA)
        );
        assert_eq!(x.t_end(), 0);
    }

    #[test]
    fn not_traffic() {
        for m in [
            "",
            " ",
            "1:2 [x",
            "a:1 [d] f b/s 1/2/3/4/5 x",
            "a:1 [d] f b/s 1/2/3/4/5 200 1 - - ---- 1/1/1/1/1 0/0 x",
            "a:1 [d] f b/s 1/2/3/4/5 200 1 - - --- 1/1/1/1/1 0/0",
            "a:1 [d] f bs 1/2/3 1 -- 1/1/1/1/1 0/0",
            "a:1 [d] f b/s 1/2 1 -- 1/1/1/1/1 0/0",
            "a:1 [d] f b/s 1/2/x 1 -- 1/1/1/1/1 0/0",
        ] {
            assert!(parse_fixed(m.as_bytes()).is_none(), "{m}");
        }
    }

    #[test]
    fn default_format_and_notices() {
        assert_eq!(
            classify(b"Connect from 127.0.0.1:49308 to 127.0.0.1:51041 (fe_default/HTTP)"),
            Line::Connect {
                client: b"127.0.0.1:49308",
                frontend: b"fe_default",
                mode: b"HTTP"
            }
        );
        let cases: &[(&str, &str, &str, &str)] = &[
            ("Server bk_ok/s1 is going DOWN for maintenance. 0 active and 0 backup servers left.", "server_maint", "bk_ok/s1", ""),
            ("[WARNING]  (6879) : Server bk_ok/s1 is UP/READY (leaving forced maintenance).", "server_up", "bk_ok/s1", "WARNING"),
            ("Server be_down/dead1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\"", "server_down", "be_down/dead1", ""),
            ("backend bk_ok has no server available!", "no_server", "bk_ok", ""),
            ("[ALERT]    (6879) : backend 'bk_ok' has no server available!", "no_server", "bk_ok", "ALERT"),
            ("Health check for server bk/s1 failed, reason: Layer4 timeout, check duration: 2001ms, status: 0/2 DOWN.", "check", "bk/s1", ""),
            ("Proxy fe_main started.", "proxy", "fe_main", ""),
            ("Stopping backend bk_app in 0 ms.", "proxy", "bk_app", ""),
            ("[NOTICE]   (6878) : New worker (6879) forked", "other", "", "NOTICE"),
        ];
        for (m, event, subject, level) in cases {
            let Line::Notice(n) = classify(m.as_bytes()) else {
                panic!("{m}")
            };
            assert_eq!(
                (n.event, n.subject, n.level),
                (*event, subject.as_bytes(), level.as_bytes()),
                "{m}"
            );
        }
        assert_eq!(classify(b"Started haproxy.service"), Line::Unknown);
        assert_eq!(classify(b"[x] nope"), Line::Unknown);
    }
}
