//! `watch(fn)`: a live view, redrawn in place until Ctrl-C — the view people
//! open hatop for. Also how the REPL turns values into tables.

use super::convert::to_json;
use super::ctx::Ctx;
use super::errors::{invalid, to_rhai};
use super::reg;
use crate::base::error::Error;
use crate::base::report::Table;
use crate::base::sink::Event;
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, NativeCallContext};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Columns shown first (and alone) for `show stat` rows: what hatop shows.
const STAT_COLUMNS: &[&str] = &[
    "target",
    "pxname",
    "svname",
    "status",
    "weight",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "rate",
    "check_status",
];

/// Columns shown for `servers()` rows: the decoded state, under the names
/// the vocabulary gives it everywhere (`op_state`, `weight`), not the raw
/// `show servers state` fields.
const SERVER_COLUMNS: &[&str] = &[
    "target",
    "backend",
    "server",
    "op_state",
    "in_rotation",
    "weight",
    "maint",
    "drain",
    "admin_flags",
    "srv_addr",
    "srv_port",
];

/// A value shown as a table, with the columns left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueTable {
    pub table: Table,
    pub hidden: Vec<String>,
}

/// An array of objects as a table. Rows of `stat()`/`servers()` show the
/// columns an operator reads (the rest are listed in `hidden`); other rows
/// show every key, in first-seen order. None for anything else.
pub fn rows_table(v: &Value) -> Option<ValueTable> {
    let rows = v.as_array()?;
    if rows.is_empty() || !rows.iter().all(Value::is_object) {
        return None;
    }
    let mut all: Vec<String> = Vec::new();
    for r in rows {
        for k in r.as_object()?.keys() {
            if !all.contains(k) {
                all.push(k.clone());
            }
        }
    }
    let has = |c: &str| all.iter().any(|a| a == c);
    let preferred = if has("pxname") && has("svname") {
        Some(STAT_COLUMNS)
    } else if has("be_name") && has("srv_name") && has("admin_flags") {
        Some(SERVER_COLUMNS)
    } else {
        None
    };
    let (columns, hidden) = match preferred {
        Some(p) => {
            let cols: Vec<String> = p.iter().filter(|c| has(c)).map(|c| c.to_string()).collect();
            let hidden = all.iter().filter(|c| !cols.contains(c)).cloned().collect();
            (cols, hidden)
        }
        None => (all, Vec::new()),
    };
    let rows = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| r.get(c).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    Some(ValueTable {
        table: Table {
            title: None,
            columns,
            rows,
        },
        hidden,
    })
}

/// Any value as a table, for `watch`: rows as above, a map as key/value
/// lines, anything else in one `value` cell.
pub fn any_table(v: &Value) -> ValueTable {
    if let Some(t) = rows_table(v) {
        return t;
    }
    let cell = |v: &Value| match v {
        Value::String(_) | Value::Null => v.clone(),
        other => Value::String(other.to_string()),
    };
    let (columns, rows) = match v {
        Value::Object(m) => (
            vec!["key".to_string(), "value".to_string()],
            m.iter()
                .map(|(k, v)| vec![Value::String(k.clone()), cell(v)])
                .collect(),
        ),
        Value::Array(a) => (
            vec!["value".to_string()],
            a.iter().map(|v| vec![cell(v)]).collect(),
        ),
        other => (vec!["value".to_string()], vec![vec![cell(other)]]),
    };
    ValueTable {
        table: Table {
            title: None,
            columns,
            rows,
        },
        hidden: Vec::new(),
    }
}

/// Local wall-clock time, `HH:MM:SS`.
fn local_hms() -> String {
    // SAFETY: time/localtime_r only write into the local `tm`.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return String::new();
        }
        format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
    }
}

/// Re-run `f` every `every` until Ctrl-C (which ends the watch quietly and
/// re-arms the token so what follows still runs) or the deadline.
fn watch(nc: &NativeCallContext, ctx: &Ctx, f: &FnPtr, every: f64) -> R<()> {
    if !(0.1..=86_400.0).contains(&every) {
        return Err(invalid(
            "seconds",
            every.to_string(),
            "expected 0.1 to 86400",
        ));
    }
    let period = Duration::from_secs_f64(every);
    let mut frame = 0u64;
    loop {
        let started = Instant::now();
        let value = match f.call_within_context::<Dynamic>(nc, ()) {
            Ok(v) => v,
            Err(_) if ctx.cancel.is_cancelled() => break,
            Err(e) => return Err(e),
        };
        frame += 1;
        let mut shown = any_table(&to_json(&value));
        let mut title = format!(
            "watch every {every}s · {} · #{frame} · Ctrl-C stops",
            local_hms()
        );
        if !shown.hidden.is_empty() {
            title.push_str(&format!(" · {} more columns not shown", shown.hidden.len()));
        }
        shown.table.title = Some(title);
        ctx.emit(Event::Redraw(&shown.table));
        // A replay holds a moment, not a stream: one frame says it all.
        if ctx.replay().is_some() {
            break;
        }
        match ctx.sleep(period.saturating_sub(started.elapsed())) {
            Ok(()) => {}
            Err(Error::Interrupted) => break,
            Err(e) => return Err(to_rhai(e)),
        }
    }
    ctx.cancel.reset();
    Ok(())
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    const DOC: &str = "Re-run `f` every `seconds` (default 2) and redraw what it returns in place\nuntil Ctrl-C, which ends the watch (not the session), e.g.\n`watch(|| stat().filter(|r| r.kind == \"server\"))` for status, qcur, qmax,\nscur and smax per server. An array of maps is drawn as a table. In a replay\nit draws one frame and returns.";
    let c = ctx.clone();
    reg("watch", &["f: FnPtr", "()"], DOC)
        .register_into_engine(engine, move |nc: NativeCallContext, f: FnPtr| -> R<()> {
            watch(&nc, &c, &f, 2.0)
        });
    let c = ctx.clone();
    reg("watch", &["f: FnPtr", "seconds: float", "()"], DOC).register_into_engine(
        engine,
        move |nc: NativeCallContext, f: FnPtr, secs: f64| -> R<()> { watch(&nc, &c, &f, secs) },
    );
    let c = ctx.clone();
    reg("watch", &["f: FnPtr", "seconds: int", "()"], DOC).register_into_engine(
        engine,
        move |nc: NativeCallContext, f: FnPtr, secs: i64| -> R<()> {
            watch(&nc, &c, &f, secs as f64)
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stat_rows_show_the_hatop_columns() {
        let v = json!([
            {"pxname": "bk_app", "svname": "app1", "status": "UP", "qcur": 0, "scur": 1, "bin": 10},
            {"pxname": "bk_app", "svname": "BACKEND", "status": "UP", "qcur": 2}
        ]);
        let t = rows_table(&v).unwrap();
        assert_eq!(
            t.table.columns,
            ["pxname", "svname", "status", "qcur", "scur"]
        );
        assert_eq!(t.hidden, ["bin"]);
        assert_eq!(t.table.rows[1][4], Value::Null);
    }

    #[test]
    fn server_rows_show_whether_each_server_is_up_and_in_rotation() {
        let v = json!([{
            "target": "/run/haproxy/admin.sock", "backend": "bk_app", "server": "app1",
            "name": "bk_app/app1", "be_name": "bk_app", "srv_name": "app1",
            "op_state": "stopped", "in_rotation": false, "weight": 1, "srv_uweight": 1,
            "maint": false, "drain": false, "admin_flags": [], "srv_op_state": 0,
            "srv_addr": "10.0.0.1", "srv_port": 80
        }]);
        let t = rows_table(&v).unwrap();
        assert_eq!(
            t.table.columns,
            [
                "target",
                "backend",
                "server",
                "op_state",
                "in_rotation",
                "weight",
                "maint",
                "drain",
                "admin_flags",
                "srv_addr",
                "srv_port"
            ]
        );
        assert_eq!(t.table.rows[0][3], json!("stopped"));
    }

    #[test]
    fn other_rows_show_every_key_and_scalars_get_a_cell() {
        let t = rows_table(&json!([{"b": 1, "a": 2}, {"c": 3}])).unwrap();
        assert_eq!(t.table.columns, ["a", "b", "c"]);
        assert!(rows_table(&json!([1, 2])).is_none());
        assert!(rows_table(&json!([])).is_none());
        let m = any_table(&json!({"Version": "2.6", "Nbthread": 4}));
        assert_eq!(m.table.columns, ["key", "value"]);
        assert_eq!(m.table.rows.len(), 2);
        assert_eq!(any_table(&json!(3)).table.rows, [[json!("3")]]);
    }
}
