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

/// Why connecting failed, in the words of what to check: the OS text alone
/// ("No such file or directory") does not say that HAProxy may be stopped.
fn connect_failure(target: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    // `-s lb1.example.com` reads as a socket file here: name the other reading.
    let bare = !target.contains('/') && !target.contains(':') && !target.contains('@');
    let hostlike =
        target.contains('.') && !target.ends_with(".sock") && !target.ends_with(".socket");
    if e.kind() == ErrorKind::NotFound && bare && hostlike {
        return format!(
            "no socket file `{target}` in this directory (is HAProxy running? for a host, write HOST:PORT, e.g. `{target}:9999`)"
        );
    }
    match e.kind() {
        // A master CLI is not a `stats socket`: it is the `-S` of the command line.
        ErrorKind::NotFound if target.contains("master@") => "no such socket (is HAProxy running in master-worker mode? is this the path its `-S` option gives, e.g. in the systemd unit?)".into(),
        ErrorKind::NotFound => "no such socket (is HAProxy running? is this the path of its `stats socket` line?)".into(),
        ErrorKind::ConnectionRefused => "connection refused (HAProxy is not running there, or this socket file was left by a stopped HAProxy)".into(),
        ErrorKind::PermissionDenied => "permission denied (run harun as root, or as a user in the socket's group: see `mode`/`user`/`group` on the `stats socket` line)".into(),
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
/// PROXY` and `show stat PROXY ...`. `None` when the command names none
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
        let msg = |kind: ErrorKind| {
            Error::Unreachable {
                target: "/run/haproxy/admin.sock".into(),
                source: std::io::Error::from(kind),
            }
            .to_string()
        };
        assert!(msg(ErrorKind::NotFound).contains("no such socket (is HAProxy running?"));
        let bare = Error::Unreachable {
            target: "lb1.example.com".into(),
            source: std::io::Error::from(ErrorKind::NotFound),
        }
        .to_string();
        assert!(
            bare.contains("for a host, write HOST:PORT, e.g. `lb1.example.com:9999`"),
            "{bare}"
        );
        assert!(msg(ErrorKind::ConnectionRefused)
            .contains("connection refused (HAProxy is not running"));
        assert!(msg(ErrorKind::PermissionDenied).contains("run harun as root"));
        let master = Error::Unreachable {
            target: "lb1 (master@/run/haproxy-master.sock)".into(),
            source: std::io::Error::from(ErrorKind::NotFound),
        }
        .to_string();
        assert!(master.contains("its `-S` option"), "{master}");
        assert!(msg(ErrorKind::NotFound).starts_with("/run/haproxy/admin.sock: cannot connect: "));
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
