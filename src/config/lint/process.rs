//! The process as a whole, from `global`: several processes instead of
//! threads (`config.nbproc`, whose severity depends on the HAProxy version),
//! and the connection limit (`config.no-maxconn`, `config.maxconn-vs-ulimit`:
//! a `ulimit-n` too small for two descriptors per connection).

use super::{conditional, finding, LintContext, RuleDoc};
use crate::base::report::{Finding, Severity};
use crate::config::model::ConfigModel;

const NBPROC_MEANING: &str = "Several processes share no memory: stats and counters are per process (a tool must query every process's own stats socket and add them up), server states (DOWN, MAINT, DRAIN) are per process so a `set server` on one socket changes one process only, every process runs its own health checks (checks multiplied by nbproc), stick tables and maxconn are per process. Only defensible for heavy SSL offload on HAProxy <= 2.4. Since 2.5 `nbproc` is a fatal configuration error.";
const NBPROC_FIX: &str = "Remove `nbproc N` from global and use threads: `nbthread N` (since 2.0 HAProxy already starts one thread per CPU it is bound to, where the platform supports CPU affinity, as Linux does) and optionally `cpu-map auto:1/1-N 0-(N-1)`; bind one `stats socket` per HAProxy, not per process.";

pub(super) const NBPROC: RuleDoc = RuleDoc {
    id: "config.nbproc",
    severity: Severity::Error,
    title: "nbproc > 1 (multi-process)",
    meaning: NBPROC_MEANING,
    fix: NBPROC_FIX,
};

pub(super) const NO_MAXCONN: RuleDoc = RuleDoc {
    id: "config.no-maxconn",
    severity: Severity::Info,
    title: "No global maxconn",
    meaning: "HAProxy derives the process connection limit from the file-descriptor limit (ulimit -n, or memory with -m): the effective value depends on how it is started and may be far above what the host can carry.",
    fix: "In global: `maxconn 50000` (sized to memory: about 2 x 16 kB buffers per connection), and per frontend `maxconn` below it.",
};

pub(super) const MAXCONN_VS_ULIMIT: RuleDoc = RuleDoc {
    id: "config.maxconn-vs-ulimit",
    severity: Severity::Warning,
    title: "global maxconn above what ulimit-n allows",
    meaning: "Each proxied connection needs two file descriptors (client and server): with `ulimit-n` set below 2 x maxconn, HAProxy runs out of descriptors before reaching maxconn and accept() fails.",
    fix: "Remove `ulimit-n` (HAProxy computes it from maxconn), or set `ulimit-n` to at least 2 x maxconn + 1000.",
};

/// `(major, minor)` of a version string such as `2.6.12-1+deb12u4`.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

fn version(ctx: &LintContext) -> Option<(u32, u32)> {
    ctx.haproxy_version
        .as_deref()
        .or_else(|| ctx.check.as_ref().and_then(|c| c.version.as_deref()))
        .and_then(major_minor)
}

pub(super) fn nbproc(model: &ConfigModel, ctx: &LintContext, out: &mut Vec<Finding>) {
    let ver = version(ctx);
    for d in model.global_find("nbproc") {
        let Some(n) = d.args.first().and_then(|a| a.parse::<u64>().ok()) else {
            continue;
        };
        if n <= 1 {
            continue;
        }
        let mut f = finding(
            "config.nbproc",
            format!("nbproc {n}: {n} separate processes"),
        );
        match ver {
            Some(v) if v >= (2, 5) => {
                f.title = format!(
                    "nbproc {n}: fatal error on HAProxy {}.{} (removed in 2.5)",
                    v.0, v.1
                );
            }
            Some(_) => f.severity = Severity::Warning,
            None => {
                f.severity = Severity::Warning;
                f.title = format!("nbproc {n}: multi-process (a fatal error on HAProxy 2.5+)");
            }
        }
        f = f
            .evidence(d.evidence())
            .advice(format!("Remove `nbproc {n}` and write `nbthread {n}` plus `cpu-map auto:1/1-{n} 0-{}` in global (or no `nbthread` at all: since 2.0 HAProxy starts one thread per CPU it is bound to on Linux); keep one `stats socket`.", n - 1));
        out.push(conditional(f, d));
    }
}

pub(super) fn maxconn(model: &ConfigModel, out: &mut Vec<Finding>) {
    let Some(g) = model.global() else { return };
    let mc = model.global_find("maxconn").last();
    match mc {
        None => out.push(
            finding(
                "config.no-maxconn",
                "No global maxconn: the limit comes from ulimit -n",
            )
            .evidence(format!("{}: global has no `maxconn`", g.location())),
        ),
        Some(m) => {
            let (Some(maxconn), Some(u)) = (
                m.args.first().and_then(|a| a.parse::<u64>().ok()),
                model.global_find("ulimit-n").last(),
            ) else {
                return;
            };
            let Some(ulimit) = u.args.first().and_then(|a| a.parse::<u64>().ok()) else {
                return;
            };
            if maxconn.saturating_mul(2) > ulimit {
                out.push(
                    finding(
                        "config.maxconn-vs-ulimit",
                        format!("maxconn {maxconn} needs about {} file descriptors, ulimit-n is {ulimit}", maxconn.saturating_mul(2)),
                    )
                    .evidence(m.evidence())
                    .evidence(u.evidence())
                    .advice(format!(
                        "Remove `ulimit-n {ulimit}` (HAProxy computes it from maxconn), or write `ulimit-n {}`.",
                        maxconn.saturating_mul(2).saturating_add(1000)
                    )),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lint::tests::*;

    #[test]
    fn nbproc_severity_depends_on_version_and_condition() {
        let cfg = GOOD.replace("    maxconn 4096\n", "    maxconn 4096\n    nbproc 4\n");
        let v = |ver: &str| LintContext {
            haproxy_version: Some(ver.into()),
            ..Default::default()
        };
        let f = lint_text(&cfg, &v("2.6.12-1+deb12u4"));
        let n = get(&f, "config.nbproc");
        assert_eq!(n.severity, Severity::Error);
        assert!(n.evidence[0].starts_with("h.cfg:4: nbproc 4"));
        assert!(n.advice.as_deref().unwrap().contains("nbthread 4"));
        // configuration.txt (nbthread): one thread per bound CPU by default, since 2.0.
        assert!(n.advice.as_deref().unwrap().contains("since 2.0"));
        assert!(!NBPROC_FIX.contains("2.5+ sets"));
        assert!(n.detail.as_deref().unwrap().contains("per process"));
        assert_eq!(
            get(&lint_text(&cfg, &v("2.4.22")), "config.nbproc").severity,
            Severity::Warning
        );
        assert!(!has(
            &lint_text(
                &GOOD.replace("maxconn 4096", "maxconn 4096\n nbproc 1"),
                &v("2.6")
            ),
            "config.nbproc"
        ));
        let cond = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n.if version_before(2.5)\n    nbproc 4\n.endif\n",
        );
        let n = lint_text(&cond, &v("2.6"));
        assert_eq!(get(&n, "config.nbproc").severity, Severity::Warning);
    }

    #[test]
    fn maxconn_rules() {
        let cfg = GOOD.replace("    maxconn 4096\n", "");
        assert!(has(
            &lint_text(&cfg, &LintContext::default()),
            "config.no-maxconn"
        ));
        let cfg = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n    ulimit-n 8000\n",
        );
        let f = lint_text(&cfg, &LintContext::default());
        assert!(get(&f, "config.maxconn-vs-ulimit")
            .advice
            .as_deref()
            .unwrap()
            .contains("ulimit-n 9192"));
        let ok = GOOD.replace(
            "    maxconn 4096\n",
            "    maxconn 4096\n    ulimit-n 10000\n",
        );
        assert!(!has(
            &lint_text(&ok, &LintContext::default()),
            "config.maxconn-vs-ulimit"
        ));
    }
}
