//! A live UDP syslog listener, and the pure parser of a syslog datagram's envelope (RFC 3164
//! and HAProxy's hostname-less `local` variant, RFC 5424). What HAProxy wrote inside the
//! message (httplog, tcplog, notices) is `crate::logs`' job.
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

/// What a listening period produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Collected {
    pub messages: Vec<SyslogMessage>,
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
/// The header is read by [`super::envelope::split`], the parser of log files
/// too, so a datagram and a line of `/var/log/haproxy.log` split the same way.
pub fn parse_syslog(datagram: &[u8]) -> Option<SyslogMessage> {
    let text = String::from_utf8_lossy(datagram);
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    let env = super::envelope::split(text.as_bytes());
    let pri = env.pri?;
    let owned = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let some = |b: &[u8]| (!b.is_empty()).then(|| owned(b));
    let format = match env.format {
        // A timestamp but no tag: still RFC 3164, the rest is the message.
        "raw" if !env.timestamp.is_empty() => "rfc3164",
        "raw" => "priority",
        f => f,
    };
    Some(SyslogMessage {
        pri,
        facility: pri / 8,
        severity: pri % 8,
        facility_name: crate::system::logging::FACILITIES[usize::from(pri / 8)].to_string(),
        severity_name: crate::system::logging::LEVELS[usize::from(pri % 8)].to_string(),
        format: format.into(),
        timestamp: some(env.timestamp),
        host: some(env.host),
        tag: some(env.tag),
        pid: env.pid,
        message: owned(env.message),
    })
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
            match parse_syslog(data) {
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
            let _ = parse_syslog(s.as_bytes());
            let _ = crate::system::rsyslog::parse_rsyslog(&s, std::path::Path::new("f"));
            let args: Vec<String> = s.split_whitespace().map(String::from).collect();
            let _ = crate::system::logging::parse_log_directive(&args);
        }
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
        assert_eq!(c.messages[0].message, "two");
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
