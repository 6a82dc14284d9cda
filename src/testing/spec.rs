//! Playbook test files: `NAME.test.toml` next to `NAME.rhai`.
//!
//! ```toml
//! [[test]]
//! name = "flags the DOWN server"
//! against = "lab:incident"          # lab:SCENARIO | replay:DIR | config:FILE
//! params = { backend = "bk_api" }   # "./x", "../x": relative to this file
//! exit = 1
//! findings = ["servers.down:error"] # present (id, or id:severity)
//! absent = ["process.unreachable"]
//!
//! [[test.rows]]                     # a row of a table the playbook printed
//! table = "servers"
//! where = { server = "api2", status = "DOWN" }
//! ```
//!
//! Parsing is pure: a spec names what to run and what must come out; running
//! it is [`super::run`]'s job.

use crate::base::error::{Error, Result};
use crate::base::report::Severity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The suffix that makes a file a playbook test.
pub const SUFFIX: &str = ".test.toml";

/// What a test runs its playbook against.
#[derive(Clone, Debug, PartialEq)]
pub enum Against {
    /// A disposable lab with a real HAProxy (`lab:incident`).
    Lab(String),
    /// A snapshot bundle served offline (`replay:DIR`, relative to the test file).
    Replay(PathBuf),
    /// A lab started from the user's own configuration (`config:FILE`).
    Config(PathBuf),
}

impl std::fmt::Display for Against {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Against::Lab(s) => write!(f, "lab:{s}"),
            Against::Replay(d) => write!(f, "replay:{}", d.display()),
            Against::Config(c) => write!(f, "config:{}", c.display()),
        }
    }
}

/// A finding that must be present: its id, and its severity when given.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingSpec {
    pub id: String,
    pub severity: Option<Severity>,
}

/// A row that must be in a table: every `where` column equals its value.
#[derive(Clone, Debug, PartialEq)]
pub struct RowSpec {
    pub table: String,
    pub columns: BTreeMap<String, serde_json::Value>,
}

/// One test, resolved against the file it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    /// The test file and the line of its `[[test]]` header.
    pub file: PathBuf,
    pub line: usize,
    pub name: String,
    /// The playbook: a path (relative to the test file) or a shipped name.
    pub playbook: String,
    pub against: Against,
    pub params: BTreeMap<String, String>,
    /// Servers a `config:` lab starts DOWN or slow (`bk/srv`, `bk/srv=2s`).
    pub down: Vec<String>,
    pub slow: Vec<String>,
    pub dry_run: bool,
    pub exit: Option<i32>,
    pub findings: Vec<FindingSpec>,
    pub absent: Vec<String>,
    pub rows: Vec<RowSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    test: Vec<toml::Spanned<RawTest>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: String,
    playbook: Option<String>,
    #[serde(default = "default_against")]
    against: String,
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    down: Vec<String>,
    #[serde(default)]
    slow: Vec<String>,
    #[serde(default)]
    dry_run: bool,
    exit: Option<i32>,
    #[serde(default)]
    findings: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    rows: Vec<RawRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    table: String,
    #[serde(rename = "where")]
    columns: BTreeMap<String, toml::Value>,
}

fn default_against() -> String {
    "lab:incident".into()
}

/// A parameter written `./x` or `../x` names a file next to the test: it is resolved
/// against the test file's directory, so a test passes from any working directory.
fn relative_to(dir: &Path, value: String) -> String {
    if value.starts_with("./") || value.starts_with("../") {
        dir.join(&value).display().to_string()
    } else {
        value
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A TOML value as the text `-p` would give, or as JSON to compare with a cell.
fn param_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn to_json(v: &toml::Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Parse one test file. `file` is only used to name places and to resolve
/// relative paths; errors carry `file:line`.
pub fn parse(file: &Path, text: &str) -> Result<Vec<TestCase>> {
    let bad =
        |line: usize, msg: String| Error::Playbook(format!("{}:{line}: {msg}", file.display()));
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        bad(line, e.message().to_string())
    })?;
    if raw.test.is_empty() {
        return Err(bad(1, "no `[[test]]` in this file".into()));
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let default_playbook = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(SUFFIX))
        .map(|stem| dir.join(format!("{stem}.rhai")));
    let mut out = Vec::new();
    for spanned in raw.test {
        let line = line_of(text, spanned.span().start);
        let t = spanned.into_inner();
        let playbook = match (&t.playbook, &default_playbook) {
            (Some(p), _) if p.contains('/') || p.ends_with(".rhai") => {
                dir.join(p).display().to_string()
            }
            // A bare name is the playbook next to the test, else a shipped
            // one: never whatever the search path of the day finds.
            (Some(p), _) => {
                let beside = dir.join(format!("{p}.rhai"));
                if beside.is_file() {
                    beside.display().to_string()
                } else if crate::script::playbooks::shipped(p).is_some() {
                    format!("{}{p}", crate::script::playbooks::SHIPPED_PREFIX)
                } else {
                    return Err(bad(
                        line,
                        format!(
                            "test `{}`: no playbook `{p}`: neither {} nor a shipped playbook",
                            t.name,
                            beside.display()
                        ),
                    ));
                }
            }
            (None, Some(p)) if p.is_file() => p.display().to_string(),
            (None, _) => {
                return Err(bad(
                    line,
                    format!(
                        "test `{}`: no `playbook = ...` and no playbook next to the file ({})",
                        t.name,
                        default_playbook
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    ),
                ))
            }
        };
        let against = match t.against.split_once(':') {
            Some(("lab", s)) if crate::lab::Scenario::parse(s).is_some() => Against::Lab(s.into()),
            Some(("lab", s)) => {
                return Err(bad(
                    line,
                    format!(
                        "test `{}`: unknown lab scenario `{s}` (one of: {})",
                        t.name,
                        crate::lab::Scenario::NAMES.join(", ")
                    ),
                ))
            }
            Some(("replay", d)) if !d.is_empty() => Against::Replay(dir.join(d)),
            Some(("config", c)) if !c.is_empty() => Against::Config(dir.join(c)),
            _ => {
                return Err(bad(
                    line,
                    format!(
                        "test `{}`: `against = \"{}\"`: expected lab:SCENARIO, replay:DIR or config:FILE",
                        t.name, t.against
                    ),
                ))
            }
        };
        let tunes_servers = !t.down.is_empty() || !t.slow.is_empty();
        if tunes_servers && !matches!(against, Against::Config(_)) {
            return Err(bad(
                line,
                format!(
                    "test `{}`: `down`/`slow` need `against = \"config:FILE\"`",
                    t.name
                ),
            ));
        }
        let mut findings = Vec::new();
        for f in &t.findings {
            let (id, severity) = match f.rsplit_once(':') {
                Some((id, sev)) => {
                    let sev = sev.parse::<Severity>().map_err(|_| {
                        bad(
                            line,
                            format!(
                                "test `{}`: `{f}`: severity is ok, info, warning, error or critical",
                                t.name
                            ),
                        )
                    })?;
                    (id.to_string(), Some(sev))
                }
                None => (f.clone(), None),
            };
            findings.push(FindingSpec { id, severity });
        }
        out.push(TestCase {
            file: file.to_path_buf(),
            line,
            name: t.name,
            playbook,
            against,
            params: t
                .params
                .iter()
                .map(|(k, v)| (k.clone(), relative_to(dir, param_text(v))))
                .collect(),
            down: t.down,
            slow: t.slow,
            dry_run: t.dry_run,
            exit: t.exit,
            findings,
            absent: t.absent,
            rows: t
                .rows
                .into_iter()
                .map(|r| RowSpec {
                    table: r.table,
                    columns: r
                        .columns
                        .iter()
                        .map(|(k, v)| (k.clone(), to_json(v)))
                        .collect(),
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Test files under `paths` (files, or directories searched recursively),
/// sorted. A path that does not exist is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    // Hidden directories and symbolic links to directories are not entered:
    // a link back up would find the same tests forever.
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let p = e.path();
            let hidden = e.file_name().to_str().is_some_and(|n| n.starts_with('.'));
            if e.file_type()?.is_dir() {
                if !hidden {
                    walk(&p, out)?;
                }
            } else if p.to_str().is_some_and(|s| s.ends_with(SUFFIX)) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)
                .map_err(|e| Error::Playbook(format!("{}: cannot read: {e}", p.display())))?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(Error::Playbook(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    // The same file given twice (or through two paths) runs once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
# comment
[[test]]
name = "down server"
playbook = "troubleshoot"
params = { sample = 0, backend = "bk_api" }
exit = 1
findings = ["servers.down:error", "servers.maint"]
absent = ["process.unreachable"]

[[test.rows]]
table = "summary"
where = { check = "servers", state = "7 of 9 in rotation" }

[[test]]
name = "replayed"
playbook = "inspect_queues"
against = "replay:bundle"
"#;

    #[test]
    fn parses_a_test_file_with_lines_and_relative_paths() {
        let t = parse(Path::new("/team/pb/x.test.toml"), GOOD).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].line, 3);
        assert_eq!(t[0].against, Against::Lab("incident".into()));
        assert_eq!(t[0].params["sample"], "0");
        assert_eq!(t[0].params["backend"], "bk_api");
        assert_eq!(t[0].findings[0].severity, Some(Severity::Error));
        assert_eq!(t[0].findings[1].severity, None);
        assert_eq!(t[0].rows[0].columns["state"], "7 of 9 in rotation");
        assert_eq!(t[1].line, 15);
        assert_eq!(t[1].against, Against::Replay("/team/pb/bundle".into()));
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = parse(
            Path::new("t.test.toml"),
            "[[test]]\nname = \"x\"\nplaybook = \"troubleshoot\"\nexpect = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("t.test.toml:") && e.contains("expect"), "{e}");
        let e = parse(
            Path::new("t.test.toml"),
            "[[test]]\nname = \"x\"\nplaybook = \"troubleshoot\"\nagainst = \"lab:nope\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("t.test.toml:1:") && e.contains("unknown lab scenario `nope`"),
            "{e}"
        );
        let e = parse(
            Path::new("t.test.toml"),
            "[[test]]\nname = \"x\"\nplaybook = \"troubleshoot\"\nfindings = [\"a:severe\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("severity is ok, info"), "{e}");
        let e = parse(Path::new("t.test.toml"), "[[test]\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.test.toml:1:"), "{e}");
        let e = parse(Path::new("t.test.toml"), "").unwrap_err().to_string();
        assert!(e.contains("no `[[test]]`"), "{e}");
    }

    #[test]
    fn the_playbook_defaults_to_the_file_next_to_the_test() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("team.rhai"), "//! x\n").unwrap();
        let f = dir.path().join("team.test.toml");
        let t = parse(&f, "[[test]]\nname = \"x\"\n").unwrap();
        assert_eq!(
            t[0].playbook,
            dir.path().join("team.rhai").display().to_string()
        );
        let lone = dir.path().join("lone.test.toml");
        let e = parse(&lone, "[[test]]\nname = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `playbook = ...`"), "{e}");
    }
}
