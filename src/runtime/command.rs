//! Validated runtime API commands.
//!
//! HAProxy splits a line on `;` (and honours `\` escapes), so any unvalidated
//! name or value is a command injection. Every token that goes into a command
//! is checked here, before anything is sent.

use crate::base::error::{Error, Result};
use std::fmt;

/// Reject everything HAProxy's CLI parser treats specially.
pub fn validate_token(what: &'static str, value: &str) -> Result<()> {
    let reason = if value.is_empty() {
        Some("must not be empty".to_string())
    } else if value.len() > 512 {
        Some("is longer than 512 bytes".to_string())
    } else if value.contains("<<") {
        Some("contains `<<`, which would start a multi-line payload".to_string())
    } else {
        value.chars().find_map(|c| match c {
            ';' => Some("contains `;`, which would start another command".to_string()),
            '\\' => Some("contains `\\`, an escape character for HAProxy's CLI".to_string()),
            ' ' | '\t' => {
                Some("contains whitespace, which would split it into several arguments".to_string())
            }
            '\r' | '\n' => {
                Some("contains a line break, which would start another command".to_string())
            }
            c if c.is_control() => {
                Some(format!("contains the control character U+{:04X}", c as u32))
            }
            _ => None,
        })
    };
    match reason {
        Some(reason) => Err(Error::InvalidInput {
            what,
            value: value.escape_debug().to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// A backend or server name as HAProxy's configuration accepts it: letters,
/// digits, `-`, `_`, `.` and `:` (configuration.txt, "All proxy names must
/// be formed from..."; server names are held to the same rule). Anything
/// else cannot name a real server, and some of it would be read differently
/// than it looks: `#3` is HAProxy's id form (the guard and the journal work
/// on names), `@1`/`@!pid` route on the master CLI, a Cyrillic `а` looks like
/// a Latin `a`, U+202E reverses the text around it.
pub fn validate_name(what: &'static str, value: &str) -> Result<()> {
    validate_token(what, value)?;
    if value.len() > 128 {
        return Err(Error::InvalidInput {
            what,
            value: value.escape_debug().to_string(),
            reason: "is longer than 128 bytes".into(),
        });
    }
    let bad = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')));
    match bad {
        None => Ok(()),
        Some(c) => Err(Error::InvalidInput {
            what,
            value: value.escape_debug().to_string(),
            reason: match c {
                '#' => "uses `#`: harun names servers by name, not by HAProxy's `#id` form (its guard and journal must see the name)".into(),
                '@' => "uses `@`, a master CLI routing prefix (`@1`, `@!pid`): give the master socket as `-s master@PATH` and harun routes to the workers itself".into(),
                c if c.is_ascii() => format!("contains `{c}`, which HAProxy does not allow in names (letters, digits, `-`, `_`, `.`, `:`)"),
                c => format!("contains the non-ASCII character U+{:04X}: HAProxy names are ASCII (letters, digits, `-`, `_`, `.`, `:`), and look-alike or direction-changing characters make a name read differently than it acts", c as u32),
            },
        }),
    }
}

/// `backend/server`, both halves validated.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerRef {
    pub backend: String,
    pub server: String,
}

impl ServerRef {
    pub fn new(backend: &str, server: &str) -> Result<ServerRef> {
        validate_name("backend name", backend)?;
        validate_name("server name", server)?;
        Ok(ServerRef {
            backend: backend.to_string(),
            server: server.to_string(),
        })
    }

    /// Parse `backend/server`.
    pub fn parse(s: &str) -> Result<ServerRef> {
        validate_token("server", s)?;
        match s.split_once('/') {
            Some((b, srv)) if !b.is_empty() && !srv.is_empty() && !srv.contains('/') => {
                ServerRef::new(b, srv)
            }
            _ => Err(Error::InvalidInput {
                what: "server",
                value: s.to_string(),
                reason: "expected `backend/server`".to_string(),
            }),
        }
    }
}

impl fmt::Display for ServerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.backend, self.server)
    }
}

/// A server's administrative state as `set server ... state` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminAction {
    Ready,
    Drain,
    Maint,
}

impl AdminAction {
    pub fn parse(s: &str) -> Result<AdminAction> {
        match s {
            "ready" => Ok(AdminAction::Ready),
            "drain" => Ok(AdminAction::Drain),
            "maint" => Ok(AdminAction::Maint),
            other => Err(Error::InvalidInput {
                what: "state",
                value: other.escape_debug().to_string(),
                reason: "expected ready, drain or maint".to_string(),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::Ready => "ready",
            AdminAction::Drain => "drain",
            AdminAction::Maint => "maint",
        }
    }
}

/// One runtime API command, known to be a single command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command(String);

/// First words of commands that only read. Everything else is treated as a write:
/// it goes through dry-run, read-only, confirmation and the journal.
const READ_PREFIXES: &[&str] = &["show ", "get ", "help", "echo "];

/// Reads whose replies have a fixed format in which no line starts with `> `:
/// they use the kept prompt-mode session. Other reads (`show env`, `show
/// events`, Lua commands, ...) get a connection of their own.
const PROMPT_SAFE_READS: &[&str] = &[
    "show stat",
    "show info",
    "show servers state",
    "show servers conn",
    "show backend",
    "show cli level",
    "show activity",
    "show errors",
    "show sess",
    "show pools",
    "show resolvers",
    "show version",
    "get weight",
    "help",
];

/// Commands that change the session itself, not HAProxy: on harun's shared,
/// pooled session they would break error detection (`set severity-output`),
/// the prompt framing (`prompt`, `quit`) or the level later commands run at
/// (`user`, `operator`). harun sets the session up itself.
const SESSION_COMMANDS: &[&str] = &["prompt", "quit", "set severity-output", "user", "operator"];

impl Command {
    /// A raw command from a playbook or the REPL: exactly one command, no `;`,
    /// no line break, no `\` escape, no control character.
    pub fn raw(s: &str) -> Result<Command> {
        // Only blanks: a CR or LF at either end is refused below, never dropped.
        let s = s.trim_matches([' ', '\t']);
        let bad = |reason: &str| Error::InvalidInput {
            what: "command",
            value: s.escape_debug().to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(bad("is empty"));
        }
        if s.len() > 4096 {
            return Err(bad("is longer than 4096 bytes"));
        }
        if s.contains(';') {
            return Err(bad("contains `;`: send one command at a time"));
        }
        if s.contains('\\') {
            return Err(bad("contains `\\`, an escape character for HAProxy's CLI"));
        }
        if s.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad("contains a line break or control character"));
        }
        // Runtime API commands and HAProxy's names are ASCII; a look-alike
        // or an invisible direction mark makes a command read differently
        // than it acts.
        if let Some(c) = s.chars().find(|c| !c.is_ascii()) {
            return Err(bad(&format!(
                "contains the non-ASCII character U+{:04X}: runtime API commands are ASCII",
                c as u32
            )));
        }
        if s.starts_with('@') {
            return Err(bad(
                "starts with a master CLI routing prefix (`@1`, `@!pid`): give the master socket as `-s master@PATH` and harun routes to the workers itself",
            ));
        }
        // HAProxy reads the lines after a trailing `<<` as a payload: the
        // session would wait for an empty line that never comes.
        if s.contains("<<") {
            return Err(bad("contains `<<`, which starts a multi-line payload"));
        }
        // HAProxy splits words on runs of spaces and tabs; one canonical
        // spelling lets the guard and the journal see the command as HAProxy does.
        let s = s
            .split([' ', '\t'])
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        // The server a write names is what the guard judges and the journal
        // records: it must be a real `backend/server` name, never `#id`.
        match server_argument(&s) {
            Some(Some(w)) => {
                ServerRef::parse(w)?;
            }
            Some(None) => return Err(bad("names no server: expected `backend/server`")),
            None => {}
        }
        if SESSION_COMMANDS
            .iter()
            .any(|c| s == *c || s.starts_with(&format!("{c} ")))
        {
            return Err(Error::InvalidInput {
                what: "command",
                value: s,
                reason:
                    "changes harun's own session (prompt, severity output, level); harun manages it"
                        .into(),
            });
        }
        Ok(Command(s))
    }

    /// Whether the reply can be framed by the prompt of a kept session:
    /// writes (short messages) and the fixed-format reads harun itself uses.
    pub fn prompt_safe(&self) -> bool {
        self.is_write()
            || PROMPT_SAFE_READS
                .iter()
                .any(|p| self.0 == *p || self.0.starts_with(&format!("{p} ")))
    }

    pub fn show_stat() -> Command {
        Command("show stat".into())
    }

    pub fn show_info() -> Command {
        Command("show info".into())
    }

    pub fn show_servers_state(backend: Option<&str>) -> Result<Command> {
        Ok(Command(match backend {
            Some(b) => {
                validate_token("backend name", b)?;
                format!("show servers state {b}")
            }
            None => "show servers state".into(),
        }))
    }

    pub fn set_state(server: &ServerRef, state: AdminAction) -> Command {
        Command(format!("set server {server} state {}", state.as_str()))
    }

    /// `weight` is `N` (0-256) or `N%`.
    pub fn set_weight(server: &ServerRef, weight: &str) -> Result<Command> {
        let digits = weight.strip_suffix('%').unwrap_or(weight);
        let ok = !digits.is_empty()
            && digits.len() <= 4
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits
                .parse::<u32>()
                .map(|n| n <= 256 || weight.ends_with('%'))
                .unwrap_or(false);
        if !ok {
            return Err(Error::InvalidInput {
                what: "weight",
                value: weight.escape_debug().to_string(),
                reason: "expected an integer 0-256 or a percentage like `50%`".into(),
            });
        }
        Ok(Command(format!("set server {server} weight {weight}")))
    }

    pub fn shutdown_sessions(server: &ServerRef) -> Command {
        Command(format!("shutdown sessions server {server}"))
    }

    pub fn health(server: &ServerRef, enable: bool) -> Command {
        let verb = if enable { "enable" } else { "disable" };
        Command(format!("{verb} health {server}"))
    }

    pub fn agent(server: &ServerRef, enable: bool) -> Command {
        let verb = if enable { "enable" } else { "disable" };
        Command(format!("{verb} agent {server}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this command changes HAProxy's state.
    pub fn is_write(&self) -> bool {
        let c = self.0.as_str();
        !READ_PREFIXES
            .iter()
            .any(|p| c == p.trim_end() || c.starts_with(p))
    }

    /// The `backend/server` a write command is about, when it names one.
    pub fn server_ref(&self) -> Option<ServerRef> {
        self.0
            .split(' ')
            .find(|w| w.contains('/'))
            .and_then(|w| ServerRef::parse(w).ok())
    }
}

/// The `backend/server` argument of the runtime API commands that act on
/// one server, from the canonical (single-spaced) command: `None` for other
/// commands, `Some(None)` when the argument is missing.
fn server_argument(command: &str) -> Option<Option<&str>> {
    let w: Vec<&str> = command.split(' ').collect();
    let at = match w.as_slice() {
        ["set" | "add" | "del", "server", ..] => 2,
        ["enable" | "disable", "server" | "health" | "agent", ..] => 2,
        ["set" | "get", "weight", ..] => 2,
        ["set", "maxconn", "server", ..] => 3,
        ["shutdown", "sessions", "server", ..] => 3,
        _ => return None,
    };
    Some(w.get(at).copied())
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_commands_are_canonical_and_keep_the_session_intact() {
        assert_eq!(
            Command::raw("  set server\tbk/s1   state  maint ")
                .unwrap()
                .as_str(),
            "set server bk/s1 state maint"
        );
        for bad in [
            "show servers state <<",
            "add map #1 <<",
            "set severity-output none",
            "prompt",
            "quit",
            "operator",
            "user",
        ] {
            let e = Command::raw(bad).unwrap_err();
            assert_eq!(e.kind(), "invalid_input", "{bad}");
        }
        // Not session commands, only look alike.
        assert!(Command::raw("show users").is_ok());
        // Free-form replies get a connection of their own.
        assert!(Command::raw("show stat bk 4 -1").unwrap().prompt_safe());
        assert!(Command::raw("set server bk/s state ready")
            .unwrap()
            .prompt_safe());
        assert!(!Command::raw("show env").unwrap().prompt_safe());
        assert!(!Command::raw("show statistics").unwrap().prompt_safe());
    }

    #[test]
    fn injection_attempts_are_rejected_before_sending() {
        for evil in [
            "bk/s1;shutdown sessions server bk/s2",
            "bk/s1\nset server bk/s2 state maint",
            "bk/s1 state maint",
            "bk\\;x/s1",
            "bk/s1\r",
            "bk/s\u{1b}1",
            "bk<</s1",
        ] {
            let err = ServerRef::parse(evil).unwrap_err();
            assert_eq!(err.kind(), "invalid_input", "{evil}");
        }
        assert!(Command::raw("show info; shutdown sessions server bk/s1").is_err());
        assert!(Command::raw("show info\nshow stat").is_err());
        assert!(Command::raw("").is_err());
    }

    #[test]
    fn names_follow_haproxys_grammar() {
        for ok in ["bk_app/app1", "be-2.eu:west/srv.01", "A/b"] {
            assert!(ServerRef::parse(ok).is_ok(), "{ok}");
        }
        for (evil, why) in [
            ("#3/#1", "`#id` form"),
            ("bk/#1", "`#id` form"),
            ("@1/s1", "master CLI"),
            ("bk_\u{430}pp/app1", "U+0430"),
            ("bk/app1\u{202e}", "U+202E"),
            ("bk/app1\u{200f}", "U+200F"),
            ("bk/a,b", "`,`"),
            ("bk/a%b", "`%`"),
        ] {
            let e = ServerRef::parse(evil).unwrap_err().to_string();
            assert!(e.contains(why), "{evil}: {e}");
        }
        let long = format!("bk/{}", "a".repeat(200));
        assert!(ServerRef::parse(&long).is_err());
    }

    #[test]
    fn raw_writes_name_servers_by_name_in_ascii() {
        for evil in [
            "set server #2/#1 state maint",
            // The guard (like `track`) goes by name: `#id` never reaches it.
            "set server #4/w1 state maint",
            "set server #4/w1 state ready",
            "disable server bk/s\u{202e}1",
            "shutdown sessions server b\u{430}/s1",
            "set weight #2/#1 0",
            "set maxconn server #2/#1 1",
            "disable server",
            "set server",
            "@1 set server bk/s1 state maint",
            "@!1234 disable server bk/s1",
            "show info \u{200b}",
        ] {
            let e = Command::raw(evil).unwrap_err();
            assert_eq!(e.kind(), "invalid_input", "{evil}");
        }
        // `#id` stays valid where HAProxy means a map or ACL id, not a server.
        assert!(Command::raw("add map #0 key value").is_ok());
        assert!(Command::raw("show map #0").is_ok());
    }

    #[test]
    fn builds_exact_commands() {
        let s = ServerRef::parse("bk_eol/tagada2").unwrap();
        assert_eq!(
            Command::set_state(&s, AdminAction::Drain).as_str(),
            "set server bk_eol/tagada2 state drain"
        );
        assert_eq!(
            Command::set_weight(&s, "50%").unwrap().as_str(),
            "set server bk_eol/tagada2 weight 50%"
        );
        assert!(Command::set_weight(&s, "257").is_err());
        assert!(Command::set_weight(&s, "1;x").is_err());
        assert!(Command::set_weight(&s, "").is_err());
        assert_eq!(
            Command::shutdown_sessions(&s).as_str(),
            "shutdown sessions server bk_eol/tagada2"
        );
    }

    #[test]
    fn classifies_reads_and_writes() {
        assert!(!Command::raw("show stat").unwrap().is_write());
        assert!(!Command::raw("get weight bk/s1").unwrap().is_write());
        assert!(!Command::raw("help").unwrap().is_write());
        assert!(Command::raw("set server bk/s1 state drain")
            .unwrap()
            .is_write());
        assert!(Command::raw("disable server bk/s1").unwrap().is_write());
        assert!(Command::raw("clear counters all").unwrap().is_write());
        assert!(Command::raw("showstat").unwrap().is_write());
        assert_eq!(
            Command::raw("set server bk/s1 state drain")
                .unwrap()
                .server_ref(),
            Some(ServerRef::parse("bk/s1").unwrap())
        );
    }
}
