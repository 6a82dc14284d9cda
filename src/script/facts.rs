//! What a compiled playbook does, read from its AST without running it:
//! the calls it makes, the parameters it reads, what it imports and the
//! functions it defines. A pure function over the AST.

use rhai::{ASTNode, Expr, FnCallExpr, Position, Stmt, AST};
use std::collections::BTreeSet;

/// 1-based line and column, as Rhai counts them (characters, not bytes).
pub type Pos = (usize, usize);

fn pos(p: Position) -> Pos {
    (p.line().unwrap_or(1), p.position().unwrap_or(1))
}

/// A call by name: `f(a)`, `x.f(a)` (`method`) or `m::f(a)` (`namespace`).
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: String,
    /// `m` of `m::f`; nested namespaces are joined with `::`.
    pub namespace: Option<String>,
    /// Arguments between the parentheses (the receiver of a method is not one).
    pub args: usize,
    pub method: bool,
    pub at: Pos,
}

/// `param("name")` or `param("name", default)`; `name` is None when the
/// first argument is not a string literal (the checker cannot know it).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamRead {
    pub name: Option<String>,
    pub at: Pos,
}

/// `import "path" as alias;` (`path` None when it is not a string literal).
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub path: Option<String>,
    pub alias: Option<String>,
    pub at: Pos,
}

/// `x.name`: a property read (or written: `x.name = v` is one too).
#[derive(Clone, Debug, PartialEq)]
pub struct PropertyRead {
    pub name: String,
    pub at: Pos,
}

/// A function the script defines (closures left out).
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptFn {
    pub name: String,
    pub params: usize,
    pub private: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub calls: Vec<Call>,
    pub params: Vec<ParamRead>,
    pub imports: Vec<Import>,
    pub functions: Vec<ScriptFn>,
    /// Keys of map literals and properties assigned to: `m.f(x)` calls a
    /// function pointer stored under `f` in a map, which no name list knows.
    pub map_keys: BTreeSet<String>,
    /// Every `.name` after a value, in source order.
    pub properties: Vec<PropertyRead>,
    /// String literals that could be keys (`m["k"] = 1`, `"k" in m`).
    pub strings: BTreeSet<String>,
    /// The id of each `finding(severity, id, ...)` call: None when it is
    /// computed (`` `disk.${name}` ``), so the set of ids is not known.
    pub finding_ids: Vec<Option<String>>,
}

impl Facts {
    /// Whether the script defines `name` with `n` parameters.
    pub fn defines(&self, name: &str, n: usize) -> bool {
        self.functions
            .iter()
            .any(|f| f.name == name && f.params == n)
    }
}

/// A name a script can call: getters are `get$x`, operators are symbols.
pub fn callable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn call_of(f: &FnCallExpr, method: bool, at: Position, facts: &mut Facts) {
    // Operators (`+`, `!`, `==`) are calls too, but never by name.
    if f.is_operator_call() || !callable_name(&f.name) {
        return;
    }
    let namespace = (!f.namespace.is_empty()).then(|| {
        f.namespace
            .path
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("::")
    });
    if !method && namespace.is_none() && f.name == "finding" && f.args.len() >= 2 {
        facts.finding_ids.push(match &f.args[1] {
            Expr::StringConstant(s, _) => Some(s.to_string()),
            _ => None,
        });
    }
    if !method && namespace.is_none() && f.name == "param" {
        let name = match f.args.first() {
            Some(Expr::StringConstant(s, _)) => Some(s.to_string()),
            _ => None,
        };
        let at = match f.args.first() {
            Some(Expr::StringConstant(_, p)) => *p,
            _ => at,
        };
        facts.params.push(ParamRead { name, at: pos(at) });
    }
    facts.calls.push(Call {
        name: f.name.to_string(),
        namespace,
        args: f.args.len(),
        method,
        at: pos(at),
    });
}

/// Property names on the left of an assignment (`obj.f = ...`).
fn assigned_properties(e: &Expr, out: &mut BTreeSet<String>) {
    match e {
        Expr::Dot(x, ..) | Expr::Index(x, ..) => {
            assigned_properties(&x.lhs, out);
            assigned_properties(&x.rhs, out);
        }
        Expr::Property(p, _) => {
            out.insert(p.2.to_string());
        }
        _ => {}
    }
}

/// Everything the checker needs to know about `ast`, function bodies and
/// closures included.
pub fn collect(ast: &AST) -> Facts {
    let mut facts = Facts::default();
    for f in ast.iter_functions() {
        // Closures compile to functions named `anon$<hash>`.
        if callable_name(f.name) {
            facts.functions.push(ScriptFn {
                name: f.name.to_string(),
                params: f.params.len(),
                private: f.access == rhai::FnAccess::Private,
            });
        }
    }
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(f, at))) => call_of(f, false, *at, &mut facts),
            Some(ASTNode::Stmt(Stmt::FnCall(f, at))) => call_of(f, false, *at, &mut facts),
            Some(ASTNode::Expr(Expr::MethodCall(f, at))) => call_of(f, true, *at, &mut facts),
            Some(ASTNode::Expr(Expr::Map(m, _))) => {
                facts
                    .map_keys
                    .extend(m.0.iter().map(|(k, _)| k.name.to_string()));
            }
            Some(ASTNode::Expr(Expr::Property(p, at))) => {
                facts.properties.push(PropertyRead {
                    name: p.2.to_string(),
                    at: pos(*at),
                });
            }
            Some(ASTNode::Expr(Expr::StringConstant(s, _))) if callable_name(s) => {
                facts.strings.insert(s.to_string());
            }
            Some(ASTNode::Stmt(Stmt::Assignment(a))) => {
                assigned_properties(&a.1.lhs, &mut facts.map_keys);
            }
            Some(ASTNode::Stmt(Stmt::Import(x, stmt_at))) => {
                let (path, at) = match &x.0 {
                    Expr::StringConstant(s, p) => (Some(s.to_string()), *p),
                    other => (None, other.position()),
                };
                let at = if at.is_none() { *stmt_at } else { at };
                facts.imports.push(Import {
                    path,
                    alias: (!x.1.name.is_empty()).then(|| x.1.name.to_string()),
                    at: pos(at),
                });
            }
            _ => {}
        }
        true
    });
    facts
}

/// The facts of every module `imports` lead to, and of the modules those
/// import, each once (import circles end), looked up as a run looks them
/// up from `dir`. An import that is not a string literal, is not a valid
/// module path, does not resolve or does not compile is `None` in its place.
pub fn imported(
    engine: &rhai::Engine,
    imports: &[Import],
    dir: Option<&std::path::Path>,
) -> Vec<Option<Facts>> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<Option<String>> = imports.iter().map(|i| i.path.clone()).collect();
    let mut out = Vec::new();
    while let Some(path) = queue.pop() {
        let Some(path) = path else {
            out.push(None);
            continue;
        };
        if !super::resolver::valid_module_path(&path) {
            out.push(None);
            continue;
        }
        let Some((name, text)) = super::resolver::locate(dir, &path) else {
            out.push(None);
            continue;
        };
        if !seen.insert(name) {
            continue;
        }
        let Ok(ast) = engine.compile(&text) else {
            out.push(None);
            continue;
        };
        let f = collect(&ast);
        queue.extend(f.imports.iter().map(|i| i.path.clone()));
        out.push(Some(f));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> Facts {
        let mut engine = rhai::Engine::new();
        engine.set_optimization_level(rhai::OptimizationLevel::None);
        collect(&engine.compile(src).expect("compiles"))
    }

    #[test]
    fn calls_with_their_arity_and_position() {
        let f = facts(
            "let x = stat();\nx.filter(|r| r.a == 1);\nm::g(1, 2);\nif !true { print(1 + 2) }",
        );
        let calls: Vec<(&str, Option<&str>, usize, bool, Pos)> = f
            .calls
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.namespace.as_deref(),
                    c.args,
                    c.method,
                    c.at,
                )
            })
            .collect();
        assert!(
            calls.contains(&("stat", None, 0, false, (1, 9))),
            "{calls:?}"
        );
        assert!(
            calls.contains(&("filter", None, 1, true, (2, 3))),
            "{calls:?}"
        );
        assert!(
            calls.contains(&("g", Some("m"), 2, false, (3, 4))),
            "{calls:?}"
        );
        assert!(
            calls.contains(&("print", None, 1, false, (4, 12))),
            "{calls:?}"
        );
        // Operators are not calls by name.
        assert!(!calls.iter().any(|c| c.0 == "+" || c.0 == "!"), "{calls:?}");
    }

    #[test]
    fn params_imports_functions_and_map_keys() {
        let f = facts(
            "import \"lib\" as l;\nlet a = param(\"a\");\nlet b = param(\"b\", 1);\nlet k = \"c\";\nparam(k);\nfn helper(x, y) { x }\nprivate fn hidden() { 1 }\nlet o = #{ run: |x| x };\no.other = 1;",
        );
        assert_eq!(
            f.imports,
            vec![Import {
                path: Some("lib".into()),
                alias: Some("l".into()),
                at: (1, 8)
            }]
        );
        let names: Vec<Option<&str>> = f.params.iter().map(|p| p.name.as_deref()).collect();
        assert_eq!(names, vec![Some("a"), Some("b"), None]);
        assert_eq!(f.params[0].at, (2, 15), "at the name, not the call");
        assert!(f.defines("helper", 2) && !f.defines("helper", 1));
        assert!(f.functions.iter().any(|s| s.name == "hidden" && s.private));
        assert!(!f.functions.iter().any(|s| s.name.starts_with("anon")));
        assert!(f.map_keys.contains("run") && f.map_keys.contains("other"));
    }

    #[test]
    fn property_reads_with_their_position_and_key_like_strings() {
        let f = facts("let r = stat()[0];\nlet q = r.qcur + r.stats.qmax;\nlet m = #{};\nm[\"made\"] = 1;\nprint(\"a b\");");
        let props: Vec<(&str, Pos)> = f
            .properties
            .iter()
            .map(|p| (p.name.as_str(), p.at))
            .collect();
        assert_eq!(
            props,
            [("qcur", (2, 11)), ("stats", (2, 20)), ("qmax", (2, 26))]
        );
        assert!(f.strings.contains("made") && !f.strings.contains("a b"));
    }

    #[test]
    fn finding_ids_literal_or_computed() {
        let f = facts(
            "finding(\"ok\", \"a.b\", \"t\");\nlet n = 1;\nfinding(\"ok\", `c.${n}`, \"t\", #{});",
        );
        assert_eq!(f.finding_ids, vec![Some("a.b".to_string()), None]);
    }
}
