//! What HAProxy itself says about the configuration, and what stops it from
//! reading it: `haproxy -c` alerts and warnings (`config.invalid`,
//! `config.warning`), files that cannot be read or checked (documented here,
//! raised by the caller), syntax notes of the parser (`config.syntax`), and
//! the folding of a `haproxy -c` message into the rule that says the same
//! thing at the same place, so one problem is one finding.

use super::{finding, normalize, LintContext, RuleDoc};
use crate::base::report::{Finding, Severity};
use crate::config::check::CheckMessage;
use crate::config::model::ConfigModel;
use std::path::{Path, PathBuf};

pub(super) const INVALID: RuleDoc = RuleDoc {
    id: "config.invalid",
    severity: Severity::Error,
    title: "haproxy -c reports an error",
    meaning: "HAProxy refuses this configuration: a reload will fail and keep the old process (or a start will fail).",
    fix: "Fix the directive at the reported file:line, then run `haproxy -c -f <config>` until it exits 0.",
};

pub(super) const WARNING: RuleDoc = RuleDoc {
    id: "config.warning",
    severity: Severity::Warning,
    title: "haproxy -c reports a warning",
    meaning: "HAProxy accepts the configuration but something does not do what it says (ignored directive, missing timeout, fallback).",
    fix: "Fix the directive at the reported file:line; `haproxy -c` should print no warning (add `zero-warning` to global to enforce it).",
};

pub(super) const UNREADABLE: RuleDoc = RuleDoc {
    id: "config.unreadable",
    severity: Severity::Error,
    title: "Configuration cannot be read",
    meaning: "The configuration path is missing, unreadable, not a regular file or directory, a binary file or larger than 16 MiB: HAProxy cannot load it either, and no rule could be checked.",
    fix: "Pass the right file or directory with `-c PATH` (HAProxy reads `*.cfg` of a directory in lexical order); check permissions with `ls -l PATH` (run as a user that can read it, e.g. `sudo harun ...`).",
};

pub(super) const CHECK_UNAVAILABLE: RuleDoc = RuleDoc {
    id: "config.check-unavailable",
    severity: Severity::Warning,
    title: "haproxy -c could not be run",
    meaning: "The haproxy binary was not found, could not be executed or `haproxy -c` timed out: the configuration was only linted, not validated by HAProxy itself.",
    fix: "Install HAProxy (`apt-get install haproxy`) or pass its path with `--haproxy-bin /usr/sbin/haproxy` (or `HARUN_HAPROXY_BIN`), then run `harun check_config` again.",
};

pub(super) const SYNTAX: RuleDoc = RuleDoc {
    id: "config.syntax",
    severity: Severity::Warning,
    title: "Syntax problem (quote, escape, environment variable or .if block)",
    meaning: "An unterminated quote, an invalid `\\x` escape, a `${VAR` without its `}`, an unbalanced `.if`/`.endif`, `.elif` after `.else`, or `.if` blocks nested deeper than HAProxy's 100 levels: HAProxy will reject the file or read it differently than intended.",
    fix: "Fix the line named in the evidence: close the quote or the `${...}` on the same line, write `\\xNN` with two hex digits, add the missing `.endif` or remove the stray one.",
};

/// Rules that say what a `haproxy -c` message says, with words of that message.
/// Only these absorb a message at their location: an unrelated HAProxy error on
/// a `server` line or a section header must stay a `config.invalid` of its own.
const SAME_AS_CHECK: &[(&str, &[&str])] = &[
    ("config.nbproc", &["nbproc"]),
    ("config.timeouts-missing", &["missing timeouts"]),
    (
        "config.syntax",
        &["quote", "'.if'", "'.elif'", "'.else'", "'.endif'"],
    ),
    ("config.maxconn-vs-ulimit", &["ulimit-n"]),
];

/// `file:line` of an evidence line written as `file:line: ...`.
fn evidence_location(e: &str) -> Option<(PathBuf, usize)> {
    let (loc, _) = e.split_once(": ")?;
    let (file, line) = loc.rsplit_once(':')?;
    Some((normalize(Path::new(file)), line.parse().ok()?))
}

/// Where a `haproxy -c` message points: its `[file:line]`, or else the header
/// of the proxy it names (`missing timeouts for frontend 'fe'`).
fn message_locations(model: &ConfigModel, m: &CheckMessage) -> Vec<(PathBuf, usize)> {
    if let (Some(file), Some(line)) = (&m.file, m.line) {
        return vec![(normalize(Path::new(file)), line)];
    }
    let Some(name) = &m.proxy else {
        return Vec::new();
    };
    model
        .proxies()
        .filter(|s| {
            s.name.as_deref() == Some(name.as_str())
                && m.text.contains(&format!("{} '{name}'", s.kind))
        })
        .map(|s| (normalize(&s.file), s.line))
        .collect()
}

/// Folds `haproxy -c` findings into the rule findings that say the same thing;
/// returns the `haproxy -c` findings that are left.
pub(super) fn fold_check_findings(
    model: &ConfigModel,
    checks: Vec<(Finding, Option<&CheckMessage>)>,
    rules: &mut [Finding],
) -> Vec<Finding> {
    let mut left = Vec::new();
    for (f, m) in checks {
        let Some(m) = m else {
            left.push(f);
            continue;
        };
        let text = m.text.to_ascii_lowercase();
        let locs = message_locations(model, m);
        let mut folded = false;
        for r in rules.iter_mut() {
            let related = SAME_AS_CHECK
                .iter()
                .any(|(id, words)| r.id == *id && words.iter().any(|w| text.contains(w)));
            let here = r
                .evidence
                .first()
                .and_then(|e| evidence_location(e))
                .is_some_and(|l| locs.contains(&l));
            if !(related && here) {
                continue;
            }
            r.severity = r.severity.max(f.severity);
            let first = m.text.lines().next().unwrap_or("");
            r.evidence.push(match m.location() {
                Some(loc) => format!("haproxy -c {} ({loc}): {first}", m.level),
                None => format!("haproxy -c {}: {first}", m.level),
            });
            folded = true;
        }
        if !folded {
            left.push(f);
        }
    }
    left
}

/// `config.invalid` and `config.warning` findings, each with the message it comes from.
pub(super) fn check_findings<'a>(
    model: &ConfigModel,
    ctx: &'a LintContext,
) -> Vec<(Finding, Option<&'a CheckMessage>)> {
    let mut out = Vec::new();
    let Some(check) = &ctx.check else { return out };
    let is_summary = |t: &str| {
        t.starts_with("Error(s) found in configuration file")
            || t.starts_with("Fatal errors found in configuration")
            || t.starts_with("Failed to initialize server(s) addr")
    };
    // Nothing was read: HAProxy could not open it either, and the caller says so.
    let unread = model.files.is_empty();
    let not_opened = |t: &str| unread && t.starts_with("Cannot open configuration file");
    let specific: Vec<_> = check.alerts().filter(|a| !is_summary(&a.text)).collect();
    let alerts: Vec<_> = if specific.is_empty() {
        check.alerts().collect()
    } else {
        specific
    };
    let opened_failed = alerts.iter().any(|a| not_opened(&a.text));
    let alerts: Vec<_> = alerts
        .into_iter()
        .filter(|a| !not_opened(&a.text))
        .collect();
    for a in &alerts {
        let first = a.text.lines().next().unwrap_or("");
        let mut f = finding("config.invalid", format!("haproxy -c: {first}"));
        f.evidence.push(match a.location() {
            Some(loc) => format!("{loc}: {}", a.text),
            None => a.text.clone(),
        });
        out.push((f, Some(*a)));
    }
    if !check.valid && alerts.is_empty() && !opened_failed && !unread {
        out.push((
            finding(
                "config.invalid",
                format!("haproxy -c failed with exit code {}", check.exit_code),
            )
            .evidence(format!("haproxy -c exit code {}", check.exit_code)),
            None,
        ));
    }
    for w in check.warnings() {
        let first = w.text.lines().next().unwrap_or("");
        let mut f = finding("config.warning", format!("haproxy -c: {first}"));
        f.evidence.push(match w.location() {
            Some(loc) => format!("{loc}: {}", w.text),
            None => w.text.clone(),
        });
        out.push((f, Some(w)));
    }
    out
}

pub(super) fn syntax(model: &ConfigModel, out: &mut Vec<Finding>) {
    for n in &model.notes {
        out.push(
            finding("config.syntax", format!("Syntax: {}", n.message)).evidence(format!(
                "{}: {}",
                n.location(),
                n.message
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::check::parse_check_output;
    use crate::config::lint::tests::*;
    use crate::config::lint::{lint, LintContext};

    #[test]
    fn check_alerts_and_warnings_with_locations() {
        let check = parse_check_output(
            "[ALERT]    (9) : config : parsing [u.cfg:3] : unknown keyword 'foo' in 'global' section\n[ALERT]    (9) : config : Error(s) found in configuration file : u.cfg\n[ALERT]    (9) : config : Fatal errors found in configuration.\n[WARNING]  (9) : config : parsing [u.cfg:10] : 'option httplog' not usable\n",
            1,
        );
        let f = lint_text(
            GOOD,
            &LintContext {
                check: Some(check),
                ..Default::default()
            },
        );
        let inv: Vec<_> = f.iter().filter(|x| x.id == "config.invalid").collect();
        assert_eq!(inv.len(), 1, "summary lines are not separate findings");
        assert_eq!(inv[0].severity, Severity::Error);
        assert!(inv[0].evidence[0].starts_with("u.cfg:3: unknown keyword"));
        assert!(get(&f, "config.warning").evidence[0].starts_with("u.cfg:10:"));
        // Invalid without any alert still reports.
        let f = lint_text(
            GOOD,
            &LintContext {
                check: Some(parse_check_output("", 1)),
                ..Default::default()
            },
        );
        assert!(get(&f, "config.invalid").title.contains("exit code 1"));
    }

    #[test]
    fn haproxy_c_duplicates_fold_into_the_rule() {
        // nbproc on 2.6: haproxy -c alert and config.nbproc at the same line.
        let cfg = GOOD.replace("    maxconn 4096\n", "    maxconn 4096\n    nbproc 2\n");
        let ctx = with_check(
            "[NOTICE]   (1) : haproxy version is 2.6.12-1+deb12u4\n[ALERT]    (1) : config : parsing [h.cfg:4] : nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available.\n[ALERT]    (1) : config : Error(s) found in configuration file : h.cfg\n[ALERT]    (1) : config : Fatal errors found in configuration.\n",
            1,
        );
        let f = lint_text(&cfg, &ctx);
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        let n = get(&f, "config.nbproc");
        assert_eq!(n.severity, Severity::Error);
        assert!(n.evidence[0].starts_with("h.cfg:4: nbproc 2"));
        assert!(
            n.evidence
                .iter()
                .any(|e| e.starts_with("haproxy -c alert (h.cfg:4): nbproc is not supported")),
            "{:?}",
            n.evidence
        );
        // Under .if the rule is capped at warning; HAProxy's alert raises it back.
        let cond = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n.if defined(X)\n    nbproc 2\n.endif\n",
        );
        let ctx = with_check(
            "[ALERT]    (1) : config : parsing [h.cfg:5] : nbproc is not supported any more since HAProxy 2.5.\n",
            1,
        );
        let f = lint_text(&cond, &ctx);
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        assert_eq!(get(&f, "config.nbproc").severity, Severity::Error);

        // Two proxies without timeouts: two warnings, named by proxy, no file:line.
        let cfg = "global\n    log 127.0.0.1:514 local0\n    maxconn 10\n    stats socket /run/h.sock mode 600 level admin\nfrontend fe\n    mode http\n    bind :80\n    default_backend bk\nbackend bk\n    mode http\n    server s1 10.0.0.1:80 check\n    server s2 10.0.0.2:80 check\n    option prefer-last-server\n";
        let ctx = with_check(
            "[WARNING]  (1) : config : missing timeouts for frontend 'fe'.\n   | While not properly invalid, you will certainly encounter various problems\n[WARNING]  (1) : config : missing timeouts for backend 'bk'.\n   | While not properly invalid.\n",
            0,
        );
        let f = lint_text(cfg, &ctx);
        assert!(!has(&f, "config.warning"), "{:?}", ids(&f));
        let t: Vec<_> = f
            .iter()
            .filter(|x| x.id == "config.timeouts-missing")
            .collect();
        assert_eq!(t.len(), 2, "{:?}", ids(&f));
        assert!(t[0].title.starts_with("frontend fe"));
        assert_eq!(
            t[0].evidence.last().unwrap(),
            "haproxy -c warning: missing timeouts for frontend 'fe'."
        );
        assert!(t[1].evidence.last().unwrap().contains("backend 'bk'"));
        assert_eq!(t[1].severity, Severity::Warning);

        // An unrelated HAProxy error on a flagged server line stays its own finding.
        let cfg = GOOD.replace(
            "    server s2 10.0.0.2:80 check\n",
            "    server s2 nowhere.invalid:80\n",
        );
        let ctx = with_check(
            "[ALERT]    (1) : config : parsing [h.cfg:17] : 'server bk/s2' : could not resolve address 'nowhere.invalid'.\n",
            1,
        );
        let f = lint_text(&cfg, &ctx);
        assert!(has(&f, "config.invalid"), "{:?}", ids(&f));
        let h = get(&f, "config.no-health-check");
        assert_eq!(h.severity, Severity::Warning);
        assert_eq!(h.evidence.len(), 1);
        // A syntax problem both see.
        let cfg = format!("{GOOD}.endif\n");
        let ctx = with_check(
            "[ALERT]    (1) : config : parsing [h.cfg:18]: lone '.endif' with no matching '.if'.\n",
            1,
        );
        let f = lint_text(&cfg, &ctx);
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        assert_eq!(get(&f, "config.syntax").severity, Severity::Error);
    }

    #[test]
    fn unreadable_configuration_is_not_also_invalid() {
        let missing = with_check(
            "[ALERT]    (1) : config : Cannot open configuration file/directory /nope.cfg : No such file or directory\n",
            1,
        );
        // Nothing was read (the caller reports config.unreadable).
        let f = lint(&ConfigModel::default(), &missing);
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        // Without any alert, an unread configuration is not "failed with exit code" either.
        let f = lint(&ConfigModel::default(), &with_check("", 1));
        assert!(!has(&f, "config.invalid"), "{:?}", ids(&f));
        // Another alert about an unread file is still reported.
        let other = with_check(
            "[ALERT]    (1) : config : parsing [b.cfg:1] : unknown keyword 'ELF'.\n",
            1,
        );
        assert!(has(
            &lint(&ConfigModel::default(), &other),
            "config.invalid"
        ));
        // A readable model keeps HAProxy's word.
        assert!(has(&lint_text(GOOD, &missing), "config.invalid"));
    }
}
