//! Many `--json` reports as one fleet report: each finding id (and
//! severity) once, with the hosts that have it. Reports come from runs on
//! each host (one host per report, named after its file) or from runs over
//! an inventory (each target its host).

use crate::base::report::{Report, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The fleet report `harun merge` prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FleetReport {
    /// Every host of the reports, in the order they first appear.
    pub hosts: Vec<String>,
    /// Each input report, in the order given.
    pub reports: Vec<Source>,
    /// Findings by id and severity, worst first, then the most widespread.
    pub findings: Vec<FleetFinding>,
    /// Runs that stopped early (unreachable HAProxy, playbook error...).
    pub errors: Vec<RunStop>,
    /// The worst severity of every finding.
    pub worst: Severity,
    /// The highest exit code of the reports.
    pub exit_code: i32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Source {
    pub file: String,
    pub playbook: String,
    pub hosts: Vec<String>,
    pub worst: Severity,
    pub exit_code: i32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FleetFinding {
    pub id: String,
    pub severity: Severity,
    /// The hosts with this finding.
    pub hosts: Vec<String>,
    /// Each distinct way it was reported (title, detail, advice) and by which hosts.
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Variant {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunStop {
    pub file: String,
    pub hosts: Vec<String>,
    pub kind: String,
    pub message: String,
    pub exit_code: i32,
}

/// How each file is named as a host: its name without `.json`, or its
/// path when two files share a name (`eu/lb1.json`, `us/lb1.json`).
pub fn labels(paths: &[PathBuf]) -> Vec<String> {
    let stem = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".json").to_string())
            .unwrap_or_else(|| p.display().to_string())
    };
    let stems: Vec<String> = paths.iter().map(|p| stem(p)).collect();
    paths
        .iter()
        .zip(&stems)
        .map(|(p, s)| {
            if stems.iter().filter(|x| *x == s).count() > 1 {
                let full = p.display().to_string();
                full.trim_end_matches(".json").to_string()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// The hosts of one report and the host of each of its target names. The
/// targets of an inventory run are hosts; a run without one is the host
/// its file is named after.
fn hosts_of(report: &Report, label: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let mut hosts = Vec::new();
    let mut by_target = BTreeMap::new();
    let named = report.targets.iter().any(|t| t.host.is_some());
    for t in &report.targets {
        let host = match (&t.host, named) {
            (Some(h), _) => h.clone(),
            (None, true) => t.address.clone(),
            (None, false) => label.to_string(),
        };
        by_target.insert(
            t.host.clone().unwrap_or_else(|| t.address.clone()),
            host.clone(),
        );
        by_target.insert(t.address.clone(), host.clone());
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    if hosts.is_empty() {
        hosts.push(label.to_string());
    }
    (hosts, by_target)
}

fn push_unique(v: &mut Vec<String>, items: &[String]) {
    for i in items {
        if !v.contains(i) {
            v.push(i.clone());
        }
    }
}

/// Merge `reports`, each with the label of its file (see [`labels`]).
pub fn merge(reports: &[(String, Report)]) -> FleetReport {
    let mut fleet = FleetReport {
        hosts: Vec::new(),
        reports: Vec::new(),
        findings: Vec::new(),
        errors: Vec::new(),
        worst: Severity::Ok,
        exit_code: 0,
    };
    for (label, report) in reports {
        let (hosts, by_target) = hosts_of(report, label);
        push_unique(&mut fleet.hosts, &hosts);
        fleet.reports.push(Source {
            file: label.clone(),
            playbook: report.playbook.clone(),
            hosts: hosts.clone(),
            worst: report.worst,
            exit_code: report.exit_code(),
        });
        fleet.exit_code = fleet.exit_code.max(report.exit_code());
        if let Some(e) = &report.error {
            fleet.errors.push(RunStop {
                file: label.clone(),
                hosts: hosts.clone(),
                kind: e.kind.clone(),
                message: e.message.clone(),
                exit_code: e.exit_code,
            });
        }
        for f in &report.findings {
            fleet.worst = fleet.worst.max(f.severity);
            // A finding about no target in particular (the configuration,
            // the host) concerns every host of its run.
            let on: Vec<String> = match f.target.as_ref().and_then(|t| by_target.get(t)) {
                Some(h) => vec![h.clone()],
                None => hosts.clone(),
            };
            let group = match fleet
                .findings
                .iter_mut()
                .find(|g| g.id == f.id && g.severity == f.severity)
            {
                Some(g) => g,
                None => {
                    fleet.findings.push(FleetFinding {
                        id: f.id.clone(),
                        severity: f.severity,
                        hosts: Vec::new(),
                        variants: Vec::new(),
                    });
                    fleet.findings.last_mut().expect("just pushed")
                }
            };
            push_unique(&mut group.hosts, &on);
            match group
                .variants
                .iter_mut()
                .find(|v| v.title == f.title && v.detail == f.detail && v.advice == f.advice)
            {
                Some(v) => push_unique(&mut v.hosts, &on),
                None => group.variants.push(Variant {
                    title: f.title.clone(),
                    detail: f.detail.clone(),
                    advice: f.advice.clone(),
                    hosts: on,
                }),
            }
        }
    }
    fleet.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.hosts.len().cmp(&a.hosts.len()))
            .then(a.id.cmp(&b.id))
    });
    fleet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::report::{Finding, RunError, TargetInfo};

    fn report(targets: &[(&str, Option<&str>)], findings: Vec<Finding>) -> Report {
        let mut r = Report {
            playbook: "troubleshoot".into(),
            targets: targets
                .iter()
                .map(|(a, h)| TargetInfo {
                    address: a.to_string(),
                    host: h.map(str::to_string),
                    ..TargetInfo::default()
                })
                .collect(),
            ..Report::default()
        };
        for f in findings {
            r.push_finding(f);
        }
        r
    }

    fn down(server: &str) -> Finding {
        Finding::new(Severity::Error, "servers.down", format!("{server} is DOWN"))
    }

    #[test]
    fn per_host_reports_are_named_after_their_file() {
        let sock = [("/run/haproxy/admin.sock", None)];
        let a = report(
            &sock,
            vec![down("bk/a1"), Finding::new(Severity::Ok, "logs.ok", "logs")],
        );
        let b = report(&sock, vec![Finding::new(Severity::Ok, "logs.ok", "logs")]);
        let c = report(&sock, vec![down("bk/a1").target("/run/haproxy/admin.sock")]);
        let fleet = merge(&[("lb1".into(), a), ("lb2".into(), b), ("lb3".into(), c)]);
        assert_eq!(fleet.hosts, ["lb1", "lb2", "lb3"]);
        assert_eq!(fleet.findings[0].id, "servers.down");
        assert_eq!(fleet.findings[0].hosts, ["lb1", "lb3"]);
        assert_eq!(fleet.findings[0].variants.len(), 1);
        assert_eq!(fleet.findings[1].hosts, ["lb1", "lb2"]);
        assert_eq!(fleet.worst, Severity::Error);
        assert_eq!(fleet.exit_code, 1);
    }

    #[test]
    fn inventory_reports_name_each_target() {
        let inv = [("/tmp/a.sock", Some("lb1")), ("/tmp/b.sock", Some("lb2"))];
        let r = report(
            &inv,
            vec![
                down("bk/a1").target("lb2"),
                down("bk/a2").target("lb1"),
                Finding::new(Severity::Warning, "config.x", "config"),
            ],
        );
        let mut stopped = report(&[("/tmp/c.sock", Some("lb3"))], vec![]);
        stopped.error = Some(RunError {
            kind: "unreachable".into(),
            message: "lb3 (/tmp/c.sock): cannot connect".into(),
            file: None,
            line: None,
            column: None,
            source_line: None,
            exit_code: 3,
            reported: false,
        });
        let fleet = merge(&[("run".into(), r), ("other".into(), stopped)]);
        assert_eq!(fleet.hosts, ["lb1", "lb2", "lb3"]);
        let down = &fleet.findings[0];
        assert_eq!(down.hosts, ["lb2", "lb1"]);
        assert_eq!(down.variants.len(), 2, "two titles");
        assert_eq!(
            fleet.findings[1].hosts,
            ["lb1", "lb2"],
            "no target: the whole run"
        );
        assert_eq!(fleet.errors[0].hosts, ["lb3"]);
        assert_eq!(fleet.exit_code, 3, "the highest exit code");
    }

    #[test]
    fn labels_are_file_names_unless_they_collide() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            labels(&[p("out/lb1.json"), p("out/lb2.json")]),
            ["lb1", "lb2"]
        );
        assert_eq!(
            labels(&[p("eu/report.json"), p("us/report.json"), p("x")]),
            ["eu/report", "us/report", "x"]
        );
    }
}
