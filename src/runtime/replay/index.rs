//! `index.json`, the table of contents the `snapshot` playbook writes last.
//!
//! Version 2 (this harun) names its format and version and gives every
//! file its command, target and time. Version 1 (snapshots taken before
//! replay existed) has no `format`: it is recognised by its `files` and
//! `targets` lists and replays what it holds.

use serde::Deserialize;
use std::path::{Component, Path};

/// The `format` of a harun snapshot's index.
pub const FORMAT: &str = "harun-snapshot";
/// The newest index version this harun reads (and the one it writes).
pub const VERSION: u64 = 2;

/// One file of the bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Entry {
    /// Relative to the bundle directory.
    pub file: String,
    #[serde(default)]
    pub target: Option<String>,
    /// The runtime API command, or `haproxy -c`, `haproxy -vv`, `host`,
    /// `config file`, ...
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub ok: Option<bool>,
    /// RFC 3339 UTC time the reply arrived.
    #[serde(default)]
    pub at: Option<String>,
    /// For a configuration file: its path on the host.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    pub version: u64,
    pub taken: Option<String>,
    pub targets: Vec<String>,
    /// The configuration as given to harun (`-c`): files or directories.
    pub config_paths: Vec<String>,
    pub files: Vec<Entry>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    taken: Option<String>,
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    config_paths: Vec<String>,
    #[serde(default)]
    files: Option<Vec<Entry>>,
}

/// Parse `index.json`; the error says why it is not a harun snapshot's.
pub fn parse_index(text: &str) -> Result<Index, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!("not JSON ({e}): a harun snapshot's index.json is written by the snapshot playbook")
    })?;
    if !value.is_object() {
        return Err("not a harun snapshot index (expected a JSON object)".into());
    }
    let raw: Raw =
        serde_json::from_value(value).map_err(|e| format!("not a harun snapshot index ({e})"))?;
    let version = match (&raw.format, raw.version) {
        (Some(f), _) if f != FORMAT => {
            return Err(format!(
                "its format is `{f}`, not `{FORMAT}`: this bundle was not written by harun's snapshot playbook"
            ))
        }
        (Some(_), Some(v)) if v > VERSION => {
            return Err(format!(
                "written by a newer harun (index version {v}; this one reads up to {VERSION}): replay it with that version"
            ))
        }
        (Some(_), Some(v)) => v,
        (Some(_), None) => return Err("`format` without `version`".into()),
        // Snapshots taken before replay existed: known by their shape.
        (None, _) if raw.files.is_some() && raw.targets.is_some() => 1,
        (None, _) => {
            return Err(format!(
                "not a harun snapshot index (no `format: \"{FORMAT}\"`, no `files` and `targets`)"
            ))
        }
    };
    let files = raw.files.unwrap_or_default();
    for e in &files {
        check_entry_path(&e.file)?;
    }
    Ok(Index {
        version,
        taken: raw.taken,
        targets: raw.targets.unwrap_or_default(),
        config_paths: raw.config_paths,
        files,
    })
}

/// A file of the bundle stays inside it: a relative path of plain names.
pub fn check_entry_path(file: &str) -> Result<(), String> {
    let p = Path::new(file);
    let plain = !file.is_empty()
        && !file.contains('\0')
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "lists the file `{}`, which is not a relative path inside the bundle",
            file.escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_versions() {
        let v2 = r#"{"format":"harun-snapshot","version":2,"taken":"2026-11-30T12:45:01Z",
            "targets":["/run/haproxy/admin.sock"],"config_paths":["/etc/haproxy/haproxy.cfg"],
            "files":[{"file":"show_stat.txt","target":"/run/haproxy/admin.sock","command":"show stat",
            "ok":true,"at":"2026-11-30T12:45:01.120Z"},
            {"file":"config/etc/haproxy/haproxy.cfg","command":"config file","source":"/etc/haproxy/haproxy.cfg","ok":true}]}"#;
        let i = parse_index(v2).unwrap();
        assert_eq!(i.version, 2);
        assert_eq!(i.files.len(), 2);
        assert_eq!(i.files[0].command.as_deref(), Some("show stat"));
        assert_eq!(i.config_paths, ["/etc/haproxy/haproxy.cfg"]);
        let v1 = r#"{"bundle":"/x","targets":["t"],"files":[{"file":"show_info.txt","target":"t","command":"show info","ok":true},{"file":"findings.json","ok":true}]}"#;
        let i = parse_index(v1).unwrap();
        assert_eq!((i.version, i.files.len()), (1, 2));
        assert_eq!(i.taken, None);
    }

    #[test]
    fn says_why_an_index_is_foreign() {
        let cases = [
            ("not json", "not JSON"),
            ("[1,2]", "expected a JSON object"),
            (
                r#"{"name":"my-app","version":"1.0"}"#,
                "not a harun snapshot index",
            ),
            (
                r#"{"format":"sosreport","version":1}"#,
                "format is `sosreport`",
            ),
            (
                r#"{"format":"harun-snapshot","version":9,"files":[]}"#,
                "newer harun",
            ),
            (
                r#"{"format":"harun-snapshot","version":2,"files":[{"file":"../../etc/passwd"}]}"#,
                "not a relative path",
            ),
            (
                r#"{"format":"harun-snapshot","version":2,"files":[{"file":"/etc/shadow"}]}"#,
                "not a relative path",
            ),
        ];
        for (text, want) in cases {
            let e = parse_index(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        assert!(check_entry_path("config/etc/haproxy/haproxy.cfg").is_ok());
        assert!(check_entry_path("./x").is_err());
    }
}
