//! The line editor's helper: whether input is complete for the Rhai
//! parser, completion (functions, keywords, variables, row keys after a dot,
//! dot-commands, and backend and server names of the live HAProxy from the
//! cached catalog), and signature hints. The logic is in pure functions; completion never does I/O.

use crate::script::{Catalog, Ctx};
use rhai::{Engine, LexError, ParseErrorType};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hint, Hinter};
use rustyline::validate::Validator;
use rustyline::Helper;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub const KEYWORDS: &[&str] = &[
    "let", "const", "if", "else", "switch", "do", "while", "until", "loop", "for", "in", "break",
    "continue", "return", "throw", "try", "catch", "fn", "private", "import", "export", "as",
    "true", "false", "this", "Fn", "call", "curry", "type_of", "print", "debug",
];

/// Dot-commands and what they do (for `.help` and completion).
pub const DOT_COMMANDS: &[(&str, &str)] = &[
    (".help", "this help; `.help NAME` documents one function"),
    (".targets", "the HAProxy targets and their versions"),
    (".refresh", "reload backend/server names for completion"),
    (
        ".run",
        "`.run PLAYBOOK [k=v ...]` runs a playbook in this session",
    ),
    (".scope", "variables and functions defined so far"),
    (".json", "toggle JSON output of results"),
    (".quit", "leave (Ctrl-D works too)"),
];

/// Everything completion and hints need, besides the catalog.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Function name => signatures (registered and Rhai's own).
    pub functions: BTreeMap<String, Vec<String>>,
    /// harun's own primitives (the others in `functions` are Rhai's): they
    /// rank before Rhai's in completion.
    pub primitives: BTreeSet<String>,
    /// Functions defined in this session.
    pub script_fns: BTreeMap<String, Vec<String>>,
    /// Variables in the session scope.
    pub variables: Vec<String>,
    /// Keys of the session variables that hold a map (`v.` completes them).
    pub map_keys: BTreeMap<String, Vec<String>>,
    /// Keys of the elements of session variables that hold an array of
    /// maps or rows (`for r in v { r.` and `v.filter(|r| r.` complete them).
    pub element_keys: BTreeMap<String, Vec<String>>,
    /// Shipped and local playbooks (for `.run`).
    pub playbooks: Vec<String>,
}

impl Names {
    /// Function signatures from the engine's own metadata.
    pub fn from_engine(engine: &Engine) -> Names {
        let mut functions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let json = engine.gen_fn_metadata_to_json(true).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        for f in v
            .get("functions")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(sig)) = (
                f.get("name").and_then(|n| n.as_str()),
                f.get("signature").and_then(|s| s.as_str()),
            ) else {
                continue;
            };
            if !is_ident(name) {
                continue; // operators, property getters/setters
            }
            let sig = clean_signature(sig);
            let sigs = functions.entry(name.to_string()).or_default();
            if !sigs.contains(&sig) {
                sigs.push(sig);
            }
        }
        // Without Rhai's packages: what harun registered.
        let own = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&own).unwrap_or_default();
        let primitives = v
            .get("functions")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("name").and_then(|n| n.as_str()))
            .filter(|n| is_ident(n) && functions.contains_key(*n))
            .map(str::to_string)
            .collect();
        Names {
            functions,
            primitives,
            ..Names::default()
        }
    }

    fn signatures(&self, name: &str) -> Option<&Vec<String>> {
        self.script_fns
            .get(name)
            .or_else(|| self.functions.get(name))
    }
}

/// Rhai's signatures of native functions in script terms:
/// `filter(array: &mut Array, f: FnPtr) -> Result<Array, Box<EvalAltResult>>`
/// reads `filter(array: Array, f: FnPtr) -> Array`.
pub fn clean_signature(sig: &str) -> String {
    let mut s = sig
        .replace("&mut ", "")
        .replace("ImmutableString", "String");
    if let Some(i) = s.find("-> Result<") {
        if let Some(inner) = s[i + 10..].strip_suffix(", Box<EvalAltResult>>") {
            s = format!("{}-> {inner}", &s[..i]);
        }
    }
    s
}

pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Where the cursor is, lexically.
#[derive(Debug, PartialEq)]
enum Lexical {
    Code,
    /// Inside a string literal whose text starts at this byte offset,
    /// opened with this quote.
    String(usize, char),
    Comment,
}

/// Scan `text` (the input up to the cursor) and tell whether it ends in
/// code, a string or a comment. Also returns the byte offsets of the
/// parentheses still open (outside strings and comments).
fn scan(text: &str) -> (Lexical, Vec<usize>) {
    let (state, parens, _) = scan_full(text);
    (state, parens)
}

/// [`scan`], and whether a "string" ran into a line break (which Rhai
/// rejects: only back-tick strings span lines).
fn scan_full(text: &str) -> (Lexical, Vec<usize>, bool) {
    let mut broken = false;
    let mut state = Lexical::Code;
    let mut parens = Vec::new();
    let mut quote = '"';
    let mut block_comment = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match state {
            Lexical::Code => match c {
                '"' | '`' | '\'' => {
                    quote = c;
                    state = Lexical::String(i + 1, c);
                }
                '/' if chars.peek().map(|p| p.1) == Some('/') => state = Lexical::Comment,
                '/' if chars.peek().map(|p| p.1) == Some('*') => {
                    chars.next();
                    block_comment = true;
                    state = Lexical::Comment;
                }
                '(' => parens.push(i),
                ')' => {
                    parens.pop();
                }
                _ => {}
            },
            Lexical::String(..) => match c {
                '\\' if quote != '`' => {
                    chars.next();
                }
                c if c == quote => state = Lexical::Code,
                '\n' if quote != '`' => {
                    broken = true;
                    state = Lexical::Code;
                }
                _ => {}
            },
            Lexical::Comment => {
                if block_comment {
                    if c == '*' && chars.peek().map(|p| p.1) == Some('/') {
                        chars.next();
                        block_comment = false;
                        state = Lexical::Code;
                    }
                } else if c == '\n' {
                    state = Lexical::Code;
                }
            }
        }
    }
    (state, parens, broken)
}

/// Completion candidates for the input `line` with the cursor at `pos`:
/// the byte offset where the replaced word starts and (display, replacement)
/// pairs. Pure: reads only `names` and `catalog`.
pub fn complete(
    line: &str,
    pos: usize,
    names: &Names,
    catalog: &Catalog,
) -> (usize, Vec<(String, String)>) {
    let pos = pos.min(line.len());
    let before = &line[..pos];
    let trimmed = before.trim_start();
    // Dot-commands: `.he` -> `.help`, `.help sta` -> `stat`, `.run ins` -> playbook.
    if trimmed.starts_with('.') && !line.contains('\n') {
        let start = before.len() - trimmed.len();
        return match trimmed.split_once(char::is_whitespace) {
            None => (
                start,
                DOT_COMMANDS
                    .iter()
                    .filter(|(c, _)| c.starts_with(trimmed))
                    .map(|(c, _)| (c.to_string(), c.to_string()))
                    .collect(),
            ),
            Some((cmd, rest)) => {
                let word_start = pos - rest.len() + (rest.len() - rest.trim_start().len());
                let word = &line[word_start..pos];
                if word.contains(char::is_whitespace) {
                    return (pos, Vec::new());
                }
                let pool: Vec<&String> = match cmd {
                    ".help" => names.functions.keys().collect(),
                    ".run" => names.playbooks.iter().collect(),
                    _ => Vec::new(),
                };
                (
                    word_start,
                    pool.into_iter()
                        .filter(|n| n.starts_with(word))
                        .map(|n| (n.clone(), n.clone()))
                        .collect(),
                )
            }
        };
    }
    match scan(before).0 {
        Lexical::Comment => (pos, Vec::new()),
        Lexical::String(start, _) => {
            let prefix = &line[start..pos];
            let mut out: Vec<(String, String)> = Vec::new();
            if let Some((backend, server)) = prefix.split_once('/') {
                if let Some(servers) = catalog.servers.get(backend) {
                    for s in servers.iter().filter(|s| s.starts_with(server)) {
                        let full = format!("{backend}/{s}");
                        out.push((full.clone(), full));
                    }
                }
            } else {
                let mut proxies: Vec<&String> = catalog
                    .backends
                    .iter()
                    .chain(catalog.frontends.iter())
                    .filter(|p| p.starts_with(prefix))
                    .collect();
                proxies.sort();
                proxies.dedup();
                for p in &proxies {
                    out.push((p.to_string(), p.to_string()));
                }
                // A backend typed in full also offers its servers.
                if let Some(servers) = catalog.servers.get(prefix) {
                    for s in servers {
                        let full = format!("{prefix}/{s}");
                        out.push((full.clone(), full));
                    }
                }
            }
            (start, out)
        }
        Lexical::Code => {
            let start = before
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_ident_char(*c))
                .last()
                .map(|(i, _)| i)
                .unwrap_or(pos);
            let word = &line[start..pos];
            if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
                return (pos, Vec::new());
            }
            let prev = before[..start].chars().next_back();
            if prev == Some(':') {
                return (pos, Vec::new()); // module paths: not ours to guess
            }
            let method = prev == Some('.');
            // Best first: what this session and harun define, then Rhai's
            // own; rustyline lists candidates in this order.
            let mut tiers: [Vec<(String, String)>; 5] = Default::default();
            let fits = |n: &&String| n.starts_with(word);
            if method {
                let keys = receiver_keys(&before[..start - 1], names).unwrap_or_default();
                for k in keys.iter().filter(fits) {
                    tiers[0].push((k.clone(), k.clone()));
                }
            } else {
                for v in names.variables.iter().filter(fits) {
                    tiers[0].push((v.clone(), v.clone()));
                }
            }
            for f in names.script_fns.keys().filter(fits) {
                tiers[1].push((f.clone(), format!("{f}(")));
            }
            for f in names.functions.keys().filter(fits) {
                let tier = if names.primitives.contains(f) { 2 } else { 4 };
                tiers[tier].push((f.clone(), format!("{f}(")));
            }
            if !method {
                for k in KEYWORDS.iter().filter(|k| k.starts_with(word)) {
                    tiers[3].push((k.to_string(), k.to_string()));
                }
            }
            let mut out: Vec<(String, String)> = Vec::new();
            for mut tier in tiers {
                tier.sort();
                for c in tier {
                    if !out.iter().any(|(d, _)| *d == c.0) {
                        out.push(c);
                    }
                }
            }
            (start, out)
        }
    }
}

/// Methods that return the elements of their receiver: a closure on their
/// result sees the same rows.
const SAME_ELEMENTS: &[&str] = &[
    "filter",
    "retain",
    "extract",
    "drain",
    "take",
    "order_by",
    "order_desc",
];

/// The keys a primitive's rows (or map) carry: harun's vocabulary, plus
/// HAProxy's own columns for `stat()` and `servers()`.
pub fn primitive_keys(primitive: &str) -> Vec<String> {
    use crate::script::vocabulary;
    let Some(shape) = vocabulary::shape_of(primitive) else {
        return Vec::new();
    };
    let columns: &[&str] = match primitive {
        "stat" => vocabulary::STAT_COLUMNS,
        "servers" => vocabulary::SERVERS_STATE_COLUMNS,
        _ => &[],
    };
    let mut keys: Vec<String> = shape
        .keys
        .iter()
        .map(|k| k.name)
        .chain(columns.iter().copied())
        .filter(|k| is_ident(k))
        .map(str::to_string)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The identifier `text` ends with, if any.
fn trailing_ident(text: &str) -> Option<&str> {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map(|(i, _)| i)?;
    let id = &text[start..];
    is_ident(id).then_some(id)
}

/// Where the call whose `)` ends `text` opens (strings skipped roughly: a
/// wrong guess only costs a completion).
fn matching_open(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices().rev() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`') => quote = Some(c),
            (None, ')') => depth += 1,
            (None, '(') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The element keys of the array expression `text` ends with: a primitive
/// call (`stat("bk")`), a session variable, or either followed by methods
/// that keep the elements (`.filter(...)`).
fn element_keys_of(text: &str, names: &Names, hops: usize) -> Option<Vec<String>> {
    let text = text.trim_end();
    if hops > 8 {
        return None;
    }
    if text.ends_with(')') {
        let open = matching_open(text)?;
        let callee = trailing_ident(&text[..open])?;
        let before = text[..open - callee.len()].trim_end();
        if let Some(receiver) = before.strip_suffix('.') {
            return SAME_ELEMENTS
                .contains(&callee)
                .then(|| element_keys_of(receiver, names, hops + 1))
                .flatten();
        }
        let keys = primitive_keys(callee);
        return (!keys.is_empty()).then_some(keys);
    }
    let var = trailing_ident(text)?;
    names.element_keys.get(var).cloned()
}

/// Keys to offer after `receiver.`, where `before` is the input up to the
/// dot: a map variable's keys, or the row keys of a closure parameter or
/// loop variable that iterates over a primitive's rows. Pure and cheap:
/// text only, no evaluation.
pub fn receiver_keys(before: &str, names: &Names) -> Option<Vec<String>> {
    let recv = trailing_ident(before)?;
    if let Some(keys) = names.map_keys.get(recv) {
        return Some(keys.clone());
    }
    // `xs.filter(|r| r.`: the closure's source is what precedes `.filter(`.
    let closure = format!("|{recv}|");
    let looped = format!("for {recv} in ");
    let at_closure = before.rfind(&closure);
    let at_loop = before.rfind(&looped);
    // The later of the two binds the name here (None sorts first).
    if at_closure > at_loop {
        let head = before[..at_closure?].trim_end().strip_suffix('(')?;
        let method = trailing_ident(head)?;
        let source = head[..head.len() - method.len()].strip_suffix('.')?;
        element_keys_of(source, names, 0)
    } else {
        // `for r in stat() {`: the source runs up to the block.
        let rest = &before[at_loop? + looped.len()..];
        let source = rest.split('{').next()?;
        element_keys_of(source, names, 0)
    }
}

/// The signature(s) of the function whose arguments the cursor is in,
/// shown after the input.
pub fn hint(line: &str, pos: usize, names: &Names) -> Option<String> {
    if pos != line.len() || line.trim_start().starts_with('.') {
        return None;
    }
    let (state, parens) = scan(line);
    if state != Lexical::Code {
        // Inside a string argument the call is still the innermost open paren.
        if !matches!(state, Lexical::String(..)) {
            return None;
        }
    }
    let open = *parens.last()?;
    let name_start = line[..open]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map(|(i, _)| i)?;
    let name = &line[name_start..open];
    let sigs = names.signatures(name)?;
    // Short enough not to wrap a usual terminal line.
    let mut text = sigs.join("  |  ");
    if text.chars().count() > 70 {
        text = text.chars().take(69).collect::<String>() + "…";
    }
    Some(format!("   {text}"))
}

/// Whether the parser wants more input: an unclosed block, array, call or
/// string, or a trailing operator. Anything else (valid or wrong) is
/// submitted, so errors show up instead of an endless prompt. Two empty
/// lines in a row submit whatever is there.
pub fn is_incomplete(parser: &Engine, input: &str) -> bool {
    if input.trim().is_empty() || input.trim_start().starts_with('.') || input.ends_with("\n\n") {
        return false;
    }
    // A "string" cannot span lines (unless the line ends with `\`): more
    // input would not help, show the error instead.
    let (end, _, broken) = scan_full(input);
    if broken {
        return false;
    }
    if let Lexical::String(_, '"' | '\'') = end {
        if !input.ends_with('\\') {
            return false;
        }
    }
    let Err(e) = parser.compile(input) else {
        return false;
    };
    match e.err_type() {
        ParseErrorType::UnexpectedEOF | ParseErrorType::BadInput(LexError::UnterminatedString) => {
            true
        }
        ParseErrorType::MissingToken(..)
        | ParseErrorType::MissingSymbol(..)
        | ParseErrorType::ExprExpected(..)
        | ParseErrorType::BadInput(LexError::UnexpectedInput(_)) => at_end(input, e.position()),
        _ => false,
    }
}

/// Whether a parse error position is at (or past) the end of the input:
/// the parser ran out of text rather than met something wrong.
fn at_end(input: &str, pos: rhai::Position) -> bool {
    let Some(line) = pos.line() else {
        return true; // EOF carries no position
    };
    let lines: Vec<&str> = input.split('\n').collect();
    let last = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map(|i| i + 1)
        .unwrap_or(1);
    if line > last {
        return true;
    }
    if line < last {
        return false;
    }
    let text = lines[line - 1].trim_end();
    pos.position().is_none_or(|col| col > text.chars().count())
}

/// The rustyline helper.
#[derive(Helper)]
pub struct ReplHelper {
    pub names: Names,
    ctx: Arc<Ctx>,
    color: bool,
}

impl ReplHelper {
    pub fn new(names: Names, ctx: Arc<Ctx>, color: bool) -> ReplHelper {
        ReplHelper { names, ctx, color }
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let catalog = self
            .ctx
            .catalog
            .read()
            .map(|c| c.clone())
            .unwrap_or_default();
        let (start, found) = complete(line, pos, &self.names, &catalog);
        Ok((
            start,
            found
                .into_iter()
                .map(|(display, replacement)| Pair {
                    display,
                    replacement,
                })
                .collect(),
        ))
    }
}

pub struct SignatureHint(String);

impl Hint for SignatureHint {
    fn display(&self) -> &str {
        &self.0
    }

    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Hinter for ReplHelper {
    type Hint = SignatureHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &rustyline::Context<'_>) -> Option<SignatureHint> {
        hint(line, pos, &self.names).map(SignatureHint)
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

// Always valid: the REPL loop gathers multi-line entries itself (see
// `entry`), so that continuation lines get a prompt.
impl Validator for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> Engine {
        let mut e = Engine::new_raw();
        e.set_max_expr_depths(0, 0);
        e
    }

    #[test]
    fn unfinished_input_continues_on_the_next_line() {
        let p = parser();
        for input in [
            "fn f(x) {",
            "fn f(x) {\n  let y = x + 1;",
            "let a = [1, 2,",
            "let m = #{a: 1,",
            "stat(",
            "let s = \"abc\\",
            "let s = \"abc\\\ndef\\",
            "let s = `multi\nline",
            "let x = 1 +",
            "if x > 1 {",
            "while true {\n",
            "let x = 1 +\n",
        ] {
            assert!(is_incomplete(&p, input), "should continue: {input:?}");
        }
    }

    #[test]
    fn complete_or_wrong_input_is_submitted() {
        let p = parser();
        for input in [
            "1 + 2",
            "let x = 1;",
            "fn f(x) { x + 1 }",
            "stat()",
            "let = 3;",
            "foo(1 2)",
            "let x = (1 + ;",
            "}",
            ".help",
            "",
            "fn f(x) {\n\n\n",
            "let a = [1 2,",
            "let s = \"abc",
            "let s = \"abc\ndef\";",
        ] {
            assert!(!is_incomplete(&p, input), "should submit: {input:?}");
        }
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        for b in ["bk_app", "bk_api", "bk_slow"] {
            c.backends.insert(b.into());
        }
        c.frontends.insert("fe_main".into());
        c.servers
            .entry("bk_app".into())
            .or_default()
            .extend(["app1".to_string(), "app2".to_string()]);
        c
    }

    fn names() -> Names {
        let mut n = Names::default();
        n.functions.insert(
            "stat".into(),
            vec![
                "stat() -> Array".into(),
                "stat(proxy: String) -> Array".into(),
            ],
        );
        n.functions
            .insert("servers".into(), vec!["servers() -> Array".into()]);
        n.functions.insert(
            "filter".into(),
            vec!["filter(array: Array, f: FnPtr) -> Array".into()],
        );
        n.primitives.insert("stat".into());
        n.primitives.insert("servers".into());
        n.functions
            .insert("start".into(), vec!["start(range: Range) -> i64".into()]);
        n.functions.insert(
            "starts_with".into(),
            vec!["starts_with(string: String, match_string: String) -> bool".into()],
        );
        n.script_fns
            .insert("slowest".into(), vec!["slowest(n)".into()]);
        n.variables.push("server_rows".into());
        n.playbooks.push("inspect_queues".into());
        n
    }

    fn words(r: (usize, Vec<(String, String)>)) -> (usize, Vec<String>) {
        (r.0, r.1.into_iter().map(|(_, rep)| rep).collect())
    }

    #[test]
    fn completes_backend_and_server_names_inside_strings() {
        let (n, c) = (names(), catalog());
        let line = "stat(\"bk_ap";
        assert_eq!(
            words(complete(line, line.len(), &n, &c)),
            (6, vec!["bk_api".into(), "bk_app".into()])
        );
        let line = "servers(\"bk_app/a";
        assert_eq!(
            words(complete(line, line.len(), &n, &c)).1,
            ["bk_app/app1", "bk_app/app2"]
        );
        let line = "stat(\"bk_app";
        assert_eq!(
            words(complete(line, line.len(), &n, &c)).1,
            ["bk_app", "bk_app/app1", "bk_app/app2"]
        );
        let line = "stat(\"fe";
        assert_eq!(words(complete(line, line.len(), &n, &c)).1, ["fe_main"]);
        // Not in a string: no proxy names.
        let line = "bk_ap";
        assert!(complete(line, line.len(), &n, &c).1.is_empty());
        // A closed string is code again.
        let line = "stat(\"bk_app\") + s";
        let got = words(complete(line, line.len(), &n, &c)).1;
        assert!(got.contains(&"stat(".to_string()), "{got:?}");
    }

    #[test]
    fn completes_functions_variables_keywords_and_methods() {
        let (n, c) = (names(), catalog());
        let line = "let x = s";
        let (start, got) = words(complete(line, line.len(), &n, &c));
        assert_eq!(start, 8);
        // The session's names, then harun's primitives, keywords, and
        // Rhai's own functions last.
        assert_eq!(
            got,
            [
                "server_rows",
                "slowest(",
                "servers(",
                "stat(",
                "switch",
                "start(",
                "starts_with("
            ]
        );
        let line = "sta";
        assert_eq!(
            words(complete(line, line.len(), &n, &c)).1,
            ["stat(", "start(", "starts_with("]
        );
        let line = "stat().fil";
        assert_eq!(words(complete(line, line.len(), &n, &c)).1, ["filter("]);
        let line = "server_rows.s";
        let got = words(complete(line, line.len(), &n, &c)).1;
        assert!(!got.contains(&"server_rows".to_string()), "{got:?}");
        let line = "// stat";
        assert!(complete(line, line.len(), &n, &c).1.is_empty());
    }

    #[test]
    fn completes_row_keys_after_a_dot_where_the_rows_are_known() {
        let (mut n, c) = (names(), catalog());
        let keys = |line: &str, n: &Names| words(complete(line, line.len(), n, &c)).1;
        // A closure over a primitive's rows, through methods that keep them.
        let got = keys("stat().filter(|r| r.q", &n);
        assert_eq!(&got[..2], ["qcur", "qlimit"], "{got:?}");
        let got = keys(
            "stat(\"bk_app\").filter(|r| r.kind == \"server\").map(|r| r.sc",
            &n,
        );
        assert!(got.starts_with(&["scur".to_string()]), "{got:?}");
        let got = keys("servers().filter(|s| s.op", &n);
        assert_eq!(got, ["op_state"], "{got:?}");
        // A loop variable.
        let got = keys("for r in stat() {\n  print(r.kin", &n);
        assert_eq!(got, ["kind"], "{got:?}");
        // Session variables: a map's keys, an array of maps' element keys.
        n.map_keys
            .insert("cfg".into(), vec!["maxconn".into(), "mode".into()]);
        n.element_keys
            .insert("server_rows".into(), vec!["weight".into(), "where".into()]);
        assert_eq!(keys("cfg.m", &n), ["maxconn", "mode"]);
        assert_eq!(keys("server_rows.filter(|x| x.w", &n), ["weight", "where"]);
        assert_eq!(keys("for x in server_rows { x.we", &n), ["weight"]);
        // Keys come before methods of the same prefix; unknown receivers get
        // methods only.
        let got = keys("stat().filter(|r| r.s", &n);
        let first_method = got.iter().position(|w| w.ends_with('(')).unwrap();
        assert!(got[..first_method].contains(&"scur".to_string()), "{got:?}");
        assert_eq!(keys("mystery.fil", &n), ["filter("]);
        assert_eq!(keys("info().V", &n), Vec::<String>::new());
    }

    #[test]
    fn primitive_keys_come_from_the_vocabulary() {
        let stat = primitive_keys("stat");
        for k in ["kind", "backend", "pxname", "qcur", "check_status"] {
            assert!(stat.contains(&k.to_string()), "{k}: {stat:?}");
        }
        let servers = primitive_keys("servers");
        for k in ["name", "op_state", "maint_sources"] {
            assert!(servers.contains(&k.to_string()), "{k}: {servers:?}");
        }
        assert!(primitive_keys("no_such_primitive").is_empty());
    }

    #[test]
    fn completes_dot_commands_and_their_arguments() {
        let (n, c) = (names(), catalog());
        assert_eq!(
            words(complete(".r", 2, &n, &c)),
            (0, vec![".refresh".into(), ".run".into()])
        );
        assert_eq!(
            words(complete(".run ins", 8, &n, &c)),
            (5, vec!["inspect_queues".into()])
        );
        assert_eq!(words(complete(".help se", 8, &n, &c)).1, ["servers"]);
    }

    #[test]
    fn signatures_read_in_script_terms() {
        assert_eq!(
            clean_signature(
                "filter(array: &mut Array, f: FnPtr) -> Result<Array, Box<EvalAltResult>>"
            ),
            "filter(array: Array, f: FnPtr) -> Array"
        );
        assert_eq!(clean_signature("stat() -> Array"), "stat() -> Array");
    }

    #[test]
    fn hints_the_signature_of_the_call_being_typed() {
        let n = names();
        let h = hint("stat(", 5, &n).unwrap();
        assert!(h.contains("stat(proxy: String) -> Array"), "{h}");
        assert!(hint("let r = stat(\"bk_", 17, &n)
            .unwrap()
            .contains("stat("));
        assert!(hint("slowest(", 8, &n).unwrap().contains("slowest(n)"));
        assert_eq!(hint("stat()", 6, &n), None);
        assert_eq!(hint("nothing(", 8, &n), None);
        assert_eq!(hint("stat(", 3, &n), None);
    }
}
