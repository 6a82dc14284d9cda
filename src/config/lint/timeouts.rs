//! Missing client, connect and server timeouts of proxies
//! (`config.timeouts-missing`), following `defaults` (named ones too) and the
//! legacy `clitimeout`/`contimeout`/`srvtimeout`; `timeout X 0` counts as
//! missing.

use super::{finding, RuleDoc};
use crate::base::report::{Finding, Severity};
use crate::config::model::{ConfigModel, Section};

pub(super) const TIMEOUTS_MISSING: RuleDoc = RuleDoc {
    id: "config.timeouts-missing",
    severity: Severity::Warning,
    title: "Missing timeouts",
    meaning: "Without `timeout client` (frontends) or `timeout connect`/`timeout server` (backends), stalled connections are never closed: they pile up until maxconn is reached and new clients queue forever.",
    fix: "In defaults: `timeout connect 5s`, `timeout client 30s`, `timeout server 30s`.",
};

fn has_timeout(model: &ConfigModel, s: &Section, which: &str, legacy: &str) -> bool {
    let kw = format!("timeout {which}");
    let own = model
        .effective_last(s, &kw)
        .map(|d| d.args.get(1).map(String::as_str) != Some("0"));
    own.unwrap_or(false) || model.effective_last(s, legacy).is_some()
}

pub(super) fn timeouts(model: &ConfigModel, out: &mut Vec<Finding>) {
    for s in model.proxies() {
        let mode = model.effective_mode(s);
        if mode != "http" && mode != "tcp" {
            continue;
        }
        let mut missing = Vec::new();
        if matches!(s.kind.as_str(), "frontend" | "listen")
            && !has_timeout(model, s, "client", "clitimeout")
        {
            missing.push("client");
        }
        if matches!(s.kind.as_str(), "backend" | "listen") {
            if !has_timeout(model, s, "connect", "contimeout") {
                missing.push("connect");
            }
            if !has_timeout(model, s, "server", "srvtimeout") {
                missing.push("server");
            }
        }
        if missing.is_empty() {
            continue;
        }
        let lines: Vec<String> = missing
            .iter()
            .map(|m| format!("timeout {m} {}", if *m == "connect" { "5s" } else { "30s" }))
            .collect();
        out.push(
            finding(
                "config.timeouts-missing",
                format!("{}: no timeout {}", s.label(), missing.join("/")),
            )
            .evidence(format!(
                "{}: {} (not set here nor in its defaults)",
                s.location(),
                s.label()
            ))
            .advice(format!(
                "Add to its defaults section (or to {}): {}",
                s.label(),
                lines
                    .iter()
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::lint::tests::*;
    use crate::config::lint::LintContext;

    #[test]
    fn timeouts_missing_with_inheritance() {
        let cfg = GOOD.replace("    timeout server 30s\n", "");
        let f = lint_text(&cfg, &LintContext::default());
        let t = get(&f, "config.timeouts-missing");
        assert!(t.title.starts_with("backend bk: no timeout server"));
        assert!(t.advice.as_deref().unwrap().contains("timeout server 30s"));
        // Set in the backend itself: fine.
        let cfg2 = cfg.replace("backend bk\n", "backend bk\n    timeout server 10s\n");
        assert!(!has(
            &lint_text(&cfg2, &LintContext::default()),
            "config.timeouts-missing"
        ));
        // timeout 0 means none.
        let cfg3 = GOOD.replace("timeout client 30s", "timeout client 0");
        assert!(get(
            &lint_text(&cfg3, &LintContext::default()),
            "config.timeouts-missing"
        )
        .title
        .contains("frontend fe"));
    }
}
