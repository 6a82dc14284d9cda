//! Where a run's live output goes. The library never prints: the CLI installs
//! a terminal sink, an embedder installs its own (or none) and reads the
//! [`Report`](crate::base::report::Report) afterwards.

use crate::base::report::{Finding, Table};

/// Progress of a long wait (a drain), for a progress bar or plain lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Stable key, e.g. `drain bk_app/app1`.
    pub key: String,
    pub message: String,
    /// Sessions (or items) left.
    pub remaining: u64,
    pub elapsed_secs: f64,
    pub timeout_secs: f64,
    pub done: bool,
}

/// A write, as it is sent, refused or (in dry-run) only shown.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteNotice {
    pub target: String,
    pub command: String,
    pub outcome: String,
    /// In a rolling change (`--serial`): its group and the number of
    /// groups (`(2, 3)`: the second of three), and the hosts of its group.
    pub group: Option<(usize, usize, Vec<String>)>,
}

#[derive(Debug)]
pub enum Event<'a> {
    Print(&'a str),
    Table(&'a Table),
    /// One `finding(...)` call as it happens; the report folds identical
    /// ones together (see [`crate::base::report::Report::push_finding`]).
    Finding(&'a Finding),
    Progress(&'a Progress),
    Write(&'a WriteNotice),
    /// One frame of `watch(...)`: replaces the previous frame (redrawn in
    /// place on a terminal). Not kept in the report.
    Redraw(&'a Table),
}

pub trait Sink: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// Keeps nothing: the report alone carries the results.
pub struct NullSink;

impl Sink for NullSink {
    fn event(&self, _: Event<'_>) {}
}

/// Asks the operator before the first write of a run.
pub trait Confirm: Send + Sync {
    /// `planned` lists the commands about to be sent, per target. Return true to proceed.
    fn confirm(&self, planned: &[String]) -> bool;
}
