//! Typed HAProxy data as Rhai values.

use crate::runtime::servers_state::ServerState;
use crate::runtime::stat::{Stat, StatValue};
use rhai::{Array, Dynamic, Map};

/// One map per `show stat` line, keyed by HAProxy's column names.
///
/// Empty fields ("no value") are left out of the map: `row.qlimit` then reads
/// as `()`, which is what an empty field means — not 0. `kind` adds the
/// `type` column as a word.
pub fn stat_rows(stat: &Stat, target: Option<&str>, out: &mut Array) {
    let keys: Vec<&str> = stat.columns.iter().map(String::as_str).collect();
    let type_idx = stat.index("type");
    out.reserve(stat.rows.len());
    for row in &stat.rows {
        let mut m = Map::new();
        for (k, v) in keys.iter().zip(row.iter()) {
            match v {
                Some(StatValue::Int(i)) => {
                    m.insert((*k).into(), Dynamic::from_int(*i));
                }
                Some(StatValue::Text(s)) => {
                    m.insert((*k).into(), Dynamic::from(s.clone()));
                }
                None => {}
            }
        }
        if let Some(Some(StatValue::Int(t))) = type_idx.map(|i| &row[i]) {
            let kind = match t {
                0 => "frontend",
                1 => "backend",
                2 => "server",
                3 => "listener",
                _ => "unknown",
            };
            m.insert("kind".into(), kind.into());
        }
        if let Some(t) = target {
            m.insert("target".into(), t.into());
        }
        out.push(Dynamic::from_map(m));
    }
}

fn text_or_int(v: &str) -> Dynamic {
    match v.parse::<i64>() {
        Ok(i) => Dynamic::from_int(i),
        Err(_) => Dynamic::from(v.to_string()),
    }
}

fn strings(v: Vec<&'static str>) -> Dynamic {
    Dynamic::from_array(v.into_iter().map(Dynamic::from).collect())
}

/// One map per `show servers state` line: every raw field (numbers as ints),
/// plus decoded views of the admin bit mask and operational state.
pub fn server_state(s: &ServerState, target: Option<&str>) -> Dynamic {
    let mut m = Map::new();
    for (k, v) in &s.fields {
        m.insert(k.as_str().into(), text_or_int(v));
    }
    m.insert("backend".into(), s.be_name.clone().into());
    m.insert("server".into(), s.srv_name.clone().into());
    m.insert(
        "name".into(),
        format!("{}/{}", s.be_name, s.srv_name).into(),
    );
    m.insert("state".into(), s.op_state.as_str().into());
    m.insert("maint".into(), s.admin.is_maint().into());
    m.insert("drain".into(), s.admin.is_drain().into());
    m.insert("maint_sources".into(), strings(s.admin.maint_sources()));
    m.insert("drain_sources".into(), strings(s.admin.drain_sources()));
    m.insert("admin_flags".into(), strings(s.admin.flags()));
    if let Some(t) = target {
        m.insert("target".into(), t.into());
    }
    Dynamic::from_map(m)
}

/// `show info` as a map; numeric values become ints.
pub fn info_map(pairs: &[(String, String)], target: Option<&str>) -> Map {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.as_str().into(), text_or_int(v));
    }
    if let Some(t) = target {
        m.insert("target".into(), t.into());
    }
    m
}

/// Any Rhai value as JSON (for `--json`, tables and the journal).
pub fn to_json(d: &Dynamic) -> serde_json::Value {
    rhai::serde::from_dynamic::<serde_json::Value>(d)
        .unwrap_or_else(|_| serde_json::Value::String(d.to_string()))
}
