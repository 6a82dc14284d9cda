//! `harun check [PATH...]`: render the checker's problems, pick the exit code.

use super::error;
use crate::base::error::ExitCode;
use crate::base::report::source_excerpt;
use crate::check::{self, CheckRun, Level, Problem};
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// Where team playbooks live when no PATH is given.
const DEFAULT_DIR: &str = "playbooks";

pub fn run(paths: &[PathBuf], json: bool) -> i32 {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(DEFAULT_DIR)]
    } else {
        paths.to_vec()
    };
    let run = match check::check_paths(&paths) {
        Ok(r) => r,
        Err(e) => {
            error(&e.to_string());
            return ExitCode::Usage as i32;
        }
    };
    for e in &run.unusable {
        error(&e.to_string());
    }
    let mut out = anstream::stdout();
    if json {
        let _ = serde_json::to_writer_pretty(&mut out, &Document::of(&run));
        let _ = writeln!(out);
    } else {
        for p in &run.problems {
            let _ = writeln!(out, "{}\n", render(p));
        }
        let _ = writeln!(out, "{}", summary(&run));
    }
    if !run.unusable.is_empty() {
        ExitCode::Usage as i32
    } else if !run.problems.is_empty() {
        ExitCode::Findings as i32
    } else {
        ExitCode::Success as i32
    }
}

/// `--json`: one document.
#[derive(Serialize)]
struct Document<'a> {
    /// Playbooks read and checked.
    checked: usize,
    problems: &'a [Problem],
    /// Files that could not be checked at all (exit code 2).
    unusable: Vec<String>,
}

impl<'a> Document<'a> {
    fn of(run: &'a CheckRun) -> Self {
        Document {
            checked: run.checked,
            problems: &run.problems,
            unusable: run.unusable.iter().map(ToString::to_string).collect(),
        }
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// `3 problems in 2 playbooks (7 checked, 1 warning)` or `7 playbooks checked, no problems`;
/// with paths that could not be checked, `..., 1 path unusable` (never "no problems").
pub fn summary(run: &CheckRun) -> String {
    let unusable = match run.unusable.len() {
        0 => String::new(),
        n => format!(", {} unusable (above)", plural(n, "path")),
    };
    if run.problems.is_empty() {
        if !unusable.is_empty() {
            return format!("{} checked{unusable}", plural(run.checked, "playbook"));
        }
        return format!("{} checked, no problems", plural(run.checked, "playbook"));
    }
    let warnings = run
        .problems
        .iter()
        .filter(|p| p.severity == Level::Warning)
        .count();
    let mut s = format!(
        "{} in {} ({} checked",
        plural(run.problems.len(), "problem"),
        plural(run.playbooks_with_problems(), "playbook"),
        run.checked
    );
    if warnings > 0 {
        s.push_str(&format!(", {}", plural(warnings, "warning")));
    }
    s.push(')');
    s.push_str(&unusable);
    s
}

/// `file:line:col: error[code]: message`, the line, a caret under the column,
/// and a help line when the suggestion says more than the message.
pub fn render(p: &Problem) -> String {
    let color = match p.severity {
        Level::Error => AnsiColor::Red,
        Level::Warning => AnsiColor::Yellow,
    };
    let sev = Style::new().fg_color(Some(color.into())).bold();
    let bold = Style::new().bold();
    let mut out = format!(
        "{bold}{}:{}:{}:{bold:#} {sev}{}[{}]{sev:#}{bold}: {}{bold:#}",
        p.file,
        p.line,
        p.col,
        p.severity.as_str(),
        p.code.as_str(),
        p.message
    );
    let blank = " ".repeat(p.line.to_string().len());
    if let Some(src) = &p.source_line {
        let caret = format!("{sev}^{sev:#}");
        out.push_str(&source_excerpt(p.line, p.col, src, &caret));
    }
    if let (true, Some(s)) = (p.help, &p.suggestion) {
        // Several lines (a function's signatures) stay aligned under the first.
        let indent = format!("\n{blank}         ");
        out.push_str(&format!("\n{blank} = help: {}", s.replace('\n', &indent)));
    }
    out
}
