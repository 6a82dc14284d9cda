//! The command line: clap types, converted once into [`Settings`], then
//! dispatched. Everything here may print; the library below does not.

mod args;
mod check;
mod commands;
mod signals;
mod team;

pub use args::Cli;

/// Parse arguments, run, and return the process exit code.
pub fn run() -> i32 {
    // `harun <playbook> --help` shows the playbook's parameters, not clap's help.
    let argv: Vec<String> = std::env::args().collect();
    if let Some(code) = commands::playbook_help(&argv) {
        return code;
    }
    use clap::FromArgMatches;
    let parsed = args::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (mut cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    cli.global.config_given = args::config_given(&matches);
    crate::runtime::ssh::set_config(cli.global.ssh_config.clone());
    let code = commands::dispatch(cli);
    // The run's SSH masters end with it (ControlPersist is only the net for a kill).
    crate::runtime::ssh::close_all();
    code
}

/// Exit with `code`; on 130 re-raise SIGINT so the shell sees a real interrupt.
pub fn exit(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    if code == crate::base::error::ExitCode::Interrupted as i32 {
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::raise(libc::SIGINT);
        }
    }
    std::process::exit(code)
}

pub use crate::output::{error, out};
