//! Directives of frontends, backends, listens and defaults: every server
//! (and each slot of a `server-template`) points at one of harun's
//! responders, or stays linked to a listener of the same configuration; TLS,
//! check address overrides, protocols, source addresses and agents are
//! removed from server lines; checks in protocols the responders do not speak
//! become plain TCP connects; `source` and `dispatch` stay on loopback.

use super::line::LineEdit;
use super::servers::{first_option, server_options, template_range};
use super::{err, remove_opt, RewriteError, Rewriter};
use crate::config::model::{Directive, Section};

/// TLS options of a server line: the responders speak plain HTTP.
pub(super) const SERVER_TLS: &[&str] = &[
    "ssl",
    "check-ssl",
    "verify",
    "verifyhost",
    "no-verifyhost",
    "ca-file",
    "crl-file",
    "crt",
    "sni",
    "check-sni",
    "alpn",
    "check-alpn",
    "npn",
    "ciphers",
    "ciphersuites",
    "curves",
    "sigalgs",
    "client-sigalgs",
    "ssl-min-ver",
    "ssl-max-ver",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "ssl-reuse",
    "no-ssl-reuse",
    "tls-tickets",
    "no-tls-tickets",
    "allow-0rtt",
];

/// Check options whose protocol harun's HTTP responders do not speak.
const PROTOCOL_CHECKS: &[&str] = &[
    "ssl-hello-chk",
    "mysql-check",
    "pgsql-check",
    "redis-check",
    "smtpchk",
    "ldap-check",
    "spop-check",
    "external-check",
];

impl Rewriter<'_> {
    pub(super) fn proxy(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let first = d.args.first().map(String::as_str).unwrap_or("");
        let plain_check = "harun's responders speak HTTP: the check becomes a plain TCP connect";
        match d.keyword.as_str() {
            "server" | "server-template" | "default-server" => self.server(s, d, e)?,
            "source" => self.drop_line(s, d, e, "the lab connects from loopback"),
            "dispatch" => {
                let a = self.res.refusing().map_err(Self::res_err(d))?;
                let why = "no responder stands in for a dispatch address";
                self.replace_arg(s, d, e, 0, &a.to_string(), why)
            }
            "server-state-file" => self.state_file(s, d, e),
            "option" if PROTOCOL_CHECKS.contains(&first) => self.drop_line(s, d, e, plain_check),
            "external-check" => self.drop_line(s, d, e, "no external check runs in the lab"),
            "tcp-check" => self.drop_line(s, d, e, plain_check),
            "http-check" if first == "expect" => {
                let what = d.args.iter().skip(1).find(|a| *a != "!");
                if !matches!(what.map(String::as_str), Some("status" | "rstatus")) {
                    let why = "harun's responders answer 200 with the server's name: only status checks are kept";
                    self.drop_line(s, d, e, why)
                }
            }
            "http-check" if first == "connect" && d.args.len() > 1 => {
                let why = "checks connect to the server's responder, in clear";
                self.drop_line(s, d, e, why)
            }
            _ => {}
        }
        Ok(())
    }

    fn server(
        &mut self,
        s: &Section,
        d: &Directive,
        e: &mut LineEdit<'_>,
    ) -> Result<(), RewriteError> {
        let kw = d.keyword.as_str();
        let backend = s.name.clone().unwrap_or_default();
        match kw {
            "server" if d.args.len() >= 2 => {
                let name = d.args[0].clone();
                let addr = d.args[1].clone();
                let from = format!("server {name} {addr}");
                if let Some(link) = self.link_for(&addr) {
                    e.set(2, &link.text);
                    self.internal.push(format!("{backend}/{name}"));
                    let why = format!("still linked to {} of this configuration", link.owner);
                    self.changed(d, s, from, link.text.clone(), &why);
                } else {
                    let (a, how) = self.res.server(&backend, &name).map_err(Self::res_err(d))?;
                    e.set(2, &a.to_string());
                    let why = format!("harun's responder: {how}");
                    self.changed(d, s, from, a.to_string(), &why);
                }
            }
            "server-template" if d.args.len() >= 3 => {
                let (prefix, range, addr) = (&d.args[0], &d.args[1], &d.args[2]);
                let Some(numbers) = template_range(range) else {
                    let m = format!("server-template {prefix}: invalid range `{range}`");
                    return Err(err(d, m));
                };
                let mut first_addr = None;
                let mut first_healthy = None;
                let mut special = Vec::new();
                for n in numbers {
                    let name = format!("{prefix}{n}");
                    let (a, how) = self.res.server(&backend, &name).map_err(Self::res_err(d))?;
                    first_addr.get_or_insert(a);
                    if how == "healthy" {
                        first_healthy.get_or_insert(a);
                    } else {
                        special.push(format!("{name} {how}"));
                    }
                    self.template_addrs.push((backend.clone(), name, a));
                }
                // Until each slot gets its own address at start, they all use
                // this one: a healthy responder, if there is one.
                if let Some(a) = first_healthy.or(first_addr) {
                    e.set(3, &a.to_string());
                    let how = if special.is_empty() {
                        "healthy".to_string()
                    } else {
                        format!("{}, the others healthy", special.join(", "))
                    };
                    let why = format!(
                        "harun's responders: {how}; each slot gets its own at start through the runtime API"
                    );
                    let from = format!("server-template {prefix} {range} {addr}");
                    self.changed(d, s, from, a.to_string(), &why);
                }
            }
            _ => {}
        }
        let mut tls = Vec::new();
        let mut overrides = Vec::new();
        let mut proto = Vec::new();
        let mut network = Vec::new();
        let mut agent = Vec::new();
        for o in server_options(&d.args, first_option(kw)) {
            let k = d.args[o.at].as_str();
            let group = if SERVER_TLS.contains(&k) {
                &mut tls
            } else if matches!(k, "addr" | "port") {
                &mut overrides
            } else if matches!(k, "proto" | "check-proto" | "ws") {
                &mut proto
            } else if matches!(
                k,
                "source" | "usesrc" | "interface" | "namespace" | "socks4" | "check-via-socks4"
            ) {
                &mut network
            } else if matches!(k, "agent-check" | "agent-addr") {
                &mut agent
            } else {
                continue;
            };
            remove_opt(e, d, o, group);
        }
        let groups = [
            (tls, "harun's responders speak plain HTTP"),
            (overrides, "checks go to the server's own responder"),
            (proto, "harun's responders speak HTTP/1.1"),
            (network, "the lab connects from loopback, directly"),
            (agent, "no agent answers in the lab"),
        ];
        for (words, why) in groups {
            if !words.is_empty() {
                self.removed(d, s, words.join(" "), why);
            }
        }
        Ok(())
    }
}
