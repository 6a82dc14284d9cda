//! harun: an embeddable runbook engine for HAProxy incidents.

pub mod config;
pub mod error;
pub mod report;
pub mod runtime;
pub mod system;

pub use error::{Error, ExitCode, Result};
pub use report::{Finding, Report, Severity, Table};
pub mod cancel;
pub mod lab;
