//! The runtime API's stats sockets: none at all (`config.no-stats-socket`),
//! none at `level admin` so drains answer `Permission denied`
//! (`config.stats-socket-not-admin`), and admin sockets others can reach: on
//! a non-loopback TCP address (`config.stats-socket-exposed`) or a UNIX
//! socket whose mode lets any local user connect
//! (`config.stats-socket-world-writable`).

use super::{conditional, finding, RuleDoc};
use crate::base::report::{Finding, Severity};
use crate::config::model::{stats_sockets, ConfigModel, Directive};

pub(super) const NO_STATS_SOCKET: RuleDoc = RuleDoc {
    id: "config.no-stats-socket",
    severity: Severity::Warning,
    title: "No stats socket (runtime API)",
    meaning: "Without a `stats socket` nobody can see server states or queues, drain or disable a server during an incident without a reload.",
    fix: "In global: `stats socket /run/haproxy/admin.sock mode 660 level admin` and `stats timeout 30s`.",
};

pub(super) const STATS_SOCKET_NOT_ADMIN: RuleDoc = RuleDoc {
    id: "config.stats-socket-not-admin",
    severity: Severity::Warning,
    title: "No stats socket with level admin",
    meaning: "Every stats socket is `operator` (the default) or `user`: state changes (`set server ... state drain|maint`, `set weight`) answer `Permission denied`.",
    fix: "Add `level admin` to the local UNIX socket: `stats socket /run/haproxy/admin.sock mode 660 level admin`.",
};

pub(super) const STATS_SOCKET_EXPOSED: RuleDoc = RuleDoc {
    id: "config.stats-socket-exposed",
    severity: Severity::Error,
    title: "Admin stats socket on a non-loopback TCP address",
    meaning: "Anyone who can reach this port can drain or disable every server, change weights, kill sessions: the runtime API has no authentication.",
    fix: "Use a UNIX socket (`stats socket /run/haproxy/admin.sock mode 660 level admin`) or bind to loopback: `stats socket ipv4@127.0.0.1:9999 level admin`.",
};

pub(super) const STATS_SOCKET_WORLD_WRITABLE: RuleDoc = RuleDoc {
    id: "config.stats-socket-world-writable",
    severity: Severity::Error,
    title: "Admin stats socket any local user can open",
    meaning: "A `level admin` UNIX stats socket whose `mode` (on the line, or from `unix-bind` in global) gives write permission to others, e.g. `mode 666` or `mode 777`: connecting to a UNIX socket only takes write permission, so any local user or compromised service on the host can drain or disable every server, change weights and kill sessions (the runtime API has no authentication).",
    fix: "`stats socket /run/haproxy/admin.sock mode 600 level admin` (HAProxy's user only), or `mode 660` with a dedicated group (`group haproxy-admin` on the same line) that holds the operators.",
};

/// Host part of a TCP address (`ipv4@0.0.0.0:666` -> `0.0.0.0`, `[::1]:9` -> `::1`).
fn tcp_host(address: &str) -> String {
    let a = address
        .split_once('@')
        .map(|(_, r)| r)
        .unwrap_or(address)
        .trim();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match a.rsplit_once(':') {
        Some((h, _)) => h.to_string(),
        None => a.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim();
    h == "localhost"
        || h == "::1"
        || h.starts_with("127.")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

pub(super) fn stats_socket_rules(model: &ConfigModel, out: &mut Vec<Finding>) {
    let socks = stats_sockets(model);
    if socks.is_empty() {
        let ev = match model.global() {
            Some(g) => format!("{}: global has no `stats socket` line", g.location()),
            None => "no global section".to_string(),
        };
        out.push(finding("config.no-stats-socket", "No stats socket: no runtime API").evidence(ev));
        return;
    }
    if !socks.iter().any(|s| s.effective_level() == "admin") {
        let mut f = finding(
            "config.stats-socket-not-admin",
            "No stats socket has level admin: drain/maint will answer Permission denied",
        );
        for s in &socks {
            f.evidence.push(format!(
                "{}: stats socket {} (level {}{})",
                s.location,
                s.address,
                s.effective_level(),
                if s.level.is_none() {
                    ", the default"
                } else {
                    ""
                }
            ));
        }
        out.push(f);
    }
    for s in &socks {
        if s.is_unix() || s.effective_level() != "admin" || s.address.contains('$') {
            continue;
        }
        let host = tcp_host(&s.address);
        if is_loopback(&host) {
            continue;
        }
        let shown = if host.is_empty() || host == "*" {
            "all interfaces".to_string()
        } else {
            host.clone()
        };
        let mut f = finding(
            "config.stats-socket-exposed",
            format!("Admin stats socket {} listens on {shown}", s.address),
        )
        .evidence(format!(
            "{}: stats socket {} level admin",
            s.location, s.address
        ))
        .target(s.address.clone());
        if let Some(c) = &s.condition {
            f.severity = f.severity.min(Severity::Warning);
            f.evidence.push(format!("(under .if {c})"));
        }
        out.push(f);
    }
}

/// The octal `mode` of a `stats socket` line, else of `unix-bind` in global
/// (then with that line as evidence).
fn socket_mode<'a>(
    model: &'a ConfigModel,
    d: &'a Directive,
) -> Option<(u32, Option<&'a Directive>)> {
    let (m, from) = match d.param("mode") {
        Some(m) => (m, None),
        None => model
            .global_find("unix-bind")
            .filter_map(|u| u.param("mode").map(|m| (m, Some(u))))
            .last()?,
    };
    let mode = u32::from_str_radix(m.trim_start_matches("0o"), 8).ok()?;
    Some((mode, from))
}

/// `level admin` UNIX sockets on the filesystem whose mode lets others connect
/// (connecting to a UNIX socket takes write permission).
pub(super) fn world_writable_sockets(model: &ConfigModel, out: &mut Vec<Finding>) {
    for d in model.global_find("stats socket") {
        let Some(address) = d.args.get(1) else {
            continue;
        };
        let path = address
            .strip_prefix("unix@")
            .or_else(|| address.strip_prefix("uxst@"))
            .unwrap_or(address);
        let on_fs = path.starts_with('/') || path.starts_with("./");
        if !on_fs || address.contains('$') || d.param("level") != Some("admin") {
            continue;
        }
        let Some((mode, unix_bind)) = socket_mode(model, d) else {
            continue;
        };
        if mode & 0o002 == 0 {
            continue;
        }
        let mut f = finding(
            "config.stats-socket-world-writable",
            format!(
                "Admin stats socket {address} has mode {mode:o}: any local user can drain every server"
            ),
        )
        .evidence(d.evidence())
        .target(address.clone());
        if let Some(u) = unix_bind {
            f.evidence
                .push(format!("{} (default mode of UNIX sockets)", u.evidence()));
        }
        f.advice = Some(format!(
            "Write `stats socket {path} mode 600 level admin` (only HAProxy's user can connect), or `mode 660 group <admin group>` with a dedicated group holding the operators; then `systemctl reload haproxy`."
        ));
        out.push(conditional(f, d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lint::tests::*;
    use crate::config::lint::LintContext;

    #[test]
    fn stats_socket_rules() {
        let none = GOOD.replace(
            "    stats socket /run/haproxy/admin.sock mode 660 level admin\n",
            "",
        );
        assert!(has(
            &lint_text(&none, &LintContext::default()),
            "config.no-stats-socket"
        ));
        let op = GOOD.replace(" level admin", "");
        let f = lint_text(&op, &LintContext::default());
        assert!(get(&f, "config.stats-socket-not-admin").evidence[0]
            .contains("level operator, the default"));
        for (addr, exposed) in [
            ("ipv4@0.0.0.0:666", true),
            ("*:9999", true),
            (":9999", true),
            ("10.1.2.3:9999", true),
            ("ipv6@[::]:9999", true),
            ("ipv4@127.0.0.1:9999", false),
            ("127.0.0.1:9999", false),
            ("ipv6@[::1]:9999", false),
            ("unix@/run/x.sock", false),
        ] {
            let cfg = GOOD.replace("/run/haproxy/admin.sock mode 660", addr);
            let f = lint_text(&cfg, &LintContext::default());
            assert_eq!(has(&f, "config.stats-socket-exposed"), exposed, "{addr}");
        }
        // Operator level on 0.0.0.0 is read-only: not-admin, not exposed.
        let cfg = GOOD.replace(
            "/run/haproxy/admin.sock mode 660 level admin",
            "ipv4@0.0.0.0:666",
        );
        assert!(!has(
            &lint_text(&cfg, &LintContext::default()),
            "config.stats-socket-exposed"
        ));
    }

    #[test]
    fn world_writable_admin_socket() {
        let sock = "    stats socket /run/haproxy/admin.sock mode 660 level admin\n";
        for (line, flagged) in [
            (
                "stats socket /run/haproxy/admin.sock mode 666 level admin",
                true,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 777 level admin",
                true,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 0666 level admin",
                true,
            ),
            (
                "stats socket unix@/run/haproxy/admin.sock level admin mode 602",
                true,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 660 level admin",
                false,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 600 level admin",
                false,
            ),
            (
                "stats socket /run/haproxy/admin.sock mode 664 level admin",
                false,
            ),
            ("stats socket /run/haproxy/admin.sock level admin", false),
            // Not admin: read-only or operator commands.
            (
                "stats socket /run/haproxy/admin.sock mode 666 level operator",
                false,
            ),
            ("stats socket /run/haproxy/admin.sock mode 666", false),
            // Not a file: mode does not apply.
            (
                "stats socket ipv4@127.0.0.1:9999 mode 666 level admin",
                false,
            ),
            ("stats socket abns@haproxy mode 666 level admin", false),
        ] {
            let cfg = GOOD.replace(sock, &format!("    {line}\n"));
            let f = lint_text(&cfg, &LintContext::default());
            assert_eq!(
                has(&f, "config.stats-socket-world-writable"),
                flagged,
                "{line}"
            );
            if flagged {
                let x = get(&f, "config.stats-socket-world-writable");
                assert_eq!(x.severity, Severity::Error);
                assert!(x
                    .advice
                    .as_deref()
                    .unwrap()
                    .contains("mode 600 level admin"));
                assert!(!x.advice.as_deref().unwrap().contains("unix@"));
            }
        }
        // The mode can come from unix-bind.
        let cfg = GOOD.replace(
            sock,
            "    unix-bind mode 666\n    stats socket /run/haproxy/admin.sock level admin\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let x = get(&f, "config.stats-socket-world-writable");
        assert!(
            x.evidence[1].contains("unix-bind mode 666"),
            "{:?}",
            x.evidence
        );
        // Under .if: capped at warning.
        let cfg = GOOD.replace(
            sock,
            ".if defined(DEV)\n    stats socket /run/h.sock mode 666 level admin\n.endif\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        assert_eq!(
            get(&f, "config.stats-socket-world-writable").severity,
            Severity::Warning
        );
    }
}
