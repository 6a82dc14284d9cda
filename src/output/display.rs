//! Results the way people read them: an array of maps as a table, a map as
//! aligned key/value lines, scalars plainly; long output cut with a note.

use crate::output::render;
use crate::script::fns_watch::rows_table;
use serde_json::Value;

/// Rows (or lines) shown before the rest is cut.
pub const MAX_ROWS: usize = 200;

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "()".into(),
        other => other.to_string(),
    }
}

fn cut_note(n: usize, what: &str) -> String {
    format!("… {n} more {what} (.json shows everything)")
}

/// A result as text. `json`: pretty JSON, complete.
pub fn render_value(v: &Value, json: bool, max_rows: usize) -> String {
    if json {
        return serde_json::to_string_pretty(v).unwrap_or_default();
    }
    if let Some(mut shown) = rows_table(v) {
        let total = shown.table.rows.len();
        shown.table.rows.truncate(max_rows);
        let mut out = render::table(&shown.table, None);
        if total > max_rows {
            out.push('\n');
            out.push_str(&cut_note(total - max_rows, "rows"));
        }
        if !shown.hidden.is_empty() {
            let names: Vec<&str> = shown.hidden.iter().take(6).map(String::as_str).collect();
            let more = if shown.hidden.len() > names.len() {
                ", …"
            } else {
                ""
            };
            out.push_str(&format!(
                "\n({total} rows; {} more columns not shown: {}{more} — .json or .map(|r| #{{...}}) to see them)",
                shown.hidden.len(),
                names.join(", ")
            ));
        }
        return out;
    }
    match v {
        Value::Object(m) if !m.is_empty() => {
            let width = m.keys().map(|k| k.chars().count()).max().unwrap_or(0);
            let mut lines: Vec<String> = m
                .iter()
                .take(max_rows)
                .map(|(k, v)| format!("{k:<width$}  {}", plain(v)))
                .collect();
            if m.len() > max_rows {
                lines.push(cut_note(m.len() - max_rows, "keys"));
            }
            lines.join("\n")
        }
        Value::Array(a) => {
            let compact = v.to_string();
            if compact.chars().count() <= 100 {
                return compact;
            }
            let mut lines: Vec<String> = a.iter().take(max_rows).map(plain).collect();
            if a.len() > max_rows {
                lines.push(cut_note(a.len() - max_rows, "items"));
            }
            lines.join("\n")
        }
        other => plain(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_of_maps_are_tables_cut_with_a_note() {
        let rows: Vec<Value> = (0..5)
            .map(|i| json!({"name": format!("s{i}"), "n": i}))
            .collect();
        let out = render_value(&Value::Array(rows), false, 3);
        assert!(out.contains("name"), "{out}");
        assert!(out.contains("s2") && !out.contains("s3"), "{out}");
        assert!(out.contains("… 2 more rows"), "{out}");
    }

    #[test]
    fn stat_rows_name_the_hidden_columns() {
        let v = json!([{"pxname": "bk", "svname": "s1", "status": "UP", "bin": 1, "bout": 2}]);
        let out = render_value(&v, false, 200);
        assert!(out.contains("status"), "{out}");
        assert!(out.contains("2 more columns not shown: bin, bout"), "{out}");
    }

    #[test]
    fn maps_align_and_scalars_are_plain() {
        let out = render_value(&json!({"Version": "2.6.12", "Nbthread": 4}), false, 200);
        assert_eq!(out, "Nbthread  4\nVersion   2.6.12");
        assert_eq!(render_value(&json!("hello"), false, 200), "hello");
        assert_eq!(render_value(&json!(42), false, 200), "42");
        assert_eq!(render_value(&json!([1, 2]), false, 200), "[1,2]");
        assert_eq!(
            render_value(&json!({"a": 1}), true, 200),
            "{\n  \"a\": 1\n}"
        );
    }
}
