//! `harun check`: find what is wrong with a playbook before it runs, without
//! connecting to anything. Compiles each playbook with the engine it would
//! run in and reads the AST: syntax, calls of functions that do not exist or
//! with the wrong number of arguments, `param()` reads against the `//!`
//! header, imports that do not resolve, a missing description.
//!
//! The library returns [`Problem`]s; the CLI renders them.

pub mod catalog;
/// The AST walk lives with the runner, which reads `param()` calls before a
/// run too; re-exported here, where it started.
pub use crate::script::facts;

use crate::base::error::{Error, Result};
use crate::base::suggest::best;
use crate::script::playbooks::{parse_header, read_text};
use crate::script::resolver::{locate, valid_module_path};
use catalog::Catalog;
use facts::{Facts, Pos};
use rhai::{Engine, OptimizationLevel, ParseErrorType};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Stable problem codes (they appear in output and scripts match on them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// Rhai cannot parse the playbook.
    Syntax,
    /// A variable used before any `let` (harun runs Rhai with strict variables).
    UndefinedVariable,
    /// A call of a function that exists nowhere.
    UnknownFunction,
    /// A call of a function that exists, with another number of arguments.
    WrongArity,
    /// `param("x")` with no `//! @param x` line in the header.
    UndeclaredParam,
    /// `//! @param x` that nothing reads (a warning).
    UnusedParam,
    /// `import "x"` that leads nowhere, or to a module that does not compile.
    UnresolvedImport,
    /// No `//!` first line saying what the playbook does.
    MissingDescription,
    /// `x.weigth`: a key no value harun returns has and no map of the
    /// playbook is given, next to one that exists (a typo).
    UnknownProperty,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::UndefinedVariable => "undefined-variable",
            Code::UnknownFunction => "unknown-function",
            Code::WrongArity => "wrong-arity",
            Code::UndeclaredParam => "undeclared-param",
            Code::UnusedParam => "unused-param",
            Code::UnresolvedImport => "unresolved-import",
            Code::MissingDescription => "missing-description",
            Code::UnknownProperty => "unknown-property",
        }
    }

    pub fn severity(self) -> Level {
        match self {
            Code::UnusedParam => Level::Warning,
            _ => Level::Error,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One problem, where it is, and what to write instead when that is known.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub code: Code,
    pub severity: Level,
    /// One sentence, including "did you mean" when there is a near name.
    pub message: String,
    /// The replacement: a function, parameter or module name, the header
    /// line to add, or the signatures a wrong call should match (one a line).
    pub suggestion: Option<String>,
    /// The source line, for the excerpt under the message.
    #[serde(skip)]
    pub source_line: Option<String>,
    /// Whether `suggestion` says more than the message already does.
    #[serde(skip)]
    pub help: bool,
}

struct Builder<'a> {
    file: &'a str,
    text: &'a str,
    out: Vec<Problem>,
}

impl Builder<'_> {
    fn push(&mut self, code: Code, at: Pos, message: String, suggestion: Option<String>) {
        self.push_help(code, at, message, suggestion, false)
    }

    fn push_help(
        &mut self,
        code: Code,
        (line, col): Pos,
        message: String,
        suggestion: Option<String>,
        help: bool,
    ) {
        self.out.push(Problem {
            file: self.file.to_string(),
            line,
            col,
            code,
            severity: code.severity(),
            message,
            suggestion,
            source_line: self
                .text
                .lines()
                .nth(line.saturating_sub(1))
                .map(String::from),
            help,
        });
    }
}

/// What a resolved `import ... as alias` offers.
struct Module {
    name: String,
    facts: Facts,
}

/// Checks playbooks against the engine they run in. Build once, check many.
pub struct Checker {
    engine: Engine,
    catalog: Catalog,
}

impl Checker {
    /// The engine of [`crate::script::build_engine`], with no target: nothing
    /// is connected, nothing runs.
    pub fn new() -> Result<Checker> {
        let runner = crate::runner::Runner::builder().build()?;
        let mut engine = runner.engine(None);
        // Nothing folded or dropped: a typo in dead code is still a typo.
        engine.set_optimization_level(OptimizationLevel::None);
        let catalog = Catalog::from_engine(&engine);
        Ok(Checker { engine, catalog })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Read and check one file. Err: the file cannot be used at all.
    pub fn check_file(&self, path: &Path) -> Result<Vec<Problem>> {
        let text = read_text(path)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(self.check_source(&path.display().to_string(), &text, Some(&dir)))
    }

    /// Check playbook text; `dir` is where its imports are looked up (then
    /// the shipped playbooks), as when it runs. Problems in source order.
    pub fn check_source(&self, file: &str, text: &str, dir: Option<&Path>) -> Vec<Problem> {
        let mut b = Builder {
            file,
            text,
            out: Vec::new(),
        };
        let header = parse_header(file, "", text);
        if header.description.is_empty() {
            b.push(
                Code::MissingDescription,
                (1, 1),
                "no description: a playbook starts with `//! ` and one line saying what it does (`harun list` shows it)".into(),
                Some("//! <what this playbook does>".into()),
            );
        }
        match self.engine.compile(text) {
            Err(e) => syntax(&mut b, &e),
            Ok(ast) => {
                let facts = facts::collect(&ast);
                let modules = self.imports(&mut b, &facts, dir);
                self.calls(&mut b, &facts, &modules);
                self.properties(&mut b, &facts, dir);
                params(&mut b, &header, &facts, &modules);
            }
        }
        b.out.sort_by_key(|p| (p.line, p.col));
        b.out
    }

    /// Check every import; the modules that resolve, by alias.
    fn imports(
        &self,
        b: &mut Builder,
        facts: &Facts,
        dir: Option<&Path>,
    ) -> BTreeMap<String, Option<Module>> {
        let mut modules = BTreeMap::new();
        for imp in &facts.imports {
            let Some(path) = &imp.path else { continue };
            let module = self.import(b, imp.at, path, dir);
            if let Some(alias) = &imp.alias {
                modules.insert(alias.clone(), module);
            }
        }
        modules
    }

    fn import(&self, b: &mut Builder, at: Pos, path: &str, dir: Option<&Path>) -> Option<Module> {
        if !valid_module_path(path) {
            b.push(
                Code::UnresolvedImport,
                at,
                format!("import `{path}`: imports are confined to the playbook's directory and the shipped playbooks: a relative name, no absolute path, no `..`"),
                None,
            );
            return None;
        }
        let Some((name, text)) = locate(dir, path) else {
            let mut candidates: Vec<String> = crate::script::playbooks::SHIPPED
                .iter()
                .map(|p| p.name.to_string())
                .collect();
            if let Some(d) = dir {
                candidates.extend(rhai_stems(d));
            }
            let rel = path.strip_suffix(".rhai").unwrap_or(path);
            let near = best(rel, candidates.iter().map(String::as_str), |_| true);
            let place = match dir {
                Some(d) => format!("no `{rel}.rhai` in {}", d.display()),
                None => format!("no `{rel}.rhai` next to the playbook"),
            };
            let mut message = format!(
                "import `{path}` does not resolve: {place}, and no shipped playbook of that name"
            );
            if let Some(n) = near {
                message.push_str(&format!("; did you mean `{n}`?"));
            }
            b.push(Code::UnresolvedImport, at, message, near.map(String::from));
            return None;
        };
        match self.engine.compile(&text) {
            Ok(ast) => Some(Module {
                name,
                facts: facts::collect(&ast),
            }),
            Err(e) => {
                let (l, c) = (e.1.line().unwrap_or(1), e.1.position().unwrap_or(1));
                b.push(
                    Code::UnresolvedImport,
                    at,
                    format!("import `{path}`: {name}:{l}:{c} does not compile: {}", e.0),
                    None,
                );
                None
            }
        }
    }

    fn calls(&self, b: &mut Builder, facts: &Facts, modules: &BTreeMap<String, Option<Module>>) {
        for call in &facts.calls {
            match &call.namespace {
                Some(ns) => {
                    // An alias whose import failed is reported there; other
                    // namespaces Rhai rejects at compile time.
                    if let Some(Some(m)) = modules.get(ns) {
                        module_call(b, call, ns, m);
                    }
                }
                None => self.plain_call(b, call, facts, modules),
            }
        }
    }

    /// `x.name` reads whose key is a near miss of a real one. The key of a
    /// read is only known at run time (where a typo stops the run at its
    /// line), but a typo in a branch that runs only during an incident
    /// would stop the playbook then: here it is found before. A name is
    /// taken when any value harun returns has it (every shape's keys and
    /// HAProxy's columns of every supported version), when the playbook or
    /// a module it imports gives it to a map, or when a type computes it;
    /// of the rest, only a name within a typo of a known one is reported:
    /// a name unlike all of them may be a column of a HAProxy build or
    /// version harun has not seen, and is left to the run.
    ///
    /// The maps of modules that the imported modules import (at any depth)
    /// count as the playbook's own: their values reach it through the
    /// module it imports. A playbook (or module) that calls `parse_json`
    /// reads maps whose keys come from outside (a file, a reply): no key
    /// can be told a typo there, and none is reported.
    fn properties(&self, b: &mut Builder, facts: &Facts, dir: Option<&Path>) {
        // Every module at any depth (the direct ones among them): what one
        // that does not resolve would give is reported by `imports`.
        let deeper: Vec<Facts> = facts::imported(&self.engine, &facts.imports, dir)
            .into_iter()
            .flatten()
            .collect();
        let all: Vec<&Facts> = std::iter::once(facts).chain(&deeper).collect();
        if all.iter().any(|f| {
            f.calls
                .iter()
                .any(|c| c.name == "parse_json" && c.namespace.is_none())
        }) {
            return;
        }
        let harun_keys = crate::script::vocabulary::known_keys();
        let own: BTreeSet<&str> = all
            .iter()
            .flat_map(|f| f.map_keys.iter().chain(&f.strings))
            .map(String::as_str)
            .chain(CAUGHT_ERROR_KEYS.iter().copied())
            .collect();
        for p in &facts.properties {
            let name = p.name.as_str();
            if harun_keys.contains(name) || own.contains(name) || self.catalog.is_getter(name) {
                continue;
            }
            let candidates = harun_keys.iter().chain(&own).copied();
            let near = typos_of(name, candidates);
            let Some(first) = near.first() else {
                continue;
            };
            b.push(
                Code::UnknownProperty,
                p.at,
                format!(
                    "`{name}` is a key of no value harun returns and of no map of this playbook{} (a key harun does not know, such as a column of a newer HAProxy, is read with `x[\"{name}\"]`: checked when it runs)",
                    crate::base::suggest::did_you_mean(&near),
                ),
                Some(first.to_string()),
            );
        }
    }

    fn plain_call(
        &self,
        b: &mut Builder,
        call: &facts::Call,
        facts: &Facts,
        modules: &BTreeMap<String, Option<Module>>,
    ) {
        let name = call.name.as_str();
        // A method's receiver is the first argument of a native function,
        // and `this` (not a parameter) of a script function.
        let native_n = call.args + usize::from(call.method);
        let known = self.catalog.get(name);
        if known.is_some_and(|a| a.accepts(native_n)) || facts.defines(name, call.args) {
            return;
        }
        if call.method && facts.map_keys.contains(name) {
            return; // Possibly a function pointer stored in a map: `obj.f(x)`.
        }
        let script_arities: BTreeSet<usize> = facts
            .functions
            .iter()
            .filter(|f| f.name == name)
            .map(|f| f.params + usize::from(call.method))
            .collect();
        if known.is_some() || !script_arities.is_empty() {
            let mut accepted = known.cloned().unwrap_or_default();
            accepted.exact.extend(script_arities);
            let sigs = self.catalog.signatures(name);
            let receiver = if call.method {
                " (the value before the `.` counts as the first)"
            } else {
                ""
            };
            b.push_help(
                Code::WrongArity,
                call.at,
                format!(
                    "`{name}` takes {} argument{}{receiver}, not {native_n}",
                    accepted.describe(),
                    if accepted.describe() == "1" { "" } else { "s" },
                ),
                (!sigs.is_empty()).then(|| sigs.join("\n")),
                true,
            );
            return;
        }
        let mut candidates: Vec<String> = self.catalog.names().map(String::from).collect();
        candidates.extend(facts.functions.iter().map(|f| f.name.clone()));
        let near = best(name, candidates.iter().map(String::as_str), |c| {
            self.catalog.get(c).is_some_and(|a| a.accepts(native_n)) || facts.defines(c, call.args)
        })
        .map(String::from)
        .or_else(|| {
            // Defined in an imported module: reachable as `alias::name`.
            modules.iter().find_map(|(alias, m)| {
                let m = m.as_ref()?;
                m.facts
                    .functions
                    .iter()
                    .any(|f| f.name == name && !f.private)
                    .then(|| format!("{alias}::{name}"))
            })
        });
        let what = if call.method { "method" } else { "function" };
        let mut message = format!("no {what} `{name}`");
        if let Some(n) = &near {
            message.push_str(&format!("; did you mean `{n}`?"));
        }
        b.push(Code::UnknownFunction, call.at, message, near);
    }
}

fn module_call(b: &mut Builder, call: &facts::Call, ns: &str, m: &Module) {
    let exported: Vec<&facts::ScriptFn> = m.facts.functions.iter().filter(|f| !f.private).collect();
    if exported
        .iter()
        .any(|f| f.name == call.name && f.params == call.args)
    {
        return;
    }
    let arities: BTreeSet<usize> = exported
        .iter()
        .filter(|f| f.name == call.name)
        .map(|f| f.params)
        .collect();
    if !arities.is_empty() {
        let a = catalog::Arities {
            exact: arities,
            at_least: None,
        };
        b.push(
            Code::WrongArity,
            call.at,
            format!(
                "`{ns}::{}` ({}) takes {} argument{}, not {}",
                call.name,
                m.name,
                a.describe(),
                if a.describe() == "1" { "" } else { "s" },
                call.args
            ),
            None,
        );
        return;
    }
    let near = best(&call.name, exported.iter().map(|f| f.name.as_str()), |_| {
        true
    });
    let private = m
        .facts
        .functions
        .iter()
        .any(|f| f.name == call.name && f.private);
    let mut message = if private {
        format!("`{}` is private in module `{ns}` ({})", call.name, m.name)
    } else {
        format!("no function `{}` in module `{ns}` ({})", call.name, m.name)
    };
    if let Some(n) = near {
        message.push_str(&format!("; did you mean `{ns}::{n}`?"));
    }
    b.push(
        Code::UnknownFunction,
        call.at,
        message,
        near.map(|n| format!("{ns}::{n}")),
    );
}

/// What `catch (e)` holds: harun's error maps (`kind`, `message`, ...) and
/// Rhai's own error objects.
const CAUGHT_ERROR_KEYS: &[&str] = &[
    "kind",
    "message",
    "exit_code",
    "target",
    "cause",
    "advice",
    "writes",
    "reported",
    "rolling",
    "line",
    "position",
    "source",
    "function",
];

/// The known names `name` is a typo of: one edit away (two for a name of
/// seven characters or more; a swap of two neighbours is one edit), those
/// nearest, at most three. Empty when nothing is that close: not a typo, as
/// far as anyone can tell; and for a name of one or two characters, which
/// one edit turns into too many others (`x.a` is no typo of `at`).
fn typos_of<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let most = match name.chars().count() {
        0..=2 => return Vec::new(),
        3..=6 => 1,
        _ => 2,
    };
    let mut near: Vec<(usize, &str)> = known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, _)| *d <= most)
        .collect();
    near.sort();
    near.dedup();
    let best = near.first().map(|(d, _)| *d);
    let near: Vec<&str> = near
        .into_iter()
        .take_while(|(d, _)| Some(*d) == best)
        .take(3)
        .map(|(_, k)| k)
        .collect();
    // `by.server1`, `lb.web02`: a digit where no near key has one is a name
    // from the data (a map keyed by server or host names), not a typo.
    let digit = |s: &str| s.bytes().any(|b| b.is_ascii_digit());
    if digit(name) && !near.iter().any(|k| digit(k)) {
        return Vec::new();
    }
    near
}

fn syntax(b: &mut Builder, e: &rhai::ParseError) {
    let mut at = (e.1.line().unwrap_or(1), e.1.position().unwrap_or(1));
    match &*e.0 {
        ParseErrorType::MissingToken(t, _) if t == ";" => {
            if let Some(moved) = crate::script::errors::missing_semicolon_at(b.text, at.0, at.1) {
                at = moved;
            }
            b.push(Code::Syntax, at, e.0.to_string(), None)
        }
        ParseErrorType::VariableUndefined(v) => b.push(
            Code::UndefinedVariable,
            at,
            format!(
                "variable `{v}` is not defined: declare it with `let {v} = ...;` before using it"
            ),
            None,
        ),
        ParseErrorType::ModuleUndefined(m) => b.push(
            Code::UnresolvedImport,
            at,
            format!("no module `{m}`: add `import \"...\" as {m};` before using `{m}::`"),
            None,
        ),
        other => b.push(Code::Syntax, at, other.to_string(), None),
    }
}

/// `param()` reads against the header's `@param` lines (reads in imported
/// modules count: a helper module may read a playbook's parameters).
fn params(
    b: &mut Builder,
    header: &crate::script::playbooks::PlaybookDoc,
    facts: &Facts,
    modules: &BTreeMap<String, Option<Module>>,
) {
    let declared: Vec<String> = header.params.iter().map(|p| p.name.clone()).collect();
    for read in &facts.params {
        let Some(name) = &read.name else { continue };
        // The same test a run applies before it starts.
        let Some(near) = crate::script::params::undeclared(name, &declared) else {
            continue;
        };
        let (message, suggestion, help) = match near {
            Some(n) => (
                format!("parameter `{name}` is not declared in the header; did you mean `{n}`?"),
                n.to_string(),
                false,
            ),
            None => (
                format!("parameter `{name}` is not declared in the header: add a `//! @param` line so `harun {} --help` documents it", stem(b.file)),
                format!("//! @param {name}  <what it does>"),
                true,
            ),
        };
        b.push_help(
            Code::UndeclaredParam,
            read.at,
            message,
            Some(suggestion),
            help,
        );
    }
    let reads: Vec<&facts::ParamRead> = facts
        .params
        .iter()
        .chain(
            modules
                .values()
                .flatten()
                .flat_map(|m| m.facts.params.iter()),
        )
        .collect();
    // A name computed at run time may read any parameter.
    if reads.iter().any(|r| r.name.is_none()) {
        return;
    }
    let read: BTreeSet<&str> = reads.iter().filter_map(|r| r.name.as_deref()).collect();
    for p in &header.params {
        if read.contains(p.name.as_str()) {
            continue;
        }
        let at = param_line(b.text, &p.name).unwrap_or((1, 1));
        b.push(
            Code::UnusedParam,
            at,
            format!(
                "parameter `{}` is declared but never read with `param(\"{}\")`",
                p.name, p.name
            ),
            None,
        );
    }
}

/// Where `//! @param NAME` is in the header: its line and the name's column.
fn param_line(text: &str, name: &str) -> Option<Pos> {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if !t.starts_with("//!") {
            if t.is_empty() {
                continue;
            }
            break;
        }
        let Some(at) = line.find("@param ") else {
            continue;
        };
        let rest = &line[at + "@param ".len()..];
        let start = at + "@param ".len() + (rest.len() - rest.trim_start().len());
        let spec = line[start..]
            .split(char::is_whitespace)
            .next()
            .unwrap_or_default();
        let spec_name = spec.split('=').next().unwrap_or(spec).trim_end_matches('!');
        if spec_name == name {
            return Some((i + 1, line[..start].chars().count() + 1));
        }
    }
    None
}

fn stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string())
}

fn rhai_stems(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The playbooks under `paths`: files as given, directories searched
/// recursively for `*.rhai` (hidden directories and symlinked directories
/// skipped), sorted. Err: a path that does not exist, or holds no playbook.
pub fn playbook_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| {
            Error::Playbook(format!(
                "{}: {}",
                p.display(),
                if e.kind() == std::io::ErrorKind::NotFound {
                    "no such file or directory".to_string()
                } else {
                    e.to_string()
                }
            ))
        })?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let before = out.len();
        walk(p, &mut out, 0)?;
        if out.len() == before {
            return Err(Error::Playbook(format!(
                "{}: no playbook (*.rhai) in this directory",
                p.display()
            )));
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    if depth > 32 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Playbook(format!("{}: cannot read directory: {e}", dir.display())))?;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && !hidden {
            dirs.push(path);
        } else if !kind.is_dir() && path.extension().is_some_and(|e| e == "rhai") && path.is_file()
        {
            files.push(path);
        }
    }
    files.sort();
    dirs.sort();
    out.extend(files);
    for d in dirs {
        walk(&d, out, depth + 1)?;
    }
    Ok(())
}

/// The outcome of checking a set of paths.
#[derive(Debug, Default)]
pub struct CheckRun {
    /// Playbooks read and checked.
    pub checked: usize,
    pub problems: Vec<Problem>,
    /// Files that could not be used (unreadable, not UTF-8): the others are
    /// still checked.
    pub unusable: Vec<Error>,
}

impl CheckRun {
    /// How many playbooks have at least one problem.
    pub fn playbooks_with_problems(&self) -> usize {
        self.problems
            .iter()
            .map(|p| p.file.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// Check every playbook under `paths` (see [`playbook_files`]).
pub fn check_paths(paths: &[PathBuf]) -> Result<CheckRun> {
    let files = playbook_files(paths)?;
    let checker = Checker::new()?;
    let mut run = CheckRun::default();
    for f in files {
        match checker.check_file(&f) {
            Ok(problems) => {
                run.checked += 1;
                run.problems.extend(problems);
            }
            Err(e) => run.unusable.push(e),
        }
    }
    Ok(run)
}

#[cfg(test)]
mod tests;
