//! Runtime API socket addresses, in the forms HAProxy configs and docs use.

use crate::base::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where a HAProxy runtime API (stats socket) listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// `/run/haproxy/admin.sock` or `unix@/path`.
    Unix(PathBuf),
    /// `host:port`, `ipv4@host:port`, `ipv6@[addr]:port`; stored as `host:port`
    /// with IPv6 hosts bracketed so it can be handed to `TcpStream::connect`.
    Tcp(String),
    /// `replay@DIR`: the replies a `snapshot` bundle recorded, served
    /// instead of a live socket (see [`crate::runtime::replay`]).
    Replay(PathBuf),
    /// `master@/path`: the master CLI of a master-worker HAProxy (`-S`).
    /// harun reads `show proc` there and routes every other command to the
    /// current workers with `@!<pid>` (see [`crate::runtime::client`]).
    Master(PathBuf),
    /// `ssh://[user@]host[:port]/path`: a socket on another host, through
    /// its sshd (see [`crate::runtime::ssh`]); `master@ssh://...` when that
    /// socket is the master CLI (`Remote::master`).
    Ssh(super::ssh::Remote),
}

impl Address {
    pub fn parse(s: &str) -> Result<Address> {
        let bad = |reason: &str| Error::InvalidAddress {
            address: s.to_string(),
            reason: reason.to_string(),
        };
        let s_trim = s.trim();
        if s_trim.is_empty() {
            return Err(bad("empty address"));
        }
        if s_trim.chars().any(|c| c.is_control()) {
            return Err(bad("contains control characters"));
        }
        if let Some(path) = s_trim.strip_prefix("unix@") {
            if path.is_empty() {
                return Err(bad("`unix@` needs a path"));
            }
            return Ok(Address::Unix(PathBuf::from(path)));
        }
        if let Some(path) = s_trim.strip_prefix("master@") {
            // The master CLI of another host, through its sshd.
            if let Some(rest) = path.strip_prefix("ssh://") {
                return super::ssh::Remote::parse(rest)
                    .map(|r| Address::Ssh(super::ssh::Remote { master: true, ..r }))
                    .map_err(|r| bad(&r));
            }
            if path.is_empty() {
                return Err(bad("`master@` needs the path of the master socket (`-S`)"));
            }
            return Ok(Address::Master(PathBuf::from(path)));
        }
        if let Some(rest) = s_trim.strip_prefix("ssh://") {
            return super::ssh::Remote::parse(rest)
                .map(Address::Ssh)
                .map_err(|r| bad(&r));
        }
        if let Some(dir) = s_trim.strip_prefix("replay@") {
            if dir.is_empty() {
                return Err(bad("`replay@` needs the bundle directory a snapshot wrote"));
            }
            return Ok(Address::Replay(PathBuf::from(dir)));
        }
        if s_trim.starts_with('/') || s_trim.starts_with("./") || s_trim.starts_with("../") {
            return Ok(Address::Unix(PathBuf::from(s_trim)));
        }
        // `-s big.sock` in the socket's directory: a relative path that exists,
        // or a name that cannot be HOST:PORT (no `:`), is a unix socket.
        if !s_trim.contains('@') && (!s_trim.contains(':') || std::path::Path::new(s_trim).exists())
        {
            return Ok(Address::Unix(PathBuf::from(s_trim)));
        }
        // Neither reading fits: say both, since the user meant one of them.
        let bad = |reason: &str| Error::InvalidAddress {
            address: s.to_string(),
            reason: if s_trim.contains('@') {
                reason.to_string()
            } else {
                format!("no socket file `{s_trim}` here, and as HOST:PORT: {reason}")
            },
        };
        let (rest, v6) = if let Some(r) = s_trim.strip_prefix("ipv4@") {
            (r, false)
        } else if let Some(r) = s_trim.strip_prefix("ipv6@") {
            (r, true)
        } else if let Some(r) = s_trim.strip_prefix("tcp@") {
            (r, false)
        } else if let Some((scheme, _)) = s_trim.split_once('@') {
            return Err(bad(&format!(
                "unsupported address family `{scheme}@` (use a path, unix@, ipv4@, ipv6@, host:port, master@PATH or replay@DIR)"
            )));
        } else {
            (s_trim, false)
        };
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, p) = r
                .split_once("]:")
                .ok_or_else(|| bad("an IPv6 address is written `[addr]:port`"))?;
            (h, p)
        } else if v6 && rest.matches(':').count() > 1 {
            let (h, p) = rest.rsplit_once(':').ok_or_else(|| bad("missing port"))?;
            (h, p)
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| bad("missing `:port` (or give a socket path)"))?
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        // A host name, an IPv4 address or an IPv6 one (with its `%zone`) is
        // written with these only; anything else made hosts such as `[i:1]]`
        // or `[::a@b]` that no connection can use and that read back as
        // another address or none.
        if let Some(c) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%')))
        {
            return Err(bad(&format!(
                "the host contains `{}`: a host is a name or an address (IPv6 written `[addr]:port`)",
                c.escape_debug()
            )));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("port must be a number between 1 and 65535"))?;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        Ok(Address::Tcp(format!("{host}:{port}")))
    }
}

impl FromStr for Address {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Address::parse(s)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(p) => write!(f, "{}", p.display()),
            Address::Tcp(hp) => f.write_str(hp),
            Address::Replay(dir) => write!(f, "replay@{}", dir.display()),
            Address::Master(p) => write!(f, "master@{}", p.display()),
            Address::Ssh(r) => r.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let cases = [
            (
                "/run/haproxy/admin.sock",
                Address::Unix("/run/haproxy/admin.sock".into()),
            ),
            ("unix@/tmp/a.sock", Address::Unix("/tmp/a.sock".into())),
            ("ipv4@127.0.0.1:9999", Address::Tcp("127.0.0.1:9999".into())),
            ("ipv6@[::1]:666", Address::Tcp("[::1]:666".into())),
            ("ipv6@::1:666", Address::Tcp("[::1]:666".into())),
            ("localhost:666", Address::Tcp("localhost:666".into())),
            ("[::1]:666", Address::Tcp("[::1]:666".into())),
            (
                "ipv6@[fe80::1%eth0]:80",
                Address::Tcp("[fe80::1%eth0]:80".into()),
            ),
            (
                "lb-1.example_x.com:80",
                Address::Tcp("lb-1.example_x.com:80".into()),
            ),
            (
                "replay@./harun-snapshot-20261130T124501Z",
                Address::Replay("./harun-snapshot-20261130T124501Z".into()),
            ),
            (
                "master@/run/haproxy-master.sock",
                Address::Master("/run/haproxy-master.sock".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Address::parse(input).unwrap(), want, "{input}");
        }
        let m = Address::parse("master@/run/m.sock").unwrap();
        assert_eq!(m.to_string(), "master@/run/m.sock");
        let a = Address::parse("ssh://ops@lb1:2222/run/haproxy/admin.sock").unwrap();
        assert!(matches!(&a, Address::Ssh(r) if r.host == "lb1" && r.port == Some(2222)));
        assert_eq!(a.to_string(), "ssh://ops@lb1:2222/run/haproxy/admin.sock");
        assert!(matches!(&a, Address::Ssh(r) if !r.master));
        // Another host's master CLI: the same transport, routed commands.
        let m = Address::parse("master@ssh://ops@lb1/run/haproxy-master.sock").unwrap();
        assert!(matches!(&m, Address::Ssh(r) if r.master && r.host == "lb1"));
        assert_eq!(
            m.to_string(),
            "master@ssh://ops@lb1/run/haproxy-master.sock"
        );
        assert_eq!(Address::parse(&m.to_string()).unwrap(), m);
        assert!(Address::parse("master@ssh://lb1").is_err());
    }

    #[test]
    fn relative_socket_paths_are_unix() {
        assert_eq!(
            Address::parse("big.sock").unwrap(),
            Address::Unix("big.sock".into())
        );
        assert_eq!(
            Address::parse("run/admin.sock").unwrap(),
            Address::Unix("run/admin.sock".into())
        );
        // An existing file wins over HOST:PORT, even with a `:` in its name.
        let dir = tempfile::Builder::new().tempdir_in(".").unwrap();
        let name = dir.path().file_name().unwrap().to_str().unwrap();
        let rel = format!("{name}/lb:1");
        // Before the file exists it is neither: no host has a `/`.
        let err = Address::parse(&rel).unwrap_err().to_string();
        assert!(
            err.contains("no socket file") && err.contains("`/`"),
            "{err}"
        );
        std::fs::write(&rel, "").unwrap();
        assert_eq!(Address::parse(&rel).unwrap(), Address::Unix(rel.into()));
        let err = Address::parse("lb1:http").unwrap_err().to_string();
        assert!(
            err.contains("no socket file `lb1:http`") && err.contains("HOST:PORT"),
            "{err}"
        );
    }

    #[test]
    fn rejects_bad_forms_with_a_reason() {
        for bad in [
            "",
            "unix@",
            "replay@",
            "master@",
            "ssh://lb1",
            "ssh://-oX/a",
            "h:0",
            "h:99999",
            "abns@x",
            ":80",
            "a\nb:1",
            // Found by fuzz/fuzz_targets/address.rs: became the hosts `[i:1]]`
            // and `[::pv6@::1:661]`.
            "i:1]:666",
            "ipv6@::pv6@::1:661:666",
            "ipv6@[::1]]:80",
            "ipv4@a b:80",
            "[a[b]:80",
        ] {
            let err = Address::parse(bad).unwrap_err().to_string();
            assert!(err.contains("invalid socket address"), "{bad}: {err}");
        }
    }
}
