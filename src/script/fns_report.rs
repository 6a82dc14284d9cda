//! Primitives that build the report: `finding`, `table`, `param`, `json`.

use super::convert::to_json;
use super::ctx::Ctx;
use super::errors::invalid;
use super::reg;
use crate::base::report::{Finding, Severity, Table};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use std::sync::Arc;

type R<T> = Result<T, Box<EvalAltResult>>;

fn parse_severity(s: &str) -> R<Severity> {
    s.parse::<Severity>().map_err(|e| invalid("severity", s, e))
}

fn check_id(id: &str) -> R<()> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "finding id",
            id,
            "use lowercase dotted ids like `servers.down`",
        ))
    }
}

fn dyn_text(d: &Dynamic) -> String {
    if d.is_string() {
        d.clone().into_string().unwrap_or_default()
    } else {
        d.to_string()
    }
}

fn build_finding(sev: &str, id: &str, title: &str, opts: Option<Map>) -> R<Finding> {
    let severity = parse_severity(sev)?;
    check_id(id)?;
    let mut f = Finding::new(severity, id, title);
    if let Some(opts) = opts {
        for (k, v) in opts {
            match k.as_str() {
                "detail" => f.detail = Some(dyn_text(&v)),
                "advice" => f.advice = Some(dyn_text(&v)),
                "target" => f.target = Some(dyn_text(&v)),
                "evidence" => {
                    if let Some(arr) = v.clone().try_cast::<Array>() {
                        f.evidence.extend(arr.iter().map(dyn_text));
                    } else if !v.is_unit() {
                        f.evidence.push(dyn_text(&v));
                    }
                }
                other => {
                    return Err(invalid(
                        "finding option",
                        other,
                        "expected detail, advice, evidence or target",
                    ))
                }
            }
        }
    }
    Ok(f)
}

/// Columns in first-seen order across rows (map keys are sorted within a row).
fn columns_of(rows: &Array) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for r in rows {
        if let Some(row) = r.read_lock::<super::row::Row>() {
            for k in row.shown_keys() {
                if !cols.iter().any(|c| c == k) {
                    cols.push(k.to_string());
                }
            }
        } else if let Some(m) = r.read_lock::<Map>() {
            for k in m.keys() {
                if !cols.iter().any(|c| c == k.as_str()) {
                    cols.push(k.to_string());
                }
            }
        }
    }
    cols
}

pub fn make_table(title: Option<String>, rows: &Array, columns: Option<Vec<String>>) -> R<Table> {
    if let Some(cols) = &columns {
        check_columns(title.as_deref(), rows, cols)?;
    }
    let columns = columns.unwrap_or_else(|| columns_of(rows));
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(m) = r.read_lock::<Map>() {
            out.push(
                columns
                    .iter()
                    .map(|c| {
                        m.get(c.as_str())
                            .map(to_json)
                            .unwrap_or(serde_json::Value::Null)
                    })
                    .collect(),
            );
        } else if let Some(row) = r.read_lock::<super::row::Row>() {
            out.push(columns.iter().map(|c| to_json(&row.get(c))).collect());
        } else if let Some(a) = r.read_lock::<Array>() {
            out.push(a.iter().map(to_json).collect());
        } else {
            return Err(invalid(
                "table row",
                r.to_string(),
                "rows must be maps (or arrays)",
            ));
        }
    }
    Ok(Table {
        title,
        columns,
        rows: out,
    })
}

/// A column that no row has is a typo, not an empty column: say so with the
/// nearest keys, as a strict key read would. (Rows may differ: a column that
/// some rows have is fine.)
fn check_columns(title: Option<&str>, rows: &Array, cols: &[String]) -> R<()> {
    let has = |r: &Dynamic, c: &str| -> Option<bool> {
        if let Some(m) = r.read_lock::<Map>() {
            Some(m.contains_key(c))
        } else {
            r.read_lock::<super::row::Row>()
                .map(|row| row.lookup(c).is_some())
        }
    };
    for c in cols {
        let seen: Vec<bool> = rows.iter().filter_map(|r| has(r, c)).collect();
        if seen.is_empty() || seen.iter().any(|&h| h) {
            continue;
        }
        let keys: Vec<String> = rows
            .iter()
            .take(1)
            .flat_map(|r| {
                if let Some(m) = r.read_lock::<Map>() {
                    m.keys().map(|k| k.to_string()).collect::<Vec<_>>()
                } else if let Some(row) = r.read_lock::<super::row::Row>() {
                    row.row.header().names().to_vec()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let near = crate::base::suggest::nearest(c, keys.iter().map(String::as_str));
        let what = title
            .map(|t| format!("table `{t}`"))
            .unwrap_or_else(|| "table".into());
        return Err(invalid(
            "table column",
            c.clone(),
            format!(
                "no row of {what} has this key{}",
                crate::base::suggest::did_you_mean(&near)
            ),
        ));
    }
    Ok(())
}

fn column_names(cols: Array) -> R<Vec<String>> {
    cols.into_iter()
        .map(|c| {
            if c.is_string() {
                Ok(dyn_text(&c))
            } else {
                Err(invalid("column", c.to_string(), "column names are strings"))
            }
        })
        .collect()
}

/// A read the playbook's header does not declare: an error at its line
/// (a computed name, or a read in an imported module, that the check before
/// the run could not see).
pub(crate) fn refuse_read(c: &Ctx, name: &str) -> R<()> {
    match c.refuse_param_read(name) {
        Some(m) => Err(super::errors::to_rhai(crate::base::error::Error::Playbook(
            m,
        ))),
        None => Ok(()),
    }
}

/// Coerce a `-p` value to the type of the default.
fn typed_param(name: &str, raw: &str, default: &Dynamic) -> R<Dynamic> {
    let bad = |what: &str| {
        invalid(
            "parameter",
            format!("{name}={raw}"),
            format!("expected {what}"),
        )
    };
    if default.is_int() {
        raw.trim()
            .parse::<i64>()
            .map(Dynamic::from_int)
            .map_err(|_| bad("an integer"))
    } else if default.is_float() {
        raw.trim()
            .parse::<f64>()
            .map(Dynamic::from_float)
            .map_err(|_| bad("a number"))
    } else if default.is_bool() {
        match raw.trim() {
            "true" | "yes" | "1" | "on" => Ok(true.into()),
            "false" | "no" | "0" | "off" => Ok(false.into()),
            _ => Err(bad("true or false")),
        }
    } else {
        Ok(raw.to_string().into())
    }
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    reg("finding", &["severity: String", "id: String", "title: String", "()"],
        "Record a finding. `severity` is ok, info, warning, error or critical; `id` a\nstable dotted id (`servers.down`). Error and critical findings make the run exit 1.")
        .register_into_engine(engine, move |sev: &str, id: &str, title: &str| -> R<()> {
            c.add_finding(build_finding(sev, id, title, None)?);
            Ok(())
        });
    let c = ctx.clone();
    reg("finding", &["severity: String", "id: String", "title: String", "opts: Map", "()"],
        "Record a finding with `#{detail, advice, evidence, target}`: what it means,\nthe exact next step, and what was observed (a string or an array of strings).")
        .register_into_engine(engine, move |sev: &str, id: &str, title: &str, opts: Map| -> R<()> {
            c.add_finding(build_finding(sev, id, title, Some(opts))?);
            Ok(())
        });
    let c = ctx.clone();
    reg(
        "table",
        &["rows: Array", "()"],
        "Show rows (maps) as a table; columns in first-seen order.",
    )
    .register_into_engine(engine, move |rows: Array| -> R<()> {
        c.add_table(make_table(None, &rows, None)?);
        Ok(())
    });
    let c = ctx.clone();
    reg(
        "table",
        &["rows: Array", "columns: Array", "()"],
        "Show rows (maps) as a table with these columns, in this order.",
    )
    .register_into_engine(engine, move |rows: Array, cols: Array| -> R<()> {
        c.add_table(make_table(None, &rows, Some(column_names(cols)?))?);
        Ok(())
    });
    let c = ctx.clone();
    reg(
        "table",
        &["title: String", "rows: Array", "columns: Array", "()"],
        "Show a titled table with these columns.",
    )
    .register_into_engine(
        engine,
        move |title: &str, rows: Array, cols: Array| -> R<()> {
            c.add_table(make_table(
                Some(title.to_string()),
                &rows,
                Some(column_names(cols)?),
            )?);
            Ok(())
        },
    );
    let c = ctx.clone();
    reg(
        "param",
        &["name: String", "String"],
        "The value of `-p name=value`; an error naming the parameter when it is missing.\nA playbook with a `//!` header reads only the names its `@param` lines declare.",
    )
    .register_into_engine(engine, move |name: &str| -> R<String> {
        refuse_read(&c, name)?;
        c.settings.params.get(name).cloned().ok_or_else(|| {
            invalid(
                "parameter",
                name,
                format!("missing required parameter: pass -p {name}=VALUE"),
            )
        })
    });
    let c = ctx.clone();
    reg("param", &["name: String", "default: ?", "?"], "The value of `-p name=value`, converted to the type of `default`\n(int, float, bool or string); `default` when not given. A playbook with a\n`//!` header reads only the names its `@param` lines declare.")
        .register_into_engine(engine, move |name: &str, default: Dynamic| -> R<Dynamic> {
            refuse_read(&c, name)?;
            match c.settings.params.get(name) {
                Some(raw) => typed_param(name, raw, &default),
                None => Ok(default),
            }
        });
    reg("exit", &["error: Map", "()"], "End the run here with `error`, an error caught with `catch (e)` (a map with\n`kind` and `message`) that the playbook has already reported as a finding:\nharun prints no error line of its own and exits with the error's code (3 for\n`unreachable`, `timeout`, `connection_lost`, `not_haproxy`; 4 for `refused`,\n`permission_denied`; 2 otherwise; or `exit_code` from the map when it is 1 to\n4); the JSON report keeps it in `error`, with `reported: true`. Cannot be caught.\n`exit()` ends the run normally.")
        .register_into_engine(engine, |e: Map| -> R<()> { Err(super::errors::exit_reported(e)) });
    reg("error_kind", &["error: ?", "String"], "The kind of anything `catch (e)` caught, without ever failing: `e.kind` of\nharun's errors (`unreachable`, `timeout`, `no_such_backend`, ...), `playbook`\nfor Rhai's own errors (a key typo, a type error: they carry no `kind`, so\nreading `e.kind` on them would fail at the catch line and hide them), `thrown`\nfor a thrown string or value. Rethrow what you do not handle: `throw e`\nkeeps the original message and line.")
        .register_into_engine(engine, |e: Dynamic| -> String { super::errors::kind_of(&e) });
    reg("error_message", &["error: ?", "String"], "The message of anything `catch (e)` caught, without ever failing: `e.message`\nof an error map, the text of a thrown string or value.")
        .register_into_engine(engine, |e: Dynamic| -> String { super::errors::message_of(&e) });
    reg(
        "json",
        &["value: ?", "String"],
        "Pretty JSON text of any value.",
    )
    .register_into_engine(engine, |v: Dynamic| -> String {
        serde_json::to_string_pretty(&to_json(&v)).unwrap_or_default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_validate_severity_id_and_options() {
        assert!(build_finding("bad", "a.b", "t", None).is_err());
        assert!(build_finding("error", "Bad Id", "t", None).is_err());
        let mut opts = Map::new();
        opts.insert(
            "evidence".into(),
            Dynamic::from_array(vec!["a".into(), "b".into()]),
        );
        opts.insert("advice".into(), "do x".into());
        let f = build_finding("warning", "servers.down", "t", Some(opts)).unwrap();
        assert_eq!(f.evidence, ["a", "b"]);
        assert_eq!(f.advice.as_deref(), Some("do x"));
        let mut bad = Map::new();
        bad.insert("colour".into(), "red".into());
        assert!(build_finding("ok", "a", "t", Some(bad)).is_err());
    }

    #[test]
    fn params_take_the_type_of_their_default() {
        assert_eq!(
            typed_param("t", "120", &Dynamic::from_int(5))
                .unwrap()
                .as_int()
                .unwrap(),
            120
        );
        assert!(typed_param("t", "abc", &Dynamic::from_int(5)).is_err());
        assert!(typed_param("v", "yes", &Dynamic::from_bool(false))
            .unwrap()
            .as_bool()
            .unwrap());
        assert_eq!(
            typed_param("s", "x", &Dynamic::from("d".to_string()))
                .unwrap()
                .to_string(),
            "x"
        );
    }
}
