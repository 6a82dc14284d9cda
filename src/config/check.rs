//! `haproxy -c`: run it, and parse what it prints.
//!
//! Message format (HAProxy `src/errors.c`, since 2.4):
//! `[LABEL]<padded to 10 columns> (pid) : ` then an optional context
//! (`config : `, `[file:line] : `, `'server px/srv' : `) then the message.
//! Before 2.4 (`src/log.c`): `[LABEL] DDD/HHMMSS (pid) : message`, where the
//! message itself often starts with `parsing [file:line] : `.
//! Exit codes: 0 valid, 1 errors, 2 valid but no listener. Since 2.9
//! "Configuration file is valid" is only printed with `-V`: only the exit code counts.

use crate::system::access::{Access, RunError};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One `[ALERT]`/`[WARNING]`/`[NOTICE]`/`[DIAG]` message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckMessage {
    /// `alert`, `warning`, `notice` or `diag`.
    pub level: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub proxy: Option<String>,
    pub server: Option<String>,
    /// The message, continuation lines joined with `\n`.
    pub text: String,
}

impl CheckMessage {
    /// `file:line` when both are known, else the file alone.
    pub fn location(&self) -> Option<String> {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => Some(format!("{f}:{l}")),
            (Some(f), None) => Some(f.clone()),
            _ => None,
        }
    }
}

/// The outcome of `haproxy -c`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// True for exit codes 0 and 2.
    pub valid: bool,
    pub exit_code: i32,
    /// Exit code 2: the configuration is valid but declares no listener.
    pub no_listener: bool,
    pub messages: Vec<CheckMessage>,
    /// From `[NOTICE] ... haproxy version is X`, when printed.
    pub version: Option<String>,
    /// Lines that are not messages (`Configuration file is valid`, `Warnings were found.`).
    pub other: Vec<String>,
}

impl CheckResult {
    pub fn alerts(&self) -> impl Iterator<Item = &CheckMessage> {
        self.messages.iter().filter(|m| m.level == "alert")
    }
    pub fn warnings(&self) -> impl Iterator<Item = &CheckMessage> {
        self.messages.iter().filter(|m| m.level == "warning")
    }
}

/// Why `haproxy -c` could not be run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("haproxy binary `{}` not found: install it (`apt-get install haproxy`) or pass `--haproxy-bin PATH`", bin.display())]
    BinaryNotFound { bin: PathBuf },
    #[error("`{} -c` timed out after {after:?} (killed)", bin.display())]
    Timeout { bin: PathBuf, after: Duration },
    #[error("cannot run `{} -c`: {source}", bin.display())]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no configuration path given to `haproxy -c`")]
    NoPath,
}

const LEVELS: &[(&str, &str)] = &[
    ("ALERT", "alert"),
    ("WARNING", "warning"),
    ("NOTICE", "notice"),
    ("DIAG", "diag"),
];

/// Parses the combined stdout+stderr of `haproxy -c` and its exit code.
pub fn parse_check_output(output: &str, exit_code: i32) -> CheckResult {
    let mut messages: Vec<CheckMessage> = Vec::new();
    let mut other = Vec::new();
    let mut version = None;
    for line in output.lines() {
        if let Some(msg) = parse_message_line(line) {
            if msg.level == "notice" {
                if let Some(v) = msg.text.strip_prefix("haproxy version is ") {
                    version = Some(v.trim().to_string());
                }
            }
            messages.push(msg);
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let is_continuation = line.starts_with([' ', '\t']) || trimmed.starts_with('|');
        match messages.last_mut() {
            Some(prev) if is_continuation => {
                let cont = trimmed.strip_prefix('|').unwrap_or(trimmed).trim();
                prev.text.push('\n');
                prev.text.push_str(cont);
            }
            _ => other.push(trimmed.to_string()),
        }
    }
    CheckResult {
        valid: exit_code == 0 || exit_code == 2,
        exit_code,
        no_listener: exit_code == 2,
        messages,
        version,
        other,
    }
}

fn parse_message_line(line: &str) -> Option<CheckMessage> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let label = &rest[..close];
    let level = LEVELS.iter().find(|(l, _)| *l == label)?.1;
    let mut rest = rest[close + 1..].trim_start();
    // Pre-2.4: a `DDD/HHMMSS` date before the pid.
    if let Some((date, after)) = rest.split_once(' ') {
        if date.contains('/') && date.chars().all(|c| c.is_ascii_digit() || c == '/') {
            rest = after.trim_start();
        }
    }
    // `(pid) : `
    if rest.starts_with('(') {
        let end = rest.find(')')?;
        rest = rest[end + 1..].trim_start();
        rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
    }
    let mut msg = CheckMessage {
        level: level.to_string(),
        file: None,
        line: None,
        proxy: None,
        server: None,
        text: String::new(),
    };
    if let Some(r) = rest.strip_prefix("config : ") {
        rest = r;
    }
    // `parsing [file:line] : `, `Parsing [file:line]: ` or `[file:line] : `.
    let after_word = rest
        .strip_prefix("parsing ")
        .or_else(|| rest.strip_prefix("Parsing "))
        .unwrap_or(rest);
    if let Some(inner) = after_word.strip_prefix('[') {
        if let Some(end) = inner.find(']') {
            let loc = &inner[..end];
            if let Some((file, line)) = loc.rsplit_once(':') {
                if let Ok(n) = line.trim().parse::<usize>() {
                    msg.file = Some(file.to_string());
                    msg.line = Some(n);
                    let r = inner[end + 1..].trim_start();
                    rest = r.strip_prefix(':').unwrap_or(r).trim_start();
                }
            }
        }
    }
    // `'server px/srv' : ` or `'backend px' : `.
    if let Some(inner) = rest.strip_prefix('\'') {
        if let Some(end) = inner.find("' : ") {
            let obj = &inner[..end];
            if let Some((kind, name)) = obj.split_once(' ') {
                let known = matches!(
                    kind,
                    "server" | "backend" | "frontend" | "listen" | "proxy" | "defaults"
                );
                if known && !name.contains(' ') {
                    if kind == "server" {
                        match name.split_once('/') {
                            Some((p, s)) => {
                                msg.proxy = Some(p.to_string());
                                msg.server = Some(s.to_string());
                            }
                            None => msg.server = Some(name.to_string()),
                        }
                    } else {
                        msg.proxy = Some(name.to_string());
                    }
                    rest = &inner[end + 4..];
                }
            }
        }
    }
    msg.text = rest.trim_end().to_string();
    if msg.proxy.is_none() {
        msg.proxy = proxy_in_text(&msg.text);
    }
    Some(msg)
}

/// Finds `frontend 'x'`, `backend 'x'`, `listen 'x'` or `proxy 'x'` in a message, the
/// keyword in any case (`Proxy 'fe': unable to find required default_backend`).
fn proxy_in_text(text: &str) -> Option<String> {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut best: Option<(usize, String)> = None;
    for kw in ["frontend '", "backend '", "listen '", "proxy '"] {
        if let Some(pos) = lower.find(kw) {
            let start = pos + kw.len();
            if let Some(len) = text[start..].find('\'') {
                if best.as_ref().map(|(p, _)| pos < *p).unwrap_or(true) {
                    best = Some((pos, text[start..start + len].to_string()));
                }
            }
        }
    }
    best.map(|(_, n)| n)
}

/// Runs `haproxy -c -f p1 -f p2 ...`, capturing stdout and stderr, and kills it
/// after `timeout`.
pub fn run_check(
    haproxy_bin: &Path,
    paths: &[PathBuf],
    timeout: Duration,
) -> Result<CheckResult, CheckError> {
    run_check_on(&Access::Local, haproxy_bin, paths, timeout)
}

/// [`run_check`] on a host: this machine's haproxy or, over SSH, the
/// host's, on the host's files.
pub fn run_check_on(
    access: &Access,
    haproxy_bin: &Path,
    paths: &[PathBuf],
    timeout: Duration,
) -> Result<CheckResult, CheckError> {
    if paths.is_empty() {
        return Err(CheckError::NoPath);
    }
    let bin = || match access.host() {
        Some(h) => PathBuf::from(format!("{} (on {h})", haproxy_bin.display())),
        None => haproxy_bin.to_path_buf(),
    };
    let mut args: Vec<OsString> = vec!["-c".into()];
    for p in paths {
        // Relative, it would name a file in the SSH user's home there.
        let p = crate::system::access::require_absolute(access, p)
            .map_err(|source| CheckError::Spawn { bin: bin(), source })?;
        args.push("-f".into());
        args.push(p.into());
    }
    let out = access
        .run(haproxy_bin, &args, timeout, MAX_OUTPUT)
        .map_err(|e| match e {
            RunError::NotFound => CheckError::BinaryNotFound { bin: bin() },
            RunError::Timeout(after) => CheckError::Timeout { bin: bin(), after },
            RunError::Spawn(source) => CheckError::Spawn { bin: bin(), source },
        })?;
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    Ok(parse_check_output(&text, out.code))
}

/// Output of `haproxy -c` kept, per stream.
const MAX_OUTPUT: usize = 16 * 1024 * 1024;

/// Outcome of trying to run `haproxy -c`: its result, or why it could not run.
pub enum Checked {
    Ran(CheckResult),
    Failed { kind: &'static str, message: String },
}

/// The version in the first line of `haproxy -v`/`-vv`.
pub fn version_of(text: &str) -> Option<String> {
    let first = text.lines().next()?;
    // "HAProxy version 2.6.12-1+deb12u4 2023/..." (1.x: "HA-Proxy version ...").
    let mut words = first.split_whitespace();
    while let Some(w) = words.next() {
        if w == "version" {
            return words.next().map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn fixture(name: &str) -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/configs")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn fixture_path(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/configs")
            .join(name)
    }

    #[test]
    fn parses_real_26_unknown_keyword() {
        let r = parse_check_output(&fixture("check-2.6-unknown-keyword.txt"), 1);
        assert!(!r.valid);
        assert_eq!(r.version.as_deref(), Some("2.6.12-1+deb12u4"));
        let alerts: Vec<_> = r.alerts().collect();
        assert_eq!(alerts.len(), 4);
        assert_eq!(alerts[0].file.as_deref(), Some("unknown-keyword.cfg"));
        assert_eq!(alerts[0].line, Some(3));
        assert_eq!(alerts[0].text, "unknown keyword 'foo' in 'global' section");
        assert_eq!(alerts[1].line, Some(13));
        assert_eq!(alerts[3].file, None);
    }

    #[test]
    fn parses_real_26_warnings_and_continuations() {
        let r = parse_check_output(&fixture("check-2.6-warnings.txt"), 0);
        assert!(r.valid);
        let w: Vec<_> = r.warnings().collect();
        assert_eq!(w.len(), 4);
        assert_eq!(w[0].location().as_deref(), Some("warning.cfg:10"));
        assert_eq!(w[0].proxy.as_deref(), Some("fe_main"));
        assert!(w[0].text.starts_with("'option httplog' not usable"));
        assert_eq!(w[1].proxy.as_deref(), Some("fe_main"));
        assert!(w[1]
            .text
            .starts_with("missing timeouts for frontend 'fe_main'."));
        assert!(w[1].text.contains("\nWhile not properly invalid"));
        assert_eq!(w[1].text.lines().count(), 4);
        assert_eq!(w[3].proxy.as_deref(), Some("bk_app"));
        assert!(r.other.iter().any(|l| l == "Configuration file is valid"));
    }

    #[test]
    fn parses_real_26_server_context_and_capitalized_parsing() {
        let r = parse_check_output(&fixture("check-2.6-server.txt"), 1);
        let a: Vec<_> = r.alerts().collect();
        let srv = a.iter().find(|m| m.server.is_some()).unwrap();
        assert_eq!(srv.proxy.as_deref(), Some("bk_app"));
        assert_eq!(srv.server.as_deref(), Some("s3"));
        assert_eq!(srv.location().as_deref(), Some("/tmp/hc/warn2.cfg:20"));
        assert!(srv.text.starts_with("weight of server s3"));
        let dup = a.iter().find(|m| m.text.contains("same name")).unwrap();
        assert_eq!(dup.location().as_deref(), Some("/tmp/hc/unknown.cfg:16"));
        assert_eq!(dup.proxy.as_deref(), Some("bk_app"));
    }

    #[test]
    fn parses_pre_24_format() {
        let r = parse_check_output(&fixture("check-2.2-format.txt"), 1);
        assert_eq!(r.alerts().count(), 4);
        let first = r.alerts().next().unwrap();
        assert_eq!(
            first.location().as_deref(),
            Some("/etc/haproxy/haproxy.cfg:12")
        );
        assert_eq!(first.text, "unknown keyword 'foo' in 'global' section");
        let w = r.warnings().next().unwrap();
        assert_eq!(w.location().as_deref(), Some("/etc/haproxy/haproxy.cfg:40"));
        assert_eq!(w.proxy.as_deref(), Some("fe"));
    }

    #[test]
    fn parses_29_format_without_valid_line() {
        let r = parse_check_output(&fixture("check-2.9-format.txt"), 0);
        assert!(r.valid);
        assert!(r.other.is_empty());
        let w: Vec<_> = r.warnings().collect();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].server.as_deref(), Some("s1"));
        assert_eq!(w[0].proxy.as_deref(), Some("bk"));
        assert_eq!(
            w[0].location().as_deref(),
            Some("/etc/haproxy/haproxy.cfg:40")
        );
        assert_eq!(r.messages.iter().filter(|m| m.level == "diag").count(), 1);
        assert_eq!(r.version.as_deref(), Some("2.9.7"));
    }

    #[test]
    fn exit_code_decides_validity() {
        assert!(parse_check_output("", 0).valid);
        let r = parse_check_output(
            "Configuration file has no error but will not start (no listener) => exit(2).\n",
            2,
        );
        assert!(r.valid && r.no_listener);
        assert!(!parse_check_output("Configuration file is valid\n", 1).valid);
    }

    #[test]
    fn capitalized_proxy_in_message_text() {
        let r = parse_check_output(
            "[ALERT]    (1) : config : Proxy 'fe': unable to find required default_backend: 'nope'.\n",
            1,
        );
        let a = r.alerts().next().unwrap();
        assert_eq!(a.proxy.as_deref(), Some("fe"));
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "[",
            "[ALERT]",
            "[ALERT] (",
            "[ALERT]    (1) : config : parsing [",
            "[ALERT]    (1) : config : parsing [x:] : y",
            "[WARNING]  (1) : '",
            "[WARNING]  (1) : 'server ' : x",
            "   | orphan continuation",
            "[DIAG] \u{e9}\u{0}",
        ] {
            let _ = parse_check_output(s, 1);
        }
    }

    fn haproxy_bin() -> Option<PathBuf> {
        let p = PathBuf::from("/usr/sbin/haproxy");
        if p.exists() {
            return Some(p);
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but /usr/sbin/haproxy is missing: install Debian's haproxy package"
        );
        None
    }

    #[test]
    fn real_haproxy_valid_unknown_warning_nolistener() {
        let Some(bin) = haproxy_bin() else { return };
        let t = Duration::from_secs(30);
        let r = run_check(&bin, &[fixture_path("valid.cfg")], t).unwrap();
        assert_eq!(r.exit_code, 0, "{r:?}");
        assert!(r.valid && r.alerts().count() == 0);

        let r = run_check(&bin, &[fixture_path("unknown-keyword.cfg")], t).unwrap();
        assert_eq!(r.exit_code, 1);
        assert!(!r.valid);
        let a = r.alerts().find(|m| m.line == Some(3)).unwrap();
        assert!(a.file.as_deref().unwrap().ends_with("unknown-keyword.cfg"));
        assert!(a.text.contains("unknown keyword 'foo'"));

        let r = run_check(&bin, &[fixture_path("warning.cfg")], t).unwrap();
        assert_eq!(r.exit_code, 0);
        assert!(r.valid);
        assert!(r.warnings().count() >= 1, "{r:?}");
        assert!(r.warnings().any(|w| w.line.is_some()), "{r:?}");

        let r = run_check(&bin, &[fixture_path("no-listener.cfg")], t).unwrap();
        assert_eq!(r.exit_code, 2);
        assert!(r.valid && r.no_listener);
    }

    #[test]
    fn missing_binary_and_missing_file() {
        let e = run_check(
            Path::new("/nonexistent/haproxy"),
            &[fixture_path("valid.cfg")],
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(matches!(e, CheckError::BinaryNotFound { .. }));
        assert!(e.to_string().contains("apt-get install haproxy"));
        assert!(e.to_string().contains("--haproxy-bin"));

        let Some(bin) = haproxy_bin() else { return };
        let r = run_check(
            &bin,
            &[PathBuf::from("/nonexistent/x.cfg")],
            Duration::from_secs(30),
        )
        .unwrap();
        assert!(!r.valid);
        assert!(r.alerts().any(|a| a.text.contains("/nonexistent/x.cfg")));
    }

    #[test]
    fn timeout_kills_the_process() {
        // `sleep` ignores `-c -f x` badly: use a shell script that sleeps.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("slow-haproxy");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let start = Instant::now();
        let e = run_check(
            &script,
            &[PathBuf::from("x.cfg")],
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(matches!(e, CheckError::Timeout { .. }), "{e}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn timeout_kills_grandchildren_holding_the_pipes() {
        // A wrapper whose child (not exec'd) holds stdout/stderr: killing only the shell
        // used to leave the readers blocked until `sleep` ended.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("wrapper-haproxy");
        std::fs::write(&script, "#!/bin/sh\nsleep 60\n").unwrap();
        let bg = dir.path().join("bg-haproxy");
        std::fs::write(&bg, "#!/bin/sh\nsleep 60 &\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        for s in [&script, &bg] {
            std::fs::set_permissions(s, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for s in [&script, &bg] {
            let start = Instant::now();
            let e =
                run_check(s, &[PathBuf::from("x.cfg")], Duration::from_millis(200)).unwrap_err();
            assert!(matches!(e, CheckError::Timeout { .. }), "{e}");
            // Not a speed check: without the group kill the readers wait for
            // the 60 s `sleep`; anything well below that means it was killed.
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{}: {:?}",
                s.display(),
                start.elapsed()
            );
        }
    }
}
