//! The `global` section in the lab: what needs root or the production host
//! is removed (chroot, user, daemon, cpu-map...), the pid and server state
//! files move to the lab's directory (a state file becomes an empty stand-in,
//! for `backend` sections too), `maxconn` and `ulimit-n` fit this machine's
//! open-files limit, `unix-bind` loses its prefix and owners, and every
//! `stats socket` moves to the lab's directory or a loopback port, in clear;
//! the first admin-level UNIX one is the socket harun talks to.

use super::line::LineEdit;
use super::listeners::{strip_bind_options, PRIVILEGED_BIND_OPTS};
use super::servers::Opt;
use super::{
    is_unix_address, loopback, remove_opt, safe_name, unix_path, RewriteError, Rewriter, StandIn,
    FD_RESERVE,
};
use crate::config::model::{Directive, Section};
use std::path::PathBuf;

/// TLS options of a `stats socket` line: harun talks to its sockets in clear.
const SOCKET_TLS: &[&str] = &[
    "ssl",
    "crt",
    "crt-list",
    "ca-file",
    "ca-verify-file",
    "crl-file",
    "verify",
    "alpn",
    "npn",
    "ciphers",
    "ciphersuites",
    "curves",
    "ecdhe",
    "ssl-min-ver",
    "ssl-max-ver",
    "strict-sni",
];

impl Rewriter<'_> {
    pub(super) fn global(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let first = d.args.first().map(String::as_str).unwrap_or("");
        let in_dir = "in the lab's directory";
        match d.keyword.as_str() {
            "chroot" => self.drop_line(s, d, e, "the lab runs unprivileged from its own directory"),
            "user" | "group" | "uid" | "gid" => {
                self.drop_line(s, d, e, "the lab's haproxy runs as you")
            }
            "daemon" => self.drop_line(
                s,
                d,
                e,
                "the lab keeps haproxy in the foreground (-db) so it stops with the run",
            ),
            "master-worker" => self.drop_line(s, d, e, "the lab runs a single process"),
            "cpu-map" => self.drop_line(s, d, e, "the lab does not pin CPUs"),
            "zero-warning" => {
                self.drop_line(s, d, e, "a warning caused by the lab must not stop it")
            }
            "default-path" => self.drop_line(
                s,
                d,
                e,
                "the copy lives elsewhere: relative paths are written out in full",
            ),
            "pidfile" => {
                let p = self.res.dir().join("haproxy.pid");
                self.replace_arg(s, d, e, 0, &p.display().to_string(), in_dir)
            }
            "server-state-base" => {
                let p = self.res.dir().join("state");
                self.replace_arg(s, d, e, 0, &format!("{}/", p.display()), in_dir)
            }
            "server-state-file" => self.state_file(s, d, e),
            "unix-bind" => self.unix_bind(s, d, e),
            "ulimit-n" => {
                if let (Some(limit), Ok(n)) = (self.res.fd_limit(), first.parse::<u64>()) {
                    if n > limit {
                        let why = format!(
                            "this machine allows {limit} open files: haproxy would refuse to start"
                        );
                        self.drop_line(s, d, e, &why);
                    }
                }
            }
            "maxconn" => {
                if let (Some(limit), Ok(n)) = (self.res.fd_limit(), first.parse::<u64>()) {
                    // HAProxy needs two descriptors per connection plus one
                    // per checked server, its listeners and pipes; it will
                    // not start short of them.
                    let cap = (limit.saturating_sub(FD_RESERVE + self.checked) / 2).max(100);
                    if n > cap && cap > 0 {
                        let why = format!(
                            "this machine allows {limit} open files: haproxy would refuse to start"
                        );
                        self.replace_arg(s, d, e, 0, &cap.to_string(), &why);
                    }
                }
            }
            "stats" if first == "socket" => self.stats_socket(s, d, e)?,
            "log" => self.log(s, d, e)?,
            kw if kw.starts_with("51degrees-")
                || kw.starts_with("wurfl-")
                || kw.starts_with("deviceatlas-") =>
            {
                self.drop_line(
                    s,
                    d,
                    e,
                    "device detection needs its data files and a module built into haproxy",
                )
            }
            _ => {}
        }
        Ok(())
    }

    /// A server state file in the lab's directory, holding only the format
    /// version: HAProxy loads no state from it and does not warn.
    pub(super) fn state_file(&mut self, s: &Section, d: &Directive, e: &mut LineEdit<'_>) {
        let Some(name) = d.args.first() else {
            return;
        };
        let state_dir = self.res.dir().join("state");
        let has_base = self.model.global_find("server-state-base").next().is_some();
        let path = if name.starts_with('/') {
            let p = state_dir.join(safe_name(name));
            let why = "in the lab's directory, empty";
            self.replace_arg(s, d, e, 0, &p.display().to_string(), why);
            p
        } else if has_base && safe_name(name) == *name {
            state_dir.join(name)
        } else {
            return;
        };
        if !self.standins.iter().any(|f| f.path == path) {
            self.standins.push(StandIn {
                path,
                contents: "1\n".into(),
            });
        }
    }

    fn unix_bind(&mut self, s: &Section, d: &Directive, e: &mut LineEdit<'_>) {
        let why = "the lab's sockets live in its own directory and belong to you";
        let mut removed = Vec::new();
        let mut kept = 0;
        let mut i = 0;
        while i < d.args.len() {
            let k = d.args[i].as_str();
            if matches!(k, "prefix" | "user" | "group" | "uid" | "gid") {
                remove_opt(
                    e,
                    d,
                    Opt {
                        at: i,
                        value: (i + 1 < d.args.len()).then_some(i + 1),
                    },
                    &mut removed,
                );
            } else {
                kept += 1;
            }
            i += 2;
        }
        if removed.is_empty() {
            return;
        }
        if kept == 0 {
            return self.drop_line(s, d, e, why);
        }
        self.removed(d, s, format!("unix-bind {}", removed.join(" ")), why);
    }

    fn stats_socket(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let Some(addr) = d.args.get(1) else {
            return Ok(());
        };
        let unix = is_unix_address(addr) || addr.starts_with("abns@");
        let new = if unix {
            let name = unix_path(addr).trim_start_matches("abns@");
            self.new_unix_path(name, "").display().to_string()
        } else {
            let port = self.res.tcp_port().map_err(Self::res_err(d))?;
            format!("ipv4@{}", loopback(port))
        };
        e.set(2, &new);
        let why = if unix {
            "in the lab's directory"
        } else {
            "a free loopback port"
        };
        self.changed(d, s, format!("stats socket {addr}"), new.clone(), why);
        let (privileged, tls) = strip_bind_options(d, e, 2, PRIVILEGED_BIND_OPTS, SOCKET_TLS);
        if !privileged.is_empty() {
            let why = "the lab's sockets belong to you";
            self.removed(d, s, privileged.join(" "), why);
        }
        if !tls.is_empty() {
            let why = "harun talks to the lab's sockets in clear";
            self.removed(d, s, tls.join(" "), why);
        }
        let admin = d.param("level") == Some("admin");
        if admin && unix && d.condition.is_none() && self.admin_socket.is_none() {
            self.admin_socket = Some(PathBuf::from(new));
        }
        Ok(())
    }
}
