//! harun: an embeddable runbook engine for HAProxy incidents.
//!
//! Build a [`Runner`] with the HAProxy runtime API sockets to talk to, run a
//! shipped playbook or your own Rhai script, and get a [`Report`] of findings
//! and tables back. The library never prints: live output goes to a
//! [`sink::Sink`].

pub mod cancel;
pub mod check;
pub mod cli;
pub mod config;
pub mod docs;
pub mod drain;
pub mod error;
pub mod findings;
pub mod health;
pub mod journal;
pub mod lab;
pub mod output;
pub mod playbooks;
pub mod repl;
pub mod report;
pub mod rotation;
pub mod runner;
pub mod runtime;
pub mod script;
pub mod settings;
pub mod sink;
pub mod system;
pub mod testing;

pub use error::{Error, ExitCode, Result};
pub use report::{Finding, Report, RunError, Severity, Table};
pub use runner::{Runner, RunnerBuilder};
pub use settings::{Limits, Settings};
