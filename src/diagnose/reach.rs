//! What to check when a runtime socket cannot be talked to. The advice
//! follows the cause: "is HAProxy running?" is the wrong first question for
//! a socket that exists and refuses harun's user.

use crate::base::error::Error;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Why a socket could not be talked to, as far as the advice cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// No socket file at that path.
    NotFound,
    /// A socket file nobody listens on.
    Refused,
    /// The socket's owner and mode keep harun's user out.
    PermissionDenied,
    /// It accepted the connection and never answered.
    Silent,
    /// Something that is not HAProxy's runtime API answered.
    NotHaproxy,
    /// Anything else (a TCP address that times out, a reset...).
    Other,
}

impl Cause {
    /// The name playbooks see as `e.cause`.
    pub fn name(self) -> &'static str {
        match self {
            Cause::NotFound => "not_found",
            Cause::Refused => "refused",
            Cause::PermissionDenied => "permission_denied",
            Cause::Silent => "silent",
            Cause::NotHaproxy => "not_haproxy",
            Cause::Other => "other",
        }
    }
}

/// Who may open a unix socket: its owner, group and permission bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketMode {
    pub owner: String,
    pub group: String,
    pub mode: u32,
}

/// The cause of an error that says a socket could not be talked to;
/// `None` for any other error.
pub fn cause_of(e: &Error) -> Option<Cause> {
    Some(match e {
        Error::Unreachable { source, .. } => match source.kind() {
            ErrorKind::NotFound => Cause::NotFound,
            ErrorKind::ConnectionRefused => Cause::Refused,
            ErrorKind::PermissionDenied => Cause::PermissionDenied,
            _ => Cause::Other,
        },
        Error::NotHaproxy { .. } => Cause::NotHaproxy,
        Error::Timeout { .. } if crate::runtime::session::Session::dead_end(e).is_some() => match e
        {
            Error::Timeout { what, .. } if what == "the connection" => Cause::Other,
            _ => Cause::Silent,
        },
        Error::Timeout { .. } | Error::ConnectionLost { .. } => Cause::Other,
        _ => return None,
    })
}

/// The local socket file an error's target names: `/path`, `unix@/path`,
/// or `lb1 (/path)` for an inventory host. `None` for TCP, SSH, master
/// and replay targets.
pub fn socket_path(target: &str) -> Option<PathBuf> {
    let inner = match target.strip_suffix(')').and_then(|t| t.rsplit_once(" (")) {
        Some((_, inner)) => inner,
        None => target,
    };
    let path = inner.strip_prefix("unix@").unwrap_or(inner);
    if path.contains('@') || path.contains("://") || (!path.contains('/') && path.contains(':')) {
        return None;
    }
    Some(PathBuf::from(path))
}

/// What to do, for a socket `socket` that failed with `cause`. `mode` is
/// the socket file's owner and mode when it could be read; `config_sockets`
/// the `stats socket` addresses of the configuration, when it was read.
pub fn advice(
    cause: Cause,
    socket: &str,
    mode: Option<&SocketMode>,
    config_sockets: &[String],
) -> String {
    let status = "`systemctl status haproxy`, `journalctl -u haproxy -n 50`";
    match cause {
        Cause::PermissionDenied => match mode {
            Some(m) => {
                // A socket of group root is opened up through a group of
                // its own, not by adding people to root.
                let group = if m.group == "root" || m.group == "0" { "haproxy" } else { m.group.as_str() };
                format!(
                    "HAProxy may well be running: this user may not open {socket}, owned by {}:{} with mode {:o}. Run harun as root (sudo), or give a group the socket on its `stats socket` line: `stats socket {socket} mode 660 level admin group {group}` (then reload HAProxy) and run harun as a member of `{group}` (`usermod -aG {group} USER`, then log in again)",
                    m.owner, m.group, m.mode & 0o7777
                )
            }
            None => format!(
                "HAProxy may well be running: this user may not open {socket}. `ls -l {socket}` shows its owner and mode; run harun as root (sudo), or give a group the socket on its `stats socket` line: `stats socket {socket} mode 660 level admin group GROUP` (then reload HAProxy) and run harun as a member of it"
            ),
        },
        Cause::NotFound => {
            let where_ = match config_sockets {
                [] => "compare with the `stats socket` line of its configuration and pass that path with -s ADDR (or HARUN_SOCKET)".to_string(),
                socks => format!(
                    "the configuration's `stats socket` line(s) give {}: pass the right one with -s ADDR (or HARUN_SOCKET)",
                    socks.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            format!("no socket file at {socket}: either HAProxy is not running ({status}), or its socket is at another path: {where_}")
        }
        Cause::Refused => format!(
            "{socket} is a socket file that nobody listens on: HAProxy stopped or crashed and left it behind ({status}); starting HAProxy replaces it"
        ),
        Cause::Silent => format!(
            "something accepted the connection on {socket} and never answered: a hung HAProxy ({status}; `top -p $(pidof haproxy)`), or another program listening there (`ss -xlp | grep {socket}` names it)"
        ),
        Cause::NotHaproxy => format!(
            "another program answers on {socket} (`ss -xlp | grep {socket}` names it): point harun at HAProxy's `stats socket` with -s ADDR (or HARUN_SOCKET)"
        ),
        Cause::Other => format!(
            "is HAProxy running? {status}; then check the socket: `ls -l` it and compare with the `stats socket` line (-s ADDR, HARUN_SOCKET)"
        ),
    }
}

/// The owner, group and mode of the socket file at `path`, names looked up
/// in /etc/passwd and /etc/group (ids when they are not there).
pub fn socket_mode(path: &Path) -> Option<SocketMode> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    Some(SocketMode {
        owner: name_of(&passwd, meta.uid()),
        group: name_of(&group, meta.gid()),
        mode: meta.mode(),
    })
}

/// The name of id `id` in a passwd or group file (`name:x:id:...`), or the
/// id itself.
fn name_of(file: &str, id: u32) -> String {
    file.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            f.next()?;
            (f.next()?.parse::<u32>().ok()? == id).then(|| name.to_string())
        })
        .next()
        .unwrap_or_else(|| id.to_string())
}

/// The advice for `e` when it says its socket could not be talked to, with
/// its cause; the socket file's mode is read for a permission problem.
pub fn advice_for(e: &Error, config_sockets: &[String]) -> Option<(Cause, String)> {
    let cause = cause_of(e)?;
    let target = e.target().unwrap_or_default();
    let path = socket_path(target);
    let shown = path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| target.to_string());
    let mode = match (cause, &path) {
        (Cause::PermissionDenied, Some(p)) => socket_mode(p),
        _ => None,
    };
    Some((cause, advice(cause, &shown, mode.as_ref(), config_sockets)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable(kind: ErrorKind) -> Error {
        Error::Unreachable {
            target: "/run/haproxy/admin.sock".into(),
            source: std::io::Error::from(kind),
        }
    }

    #[test]
    fn permission_denied_names_owner_mode_and_the_group_fix_not_a_stopped_haproxy() {
        let m = SocketMode {
            owner: "root".into(),
            group: "haproxy".into(),
            mode: 0o140600,
        };
        let a = advice(
            Cause::PermissionDenied,
            "/run/haproxy/admin.sock",
            Some(&m),
            &[],
        );
        assert!(a.contains("owned by root:haproxy with mode 600"), "{a}");
        assert!(
            a.contains("stats socket /run/haproxy/admin.sock mode 660 level admin group haproxy"),
            "{a}"
        );
        assert!(!a.starts_with("is HAProxy running"), "{a}");
        // Nobody is told to join root: a group of its own.
        let root = SocketMode {
            owner: "root".into(),
            group: "root".into(),
            mode: 0o140600,
        };
        let a = advice(
            Cause::PermissionDenied,
            "/run/haproxy/admin.sock",
            Some(&root),
            &[],
        );
        assert!(a.contains("level admin group haproxy"), "{a}");
        assert!(!a.contains("member of `root`"), "{a}");
        let e = unreachable(ErrorKind::PermissionDenied);
        assert_eq!(cause_of(&e), Some(Cause::PermissionDenied));
    }

    #[test]
    fn no_such_file_lists_the_configured_sockets() {
        let e = unreachable(ErrorKind::NotFound);
        let (cause, a) = advice_for(&e, &["/var/lib/haproxy/stats".to_string()]).unwrap();
        assert_eq!(cause, Cause::NotFound);
        assert!(a.contains("HAProxy is not running"), "{a}");
        assert!(a.contains("give `/var/lib/haproxy/stats`"), "{a}");
        let (_, bare) = advice_for(&e, &[]).unwrap();
        assert!(
            bare.contains("compare with the `stats socket` line"),
            "{bare}"
        );
    }

    #[test]
    fn connection_refused_is_a_stale_socket() {
        let (cause, a) = advice_for(&unreachable(ErrorKind::ConnectionRefused), &[]).unwrap();
        assert_eq!(cause, Cause::Refused);
        assert!(a.contains("left it behind"), "{a}");
    }

    #[test]
    fn only_socket_errors_have_this_advice() {
        assert!(advice_for(&Error::NoTarget, &[]).is_none());
        let not = Error::NotHaproxy {
            target: "/tmp/x.sock".into(),
            answered: "HTTP/1.0 400".into(),
            hint: String::new(),
        };
        assert_eq!(cause_of(&not), Some(Cause::NotHaproxy));
    }

    #[test]
    fn socket_paths_from_targets() {
        assert_eq!(
            socket_path("/run/a.sock"),
            Some(PathBuf::from("/run/a.sock"))
        );
        assert_eq!(
            socket_path("unix@/run/a.sock"),
            Some(PathBuf::from("/run/a.sock"))
        );
        assert_eq!(
            socket_path("lb1 (/run/a.sock)"),
            Some(PathBuf::from("/run/a.sock"))
        );
        assert_eq!(socket_path("10.0.0.5:9999"), None);
        assert_eq!(socket_path("ipv4@10.0.0.5:9999"), None);
        assert_eq!(socket_path("lb1 (master@/run/m.sock)"), None);
    }

    #[test]
    fn ids_are_named_from_passwd_and_group() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nhaproxy:x:108:113::/var/lib/haproxy:/usr/sbin/nologin\n";
        assert_eq!(name_of(passwd, 108), "haproxy");
        assert_eq!(name_of(passwd, 4242), "4242");
    }
}
