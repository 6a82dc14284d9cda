//! `show stat` rows as a Rhai type.
//!
//! A 20,000-server `stat()` as Rhai maps would cost ~100 bytes per field;
//! rows stay in their compact parsed form and are read by column name:
//! `r.qcur`, `r["check_status"]`. Empty fields read as `()`, never 0; a
//! column that does not exist is an error with the nearest names.

use super::vocabulary;
use crate::runtime::stat::{ProxyType, StatRow, StatValue};
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

#[derive(Clone, Debug)]
pub struct Row {
    pub row: StatRow,
    pub target: ImmutableString,
}

fn value(v: Option<StatValue>) -> Dynamic {
    match v {
        Some(StatValue::Int(i)) => Dynamic::from_int(i),
        Some(StatValue::Text(s)) => Dynamic::from(s),
        None => Dynamic::UNIT,
    }
}

/// Keys harun adds to HAProxy's columns (see [`super::vocabulary::STAT_ROW`]).
const DERIVED: &[&str] = &["kind", "backend", "server", "frontend", "target"];

impl Row {
    /// A column by name, or a derived key; `Some(())` when the column exists
    /// but is empty, `None` when there is no such key.
    pub fn lookup(&self, key: &str) -> Option<Dynamic> {
        let kind = self.row.proxy_type();
        let text = |col: &str| {
            self.row
                .text(col)
                .map(|s| Dynamic::from(s.to_string()))
                .unwrap_or(Dynamic::UNIT)
        };
        let on = |yes: bool, col: &str| if yes { text(col) } else { Dynamic::UNIT };
        Some(match key {
            "kind" => kind
                .map(|t| Dynamic::from(t.as_str()))
                .unwrap_or(Dynamic::UNIT),
            "target" => Dynamic::from(self.target.clone()),
            "backend" => on(
                matches!(kind, Some(ProxyType::Backend | ProxyType::Server)),
                "pxname",
            ),
            "server" => on(kind == Some(ProxyType::Server), "svname"),
            "frontend" => on(
                matches!(kind, Some(ProxyType::Frontend | ProxyType::Listener)),
                "pxname",
            ),
            _ => {
                let i = self.row.header().index(key)?;
                value(self.row.get(i))
            }
        })
    }

    /// A column or derived key; `()` when empty or unknown.
    pub fn get(&self, key: &str) -> Dynamic {
        self.lookup(key).unwrap_or(Dynamic::UNIT)
    }

    /// `row.svnme`: an error naming the key and the nearest columns, so a
    /// typo never reads as an empty field.
    fn strict(&self, key: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        self.lookup(key).ok_or_else(|| {
            let names = self
                .row
                .header()
                .names()
                .iter()
                .map(String::as_str)
                .chain(DERIVED.iter().copied());
            let near = crate::base::suggest::nearest(key, names);
            Box::new(EvalAltResult::ErrorRuntime(
                no_such_key(key, vocabulary::STAT_ROW.what, &near),
                Position::NONE,
            ))
        })
    }

    /// Every key a read accepts: the header's columns (empty ones too, as
    /// `"x" in row` says) and the derived keys. What `keys()` and `to_map()`
    /// give a playbook, so `row.to_map().qlimit` reads as `row.qlimit` does.
    pub fn keys(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .row
            .header()
            .names()
            .iter()
            .map(String::as_str)
            .filter(|n| *n != "-")
            .collect();
        out.extend(DERIVED.iter().copied());
        out
    }

    /// The keys with a value, for display and JSON output: a 100-column
    /// `show stat` row shows the dozen columns that say something.
    pub fn shown_keys(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .row
            .header()
            .names()
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.row.raw(*i).is_empty())
            .map(|(_, n)| n.as_str())
            .filter(|n| *n != "-")
            .collect();
        out.extend(DERIVED.iter().filter(|k| !self.get(k).is_unit()));
        out
    }

    pub fn to_map(&self) -> Map {
        self.keys()
            .into_iter()
            .map(|k| (k.into(), self.get(k)))
            .collect()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.shown_keys()
                .into_iter()
                .map(|k| (k.to_string(), cell_json(&self.get(k))))
                .collect(),
        )
    }
}

/// A cell as JSON: a row only holds ints, strings and `()`, so this needs
/// nothing of the general conversion (which itself knows rows).
fn cell_json(d: &Dynamic) -> serde_json::Value {
    if let Ok(i) = d.as_int() {
        serde_json::Value::from(i)
    } else if d.is_unit() {
        serde_json::Value::Null
    } else {
        serde_json::Value::String(d.to_string())
    }
}

/// The payload of a read of a key that does not exist: kind `no_such_key`
/// (catchable), the key, what it was read on and the nearest keys.
pub fn no_such_key(key: &str, what: &str, near: &[&str]) -> Dynamic {
    let mut m = Map::new();
    m.insert("kind".into(), "no_such_key".into());
    m.insert(
        "message".into(),
        format!(
            "no key `{key}` in {what}{}",
            crate::base::suggest::did_you_mean(near)
        )
        .into(),
    );
    m.insert(
        "exit_code".into(),
        (crate::base::error::ExitCode::Usage as i64).into(),
    );
    Dynamic::from_map(m)
}

pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Row>("StatRow")
        .register_indexer_get(|r: &mut Row, key: &str| r.strict(key))
        .register_fn("get", |r: &mut Row, key: &str| r.get(key))
        .register_fn("to_map", |r: &mut Row| r.to_map())
        .register_fn("keys", |r: &mut Row| -> Array {
            r.keys()
                .into_iter()
                .map(|k| Dynamic::from(k.to_string()))
                .collect()
        })
        // `"x" in row`: the key exists (an empty column exists too).
        .register_fn("contains", |r: &mut Row, key: &str| r.lookup(key).is_some())
        .register_fn("to_string", |r: &mut Row| r.to_json().to_string())
        .register_fn("to_debug", |r: &mut Row| r.to_json().to_string());
}
