//! Running one playbook test: start what it runs against, run the playbook
//! through the library, compare the report with what the test expects.

use super::spec::{Against, TestCase};
use crate::base::report::Report;
use crate::lab::{Lab, Scenario};
use crate::runner::Runner;
use crate::runtime::Address;
use crate::script::settings::Settings;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// The bound on each test's run when the caller sets none (`harun test`
/// without `--max-time`): a playbook stuck in `sleep` or a drain that never
/// ends fails its test instead of holding a team's CI job for hours.
pub const DEFAULT_MAX_TIME: std::time::Duration = std::time::Duration::from_secs(300);

/// What the runner needs from its caller.
#[derive(Clone, Debug)]
pub struct Options {
    pub haproxy_bin: PathBuf,
    /// The base settings (timeouts, limits); sockets and config are the test's.
    pub settings: Settings,
    /// Ctrl-C: stops a lab that starts and the playbook that runs, cleaned up.
    pub cancel: crate::base::cancel::CancelToken,
}

/// The result of one test.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub file: String,
    pub line: usize,
    pub name: String,
    pub playbook: String,
    pub against: String,
    pub passed: bool,
    /// Why it failed, one line each (empty when it passed).
    pub failures: Vec<String>,
    /// The playbook run's exit code, when it ran.
    pub exit: Option<i32>,
    pub millis: u64,
}

/// Run one test. Never panics; a lab that does not start or a playbook that
/// cannot be read is a failure of that test with the reason.
pub fn run(case: &TestCase, opts: &Options) -> Outcome {
    let start = Instant::now();
    let (exit, failures) = match execute(case, opts) {
        Ok(report) => {
            let f = compare(case, &report);
            (Some(report.exit_code()), f)
        }
        Err(e) => (None, vec![e]),
    };
    Outcome {
        file: case.file.display().to_string(),
        line: case.line,
        name: case.name.clone(),
        playbook: case.playbook.clone(),
        against: case.against.to_string(),
        passed: failures.is_empty(),
        failures,
        exit,
        millis: start.elapsed().as_millis() as u64,
    }
}

fn execute(case: &TestCase, opts: &Options) -> Result<Report, String> {
    let mut settings = opts.settings.clone();
    settings.params = case.params.clone();
    settings.strict_params = true;
    settings.dry_run = case.dry_run;
    // A lab is disposable: its writes need no confirmation.
    settings.yes = true;
    settings.haproxy_bin = opts.haproxy_bin.clone();
    // Resolve the playbook first: a typo fails before any HAProxy starts.
    let src = crate::script::playbooks::resolve_checked(&case.playbook, &case.params, true)
        .map_err(|e| e.to_string())?;
    unreportable_ids(case, &src)?;
    let _lab: Option<Lab>;
    let _dir: Option<tempfile::TempDir>;
    match &case.against {
        Against::Lab(name) => {
            let scenario = Scenario::parse(name).unwrap_or_default();
            let lab = Lab::builder()
                .haproxy_bin(&opts.haproxy_bin)
                .scenario(scenario)
                .cancel(opts.cancel.clone())
                .start()
                .map_err(|e| format!("the lab did not start: {e}"))?;
            settings.sockets = vec![Address::Unix(lab.admin_socket().to_path_buf())];
            settings.config_paths = vec![lab.config_path().to_path_buf()];
            settings.journal_path = lab.dir().join("journal.jsonl");
            settings.output_dir = lab.dir().to_path_buf();
            _lab = Some(lab);
        }
        Against::Replay(dir) => {
            // A directory that is not a bundle is refused when the runner opens it.
            settings.sockets = vec![Address::Replay(dir.clone())];
            let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
            settings.journal_path = tmp.path().join("journal.jsonl");
            settings.output_dir = tmp.path().to_path_buf();
            _dir = Some(tmp);
        }
        Against::Config(cfg) => {
            let mut b = Lab::builder()
                .haproxy_bin(&opts.haproxy_bin)
                .config([cfg.clone()])
                .cancel(opts.cancel.clone());
            for d in &case.down {
                b = b.down(d.clone());
            }
            for s in &case.slow {
                let (server, delay) =
                    crate::lab::parse_slow(s).map_err(|e| format!("slow = \"{s}\": {e}"))?;
                b = b.slow(server, delay);
            }
            let lab = b
                .start()
                .map_err(|e| format!("the lab did not start from {}: {e}", cfg.display()))?;
            settings.sockets = vec![Address::Unix(lab.admin_socket().to_path_buf())];
            settings.config_paths = lab.user_config_paths().to_vec();
            settings.config_copy = lab.config_copy().cloned();
            settings.journal_path = lab.dir().join("journal.jsonl");
            settings.output_dir = lab.dir().to_path_buf();
            _lab = Some(lab);
        }
    }
    let runner = Runner::builder()
        .settings(settings)
        .cancel_token(opts.cancel.clone())
        .build()
        .map_err(|e| e.to_string())?;
    Ok(runner.run_source(&src.name, &src.text, src.dir))
}

/// Every way the report differs from what the test expects.
pub fn compare(case: &TestCase, report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let code = report.exit_code();
    if let Some(want) = case.exit {
        if code != want {
            let why = report
                .error
                .as_ref()
                .map(|e| format!(" ({})", e.render().lines().next().unwrap_or_default()))
                .unwrap_or_default();
            out.push(format!("exit code {code}, want {want}{why}"));
        }
    } else if let Some(e) = &report.error {
        // Without `exit = N` a playbook error is never what the test wanted.
        out.push(format!(
            "the playbook failed: {}",
            e.render().lines().next().unwrap_or_default()
        ));
    }
    let ids = || {
        report
            .findings
            .iter()
            .map(|f| format!("{}:{}", f.id, f.severity))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for f in &case.findings {
        let found = report
            .findings
            .iter()
            .any(|r| r.id == f.id && f.severity.is_none_or(|s| s == r.severity));
        if !found {
            let what = match f.severity {
                Some(s) => format!("{}:{s}", f.id),
                None => f.id.clone(),
            };
            out.push(format!("missing finding `{what}` (found: {})", ids()));
        }
    }
    for id in &case.absent {
        if report.findings.iter().any(|r| &r.id == id) {
            out.push(format!("finding `{id}` is present and should not be"));
        }
    }
    for row in &case.rows {
        let Some(table) = report
            .tables
            .iter()
            .find(|t| t.title.as_deref() == Some(row.table.as_str()))
        else {
            let titles: Vec<&str> = report
                .tables
                .iter()
                .filter_map(|t| t.title.as_deref())
                .collect();
            out.push(format!(
                "no table `{}` (tables: {})",
                row.table,
                titles.join(", ")
            ));
            continue;
        };
        let unknown: Vec<String> = row
            .columns
            .keys()
            .filter(|col| !table.columns.contains(col))
            .map(|col| {
                let near = crate::base::suggest::best(
                    col,
                    table.columns.iter().map(String::as_str),
                    |_| true,
                )
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
                format!(
                    "table `{}` has no column `{col}`{near}: its columns are {}",
                    row.table,
                    table.columns.join(", ")
                )
            })
            .collect();
        if !unknown.is_empty() {
            // No row can match a column the table lacks: the search that
            // follows would only repeat it.
            out.extend(unknown);
            continue;
        }
        let hit = table.rows.iter().any(|cells| {
            row.columns.iter().all(|(col, want)| {
                table
                    .columns
                    .iter()
                    .position(|c| c == col)
                    .and_then(|i| cells.get(i))
                    .is_some_and(|have| same(have, want))
            })
        });
        if !hit {
            // Show what is there, so the fix is obvious from CI's log.
            let sample: Vec<String> = table
                .rows
                .iter()
                .take(3)
                .map(|cells| {
                    let pairs: Vec<String> = row
                        .columns
                        .keys()
                        .filter_map(|c| {
                            let i = table.columns.iter().position(|x| x == c)?;
                            Some(format!("{c} = {}", cells.get(i)?))
                        })
                        .collect();
                    format!("{{{}}}", pairs.join(", "))
                })
                .collect();
            out.push(format!(
                "no row of table `{}` where {} ({} rows{}{})",
                row.table,
                row.columns
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                table.rows.len(),
                if sample.is_empty() { "" } else { ", first: " },
                sample.join(" ")
            ));
        }
    }
    out
}

/// Refuse a test that names a finding id its playbook can never report:
/// in `absent` it would pass for ever, whatever the playbook does; in
/// `findings` it could only fail, for a reason the message would not give.
/// (Unknown when the playbook computes an id: then anything goes.)
fn unreportable_ids(case: &TestCase, src: &crate::script::playbooks::Source) -> Result<(), String> {
    let Some(ids) = crate::script::finding_docs::reportable_ids(&src.text, src.dir.as_deref())
    else {
        return Ok(());
    };
    let named = case
        .findings
        .iter()
        .map(|f| ("findings", f.id.as_str()))
        .chain(case.absent.iter().map(|id| ("absent", id.as_str())));
    for (list, id) in named {
        if ids.contains(id) {
            continue;
        }
        let near = crate::base::suggest::nearest(id, ids.iter().map(String::as_str));
        return Err(format!(
            "{list} names `{id}`, an id {} never reports (neither harun's own, see `harun doc --findings`, nor a `finding()` of the playbook){}",
            src.name,
            crate::base::suggest::did_you_mean(&near)
        ));
    }
    Ok(())
}

/// A cell equals the expected value; `1` and `"1"` are the same in a table.
fn same(have: &serde_json::Value, want: &serde_json::Value) -> bool {
    have == want
        || match (have, want) {
            (serde_json::Value::String(h), w) | (w, serde_json::Value::String(h))
                if !w.is_string() =>
            {
                h == &w.to_string()
            }
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::report::{Finding, Severity, Table};

    fn report() -> Report {
        let mut r = Report::default();
        r.push_finding(Finding::new(
            Severity::Error,
            "servers.down",
            "1 server DOWN",
        ));
        r.tables.push(Table {
            title: Some("summary".into()),
            columns: vec!["check".into(), "state".into(), "n".into()],
            rows: vec![vec!["servers".into(), "7 of 9".into(), 7.into()]],
        });
        r
    }

    fn case(text: &str) -> TestCase {
        super::super::spec::parse(std::path::Path::new("t.test.toml"), text)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn a_matching_report_passes() {
        let c = case("[[test]]\nname=\"x\"\nplaybook=\"troubleshoot\"\nexit=1\nfindings=[\"servers.down:error\"]\nabsent=[\"servers.maint\"]\n[[test.rows]]\ntable=\"summary\"\nwhere={check=\"servers\", n=\"7\"}\n");
        assert_eq!(compare(&c, &report()), Vec::<String>::new());
    }

    #[test]
    fn each_difference_is_one_line() {
        let c = case("[[test]]\nname=\"x\"\nplaybook=\"troubleshoot\"\nexit=0\nfindings=[\"servers.down:critical\", \"queues.server\"]\nabsent=[\"servers.down\"]\n[[test.rows]]\ntable=\"summary\"\nwhere={check=\"queues\"}\n[[test.rows]]\ntable=\"nope\"\nwhere={a=1}\n");
        let f = compare(&c, &report());
        assert_eq!(f.len(), 6, "{f:#?}");
        assert!(f[0].starts_with("exit code 1, want 0"));
        assert!(
            f[1].contains("missing finding `servers.down:critical` (found: servers.down:error)")
        );
        assert!(f[3].contains("`servers.down` is present"));
        assert!(f[4].contains("no row of table `summary` where check = \"queues\""));
        assert!(f[5].contains("no table `nope` (tables: summary)"));
    }

    #[test]
    fn a_misspelt_column_is_named_once_with_the_nearest() {
        let c = case("[[test]]\nname=\"x\"\nplaybook=\"troubleshoot\"\n[[test.rows]]\ntable=\"summary\"\nwhere={chekc=\"servers\"}\n");
        assert_eq!(
            compare(&c, &report()),
            ["table `summary` has no column `chekc` (did you mean `check`?): its columns are check, state, n"]
        );
    }
}
