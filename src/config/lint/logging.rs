//! Where HAProxy's logs go: no log target at all (`config.no-log`), and a
//! UNIX log socket that does not exist inside the chroot, so every line is
//! dropped (`config.log-lost-in-chroot`, checked against the sockets rsyslog
//! is known to create, a doubt rather than a fact when rsyslog's configuration
//! could not be read).

use super::{conditional, finding, normalize, LintContext, RuleDoc};
use crate::base::report::{Finding, Severity};
use crate::config::model::{address_is_unix, chroot, log_lines, ConfigModel, Directive};
use std::path::{Path, PathBuf};

const CHROOT_FIX: &str = "Log over the network instead of a UNIX socket: in global write `log 127.0.0.1:514 local0` (or `log 127.0.0.1 syslog notice`), and make rsyslog listen on UDP: `module(load=\"imudp\")` and `input(type=\"imudp\" address=\"127.0.0.1\" port=\"514\")` in /etc/rsyslog.d/49-haproxy.conf; then `systemctl reload haproxy` and `systemctl restart rsyslog`. Alternatively create the socket inside the chroot: `$AddUnixListenSocket <chroot>/dev/log` in rsyslog.";

pub(super) const NO_LOG: RuleDoc = RuleDoc {
    id: "config.no-log",
    severity: Severity::Warning,
    title: "No log target",
    meaning: "No `log` line with a target in global or in any proxy: HAProxy logs nothing, so an incident leaves no trace of requests, errors or server state changes.",
    fix: "In global: `log 127.0.0.1:514 local0`; in defaults: `log global` and `option httplog` (or `option tcplog`).",
};

pub(super) const LOG_LOST_IN_CHROOT: RuleDoc = RuleDoc {
    id: "config.log-lost-in-chroot",
    severity: Severity::Error,
    title: "Logs to a UNIX socket that does not exist inside the chroot",
    meaning: "HAProxy sends logs after chrooting, so `log /dev/log` looks for <chroot>/dev/log. If rsyslog does not create that socket, every log line is silently dropped. Lowered to warning (\"not verified\") when rsyslog's configuration could not be read.",
    fix: CHROOT_FIX,
};

pub(super) fn logging(model: &ConfigModel, ctx: &LintContext, out: &mut Vec<Finding>) {
    let logs = log_lines(model);
    let targets: Vec<&(String, Directive)> = logs
        .iter()
        .filter(|(_, d)| d.args.first().map(|a| a != "global").unwrap_or(false))
        .collect();
    if targets.is_empty() {
        let mut f = finding("config.no-log", "No log target: HAProxy logs nothing");
        f.evidence.push(match model.global() {
            Some(g) => format!("{}: global has no `log` line", g.location()),
            None => "no global section".to_string(),
        });
        for (label, d) in &logs {
            f.evidence.push(format!(
                "{} ({label}): `log global` but global has no target",
                d.location()
            ));
        }
        out.push(f);
    }
    let Some((root, root_loc)) = chroot(model) else {
        return;
    };
    if root.is_empty() || normalize(Path::new(&root)) == Path::new("/") {
        return;
    }
    let sockets: Vec<PathBuf> = ctx
        .rsyslog_unix_sockets
        .iter()
        .map(|p| normalize(p))
        .collect();
    for (label, d) in targets {
        let Some(addr) = d.args.first() else { continue };
        if !d.env_vars.is_empty() {
            continue;
        }
        let path = addr.strip_prefix("unix@").unwrap_or(addr);
        if !path.starts_with('/') || !address_is_unix(addr) {
            continue;
        }
        let inside = normalize(&Path::new(&root).join(path.trim_start_matches('/')));
        if sockets.contains(&inside) {
            continue;
        }
        let mut f = finding(
            "config.log-lost-in-chroot",
            format!("`log {addr}` from chroot {root}: logs are lost"),
        )
        .detail(format!(
            "HAProxy is chrooted to {root} and sends logs after the chroot, so `log {addr}` ({label}) writes to {} which no known rsyslog socket provides: every log line is silently dropped.",
            inside.display()
        ))
        .evidence(d.evidence())
        .evidence(format!("{root_loc}: chroot {root}"));
        if let Some(why) = &ctx.rsyslog_unread {
            // Without rsyslog's configuration nobody knows whether it creates
            // the socket inside the chroot: a doubt, not a fact.
            f.severity = f.severity.min(Severity::Warning);
            f.title = format!(
                "`log {addr}` from chroot {root}: logs may be lost (not verified: rsyslog configuration not read)"
            );
            f.detail = Some(format!(
                "HAProxy is chrooted to {root} and sends logs after the chroot, so `log {addr}` ({label}) writes to {}. rsyslog's configuration could not be read, so whether rsyslog creates that socket (`$AddUnixListenSocket {}`) is not verified: if it does not, every log line is silently dropped.",
                inside.display(),
                inside.display()
            ));
            f.evidence.push(why.clone());
        }
        out.push(conditional(f, d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lint::tests::*;

    #[test]
    fn no_log() {
        let cfg = GOOD.replace("    log 127.0.0.1:514 local0\n", "");
        let f = lint_text(&cfg, &LintContext::default());
        assert!(get(&f, "config.no-log")
            .evidence
            .iter()
            .any(|e| e.contains("log global")));
        // A proxy-level target is enough.
        let cfg2 = cfg.replace(
            "    bind :80\n",
            "    bind :80\n    log stdout format raw local0\n",
        );
        assert!(!has(
            &lint_text(&cfg2, &LintContext::default()),
            "config.no-log"
        ));
    }

    #[test]
    fn log_lost_in_chroot_both_directions() {
        let cfg = GOOD.replace(
            "    log 127.0.0.1:514 local0\n",
            "    log /dev/log local0\n    chroot /var/lib/haproxy\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let x = get(&f, "config.log-lost-in-chroot");
        assert!(x
            .detail
            .as_deref()
            .unwrap()
            .contains("/var/lib/haproxy/dev/log"));
        assert!(x
            .advice
            .as_deref()
            .unwrap()
            .contains("log 127.0.0.1:514 local0"));
        assert!(x.advice.as_deref().unwrap().contains("imudp"));
        let ctx = LintContext {
            rsyslog_unix_sockets: vec![PathBuf::from("/var/lib/haproxy/dev/log")],
            ..Default::default()
        };
        assert!(!has(&lint_text(&cfg, &ctx), "config.log-lost-in-chroot"));
        // A network target is fine even when chrooted.
        let net = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n    chroot /var/lib/haproxy\n",
        );
        assert!(!has(
            &lint_text(&net, &LintContext::default()),
            "config.log-lost-in-chroot"
        ));
    }

    #[test]
    fn chroot_logs_unverified_without_rsyslog_configuration() {
        let cfg = GOOD.replace(
            "    log 127.0.0.1:514 local0\n",
            "    log /dev/log local0\n    chroot /var/lib/haproxy\n",
        );
        let why = "rsyslog configuration not read: /etc/rsyslog.conf: No such file or directory";
        let ctx = LintContext {
            rsyslog_unread: Some(why.into()),
            ..Default::default()
        };
        let f = lint_text(&cfg, &ctx);
        let x = get(&f, "config.log-lost-in-chroot");
        assert_eq!(x.severity, Severity::Warning);
        assert!(x.title.contains("not verified"), "{}", x.title);
        assert!(x.evidence.iter().any(|e| e == why));
        assert!(x.detail.as_deref().unwrap().contains("not verified"));
        // Read and without the socket: a fact, an error.
        let f = lint_text(&cfg, &LintContext::default());
        assert_eq!(
            get(&f, "config.log-lost-in-chroot").severity,
            Severity::Error
        );
    }
}
