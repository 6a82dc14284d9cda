//! What people see: findings, tables and live events rendered for a
//! terminal or as plain text, shared by the CLI and the REPL. The library
//! below never prints; these are the only modules that write to the
//! terminal (through `anstream`, so `NO_COLOR` and pipes get plain text).
//!
//! May import: the report model, the sink, the Rhai value conversions.

pub mod display;
pub mod docs;
pub mod fleet;
pub mod render;
pub mod term;

/// Write `text` to stdout. A reader that went away (`harun doc | head`)
/// is not an error: print!'s panic on a closed pipe would exit 101.
pub fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Print an error the way every harun error looks.
pub fn error(msg: &str) {
    let mut err = anstream::stderr();
    let red = anstyle::Style::new()
        .fg_color(Some(anstyle::AnsiColor::Red.into()))
        .bold();
    use std::io::Write;
    let _ = writeln!(err, "{red}harun: error:{red:#} {msg}");
}

/// Print a warning: something harun goes on without, said once.
pub fn warning(msg: &str) {
    let mut err = anstream::stderr();
    let yellow = anstyle::Style::new()
        .fg_color(Some(anstyle::AnsiColor::Yellow.into()))
        .bold();
    use std::io::Write;
    let _ = writeln!(err, "{yellow}harun: warning:{yellow:#} {msg}");
}
