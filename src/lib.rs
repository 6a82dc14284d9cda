//! harun: an embeddable runbook engine for HAProxy incidents.
//!
//! Build a [`Runner`] with the HAProxy runtime API sockets to talk to, run a
//! shipped playbook or your own Rhai script, and get a [`Report`] of findings
//! and tables back. The library never prints: live output goes to a
//! [`sink::Sink`].
//!
//! Layers, bottom to top (each folder imports only the ones below it; see
//! docs/architecture.md): `base` (errors, the report model, sink,
//! cancellation), `runtime` and `system` (HAProxy's runtime API, the host),
//! `logs` (HAProxy's log lines: formats, parser, summaries), `fleet`
//! (Ansible inventories, host patterns, merged reports), `config`, `diagnose` (what a running HAProxy says about itself),
//! `actions` (the write path), `lab`, `script` (the Rhai engine and its
//! primitives), the [`Runner`], then `check` and `testing` (team playbook
//! tooling), `output`, and the two front ends `repl` and `cli`.

pub mod actions;
pub mod base;
pub mod check;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod fleet;
pub mod lab;
pub mod logs;
pub mod output;
#[cfg(test)]
mod properties;
pub mod repl;
pub mod runner;
pub mod runtime;
pub mod script;
pub mod system;
pub mod testing;

// The embedding API keeps its short paths (`harun::sink::Sink`, ...).
pub use base::{cancel, error, report, sink};
pub use error::{Error, ExitCode, Result};
pub use report::{Finding, Report, RunError, Severity, Table};
pub use runner::{Runner, RunnerBuilder};
pub use script::settings;
pub use settings::{Limits, Settings};
