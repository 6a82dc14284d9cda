//! Embedding harun: start a disposable HAProxy (the lab), run a shipped
//! playbook against it and read the structured report.
//!
//!     cargo run --example embed            # needs `haproxy` on PATH
//!
//! An ops bot does the same with `.socket("/run/haproxy/admin.sock")` instead
//! of the lab. From async code, call `run_playbook` inside
//! `tokio::task::spawn_blocking`: playbook primitives block.

use harun::lab::{Lab, Scenario};
use harun::{Runner, Severity};

fn main() -> Result<(), harun::Error> {
    let lab = Lab::builder().scenario(Scenario::Incident).start()?;

    let runner = Runner::builder()
        .socket(&lab.admin_socket().display().to_string())?
        .config_path(lab.config_path())
        .read_only(true)
        .build()?;

    let report = runner.run_playbook("troubleshoot")?;

    println!(
        "{} findings, worst: {}",
        report.findings.len(),
        report.worst
    );
    for f in report.ranked_findings() {
        if f.severity >= Severity::Warning {
            println!("{:<8} {:<24} {}", f.severity, f.id, f.title);
        }
    }
    if let Some(e) = &report.error {
        eprintln!("playbook stopped: {}", e.render());
    }
    std::process::exit(report.exit_code());
}
