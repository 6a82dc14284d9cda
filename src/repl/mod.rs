//! The incident REPL.

use crate::Runner;

pub fn run(_runner: &Runner, _json: bool) -> i32 {
    crate::cli::error("the REPL is being built (see issue 5)");
    crate::ExitCode::Usage as i32
}
