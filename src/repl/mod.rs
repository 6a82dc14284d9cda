//! The incident REPL: `harun repl`.
//!
//! One Scope for the session plus an AST that keeps function definitions
//! and drops statements after each line (rhai's own REPL pattern); lines are
//! compiled with the scope (strict variables) at the engine's `Simple`
//! optimisation level, never `Full`. History is appended after every entry.
//! Ctrl-C while a line runs cancels the runner's token (the CLI's SIGINT
//! handler); the token is re-armed before each line.

pub mod entry;
pub mod helper;

use crate::base::report::{Report, RunError, Table};
use crate::output::{display, render};
use crate::runner::Runner;
use crate::script::params;
use crate::script::playbooks;
use crate::script::{errors, to_json, Catalog, Ctx};
use entry::Entry;
use helper::{Names, ReplHelper, DOT_COMMANDS};
use rhai::{Dynamic, Engine, EvalAltResult, Position, Scope, AST};
use rustyline::config::Configurer;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// The name errors in the line being run point at (`input:LINE:COL`).
const INPUT: &str = "input";

/// Where history lives: `$XDG_STATE_HOME/harun/history`, else
/// `~/.local/state/harun/history`.
pub fn history_path() -> Option<PathBuf> {
    let state = dirs::state_dir().or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))?;
    Some(state.join("harun").join("history"))
}

/// `import "path" as name` statements in a line, to keep those modules for
/// the rest of the session.
pub fn find_imports(input: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for stmt in input.split([';', '\n']) {
        let Some(rest) = stmt.trim().strip_prefix("import") else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some((path, rest)) = rest.split_once('"') else {
            continue;
        };
        let Some(alias) = rest.trim_start().strip_prefix("as") else {
            continue;
        };
        if !alias.starts_with(char::is_whitespace) {
            continue;
        }
        let alias = alias.trim();
        let ident = !alias.is_empty()
            && !alias.starts_with(|c: char| c.is_ascii_digit())
            && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ident {
            out.push((path.to_string(), alias.to_string()));
        }
    }
    out
}

/// `.run` arguments: the playbook and `k=v` parameters.
pub fn parse_run_args(args: &str) -> Result<(String, BTreeMap<String, String>), String> {
    let mut words = args.split_whitespace();
    let name = words
        .next()
        .ok_or("usage: .run PLAYBOOK [key=value ...]")?
        .to_string();
    let mut params = BTreeMap::new();
    for w in words {
        let (k, v) = w
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("`{w}`: parameters are key=value"))?;
        params.insert(k.to_string(), v.to_string());
    }
    Ok((name, params))
}

/// A `-p`/`.run` value converted to the type of `param()`'s default (the
/// same rules as playbook runs).
fn typed_param(name: &str, raw: &str, default: &Dynamic) -> Result<Dynamic, Box<EvalAltResult>> {
    let bad = |what: &str| {
        errors::invalid(
            "parameter",
            format!("{name}={raw}"),
            format!("expected {what}"),
        )
    };
    let t = raw.trim();
    if default.is_int() {
        t.parse::<i64>()
            .map(Dynamic::from_int)
            .map_err(|_| bad("an integer"))
    } else if default.is_float() {
        t.parse::<f64>()
            .map(Dynamic::from_float)
            .map_err(|_| bad("a number"))
    } else if default.is_bool() {
        match t {
            "true" | "yes" | "1" | "on" => Ok(true.into()),
            "false" | "no" | "0" | "off" => Ok(false.into()),
            _ => Err(bad("true or false")),
        }
    } else {
        Ok(raw.to_string().into())
    }
}

fn out(text: &str) {
    let mut o = anstream::stdout();
    let _ = writeln!(o, "{text}");
    let _ = o.flush();
}

fn note(text: &str) {
    let mut e = anstream::stderr();
    let _ = writeln!(e, "{text}");
}

/// Closures compile to functions named `anon$<hash>`: not the user's names.
fn is_closure(name: &str) -> bool {
    name.starts_with("anon$")
}

/// The innermost script function an error happened in.
fn innermost_fn(err: &EvalAltResult) -> Option<&str> {
    let mut found = None;
    let mut cur = err;
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(name, _, inner, _) => {
                found = Some(name.as_str());
                cur = inner;
            }
            EvalAltResult::ErrorInModule(_, inner, _) => cur = inner,
            _ => return found,
        }
    }
}

struct Session<'r> {
    runner: &'r Runner,
    ctx: Arc<Ctx>,
    engine: Engine,
    scope: Scope<'static>,
    /// Function definitions of every line so far; statements cleared after each.
    ast: AST,
    /// Where each script function was defined (entry number, its text), to
    /// quote the right line when it fails later.
    defs: HashMap<String, (usize, String)>,
    entry: usize,
    json: bool,
    docs: Option<Vec<(String, String, String)>>,
}

enum Flow {
    Continue,
    Quit,
}

impl Session<'_> {
    fn interrupted(&self, e: &RunError) -> bool {
        e.kind == "interrupted" || self.ctx.cancel.is_cancelled()
    }

    /// Findings a line produced (tables and prints were shown live).
    fn show_report(&self, report: &Report) {
        if !report.findings.is_empty() && !self.json {
            let mut o = anstream::stdout();
            let _ = write!(o, "{}", render::findings(report));
        }
        if self.json && !report.findings.is_empty() {
            out(&serde_json::to_string_pretty(&report.findings).unwrap_or_default());
        }
    }

    /// Run one line: its value, or why it failed (None: interrupted).
    fn run_line(&mut self, input: &str) -> Result<Dynamic, Option<Box<RunError>>> {
        self.ctx.cancel.reset();
        self.ctx.begin_run("repl");
        self.entry += 1;
        let compiled = self
            .engine
            .compile_with_scope(&self.scope, input)
            .map_err(|e| Box::new(EvalAltResult::ErrorParsing(*e.0, e.1)));
        let result = compiled.and_then(|mut line_ast| {
            for f in line_ast.iter_functions() {
                self.defs
                    .insert(f.name.to_string(), (self.entry, input.to_string()));
            }
            line_ast.set_source(INPUT);
            self.ast += line_ast;
            self.ast.set_source(INPUT);
            self.engine
                .eval_ast_with_scope::<Dynamic>(&mut self.scope, &self.ast)
        });
        self.ast.clear_statements();
        let report = self.ctx.take_report();
        self.show_report(&report);
        let outcome = match result {
            Ok(v) => {
                for (path, alias) in find_imports(input) {
                    self.keep_import(&path, &alias);
                }
                Ok(v)
            }
            Err(e) => {
                let mut re = errors::describe(&e, INPUT, input);
                if self.interrupted(&re) {
                    Err(None)
                } else {
                    // A function defined on an earlier line: quote that line.
                    if let Some(name) = innermost_fn(&e) {
                        if let Some((_, text)) =
                            self.defs.get(name).filter(|(n, _)| *n != self.entry)
                        {
                            re = errors::describe(&e, INPUT, text);
                            re.file = Some(format!("fn {name}"));
                        }
                    }
                    Err(Some(Box::new(re)))
                }
            }
        };
        self.ctx.cancel.reset();
        outcome
    }

    fn eval(&mut self, input: &str) {
        match self.run_line(input) {
            Ok(v) if v.is_unit() => {}
            Ok(v) => out(&display::render_value(
                &to_json(&v),
                self.json,
                display::MAX_ROWS,
            )),
            Err(None) => note("interrupted"),
            Err(Some(mut e)) => {
                // HAProxy down, no such server...: the message says it all; a
                // caret under the line just typed adds nothing.
                if e.is_environment() {
                    e.forget_location();
                    e.file = None;
                }
                crate::output::error(&e.render())
            }
        }
    }

    /// Keep an imported module for the next lines (imports end with the line
    /// that made them otherwise).
    fn keep_import(&mut self, path: &str, alias: &str) {
        let m = self
            .engine
            .module_resolver()
            .resolve(&self.engine, None, path, Position::NONE);
        match m {
            Ok(m) => {
                self.engine.register_static_module(alias, m);
            }
            Err(e) => note(&format!("note: `{alias}` is only usable on that line: {e}")),
        }
    }

    /// Reload the catalog of backend/server names (for completion).
    fn refresh(&self) -> Result<(usize, usize), String> {
        if self.ctx.client.is_empty() {
            return Err("no HAProxy target".into());
        }
        self.ctx.cancel.reset();
        self.ctx.begin_run("repl");
        let r = self.engine.eval::<Dynamic>("stat()");
        let _ = self.ctx.take_report();
        match r {
            Ok(_) => {
                let c = self
                    .ctx
                    .catalog
                    .read()
                    .map(|c| c.clone())
                    .unwrap_or_default();
                Ok((c.backends.len(), c.servers.values().map(|s| s.len()).sum()))
            }
            Err(e) => Err(errors::describe(&e, INPUT, "stat()").message),
        }
    }

    fn dot(&mut self, line: &str) -> Flow {
        let line = line.trim();
        let (cmd, args) = line
            .split_once(char::is_whitespace)
            .map(|(c, a)| (c, a.trim()))
            .unwrap_or((line, ""));
        match cmd {
            ".quit" | ".exit" | ".q" => return Flow::Quit,
            ".help" | ".h" => self.help(args),
            ".targets" => self.targets(),
            ".refresh" => {
                if let Ok(mut c) = self.ctx.catalog.write() {
                    *c = Catalog::default();
                }
                match self.refresh() {
                    Ok((b, s)) => out(&format!("{b} backends, {s} servers")),
                    Err(e) => crate::output::error(&format!("refresh: {e}")),
                }
            }
            ".run" => self.run_playbook(args),
            ".scope" => self.show_scope(),
            ".json" => {
                self.json = !self.json;
                out(if self.json {
                    "JSON output on"
                } else {
                    "JSON output off"
                });
            }
            other => crate::output::error(&format!("unknown command `{other}` (see .help)")),
        }
        Flow::Continue
    }

    fn docs(&mut self) -> &[(String, String, String)] {
        self.docs
            .get_or_insert_with(crate::output::docs::primitives)
    }

    fn help(&mut self, name: &str) {
        if !name.is_empty() {
            if let Some(t) = crate::output::docs::primitives_text(Some(name)) {
                out(t.trim_end());
                return;
            }
            let names = Names::from_engine(&self.engine);
            match names.functions.get(name) {
                Some(sigs) => out(&sigs.join("\n")),
                None => crate::output::error(&format!("no function named `{name}`")),
            }
            return;
        }
        let mut text = String::from("Commands:\n");
        for (c, what) in DOT_COMMANDS {
            text.push_str(&format!("  {c:<10} {what}\n"));
        }
        text.push_str("\nharun functions (.help NAME for details):\n");
        let mut seen: Vec<String> = Vec::new();
        let docs: Vec<(String, String)> = self
            .docs()
            .iter()
            .map(|(n, _, d)| (n.clone(), d.lines().next().unwrap_or("").to_string()))
            .collect();
        for (n, first) in docs {
            if seen.contains(&n) {
                continue;
            }
            text.push_str(&format!("  {n:<14} {first}\n"));
            seen.push(n);
        }
        text.push_str(
            "\nAny Rhai works: variables and functions persist, `import` works as in playbooks.\n\
             An unclosed block, bracket or back-tick string continues on `...>` lines (two\n\
             empty lines end it). Tab completes names (backends and servers inside strings);\n\
             Ctrl-C stops a running line or drops an unfinished one; Ctrl-D leaves. Lines\n\
             starting with a space stay out of the history.",
        );
        out(&text);
    }

    fn targets(&self) {
        let infos = self.runner.probe_targets();
        if infos.is_empty() {
            out("no HAProxy target: pass -s ADDR (or a config with a `stats socket` line)");
            return;
        }
        let t = Table {
            title: None,
            columns: vec!["target".into(), "version".into(), "error".into()],
            rows: infos
                .iter()
                .map(|i| {
                    vec![
                        shown(i).into(),
                        i.version.clone().map(Into::into).unwrap_or_default(),
                        i.error.clone().map(Into::into).unwrap_or_default(),
                    ]
                })
                .collect(),
        };
        out(&render::table(&t, None));
    }

    fn show_scope(&self) {
        let mut lines = Vec::new();
        for (name, constant, value) in self.scope.iter_raw() {
            let mut v = if let Some(a) = value.read_lock::<rhai::Array>() {
                format!("[{} items]", a.len())
            } else if let Some(m) = value.read_lock::<rhai::Map>() {
                format!("#{{{} keys}}", m.len())
            } else {
                value.to_string()
            };
            if v.chars().count() > 60 {
                v = v.chars().take(59).collect::<String>() + "…";
            }
            let kw = if constant { "const" } else { "let" };
            lines.push(format!("{kw} {name}: {} = {v}", value.type_name()));
        }
        for f in self.ast.iter_functions().filter(|f| !is_closure(f.name)) {
            lines.push(format!("fn {}({})", f.name, f.params.join(", ")));
        }
        if lines.is_empty() {
            out("(nothing defined yet)");
        } else {
            out(&lines.join("\n"));
        }
    }

    fn run_playbook(&mut self, args: &str) {
        let (name, extra) = match parse_run_args(args) {
            Ok(x) => x,
            Err(e) => return crate::output::error(&e),
        };
        let src = match playbooks::resolve(&name) {
            Ok(s) => s,
            Err(e) => return crate::output::error(&e.to_string()),
        };
        let doc = playbooks::parse_header(&src.name, "", &src.text);
        // Only what this line typed is checked for typos; the session's -p
        // go to every run.
        if let Err(e) = playbooks::check_known(&doc, &src.text, extra.keys()) {
            return crate::output::error(&e.to_string());
        }
        let mut params = self.ctx.settings.params.clone();
        params.extend(extra);
        if let Err(e) = playbooks::check_params(&doc, &params) {
            return crate::output::error(&e.to_string());
        }
        let mut engine = self.runner.engine(src.dir.clone());
        // `param()` reads this run's parameters, not the session's -p, and
        // only those the playbook declares.
        let contract = doc.contract();
        let refuse = {
            let contract = contract.clone();
            move |name: &str| match contract.refuse_read(name) {
                Some(m) => Err(errors::to_rhai(crate::base::error::Error::Playbook(m))),
                None => Ok(()),
            }
        };
        let refuse1 = refuse.clone();
        let p = Arc::new(params);
        let p1 = p.clone();
        crate::script::reg(
            "param",
            &["name: String", "String"],
            "The value of a parameter.",
        )
        .register_into_engine(&mut engine, move |name: &str| {
            refuse1(name)?;
            p1.get(name).cloned().ok_or_else(|| {
                errors::invalid(
                    "parameter",
                    name,
                    format!("missing required parameter: .run PLAYBOOK {name}=VALUE"),
                )
            })
        });
        crate::script::reg(
            "param",
            &["name: String", "default: ?", "?"],
            "The value of a parameter, typed like `default`.",
        )
        .register_into_engine(&mut engine, move |name: &str, default: Dynamic| {
            refuse(name)?;
            match p.get(name) {
                Some(raw) => typed_param(name, raw, &default),
                None => Ok(default),
            }
        });
        self.ctx.cancel.reset();
        self.ctx.begin_run(&src.name);
        let outcome = engine
            .compile(&src.text)
            .map_err(|e| Box::new(EvalAltResult::ErrorParsing(*e.0, e.1)))
            .and_then(|mut ast| {
                ast.set_source(src.name.as_str());
                params::check_reads(&contract, &ast)?;
                engine.eval_ast_with_scope::<Dynamic>(&mut Scope::new(), &ast)
            });
        let mut report = self.ctx.take_report();
        report.playbook = src.name.clone();
        if let Err(e) = &outcome {
            report.fail(errors::describe(e, &src.name, &src.text));
        }
        if self.json {
            out(&serde_json::to_string_pretty(&report).unwrap_or_default());
        } else {
            let mut o = anstream::stdout();
            let _ = write!(o, "{}", render::findings(&report));
            if report.findings.is_empty() && report.error.is_none() {
                let _ = writeln!(o, "{}: done, no findings", src.name);
            }
        }
        if let Some(e) = &report.error {
            if self.interrupted(e) {
                note("interrupted");
            } else if !self.json && !e.reported {
                crate::output::error(&e.render());
            }
        }
        self.ctx.cancel.reset();
    }

    /// What completion needs after a line ran: variables and functions.
    fn update_names(&self, names: &mut Names) {
        names.variables = self.scope.iter_raw().map(|(n, ..)| n.to_string()).collect();
        names.variables.sort();
        names.variables.dedup();
        names.map_keys.clear();
        names.element_keys.clear();
        for (name, _, value) in self.scope.iter_raw() {
            if let Some(m) = value.read_lock::<rhai::Map>() {
                names.map_keys.insert(name.to_string(), sorted_keys(&m));
            } else if let Some(a) = value.read_lock::<rhai::Array>() {
                let keys = match a.first() {
                    Some(e) if e.is::<crate::script::row::Row>() => helper::primitive_keys("stat"),
                    Some(e) => e
                        .read_lock::<rhai::Map>()
                        .map(|m| sorted_keys(&m))
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
                if !keys.is_empty() {
                    names.element_keys.insert(name.to_string(), keys);
                }
            }
        }
        names.script_fns.clear();
        for f in self.ast.iter_functions().filter(|f| !is_closure(f.name)) {
            names
                .script_fns
                .entry(f.name.to_string())
                .or_default()
                .push(format!("{}({})", f.name, f.params.join(", ")));
        }
    }
}

/// A map's keys that can follow a `.` (others need `m["a key"]`).
fn sorted_keys(m: &rhai::Map) -> Vec<String> {
    m.keys()
        .map(|k| k.to_string())
        .filter(|k| helper::is_ident(k))
        .collect()
}

fn playbook_names() -> Vec<String> {
    let mut v: Vec<String> = playbooks::list(&playbooks::search_path())
        .into_iter()
        .map(|d| d.name)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Print the banner; true when at least one target answered.
fn banner(runner: &Runner) -> bool {
    let mut text = format!(
        "harun {} — incident REPL (Rhai). .help for commands, Tab completes, Ctrl-D leaves.",
        env!("CARGO_PKG_VERSION")
    );
    let infos = runner.probe_targets();
    if infos.is_empty() {
        text.push_str("\nno HAProxy target: pass -s ADDR (stat(), servers() and send() need one)");
    }
    for i in &infos {
        let name = shown(i);
        match (&i.version, &i.error) {
            (_, Some(e)) => {
                // The error starts with the target already.
                let e = e.strip_prefix(&format!("{name}: ")).unwrap_or(e);
                text.push_str(&format!(
                    "\ntarget {name}: not answering: {e}; .refresh retries"
                ))
            }
            (Some(v), None) => text.push_str(&format!("\ntarget {name}: HAProxy {v}")),
            (None, None) => text.push_str(&format!("\ntarget {name}: HAProxy (version unknown)")),
        }
    }
    let s = runner.settings();
    let mut modes = Vec::new();
    if s.read_only {
        modes.push("read-only");
    }
    if s.dry_run {
        modes.push("dry-run: writes are only shown");
    }
    if !modes.is_empty() {
        text.push_str(&format!("\nmode: {}", modes.join(", ")));
    }
    note(&text);
    infos.iter().any(|i| i.error.is_none())
}

pub fn run(runner: &Runner, json: bool) -> i32 {
    let ctx = runner.context().clone();
    ctx.track_catalog
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let engine = runner.engine(Some(cwd));
    let answered = banner(runner);
    let mut session = Session {
        runner,
        ctx: ctx.clone(),
        engine,
        scope: Scope::new(),
        ast: AST::empty(),
        defs: HashMap::new(),
        entry: 0,
        json,
        docs: None,
    };
    // Unanswered targets were named in the banner; no second note for them.
    if answered {
        if let Err(e) = session.refresh() {
            note(&format!(
                "note: no backend/server names for completion yet ({e}); .refresh retries"
            ));
        }
    }

    let config = Config::builder()
        .history_ignore_space(true)
        .history_ignore_dups(true)
        .unwrap_or_else(|_| Config::builder())
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(10_000)
        .unwrap_or_else(|_| Config::builder())
        .build();
    let mut rl: Editor<ReplHelper, FileHistory> = match Editor::with_config(config) {
        Ok(rl) => rl,
        Err(e) => {
            crate::output::error(&format!("cannot start the line editor: {e}"));
            return crate::base::error::ExitCode::Usage as i32;
        }
    };
    rl.set_auto_add_history(false);
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut names = Names::from_engine(&session.engine);
    names.playbooks = playbook_names();
    rl.set_helper(Some(ReplHelper::new(names, ctx.clone(), color)));

    // Piped input (`harun repl < script`) stays out of the history.
    let history = history_path().filter(|_| std::io::IsTerminal::is_terminal(&std::io::stdin()));
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if h.exists() {
            if let Err(e) = rl.load_history(h) {
                note(&format!("note: cannot read history {}: {e}", h.display()));
            }
        }
    }
    let mut history_warned = false;

    let mut entry = Entry::new();
    loop {
        let line = match rl.readline(entry.prompt()) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                entry.clear();
                note("(Ctrl-C: input cleared; Ctrl-D or .quit leaves)");
                continue;
            }
            Err(ReadlineError::Eof) => {
                // Input ended inside an entry: run it, so its error says
                // what is missing instead of the lines vanishing.
                if let Some(input) = entry.take() {
                    session.eval(&input);
                }
                break;
            }
            Err(e) => {
                crate::output::error(&format!("line editor: {e}"));
                return crate::base::error::ExitCode::Usage as i32;
            }
        };
        let Some(input) = entry.push(&line) else {
            continue;
        };
        // The whole entry is one history item (recalled as typed), appended
        // now, not at exit: a crash loses nothing.
        if rl.add_history_entry(input.as_str()).unwrap_or(false) {
            if let Some(h) = &history {
                if let Err(e) = rl.append_history(h) {
                    if !history_warned {
                        note(&format!("note: cannot write history {}: {e}", h.display()));
                        history_warned = true;
                    }
                }
            }
        }
        let flow = if input.trim_start().starts_with('.') {
            session.dot(&input)
        } else {
            session.eval(&input);
            Flow::Continue
        };
        if let Some(h) = rl.helper_mut() {
            session.update_names(&mut h.names);
        }
        if let Flow::Quit = flow {
            break;
        }
    }
    crate::base::error::ExitCode::Success as i32
}

/// A target as errors name it: `lb1 (/run/haproxy/admin.sock)` for an
/// inventory host, the address otherwise.
fn shown(i: &crate::base::report::TargetInfo) -> String {
    match &i.host {
        Some(h) => format!("{h} ({})", i.address),
        None => i.address.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_imports_to_keep() {
        assert_eq!(
            find_imports("import \"lib\" as lib; lib::f()"),
            [("lib".to_string(), "lib".to_string())]
        );
        assert_eq!(
            find_imports("let x = 1;\nimport \"team/checks\"   as  checks"),
            [("team/checks".to_string(), "checks".to_string())]
        );
        assert!(find_imports("import \"lib\"").is_empty());
        assert!(find_imports("let important = 1").is_empty());
        assert!(find_imports("import \"lib\" assert").is_empty());
    }

    #[test]
    fn run_arguments_are_a_playbook_and_key_values() {
        let (n, p) = parse_run_args("inspect_queues backend=bk_app near=0.5").unwrap();
        assert_eq!(n, "inspect_queues");
        assert_eq!(p["backend"], "bk_app");
        assert_eq!(p["near"], "0.5");
        assert!(parse_run_args("").is_err());
        assert!(parse_run_args("x bad").is_err());
        assert!(parse_run_args("x =v").is_err());
    }

    fn session_parts() -> (Runner, Engine) {
        let r = Runner::builder().build().unwrap();
        let e = r.engine(None);
        (r, e)
    }

    #[test]
    fn state_persists_between_lines_and_errors_quote_the_defining_line() {
        let (runner, engine) = session_parts();
        let mut s = Session {
            ctx: runner.context().clone(),
            runner: &runner,
            engine,
            scope: Scope::new(),
            ast: AST::empty(),
            defs: HashMap::new(),
            entry: 0,
            json: false,
            docs: None,
        };
        let _ = s.run_line("let x = 40;").unwrap();
        let _ = s.run_line("fn add2(v) {\n  v + 2\n}").unwrap();
        let _ = s.run_line("let y = add2(x);").unwrap();
        assert_eq!(s.scope.get_value::<i64>("y"), Some(42));
        // Strict variables see the session's scope; unknown ones are errors.
        let e = s.run_line("x + nope").unwrap_err().unwrap();
        assert_eq!((e.line, e.column), (Some(1), Some(5)), "{e:?}");
        assert!(e.render().contains("x + nope"), "{}", e.render());
        // An error inside a function from an earlier line quotes that line.
        let _ = s
            .run_line("fn boom(v) {\n  let a = 1;\n  v.no_such_method()\n}")
            .unwrap();
        let e = s.run_line("let z = 1;\nboom(3)").unwrap_err().unwrap();
        assert_eq!(e.file.as_deref(), Some("fn boom"), "{e:?}");
        assert_eq!(
            e.source_line.as_deref(),
            Some("  v.no_such_method()"),
            "{e:?}"
        );
        // The session goes on.
        assert_eq!(s.run_line("y + 1").unwrap().as_int().unwrap(), 43);
        let mut fns: Vec<String> = s
            .ast
            .iter_functions()
            .map(|f| format!("{}/{}", f.name, f.params.len()))
            .collect();
        fns.sort();
        assert_eq!(fns, ["add2/1", "boom/1"]);
        let mut names = Names::default();
        s.update_names(&mut names);
        assert_eq!(names.variables, ["x", "y", "z"]);
        assert_eq!(names.script_fns["add2"], ["add2(v)"]);
    }

    #[test]
    fn watch_stops_quietly_on_cancel() {
        let (runner, engine) = session_parts();
        let token = runner.cancel_token();
        let t = token.clone();
        let h = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            t.cancel();
        });
        let r = engine.eval::<Dynamic>("watch(|| 1, 0.1); 7");
        h.join().unwrap();
        assert_eq!(r.unwrap().as_int().unwrap(), 7);
        assert!(!token.is_cancelled());
    }
}
