//! `harun merge` for people: each finding once, with the hosts that have it.

use super::render::{label, style};
use crate::base::report::Severity;
use crate::fleet::merge::FleetReport;

/// `lb1, lb2, lb3` or, past eight, `lb1, ..., lb8 and 12 more`.
fn host_list(hosts: &[String]) -> String {
    const SHOWN: usize = 8;
    if hosts.len() <= SHOWN {
        return hosts.join(", ");
    }
    format!(
        "{} and {} more",
        hosts[..SHOWN].join(", "),
        hosts.len() - SHOWN
    )
}

/// The fleet report as text.
pub fn merged(fleet: &FleetReport) -> String {
    let total = fleet.hosts.len();
    let mut playbooks: Vec<&str> = fleet.reports.iter().map(|r| r.playbook.as_str()).collect();
    playbooks.dedup();
    let mut out = format!(
        "{} report(s) of {} ({}), {total} host(s): {}\n",
        fleet.reports.len(),
        playbooks.join(", "),
        if fleet.reports.len() == 1 {
            "one run"
        } else {
            "merged"
        },
        host_list(&fleet.hosts)
    );
    if !fleet.findings.is_empty() {
        out.push('\n');
    }
    for f in &fleet.findings {
        let s = style(f.severity);
        out.push_str(&format!(
            "{s}{:<8}{s:#} {}  on {} of {total} host(s): {}\n",
            label(f.severity),
            f.id,
            f.hosts.len(),
            host_list(&f.hosts)
        ));
        for v in &f.variants {
            let on = if f.variants.len() > 1 {
                format!("  [{}]", host_list(&v.hosts))
            } else {
                String::new()
            };
            out.push_str(&format!("         {}{on}\n", v.title));
            if let Some(a) = &v.advice {
                if let Some(first) = a.lines().next() {
                    out.push_str(&format!("           → {first}\n"));
                }
            }
        }
    }
    if !fleet.errors.is_empty() {
        out.push('\n');
        for e in &fleet.errors {
            out.push_str(&format!(
                "{}: the run stopped ({}, exit {}): {}  [{}]\n",
                host_list(&e.hosts),
                e.kind,
                e.exit_code,
                e.message.lines().next().unwrap_or(""),
                e.file
            ));
        }
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| {
            let n = fleet.findings.iter().filter(|f| f.severity == *sev).count();
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    let worst = style(fleet.worst);
    out.push_str(&format!(
        "\n{worst}{}{worst:#}: {} finding id(s){}{}, exit code {}\n",
        label(fleet.worst),
        fleet.findings.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        if fleet.errors.is_empty() {
            String::new()
        } else {
            format!(", {} run(s) stopped", fleet.errors.len())
        },
        fleet.exit_code
    ));
    out
}
