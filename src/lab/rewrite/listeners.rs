//! Where the lab listens: every `bind`/`dgram-bind` of frontends, listens,
//! peers and log-forwards gets a free loopback port, a UNIX socket in the
//! lab's directory or an abstract socket named after the lab, decided before
//! the sections are walked, so a server that points at a listener of the same
//! configuration stays linked to it (`link_for`). Options that need
//! privileges or the host's network are removed, QUIC is served over TCP.

use super::line::LineEdit;
use super::servers::bind_options;
use super::{
    host_port, is_loopback_or_any, is_unix_address, loopback, remove_opt, unix_path, BindMap,
    NewBind, RewriteError, RewriteKind, Rewriter,
};
use crate::config::model::{Directive, Section};

/// Options that need privileges or the production host's network setup.
pub(super) const PRIVILEGED_BIND_OPTS: &[&str] = &[
    "user",
    "group",
    "uid",
    "gid",
    "interface",
    "namespace",
    "transparent",
    "v4v6",
    "v6only",
];

impl Rewriter<'_> {
    /// Decide every bind's lab address first: servers linked to a listener of
    /// the same configuration need it.
    pub(super) fn allocate_binds(&mut self) -> Result<(), RewriteError> {
        let dir_name = self
            .res
            .dir()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "harun-lab".into());
        for s in &self.model.sections {
            let bind_kw = match s.kind.as_str() {
                "frontend" | "listen" | "peers" | "log-forward" => ["bind", "dgram-bind"],
                _ => continue,
            };
            for d in s
                .directives
                .iter()
                .filter(|d| bind_kw.contains(&d.keyword.as_str()))
            {
                let Some(addr) = d.args.first() else {
                    continue;
                };
                let new = if is_unix_address(addr) {
                    let p = self.new_unix_path(unix_path(addr), "");
                    let text = p.display().to_string();
                    self.links.insert(
                        format!("unix:{}", unix_path(addr)),
                        NewBind {
                            text: text.clone(),
                            tcp: None,
                            owner: s.label(),
                        },
                    );
                    NewBind {
                        text,
                        tcp: None,
                        owner: s.label(),
                    }
                } else if let Some(name) = addr
                    .strip_prefix("abns@")
                    .or_else(|| addr.strip_prefix("abnsz@"))
                {
                    // Abstract sockets are machine-wide: a name of production
                    // running on this host must not be taken.
                    let text = format!("abns@{dir_name}-{name}");
                    let nb = NewBind {
                        text,
                        tcp: None,
                        owner: s.label(),
                    };
                    self.links.insert(format!("abns@{name}"), nb.clone());
                    nb
                } else {
                    let port = if d.keyword == "dgram-bind" {
                        self.res.udp_port()
                    } else {
                        self.res.tcp_port()
                    }
                    .map_err(Self::res_err(d))?;
                    let nb = NewBind {
                        text: loopback(port).to_string(),
                        tcp: (d.keyword == "bind").then(|| loopback(port)),
                        owner: s.label(),
                    };
                    for one in addr.split(',') {
                        if let Some((h, p)) = host_port(one) {
                            if is_loopback_or_any(h) && p.parse::<u16>().is_ok() {
                                self.links.entry(format!("tcp:{p}")).or_insert(nb.clone());
                            }
                        }
                    }
                    nb
                };
                self.binds.insert((d.file.clone(), d.line), new);
            }
        }
        Ok(())
    }

    pub(super) fn bind(&mut self, s: &Section, d: &Directive, e: &mut LineEdit<'_>) {
        let Some(new) = self.binds.get(&(d.file.clone(), d.line)).cloned() else {
            return;
        };
        let addr = d.args[0].clone();
        e.set(1, &new.text);
        let why = if addr.contains(',') {
            format!(
                "one free loopback port for the {} addresses",
                addr.split(',').count()
            )
        } else if new.tcp.is_some() || d.keyword == "dgram-bind" {
            "a free loopback port".to_string()
        } else {
            "in the lab's directory".to_string()
        };
        self.changed(
            d,
            s,
            format!("{} {addr}", d.keyword),
            new.text.clone(),
            &why,
        );
        self.bind_maps.push(BindMap {
            section: s.label(),
            location: d.location(),
            original: addr.clone(),
            address: new.text.clone(),
            tcp: new.tcp,
        });
        let (privileged, _) = strip_bind_options(d, e, 1, PRIVILEGED_BIND_OPTS, &[]);
        if !privileged.is_empty() {
            let why = "needs privileges or this host's network setup";
            self.removed(d, s, privileged.join(" "), why);
        }
        if addr.starts_with("quic4@") || addr.starts_with("quic6@") {
            let mut quic = Vec::new();
            for o in bind_options(&d.args, 1) {
                let k = d.args[o.at].as_str();
                if matches!(k, "alpn" | "proto" | "quic-cc-algo" | "quic-force-retry") {
                    remove_opt(e, d, o, &mut quic);
                }
            }
            self.note(
                d.location(),
                s,
                RewriteKind::Note,
                format!("bind {addr}: QUIC served over TCP"),
                "",
                "the lab listens on TCP only",
            );
            if !quic.is_empty() {
                self.removed(d, s, quic.join(" "), "QUIC options on a TCP listener");
            }
        }
        self.bind_tls(s, d, e);
    }

    /// The listener of this configuration a server address points at, if any.
    pub(super) fn link_for(&self, addr: &str) -> Option<NewBind> {
        if is_unix_address(addr) {
            return self
                .links
                .get(&format!("unix:{}", unix_path(addr)))
                .cloned();
        }
        if let Some(name) = addr
            .strip_prefix("abns@")
            .or_else(|| addr.strip_prefix("abnsz@"))
        {
            return self.links.get(&format!("abns@{name}")).cloned();
        }
        let (h, p) = host_port(addr)?;
        if !(h == "localhost" || h == "::1" || h.starts_with("127.")) {
            return None;
        }
        self.links.get(&format!("tcp:{p}")).cloned()
    }
}

/// Remove the options named in `a` and `b` from a bind-like line whose
/// options start at argument `from`; returns the removed words of each group.
pub(super) fn strip_bind_options(
    d: &Directive,
    e: &mut LineEdit<'_>,
    from: usize,
    a: &[&str],
    b: &[&str],
) -> (Vec<String>, Vec<String>) {
    let mut ra = Vec::new();
    let mut rb = Vec::new();
    for o in bind_options(&d.args, from) {
        let k = d.args[o.at].as_str();
        if a.contains(&k) {
            remove_opt(e, d, o, &mut ra);
        } else if b.contains(&k) {
            remove_opt(e, d, o, &mut rb);
        }
    }
    (ra, rb)
}
