//! The parameter contract between a playbook and whoever runs it: which
//! names `param()` may read and which `-p NAME=V` a run accepts. A misspelt
//! name on either side would otherwise run with a default and report a
//! wrong fact, so both sides are refused, loudly, before anything is sent.
//!
//! A playbook with a `//!` header declares its parameters there (`@param`
//! lines; none is a valid answer): `param()` reads nothing else and `-p`
//! names nothing else. Text without a header (`-e EXPR`, a REPL line, an
//! embedder's snippet) is ad hoc: it reads what it likes, and a `-p` must
//! name something it reads.

use super::facts::{Facts, ParamRead, Pos};
use crate::base::suggest::best;

/// What a playbook lets callers pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Contract {
    /// The `@param` names of its header (possibly none).
    Declared(Vec<String>),
    /// No header: no declaration to hold reads to.
    AdHoc,
}

impl Contract {
    /// Why `param(name)` may not be read, or None when it may.
    pub fn refuse_read(&self, name: &str) -> Option<String> {
        let Contract::Declared(declared) = self else {
            return None;
        };
        let near = undeclared(name, declared)?;
        Some(format!(
            "this playbook does not declare parameter `{name}`{}: it declares {}; add `//! @param {name}  <what it does>` to its header to take it",
            near.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default(),
            listing(declared),
        ))
    }

    /// The first `param("literal")` of `facts` this contract refuses, with
    /// where it is: checked before a run, so that a typo stops the playbook
    /// before its first command rather than halfway through a change.
    pub fn first_refused_read(&self, facts: &Facts) -> Option<(Pos, String)> {
        facts.params.iter().find_map(|ParamRead { name, at }| {
            let name = name.as_deref()?;
            self.refuse_read(name).map(|m| (*at, m))
        })
    }

    /// Why `-p NAME=V` for each of `given` is refused (the first), or None;
    /// the caller names the playbook in front (`-e` is named by its error's file).
    /// `facts`: what an ad-hoc text reads (None when it does not compile:
    /// the run reports that instead).
    pub fn refuse_given<'a>(
        &self,
        playbook: &str,
        facts: Option<&Facts>,
        given: impl IntoIterator<Item = &'a String>,
    ) -> Option<String> {
        for key in given {
            match self {
                Contract::Declared(declared) => {
                    let Some(near) = undeclared(key, declared) else {
                        continue;
                    };
                    return Some(format!(
                        "unknown parameter `{key}`{}: it takes {} (see `harun {playbook} --help`)",
                        near.map(|n| format!(" (did you mean `{n}`?)"))
                            .unwrap_or_default(),
                        listing(declared),
                    ));
                }
                Contract::AdHoc => {
                    let facts = facts?;
                    // A name computed at run time may read any parameter.
                    if facts.params.iter().any(|r| r.name.is_none()) {
                        return None;
                    }
                    let read: Vec<&str> = facts
                        .params
                        .iter()
                        .filter_map(|r| r.name.as_deref())
                        .collect();
                    if read.contains(&key.as_str()) {
                        continue;
                    }
                    let near = best(key, read.iter().copied(), |_| true)
                        .map(|n| format!(" (did you mean `{n}`?)"))
                        .unwrap_or_default();
                    let reads = if read.is_empty() {
                        "no parameter".to_string()
                    } else {
                        quoted(&read)
                    };
                    return Some(format!(
                        "unknown parameter `{key}`{near}: it reads {reads} with `param(\"NAME\")`"
                    ));
                }
            }
        }
        None
    }
}

/// [`Contract::first_refused_read`] over a compiled playbook, as the error
/// a run ends with (at the read's line, before any statement runs).
pub fn check_reads(contract: &Contract, ast: &rhai::AST) -> Result<(), Box<rhai::EvalAltResult>> {
    if *contract == Contract::AdHoc {
        return Ok(());
    }
    match contract.first_refused_read(&super::facts::collect(ast)) {
        Some(((line, col), m)) => Err(super::errors::to_rhai_at(
            crate::base::error::Error::Playbook(m),
            rhai::Position::new(
                u16::try_from(line).unwrap_or(u16::MAX),
                u16::try_from(col).unwrap_or(u16::MAX),
            ),
        )),
        None => Ok(()),
    }
}

/// None when `name` is declared; else the declared name nearest to it, if
/// any is near. The one test `harun check` and a run both apply.
pub fn undeclared<'a>(name: &str, declared: &'a [String]) -> Option<Option<&'a str>> {
    if declared.iter().any(|d| d == name) {
        return None;
    }
    Some(best(name, declared.iter().map(String::as_str), |_| true))
}

fn quoted(names: &[&str]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    q.join(", ")
}

fn listing(declared: &[String]) -> String {
    if declared.is_empty() {
        "no parameter".to_string()
    } else {
        let names: Vec<&str> = declared.iter().map(String::as_str).collect();
        quoted(&names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> Facts {
        let engine = rhai::Engine::new_raw();
        super::super::facts::collect(&engine.compile(src).expect("compiles"))
    }

    const QCHECK: &str =
        "//! Queue check.\n//! @param max=5  most queued\nlet m = param(\"maxx\", 5);\n";

    #[test]
    fn a_header_declares_what_reads_and_callers_may_use() {
        let c = Contract::Declared(vec!["max".into()]);
        let (at, msg) = c.first_refused_read(&facts(QCHECK)).unwrap();
        assert_eq!(at, (3, 15));
        assert_eq!(
            msg,
            "this playbook does not declare parameter `maxx` (did you mean `max`?): it declares `max`; add `//! @param maxx  <what it does>` to its header to take it"
        );
        assert!(c.refuse_read("max").is_none());
        let given = ["max".to_string(), "maxx".to_string()];
        assert_eq!(
            c.refuse_given("qcheck", None, &given).unwrap(),
            "unknown parameter `maxx` (did you mean `max`?): it takes `max` (see `harun qcheck --help`)"
        );
        // A header without `@param` declares none.
        let none = Contract::Declared(vec![]);
        assert!(none
            .refuse_given("t", None, &["x".to_string()])
            .unwrap()
            .contains("it takes no parameter"));
        assert!(none
            .refuse_read("x")
            .unwrap()
            .contains("it declares no parameter"));
    }

    #[test]
    fn ad_hoc_text_reads_anything_and_takes_what_it_reads() {
        let src = "param(\"backend\", \"\") + param(\"min\", 1)";
        let c = Contract::AdHoc;
        assert!(c.refuse_read("anything").is_none());
        let f = facts(src);
        assert!(c
            .refuse_given("-e", Some(&f), &["min".to_string()])
            .is_none());
        assert_eq!(
            c.refuse_given("-e", Some(&f), &["backedn".to_string()]).unwrap(),
            "unknown parameter `backedn` (did you mean `backend`?): it reads `backend`, `min` with `param(\"NAME\")`"
        );
        // A computed name may read any.
        let f = facts("let k = \"a\"; param(k, 1)");
        assert!(c
            .refuse_given("-e", Some(&f), &["zz".to_string()])
            .is_none());
    }
}
