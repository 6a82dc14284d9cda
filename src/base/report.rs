//! Findings, tables and the report a run produces.
//!
//! A playbook's output is data first: findings with stable ids and tables.
//! Renderers (human, JSON) live in `crate::base::sink`; nothing here prints.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Ok < Info < Warning < Error < Critical`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Default,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Ok,
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Ok,
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// Error and critical findings make a run exit with code 1.
    pub fn is_failure(self) -> bool {
        self >= Severity::Error
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ok" => Ok(Severity::Ok),
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            "critical" | "crit" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected ok, info, warning, error or critical)"
            )),
        }
    }
}

/// One diagnosis: a stable id teams can filter on, what was seen and what to do next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    pub severity: Severity,
    /// Stable, dotted id such as `servers.down` or `config.nbproc`.
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The exact next step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// What was observed: `file:line` references, stat values, replies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The HAProxy target (socket address) the finding is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Evidence lines kept in a finding that lists many places; the rest is
/// counted in one last line (see [`Finding::evidence_capped`]).
pub const MAX_EVIDENCE: usize = 12;

/// The line that stands for `n` evidence lines left out.
pub fn more_evidence(n: usize) -> String {
    format!("... and {n} more")
}

impl Finding {
    /// Add at most [`MAX_EVIDENCE`] of `lines` as evidence, then one line
    /// counting the rest: a 2,000-backend farm stays readable.
    pub fn evidence_capped(mut self, lines: impl IntoIterator<Item = String>) -> Self {
        let (mut kept, mut left_out) = (0, 0);
        for l in lines {
            if kept < MAX_EVIDENCE {
                self.evidence.push(l);
                kept += 1;
            } else {
                left_out += 1;
            }
        }
        if left_out > 0 {
            self.evidence.push(more_evidence(left_out));
        }
        self
    }

    /// Whether `other` says the same thing, so that it can be folded into
    /// this one with its evidence (see [`Report::push_finding`]).
    pub fn same_as(&self, other: &Finding) -> bool {
        self.id == other.id
            && self.severity == other.severity
            && self.title == other.title
            && self.target == other.target
            && self.detail == other.detail
            && self.advice == other.advice
    }

    pub fn new(severity: Severity, id: impl Into<String>, title: impl Into<String>) -> Self {
        Finding {
            severity,
            id: id.into(),
            title: title.into(),
            detail: None,
            advice: None,
            evidence: Vec::new(),
            target: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn advice(mut self, advice: impl Into<String>) -> Self {
        self.advice = Some(advice.into());
        self
    }

    pub fn evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence.push(evidence.into());
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// `findings` with identical ones folded together, as [`Report::push_finding`]
/// does: for primitives that return the findings they record, so that a
/// playbook counts what the report shows.
pub fn grouped(findings: impl IntoIterator<Item = Finding>) -> Vec<Finding> {
    let mut r = Report::default();
    for f in findings {
        r.push_finding(f);
    }
    r.findings
}

/// A table a playbook produced with `table(rows)`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Table {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// What one HAProxy target looked like during the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetInfo {
    /// The socket address (a replay: the name the snapshot recorded).
    pub address: String,
    /// The inventory host name (`-i`), which findings and rows name as their `target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The structured result of one playbook run (`harun --json`; schema in
/// docs/report.schema.json, from `harun doc --schema`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// Playbook path or name, or `-e` for an expression.
    pub playbook: String,
    pub findings: Vec<Finding>,
    pub tables: Vec<Table>,
    pub targets: Vec<TargetInfo>,
    /// Lines the playbook printed with `print`/`log`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
    /// Worst severity of the run: the worst finding (`ok` when there are
    /// none), and at least `error` when the run stopped on an error (`error`
    /// is set), so that a reader of this field alone never takes a run that
    /// did not finish for a clean one.
    pub worst: Severity,
    /// The value of the last expression (for `-e`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Every write sent, refused or (dry-run) only shown, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<WriteRecord>,
    /// Why the run stopped early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
}

/// One write of the run (the journal has the full record).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WriteRecord {
    pub target: String,
    pub command: String,
    /// `sent`, `failed`, `unknown` (timed out or connection lost after sending: HAProxy may have applied it), `dry-run` or `refused`.
    pub outcome: String,
    /// Why it failed (`failed`, `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// In a rolling change (`--serial`): its group, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
}

/// A run that did not finish: what went wrong and where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunError {
    /// Machine-readable kind: `syntax`, `limit`, `unreachable`, `timeout`,
    /// `permission_denied`, `no_such_server`, `refused`, `interrupted`, ...
    pub kind: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    pub exit_code: i32,
    /// The playbook already reported this as a finding and ended the run with
    /// `exit(e)`: front ends print no error of their own; the kind and exit
    /// code still hold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reported: bool,
}

impl RunError {
    /// An error met before the playbook ran (no such playbook, a parameter
    /// it does not take): no line to point at (the report's `playbook` and
    /// the message name the playbook).
    pub fn before_run(e: &crate::base::error::Error) -> RunError {
        RunError {
            kind: e.kind().to_string(),
            message: e.to_string(),
            file: None,
            line: None,
            column: None,
            source_line: None,
            exit_code: e.exit_code() as i32,
            reported: false,
        }
    }

    /// Whether this error comes from the world outside the playbook (HAProxy
    /// down, no such server, a file that cannot be read, Ctrl-C) rather than
    /// from the playbook's own code (syntax, a thrown message, a limit).
    pub fn is_environment(&self) -> bool {
        !matches!(
            self.kind.as_str(),
            "syntax"
                | "limit"
                | "playbook"
                | "thrown"
                | "terminated"
                | "other"
                | "invalid_input"
                | "no_such_key"
                | "no_such_function"
        )
    }

    /// Forget where in the playbook the error surfaced: for a shipped playbook
    /// or `-e`, a quote of harun's own source says nothing to the person who
    /// ran it when the cause is outside (the message names it).
    pub fn forget_location(&mut self) {
        self.line = None;
        self.column = None;
        self.source_line = None;
    }

    /// `file:line:col: message`, then the line and a caret under the column.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match (&self.file, self.line) {
            (Some(f), Some(l)) => {
                out.push_str(&format!("{f}:{l}:{}: ", self.column.unwrap_or(1)));
            }
            (Some(f), None) => out.push_str(&format!("{f}: ")),
            _ => {}
        }
        out.push_str(&self.message);
        if let (Some(src), Some(l)) = (&self.source_line, self.line) {
            out.push_str(&source_excerpt(l, self.column.unwrap_or(1), src, "^"));
        }
        out
    }
}

/// What follows a `file:line:col: message` line: the source line in a
/// numbered gutter and `caret` under column `col` (1-based), each on a line
/// of its own starting with `\n`.
pub fn source_excerpt(line: usize, col: usize, src: &str, caret: &str) -> String {
    let gutter = line.to_string();
    let blank = " ".repeat(gutter.len());
    // Tabs keep their width so the caret lines up.
    let pad: String = src
        .chars()
        .take(col.max(1) - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("\n{blank} |\n{gutter} | {src}\n{blank} | {pad}{caret}")
}

impl Report {
    /// Record a finding. One that says the same thing as an earlier one (same
    /// id, severity, title, target, detail and advice) is
    /// folded into it: its evidence lines are added to the earlier one's.
    /// Two `log /dev/log` lines make one `logs.ok` with two evidence lines, in
    /// the JSON report as on screen, and counts are of distinct findings.
    pub fn push_finding(&mut self, finding: Finding) {
        self.worst = self.worst.max(finding.severity);
        // A linear scan: reports hold tens of findings (the checks already
        // aggregate per id over big farms).
        match self.findings.iter_mut().find(|f| f.same_as(&finding)) {
            Some(f) => {
                // `file:line: ...` lines of one file stay together, in order.
                let file = |e: &str| e.split(':').next().unwrap_or("").to_string();
                for e in finding.evidence {
                    if f.evidence.contains(&e) {
                        continue;
                    }
                    let at = f
                        .evidence
                        .iter()
                        .rposition(|x| file(x) == file(&e))
                        .map_or(f.evidence.len(), |i| i + 1);
                    f.evidence.insert(at, e);
                }
            }
            None => self.findings.push(finding),
        }
    }

    /// Record why the run stopped: `worst` becomes at least `error`, as the
    /// exit code is not 0 either. Every front end and the runner set
    /// `error` through here.
    pub fn fail(&mut self, error: RunError) {
        self.worst = self.worst.max(Severity::Error);
        self.error = Some(error);
    }

    /// Findings sorted worst first, keeping the playbook's order within a severity.
    pub fn ranked_findings(&self) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self.findings.iter().collect();
        v.sort_by_key(|f| std::cmp::Reverse(f.severity));
        v
    }

    /// The process exit code this report maps to (see [`crate::base::error::ExitCode`]).
    pub fn exit_code(&self) -> i32 {
        match &self.error {
            Some(e) => e.exit_code,
            None if self.worst.is_failure() => crate::base::error::ExitCode::Findings as i32,
            None => crate::base::error::ExitCode::Success as i32,
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_puts_the_caret_under_the_column() {
        assert_eq!(
            source_excerpt(12, 5, "let x = 1;", "^"),
            "\n   |\n12 | let x = 1;\n   |     ^"
        );
        // A tab stays a tab in the padding; column 0 means the first.
        assert_eq!(source_excerpt(3, 2, "\tx", "^"), "\n  |\n3 | \tx\n  | \t^");
        assert_eq!(source_excerpt(3, 0, "x", "^"), "\n  |\n3 | x\n  | ^");
    }

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::Error);
        assert!(Severity::Warning < Severity::Error);
        assert_eq!("WARN".parse::<Severity>().unwrap(), Severity::Warning);
        assert!("bad"
            .parse::<Severity>()
            .unwrap_err()
            .contains("unknown severity"));
    }

    #[test]
    fn identical_findings_are_grouped_with_their_evidence() {
        let mut r = Report::default();
        let ok = |line: &str| {
            Finding::new(Severity::Ok, "logs.ok", "HAProxy logs to /dev/log")
                .evidence(format!("haproxy.cfg:{line}: log /dev/log"))
                .evidence("49-haproxy.conf:3: rsyslog socket /var/lib/haproxy/dev/log")
        };
        r.push_finding(ok("2"));
        r.push_finding(Finding::new(Severity::Info, "config.no-maxconn", "x"));
        r.push_finding(ok("3"));
        assert_eq!(r.findings.len(), 2);
        assert_eq!(
            r.findings[0].evidence,
            [
                "haproxy.cfg:2: log /dev/log",
                "haproxy.cfg:3: log /dev/log",
                "49-haproxy.conf:3: rsyslog socket /var/lib/haproxy/dev/log",
            ]
        );
        assert_eq!(r.count(Severity::Ok), 1);
        // Another severity, title, target or advice is another finding.
        r.push_finding(Finding::new(
            Severity::Warning,
            "logs.ok",
            "HAProxy logs to /dev/log",
        ));
        r.push_finding(
            Finding::new(Severity::Ok, "logs.ok", "HAProxy logs to /dev/log").target("b"),
        );
        r.push_finding(
            Finding::new(Severity::Ok, "logs.ok", "HAProxy logs to /dev/log").advice("other"),
        );
        r.push_finding(ok("2").advice("other"));
        assert_eq!(r.findings.len(), 5, "{:#?}", r.findings);
        assert_eq!(r.findings[0].evidence.len(), 3);
        assert_eq!(r.findings[4].evidence.len(), 2);
    }

    #[test]
    fn a_failed_run_is_at_least_error_whatever_its_findings() {
        let mut r = Report::default();
        r.push_finding(Finding::new(Severity::Warning, "a", "a"));
        let e = crate::base::error::Error::Playbook("x: unknown parameter".into());
        r.fail(RunError::before_run(&e));
        assert_eq!(r.worst, Severity::Error);
        assert_eq!(r.exit_code(), 2);
        // A critical finding stays critical.
        r.push_finding(Finding::new(Severity::Critical, "b", "b"));
        r.fail(RunError::before_run(&e));
        assert_eq!(r.worst, Severity::Critical);
    }

    #[test]
    fn report_tracks_worst_and_ranks() {
        let mut r = Report::default();
        r.push_finding(Finding::new(Severity::Info, "a", "a"));
        r.push_finding(Finding::new(Severity::Error, "b", "b"));
        r.push_finding(Finding::new(Severity::Warning, "c", "c"));
        assert_eq!(r.worst, Severity::Error);
        let ids: Vec<_> = r.ranked_findings().iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
    }
}
