//! The servers of backends: servers without health checks, so a dead one
//! keeps its share of traffic (`config.no-health-check`, `track` and
//! `default-server check` count), and backends with a single server
//! (`config.single-server-backend`).

use super::{finding, RuleDoc};
use crate::base::report::{Finding, Severity};
use crate::config::model::{ConfigModel, Directive};

pub(super) const NO_HEALTH_CHECK: RuleDoc = RuleDoc {
    id: "config.no-health-check",
    severity: Severity::Warning,
    title: "Servers without health checks",
    meaning: "Servers without `check` (and without `track`, which follows another server's checks) are always considered UP: a dead server keeps receiving its share of traffic and clients get 503 or timeouts.",
    fix: "Add `check` to each server line (or `default-server check inter 2s fall 3 rise 2` in the backend), plus `option httpchk GET /health` for HTTP backends.",
};

pub(super) const SINGLE_SERVER_BACKEND: RuleDoc = RuleDoc {
    id: "config.single-server-backend",
    severity: Severity::Info,
    title: "Backend with a single server",
    meaning: "No redundancy: draining or losing this server takes the whole backend down (harun refuses to drain the last UP server).",
    fix: "Add a second server (`server s2 <addr>:<port> check`), or a `backup` server.",
};

pub(super) fn backends(model: &ConfigModel, out: &mut Vec<Finding>) {
    for s in model
        .proxies()
        .filter(|s| s.kind == "backend" || s.kind == "listen")
    {
        let servers: Vec<&Directive> = s.find("server").collect();
        let templates = s.find("server-template").count();
        if servers.is_empty() && templates == 0 {
            continue;
        }
        let default_check = s
            .find("default-server")
            .chain(
                model
                    .defaults_chain(s)
                    .into_iter()
                    .flat_map(|d| d.find("default-server")),
            )
            .any(|d| d.has_arg("check"));
        if !default_check {
            let unchecked: Vec<&&Directive> = servers
                .iter()
                .filter(|d| {
                    // `track bk/srv` follows the tracked server's checks.
                    let params = d.args.get(2..).unwrap_or_default();
                    !d.has_arg("check")
                        && !d.has_arg("disabled")
                        && !params.iter().any(|a| a == "track")
                })
                .collect();
            if !unchecked.is_empty() {
                let names: Vec<&str> = unchecked
                    .iter()
                    .filter_map(|d| d.args.first().map(String::as_str))
                    .collect();
                let mut f = finding(
                    "config.no-health-check",
                    format!("{}: no health check on {}", s.label(), names.join(", ")),
                );
                for d in &unchecked {
                    f.evidence.push(d.evidence());
                }
                out.push(f);
            }
        }
        if servers.len() == 1 && templates == 0 {
            out.push(
                finding(
                    "config.single-server-backend",
                    format!("{} has a single server", s.label()),
                )
                .evidence(servers[0].evidence()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::lint::tests::*;
    use crate::config::lint::LintContext;

    #[test]
    fn health_checks_and_single_server() {
        let cfg = GOOD.replace(
            "    server s2 10.0.0.2:80 check\n",
            "    server s2 10.0.0.2:80\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let h = get(&f, "config.no-health-check");
        assert!(h.title.ends_with("s2"));
        // default-server check in defaults covers it.
        let cfg2 = cfg.replace(
            "    mode http\n",
            "    mode http\n    default-server check\n",
        );
        assert!(!has(
            &lint_text(&cfg2, &LintContext::default()),
            "config.no-health-check"
        ));
        let one = GOOD.replace("    server s2 10.0.0.2:80 check\n", "");
        assert!(has(
            &lint_text(&one, &LintContext::default()),
            "config.single-server-backend"
        ));
    }

    #[test]
    fn tracking_servers_need_no_check() {
        let cfg = GOOD.replace(
            "    server s2 10.0.0.2:80 check\n",
            "    server s2 10.0.0.2:80 track bk/s1\n    server s3 10.0.0.3:80\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        let h = get(&f, "config.no-health-check");
        assert!(h.title.ends_with("no health check on s3"), "{}", h.title);
        // A server named `track` is not a tracker.
        let cfg = GOOD.replace("server s2 10.0.0.2:80 check", "server track 10.0.0.2:80");
        assert!(has(
            &lint_text(&cfg, &LintContext::default()),
            "config.no-health-check"
        ));
    }
}
