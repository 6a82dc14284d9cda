//! `import` confined to the playbook's own directory and the shipped playbooks.
//!
//! Rhai's stock file resolver accepts absolute paths and `..`; a playbook must
//! not be able to pull in arbitrary files.

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::path::{Path, PathBuf};

pub struct ConfinedResolver {
    /// The directory of the playbook being run (None for `-e` and the REPL's cwd).
    pub base: Option<PathBuf>,
}

/// Where `import "path"` leads under the confined rules: the playbook's
/// directory first (never through a symlink that leaves it), then the shipped
/// playbooks. (display name, text), or None. `path` must be
/// [`valid_module_path`]. Shared with `harun check` so both agree.
pub(crate) fn locate(base: Option<&Path>, path: &str) -> Option<(String, String)> {
    let rel = path.strip_suffix(".rhai").unwrap_or(path);
    if let Some(base) = base {
        let file = base.join(format!("{rel}.rhai"));
        if let (Ok(canon), Ok(base_canon)) = (file.canonicalize(), base.canonicalize()) {
            if canon.starts_with(&base_canon) {
                if let Ok(text) = std::fs::read_to_string(&canon) {
                    return Some((file.display().to_string(), text));
                }
            }
        }
    }
    crate::script::playbooks::shipped(rel)
        .map(|p| (format!("<shipped>/{rel}.rhai"), p.source.to_string()))
}

pub(crate) fn valid_module_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && !path.starts_with('/')
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        })
}

impl ModuleResolver for ConfinedResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if !valid_module_path(path) {
            return Err(crate::script::errors::to_rhai_at(
                crate::base::error::Error::InvalidInput {
                    what: "import",
                    value: path.to_string(),
                    reason: "imports are confined to the playbook's directory and the shipped playbooks: no absolute paths, no `..`".into(),
                },
                pos,
            ));
        }
        let found = locate(self.base.as_deref(), path);
        let Some((name, text)) = found else {
            return Err(Box::new(EvalAltResult::ErrorModuleNotFound(
                path.to_string(),
                pos,
            )));
        };
        let mut ast = engine.compile(&text).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                name.clone(),
                Box::new(EvalAltResult::ErrorParsing(*e.0, e.1)),
                pos,
            ))
        })?;
        ast.set_source(name.as_str());
        let scope = Scope::new();
        let m = Module::eval_ast_as_new(scope, &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name, e, pos)))?;
        Ok(Shared::new(m))
    }
}

#[cfg(test)]
mod tests {
    use super::valid_module_path;

    #[test]
    fn only_plain_relative_paths() {
        assert!(valid_module_path("lib"));
        assert!(valid_module_path("team/checks"));
        for bad in ["/etc/passwd", "../x", "a/../b", "a//b", "", "a b", "./x"] {
            assert!(!valid_module_path(bad), "{bad}");
        }
    }
}
