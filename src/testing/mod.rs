//! Playbook tests a team runs in its own CI (`harun test`).
//!
//! A test file `NAME.test.toml` sits next to `NAME.rhai` and says what the
//! playbook runs against (a lab with a real HAProxy, a replay bundle, the
//! team's own configuration) and what must come out (exit code, findings
//! present or absent, table rows). [`spec`] parses, [`run`] executes; the
//! library never prints, the CLI renders the outcomes.
//!
//! May import: the runner, the lab, settings and reports.

pub mod run;
pub mod spec;

pub use run::{Options, Outcome};
pub use spec::{discover, parse, Against, TestCase};

use crate::base::error::Result;
use std::path::PathBuf;

/// Every test case of every test file under `paths`, in file order. A file
/// that does not parse stops everything: a broken test suite is unusable
/// input, not a failing test.
pub fn load(paths: &[PathBuf]) -> Result<Vec<TestCase>> {
    let mut out = Vec::new();
    for file in discover(paths)? {
        let text = std::fs::read_to_string(&file).map_err(|e| {
            crate::base::error::Error::Playbook(format!("{}: cannot read: {e}", file.display()))
        })?;
        out.extend(parse(&file, &text)?);
    }
    Ok(out)
}
