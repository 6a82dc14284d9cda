//! Human renderings of reports and tables (strings; the caller prints them).

use crate::base::report::{Finding, Report, Severity, Table};
use anstyle::{AnsiColor, Style};
use comfy_table::{presets, ContentArrangement, Table as Comfy};

pub(crate) fn style(sev: Severity) -> Style {
    let color = match sev {
        Severity::Critical => AnsiColor::BrightRed,
        Severity::Error => AnsiColor::Red,
        Severity::Warning => AnsiColor::Yellow,
        Severity::Info => AnsiColor::Blue,
        Severity::Ok => AnsiColor::Green,
    };
    let s = Style::new().fg_color(Some(color.into()));
    if sev >= Severity::Error {
        s.bold()
    } else {
        s
    }
}

pub(crate) fn label(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "CRITICAL",
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
        Severity::Ok => "OK",
    }
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A table as text; rows beyond `max_rows` are cut with a note.
pub fn table(t: &Table, max_rows: Option<usize>) -> String {
    let mut c = Comfy::new();
    c.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(&t.columns);
    let limit = max_rows.unwrap_or(usize::MAX);
    for row in t.rows.iter().take(limit) {
        c.add_row(row.iter().map(cell));
    }
    let mut out = String::new();
    if let Some(title) = &t.title {
        out.push_str(title);
        out.push('\n');
    }
    out.push_str(&c.to_string());
    if t.rows.len() > limit {
        out.push_str(&format!(
            "\n… {} more rows (use --json for all)",
            t.rows.len() - limit
        ));
    }
    out
}

fn finding(f: &Finding, out: &mut String) {
    let s = style(f.severity);
    let target = f
        .target
        .as_deref()
        .map(|t| format!(" [{t}]"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{s}{:<8}{s:#} {} {}{target}\n",
        label(f.severity),
        f.id,
        f.title
    ));
    if let Some(d) = &f.detail {
        for l in d.lines() {
            out.push_str(&format!("         {l}\n"));
        }
    }
    for e in &f.evidence {
        out.push_str(&format!("         · {e}\n"));
    }
    if let Some(a) = &f.advice {
        let mut lines = a.lines();
        if let Some(first) = lines.next() {
            out.push_str(&format!("         → {first}\n"));
        }
        for l in lines {
            out.push_str(&format!("           {l}\n"));
        }
    }
}

/// Findings grouped by severity, worst first, and a one-line summary.
pub fn findings(report: &Report) -> String {
    let mut out = String::new();
    if report.findings.is_empty() {
        return out;
    }
    out.push('\n');
    for sev in Severity::ALL.iter().rev() {
        for f in report.findings.iter().filter(|f| f.severity == *sev) {
            finding(f, &mut out);
        }
    }
    let parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = report.count(*s);
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    // As `worst` in the JSON report: a run that stopped is never `OK`, and
    // the summary says why the findings may be incomplete.
    let stopped = report
        .error
        .as_ref()
        .map(|e| format!("; the run stopped early ({})", e.kind))
        .unwrap_or_default();
    let worst = style(report.worst);
    out.push_str(&format!(
        "\n{worst}{}{worst:#}: {}{stopped}\n",
        label(report.worst),
        parts.join(", ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::error::Error;
    use crate::base::report::{Finding, RunError};

    #[test]
    fn a_run_that_stopped_is_never_summed_up_as_ok() {
        let mut r = Report::default();
        r.push_finding(Finding::new(Severity::Ok, "config.valid", "valid"));
        assert!(!findings(&r).contains("stopped"));
        r.fail(RunError::before_run(&Error::Interrupted));
        let text = findings(&r);
        assert!(
            text.contains("ERROR") && text.contains("1 ok; the run stopped early (interrupted)"),
            "{text}"
        );
    }
}
