//! Behaviour that differs between HAProxy versions, tested on the version
//! under test (`.ci/run` runs this binary on every supported one: 2.6, 3.0,
//! 3.2). Each test reads what the running HAProxy sends and checks harun
//! follows it; where a difference is known, its branch is asserted on the
//! versions that have it.

use crate::harness::*;
use harun::lab::Scenario;
use std::collections::BTreeMap;

/// `show stat` rows keyed by (pxname, svname), each a map column -> raw value.
fn raw_stat(text: &str) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = rd.records().map(|r| r.expect("csv"));
    let header: Vec<String> = rows
        .next()
        .expect("header")
        .iter()
        .map(|h| h.trim_start_matches("# ").to_string())
        .collect();
    let mut out = BTreeMap::new();
    for r in rows {
        let row: BTreeMap<String, String> = header
            .iter()
            .cloned()
            .zip(r.iter().map(String::from))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        out.insert((row["pxname"].clone(), row["svname"].clone()), row);
    }
    out
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Columns appear between versions (Debian's 2.6 sends 129 columns, 3.0 206
/// with the HTTP/2, HTTP/3 and QUIC module fields, 3.2 208): `stat()` follows
/// the header of the HAProxy it talks to, column by column.
#[test]
fn stat_rows_carry_every_column_the_running_haproxy_sends() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // Checks and counters move while the test reads: a value is compared
    // when HAProxy sent the same one just before and just after harun's read.
    let before = raw_stat(&socat(&lab, "show stat"));
    let run = harun().lab(&lab).args(["--json", "-e", "stat()"]).run();
    run.expect_code(0);
    let after = raw_stat(&socat(&lab, "show stat"));
    let rows = run.json();
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), before.len(), "one row per line of show stat");
    let mut compared = 0;
    for row in rows {
        let key = (plain(&row["pxname"]), plain(&row["svname"]));
        let want = before
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} not in show stat"));
        for (col, value) in want {
            // `-` separates the static fields from the module fields.
            if col == "-" || after[&key].get(col) != Some(value) {
                continue;
            }
            if value.is_empty() {
                // An empty value means "no value" (not 0): no key.
                assert!(row.get(col).is_none(), "{key:?} {col} = {}", row[col]);
                continue;
            }
            let got = row
                .get(col)
                .unwrap_or_else(|| panic!("{key:?}: column {col} missing in {row}"));
            assert_eq!(&plain(got), value, "{key:?} {col}");
            compared += 1;
        }
    }
    assert!(compared > 12 * 40, "only {compared} values compared");
}

/// `show servers state` is at format 1 with the same 25 columns from 2.6 to
/// 3.2; harun decodes `srv_admin_state` as a decimal mask on each.
#[test]
fn servers_state_format_and_admin_mask_on_this_version() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let raw = socat(&lab, "show servers state");
    assert_eq!(raw.lines().next(), Some("1"), "format version: {raw}");
    let run = harun()
        .lab(&lab)
        .args([
            "--yes",
            "--json",
            "-e",
            r#"set_state("bk_app/app1", "drain");
               let s = servers("bk_app");
               #{ app1: s.filter(|r| r.server == "app1")[0], app3: s.filter(|r| r.server == "app3")[0] }"#,
        ])
        .run();
    run.expect_code(0);
    let v = run.json();
    // Forced drain (0x08) set at run time; app3 is `disabled` in the config (0x04).
    assert_eq!(v["app1"]["srv_admin_state"], 8, "{v}");
    assert_eq!(v["app1"]["drain"], true, "{v}");
    assert_eq!(v["app1"]["maint"], false, "{v}");
    assert_eq!(admin_state(&lab, "bk_app", "app1"), FDRAIN);
    assert_eq!(v["app3"]["maint"], true, "{v}");
    assert!(
        v["app3"]["maint_sources"].to_string().contains("config"),
        "{v}"
    );
}

/// `show info` names the version harun reports, and the CLI session can be
/// lowered to `operator` (2.2+), which every supported version has.
#[test]
fn info_and_read_only_sessions_on_this_version() {
    let Some(lab) = lab(Scenario::Healthy) else {
        return;
    };
    let run = harun().lab(&lab).args(["--json", "-e", "info()"]).run();
    run.expect_code(0);
    let info = run.json();
    assert_eq!(info["Version"], haproxy_version().as_str(), "{info}");
    assert_eq!(info["Nbproc"], 1, "{info}");
    let run = harun()
        .lab(&lab)
        .args(["--read-only", "-e", r#"send("show cli level")"#])
        .run();
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), "operator", "{}", run.stdout);
}
