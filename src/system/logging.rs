//! HAProxy `log` targets and the two-sided check: where HAProxy sends logs, and whether the
//! local rsyslog receives them there.
//!
//! Grammar (HAProxy 2.6 configuration.txt, `log`):
//! `log global` | `log <address> [len <length>] [format <format>] [sample <ranges>:<size>]
//! <facility> [<level> [<minlevel>]]`.

use crate::base::report::{Finding, Severity};
use crate::system::rsyslog::RsyslogSetup;
use serde::Serialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The kind of a log target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    Udp,
    /// `tcp@host:port` (implicit ring, HAProxy 2.9+ style).
    Tcp,
    Unix,
    Stdout,
    Stderr,
    Ring,
    Fd,
    /// `log global` in a proxy: use the global section's targets.
    Global,
}

impl LogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Udp => "udp",
            LogKind::Tcp => "tcp",
            LogKind::Unix => "unix",
            LogKind::Stdout => "stdout",
            LogKind::Stderr => "stderr",
            LogKind::Ring => "ring",
            LogKind::Fd => "fd",
            LogKind::Global => "global",
        }
    }
}

/// One parsed `log` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogTarget {
    pub kind: LogKind,
    /// The address as written (`127.0.0.1:514`, `/dev/log`, `ring@buf`, ...).
    pub address: Option<String>,
    /// UDP/TCP host (without brackets for IPv6).
    pub host: Option<String>,
    /// UDP/TCP port; 514 when omitted for UDP.
    pub port: Option<u16>,
    /// Unix socket path (`@name` for abstract `abns@name` sockets).
    pub path: Option<String>,
    /// Ring name for `ring@name`.
    pub ring: Option<String>,
    /// Descriptor for `fd@N` (and 1/2 for stdout/stderr).
    pub fd: Option<u32>,
    pub facility: Option<String>,
    /// Maximum level sent (`log ... local0 notice` sends notice and more severe).
    pub level: Option<String>,
    pub min_level: Option<String>,
    pub format: Option<String>,
    pub len: Option<u32>,
    pub sample: Option<String>,
}

impl LogTarget {
    fn new(kind: LogKind, address: Option<String>) -> Self {
        LogTarget {
            kind,
            address,
            host: None,
            port: None,
            path: None,
            ring: None,
            fd: None,
            facility: None,
            level: None,
            min_level: None,
            format: None,
            len: None,
            sample: None,
        }
    }

    /// `host:port` or path, for messages.
    pub fn display(&self) -> String {
        match (self.kind, &self.host, self.port, &self.path) {
            (LogKind::Udp | LogKind::Tcp, Some(h), Some(p), _) if h.contains(':') => {
                format!("[{h}]:{p}")
            }
            (LogKind::Udp | LogKind::Tcp, Some(h), Some(p), _) => format!("{h}:{p}"),
            (LogKind::Unix, _, _, Some(p)) => p.clone(),
            _ => self
                .address
                .clone()
                .unwrap_or_else(|| self.kind.as_str().into()),
        }
    }
}

pub const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];
pub const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];
const FORMATS: [&str; 8] = [
    "local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw",
];

/// Parses the arguments of an HAProxy `log` line (after the `log` keyword).
/// The error says which argument is wrong and why.
pub fn parse_log_directive(args: &[String]) -> Result<LogTarget, String> {
    let Some(addr) = args.first() else {
        return Err("`log` needs an address (or `global`)".into());
    };
    if addr == "global" {
        if args.len() > 1 {
            return Err(format!("`log global` takes no argument, got `{}`", args[1]));
        }
        return Ok(LogTarget::new(LogKind::Global, None));
    }
    let mut t = parse_address(addr)?;
    let mut i = 1;
    loop {
        match args.get(i).map(String::as_str) {
            Some("len") => {
                let v = args.get(i + 1).ok_or("`len` needs a value")?;
                let n: u32 = v.parse().map_err(|_| format!("`len {v}`: not a number"))?;
                if !(80..=65535).contains(&n) {
                    return Err(format!("`len {n}`: must be between 80 and 65535"));
                }
                t.len = Some(n);
                i += 2;
            }
            Some("format") => {
                let v = args.get(i + 1).ok_or("`format` needs a value")?;
                if !FORMATS.contains(&v.as_str()) {
                    return Err(format!(
                        "`format {v}`: unknown log format (expected one of {})",
                        FORMATS.join(", ")
                    ));
                }
                t.format = Some(v.clone());
                i += 2;
            }
            Some("sample") => {
                let v = args.get(i + 1).ok_or("`sample` needs `<ranges>:<size>`")?;
                if !v.contains(':') {
                    return Err(format!("`sample {v}`: expected `<ranges>:<size>`"));
                }
                t.sample = Some(v.clone());
                i += 2;
            }
            _ => break,
        }
    }
    let facility = args
        .get(i)
        .ok_or_else(|| format!("`log {addr}` needs a facility (e.g. local0)"))?;
    if !FACILITIES.contains(&facility.as_str()) {
        return Err(format!(
            "unknown facility `{facility}` (expected one of {})",
            FACILITIES.join(" ")
        ));
    }
    t.facility = Some(facility.clone());
    for (slot, name) in [(&mut t.level, "level"), (&mut t.min_level, "minimum level")] {
        i += 1;
        if let Some(l) = args.get(i) {
            if !LEVELS.contains(&l.as_str()) {
                return Err(format!(
                    "unknown {name} `{l}` (expected one of {})",
                    LEVELS.join(" ")
                ));
            }
            *slot = Some(l.clone());
        }
    }
    if let Some(extra) = args.get(i + 1) {
        return Err(format!("unexpected argument `{extra}` after the levels"));
    }
    Ok(t)
}

fn parse_address(addr: &str) -> Result<LogTarget, String> {
    let raw = Some(addr.to_string());
    match addr {
        "stdout" => {
            let mut t = LogTarget::new(LogKind::Stdout, raw);
            t.fd = Some(1);
            return Ok(t);
        }
        "stderr" => {
            let mut t = LogTarget::new(LogKind::Stderr, raw);
            t.fd = Some(2);
            return Ok(t);
        }
        _ => {}
    }
    if addr.starts_with('/') {
        let mut t = LogTarget::new(LogKind::Unix, raw);
        t.path = Some(addr.to_string());
        return Ok(t);
    }
    let (proto, rest) = match addr.split_once('@') {
        Some((p, r)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()) => {
            (Some(p.to_ascii_lowercase()), r)
        }
        _ => (None, addr),
    };
    match proto.as_deref() {
        Some("unix") | Some("uxdg") => {
            if rest.is_empty() {
                return Err(format!("`{addr}`: empty socket path"));
            }
            let mut t = LogTarget::new(LogKind::Unix, raw);
            t.path = Some(rest.to_string());
            Ok(t)
        }
        Some("abns") => {
            let mut t = LogTarget::new(LogKind::Unix, raw);
            t.path = Some(format!("@{rest}"));
            Ok(t)
        }
        Some("ring") => {
            if rest.is_empty() {
                return Err(format!("`{addr}`: empty ring name"));
            }
            let mut t = LogTarget::new(LogKind::Ring, raw);
            t.ring = Some(rest.to_string());
            Ok(t)
        }
        Some("fd") => {
            let n: u32 = rest
                .parse()
                .map_err(|_| format!("`{addr}`: fd@ needs a descriptor number"))?;
            let mut t = LogTarget::new(
                match n {
                    1 => LogKind::Stdout,
                    2 => LogKind::Stderr,
                    _ => LogKind::Fd,
                },
                raw,
            );
            t.fd = Some(n);
            Ok(t)
        }
        None | Some("udp") | Some("udp4") | Some("udp6") | Some("ipv4") | Some("ipv6") => {
            let (host, port) = split_host_port(rest, addr)?;
            let mut t = LogTarget::new(LogKind::Udp, raw);
            t.host = Some(host);
            t.port = Some(port.unwrap_or(514));
            Ok(t)
        }
        Some("tcp") | Some("tcp4") | Some("tcp6") => {
            let (host, port) = split_host_port(rest, addr)?;
            let port = port.ok_or_else(|| format!("`{addr}`: tcp@ needs a port"))?;
            let mut t = LogTarget::new(LogKind::Tcp, raw);
            t.host = Some(host);
            t.port = Some(port);
            Ok(t)
        }
        Some(p) => Err(format!(
            "`{addr}`: unsupported address family `{p}@` for logs"
        )),
    }
}

/// `[v6]:port`, `[v6]`, `host:port`, `host`; bare IPv6 is split on the last colon like HAProxy's
/// str2sa_range does (so `::1:514` is `::1` port 514, and `::1:` is `::1` port 514).
fn split_host_port(s: &str, whole: &str) -> Result<(String, Option<u16>), String> {
    let parse_port = |p: &str| -> Result<Option<u16>, String> {
        if p.is_empty() {
            return Ok(None);
        }
        match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("`{whole}`: invalid port `{p}`")),
            Ok(n) => Ok(Some(n)),
        }
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{whole}`: missing `]`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None if after.is_empty() => None,
            None => return Err(format!("`{whole}`: unexpected `{after}` after `]`")),
        };
        if h.is_empty() {
            return Err(format!("`{whole}`: empty host"));
        }
        return Ok((h.to_string(), port));
    }
    let (h, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, parse_port(p)?),
        None => (s, None),
    };
    if h.is_empty() {
        return Err(format!("`{whole}`: empty host"));
    }
    Ok((h.to_string(), port))
}

/// Checks HAProxy's log targets against the local rsyslog configuration, treating loopback
/// and this host's interface addresses (`getifaddrs`) as local.
pub fn check_logging(
    haproxy_logs: &[(LogTarget, String)],
    chroot: Option<&str>,
    rsyslog: &RsyslogSetup,
) -> Vec<Finding> {
    let local = crate::system::host::local_addresses();
    check_logging_with(haproxy_logs, chroot, rsyslog, &local)
}

/// Same as [`check_logging`] with an explicit list of local addresses (pure; loopback and
/// `localhost` are always local).
pub fn check_logging_with(
    haproxy_logs: &[(LogTarget, String)],
    chroot: Option<&str>,
    rsyslog: &RsyslogSetup,
    local_addrs: &[IpAddr],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let real: Vec<&(LogTarget, String)> = haproxy_logs
        .iter()
        .filter(|(t, _)| t.kind != LogKind::Global)
        .collect();
    if real.is_empty() {
        let mut f = Finding::new(Severity::Warning, "logs.none", "HAProxy has no log target")
            .detail(
                "No `log <address>` line: HAProxy produces no traffic or health-check logs \
                 (`log global` in a proxy does nothing when `global` has no `log` line).",
            )
            .advice(
                "add `log 127.0.0.1:514 local0` to `global` and `log global` + `option httplog` \
                 (or `option tcplog`) to `defaults`, then `systemctl reload haproxy`",
            );
        for (_, loc) in haproxy_logs {
            f = f.evidence(format!("{loc}: log global"));
        }
        out.push(f);
    }
    let chroot = chroot.filter(|c| !c.is_empty() && *c != "/");
    let mut udp_missing_module_reported = false;
    for (t, loc) in real {
        let evidence = format!("{loc}: log {}", t.address.as_deref().unwrap_or(""));
        match t.kind {
            LogKind::Global => {}
            LogKind::Stdout | LogKind::Stderr => out.push(
                Finding::new(
                    Severity::Info,
                    "logs.stdout",
                    format!("HAProxy logs to {}", t.kind.as_str()),
                )
                .detail(
                    "Fine under systemd (journald collects it) or in a container; lost if HAProxy \
                     daemonizes (`daemon`, `-D`), because stdio then points to /dev/null.",
                )
                .advice(format!(
                    "use `log {} format raw daemon` and read with `journalctl -u haproxy` or \
                     the container runtime's logs",
                    t.kind.as_str()
                ))
                .evidence(evidence),
            ),
            LogKind::Fd => out.push(
                Finding::new(
                    Severity::Info,
                    "logs.fd",
                    "HAProxy logs to a file descriptor",
                )
                .detail("Where the descriptor points cannot be checked from the configuration.")
                .advice("check it with `ls -l /proc/$(pidof haproxy | cut -d' ' -f1)/fd/`")
                .evidence(evidence),
            ),
            LogKind::Ring => out.push(
                Finding::new(
                    Severity::Info,
                    "logs.ring",
                    "HAProxy logs to an in-memory ring",
                )
                .detail(
                    "Ring logs stay in memory and are lost on reload unless the ring section \
                         forwards them to a server.",
                )
                .advice(format!(
                    "read them with `echo 'show events {}' | socat stdio /run/haproxy/admin.sock`",
                    t.ring.as_deref().unwrap_or("")
                ))
                .evidence(evidence),
            ),
            LogKind::Tcp => out.push(
                Finding::new(Severity::Info, "logs.tcp", "HAProxy logs over TCP")
                    .detail("rsyslog imtcp inputs are not checked by harun.")
                    .advice(format!(
                        "check the collector listens: `ss -tlpn 'sport = :{}'`",
                        t.port.unwrap_or(0)
                    ))
                    .evidence(evidence),
            ),
            LogKind::Udp => {
                let host = t.host.as_deref().unwrap_or("");
                let port = t.port.unwrap_or(514);
                if !is_local(host, local_addrs) {
                    out.push(
                        Finding::new(
                            Severity::Info,
                            "logs.remote",
                            format!("HAProxy logs to remote syslog {}", t.display()),
                        )
                        .detail(
                            "Not checked from here. UDP syslog drops silently when the collector \
                             is down, unreachable or firewalled.",
                        )
                        .advice(format!(
                            "check on the collector; from this host: `tcpdump -ni any udp port {port}`"
                        ))
                        .evidence(evidence),
                    );
                    continue;
                }
                out.extend(check_udp(
                    t,
                    host,
                    port,
                    &evidence,
                    rsyslog,
                    &mut udp_missing_module_reported,
                ));
            }
            LogKind::Unix => out.push(check_unix(t, &evidence, chroot, rsyslog)),
        }
    }
    out
}

/// The `logs` row of a summary, for a person: how many targets, then each
/// distinct destination with what the check found there, e.g. `2 targets:
/// /dev/log (chroot, rsyslog socket present)`. The state of a destination
/// comes from [`check_logging_with`] on it alone (its worst finding).
pub fn summary_line(
    haproxy_logs: &[(LogTarget, String)],
    chroot: Option<&str>,
    rsyslog: &RsyslogSetup,
    local_addrs: &[IpAddr],
) -> String {
    let real: Vec<&(LogTarget, String)> = haproxy_logs
        .iter()
        .filter(|(t, _)| t.kind != LogKind::Global)
        .collect();
    if real.is_empty() {
        return "no log target".into();
    }
    let mut dests: Vec<(String, &(LogTarget, String))> = Vec::new();
    for t in &real {
        let d = t.0.display();
        if !dests.iter().any(|(x, _)| *x == d) {
            dests.push((d, t));
        }
    }
    let chroot = chroot.filter(|c| !c.is_empty() && *c != "/");
    let parts: Vec<String> = dests
        .iter()
        .map(|(d, t)| {
            let found = check_logging_with(std::slice::from_ref(*t), chroot, rsyslog, local_addrs);
            let worst = found
                .iter()
                .max_by_key(|f| f.severity)
                .map(|f| f.id.as_str());
            format!("{d} ({})", destination_state(worst, &t.0, chroot, rsyslog))
        })
        .collect();
    match real.len() {
        1 => parts.join(", "),
        n => format!("{n} targets: {}", parts.join(", ")),
    }
}

/// A few words for one destination, from the id of its worst `logs.*` finding.
fn destination_state(
    id: Option<&str>,
    t: &LogTarget,
    chroot: Option<&str>,
    rsyslog: &RsyslogSetup,
) -> &'static str {
    let in_chroot = chroot.is_some() && t.path.as_deref().is_some_and(|p| p.starts_with('/'));
    let no_rsyslog = rsyslog.files.is_empty();
    match id {
        Some("logs.ok") => match t.kind {
            LogKind::Unix if in_chroot => "chroot, rsyslog socket present",
            LogKind::Unix if rsyslog.unix_sockets.is_empty() => "system log socket",
            LogKind::Unix => "rsyslog socket present",
            _ => "rsyslog listens",
        },
        Some("logs.chroot-socket") if no_rsyslog => "chroot, rsyslog configuration not found",
        Some("logs.chroot-socket") => "chroot, no rsyslog socket there: lost",
        Some("logs.no-udp-input") if no_rsyslog => "no rsyslog configuration found",
        Some("logs.no-udp-input") => "rsyslog does not listen on UDP: lost",
        Some("logs.port-mismatch") => "no rsyslog input there: lost",
        Some("logs.imudp-not-loaded") => "rsyslog never loads imudp: lost",
        Some("logs.remote") => "remote, not checked",
        Some("logs.unix-socket-unknown") => "unknown to rsyslog",
        Some("logs.stdout") => "journald or container logs",
        Some("logs.ring") => "in-memory ring",
        _ => "not checked",
    }
}

fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.eq_ignore_ascii_case("ip6-localhost")
        || host
            .parse::<IpAddr>()
            .map(|a| a.is_loopback())
            .unwrap_or(false)
}

fn is_local(host: &str, local_addrs: &[IpAddr]) -> bool {
    is_loopback_name(host)
        || host
            .parse::<IpAddr>()
            .map(|a| local_addrs.contains(&a))
            .unwrap_or(false)
}

/// Does an imudp input bound to `input_addr` (None = all) receive datagrams sent to `host`?
fn input_receives(input_addr: Option<&str>, host: &str) -> bool {
    let Some(a) = input_addr else { return true };
    let target_v6 = host.contains(':');
    match a {
        "0.0.0.0" => !target_v6,
        "::" => true,
        _ => {
            if a.eq_ignore_ascii_case(host) {
                return true;
            }
            match (a.parse::<IpAddr>(), host.parse::<IpAddr>()) {
                (Ok(x), Ok(y)) => x == y,
                // `localhost` on either side.
                _ => {
                    let la = is_loopback_name(a);
                    let lh = is_loopback_name(host);
                    la && lh
                        && (a.eq_ignore_ascii_case("localhost")
                            || host.eq_ignore_ascii_case("localhost"))
                }
            }
        }
    }
}

fn udp_lines(host: &str, port: u16, with_module: bool) -> (String, String) {
    let addr = if host.eq_ignore_ascii_case("localhost") {
        "127.0.0.1"
    } else {
        host
    };
    let rs = format!(
        "{}input(type=\"imudp\" address=\"{addr}\" port=\"{port}\")",
        if with_module {
            "module(load=\"imudp\")\n"
        } else {
            ""
        }
    );
    let legacy = format!(
        "{}$UDPServerAddress {addr}\n$UDPServerRun {port}",
        if with_module { "$ModLoad imudp\n" } else { "" }
    );
    (rs, legacy)
}

const RELOAD: &str = "then `systemctl restart rsyslog` (rsyslog re-reads its configuration only \
                      on restart; SIGHUP just reopens files) and `systemctl reload haproxy` if \
                      you changed haproxy.cfg; verify with `ss -ulpn` and `logger -n 127.0.0.1 -P 514 -d -p local0.info harun-test`";

fn check_udp(
    t: &LogTarget,
    host: &str,
    port: u16,
    evidence: &str,
    rsyslog: &RsyslogSetup,
    missing_module_reported: &mut bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let target = t.display();
    let matching: Vec<_> = rsyslog
        .udp_inputs
        .iter()
        .filter(|u| u.port == port && input_receives(u.address.as_deref(), host))
        .collect();
    let no_rsyslog = rsyslog.files.is_empty();
    if rsyslog.udp_inputs.is_empty() {
        let (rs, legacy) = udp_lines(host, port, !rsyslog.imudp_loaded);
        let mut f = Finding::new(
            Severity::Warning,
            "logs.no-udp-input",
            format!("HAProxy sends logs to {target} (UDP) but rsyslog does not listen on UDP"),
        )
        .detail(if no_rsyslog {
            "No rsyslog configuration was found on this host: every datagram HAProxy sends \
             there is dropped."
                .to_string()
        } else {
            "No rsyslog file opens an imudp input: every log line HAProxy sends there is \
             silently dropped."
                .to_string()
        })
        .advice(format!(
            "add to /etc/rsyslog.d/49-haproxy.conf either (RainerScript)\n{rs}\nor (legacy)\n{legacy}\n{RELOAD}"
        ))
        .evidence(evidence.to_string());
        for file in &rsyslog.files {
            f = f.evidence(format!("read {}", file.display()));
        }
        out.push(f);
        return out;
    }
    if matching.is_empty() {
        let (rs, legacy) = udp_lines(host, port, !rsyslog.imudp_loaded);
        let mut f = Finding::new(
            Severity::Warning,
            "logs.port-mismatch",
            format!("rsyslog listens on UDP, but not on {target} where HAProxy sends logs"),
        )
        .detail(
            "HAProxy's datagrams reach a port (or address) with no listener and are dropped. \
             Note that an input bound to 127.0.0.1 does not receive what HAProxy sends to the \
             host's LAN address, and 0.0.0.0 does not cover IPv6.",
        )
        .advice(format!(
            "either change the `log` line to one of rsyslog's inputs, or add (RainerScript)\n{rs}\nor (legacy)\n{legacy}\n{RELOAD}"
        ))
        .evidence(evidence.to_string());
        for u in &rsyslog.udp_inputs {
            f = f.evidence(format!(
                "{}: rsyslog imudp on {}:{}",
                u.location,
                u.address.as_deref().unwrap_or("*"),
                u.port
            ));
        }
        out.push(f);
    } else if rsyslog.imudp_loaded {
        out.push(
            Finding::new(
                Severity::Ok,
                "logs.ok",
                format!("HAProxy logs to {target}, where rsyslog listens"),
            )
            .evidence(evidence.to_string())
            .evidence(format!(
                "{}: rsyslog imudp on {}:{}",
                matching[0].location,
                matching[0].address.as_deref().unwrap_or("*"),
                matching[0].port
            )),
        );
    }
    if !rsyslog.imudp_loaded && !*missing_module_reported && !matching.is_empty() {
        *missing_module_reported = true;
        let mut f = Finding::new(
            Severity::Warning,
            "logs.imudp-not-loaded",
            "rsyslog declares a UDP input but never loads the imudp module",
        )
        .detail("rsyslogd rejects the input and listens on nothing: HAProxy's logs are dropped.")
        .advice(format!(
            "add `module(load=\"imudp\")` (or `$ModLoad imudp`) before the input, {RELOAD}"
        ))
        .evidence(evidence.to_string());
        for u in &rsyslog.udp_inputs {
            f = f.evidence(format!("{}: UDP input without imudp", u.location));
        }
        out.push(f);
    }
    out
}

/// Where a unix log socket really is: inside the chroot when HAProxy is chrooted.
fn host_path(path: &str, chroot: Option<&str>) -> PathBuf {
    match chroot {
        Some(root) if path.starts_with('/') => Path::new(root).join(path.trim_start_matches('/')),
        _ => PathBuf::from(path),
    }
}

fn norm(p: &Path) -> PathBuf {
    // Lexical normalisation: drop `.` and duplicate slashes (components() does both).
    p.components().collect()
}

fn check_unix(
    t: &LogTarget,
    evidence: &str,
    chroot: Option<&str>,
    rsyslog: &RsyslogSetup,
) -> Finding {
    let path = t.path.as_deref().unwrap_or("");
    let real = norm(&host_path(path, chroot));
    let provided = rsyslog.unix_sockets.iter().find(|(p, _)| norm(p) == real);
    if let Some((p, loc)) = provided {
        let mut f = Finding::new(
            Severity::Ok,
            "logs.ok",
            format!(
                "HAProxy logs to {path}{}, a socket rsyslog creates",
                chroot
                    .map(|c| format!(" inside chroot {c}"))
                    .unwrap_or_default()
            ),
        )
        .evidence(evidence.to_string())
        .evidence(format!("{loc}: rsyslog socket {}", p.display()));
        if !rsyslog.imuxsock_loaded {
            f = f.detail(
                "No file loads imuxsock explicitly; rsyslog's stock configuration does \
                 (`module(load=\"imuxsock\")`): check /etc/rsyslog.conf if logs are missing.",
            );
        }
        return f;
    }
    if chroot.is_some() && path.starts_with('/') {
        let real_s = real.display().to_string();
        let mut f = Finding::new(
            Severity::Warning,
            "logs.chroot-socket",
            format!(
                "Chrooted HAProxy logs to {path}, i.e. {real_s}, which rsyslog does not create"
            ),
        )
        .detail(format!(
            "HAProxy runs in chroot {} and sends to {path} after chrooting, so it writes to \
             {real_s}. No rsyslog file creates that socket: logs are silently lost.",
            chroot.unwrap_or_default()
        ))
        .advice(format!(
            "add `$AddUnixListenSocket {real_s}` (RainerScript: \
             `input(type=\"imuxsock\" Socket=\"{real_s}\" CreatePath=\"on\")`) to \
             /etc/rsyslog.d/49-haproxy.conf, or log over UDP instead \
             (`log 127.0.0.1:514 local0` plus an imudp input); {RELOAD}"
        ))
        .evidence(evidence.to_string());
        for (p, loc) in &rsyslog.unix_sockets {
            f = f.evidence(format!("{loc}: rsyslog socket {}", p.display()));
        }
        return f;
    }
    if real == Path::new("/dev/log") {
        return Finding::new(
            Severity::Ok,
            "logs.ok",
            "HAProxy logs to /dev/log, the system log socket",
        )
        .detail(
            "/dev/log belongs to journald (systemd) or rsyslog's imuxsock; it is only a problem \
             when HAProxy is chrooted.",
        )
        .evidence(evidence.to_string());
    }
    Finding::new(
        Severity::Info,
        "logs.unix-socket-unknown",
        format!(
            "HAProxy logs to unix socket {path}, which the rsyslog configuration does not mention"
        ),
    )
    .detail("Another daemon (journald, syslog-ng, a sidecar) may provide it.")
    .advice(format!(
        "check it exists and who listens: `ls -l {}` and `ss -xlp | grep {}`",
        real.display(),
        real.display()
    ))
    .evidence(evidence.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::rsyslog::{parse_rsyslog, Style, UdpInput};

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn log(s: &str) -> LogTarget {
        parse_log_directive(&args(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_address_forms() {
        let t = log("127.0.0.1 local0");
        assert_eq!(
            (t.kind, t.host.as_deref(), t.port, t.facility.as_deref()),
            (LogKind::Udp, Some("127.0.0.1"), Some(514), Some("local0"))
        );
        let t = log("127.0.0.1:5514 len 4096 format rfc5424 sample 1:2 local1 notice err");
        assert_eq!(t.port, Some(5514));
        assert_eq!(t.len, Some(4096));
        assert_eq!(t.format.as_deref(), Some("rfc5424"));
        assert_eq!(t.sample.as_deref(), Some("1:2"));
        assert_eq!(
            (t.level.as_deref(), t.min_level.as_deref()),
            (Some("notice"), Some("err"))
        );
        let t = log("udp@logs.example.com:1514 local0");
        assert_eq!(
            (t.host.as_deref(), t.port),
            (Some("logs.example.com"), Some(1514))
        );
        let t = log("ipv4@10.0.0.1 daemon");
        assert_eq!((t.kind, t.port), (LogKind::Udp, Some(514)));
        let t = log("ipv6@[::1]:514 local0");
        assert_eq!((t.host.as_deref(), t.port), (Some("::1"), Some(514)));
        assert_eq!(t.display(), "[::1]:514");
        let t = log("::1:5514 local0");
        assert_eq!((t.host.as_deref(), t.port), (Some("::1"), Some(5514)));
        let t = log("/dev/log local0");
        assert_eq!(
            (t.kind, t.path.as_deref()),
            (LogKind::Unix, Some("/dev/log"))
        );
        let t = log("unix@/var/lib/haproxy/dev/log local0");
        assert_eq!(t.path.as_deref(), Some("/var/lib/haproxy/dev/log"));
        assert_eq!(log("stdout format raw daemon").kind, LogKind::Stdout);
        assert_eq!(log("stderr local0").fd, Some(2));
        assert_eq!(log("fd@1 local0").kind, LogKind::Stdout);
        let t = log("fd@3 local0");
        assert_eq!((t.kind, t.fd), (LogKind::Fd, Some(3)));
        let t = log("ring@buf1 local0");
        assert_eq!((t.kind, t.ring.as_deref()), (LogKind::Ring, Some("buf1")));
        assert_eq!(log("global").kind, LogKind::Global);
        assert_eq!(log("tcp@10.0.0.9:601 local0").kind, LogKind::Tcp);
    }

    #[test]
    fn rejects_bad_lines_with_reasons() {
        for (line, want) in [
            ("", "needs an address"),
            ("127.0.0.1", "needs a facility"),
            ("127.0.0.1 local9", "unknown facility"),
            ("127.0.0.1 local0 loud", "unknown level"),
            ("127.0.0.1 local0 info loud", "unknown minimum level"),
            ("127.0.0.1 local0 info err extra", "unexpected argument"),
            ("127.0.0.1:0 local0", "invalid port"),
            ("127.0.0.1:99999 local0", "invalid port"),
            ("127.0.0.1 len 10 local0", "between 80 and 65535"),
            ("127.0.0.1 len", "needs a value"),
            ("127.0.0.1 format xml local0", "unknown log format"),
            ("[::1 local0", "missing `]`"),
            ("fd@x local0", "descriptor"),
            ("global local0", "takes no argument"),
            ("sctp@1.2.3.4 local0", "unsupported"),
        ] {
            let e = parse_log_directive(&args(line)).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    fn rs(text: &str) -> RsyslogSetup {
        let p = parse_rsyslog(text, Path::new("/etc/rsyslog.d/49-haproxy.conf"));
        RsyslogSetup {
            files: vec![PathBuf::from("/etc/rsyslog.d/49-haproxy.conf")],
            udp_inputs: p.udp_inputs,
            imudp_loaded: p.imudp_loaded,
            imuxsock_loaded: p.imuxsock_loaded,
            unix_sockets: p.unix_sockets,
            notes: p.notes,
        }
    }

    fn check(lines: &[&str], chroot: Option<&str>, r: &RsyslogSetup) -> Vec<Finding> {
        let logs: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (log(l), format!("haproxy.cfg:{}", i + 2)))
            .collect();
        check_logging_with(&logs, chroot, r, &["10.0.0.5".parse().unwrap()])
    }

    fn ids(f: &[Finding]) -> Vec<(&str, Severity)> {
        f.iter().map(|f| (f.id.as_str(), f.severity)).collect()
    }

    #[test]
    fn no_udp_input() {
        let f = check(
            &["127.0.0.1 local0"],
            None,
            &rs("$AddUnixListenSocket /x\n"),
        );
        assert_eq!(ids(&f), [("logs.no-udp-input", Severity::Warning)]);
        let a = f[0].advice.as_deref().unwrap();
        for want in [
            "module(load=\"imudp\")",
            "input(type=\"imudp\" address=\"127.0.0.1\" port=\"514\")",
            "$ModLoad imudp",
            "$UDPServerRun 514",
            "systemctl restart rsyslog",
            "systemctl reload haproxy",
        ] {
            assert!(a.contains(want), "{want} not in {a}");
        }
        // imudp already loaded: do not tell the operator to load it twice.
        let f = check(&["127.0.0.1 local0"], None, &rs("module(load=\"imudp\")\n"));
        assert!(!f[0].advice.as_deref().unwrap().contains("module(load"));
    }

    #[test]
    fn port_and_address_mismatch() {
        let r = rs(
            "module(load=\"imudp\")\ninput(type=\"imudp\" port=\"514\" address=\"127.0.0.1\")\n",
        );
        assert_eq!(
            ids(&check(&["127.0.0.1:514 local0"], None, &r)),
            [("logs.ok", Severity::Ok)]
        );
        assert_eq!(
            ids(&check(&["localhost local0"], None, &r)),
            [("logs.ok", Severity::Ok)]
        );
        let f = check(&["127.0.0.1:5140 local0"], None, &r);
        assert_eq!(ids(&f), [("logs.port-mismatch", Severity::Warning)]);
        assert!(f[0].evidence.iter().any(|e| e.contains("127.0.0.1:514")));
        // Local LAN address, input bound to loopback only.
        let f = check(&["10.0.0.5 local0"], None, &r);
        assert_eq!(ids(&f), [("logs.port-mismatch", Severity::Warning)]);
        let r = rs("$ModLoad imudp\n$UDPServerRun 514\n");
        assert_eq!(
            ids(&check(&["10.0.0.5 local0"], None, &r)),
            [("logs.ok", Severity::Ok)]
        );
        assert_eq!(
            ids(&check(&["[::1]:514 local0"], None, &r)),
            [("logs.ok", Severity::Ok)]
        );
        let r = rs("$ModLoad imudp\n$UDPServerAddress 0.0.0.0\n$UDPServerRun 514\n");
        assert_eq!(
            ids(&check(&["[::1]:514 local0"], None, &r)),
            [("logs.port-mismatch", Severity::Warning)]
        );
    }

    #[test]
    fn input_without_module() {
        let r = RsyslogSetup {
            files: vec![PathBuf::from("/etc/rsyslog.conf")],
            udp_inputs: vec![UdpInput {
                address: None,
                port: 514,
                location: "/etc/rsyslog.conf:3".into(),
                style: Style::Rainerscript,
            }],
            ..Default::default()
        };
        let f = check(&["127.0.0.1 local0", "127.0.0.1 local1 notice"], None, &r);
        assert_eq!(ids(&f), [("logs.imudp-not-loaded", Severity::Warning)]);
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("/etc/rsyslog.conf:3")));
    }

    #[test]
    fn debian_chroot_dev_log_both_directions() {
        let debian = rs("$AddUnixListenSocket /var/lib/haproxy/dev/log\n");
        let f = check(
            &["/dev/log local0", "/dev/log local1 notice"],
            Some("/var/lib/haproxy"),
            &debian,
        );
        assert_eq!(
            ids(&f),
            [("logs.ok", Severity::Ok), ("logs.ok", Severity::Ok)]
        );
        // Chroot but no socket inside it.
        let f = check(&["/dev/log local0"], Some("/var/lib/haproxy"), &rs(""));
        assert_eq!(ids(&f), [("logs.chroot-socket", Severity::Warning)]);
        assert!(f[0]
            .advice
            .as_deref()
            .unwrap()
            .contains("$AddUnixListenSocket /var/lib/haproxy/dev/log"));
        // Trailing slash on the chroot, RainerScript socket.
        let r = rs("input(type=\"imuxsock\" Socket=\"/var/lib/haproxy//dev/log\")\n");
        assert_eq!(
            ids(&check(&["/dev/log local0"], Some("/var/lib/haproxy/"), &r)),
            [("logs.ok", Severity::Ok)]
        );
        // No chroot: /dev/log is the system socket.
        assert_eq!(
            ids(&check(&["/dev/log local0"], None, &rs(""))),
            [("logs.ok", Severity::Ok)]
        );
        // The other direction: chrooted, UDP target, rsyslog only has the chroot socket.
        assert_eq!(
            ids(&check(
                &["127.0.0.1 local0"],
                Some("/var/lib/haproxy"),
                &debian
            )),
            [("logs.no-udp-input", Severity::Warning)]
        );
        assert_eq!(
            ids(&check(&["/run/other.sock local0"], None, &debian)),
            [("logs.unix-socket-unknown", Severity::Info)]
        );
    }

    #[test]
    fn other_kinds_and_none() {
        let r = rs("");
        let f = check(
            &[
                "stdout format raw daemon",
                "ring@buf local0",
                "fd@3 local0",
                "192.0.2.10 local0",
                "tcp@192.0.2.10:601 local0",
            ],
            None,
            &r,
        );
        assert_eq!(
            ids(&f),
            [
                ("logs.stdout", Severity::Info),
                ("logs.ring", Severity::Info),
                ("logs.fd", Severity::Info),
                ("logs.remote", Severity::Info),
                ("logs.tcp", Severity::Info)
            ]
        );
        assert_eq!(
            ids(&check(&[], None, &r)),
            [("logs.none", Severity::Warning)]
        );
        assert_eq!(
            ids(&check(&["global"], None, &r)),
            [("logs.none", Severity::Warning)]
        );
    }

    fn summary(lines: &[&str], chroot: Option<&str>, r: &RsyslogSetup) -> String {
        let logs: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (log(l), format!("haproxy.cfg:{}", i + 2)))
            .collect();
        summary_line(&logs, chroot, r, &[])
    }

    #[test]
    fn summary_rows_read_as_text() {
        let debian = rs("$AddUnixListenSocket /var/lib/haproxy/dev/log\n");
        let udp = rs("module(load=\"imudp\")\ninput(type=\"imudp\" port=\"514\")\n");
        let cases: &[(&[&str], Option<&str>, &RsyslogSetup, &str)] = &[
            (
                &["/dev/log local0", "/dev/log local1 notice", "global"],
                Some("/var/lib/haproxy"),
                &debian,
                "2 targets: /dev/log (chroot, rsyslog socket present)",
            ),
            (
                &["/dev/log local0"],
                Some("/var/lib/haproxy"),
                &rs(""),
                "/dev/log (chroot, no rsyslog socket there: lost)",
            ),
            (
                &["/dev/log local0"],
                Some("/var/lib/haproxy"),
                &RsyslogSetup::default(),
                "/dev/log (chroot, rsyslog configuration not found)",
            ),
            (&["/dev/log local0"], None, &rs(""), "/dev/log (system log socket)"),
            (
                &["127.0.0.1 local0", "/dev/log local1"],
                Some("/var/lib/haproxy"),
                &udp,
                "2 targets: 127.0.0.1:514 (rsyslog listens), /dev/log (chroot, no rsyslog socket there: lost)",
            ),
            (
                &["127.0.0.1:5140 local0"],
                None,
                &udp,
                "127.0.0.1:5140 (no rsyslog input there: lost)",
            ),
            (
                &["192.0.2.10 local0", "stdout format raw daemon"],
                None,
                &udp,
                "2 targets: 192.0.2.10:514 (remote, not checked), stdout (journald or container logs)",
            ),
            (&["global"], None, &udp, "no log target"),
            (&[], None, &udp, "no log target"),
        ];
        for (lines, chroot, r, want) in cases {
            assert_eq!(summary(lines, *chroot, r), *want, "{lines:?}");
        }
    }

    #[test]
    fn every_emitted_id_is_documented() {
        let docs: Vec<_> = crate::system::finding_docs().iter().map(|d| d.id).collect();
        for id in [
            "logs.ok",
            "logs.none",
            "logs.no-udp-input",
            "logs.port-mismatch",
            "logs.imudp-not-loaded",
            "logs.chroot-socket",
            "logs.unix-socket-unknown",
            "logs.stdout",
            "logs.fd",
            "logs.ring",
            "logs.remote",
            "logs.tcp",
            "system.irqbalance",
        ] {
            assert!(docs.contains(&id), "{id}");
        }
    }

    /// Debian's shipped pair: haproxy.cfg logs to /dev/log from chroot /var/lib/haproxy and
    /// /etc/rsyslog.d/49-haproxy.conf creates the socket there.
    #[test]
    fn debian_shipped_files_agree() {
        let (Ok(cfg), Ok(snippet)) = (
            std::fs::read_to_string("/etc/haproxy/haproxy.cfg"),
            std::fs::read_to_string("/etc/rsyslog.d/49-haproxy.conf"),
        ) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Debian haproxy package files missing"
            );
            return;
        };
        let mut logs = Vec::new();
        let mut chroot = None;
        let mut in_global = false;
        for (n, line) in cfg.lines().enumerate() {
            let words: Vec<String> = line.split_whitespace().map(String::from).collect();
            match words.first().map(String::as_str) {
                Some("global") => in_global = true,
                Some("defaults" | "frontend" | "backend" | "listen") => in_global = false,
                Some("log") if in_global => logs.push((
                    parse_log_directive(&words[1..]).unwrap(),
                    format!("/etc/haproxy/haproxy.cfg:{}", n + 1),
                )),
                Some("chroot") if in_global => chroot = words.get(1).cloned(),
                _ => {}
            }
        }
        assert!(!logs.is_empty());
        let p = parse_rsyslog(&snippet, Path::new("/etc/rsyslog.d/49-haproxy.conf"));
        let r = RsyslogSetup {
            files: vec![PathBuf::from("/etc/rsyslog.d/49-haproxy.conf")],
            unix_sockets: p.unix_sockets,
            imuxsock_loaded: true,
            ..Default::default()
        };
        let f = check_logging_with(&logs, chroot.as_deref(), &r, &[]);
        assert!(f.iter().all(|f| f.id == "logs.ok"), "{f:#?}");
    }
}
