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

use super::params::Contract;
use crate::base::error::{Error, Result};
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
        &[$(Shipped { name: $name, source: include_str!(concat!("../../playbooks/", $name, ".rhai")) }),*]
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
    "analyze_logs",
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
    /// Why running it by name does not reach this file, when it does not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Read the `//!` header of a playbook.
impl PlaybookDoc {
    /// The parameter contract of this playbook: its `@param` names when it
    /// has a header, ad hoc when it has none (see [`super::params`]).
    pub fn contract(&self) -> Contract {
        if self.description.is_empty() && self.params.is_empty() {
            Contract::AdHoc
        } else {
            Contract::Declared(self.params.iter().map(|p| p.name.clone()).collect())
        }
    }
}

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

/// Where team playbooks are looked up by name, in order: `./playbooks`,
/// `$HARUN_PLAYBOOK_PATH` (colon-separated), `$XDG_CONFIG_HOME/harun/playbooks`,
/// `/etc/harun/playbooks`. The first directory that has `NAME.rhai` wins.
pub fn search_path() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("playbooks")];
    if let Some(p) = std::env::var_os("HARUN_PLAYBOOK_PATH") {
        out.extend(std::env::split_paths(&p).filter(|d| !d.as_os_str().is_empty()));
    }
    if let Some(c) = dirs::config_dir() {
        out.push(c.join("harun").join("playbooks"));
    }
    out.push(PathBuf::from("/etc/harun/playbooks"));
    let mut seen = Vec::new();
    out.retain(|d| {
        let fresh = !seen.contains(d);
        seen.push(d.clone());
        fresh
    });
    out
}

/// The prefix that names a shipped playbook when a team playbook has its name.
pub const SHIPPED_PREFIX: &str = "shipped:";

/// A team playbook found by name on the search path.
fn find_on_path(name: &str, path: &[PathBuf]) -> Option<PathBuf> {
    path.iter()
        .map(|d| d.join(format!("{name}.rhai")))
        .find(|p| p.is_file())
}

/// A path to a `.rhai` file, the name of a team playbook on the
/// [`search_path`], or the name of a shipped playbook (`shipped:NAME` when a
/// team playbook has the same name).
pub fn resolve(arg: &str) -> Result<Source> {
    resolve_on(arg, &search_path())
}

/// [`resolve`] with an explicit search path.
pub fn resolve_on(arg: &str, search: &[PathBuf]) -> Result<Source> {
    if let Some(name) = arg.strip_prefix(SHIPPED_PREFIX) {
        return shipped(name)
            .map(|p| Source {
                name: p.name.to_string(),
                text: p.source.to_string(),
                dir: None,
            })
            .ok_or_else(|| {
                Error::Playbook(format!(
                    "no shipped playbook `{name}` (shipped: {})",
                    shipped_names().join(", ")
                ))
            });
    }
    let path = Path::new(arg);
    let looks_like_path = arg.contains('/') || arg.ends_with(".rhai");
    if looks_like_path || path.is_file() {
        return read_file(arg);
    }
    let team = find_on_path(arg, search);
    match (team, shipped(arg)) {
        (Some(file), Some(ship)) => {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text == ship.source {
                // An unchanged copy of the shipped playbook: the same thing.
                return read_file(&file.display().to_string());
            }
            Err(Error::Playbook(format!(
                "`{arg}` names both a shipped playbook and {}: run `harun {}` for yours or `harun {SHIPPED_PREFIX}{arg}` for the shipped one, and better rename yours",
                file.display(),
                file.display()
            )))
        }
        (Some(file), None) => read_file(&file.display().to_string()),
        (None, Some(p)) => Ok(Source {
            name: p.name.to_string(),
            text: p.source.to_string(),
            dir: None,
        }),
        (None, None) => {
            let dirs: Vec<String> = search.iter().map(|d| d.display().to_string()).collect();
            let names: Vec<String> = list(search).into_iter().map(|d| d.name).collect();
            let near = crate::base::suggest::nearest(arg, names.iter().map(String::as_str));
            let hint = match near.first() {
                Some(n) => format!(" (did you mean `{n}`?)"),
                None => String::new(),
            };
            Err(Error::Playbook(format!(
                "no playbook `{arg}`{hint}: not a file, not `{arg}.rhai` in {}, and not a shipped playbook ({}); `harun list` shows them all",
                dirs.join(", "),
                shipped_names().join(", ")
            )))
        }
    }
}

fn shipped_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|p| p.name).collect()
}

/// A playbook's text, with the limits every playbook has: Err when it is not
/// a readable UTF-8 file of at most 4 MiB.
pub fn read_text(path: &Path) -> Result<String> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Playbook(format!("{shown}: cannot read playbook: {e}")))?;
    if bytes.len() > 4 * 1024 * 1024 {
        return Err(Error::Playbook(format!(
            "{shown}: playbook larger than 4 MiB"
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::Playbook(format!("{shown}: not a text file (invalid UTF-8)")))
}

/// A playbook file, read with the limits every playbook has.
fn read_file(arg: &str) -> Result<Source> {
    let path = Path::new(arg);
    if path.is_dir() {
        return Err(Error::Playbook(format!(
            "{arg}: is a directory, not a playbook"
        )));
    }
    let text = read_text(path)?;
    let dir = path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    });
    Ok(Source {
        name: arg.to_string(),
        text,
        dir,
    })
}

/// Shipped playbooks, then the team playbooks of every directory of the
/// search path. `origin` says where each comes from, and `note` when a name is
/// hidden by an earlier directory or clashes with a shipped playbook.
pub fn list(search: &[PathBuf]) -> Vec<PlaybookDoc> {
    let mut out: Vec<PlaybookDoc> = SHIPPED
        .iter()
        .map(|p| parse_header(p.name, "shipped", p.source))
        .collect();
    for dir in search {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
            .collect();
        files.sort();
        for f in files {
            let Some(stem) = f.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let copy = shipped(stem).is_some_and(|s| s.source == text);
            if copy {
                // An unchanged copy of a shipped playbook replaces it in the list.
                out.retain(|d| !(d.name == stem && d.origin == "shipped"));
            }
            let mut doc = parse_header(stem, &f.display().to_string(), &text);
            if let Some(first) = out.iter().find(|d| d.name == stem) {
                doc.note = if first.origin == "shipped" {
                    format!(
                        "same name as a shipped playbook: run it as `harun {}`",
                        f.display()
                    )
                } else {
                    format!("hidden by {}", first.origin)
                };
            }
            out.push(doc);
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

/// Refuse a `-p` the playbook does not take (see [`super::params`]): a name
/// its header does not declare, or for text without a header, a name it
/// never reads with `param("NAME")`. For what a user typed (the CLI, a REPL
/// `.run` line, a test file), not for parameters an embedder or a session
/// passes to every run.
pub fn check_known<'a>(
    doc: &PlaybookDoc,
    source: &str,
    given: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    let contract = doc.contract();
    let facts = match contract {
        // What ad-hoc text reads; when it does not compile, the run says so.
        Contract::AdHoc => rhai::Engine::new_raw()
            .compile(source)
            .ok()
            .map(|ast| super::facts::collect(&ast)),
        Contract::Declared(_) => None,
    };
    match contract.refuse_given(&doc.name, facts.as_ref(), given) {
        Some(m) => Err(Error::Playbook(format!("{}: {m}", doc.name))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_playbook_name_gets_a_did_you_mean() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("slow_backend.rhai"), "//! Team.\n").unwrap();
        let search = [dir.path().to_path_buf()];
        let err = |arg: &str| resolve_on(arg, &search).err().unwrap().to_string();
        assert!(
            err("troubleshooot")
                .contains("no playbook `troubleshooot` (did you mean `troubleshoot`?)"),
            "{}",
            err("troubleshooot")
        );
        assert!(err("slow_backnd").contains("(did you mean `slow_backend`?)"));
        assert!(err("zzz").contains("no playbook `zzz`: not a file"));
    }

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
            err.contains("drain: unknown parameter `timout` (did you mean `timeout`?): it takes `server`, `timeout`, `then`"),
            "{err}"
        );
        // Read with param() but not declared: still not a parameter it takes
        // (the read itself is refused when the run starts).
        let reads = format!("{src}\nlet v = param(\"verbose\", false);");
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("verbose".to_string(), "true".to_string());
        assert!(check_known(&d, &reads, extra.keys()).is_err());
        // Without a header: what it reads.
        let ad_hoc = "param(\"verbose\", false)";
        let d = parse_header("adhoc", "", ad_hoc);
        assert!(check_known(&d, ad_hoc, extra.keys()).is_ok());
        assert!(check_known(&d, ad_hoc, typo.keys()).is_err());
    }

    #[test]
    fn a_header_makes_a_declared_contract_and_no_header_an_ad_hoc_one() {
        let declared = parse_header("q", "", "//! Queue check.\n//! @param max=5  most queued\n");
        assert_eq!(declared.contract(), Contract::Declared(vec!["max".into()]));
        let none = parse_header("t", "", "//! Team.\nparam(\"x\", 1);\n");
        assert_eq!(none.contract(), Contract::Declared(vec![]));
        let ad_hoc = parse_header("-e", "", "param(\"backend\", \"\")");
        assert_eq!(ad_hoc.contract(), Contract::AdHoc);
    }

    #[test]
    fn every_shipped_playbook_has_a_description() {
        for p in SHIPPED {
            let d = parse_header(p.name, "shipped", p.source);
            assert!(!d.description.is_empty(), "{}", p.name);
        }
    }
}
