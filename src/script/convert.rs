//! Typed HAProxy data as Rhai values.

use super::row::Row;
use crate::runtime::servers_state::ServerState;
use crate::runtime::stat::Stat;
use rhai::{Array, Dynamic, Map};

/// One [`Row`] per `show stat` line (compact; read by column name).
pub fn stat_rows(stat: &Stat, target: &str, out: &mut Array) {
    let target: rhai::ImmutableString = target.into();
    out.reserve(stat.rows.len());
    for row in &stat.rows {
        out.push(Dynamic::from(Row {
            row: row.clone(),
            target: target.clone(),
        }));
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
/// plus the vocabulary every server-shaped value shares (see
/// [`super::vocabulary::SERVERS_ROW`]): identity, decoded states, weight.
pub fn server_state(s: &ServerState, target: &str) -> Dynamic {
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
    m.insert("target".into(), target.into());
    m.insert("op_state".into(), s.op_state.as_str().into());
    m.insert("admin_state".into(), (s.admin.0 as i64).into());
    m.insert("admin_flags".into(), strings(s.admin.flags()));
    m.insert("maint".into(), s.admin.is_maint().into());
    m.insert("drain".into(), s.admin.is_drain().into());
    m.insert(
        "weight".into(),
        s.uweight.map(Dynamic::from_int).unwrap_or(Dynamic::UNIT),
    );
    m.insert(
        "in_rotation".into(),
        crate::runtime::servers_state::in_rotation(s.op_state, s.admin, s.uweight).into(),
    );
    m.insert("maint_sources".into(), strings(s.admin.maint_sources()));
    m.insert("drain_sources".into(), strings(s.admin.drain_sources()));
    Dynamic::from_map(m)
}

/// `show info` as a map; numeric values become ints.
pub fn info_map(pairs: &[(String, String)], target: &str) -> Map {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.as_str().into(), text_or_int(v));
    }
    m.insert("target".into(), target.into());
    m
}

/// A finding as a Rhai map with every key of [`super::vocabulary::FINDING`]
/// present (absent parts read as `()`), so a strict read never fails on a
/// finding that happens to have no advice.
pub fn finding(f: &crate::base::report::Finding) -> Dynamic {
    let mut m = Map::new();
    m.insert("id".into(), f.id.clone().into());
    m.insert("severity".into(), f.severity.to_string().into());
    m.insert("title".into(), f.title.clone().into());
    let opt = |v: &Option<String>| v.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT);
    m.insert("detail".into(), opt(&f.detail));
    m.insert("advice".into(), opt(&f.advice));
    m.insert(
        "evidence".into(),
        Dynamic::from_array(f.evidence.iter().cloned().map(Dynamic::from).collect()),
    );
    m.insert("target".into(), opt(&f.target));
    Dynamic::from_map(m)
}

/// Any Rhai value as JSON (for `--json`, tables and the journal), stat rows included.
pub fn to_json(d: &Dynamic) -> serde_json::Value {
    use serde_json::Value;
    if d.is_unit() {
        return Value::Null;
    }
    if let Ok(b) = d.as_bool() {
        return Value::Bool(b);
    }
    if let Ok(i) = d.as_int() {
        return Value::from(i);
    }
    if let Ok(f) = d.as_float() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null);
    }
    if d.is_string() {
        return Value::String(d.clone().into_string().unwrap_or_default());
    }
    if let Some(a) = d.read_lock::<Array>() {
        return Value::Array(a.iter().map(to_json).collect());
    }
    if let Some(m) = d.read_lock::<Map>() {
        return Value::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect());
    }
    if let Some(r) = d.read_lock::<Row>() {
        return r.to_json();
    }
    Value::String(d.to_string())
}
