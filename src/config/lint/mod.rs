//! Lint rules over a [`ConfigModel`] (and optionally a `haproxy -c` result).
//!
//! Every finding has a stable id, the `file:line` evidence, a `detail` saying
//! what it means and an `advice` with the exact configuration to write.
//! Directives inside `.if` blocks are treated carefully: they count as present
//! for "missing X" rules, and findings they trigger are capped at `warning`.
//!
//! This module owns what every rule shares: the [`LintContext`], the registry
//! of [`RuleDoc`]s (each family documents its own ids next to its code), the
//! runner [`lint`] that calls the families in a fixed order and aggregates
//! repeated findings, and the helpers `finding`/`conditional`. The rules live
//! by family: what HAProxy itself says and syntax (`validity`), the process
//! (`process`), logging (`logging`), HTTP keep-alive and response headers
//! (`http`), the runtime API's stats sockets (`stats_socket`), timeouts
//! (`timeouts`), servers of backends (`backends`). A new rule goes into its
//! family's file, its `RuleDoc` into [`rule_docs`]'s registry below.

mod backends;
mod http;
mod logging;
mod process;
mod stats_socket;
mod timeouts;
mod validity;

use super::check::CheckResult;
use super::model::{ConfigModel, Directive};
use crate::base::report::{Finding, Severity};
use serde::Serialize;
use std::path::{Component, Path, PathBuf};

/// What the lint knows beyond the configuration text.
#[derive(Clone, Debug, Default)]
pub struct LintContext {
    /// The result of `haproxy -c` on the same files, if it was run.
    pub check: Option<CheckResult>,
    /// UNIX sockets rsyslog creates (e.g. Debian's `/var/lib/haproxy/dev/log`
    /// from `$AddUnixListenSocket`).
    pub rsyslog_unix_sockets: Vec<PathBuf>,
    /// The HAProxy version (`2.6.12`, `2.6.12-1+deb12u4`), if known.
    pub haproxy_version: Option<String>,
    /// Why rsyslog's configuration could not be read, when it could not: the
    /// chroot socket check is then not verified (`config.log-lost-in-chroot`
    /// drops to warning).
    pub rsyslog_unread: Option<String>,
}

/// Documentation of one rule, for `docs/findings.md`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RuleDoc {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub meaning: &'static str,
    pub fix: &'static str,
}

static RULES: &[RuleDoc] = &[
    validity::INVALID,
    validity::WARNING,
    validity::UNREADABLE,
    validity::CHECK_UNAVAILABLE,
    validity::SYNTAX,
    process::NBPROC,
    logging::NO_LOG,
    logging::LOG_LOST_IN_CHROOT,
    http::SERVER_CLOSE,
    http::NO_PREFER_LAST_SERVER,
    stats_socket::NO_STATS_SOCKET,
    stats_socket::STATS_SOCKET_NOT_ADMIN,
    stats_socket::STATS_SOCKET_EXPOSED,
    stats_socket::STATS_SOCKET_WORLD_WRITABLE,
    http::DEBUG_HEADER,
    timeouts::TIMEOUTS_MISSING,
    process::NO_MAXCONN,
    process::MAXCONN_VS_ULIMIT,
    backends::NO_HEALTH_CHECK,
    backends::SINGLE_SERVER_BACKEND,
];

/// Documentation of every rule id [`lint`] can emit.
pub fn rule_docs() -> &'static [RuleDoc] {
    RULES
}

fn doc(id: &str) -> Option<&'static RuleDoc> {
    RULES.iter().find(|r| r.id == id)
}

/// A finding pre-filled from the rule's documentation.
fn finding(id: &'static str, title: impl Into<String>) -> Finding {
    match doc(id) {
        Some(d) => Finding::new(d.severity, id, title)
            .detail(d.meaning)
            .advice(d.fix),
        None => Finding::new(Severity::Warning, id, title),
    }
}

/// Caps a finding raised by a conditional directive at `warning`.
fn conditional(mut f: Finding, d: &Directive) -> Finding {
    if let Some(c) = &d.condition {
        f.severity = f.severity.min(Severity::Warning);
        let detail = f.detail.take().unwrap_or_default();
        f.detail = Some(format!(
            "{detail} This directive only applies when `.if {c}` holds."
        ));
    }
    f
}

/// Runs every rule.
///
/// `haproxy -c` messages that say what a rule says (same file:line, or the
/// same proxy for "missing timeouts") are folded into the rule's finding: it
/// keeps its meaning and fix, takes the worse of both severities and gets
/// HAProxy's text as evidence (`haproxy -c alert (file:line): ...`). A model
/// without any file means the configuration could not be read: HAProxy's
/// "Cannot open configuration file" is then not reported again as
/// `config.invalid` (the caller reports `config.unreadable`).
pub fn lint(model: &ConfigModel, ctx: &LintContext) -> Vec<Finding> {
    let checks = validity::check_findings(model, ctx);
    let mut rules = Vec::new();
    validity::syntax(model, &mut rules);
    process::nbproc(model, ctx, &mut rules);
    logging::logging(model, ctx, &mut rules);
    http::keep_alive(model, &mut rules);
    stats_socket::stats_socket_rules(model, &mut rules);
    stats_socket::world_writable_sockets(model, &mut rules);
    http::debug_header(model, &mut rules);
    timeouts::timeouts(model, &mut rules);
    process::maxconn(model, &mut rules);
    backends::backends(model, &mut rules);
    let mut out = validity::fold_check_findings(model, checks, &mut rules);
    out.extend(rules);
    aggregate(out)
}

/// Lexically normalises a path (`/a/./b/../c` -> `/a/c`), no filesystem access.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Above this many findings with one id, they become one finding.
const AGGREGATE_ABOVE: usize = 10;

/// One finding per id once an id repeats more than [`AGGREGATE_ABOVE`] times:
/// a farm of 2,000 backends without `check` is one problem to fix, not 2,000
/// lines to scroll through at 3 a.m. The first places are kept as evidence.
fn aggregate(findings: Vec<Finding>) -> Vec<Finding> {
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for f in &findings {
        *counts.entry(f.id.clone()).or_default() += 1;
    }
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut merged: std::collections::HashMap<String, usize> = Default::default();
    for f in findings {
        let n = counts[&f.id];
        if n <= AGGREGATE_ABOVE {
            out.push(f);
            continue;
        }
        let line = match f.evidence.first() {
            Some(e) => format!("{} ({e})", f.title),
            None => f.title.clone(),
        };
        match merged.get(&f.id) {
            Some(&i) => {
                let agg = &mut out[i];
                agg.severity = agg.severity.max(f.severity);
                if agg.evidence.len() < crate::base::report::MAX_EVIDENCE {
                    agg.evidence.push(line);
                }
            }
            None => {
                let title = doc(&f.id).map_or(f.id.as_str(), |d| d.title);
                let mut agg = f.clone();
                agg.title = format!("{title}: {n} places");
                agg.evidence = vec![line];
                merged.insert(f.id.clone(), out.len());
                out.push(agg);
            }
        }
    }
    for i in merged.values() {
        let agg = &mut out[*i];
        let n = counts[&agg.id];
        if n > agg.evidence.len() {
            let more = n - agg.evidence.len();
            agg.evidence.push(crate::base::report::more_evidence(more));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::check::parse_check_output;
    use crate::config::model::{load_config, parse_config};

    pub(super) fn lint_text(text: &str, ctx: &LintContext) -> Vec<Finding> {
        lint(&parse_config(text, Path::new("h.cfg")), ctx)
    }

    pub(super) fn ids(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.id.as_str()).collect()
    }

    pub(super) fn has(f: &[Finding], id: &str) -> bool {
        f.iter().any(|x| x.id == id)
    }

    pub(super) fn get<'a>(f: &'a [Finding], id: &str) -> &'a Finding {
        f.iter()
            .find(|x| x.id == id)
            .unwrap_or_else(|| panic!("no {id} in {:?}", ids(f)))
    }

    pub(super) const GOOD: &str = "global
    log 127.0.0.1:514 local0
    maxconn 4096
    stats socket /run/haproxy/admin.sock mode 660 level admin
defaults
    mode http
    log global
    option prefer-last-server
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind :80
    default_backend bk
backend bk
    server s1 10.0.0.1:80 check
    server s2 10.0.0.2:80 check
";

    pub(super) fn with_check(output: &str, code: i32) -> LintContext {
        LintContext {
            check: Some(parse_check_output(output, code)),
            ..Default::default()
        }
    }

    /// Reads a Debian-installed file at test time; missing files fail under CI=true.
    pub(super) fn installed(path: &str) -> Option<PathBuf> {
        let p = PathBuf::from(path);
        if p.exists() {
            return Some(p);
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {path} is missing: install Debian's haproxy package"
        );
        None
    }

    #[test]
    fn clean_config_has_no_findings() {
        let f = lint_text(GOOD, &LintContext::default());
        assert!(f.is_empty(), "{:?}", ids(&f));
    }

    #[test]
    fn every_finding_is_documented_and_complete() {
        let bad = "global\n  nbproc 4\n  chroot /var/lib/haproxy\n  log /dev/log local0\n  stats socket ipv4@0.0.0.0:666 level admin\n  stats socket /run/haproxy/admin.sock mode 666 level admin\n  maxconn 5000\n  ulimit-n 4000\n.if 1\n  \"unterminated\n.endif\n.endif\ndefaults\n  mode http\n  option http-server-close\nfrontend fe\n  bind :80\nbackend bk\n  http-response set-header X-Test ok\n  server s1 10.0.0.1:80\nbackend bk2\n  no option http-server-close\n  timeout connect 1s\n  timeout server 1s\n  server a 1.1.1.1:80 check\n  server b 1.1.1.2:80 check\n";
        let check = parse_check_output(
            "[ALERT]    (1) : config : parsing [h.cfg:2] : nbproc is not supported any more since HAProxy 2.5.\n[ALERT]    (1) : config : parsing [h.cfg:3] : unknown keyword 'x'.\n[WARNING]  (1) : config : missing timeouts for frontend 'fe'.\n[WARNING]  (1) : config : parsing [h.cfg:9] : something else.\n",
            1,
        );
        let f = lint_text(
            bad,
            &LintContext {
                check: Some(check),
                ..Default::default()
            },
        );
        for x in &f {
            let d = doc(&x.id).unwrap_or_else(|| panic!("{} undocumented", x.id));
            assert!(!x.evidence.is_empty(), "{} has no evidence", x.id);
            assert!(x.detail.is_some() && x.advice.is_some(), "{}", x.id);
            let _ = d;
        }
        for id in [
            "config.invalid",
            "config.warning",
            "config.syntax",
            "config.nbproc",
            "config.log-lost-in-chroot",
            "config.server-close",
            "config.no-prefer-last-server",
            "config.stats-socket-exposed",
            "config.stats-socket-world-writable",
            "config.debug-header",
            "config.timeouts-missing",
            "config.maxconn-vs-ulimit",
            "config.no-health-check",
            "config.single-server-backend",
        ] {
            assert!(has(&f, id), "{id} missing from {:?}", ids(&f));
        }
        // Every documented id is unique.
        let mut all: Vec<_> = rule_docs().iter().map(|r| r.id).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), rule_docs().len());
    }

    #[test]
    fn repeated_findings_are_aggregated() {
        let mut cfg = String::from(
            "defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n",
        );
        for i in 0..25 {
            cfg.push_str(&format!(
                "backend bk{i}\n    server a 127.0.0.1:80\n    server b 127.0.0.1:81\n"
            ));
        }
        let f = lint_text(&cfg, &LintContext::default());
        let hc: Vec<_> = f
            .iter()
            .filter(|f| f.id == "config.no-health-check")
            .collect();
        assert_eq!(hc.len(), 1, "{:?}", ids(&f));
        assert_eq!(hc[0].title, "Servers without health checks: 25 places");
        assert_eq!(hc[0].evidence.len(), crate::base::report::MAX_EVIDENCE + 1);
        assert!(hc[0].evidence[0].starts_with("backend bk0: no health check on a, b (h.cfg:"));
        assert_eq!(
            hc[0].evidence[crate::base::report::MAX_EVIDENCE],
            "... and 13 more"
        );
    }

    #[test]
    fn bad_inputs_do_not_panic() {
        let weird = ".if\n.elif\n.else\n\"\n'\nglobal \"${\nstats socket\nstats socket x level\nnbproc -1\nnbproc 99999999999999999999999\nlog\nchroot\nmaxconn x\nulimit-n 1\n\\\nbackend\nserver\ndefaults from\nfrontend x from nowhere\nunknown-keyword a b c\nhttp-response set-header\n.endif\n";
        let f = lint_text(
            weird,
            &LintContext {
                haproxy_version: Some("garbage".into()),
                ..Default::default()
            },
        );
        assert!(!f.is_empty());
        let m = parse_config("\u{0}\u{1}\u{ff}\n\t\t\n#\n", Path::new("x"));
        let _ = lint(&m, &LintContext::default());
    }

    #[test]
    fn debian_default_config_log_socket_both_ways() {
        let Some(p) = installed("/etc/haproxy/haproxy.cfg") else {
            return;
        };
        let m = load_config(&[p]).unwrap();
        let without = lint(&m, &LintContext::default());
        assert!(
            has(&without, "config.log-lost-in-chroot"),
            "{:?}",
            ids(&without)
        );
        let ctx = LintContext {
            rsyslog_unix_sockets: vec![PathBuf::from("/var/lib/haproxy/dev/log")],
            ..Default::default()
        };
        let with = lint(&m, &ctx);
        assert!(!has(&with, "config.log-lost-in-chroot"), "{:?}", ids(&with));
        assert!(!has(&with, "config.no-stats-socket"));
        assert!(!has(&with, "config.stats-socket-not-admin"));
    }

    #[test]
    fn debian_example_configs_parse_and_lint() {
        let Some(dir) = installed("/usr/share/doc/haproxy/examples") else {
            return;
        };
        let mut seen = 0;
        let entries = std::fs::read_dir(&dir).unwrap();
        for e in entries {
            let path = e.unwrap().path();
            let name = path.to_string_lossy().to_string();
            let text = if name.ends_with(".cfg") {
                crate::config::model::read_config_file(&path).unwrap()
            } else if name.ends_with(".cfg.gz") {
                let out = std::process::Command::new("zcat")
                    .arg(&path)
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).into_owned()
            } else {
                continue;
            };
            let m = parse_config(&text, &path);
            let _ = lint(&m, &LintContext::default());
            seen += 1;
        }
        assert!(seen > 0, "no example config under {}", dir.display());
        // The whole directory through load_config too.
        let m = load_config(&[dir]).unwrap();
        assert!(!m.sections.is_empty());
        let _ = lint(&m, &LintContext::default());
    }

    #[test]
    fn fixtures_lint() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs");
        let m = load_config(&[dir.join("valid.cfg")]).unwrap();
        let f = lint(&m, &LintContext::default());
        assert!(f.is_empty(), "{:?}", ids(&f));
        let m = load_config(&[dir.join("conditional-unknown.cfg")]).unwrap();
        let f = lint(&m, &LintContext::default());
        let n = get(&f, "config.nbproc");
        assert_eq!(n.severity, Severity::Warning);
        assert!(n.evidence[0].contains("under .if version_before(2.5)"));
        assert!(!has(&f, "config.syntax"));
    }
}
