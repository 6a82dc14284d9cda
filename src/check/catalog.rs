//! Which functions exist, with which numbers of arguments: read from the
//! engine a playbook runs in, so the checker never disagrees with the runtime.

use rhai::Engine;
use std::collections::{BTreeMap, BTreeSet};

/// How many arguments a name accepts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Arities {
    pub exact: BTreeSet<usize>,
    /// Any count from this one up (`call`, `curry`).
    pub at_least: Option<usize>,
}

impl Arities {
    pub fn accepts(&self, n: usize) -> bool {
        self.exact.contains(&n) || self.at_least.is_some_and(|m| n >= m)
    }

    /// `1 or 2`, `0, 1 or 3`, `1 or more`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.exact.iter().map(|n| n.to_string()).collect();
        if let Some(m) = self.at_least {
            parts.push(format!("{m} or more"));
        }
        match parts.len() {
            0 => "no".into(),
            1 => parts.remove(0),
            _ => {
                let last = parts.pop().unwrap_or_default();
                format!("{} or {last}", parts.join(", "))
            }
        }
    }
}

/// Functions Rhai handles in its evaluator, not through registered functions
/// (so the engine's metadata does not list them all).
const KEYWORDS: &[(&str, &[usize], Option<usize>)] = &[
    ("print", &[0, 1], None),
    ("debug", &[0, 1], None),
    ("type_of", &[1], None),
    ("Fn", &[1], None),
    ("call", &[], Some(1)),
    ("curry", &[], Some(1)),
    ("is_def_var", &[1], None),
    ("is_def_fn", &[2, 3], None),
    ("is_shared", &[1], None),
];

/// The engine's functions: name -> arities, and readable signatures for
/// suggestions. Operators, getters, setters and indexers are left out: they
/// are not called by name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    functions: BTreeMap<String, Arities>,
    signatures: BTreeMap<String, Vec<String>>,
    /// Properties the engine computes (`get$name` functions: `f.name` of a
    /// function pointer, `r.start` of a range, `row.qcur`... of harun's types).
    getters: BTreeSet<String>,
}

pub use crate::script::facts::callable_name;

impl Catalog {
    /// Every function registered in `engine` (harun's primitives and Rhai's
    /// standard library), plus Rhai's keyword functions.
    pub fn from_engine(engine: &Engine) -> Catalog {
        let mut cat = Catalog::default();
        let found = engine.collect_fn_metadata(
            None,
            |info| {
                let m = info.metadata;
                if !info.namespace.is_empty() || !callable_name(&m.name) {
                    return None;
                }
                Some((
                    m.name.to_string(),
                    m.num_params,
                    signature(&m.name, &m.params_info),
                ))
            },
            true,
        );
        cat.getters = engine
            .collect_fn_metadata(
                None,
                |info| {
                    let name = info.metadata.name.strip_prefix("get$")?;
                    callable_name(name).then(|| name.to_string())
                },
                true,
            )
            .into_iter()
            .collect();
        for (name, n, sig) in found {
            cat.functions
                .entry(name.clone())
                .or_default()
                .exact
                .insert(n);
            let sigs = cat.signatures.entry(name).or_default();
            if !sigs.contains(&sig) {
                sigs.push(sig);
            }
        }
        for sigs in cat.signatures.values_mut() {
            sigs.sort_by_key(|s| (s.matches(',').count(), s.clone()));
        }
        for (name, exact, at_least) in KEYWORDS {
            let a = cat.functions.entry(name.to_string()).or_default();
            a.exact.extend(exact.iter().copied());
            if at_least.is_some() {
                a.at_least = *at_least;
            }
        }
        cat
    }

    /// Whether `x.name` is computed by a getter of some type.
    pub fn is_getter(&self, name: &str) -> bool {
        self.getters.contains(name)
    }

    pub fn get(&self, name: &str) -> Option<&Arities> {
        self.functions.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// The signatures of `name`, fewest parameters first.
    pub fn signatures(&self, name: &str) -> &[String] {
        self.signatures.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// `name(param: type, ...)` without Rust's `&mut` and `rhai::` (registered
/// parameter info is `name: type`; Rhai's own functions may lack it).
fn signature(name: &str, params: &[impl AsRef<str>]) -> String {
    let params: Vec<String> = params
        .iter()
        .map(|p| p.as_ref().replace("&mut ", "").replace("rhai::", ""))
        .collect();
    format!("{name}({})", params.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arities_read_well() {
        let mut a = Arities::default();
        a.exact.insert(1);
        assert_eq!(a.describe(), "1");
        a.exact.insert(2);
        assert_eq!(a.describe(), "1 or 2");
        a.exact.insert(0);
        assert_eq!(a.describe(), "0, 1 or 2");
        let b = Arities {
            exact: BTreeSet::new(),
            at_least: Some(1),
        };
        assert!(b.accepts(5) && !b.accepts(0));
        assert_eq!(b.describe(), "1 or more");
    }

    #[test]
    fn callable_names_only() {
        assert!(callable_name("drain") && callable_name("_x1"));
        for n in ["+", "get$len", "index$get$", "", "1a"] {
            assert!(!callable_name(n), "{n}");
        }
    }
}
