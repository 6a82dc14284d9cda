//! Reading an inventory file: its format from its name, as Ansible's
//! plugins choose, then the INI or YAML parser; errors name the file and line.

use super::inventory::{Inventory, ParseResult};
use super::{ini, yaml};
use crate::base::error::{Error, Result};
use std::path::Path;

/// The file format, from the name as Ansible's plugins choose: the YAML
/// plugin takes `.yml`, `.yaml` and `.json`; anything else is INI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ini,
    Yaml,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yml" | "yaml" | "json") => Format::Yaml,
            _ => Format::Ini,
        }
    }
}

/// Parse an inventory text in `format`.
pub fn parse(text: &str, format: Format) -> ParseResult<Inventory> {
    match format {
        Format::Ini => ini::parse(text),
        Format::Yaml => yaml::parse(text),
    }
}

/// Read and parse the inventory file at `path`; errors name the file and line.
pub fn load(path: &Path) -> Result<Inventory> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Inventory {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot read this inventory: {e}"),
    })?;
    let format = Format::of(path);
    parse(&text, format).map_err(|e| {
        let hint = match format {
            Format::Ini if looks_like_yaml(&text) => {
                " (this file looks like YAML: Ansible, and harun, read YAML inventories from files named .yml or .yaml)"
            }
            _ => "",
        };
        Error::Inventory {
            path: path.to_path_buf(),
            line: e.line,
            message: format!("{}{hint}", e.message),
        }
    })
}

/// A YAML inventory starts with `---` or a top-level `name:` line.
fn looks_like_yaml(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    first.is_some_and(|l| l == "---" || (!l.starts_with(' ') && l.ends_with(':')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_file_name() {
        assert_eq!(Format::of(Path::new("hosts")), Format::Ini);
        assert_eq!(Format::of(Path::new("inv/prod.ini")), Format::Ini);
        assert_eq!(Format::of(Path::new("prod.yml")), Format::Yaml);
        assert_eq!(Format::of(Path::new("prod.yaml")), Format::Yaml);
        assert_eq!(Format::of(Path::new("prod.json")), Format::Yaml);
    }

    #[test]
    fn a_yaml_file_read_as_ini_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts");
        std::fs::write(&p, "all:\n  hosts:\n    lb1:\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("hosts:1:"), "{e}");
        assert!(e.contains("looks like YAML"), "{e}");
        let missing = load(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(
            missing.contains("nope: cannot read this inventory"),
            "{missing}"
        );
    }
}
