//! `show stat` rows as a Rhai type.
//!
//! A 20,000-server `stat()` as Rhai maps would cost ~100 bytes per field;
//! rows stay in their compact parsed form and are read by column name:
//! `r.qcur`, `r["check_status"]`. Empty fields read as `()`, never 0.

use super::convert::to_json;
use crate::runtime::stat::{StatRow, StatValue};
use rhai::{Array, Dynamic, Engine, ImmutableString, Map};

#[derive(Clone, Debug)]
pub struct Row {
    pub row: StatRow,
    pub target: Option<ImmutableString>,
}

fn value(v: Option<StatValue>) -> Dynamic {
    match v {
        Some(StatValue::Int(i)) => Dynamic::from_int(i),
        Some(StatValue::Text(s)) => Dynamic::from(s),
        None => Dynamic::UNIT,
    }
}

impl Row {
    /// A column by name, or the derived `kind` (`frontend`, `backend`, `server`,
    /// `listener`) and `target` keys; `()` when empty or unknown.
    pub fn get(&self, key: &str) -> Dynamic {
        match key {
            "kind" => self
                .row
                .proxy_type()
                .map(|t| Dynamic::from(t.as_str()))
                .unwrap_or(Dynamic::UNIT),
            "target" => self
                .target
                .clone()
                .map(Dynamic::from)
                .unwrap_or(Dynamic::UNIT),
            _ => value(self.row.value(key)),
        }
    }

    /// Non-empty columns in header order, then `kind` and `target`.
    pub fn keys(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .row
            .header()
            .names()
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.row.raw(*i).is_empty())
            .map(|(_, n)| n.as_str())
            .collect();
        out.push("kind");
        if self.target.is_some() {
            out.push("target");
        }
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
            self.keys()
                .into_iter()
                .map(|k| (k.to_string(), to_json(&self.get(k))))
                .collect(),
        )
    }
}

pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Row>("StatRow")
        .register_indexer_get(|r: &mut Row, key: &str| r.get(key))
        .register_fn("to_map", |r: &mut Row| r.to_map())
        .register_fn("keys", |r: &mut Row| -> Array {
            r.keys()
                .into_iter()
                .map(|k| Dynamic::from(k.to_string()))
                .collect()
        })
        .register_fn("contains", |r: &mut Row, key: &str| !r.get(key).is_unit())
        .register_fn("to_string", |r: &mut Row| r.to_json().to_string())
        .register_fn("to_debug", |r: &mut Row| r.to_json().to_string());
}
