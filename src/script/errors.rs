//! Crossing the Rust/Rhai boundary with errors, both ways.

use crate::base::error::{Error, ExitCode};
use crate::base::report::RunError;
use rhai::{Dynamic, EvalAltResult, Map, Position};

/// A library error as a Rhai error. Ctrl-C and the deadline terminate the
/// script (not catchable); everything else is a runtime error that a playbook
/// can catch and branch on with `e.kind`.
pub fn to_rhai(e: Error) -> Box<EvalAltResult> {
    to_rhai_at(e, Position::NONE)
}

/// [`to_rhai`] at a known position.
pub fn to_rhai_at(e: Error, pos: Position) -> Box<EvalAltResult> {
    let mut map = Map::new();
    map.insert("kind".into(), e.kind().into());
    map.insert("message".into(), e.to_string().into());
    map.insert("exit_code".into(), (e.exit_code() as i64).into());
    if let Some(t) = e.target() {
        map.insert("target".into(), t.to_string().into());
    }
    // A socket that could not be talked to: why, and what to check for
    // that cause (`process.unreachable` in troubleshoot shows it).
    if let Some((cause, advice)) = crate::diagnose::reach::advice_for(&e, &[]) {
        map.insert("cause".into(), cause.name().into());
        map.insert("advice".into(), advice.into());
    }
    let payload = Dynamic::from_map(map);
    if e.is_terminal() {
        Box::new(EvalAltResult::ErrorTerminated(payload, pos))
    } else {
        Box::new(EvalAltResult::ErrorRuntime(payload, pos))
    }
}

/// [`to_rhai`] for an error that ended a batch part way: `summary` ends the
/// message, and the payload carries what was done as `e.writes`.
pub fn to_rhai_batch(e: Error, summary: &str, writes: rhai::Array) -> Box<EvalAltResult> {
    let terminal = e.is_terminal();
    let mut map = Map::new();
    map.insert("kind".into(), e.kind().into());
    map.insert("message".into(), format!("{e}{summary}").into());
    map.insert("exit_code".into(), (e.exit_code() as i64).into());
    if let Some(t) = e.target() {
        map.insert("target".into(), t.to_string().into());
    }
    map.insert("writes".into(), writes.into());
    let payload = Dynamic::from_map(map);
    if terminal {
        Box::new(EvalAltResult::ErrorTerminated(payload, Position::NONE))
    } else {
        Box::new(EvalAltResult::ErrorRuntime(payload, Position::NONE))
    }
}

/// `exit(e)`: end the run with an error the playbook has already reported as
/// a finding (HAProxy unreachable in troubleshoot). The run keeps `e.kind`
/// and exits with its code, but no front end prints it again: the findings
/// said it. Terminating, so no `catch` around a helper swallows it. A map
/// that is not an error (no `kind` and `message`) keeps Rhai's own `exit`.
pub fn exit_reported(e: Map) -> Box<EvalAltResult> {
    let text = |k: &str| e.get(k).filter(|v| v.is_string()).map(|v| v.to_string());
    let (kind, message) = match (text("kind"), text("message")) {
        (Some(kind), Some(message)) => (kind, message),
        // Rhai's own error (a typo, a type error) caught and passed on: it was
        // not reported by the playbook and must not end the run as a success.
        (None, Some(_)) => {
            return Box::new(EvalAltResult::ErrorRuntime(
                Dynamic::from_map(e),
                Position::NONE,
            ))
        }
        _ => return Box::new(EvalAltResult::Exit(Dynamic::from_map(e), Position::NONE)),
    };
    // A code outside the documented error codes falls back to the kind's.
    let code = e
        .get("exit_code")
        .and_then(|c| c.as_int().ok())
        .filter(|c| (1..=4).contains(c))
        .unwrap_or(ExitCode::of_kind(&kind) as i64);
    let mut map = Map::new();
    map.insert("kind".into(), kind.into());
    map.insert("message".into(), message.into());
    map.insert("exit_code".into(), code.into());
    map.insert("reported".into(), true.into());
    Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from_map(map),
        Position::NONE,
    ))
}

/// The kind of a caught value (see the `error_kind` primitive).
pub fn kind_of(e: &Dynamic) -> String {
    match e.read_lock::<Map>() {
        Some(m) => match m.get("kind") {
            Some(k) if k.is_string() => k.to_string(),
            _ if m.contains_key("message") => "playbook".into(),
            _ => "thrown".into(),
        },
        None => "thrown".into(),
    }
}

/// The message of a caught value (see the `error_message` primitive).
pub fn message_of(e: &Dynamic) -> String {
    match e.read_lock::<Map>() {
        Some(m) => match m.get("message") {
            Some(msg) => msg.to_string(),
            None => format!("{:?}", *m),
        },
        None => e.to_string(),
    }
}

/// Rhai's map of one of its own errors (caught, then rethrown): its text
/// without the trailing position, and the position it carries.
fn rhai_error_map(d: &Dynamic) -> Option<(String, Position)> {
    let m = d.read_lock::<Map>()?;
    if m.contains_key("kind") || !m.contains_key("error") {
        return None;
    }
    let message = m.get("message")?.to_string();
    let message = match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_string(),
        _ => message,
    };
    let int = |k: &str| m.get(k).and_then(|v| v.as_int().ok());
    let pos = match (int("line"), int("position")) {
        (Some(l), Some(c)) if l > 0 => Position::new(l as u16, c.max(0) as u16),
        _ => Position::NONE,
    };
    Some((message, pos))
}

/// A rethrown key or function error as the error it was, so it gets the
/// same did-you-mean as when it is not caught.
fn rethrown_as_error(d: &Dynamic) -> Option<EvalAltResult> {
    let (_, pos) = rhai_error_map(d)?;
    let m = d.read_lock::<Map>()?;
    let field = |k: &str| m.get(k).map(|v| v.to_string());
    match field("error")?.as_str() {
        "ErrorPropertyNotFound" => Some(EvalAltResult::ErrorPropertyNotFound(
            field("variable")?,
            pos,
        )),
        "ErrorFunctionNotFound" => Some(EvalAltResult::ErrorFunctionNotFound(
            field("function")?,
            pos,
        )),
        _ => None,
    }
}

/// A Rhai int or float as `f64` (playbooks write `timeout: 5` and `near: 0.8`).
pub fn as_number(v: &rhai::Dynamic) -> Option<f64> {
    v.as_int().map(|i| i as f64).or_else(|_| v.as_float()).ok()
}

/// A plain message as a catchable runtime error of kind `invalid_input`.
pub fn invalid(
    what: &'static str,
    value: impl Into<String>,
    reason: impl Into<String>,
) -> Box<EvalAltResult> {
    to_rhai(Error::InvalidInput {
        what,
        value: value.into(),
        reason: reason.into(),
    })
}

fn payload_field(d: &Dynamic, key: &str) -> Option<Dynamic> {
    d.read_lock::<Map>().and_then(|m| m.get(key).cloned())
}

/// Where a missing `;` belongs, when Rhai reports it at the start of a later
/// line: Rhai points at the next token, so `let a = 1` followed by
/// `let b = 2;` was reported at `let b`, a line that is fine. With only blanks
/// before that token, the statement ends at the last line above that is not
/// blank nor a comment: the 1-based line and the column just after its end.
pub fn missing_semicolon_at(source: &str, line: usize, col: usize) -> Option<(usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let this = lines.get(line.checked_sub(1)?)?;
    let before: String = this.chars().take(col.saturating_sub(1)).collect();
    if !before.trim().is_empty() {
        return None;
    }
    (0..line - 1).rev().find_map(|i| {
        let text = lines[i].trim_end();
        let code = text.trim_start();
        if code.is_empty() || code.starts_with("//") {
            None
        } else {
            Some((i + 1, text.chars().count() + 1))
        }
    })
}

/// Rhai's argument types in a failed call, `(&str | ImmutableString |
/// String, i64)`, as `harun doc` writes them: `(String, int)`.
fn script_types(args: &str) -> String {
    args.replace("&str | ImmutableString | String", "String")
        .replace("i64", "int")
        .replace("f64", "float")
        .replace("array", "Array")
        .replace("map", "Map")
}

/// Turn whatever a run ended with into a [`RunError`] naming what and where.
/// `main_source` is the playbook's own text, to quote the failing line.
pub fn describe(err: &EvalAltResult, main_file: &str, main_source: &str) -> RunError {
    // Walk to the innermost error, remembering which file it happened in.
    let mut file = main_file.to_string();
    let mut cur = err;
    let mut outer_pos = err.position();
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(_, src, inner, pos) => {
                if !src.is_empty() {
                    file = src.clone();
                }
                if !pos.is_none() && file == main_file {
                    outer_pos = *pos;
                }
                cur = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, _) => {
                file = name.clone();
                cur = inner;
            }
            _ => break,
        }
    }
    // Rhai's own error, caught and rethrown: judge it as if never caught.
    let synthetic = match cur {
        EvalAltResult::ErrorRuntime(d, _) => rethrown_as_error(d),
        _ => None,
    };
    let cur = synthetic.as_ref().unwrap_or(cur);
    let mut pos = cur.position();
    let rethrown = match cur {
        EvalAltResult::ErrorRuntime(d, _) => rhai_error_map(d),
        _ => None,
    };
    if let Some((_, p)) = &rethrown {
        if !p.is_none() {
            pos = *p;
        }
    }
    if pos.is_none() {
        pos = outer_pos;
    }
    let mut reported = false;
    let (kind, message, exit) = match cur {
        EvalAltResult::ErrorRuntime(..) if rethrown.is_some() => {
            let (message, _) = rethrown.clone().unwrap_or_default();
            ("playbook".to_string(), message, ExitCode::Usage as i64)
        }
        EvalAltResult::ErrorRuntime(d, _) | EvalAltResult::ErrorTerminated(d, _) => {
            reported = payload_field(d, "reported").is_some_and(|r| r.as_bool() == Ok(true));
            let kind = payload_field(d, "kind").map(|k| k.to_string());
            let message = payload_field(d, "message").map(|m| m.to_string());
            let exit = payload_field(d, "exit_code").and_then(|c| c.as_int().ok());
            match (kind, message) {
                (Some(k), Some(m)) => (k, m, exit.unwrap_or(ExitCode::Usage as i64)),
                _ => {
                    let terminated = matches!(cur, EvalAltResult::ErrorTerminated(..));
                    let text = if d.is_string() {
                        d.to_string()
                    } else {
                        format!("{d:?}")
                    };
                    if terminated {
                        ("terminated".to_string(), text, ExitCode::Usage as i64)
                    } else {
                        (
                            "thrown".to_string(),
                            format!("playbook error: {text}"),
                            ExitCode::Usage as i64,
                        )
                    }
                }
            }
        }
        EvalAltResult::ErrorTooManyOperations(_) => (
            "limit".into(),
            "too many operations: the playbook looks stuck in a loop (operation limit reached)"
                .into(),
            ExitCode::Usage as i64,
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            "limit".into(),
            "call stack too deep: runaway recursion?".into(),
            ExitCode::Usage as i64,
        ),
        EvalAltResult::ErrorPropertyNotFound(key, _) => {
            // The playbook's own keys first (`#{count: 1}.cout`), then the
            // keys harun's values have.
            let own = if file == main_file {
                super::vocabulary::keys_in_source(main_source)
            } else {
                Vec::new()
            };
            let mut near: Vec<(&str, &str)> = crate::base::suggest::nearest(key, own)
                .into_iter()
                .map(|k| (k, "this playbook's maps"))
                .collect();
            near.extend(super::vocabulary::suggest_any(key));
            near.truncate(3);
            let hint = if near.is_empty() {
                String::new()
            } else {
                let each: Vec<String> = near
                    .iter()
                    .map(|(k, what)| format!("`{k}` (in {what})"))
                    .collect();
                format!("; did you mean {}?", each.join(" or "))
            };
            (
                "no_such_key".into(),
                format!(
                    "no key `{key}` in this map{hint} (read optional keys with `m.get(\"{key}\")` or test `\"{key}\" in m`)"
                ),
                ExitCode::Usage as i64,
            )
        }
        EvalAltResult::ErrorFunctionNotFound(sig, _) if is_identifier_call(sig) => {
            let name = sig.split(" (").next().unwrap_or(sig);
            let known = super::function_names();
            let text = if known.iter().any(|k| k == name) {
                let given = sig.strip_prefix(name).unwrap_or(sig).trim();
                let takes = super::signatures_of(name);
                // `rows.sort().reduce(...)`: Rhai's in-place methods return
                // nothing, and the next call meets `()`.
                let unit_first = if given.starts_with("((),") || given == "(())" {
                    "; its first argument (or the value before `.` in a method call) is `()`: a method that changes an array or map in place (`sort`, `push`, `retain`, `remove`...) returns nothing, so call it on a line of its own"
                } else {
                    ""
                };
                if takes.is_empty() {
                    format!("`{name}` does not take {}{unit_first}", script_types(given))
                } else {
                    format!(
                        "`{name}` does not take {}: it takes {} (see `harun doc {name}`){unit_first}",
                        script_types(given),
                        takes.join(", ")
                    )
                }
            } else {
                let near = crate::base::suggest::nearest(name, known.iter().map(String::as_str));
                format!(
                    "no function `{name}`{}",
                    crate::base::suggest::did_you_mean(&near)
                )
            };
            ("no_such_function".into(), text, ExitCode::Usage as i64)
        }
        other => {
            let text = other.to_string();
            // Rhai appends " (line N, position M)"; we print the location ourselves.
            let text = match text.rfind(" (line ") {
                Some(i) if text.ends_with(')') => text[..i].to_string(),
                _ => text,
            };
            let kind = match other {
                EvalAltResult::ErrorParsing(..) => "syntax",
                EvalAltResult::ErrorDataTooLarge(..)
                | EvalAltResult::ErrorTooManyModules(..)
                | EvalAltResult::ErrorTooManyVariables(..) => "limit",
                _ => "playbook",
            };
            (kind.into(), text, ExitCode::Usage as i64)
        }
    };
    let (mut line, mut column) = (pos.line(), pos.position());
    if let EvalAltResult::ErrorParsing(rhai::ParseErrorType::MissingToken(t, _), _) = cur {
        if t == ";" && file == main_file {
            if let Some((l, c)) =
                missing_semicolon_at(main_source, line.unwrap_or(0), column.unwrap_or(0))
            {
                (line, column) = (Some(l), Some(c));
            }
        }
    }
    let source_line = if file == main_file {
        line.and_then(|l| main_source.lines().nth(l.saturating_sub(1)))
            .map(str::to_string)
    } else {
        None
    };
    RunError {
        kind,
        message,
        file: Some(file),
        line,
        column,
        source_line,
        exit_code: exit as i32,
        reported,
    }
}

/// `foo (i64)` names a function; `+ ((), i64)` is an operator.
fn is_identifier_call(sig: &str) -> bool {
    let name = sig.split(" (").next().unwrap_or(sig);
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_types_read_as_harun_doc_writes_them() {
        assert_eq!(
            script_types("(&str | ImmutableString | String, i64)"),
            "(String, int)"
        );
        assert_eq!(
            script_types("(array, f64, map, bool)"),
            "(Array, float, Map, bool)"
        );
    }

    #[test]
    fn a_missing_semicolon_is_placed_after_the_statement_it_ends() {
        let src = "let max = param(\"max\", 5)\n\n// the backend\nlet x = 1;\n";
        // Rhai reports it at `let x` (line 4, column 1).
        assert_eq!(missing_semicolon_at(src, 4, 1), Some((1, 26)));
        // Indented: still the start of the line.
        let src = "if true {\n    let a = 1\n    let b = 2;\n}\n";
        assert_eq!(missing_semicolon_at(src, 3, 5), Some((2, 14)));
        // Reported in the middle of a line: Rhai's own position stands.
        assert_eq!(missing_semicolon_at("let a = 1 let b = 2;", 1, 11), None);
        // Nothing above: nothing to move to.
        assert_eq!(missing_semicolon_at("let a = 1;", 1, 1), None);
        assert_eq!(missing_semicolon_at("", 0, 0), None);
    }
}
