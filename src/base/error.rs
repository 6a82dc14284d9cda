//! The library's error type and the exit codes the CLI maps it to.

use std::path::PathBuf;
use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes, documented in the README and `harun --help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Nothing at error level.
    Success = 0,
    /// The run produced error or critical findings.
    Findings = 1,
    /// Bad usage, or a playbook that failed (syntax error, runtime error, limit hit).
    Usage = 2,
    /// A HAProxy target was unreachable, timed out, lost the connection, or
    /// answered something that is not a runtime API reply (malformed, or
    /// over the reply cap).
    Unreachable = 3,
    /// A write was refused: read-only mode, no confirmation, last-server guard,
    /// or HAProxy answered `Permission denied`; or writes the guard let
    /// through found a backend emptied under them (kind `emptied`).
    Refused = 4,
    /// Interrupted by Ctrl-C (SIGINT).
    Interrupted = 130,
}

impl ExitCode {
    /// The exit code of an error of this [`Error::kind`]; a kind harun does
    /// not know (a playbook's own) is a playbook error.
    pub fn of_kind(kind: &str) -> ExitCode {
        match kind {
            "unreachable" | "timeout" | "connection_lost" | "malformed" | "reply_too_large"
            | "ssh" | "not_haproxy" => ExitCode::Unreachable,
            "permission_denied" | "refused" | "emptied" => ExitCode::Refused,
            "interrupted" => ExitCode::Interrupted,
            _ => ExitCode::Usage,
        }
    }
}

/// Why connecting failed, by cause, in the words of what to check: the OS
/// text alone ("No such file or directory") does not say that HAProxy may
/// be stopped. Each cause says what it tells (the advice of
/// `diagnose::reach` says what to do): a missing file is a stopped HAProxy
/// or another path, a refused connection a socket or port nobody listens
/// on, a permission problem a running HAProxy whose socket keeps this user out.
fn connect_failure(target: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    // `lb1 (unix@/path)` names an inventory host: judge its address.
    let address = match target.strip_suffix(')').and_then(|t| t.rsplit_once(" (")) {
        Some((_, inner)) => inner,
        None => target,
    };
    let master = address.starts_with("master@");
    let tcp = address.starts_with("ipv4@")
        || address.starts_with("ipv6@")
        || (!address.contains('/') && address.contains(':'));
    // `-s lb1.example.com` reads as a socket file here: name the other reading.
    let bare = !address.contains('/') && !address.contains(':') && !address.contains('@');
    let hostlike =
        address.contains('.') && !address.ends_with(".sock") && !address.ends_with(".socket");
    match e.kind() {
        ErrorKind::NotFound if bare && hostlike => format!(
            "no socket file `{address}` in this directory (for a host, write HOST:PORT, e.g. `{address}:9999`)"
        ),
        // A master CLI is not a `stats socket`: it is the `-S` of the command line.
        ErrorKind::NotFound if master => "no socket file at this path (HAProxy is not running in master-worker mode, or its `-S` option, e.g. in the systemd unit, gives another path)".into(),
        ErrorKind::NotFound if !tcp && !address.starts_with('/') && !address.contains('@') => {
            // A relative path is read from where harun runs, which at 3 a.m.
            // is rarely where the socket is: say which file was looked for.
            let here = std::env::current_dir()
                .map(|d| d.join(address).display().to_string())
                .unwrap_or_else(|_| address.to_string());
            format!("no socket file at this path, relative to the current directory: {here} (HAProxy is not running, or its `stats socket` line gives another path)")
        }
        ErrorKind::NotFound => "no socket file at this path (HAProxy is not running, or its `stats socket` line gives another path)".into(),
        ErrorKind::ConnectionRefused if tcp => "connection refused (nothing listens on this address: HAProxy is not running, or its `stats socket` line gives another address or port)".into(),
        ErrorKind::ConnectionRefused => "connection refused (a socket file nobody listens on: HAProxy stopped or crashed and left it behind)".into(),
        ErrorKind::PermissionDenied => "permission denied (HAProxy may well be running: this user may not open its socket; see `mode`, `user` and `group` on the `stats socket` line, or run harun as root)".into(),
        _ => e.to_string(),
    }
}

/// What a `No such ...` reply was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unknown {
    Backend,
    Server,
}

/// The name a `no_such_backend`/`no_such_server` error is about, read from
/// the command that met it: the `backend/server` word (its backend for
/// [`Unknown::Backend`]), else the proxy argument of `show servers state|conn
/// PROXY`, `show stat PROXY ...` and the backend-wide writes (`enable|disable
/// dynamic-cookie backend NAME`, `set dynamic-cookie-key backend NAME`). `None`
/// when the command names none
/// (the message then quotes the command alone).
pub fn unknown_name(command: &str, what: Unknown) -> Option<&str> {
    let words: Vec<&str> = command.split(' ').filter(|w| !w.is_empty()).collect();
    if let Some(w) = words.iter().find(|w| w.contains('/')) {
        return match what {
            Unknown::Server => Some(w),
            Unknown::Backend => w.split('/').next().filter(|b| !b.is_empty()),
        };
    }
    if what == Unknown::Server {
        return None;
    }
    let proxy = match words.as_slice() {
        ["show", "servers", "state" | "conn", proxy, ..] => proxy,
        ["show", "stat", "domain", _, proxy, ..] | ["show", "stat", proxy, ..] => proxy,
        ["enable" | "disable", "dynamic-cookie", "backend", proxy, ..]
        | ["set", "dynamic-cookie-key", "backend", proxy, ..] => proxy,
        _ => return None,
    };
    // `-1` (every proxy) and the options are not names.
    let option = ["typed", "json", "desc", "up", "no-maint", "domain"].contains(proxy);
    (!proxy.starts_with('-') && !option).then_some(*proxy)
}

/// "no such backend `bk_ap` (`set server bk_ap/app1 state drain`)": what is
/// missing first, then the command that met it. `show stat` takes
/// frontends too, so its proxy is "a frontend or backend".
fn unknown(command: &str, what: Unknown) -> String {
    let noun = match what {
        Unknown::Server => "server",
        Unknown::Backend if command.starts_with("show stat ") => "frontend or backend",
        Unknown::Backend => "backend",
    };
    match unknown_name(command, what) {
        Some(name) => format!("no such {noun} `{name}` (`{command}`)"),
        None => format!("no such {noun} in `{command}`"),
    }
}

/// Everything that can go wrong, each naming what and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidInput {
        what: &'static str,
        value: String,
        reason: String,
    },
    #[error("invalid socket address `{address}`: {reason}")]
    InvalidAddress { address: String, reason: String },
    #[error("{target}: cannot connect: {}", connect_failure(.target, .source))]
    Unreachable {
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{target}: timed out after {} waiting for {what}", humantime::format_duration(*.after))]
    Timeout {
        target: String,
        what: String,
        after: Duration,
    },
    /// What answered on the socket is not HAProxy's runtime API: its first
    /// bytes are not the prompt HAProxy answers the handshake with.
    /// `answered` is those bytes, escaped and shortened; `hint` what to check.
    #[error("{target}: answered `{answered}`, which is not HAProxy's runtime API: {hint}")]
    NotHaproxy {
        target: String,
        answered: String,
        hint: String,
    },
    #[error("{target}: connection lost during `{command}`: {detail}")]
    ConnectionLost {
        target: String,
        command: String,
        detail: String,
    },
    /// `note` ends the message (what happened to the rest of a batch), or is empty.
    #[error("{target}: permission denied for `{command}`: this socket is not `level admin` (add `level admin` to its `stats socket` line){note}")]
    PermissionDenied {
        target: String,
        command: String,
        note: String,
    },
    /// A backend (or, for `show stat`, a frontend) this target does not
    /// have. `note` ends the message: what happened to the rest of a batch,
    /// then the nearest names the target has (see `script::names`).
    #[error("{target}: {}{note}", unknown(.command, Unknown::Backend))]
    NoSuchBackend {
        target: String,
        command: String,
        note: String,
    },
    /// A server this target does not have; `note` as for `NoSuchBackend`.
    #[error("{target}: {}{note}", unknown(.command, Unknown::Server))]
    NoSuchServer {
        target: String,
        command: String,
        note: String,
    },
    #[error("{target}: unknown command `{command}`")]
    UnknownCommand { target: String, command: String },
    #[error("{target}: `{command}` failed: {message}")]
    Haproxy {
        target: String,
        command: String,
        message: String,
    },
    #[error("{target}: malformed reply to `{command}`: {detail}")]
    Malformed {
        target: String,
        command: String,
        detail: String,
    },
    /// A reply passed the cap (`--max-reply-mb`); the session is dropped
    /// with the rest of it unread.
    #[error("{target}: the reply to `{command}` passed the reply cap of {} MiB and was abandoned: no runtime API reply is that large unless this is a stream that never ends (raise the cap with --max-reply-mb if this HAProxy really sends that much)", .cap / (1024 * 1024))]
    ReplyTooLarge {
        target: String,
        command: String,
        cap: usize,
    },
    #[error("write refused: {reason}")]
    Refused { reason: String },
    /// Writes the guard let through left a backend without a server in
    /// rotation: its state changed under them (another operator, a health
    /// check) between the guard's read and the writes.
    #[error("{target}: {detail}")]
    Emptied { target: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An inventory (`-i`) that cannot be read or used, at a line when one is to blame.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Inventory {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// A target over SSH that ssh could not reach, log in to or forward
    /// to: `what` says which, and what to check.
    #[error("{target}: {what}")]
    Ssh { target: String, what: String },
    /// No socket given (-s), found in the configuration or at the usual paths.
    #[error("no HAProxy socket to talk to: pass -s ADDR (or HARUN_SOCKET), or add a `stats socket` line to the configuration (-c)")]
    NoTarget,
    #[error("{0}")]
    Playbook(String),
    /// Replay: the bundle holds no reply (or file) for what was asked.
    #[error("{what} is not recorded in replay bundle {}: the snapshot did not take it{hint}", bundle.display())]
    NotRecorded {
        bundle: PathBuf,
        what: String,
        /// Ends the message: what the bundle holds instead, or empty.
        hint: String,
    },
    /// Replay: the snapshot recorded this error on the day (`kind` is the
    /// kind it had then, so playbooks branch on it as they did).
    #[error("{}: {message} (recorded by the snapshot)", file.display())]
    Recorded {
        file: PathBuf,
        kind: &'static str,
        message: String,
    },
    /// Replay: the directory cannot be replayed at all.
    #[error("{}: not a usable replay bundle: {reason}", path.display())]
    BadBundle { path: PathBuf, reason: String },
    #[error("interrupted")]
    Interrupted,
    #[error("run exceeded --max-time of {}", humantime::format_duration(*.0))]
    DeadlineExceeded(Duration),
    /// The playbook's data passed `Limits::max_heap_bytes`.
    #[error("playbook stopped: harun's memory passed its limit of {} MiB (a playbook holding too much data: large strings, arrays or maps, or deep recursion)", .0 / (1024 * 1024))]
    MemoryLimit(usize),
    #[error("{0}")]
    Other(String),
}

/// The variants that name a target, as one pattern binding its `target`
/// field: `target()` and `target_mut()` share this list, so a new variant
/// cannot be named by one and forgotten by the other.
macro_rules! naming_a_target {
    ($t:ident) => {
        Error::Unreachable { target: $t, .. }
            | Error::Timeout { target: $t, .. }
            | Error::ConnectionLost { target: $t, .. }
            | Error::NotHaproxy { target: $t, .. }
            | Error::PermissionDenied { target: $t, .. }
            | Error::NoSuchBackend { target: $t, .. }
            | Error::NoSuchServer { target: $t, .. }
            | Error::UnknownCommand { target: $t, .. }
            | Error::Haproxy { target: $t, .. }
            | Error::Malformed { target: $t, .. }
            | Error::ReplyTooLarge { target: $t, .. }
            | Error::Emptied { target: $t, .. }
            | Error::Ssh { target: $t, .. }
    };
}

impl Error {
    /// A short machine-readable kind, exposed to playbooks as `e.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::InvalidAddress { .. } => "invalid_address",
            Error::Unreachable { .. } => "unreachable",
            Error::Timeout { .. } => "timeout",
            Error::ConnectionLost { .. } => "connection_lost",
            Error::NotHaproxy { .. } => "not_haproxy",
            Error::PermissionDenied { .. } => "permission_denied",
            Error::NoSuchBackend { .. } => "no_such_backend",
            Error::NoSuchServer { .. } => "no_such_server",
            Error::UnknownCommand { .. } => "unknown_command",
            Error::Haproxy { .. } => "haproxy_error",
            Error::Malformed { .. } => "malformed",
            Error::ReplyTooLarge { .. } => "reply_too_large",
            Error::Refused { .. } => "refused",
            Error::Emptied { .. } => "emptied",
            Error::Io { .. } => "io",
            Error::Inventory { .. } => "inventory",
            Error::Ssh { .. } => "ssh",
            Error::NoTarget => "no_target",
            Error::Playbook(_) => "playbook",
            Error::NotRecorded { .. } => "not_recorded",
            Error::Recorded { kind, .. } => kind,
            Error::BadBundle { .. } => "bad_bundle",
            Error::Interrupted => "interrupted",
            Error::DeadlineExceeded(_) => "deadline",
            Error::MemoryLimit(_) => "memory_limit",
            Error::Other(_) => "other",
        }
    }

    /// The target the error is about, as it names it, when it names one.
    pub fn target(&self) -> Option<&str> {
        match self {
            naming_a_target!(target) => Some(target),
            _ => None,
        }
    }

    /// The same target, to rename it (a session names its socket; the
    /// client that owns it knows the inventory host too).
    pub fn target_mut(&mut self) -> Option<&mut String> {
        match self {
            naming_a_target!(target) => Some(target),
            _ => None,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::of_kind(self.kind())
    }

    /// Errors that end a run no matter what the playbook does (no try/catch).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Error::Interrupted | Error::DeadlineExceeded(_) | Error::MemoryLimit(_)
        )
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;

    #[test]
    fn connect_failures_say_what_to_check() {
        let msg = |target: &str, kind: ErrorKind| {
            Error::Unreachable {
                target: target.into(),
                source: std::io::Error::from(kind),
            }
            .to_string()
        };
        let sock = "/run/haproxy/admin.sock";
        let bare = msg("lb1.example.com", ErrorKind::NotFound);
        assert!(
            bare.contains("for a host, write HOST:PORT, e.g. `lb1.example.com:9999`"),
            "{bare}"
        );
        let master = msg("lb1 (master@/run/haproxy-master.sock)", ErrorKind::NotFound);
        assert!(master.contains("its `-S` option"), "{master}");
        assert!(msg(sock, ErrorKind::NotFound).starts_with(&format!("{sock}: cannot connect: ")));
    }

    #[test]
    fn the_connect_detail_follows_its_cause() {
        let msg = |target: &str, kind: ErrorKind| {
            Error::Unreachable {
                target: target.into(),
                source: std::io::Error::from(kind),
            }
            .to_string()
        };
        let sock = "/run/haproxy/admin.sock";
        // No file: stopped, or another path.
        let missing = msg(sock, ErrorKind::NotFound);
        assert!(missing.contains("no socket file at this path (HAProxy is not running, or its `stats socket` line gives another path)"), "{missing}");
        // A relative path: the file looked for, from the current directory.
        let relative = msg("run/admin.sock", ErrorKind::NotFound);
        let here = std::env::current_dir().unwrap().join("run/admin.sock");
        assert!(
            relative.contains(&format!(
                "no socket file at this path, relative to the current directory: {}",
                here.display()
            )),
            "{relative}"
        );
        // Refused: a file left behind, or for TCP an address nobody listens on.
        let stale = msg(sock, ErrorKind::ConnectionRefused);
        assert!(stale.contains("a socket file nobody listens on"), "{stale}");
        for tcp in [
            "127.0.0.1:9999",
            "ipv4@10.0.0.5:9999",
            "lb1 (ipv6@[::1]:9999)",
        ] {
            let refused = msg(tcp, ErrorKind::ConnectionRefused);
            assert!(
                refused.contains("nothing listens on this address"),
                "{refused}"
            );
            assert!(!refused.contains("socket file"), "{refused}");
        }
        // Permission denied: HAProxy runs; the socket keeps this user out.
        let denied = msg(sock, ErrorKind::PermissionDenied);
        assert!(denied.contains("HAProxy may well be running"), "{denied}");
        assert!(denied.contains("`mode`, `user` and `group`"), "{denied}");
        // Only a missing file or a refused connection says HAProxy may be stopped.
        for (kind, says) in [
            (ErrorKind::NotFound, true),
            (ErrorKind::ConnectionRefused, true),
            (ErrorKind::PermissionDenied, false),
        ] {
            let m = msg(sock, kind);
            assert!(!m.contains("is HAProxy running?"), "{m}");
            assert_eq!(
                m.contains("HAProxy is not running") || m.contains("HAProxy stopped"),
                says,
                "{m}"
            );
        }
        // Any other cause keeps the system's own words.
        assert!(msg(sock, ErrorKind::TimedOut)
            .ends_with(&std::io::Error::from(ErrorKind::TimedOut).to_string()));
    }

    #[test]
    fn unknown_names_are_read_from_the_command() {
        use Unknown::*;
        assert_eq!(
            unknown_name("set server bk_app/ap1 state drain", Server),
            Some("bk_app/ap1")
        );
        assert_eq!(
            unknown_name("set server bk_ap/app1 weight 5", Backend),
            Some("bk_ap")
        );
        assert_eq!(
            unknown_name("show servers state bk_ap", Backend),
            Some("bk_ap")
        );
        assert_eq!(
            unknown_name("show stat bk_ap -1 -1", Backend),
            Some("bk_ap")
        );
        assert_eq!(
            unknown_name("show stat domain proxy bk_ap -1 -1", Backend),
            Some("bk_ap")
        );
        assert_eq!(
            unknown_name("set dynamic-cookie-key backend bk_ap k1", Backend),
            Some("bk_ap")
        );
        assert_eq!(
            unknown_name("disable dynamic-cookie backend bk_ap", Backend),
            Some("bk_ap")
        );
        assert_eq!(unknown_name("show stat -1 4 -1", Backend), None);
        assert_eq!(unknown_name("show servers state", Server), None);
        let e = Error::NoSuchServer {
            target: "t".into(),
            command: "get weight bk/x".into(),
            note: "; did you mean `bk/s1`?".into(),
        };
        assert_eq!(
            e.to_string(),
            "t: no such server `bk/x` (`get weight bk/x`); did you mean `bk/s1`?"
        );
        let e = Error::NoSuchBackend {
            target: "t".into(),
            command: "show stat fe -1 -1".into(),
            note: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "t: no such frontend or backend `fe` (`show stat fe -1 -1`)"
        );
        let e = Error::NoSuchBackend {
            target: "t".into(),
            command: "show table".into(),
            note: String::new(),
        };
        assert_eq!(e.to_string(), "t: no such backend in `show table`");
        assert_eq!(e.exit_code(), ExitCode::Usage);
    }

    #[test]
    fn target_and_target_mut_agree() {
        let mut e = Error::Emptied {
            target: "/run/haproxy/admin.sock".into(),
            detail: "backend `bk` has no server in rotation".into(),
        };
        *e.target_mut().unwrap() = "lb1 (/run/haproxy/admin.sock)".into();
        assert_eq!(e.target(), Some("lb1 (/run/haproxy/admin.sock)"));
        let mut timeout = Error::Timeout {
            target: "lb1:9999".into(),
            what: "show stat".into(),
            after: Duration::from_secs(5),
        };
        assert_eq!(timeout.target_mut().map(|t| t.as_str()), Some("lb1:9999"));
        assert_eq!(Error::NoTarget.target(), None);
        assert!(Error::Other("x".into()).target_mut().is_none());
    }

    #[test]
    fn exit_codes_follow_kinds() {
        assert_eq!(ExitCode::of_kind("unreachable"), ExitCode::Unreachable);
        assert_eq!(ExitCode::of_kind("connection_lost"), ExitCode::Unreachable);
        assert_eq!(ExitCode::of_kind("malformed"), ExitCode::Unreachable);
        assert_eq!(ExitCode::of_kind("reply_too_large"), ExitCode::Unreachable);
        assert_eq!(ExitCode::of_kind("not_haproxy"), ExitCode::Unreachable);
        assert_eq!(ExitCode::of_kind("permission_denied"), ExitCode::Refused);
        assert_eq!(ExitCode::of_kind("no_target"), ExitCode::Usage);
        assert_eq!(Error::NoTarget.exit_code(), ExitCode::Usage);
        assert_eq!(Error::Interrupted.exit_code(), ExitCode::Interrupted);
    }
}
