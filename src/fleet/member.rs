//! An inventory host as harun reaches it: its Ansible connection variables
//! read with Ansible's precedence, and the address of its admin socket. A
//! host on this machine (`ansible_connection=local`, or a loopback
//! `ansible_host` with no SSH port or user) is its `harun_socket` here; any
//! other host is reached through its sshd: `ssh://user@host:port/socket`,
//! with its key and ssh arguments (`connect`).

use super::inventory::{Inventory, Vars};
use crate::base::error::{Error, Result};
use crate::runtime::Address;
use std::path::Path;

/// The admin socket of a host that does not set `harun_socket`.
pub const DEFAULT_SOCKET: &str = "/run/haproxy/admin.sock";

/// How harun reaches a target's socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// From this machine: a unix socket here, or HOST:PORT from here.
    Local,
    /// Through the host's sshd.
    Ssh,
    /// Replies a snapshot recorded (`--replay`).
    Replay,
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Local => "local",
            Connection::Ssh => "ssh",
            Connection::Replay => "replay",
        }
    }
}

/// One target with what an inventory says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The inventory host name; the socket address for a target given with `-s`.
    pub name: String,
    /// `ansible_host`, else the name (`localhost` for a socket given with `-s`).
    pub host: String,
    /// `ansible_port` (SSH's port).
    pub port: Option<u16>,
    /// `ansible_user`.
    pub user: Option<String>,
    /// `harun_socket`, as written.
    pub socket: String,
    /// Ansible's `group_names`: sorted, without `all`.
    pub groups: Vec<String>,
    pub connection: Connection,
    /// What harun connects to.
    pub address: Address,
    /// Whether the target comes from an inventory.
    pub from_inventory: bool,
    /// Connection variables the host sets that harun does not honour
    /// (see [`super::connect::unhonoured`]): to be said, not dropped.
    pub unhonoured: Vec<&'static str>,
}

impl Member {
    /// A target given as an address (`-s`, a lab, a replay), named by it.
    pub fn direct(address: &Address, name: &str) -> Member {
        let (host, connection) = match address {
            Address::Unix(_) | Address::Master(_) => ("localhost".to_string(), Connection::Local),
            Address::Tcp(hp) => (
                hp.rsplit_once(':')
                    .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
                    .unwrap_or_else(|| hp.clone()),
                Connection::Local,
            ),
            Address::Replay(_) => (name.to_string(), Connection::Replay),
            Address::Ssh(r) => (r.host.clone(), Connection::Ssh),
        };
        let (port, user) = match address {
            Address::Ssh(r) => (r.port, r.user.clone()),
            _ => (None, None),
        };
        Member {
            name: name.to_string(),
            host,
            port,
            user,
            socket: address.to_string(),
            groups: Vec::new(),
            connection,
            address: address.clone(),
            from_inventory: false,
            unhonoured: Vec::new(),
        }
    }
}

/// The targets of `names` (hosts of `inv`, read from `source`), in that
/// order. `home` expands `~` in the hosts' key and ssh configuration paths.
pub fn resolve(
    inv: &Inventory,
    names: &[String],
    source: &Path,
    home: Option<&Path>,
) -> Result<Vec<Member>> {
    let err = |message: String| Error::Inventory {
        path: source.to_path_buf(),
        line: None,
        message,
    };
    let mut members = Vec::with_capacity(names.len());
    for name in names {
        let Some(h) = inv.host(name) else {
            return Err(err(format!("no host `{name}` in the inventory")));
        };
        let vars = inv.vars(h);
        let get = |keys: &[&str]| -> Option<String> {
            keys.iter()
                .find_map(|k| vars.get(*k))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let host = get(&["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| name.clone());
        let port = match get(&["ansible_port", "ansible_ssh_port"]) {
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                err(format!(
                    "host `{name}`: ansible_port `{p}` is not a port number (1 to 65535)"
                ))
            })?),
            None => None,
        };
        let user = get(&["ansible_user", "ansible_ssh_user"]);
        let socket = get(&["harun_socket"]).unwrap_or_else(|| DEFAULT_SOCKET.to_string());
        let connection = connection(name, &host, port, user.as_deref(), &vars).map_err(err)?;
        let parsed = Address::parse(&socket);
        // On the host, a socket path, or `master@PATH` for its master CLI.
        let on_host = match &parsed {
            Ok(Address::Unix(path)) => Some((path.clone(), false)),
            Ok(Address::Master(path)) => Some((path.clone(), true)),
            _ => None,
        };
        let address = match parsed {
            Ok(Address::Replay(_)) => {
                return Err(err(format!(
                    "host `{name}`: harun_socket `{socket}` is a replay bundle: replay one with --replay, not from an inventory"
                )))
            }
            // Over SSH the socket is a path on that host (`master@PATH`:
            // its master CLI).
            Ok(_) if connection == Connection::Ssh && on_host.is_some() => {
                let (path, master) = on_host.unwrap_or_default();
                if !path.is_absolute() {
                    return Err(err(format!(
                        "host `{name}`: harun_socket `{socket}` must be an absolute path on the host to be reached over SSH"
                    )));
                }
                let base = source.parent().unwrap_or(Path::new(""));
                let options = super::connect::ssh_options(&vars, base, home)
                    .map_err(|e| err(format!("host `{name}`: {e}")))?;
                let remote = crate::runtime::ssh::Remote::new(
                    user.as_deref(),
                    &host,
                    port,
                    &path.to_string_lossy(),
                    master,
                )
                .map_err(|e| err(format!("host `{name}`: {e}")))?;
                Address::Ssh(remote.with_options(options))
            }
            Ok(_) if connection == Connection::Ssh => {
                return Err(err(format!(
                    "host `{name}`: harun_socket `{socket}` is not a socket path: over SSH harun reaches a unix socket on the host"
                )))
            }
            Ok(a) => a,
            Err(e) => return Err(err(format!("host `{name}`: harun_socket: {e}"))),
        };
        members.push(Member {
            name: name.clone(),
            host,
            port,
            user,
            socket,
            groups: inv.group_names(h),
            connection,
            address,
            from_inventory: true,
            unhonoured: super::connect::unhonoured(&vars),
        });
    }
    Ok(members)
}

/// `ansible_connection`, or for a host that does not set it: local when it
/// is this machine by a loopback name with nothing SSH-specific set.
fn connection(
    name: &str,
    host: &str,
    port: Option<u16>,
    user: Option<&str>,
    vars: &Vars,
) -> std::result::Result<Connection, String> {
    let set = vars
        .get("ansible_connection")
        .map(|c| c.trim())
        .filter(|c| !c.is_empty());
    match set.map(|c| c.strip_prefix("ansible.builtin.").unwrap_or(c)) {
        Some("local") => Ok(Connection::Local),
        Some("ssh" | "smart" | "paramiko" | "paramiko_ssh") => Ok(Connection::Ssh),
        Some(other) => Err(format!(
            "host `{name}`: ansible_connection `{other}` is not one harun can use (`local` for this machine, `ssh` for another)"
        )),
        None => {
            let loopback = matches!(host, "localhost" | "::1" | "[::1]")
                || host.parse::<std::net::Ipv4Addr>().is_ok_and(|a| a.is_loopback());
            Ok(if loopback && port.is_none() && user.is_none() {
                Connection::Local
            } else {
                Connection::Ssh
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::read::{parse, Format};

    fn resolve_text(text: &str, names: &[&str]) -> Result<Vec<Member>> {
        let inv = parse(text, Format::Ini).unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        resolve(
            &inv,
            &names,
            Path::new("/srv/ansible/hosts.ini"),
            Some(Path::new("/home/ops")),
        )
    }

    #[test]
    fn local_hosts_become_their_socket() {
        let text = "\
[lb]
lb1 ansible_connection=local harun_socket=/tmp/lb1.sock
lb2 ansible_host=127.0.0.1 harun_socket=unix@/tmp/lb2.sock
localhost
tcp ansible_connection=local harun_socket=127.0.0.1:9999
[lb:vars]
ansible_python_interpreter=/usr/bin/python3
";
        let m = resolve_text(text, &["lb1", "lb2", "localhost", "tcp"]).unwrap();
        assert_eq!(m[0].address, Address::Unix("/tmp/lb1.sock".into()));
        assert_eq!(m[0].connection, Connection::Local);
        assert_eq!(m[0].groups, ["lb"]);
        assert_eq!(m[1].address, Address::Unix("/tmp/lb2.sock".into()));
        assert_eq!(m[1].host, "127.0.0.1");
        assert_eq!(m[2].address, Address::Unix(DEFAULT_SOCKET.into()));
        assert_eq!(m[2].socket, DEFAULT_SOCKET);
        assert_eq!(m[3].address, Address::Tcp("127.0.0.1:9999".into()));
    }

    #[test]
    fn other_hosts_are_reached_over_ssh() {
        let text = "\
lb1 ansible_host=10.0.0.1 harun_socket=unix@/run/lb1.sock
lb2 ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=2222 ansible_user=ops
lb3 ansible_host=::1 ansible_port=22
local ansible_connection=local
lb4 ansible_host=10.0.0.4 harun_socket=master@/run/haproxy-master.sock
";
        let m = resolve_text(text, &["lb1", "lb2", "lb3", "local", "lb4"]).unwrap();
        let shown: Vec<String> = m.iter().map(|m| m.address.to_string()).collect();
        assert_eq!(
            shown,
            [
                "ssh://10.0.0.1/run/lb1.sock",
                "ssh://ops@127.0.0.1:2222/run/haproxy/admin.sock",
                "ssh://[::1]:22/run/haproxy/admin.sock",
                "/run/haproxy/admin.sock",
                "master@ssh://10.0.0.4/run/haproxy-master.sock",
            ]
        );
        assert_eq!(m[0].connection, Connection::Ssh);
        assert!(matches!(&m[4].address, Address::Ssh(r) if r.master));
        assert_eq!(m[3].connection, Connection::Local);
        for bad in [
            "harun_socket=run/a.sock",
            "harun_socket=127.0.0.1:9999",
            "harun_socket=master@run/m.sock",
            // A `/` or `@` must not shift the parts: no login to `a`.
            "ansible_user=a/b",
            "ansible_user=a@b",
            "ansible_host=lb1/x",
        ] {
            let e = resolve_text(&format!("h ansible_host=10.0.0.2 {bad}\n"), &["h"]).unwrap_err();
            assert!(e.to_string().contains("host `h`: "), "{e}");
        }
    }

    #[test]
    fn bad_variables_name_the_host() {
        let e = resolve_text("h ansible_connection=local ansible_port=ssh\n", &["h"]).unwrap_err();
        assert!(
            e.to_string().contains("host `h`: ansible_port `ssh`"),
            "{e}"
        );
        let e = resolve_text("h ansible_connection=docker\n", &["h"]).unwrap_err();
        assert!(e.to_string().contains("ansible_connection `docker`"), "{e}");
        let e = resolve_text(
            "h ansible_connection=local harun_socket=replay@/x\n",
            &["h"],
        )
        .unwrap_err();
        assert!(e.to_string().contains("replay bundle"), "{e}");
        let e =
            resolve_text("h ansible_connection=local harun_socket=abns@x\n", &["h"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/srv/ansible/hosts.ini: host `h`: harun_socket"),
            "{e}"
        );
    }

    #[test]
    fn ssh_hosts_log_in_with_their_key_and_arguments() {
        let text = "\
[lb]
lb1 ansible_host=10.0.0.1 ansible_ssh_private_key_file=keys/lb.pem
lb2 ansible_host=10.0.0.1 ansible_ssh_common_args='-J bastion'
local ansible_connection=local ansible_ssh_common_args='-C' ansible_become=yes
[lb:vars]
ansible_ssh_extra_args=\"-o ServerAliveInterval=5\"
";
        let m = resolve_text(text, &["lb1", "lb2", "local"]).unwrap();
        let Address::Ssh(lb1) = &m[0].address else {
            panic!("{:?}", m[0].address)
        };
        assert_eq!(
            lb1.options.identity.as_deref(),
            Some(Path::new("/srv/ansible/keys/lb.pem"))
        );
        assert_eq!(lb1.options.args, ["-o", "ServerAliveInterval=5"]);
        let Address::Ssh(lb2) = &m[1].address else {
            panic!("{:?}", m[1].address)
        };
        assert_eq!(
            lb2.options.args,
            ["-J", "bastion", "-o", "ServerAliveInterval=5"]
        );
        // Same address, another way in: another login.
        assert_ne!(lb1.login(), lb2.login());
        // A local host has no ssh login: its ssh arguments are not read.
        assert_eq!(m[2].connection, Connection::Local);
        assert_eq!(m[2].unhonoured, ["ansible_become"]);
        let e = resolve_text(
            "h ansible_host=10.0.0.2 ansible_ssh_common_args='-o ControlPath=/x'\n",
            &["h"],
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("host `h`: ansible_ssh_common_args: `-o ControlPath=/x`: harun sets"),
            "{e}"
        );
    }

    #[test]
    fn direct_targets_read_as_local() {
        let m = Member::direct(&Address::Tcp("[::1]:9999".into()), "[::1]:9999");
        assert_eq!((m.host.as_str(), m.connection), ("::1", Connection::Local));
        let m = Member::direct(&Address::Unix("/run/a.sock".into()), "/run/a.sock");
        assert_eq!(m.host, "localhost");
        assert!(m.groups.is_empty() && !m.from_inventory);
    }

    #[test]
    fn ansible_timeout_is_the_hosts_connect_timeout_with_ansibles_precedence() {
        let text = "\
[lb]
lb1 ansible_host=10.0.0.1
lb2 ansible_host=10.0.0.2 ansible_timeout=45
lb3 ansible_host=10.0.0.3 ansible_ssh_timeout=7
[lb:vars]
ansible_timeout=20
[other]
lb4 ansible_host=10.0.0.4
";
        let m = resolve_text(text, &["lb1", "lb2", "lb3", "lb4"]).unwrap();
        let timeout = |i: usize| match &m[i].address {
            Address::Ssh(r) => r.options.connect_timeout,
            a => panic!("{a:?}"),
        };
        // The group's, the host's own over it, the ssh-specific name over
        // both (Ansible reads `ansible_ssh_timeout` first), none: --timeout.
        assert_eq!(
            [timeout(0), timeout(1), timeout(2), timeout(3)],
            [Some(20), Some(45), Some(7), None]
        );
        // Not a variable harun ignores: no warning for it.
        assert!(m[1].unhonoured.is_empty());
        // The same from a YAML inventory, where it is a number.
        let yaml = "all:\n  children:\n    lb:\n      hosts:\n        lb1:\n          ansible_host: 10.0.0.1\n          ansible_timeout: 30\n";
        let inv = parse(yaml, Format::Yaml).unwrap();
        let m = resolve(
            &inv,
            &["lb1".to_string()],
            Path::new("/srv/ansible/hosts.yml"),
            None,
        )
        .unwrap();
        assert!(matches!(&m[0].address, Address::Ssh(r) if r.options.connect_timeout == Some(30)));
        for bad in ["0", "10s", "-1", "2.5", "86400"] {
            let e = resolve_text(
                &format!("h ansible_host=10.0.0.2 ansible_timeout={bad}\n"),
                &["h"],
            )
            .unwrap_err();
            assert!(
                e.to_string().contains(&format!(
                    "host `h`: ansible_timeout: `{bad}` is not a connect timeout"
                )),
                "{e}"
            );
        }
    }
}
