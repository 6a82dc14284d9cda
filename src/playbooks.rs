//! Shipped playbooks (embedded in the binary) and playbook header docs.
//!
//! A playbook starts with `//!` lines: the first is its one-line description,
//! then free text, and `@param` lines:
//!
//! ```text
//! //! Drain a server safely.
//! //! @param server!        backend/server to drain (required)
//! //! @param timeout=120    seconds to wait for sessions to end
//! //! @param then           what to do once drained: maint
//! ```

use crate::error::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A playbook embedded in the binary.
#[derive(Debug)]
pub struct Shipped {
    pub name: &'static str,
    pub source: &'static str,
}

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(Shipped { name: $name, source: include_str!(concat!("../playbooks/", $name, ".rhai")) }),*]
    };
}

pub const SHIPPED: &[Shipped] = shipped![
    "troubleshoot",
    "inspect_queues",
    "check_config",
    "enable_logs",
    "drain_server",
    "snapshot",
    "trace_header",
];

pub fn shipped(name: &str) -> Option<&'static Shipped> {
    SHIPPED.iter().find(|p| p.name == name)
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ParamDoc {
    pub name: String,
    pub default: Option<String>,
    pub required: bool,
    pub description: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PlaybookDoc {
    pub name: String,
    pub origin: String,
    pub description: String,
    pub details: String,
    pub params: Vec<ParamDoc>,
}

/// Read the `//!` header of a playbook.
pub fn parse_header(name: &str, origin: &str, source: &str) -> PlaybookDoc {
    let mut doc = PlaybookDoc {
        name: name.to_string(),
        origin: origin.to_string(),
        ..PlaybookDoc::default()
    };
    let mut details = Vec::new();
    for line in source.lines() {
        let t = line.trim_start();
        let Some(text) = t.strip_prefix("//!") else {
            if t.is_empty() {
                continue;
            }
            break;
        };
        let text = text.strip_prefix(' ').unwrap_or(text);
        if let Some(p) = text.trim_start().strip_prefix("@param ") {
            let p = p.trim();
            let (spec, desc) = p.split_once(char::is_whitespace).unwrap_or((p, ""));
            let (spec, default) = match spec.split_once('=') {
                Some((n, d)) => (n, Some(d.to_string())),
                None => (spec, None),
            };
            let (name, required) = match spec.strip_suffix('!') {
                Some(n) => (n, true),
                None => (spec, false),
            };
            doc.params.push(ParamDoc {
                name: name.to_string(),
                default,
                required,
                description: desc.trim().to_string(),
            });
        } else if doc.description.is_empty() {
            doc.description = text.trim().to_string();
        } else {
            details.push(text.to_string());
        }
    }
    doc.details = details.join("\n").trim().to_string();
    doc
}

/// A playbook to run: its display name, text and directory (for `import`).
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub text: String,
    pub dir: Option<PathBuf>,
}

/// [`resolve`], then the parameters checked against the playbook's header:
/// a missing required one, and with `strict` a key it neither declares nor
/// reads. Before any run starts (and before `harun lab` starts HAProxy).
pub fn resolve_checked(
    arg: &str,
    params: &std::collections::BTreeMap<String, String>,
    strict: bool,
) -> Result<Source> {
    let src = resolve(arg)?;
    let doc = parse_header(&src.name, "", &src.text);
    check_params(&doc, params)?;
    if strict {
        check_known(&doc, &src.text, params.keys())?;
    }
    Ok(src)
}

/// A path to a `.rhai` file, or the name of a shipped playbook.
pub fn resolve(arg: &str) -> Result<Source> {
    let path = Path::new(arg);
    let looks_like_path = arg.contains('/') || arg.ends_with(".rhai");
    if looks_like_path || path.is_file() {
        if path.is_dir() {
            return Err(Error::Playbook(format!(
                "{arg}: is a directory, not a playbook"
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Playbook(format!("{arg}: cannot read playbook: {e}")))?;
        if bytes.len() > 4 * 1024 * 1024 {
            return Err(Error::Playbook(format!(
                "{arg}: playbook larger than 4 MiB"
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Playbook(format!("{arg}: not a text file (invalid UTF-8)")))?;
        let dir = path.parent().map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        });
        return Ok(Source {
            name: arg.to_string(),
            text,
            dir,
        });
    }
    if let Some(p) = shipped(arg) {
        return Ok(Source {
            name: p.name.to_string(),
            text: p.source.to_string(),
            dir: None,
        });
    }
    let local = Path::new("playbooks").join(format!("{arg}.rhai"));
    if local.is_file() {
        return resolve(&local.display().to_string());
    }
    let names: Vec<&str> = SHIPPED.iter().map(|p| p.name).collect();
    Err(Error::Playbook(format!(
        "no playbook `{arg}`: not a file, and not one of the shipped playbooks ({})",
        names.join(", ")
    )))
}

/// Shipped playbooks plus those in `dir` (usually `./playbooks`), shipped first.
pub fn list(dir: &Path) -> Vec<PlaybookDoc> {
    let mut out: Vec<PlaybookDoc> = SHIPPED
        .iter()
        .map(|p| parse_header(p.name, "shipped", p.source))
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
            .collect();
        files.sort();
        for f in files {
            let Some(stem) = f.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if let Ok(text) = std::fs::read_to_string(&f) {
                // A local copy of a shipped playbook replaces it in the list.
                out.retain(|d| {
                    !(d.name == stem
                        && d.origin == "shipped"
                        && shipped(stem).map(|s| s.source) == Some(text.as_str()))
                });
                out.push(parse_header(stem, &f.display().to_string(), &text));
            }
        }
    }
    out
}

/// Check that every required parameter is given, before anything runs.
pub fn check_params(
    doc: &PlaybookDoc,
    given: &std::collections::BTreeMap<String, String>,
) -> Result<()> {
    for p in &doc.params {
        if p.required && !given.contains_key(&p.name) {
            return Err(Error::Playbook(format!(
                "{}: missing required parameter `{}` ({}): pass -p {}=VALUE",
                doc.name, p.name, p.description, p.name
            )));
        }
    }
    Ok(())
}

/// Refuse a parameter the playbook neither declares (`@param`) nor reads
/// (`param("name"`), so that a typo such as `-p backedn=...` is not ignored
/// silently. Only for playbooks that declare parameters; for what a user
/// typed (the CLI, a REPL `.run` line), not for parameters an embedder or a
/// session passes to every run.
pub fn check_known<'a>(
    doc: &PlaybookDoc,
    source: &str,
    given: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    if doc.params.is_empty() {
        return Ok(());
    }
    for key in given {
        let declared = doc.params.iter().any(|p| &p.name == key);
        if declared
            || source.contains(&format!("param(\"{key}\""))
            || source.contains(&format!("param('{key}'"))
        {
            continue;
        }
        let known: Vec<&str> = doc.params.iter().map(|p| p.name.as_str()).collect();
        return Err(Error::Playbook(format!(
            "{}: unknown parameter `{key}`: it takes {} (see `harun {} --help`)",
            doc.name,
            known.join(", "),
            doc.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_params() {
        let src = "//! Drain a server.\n//!\n//! Waits for sessions.\n//! @param server! backend/server to drain\n//! @param timeout=120 seconds to wait\n//! @param then what next\nlet x = 1;\n//! not header\n";
        let d = parse_header("drain", "shipped", src);
        assert_eq!(d.description, "Drain a server.");
        assert_eq!(d.details, "Waits for sessions.");
        assert_eq!(d.params.len(), 3);
        assert!(d.params[0].required);
        assert_eq!(d.params[1].default.as_deref(), Some("120"));
        assert!(!d.params[2].required && d.params[2].default.is_none());
        let err = check_params(&d, &Default::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing required parameter `server`"), "{err}");
        let mut typo = std::collections::BTreeMap::new();
        typo.insert("server".to_string(), "bk/s".to_string());
        typo.insert("timout".to_string(), "5".to_string());
        let err = check_known(&d, src, typo.keys()).unwrap_err().to_string();
        assert!(
            err.contains("unknown parameter `timout`: it takes server, timeout, then"),
            "{err}"
        );
        // Read with param() but not declared: a team playbook's business.
        let reads = format!("{src}\nlet v = param(\"verbose\", false);");
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("verbose".to_string(), "true".to_string());
        assert!(check_known(&d, &reads, extra.keys()).is_ok());
    }

    #[test]
    fn every_shipped_playbook_has_a_description() {
        for p in SHIPPED {
            let d = parse_header(p.name, "shipped", p.source);
            assert!(!d.description.is_empty(), "{}", p.name);
        }
    }
}
