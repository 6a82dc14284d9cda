//! A live UDP syslog listener, and pure parsers for syslog datagrams (RFC 3164 and HAProxy's
//! hostname-less `local` variant, RFC 5424) and HAProxy's `option httplog` / `option tcplog` lines.
//!
//! Formats checked against real datagrams from HAProxy 2.6 (tests/fixtures/system/):
//! default `local`: `<134>Nov 23 19:23:03 haproxy[7710]: msg` (no hostname),
//! `rfc3164` + `log-send-hostname lb1`: `<134>Nov 23 19:23:12 lb1 haproxy[7871]: msg`,
//! `rfc5424`: `<142>1 2026-11-23T19:23:03.625442+00:00 - haproxy 7710 - - msg`.

use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

/// Largest UDP payload; HAProxy's `len` is at most 65535.
const DATAGRAM_BUF: usize = 64 * 1024;
/// Junk datagrams kept as examples (the rest are only counted).
const JUNK_SAMPLE: usize = 5;
/// Bytes of each junk example kept.
const JUNK_SAMPLE_BYTES: usize = 200;
/// Upper bound on `max_messages`, whatever the caller asks.
pub const MAX_MESSAGES_CAP: usize = 1_000_000;

/// Errors of the live listener, naming the address.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("invalid listen address `{addr}`: {reason}")]
    Address { addr: String, reason: String },
    #[error("cannot listen on UDP {addr}: {source}{hint}")]
    Bind {
        addr: String,
        hint: String,
        #[source]
        source: std::io::Error,
    },
    #[error("receiving on UDP {addr}: {source}")]
    Recv {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// A parsed syslog header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyslogMessage {
    pub pri: u8,
    pub facility: u8,
    pub severity: u8,
    /// `local0`, `daemon`, ... (HAProxy's names).
    pub facility_name: String,
    /// `info`, `notice`, `err`, ...
    pub severity_name: String,
    /// `rfc3164`, `local` (RFC 3164 without hostname), `rfc5424` or `priority` (PRI then text).
    pub format: String,
    pub timestamp: Option<String>,
    pub host: Option<String>,
    pub tag: Option<String>,
    pub pid: Option<u32>,
    pub message: String,
}

/// One `option httplog` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpLog {
    pub client_ip: String,
    pub client_port: Option<u16>,
    pub accept_date: String,
    /// Frontend name (`~` suffix = SSL/TLS).
    pub frontend: String,
    pub backend: String,
    /// `<NOSRV>` when no server was selected.
    pub server: String,
    /// TR: ms to receive the full request headers (-1: never).
    pub t_request: i64,
    /// Tw: ms waiting in queues (-1: aborted before).
    pub t_queue: i64,
    /// Tc: ms to connect to the server (-1: never connected).
    pub t_connect: i64,
    /// Tr: ms for the server to send the response headers (-1: none).
    pub t_response: i64,
    /// Ta: total active time of the request (`+` prefix = `option logasap`).
    pub t_active: i64,
    pub status: i32,
    pub bytes_read: u64,
    pub captured_request_cookie: String,
    pub captured_response_cookie: String,
    /// Four characters, e.g. `----`, `SC--`, `cD--`.
    pub termination_state: String,
    /// Human reading of the first two termination characters.
    pub termination: String,
    pub actconn: u64,
    pub feconn: u64,
    pub beconn: u64,
    pub srv_conn: u64,
    pub retries: u64,
    /// `+` before retries: the request was redispatched to another server.
    pub redispatched: bool,
    pub srv_queue: u64,
    pub backend_queue: u64,
    pub captured_request_headers: Option<String>,
    pub captured_response_headers: Option<String>,
    /// The request line without quotes (`<BADREQ>` for invalid requests).
    pub request: String,
    pub method: Option<String>,
    pub uri: Option<String>,
    /// At least one timer or the byte count had a `+` (`option logasap`).
    pub logasap: bool,
}

/// One `option tcplog` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TcpLog {
    pub client_ip: String,
    pub client_port: Option<u16>,
    pub accept_date: String,
    pub frontend: String,
    pub backend: String,
    pub server: String,
    /// Tw, Tc, Tt in ms (-1: not reached).
    pub t_queue: i64,
    pub t_connect: i64,
    pub t_total: i64,
    pub bytes_read: u64,
    /// Two characters, e.g. `--`, `SC`, `cD`.
    pub termination_state: String,
    pub termination: String,
    pub actconn: u64,
    pub feconn: u64,
    pub beconn: u64,
    pub srv_conn: u64,
    pub retries: u64,
    pub redispatched: bool,
    pub srv_queue: u64,
    pub backend_queue: u64,
    pub logasap: bool,
}

/// A received datagram, parsed as far as it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogMessage {
    pub syslog: SyslogMessage,
    pub http: Option<HttpLog>,
    pub tcp: Option<TcpLog>,
}

/// What a listening period produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Collected {
    pub messages: Vec<LogMessage>,
    /// Datagrams received in total (messages + junk + those over `max_messages`).
    pub datagrams: u64,
    /// Datagrams that are not syslog (no `<PRI>`).
    pub junk: u64,
    /// The first few junk datagrams, truncated and lossily decoded.
    pub junk_sample: Vec<String>,
    /// `max_messages` was reached.
    pub full: bool,
}

/// Parses one datagram. `None` when it does not start with a valid `<PRI>`.
pub fn parse_syslog(datagram: &[u8]) -> Option<SyslogMessage> {
    let text = String::from_utf8_lossy(datagram);
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    let rest = text.strip_prefix('<')?;
    let end = rest.find('>')?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pri: u8 = digits.parse().ok().filter(|p| *p <= 191)?;
    let rest = &rest[end + 1..];
    let mut m = SyslogMessage {
        pri,
        facility: pri / 8,
        severity: pri % 8,
        facility_name: crate::system::logging::FACILITIES[usize::from(pri / 8)].to_string(),
        severity_name: crate::system::logging::LEVELS[usize::from(pri % 8)].to_string(),
        format: "priority".into(),
        timestamp: None,
        host: None,
        tag: None,
        pid: None,
        message: String::new(),
    };
    if let Some(r) = rest.strip_prefix("1 ") {
        parse_5424(r, &mut m);
    } else if let Some((ts, r)) = rfc3164_timestamp(rest) {
        m.timestamp = Some(ts.to_string());
        parse_3164_tail(r, &mut m);
    } else {
        m.message = rest.to_string();
    }
    Some(m)
}

fn nil(s: &str) -> Option<String> {
    (s != "-" && !s.is_empty()).then(|| s.to_string())
}

fn parse_5424(r: &str, m: &mut SyslogMessage) {
    m.format = "rfc5424".into();
    let mut parts = r.splitn(5, ' ');
    m.timestamp = parts.next().and_then(nil);
    m.host = parts.next().and_then(nil);
    m.tag = parts.next().and_then(nil);
    m.pid = parts.next().and_then(|p| p.parse().ok());
    let rest = parts.next().unwrap_or("");
    // MSGID, then STRUCTURED-DATA (`-` or one or more `[...]`), then the message.
    let rest = match rest.split_once(' ') {
        Some((_msgid, r)) => r,
        None => "",
    };
    let msg = if let Some(r) = rest.strip_prefix('-') {
        r
    } else if rest.starts_with('[') {
        skip_sd(rest)
    } else {
        rest
    };
    let msg = msg.strip_prefix(' ').unwrap_or(msg);
    m.message = msg.strip_prefix('\u{feff}').unwrap_or(msg).to_string();
}

/// Skips `[id k="v"]...` elements (with `\]` and `\"` escapes inside values).
fn skip_sd(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'[' {
        let mut in_q = false;
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 1,
                b'"' => in_q = !in_q,
                b']' if !in_q => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    s.get(i.min(s.len())..).unwrap_or("")
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Mmm dd hh:mm:ss ` (day space- or zero-padded).
fn rfc3164_timestamp(s: &str) -> Option<(&str, &str)> {
    let ts = s.get(..15)?;
    let b = ts.as_bytes();
    let ok = ts.get(..3).is_some_and(|m| MONTHS.contains(&m))
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
    let rest = s.get(15..)?;
    Some((ts, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// `name[pid]:` or `name:` → (name, pid).
fn tag_of(word: &str) -> Option<(String, Option<u32>)> {
    let w = word.strip_suffix(':')?;
    if let Some((name, pid)) = w.strip_suffix(']').and_then(|x| x.split_once('[')) {
        if name.is_empty() {
            return None;
        }
        return Some((name.to_string(), pid.parse().ok()));
    }
    (!w.is_empty() && !w.contains('/')).then(|| (w.to_string(), None))
}

fn parse_3164_tail(r: &str, m: &mut SyslogMessage) {
    let (first, after_first) = r.split_once(' ').unwrap_or((r, ""));
    if let Some((tag, pid)) = tag_of(first) {
        m.format = "local".into();
        m.tag = Some(tag);
        m.pid = pid;
        m.message = after_first.to_string();
        return;
    }
    m.format = "rfc3164".into();
    let (second, after_second) = after_first.split_once(' ').unwrap_or((after_first, ""));
    if let Some((tag, pid)) = tag_of(second) {
        m.host = Some(first.to_string());
        m.tag = Some(tag);
        m.pid = pid;
        m.message = after_second.to_string();
    } else {
        m.message = r.to_string();
    }
}

/// A cursor over space-separated fields.
struct Fields<'a> {
    s: &'a str,
}

impl<'a> Fields<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let s = self.s.trim_start_matches(' ');
        if s.is_empty() {
            return None;
        }
        let (w, rest) = s.split_once(' ').unwrap_or((s, ""));
        self.s = rest;
        Some(w)
    }
    fn rest(&self) -> &'a str {
        self.s.trim_start_matches(' ')
    }
    /// `{...}` (may contain spaces and `|`). An unclosed `{` runs to the end of the line:
    /// HAProxy cuts a log line at its `len` (1024 by default), possibly inside a capture.
    fn braces(&mut self) -> Option<&'a str> {
        let s = self.rest();
        if !s.starts_with('{') {
            return None;
        }
        match s.find("} ") {
            Some(e) => {
                self.s = &s[e + 1..];
                Some(&s[1..e])
            }
            None => {
                self.s = "";
                Some(s[1..].strip_suffix('}').unwrap_or(&s[1..]))
            }
        }
    }
}

fn client(s: &str) -> Option<(String, Option<u16>)> {
    let (ip, port) = s.rsplit_once(':')?;
    Some((ip.to_string(), port.parse().ok()))
}

fn timer(s: &str, plus: &mut bool) -> Option<i64> {
    let s = match s.strip_prefix('+') {
        Some(r) => {
            *plus = true;
            r
        }
        None => s,
    };
    s.parse().ok()
}

fn counter(s: &str, plus: &mut bool) -> Option<u64> {
    let s = match s.strip_prefix('+') {
        Some(r) => {
            *plus = true;
            r
        }
        None => s,
    };
    s.parse().ok()
}

fn slash_fields(s: &str, n: usize) -> Option<Vec<&str>> {
    let v: Vec<&str> = s.split('/').collect();
    (v.len() == n).then_some(v)
}

struct Common {
    client_ip: String,
    client_port: Option<u16>,
    accept_date: String,
    frontend: String,
    backend: String,
    server: String,
}

fn common<'a>(f: &mut Fields<'a>) -> Option<Common> {
    let (client_ip, client_port) = client(f.next()?)?;
    let date = f.next()?;
    let accept_date = date.strip_prefix('[')?.strip_suffix(']')?.to_string();
    let frontend = f.next()?.to_string();
    let (backend, server) = f.next()?.split_once('/')?;
    Some(Common {
        client_ip,
        client_port,
        accept_date,
        frontend,
        backend: backend.to_string(),
        server: server.to_string(),
    })
}

/// (connections, retries, redispatched, queues) from `a/f/b/s/r` and `sq/bq`.
type Conns = ([u64; 4], u64, bool, [u64; 2]);

fn conns(f: &mut Fields<'_>) -> Option<Conns> {
    let c = slash_fields(f.next()?, 5)?;
    let mut redispatched = false;
    let mut ignore = false;
    let mut n = [0u64; 4];
    for (i, v) in c[..4].iter().enumerate() {
        n[i] = counter(v, &mut ignore)?;
    }
    let retries = counter(c[4], &mut redispatched)?;
    let q = slash_fields(f.next()?, 2)?;
    Some((
        n,
        retries,
        redispatched,
        [counter(q[0], &mut ignore)?, counter(q[1], &mut ignore)?],
    ))
}

/// Explains the first two termination-state characters (HAProxy configuration.txt 8.5).
pub fn explain_termination(state: &str) -> String {
    let mut c = state.chars();
    let who = match c.next() {
        Some('C') => "client aborted",
        Some('S') => "server aborted or refused",
        Some('P') => "proxy aborted (security check, internal error or deny)",
        Some('L') => "served locally by HAProxy",
        Some('R') => "resource exhausted on the proxy",
        Some('I') => "internal error",
        Some('D') => "session killed (server down / shutdown sessions)",
        Some('U') => "session killed (server up / backup)",
        Some('K') => "killed by an admin action",
        Some('c') => "client-side timeout",
        Some('s') => "server-side timeout",
        Some('-') | None => "normal completion",
        Some(_) => "unknown cause",
    };
    let when = match c.next() {
        Some('R') => "while waiting for the request",
        Some('Q') => "while queued",
        Some('C') => "while connecting to the server",
        Some('H') => "while waiting for the response headers",
        Some('D') => "during data transfer",
        Some('L') => "while sending the last data",
        Some('T') => "while tarpitted",
        Some('-') | None => "",
        Some(_) => "at an unknown stage",
    };
    if when.is_empty() {
        who.to_string()
    } else {
        format!("{who} {when}")
    }
}

/// Parses HAProxy's default `option httplog` line (the syslog message text).
pub fn parse_http_log(msg: &str) -> Option<HttpLog> {
    let mut f = Fields { s: msg };
    let c = common(&mut f)?;
    let t = slash_fields(f.next()?, 5)?;
    let mut logasap = false;
    let timers: Vec<i64> = t
        .iter()
        .map(|v| timer(v, &mut logasap))
        .collect::<Option<_>>()?;
    let status: i32 = f.next()?.parse().ok()?;
    let bytes_read = counter(f.next()?, &mut logasap)?;
    let captured_request_cookie = f.next()?.to_string();
    let captured_response_cookie = f.next()?.to_string();
    let termination_state = f.next()?.to_string();
    if termination_state.len() != 4 {
        return None;
    }
    let (n, retries, redispatched, q) = conns(&mut f)?;
    let captured_request_headers = f.braces().map(String::from);
    let captured_response_headers = f.braces().map(String::from);
    let rest = f.rest();
    // The request may be cut short, or missing when the line was truncated before it.
    let request = if rest.is_empty() {
        ""
    } else {
        rest.strip_prefix('"')?
    };
    let request = request.strip_suffix('"').unwrap_or(request).to_string();
    let mut words = request.split(' ');
    let (method, uri) = if request == "<BADREQ>" {
        (None, None)
    } else {
        (
            words.next().filter(|w| !w.is_empty()).map(String::from),
            words.next().map(String::from),
        )
    };
    Some(HttpLog {
        client_ip: c.client_ip,
        client_port: c.client_port,
        accept_date: c.accept_date,
        frontend: c.frontend,
        backend: c.backend,
        server: c.server,
        t_request: timers[0],
        t_queue: timers[1],
        t_connect: timers[2],
        t_response: timers[3],
        t_active: timers[4],
        status,
        bytes_read,
        captured_request_cookie,
        captured_response_cookie,
        termination: explain_termination(&termination_state),
        termination_state,
        actconn: n[0],
        feconn: n[1],
        beconn: n[2],
        srv_conn: n[3],
        retries,
        redispatched,
        srv_queue: q[0],
        backend_queue: q[1],
        captured_request_headers,
        captured_response_headers,
        request,
        method,
        uri,
        logasap,
    })
}

/// Parses HAProxy's default `option tcplog` line.
pub fn parse_tcp_log(msg: &str) -> Option<TcpLog> {
    let mut f = Fields { s: msg };
    let c = common(&mut f)?;
    let t = slash_fields(f.next()?, 3)?;
    let mut logasap = false;
    let timers: Vec<i64> = t
        .iter()
        .map(|v| timer(v, &mut logasap))
        .collect::<Option<_>>()?;
    let bytes_read = counter(f.next()?, &mut logasap)?;
    let termination_state = f.next()?.to_string();
    if termination_state.len() != 2 {
        return None;
    }
    let (n, retries, redispatched, q) = conns(&mut f)?;
    Some(TcpLog {
        client_ip: c.client_ip,
        client_port: c.client_port,
        accept_date: c.accept_date,
        frontend: c.frontend,
        backend: c.backend,
        server: c.server,
        t_queue: timers[0],
        t_connect: timers[1],
        t_total: timers[2],
        bytes_read,
        termination: explain_termination(&termination_state),
        termination_state,
        actconn: n[0],
        feconn: n[1],
        beconn: n[2],
        srv_conn: n[3],
        retries,
        redispatched,
        srv_queue: q[0],
        backend_queue: q[1],
        logasap,
    })
}

/// Parses a datagram into a [`LogMessage`] (`None` for non-syslog junk).
pub fn parse_message(datagram: &[u8]) -> Option<LogMessage> {
    let syslog = parse_syslog(datagram)?;
    let http = parse_http_log(&syslog.message);
    let tcp = if http.is_none() {
        parse_tcp_log(&syslog.message)
    } else {
        None
    };
    Some(LogMessage { syslog, http, tcp })
}

/// A bound UDP syslog listener. Bind first (port 0 picks a free port), learn the address with
/// [`Listener::local_addr`], point HAProxy at it, then [`Listener::collect`].
#[derive(Debug)]
pub struct Listener {
    socket: UdpSocket,
    addr: String,
    buf: Vec<u8>,
    acc: Collected,
}

/// `127.0.0.1:5514`, `[::1]:5514`, with an optional `udp@`/`ipv4@`/`ipv6@` prefix.
fn listen_addr(addr: &str) -> Result<SocketAddr, ListenError> {
    let bare = ["udp@", "udp4@", "udp6@", "ipv4@", "ipv6@"]
        .iter()
        .find_map(|p| addr.strip_prefix(p))
        .unwrap_or(addr);
    let bare = if bare.eq_ignore_ascii_case("localhost") || bare.starts_with("localhost:") {
        bare.replacen("localhost", "127.0.0.1", 1)
    } else {
        bare.to_string()
    };
    bare.parse::<SocketAddr>()
        .map_err(|_| ListenError::Address {
            addr: addr.to_string(),
            reason: "expected ip:port, e.g. 127.0.0.1:5514 or [::1]:5514".into(),
        })
}

/// Binds a UDP syslog listener.
pub async fn bind(addr: &str) -> Result<Listener, ListenError> {
    let sa = listen_addr(addr)?;
    let socket = UdpSocket::bind(sa).await.map_err(|source| {
        let hint = match source.kind() {
            std::io::ErrorKind::PermissionDenied if sa.port() < 1024 => {
                " (ports below 1024 need root or CAP_NET_BIND_SERVICE; use e.g. 5514)".to_string()
            }
            std::io::ErrorKind::AddrInUse => format!(
                " (another process, often rsyslog, already listens there: `ss -ulpn 'sport = :{}'`)",
                sa.port()
            ),
            std::io::ErrorKind::AddrNotAvailable => {
                " (the address is not configured on this host)".to_string()
            }
            _ => String::new(),
        };
        ListenError::Bind {
            addr: sa.to_string(),
            hint,
            source,
        }
    })?;
    let addr = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| sa.to_string());
    Ok(Listener {
        socket,
        addr,
        buf: vec![0u8; DATAGRAM_BUF],
        acc: Collected::default(),
    })
}

impl Listener {
    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ListenError> {
        self.socket
            .local_addr()
            .map_err(|source| ListenError::Recv {
                addr: self.addr.clone(),
                source,
            })
    }

    /// Receives datagrams for `duration` or until `max_messages` syslog messages arrived
    /// (capped at [`MAX_MESSAGES_CAP`]). Cancel-safe: if the future is dropped (e.g. the losing
    /// branch of `tokio::select!`), nothing is lost — what arrived so far stays in the listener
    /// and [`Listener::take`] returns it; a later `collect` continues accumulating.
    pub async fn collect(
        &mut self,
        duration: Duration,
        max_messages: usize,
    ) -> Result<Collected, ListenError> {
        let max = max_messages.min(MAX_MESSAGES_CAP);
        let deadline = tokio::time::Instant::now() + duration;
        while self.acc.messages.len() < max {
            // `recv_from` is cancel-safe: a dropped future has not consumed a datagram.
            let r = tokio::time::timeout_at(deadline, self.socket.recv_from(&mut self.buf)).await;
            let n = match r {
                Err(_elapsed) => break,
                Ok(Ok((n, _from))) => n,
                // ICMP errors surfacing on a UDP socket are not fatal.
                Ok(Err(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Ok(Err(source)) => {
                    return Err(ListenError::Recv {
                        addr: self.addr.clone(),
                        source,
                    })
                }
            };
            self.acc.datagrams += 1;
            let data = &self.buf[..n.min(self.buf.len())];
            match parse_message(data) {
                Some(m) => self.acc.messages.push(m),
                None => {
                    self.acc.junk += 1;
                    if self.acc.junk_sample.len() < JUNK_SAMPLE {
                        let cut = &data[..data.len().min(JUNK_SAMPLE_BYTES)];
                        self.acc
                            .junk_sample
                            .push(String::from_utf8_lossy(cut).into_owned());
                    }
                }
            }
        }
        self.acc.full = max > 0 && self.acc.messages.len() >= max;
        if max == 0 {
            self.acc.full = true;
        }
        Ok(self.take())
    }

    /// Takes what was collected so far (e.g. after a cancelled `collect`).
    pub fn take(&mut self) -> Collected {
        std::mem::take(&mut self.acc)
    }
}

/// Binds `addr` and collects for `duration` or until `max_messages` messages arrived.
pub async fn listen(
    addr: &str,
    duration: Duration,
    max_messages: usize,
) -> Result<Collected, ListenError> {
    let mut l = bind(addr).await?;
    l.collect(duration, max_messages).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/system/");

    fn fixture(name: &str) -> Vec<String> {
        std::fs::read_to_string(format!("{FIX}{name}"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn parses_haproxy_local_format() {
        let m = parse_syslog(b"<134>Nov 23 19:23:03 haproxy[7710]: hello world\n").unwrap();
        assert_eq!((m.pri, m.facility, m.severity), (134, 16, 6));
        assert_eq!(
            (m.facility_name.as_str(), m.severity_name.as_str()),
            ("local0", "info")
        );
        assert_eq!(m.format, "local");
        assert_eq!(m.timestamp.as_deref(), Some("Nov 23 19:23:03"));
        assert_eq!(
            (m.host, m.tag.as_deref(), m.pid),
            (None, Some("haproxy"), Some(7710))
        );
        assert_eq!(m.message, "hello world");
        let m = parse_syslog(b"<13>Nov  3 09:05:01 web1 cron: x y").unwrap();
        assert_eq!(
            (m.host.as_deref(), m.tag.as_deref(), m.pid),
            (Some("web1"), Some("cron"), None)
        );
        assert_eq!(m.format, "rfc3164");
        let m = parse_syslog(b"<6>just text").unwrap();
        assert_eq!(
            (m.format.as_str(), m.message.as_str()),
            ("priority", "just text")
        );
    }

    #[test]
    fn parses_rfc5424() {
        let m =
            parse_syslog(b"<142>1 2026-11-23T19:23:03.625442+00:00 - haproxy 7710 - - msg here")
                .unwrap();
        assert_eq!(m.format, "rfc5424");
        assert_eq!(
            m.timestamp.as_deref(),
            Some("2026-11-23T19:23:03.625442+00:00")
        );
        assert_eq!(
            (m.host, m.tag.as_deref(), m.pid),
            (None, Some("haproxy"), Some(7710))
        );
        assert_eq!(m.message, "msg here");
        let m = parse_syslog(
            br#"<165>1 2003-10-11T22:14:15.003Z host.example app - ID47 [a@1 x="]\"y"][b@2] BOM"#,
        )
        .unwrap();
        assert_eq!(m.host.as_deref(), Some("host.example"));
        assert_eq!(m.pid, None);
        assert_eq!(m.message, "BOM");
    }

    #[test]
    fn rejects_junk_without_panicking() {
        for d in [
            &b""[..],
            b"<",
            b"<>",
            b"<192>x",
            b"<1234>x",
            b"<a>x",
            b"no pri",
            b"<13",
            b"\xff\xfe<1>",
        ] {
            assert!(parse_syslog(d).is_none(), "{d:?}");
        }
        for d in [
            &b"<1>1 "[..],
            b"<1>1",
            b"<1>Nov 23 1",
            b"<1>Nov 23 19:23:03",
            b"<1>\xff\xff",
        ] {
            let _ = parse_syslog(d);
        }
        for s in [
            "",
            " ",
            "1:2 [x",
            "a:1 [d] f b/s 1/2/3/4/5 x",
            "a:1 [d] f b/s 1/2/3/4/5 200 1 - - ---- 1/1/1/1/1 0/0 x",
        ] {
            assert!(parse_http_log(s).is_none(), "{s}");
            let _ = parse_tcp_log(s);
        }
    }

    #[test]
    fn http_log_truncated_inside_a_capture_keeps_the_fields_before_it() {
        // HAProxy cuts the line at `len` (1024 by default), here inside the request headers.
        let h = parse_http_log(
            "10.0.0.1:4242 [23/Nov/2026:19:23:03.623] fe be/s1 0/0/1/2/3 503 212 - - sC-- 5/4/3/2/1 0/0 {host.example|Mozilla/5.0 (X11; Lin",
        )
        .unwrap();
        assert_eq!((h.status, h.t_active), (503, 3));
        assert_eq!(h.termination_state, "sC--");
        assert_eq!(
            h.captured_request_headers.as_deref(),
            Some("host.example|Mozilla/5.0 (X11; Lin")
        );
        assert_eq!(h.captured_response_headers, None);
        assert_eq!((h.request.as_str(), h.method.as_deref()), ("", None));
        // Cut in the response headers, after a closed request block.
        let h = parse_http_log(
            "10.0.0.1:4242 [d] fe be/s1 0/0/1/2/3 200 212 - - ---- 5/4/3/2/1 0/0 {a|b} {text/ht",
        )
        .unwrap();
        assert_eq!(h.captured_request_headers.as_deref(), Some("a|b"));
        assert_eq!(h.captured_response_headers.as_deref(), Some("text/ht"));
        assert_eq!(h.request, "");
        // Complete blocks and request still parse as before.
        let h = parse_http_log(
            "10.0.0.1:4242 [d] fe be/s1 0/0/1/2/3 200 212 - - ---- 5/4/3/2/1 0/0 {a b} {c} \"GET / HTTP/1.1\"",
        )
        .unwrap();
        assert_eq!(h.captured_request_headers.as_deref(), Some("a b"));
        assert_eq!(
            (h.method.as_deref(), h.uri.as_deref()),
            (Some("GET"), Some("/"))
        );
    }

    #[test]
    fn real_haproxy_26_httplog_fixture() {
        let lines = fixture("haproxy-2.6-httplog.txt");
        let msgs: Vec<LogMessage> = lines
            .iter()
            .map(|l| parse_message(l.as_bytes()).unwrap_or_else(|| panic!("{l}")))
            .collect();
        assert!(msgs.iter().all(|m| m.syslog.format == "local"
            && m.syslog.tag.as_deref() == Some("haproxy")
            && m.syslog.host.is_none()));
        // Health-check alert: local0 alert.
        assert_eq!(msgs[0].syslog.severity_name, "alert");
        assert!(msgs[0].http.is_none() && msgs[0].tcp.is_none());
        let http: Vec<&HttpLog> = msgs.iter().filter_map(|m| m.http.as_ref()).collect();
        assert_eq!(http.len(), 5);
        let h = http[0];
        assert_eq!(
            (h.client_ip.as_str(), h.client_port),
            ("127.0.0.1", Some(48172))
        );
        assert_eq!(h.accept_date, "23/Nov/2026:19:23:03.623");
        assert_eq!(
            (h.frontend.as_str(), h.backend.as_str(), h.server.as_str()),
            ("fe_main", "be_app", "srv1")
        );
        assert_eq!(
            (
                h.t_request,
                h.t_queue,
                h.t_connect,
                h.t_response,
                h.t_active
            ),
            (0, 0, 0, 1, 1)
        );
        assert_eq!((h.status, h.bytes_read), (200, 643));
        assert_eq!(h.termination_state, "----");
        assert_eq!(
            (h.actconn, h.feconn, h.beconn, h.srv_conn, h.retries),
            (1, 1, 0, 0, 0)
        );
        assert_eq!(
            (h.method.as_deref(), h.uri.as_deref()),
            (Some("GET"), Some("/"))
        );
        let down = http.iter().find(|h| h.status == 503).unwrap();
        assert_eq!(
            (down.server.as_str(), down.termination_state.as_str()),
            ("<NOSRV>", "SC--")
        );
        assert_eq!(
            (down.t_queue, down.t_connect, down.t_response),
            (-1, -1, -1)
        );
        assert!(down
            .termination
            .starts_with("server aborted or refused while connecting"));
        let tcp: Vec<&TcpLog> = msgs.iter().filter_map(|m| m.tcp.as_ref()).collect();
        assert_eq!(tcp.len(), 1);
        let t = tcp[0];
        assert_eq!(
            (t.frontend.as_str(), t.server.as_str()),
            ("tcp_main", "srv1")
        );
        assert_eq!(
            (t.t_queue, t.t_connect, t.t_total, t.bytes_read),
            (1, 0, 0, 644)
        );
        assert_eq!(t.termination_state, "--");
    }

    #[test]
    fn real_haproxy_26_rfc5424_and_hostname_fixtures() {
        for l in fixture("haproxy-2.6-rfc5424.txt") {
            let m = parse_message(l.as_bytes()).unwrap();
            assert_eq!(
                (m.syslog.format.as_str(), m.syslog.tag.as_deref()),
                ("rfc5424", Some("haproxy"))
            );
            assert_eq!(m.syslog.facility_name, "local1");
        }
        let l = &fixture("haproxy-2.6-rfc3164-hostname-capture.txt")[0];
        let m = parse_message(l.as_bytes()).unwrap();
        assert_eq!(
            (m.syslog.format.as_str(), m.syslog.host.as_deref()),
            ("rfc3164", Some("lb1"))
        );
        let h = m.http.unwrap();
        assert_eq!(
            h.captured_request_headers.as_deref(),
            Some(&format!("127.0.0.1:{}", 33473)[..])
        );
        assert_eq!(
            (h.t_queue, h.t_connect, h.retries, h.status),
            (2002, -1, 2, 503)
        );
        assert_eq!(h.request, "GET /x HTTP/1.1");
    }

    #[test]
    fn random_input_never_panics() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let alphabet = "<>134 Nov23:19[]/-+{}\"|é\u{feff}0123456789ab.@\n";
        let chars: Vec<char> = alphabet.chars().collect();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 60) as usize;
            let mut s = String::from(if x % 3 == 0 { "<134>" } else { "" });
            let mut y = x;
            for _ in 0..len {
                y = y
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push(chars[(y >> 33) as usize % chars.len()]);
            }
            let _ = parse_message(s.as_bytes());
            let _ = parse_http_log(&s);
            let _ = parse_tcp_log(&s);
            let _ = crate::system::rsyslog::parse_rsyslog(&s, std::path::Path::new("f"));
            let args: Vec<String> = s.split_whitespace().map(String::from).collect();
            let _ = crate::system::logging::parse_log_directive(&args);
        }
    }

    #[test]
    fn httplog_variants() {
        let h = parse_http_log(
            "10.0.0.1:5 [d] fe~ be/s +0/0/0/+5/+7 200 +10 c=1 - --NI 5/4/3/2/+1 1/2 {a|b c} {x} \"GET /a b HTTP/1.1\"",
        )
        .unwrap();
        assert!(h.logasap && h.redispatched);
        assert_eq!(h.captured_request_headers.as_deref(), Some("a|b c"));
        assert_eq!(h.captured_response_headers.as_deref(), Some("x"));
        assert_eq!((h.srv_queue, h.backend_queue), (1, 2));
        assert_eq!(h.captured_request_cookie, "c=1");
        let h = parse_http_log(
            "::1:5 [d] fe be/<NOSRV> -1/-1/-1/-1/0 400 0 - - CR-- 1/1/0/0/0 0/0 \"<BADREQ>\"",
        )
        .unwrap();
        assert_eq!((h.client_ip.as_str(), h.method.clone()), ("::1", None));
        // Truncated request line (len limit): no closing quote.
        let h = parse_http_log(
            "1.2.3.4:1 [d] f b/s 0/0/0/0/0 200 1 - - ---- 0/0/0/0/0 0/0 \"GET /very/lo",
        )
        .unwrap();
        assert_eq!(h.uri.as_deref(), Some("/very/lo"));
    }

    #[tokio::test]
    async fn listener_receives_parses_and_stops_at_max() {
        let mut l = bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for l in fixture("haproxy-2.6-httplog.txt") {
            tx.send_to(l.as_bytes(), addr).await.unwrap();
        }
        tx.send_to(b"junk", addr).await.unwrap();
        let c = l.collect(Duration::from_millis(500), 1000).await.unwrap();
        assert_eq!(c.messages.len(), 8);
        assert_eq!(
            (c.junk, c.junk_sample.clone()),
            (1, vec!["junk".to_string()])
        );
        assert!(!c.full);
        for _ in 0..5 {
            tx.send_to(b"<134>x", addr).await.unwrap();
        }
        let start = Instant::now();
        let c = l.collect(Duration::from_secs(10), 3).await.unwrap();
        assert!(c.full && c.messages.len() == 3);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn listener_is_cancel_safe() {
        let mut l = bind("udp@127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        tx.send_to(b"<134>one", addr).await.unwrap();
        tokio::select! {
            _ = l.collect(Duration::from_secs(30), 100) => panic!("should be cancelled"),
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        let c = l.take();
        assert_eq!(c.messages.len(), 1);
        tx.send_to(b"<134>two", addr).await.unwrap();
        let c = l.collect(Duration::from_millis(300), 100).await.unwrap();
        assert_eq!(c.messages[0].syslog.message, "two");
    }

    #[tokio::test]
    async fn junk_flood_is_bounded_and_timely() {
        let mut l = bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let sender = tokio::spawn(async move {
            let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut buf = vec![0u8; 1400];
            for i in 0..10_000u32 {
                for b in buf.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = x as u8;
                }
                buf[0] = b'x'; // never a valid `<PRI>`
                let n = 1 + (x as usize % buf.len());
                let _ = tx.send_to(&buf[..n], addr).await;
                if i % 500 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            let _ = tx.send_to(b"<134>after the flood", addr).await;
        });
        let start = Instant::now();
        let c = l.collect(Duration::from_secs(2), 10).await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(4));
        sender.await.unwrap();
        assert!(c.junk > 0);
        assert!(c.junk_sample.len() <= JUNK_SAMPLE);
        assert!(c
            .junk_sample
            .iter()
            .all(|s| s.len() <= JUNK_SAMPLE_BYTES * 3));
        assert!(c.messages.len() <= 10);
    }

    #[tokio::test]
    async fn bind_errors_name_the_address() {
        let l = bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let e = listen(&format!("127.0.0.1:{port}"), Duration::from_millis(1), 1)
            .await
            .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains(&format!("127.0.0.1:{port}")) && s.contains("ss -ulpn"),
            "{s}"
        );
        let e = bind("not an address").await.unwrap_err();
        assert!(e.to_string().contains("not an address"));
    }
}
