//! What the targets of a run say differently about the same backends and
//! servers: the multi-process (and multi-host) trap, where a drain, a weight
//! or a maintenance reached one process or host only.
//!
//! Input: each target's `show servers state` (parsed) and `show backend`
//! (the backends without servers are only there). Output: one
//! [`Disagreement`] per backend or server and field, with each compared
//! target's value. Pure: no I/O.
//!
//! What counts (and what does not, so that a run never reports the noise of
//! checks that are moving):
//! - **present**: a backend on some targets only; a server on some of the
//!   targets that have its backend (a target without the backend is named by
//!   the backend's row, not once per server).
//! - **admin**: `maint`, `drain` or `ready`, from the admin bit mask
//!   (maintenance wins over drain, as HAProxy reports it). The source
//!   (forced, inherited, config) is not compared.
//! - **weight**: `srv_uweight`, the weight `set server … weight` changes
//!   (slowstart's ramp does not change it); **initial_weight**:
//!   `srv_iweight`, the configuration's.
//! - **op_state**: `running` (UP), `stopped` (DOWN), `stopping` (NOLB);
//!   `starting` (slowstart's warm-up) counts as `running`.
//! - **check**: the last finished check's status (`L7OK`, `L4CON`, `L7STS`…),
//!   `none` without a health check, `disabled` when it was disabled
//!   (`disable health`).
//!
//! Left out of the `op_state` and `check` comparisons on one target:
//! a server in maintenance there (maintenance stops it and pauses its checks;
//! the `admin` row says it), and a server whose check is in **transition**
//! there: its last check's verdict contradicts its state (UP with a failed
//! last check, `show stat`'s `UP 1/3`; DOWN with a passed one, `DOWN 1/2`).
//! Each process runs its own checks, so a server that changes state does so
//! on each of them up to `fall` (or `rise`) × `inter` apart; during that
//! window the lagging target is left out, and a check that keeps flapping on
//! one target only shows up whenever it settles. The check's health counter
//! (`srv_check_health`), `srv_check_result` (reset to unknown while a check
//! runs), durations and counters are never compared. With an agent check
//! enabled the state may come from the agent: no transition is inferred.

use crate::runtime::servers_state::{self, CheckVerdict, OpState, ServerState};
use std::collections::HashMap;

/// What one target said: its servers, and its backends when it listed them.
#[derive(Debug, Clone, Copy)]
pub struct TargetView<'a> {
    pub target: &'a str,
    pub servers: &'a [ServerState],
    /// `show backend`'s names; `None` when the target could not list them
    /// (a replay bundle without `show backend`): its backends without
    /// servers are then unknown, and it is left out of their comparison.
    pub backends: Option<&'a [String]>,
}

/// The compared property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Present,
    Admin,
    OpState,
    Weight,
    InitialWeight,
    Check,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Present,
        Field::Admin,
        Field::OpState,
        Field::Weight,
        Field::InitialWeight,
        Field::Check,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Present => "present",
            Field::Admin => "admin",
            Field::OpState => "op_state",
            Field::Weight => "weight",
            Field::InitialWeight => "initial_weight",
            Field::Check => "check",
        }
    }
}

/// One target's value of a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// A backend or server on which the targets that have it differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub backend: String,
    /// `None` for a backend row (only `present`).
    pub server: Option<String>,
    pub field: Field,
    /// Each compared target and its value, in target order.
    pub values: Vec<(String, Value)>,
}

impl Disagreement {
    /// `backend/server`, or the backend alone.
    pub fn name(&self) -> String {
        match &self.server {
            Some(s) => format!("{}/{s}", self.backend),
            None => self.backend.clone(),
        }
    }

    /// One line a person reads: `lb1 says maint; lb2, lb3 say ready`, or
    /// for presence `on lb1; not on lb2`.
    pub fn summary(&self) -> String {
        // Group the targets by value, in the order values first appear.
        let mut groups: Vec<(&Value, Vec<&str>)> = Vec::new();
        for (t, v) in &self.values {
            match groups.iter_mut().find(|(g, _)| *g == v) {
                Some((_, ts)) => ts.push(t),
                None => groups.push((v, vec![t])),
            }
        }
        // Presence reads best as "on ...; not on ...".
        if self.field == Field::Present {
            groups.sort_by_key(|(v, _)| **v != Value::Bool(true));
        }
        let parts: Vec<String> = groups
            .iter()
            .map(|(v, ts)| {
                let who = ts.join(", ");
                match (self.field, v) {
                    (Field::Present, Value::Bool(true)) => format!("on {who}"),
                    (Field::Present, _) => format!("not on {who}"),
                    _ => {
                        let verb = if ts.len() == 1 { "says" } else { "say" };
                        format!("{who} {verb} {v}")
                    }
                }
            })
            .collect();
        parts.join("; ")
    }
}

/// `maint`, `drain` or `ready`.
fn admin_word(s: &ServerState) -> &'static str {
    if s.admin.is_maint() {
        "maint"
    } else if s.admin.is_drain() {
        "drain"
    } else {
        "ready"
    }
}

const CHK_CONFIGURED: i64 = 0x02;
const CHK_ENABLED: i64 = 0x04;

/// The check as compared: `none`, `disabled`, or the last status's name;
/// `None` when the reply has no check columns (HAProxy before 1.8's layout):
/// unknown, never "none".
fn check_word(s: &ServerState) -> Option<String> {
    let state = s.check_state?;
    if state & CHK_CONFIGURED == 0 {
        return Some("none".into());
    }
    if state & CHK_ENABLED == 0 {
        return Some("disabled".into());
    }
    let c = s.check_status?;
    Some(
        servers_state::check_status_name(c)
            .map(str::to_string)
            .unwrap_or_else(|| format!("status {c}")),
    )
}

/// A running health check whose last verdict contradicts the server's state
/// (or that has no verdict yet): the state is about to change, or has just
/// been set by hand and the checks will decide again.
fn in_transition(s: &ServerState) -> bool {
    let state = s.check_state.unwrap_or(0);
    if state & CHK_CONFIGURED == 0 || state & CHK_ENABLED == 0 {
        return false;
    }
    // With an agent the state may be the agent's: nothing to infer.
    if s.agent_state.unwrap_or(0) & CHK_ENABLED != 0 {
        return false;
    }
    let verdict = s.check_status.and_then(servers_state::check_verdict);
    !matches!(
        (verdict, s.op_state),
        (
            Some(CheckVerdict::Passed),
            OpState::Running | OpState::Starting
        ) | (Some(CheckVerdict::CondPass), OpState::Stopping)
            | (Some(CheckVerdict::Failed), OpState::Stopped)
    )
}

/// The op state as compared: slowstart's `starting` is `running`.
fn op_key(op: OpState) -> OpState {
    match op {
        OpState::Starting => OpState::Running,
        other => other,
    }
}

/// A row when the compared values are not all the same. `key` is what is
/// compared (it may be coarser than the value shown).
fn differ<K: PartialEq>(
    backend: &str,
    server: Option<&str>,
    field: Field,
    compared: Vec<(K, String, Value)>,
    out: &mut Vec<Disagreement>,
) {
    let Some((first, ..)) = compared.first() else {
        return;
    };
    if compared.iter().all(|(k, ..)| k == first) {
        return;
    }
    out.push(Disagreement {
        backend: backend.to_string(),
        server: server.map(str::to_string),
        field,
        values: compared.into_iter().map(|(_, t, v)| (t, v)).collect(),
    });
}

/// Every disagreement between the targets, backends in the order they first
/// appear (target by target), servers likewise, fields in [`Field::ALL`]
/// order. Fewer than two targets: nothing to compare, nothing returned.
pub fn compare(views: &[TargetView]) -> Vec<Disagreement> {
    let mut out = Vec::new();
    if views.len() < 2 {
        return out;
    }
    // Per target: backend -> its servers by name.
    let mut by_target: Vec<HashMap<&str, HashMap<&str, &ServerState>>> =
        Vec::with_capacity(views.len());
    // Backends and their servers, in first-seen order.
    let mut order: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut index: HashMap<&str, (usize, std::collections::HashSet<&str>)> = HashMap::new();
    for v in views {
        let mut mine: HashMap<&str, HashMap<&str, &ServerState>> = HashMap::new();
        for s in v.servers {
            mine.entry(s.be_name.as_str())
                .or_default()
                .insert(s.srv_name.as_str(), s);
            let entry = index.entry(s.be_name.as_str()).or_insert_with(|| {
                order.push((s.be_name.as_str(), Vec::new()));
                (order.len() - 1, Default::default())
            });
            if entry.1.insert(s.srv_name.as_str()) {
                order[entry.0].1.push(s.srv_name.as_str());
            }
        }
        for b in v.backends.unwrap_or_default() {
            mine.entry(b.as_str()).or_default();
            index.entry(b.as_str()).or_insert_with(|| {
                order.push((b.as_str(), Vec::new()));
                (order.len() - 1, Default::default())
            });
        }
        by_target.push(mine);
    }

    for (backend, servers) in &order {
        // Presence of the backend: known when the target has servers in it
        // or listed its backends.
        let mut presence = Vec::new();
        for (v, mine) in views.iter().zip(&by_target) {
            let has = mine.contains_key(backend);
            if has || v.backends.is_some() {
                presence.push((has, v.target.to_string(), Value::Bool(has)));
            }
        }
        differ(backend, None, Field::Present, presence, &mut out);

        // The targets that have the backend know all its servers.
        let holders: Vec<(&TargetView, &HashMap<&str, &ServerState>)> = views
            .iter()
            .zip(&by_target)
            .filter_map(|(v, mine)| mine.get(backend).map(|m| (v, m)))
            .collect();
        for server in servers {
            let name = Some(*server);
            let mut presence = Vec::with_capacity(holders.len());
            let mut have: Vec<(&str, &ServerState)> = Vec::with_capacity(holders.len());
            for (v, m) in &holders {
                let s = m.get(server);
                presence.push((s.is_some(), v.target.to_string(), Value::Bool(s.is_some())));
                if let Some(s) = s {
                    have.push((v.target, s));
                }
            }
            differ(backend, name, Field::Present, presence, &mut out);
            if have.len() < 2 {
                continue;
            }
            let row = |t: &str, v: Value| (t.to_string(), v);
            let admin: Vec<_> = have
                .iter()
                .map(|(t, s)| {
                    let w = admin_word(s);
                    let (t, v) = row(t, Value::Text(w.into()));
                    (w, t, v)
                })
                .collect();
            differ(backend, name, Field::Admin, admin, &mut out);
            let settled: Vec<&(&str, &ServerState)> = have
                .iter()
                .filter(|(_, s)| !s.admin.is_maint() && !in_transition(s))
                .collect();
            let op: Vec<_> = settled
                .iter()
                .map(|(t, s)| {
                    let (t, v) = row(t, Value::Text(s.op_state.as_str().into()));
                    (op_key(s.op_state), t, v)
                })
                .collect();
            differ(backend, name, Field::OpState, op, &mut out);
            for (field, get) in [
                (
                    Field::Weight,
                    (|s: &ServerState| s.uweight) as fn(&ServerState) -> Option<i64>,
                ),
                (Field::InitialWeight, |s: &ServerState| s.iweight),
            ] {
                let w: Vec<_> = have
                    .iter()
                    .filter_map(|(t, s)| get(s).map(|w| (w, t.to_string(), Value::Int(w))))
                    .collect();
                differ(backend, name, field, w, &mut out);
            }
            let check: Vec<_> = settled
                .iter()
                .filter_map(|(t, s)| {
                    let w = check_word(s)?;
                    Some((w.clone(), t.to_string(), Value::Text(w)))
                })
                .collect();
            differ(backend, name, Field::Check, check, &mut out);
        }
    }
    out
}

/// The names in a `show backend` reply (`# name`, then one backend a line).
pub fn parse_show_backend(text: &str) -> Result<Vec<String>, String> {
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty());
    match lines.next() {
        Some(h) if h.trim() == "# name" => {}
        Some(h) => {
            let shown: String = h.chars().take(80).collect();
            return Err(format!("expected the header `# name`, got `{shown}`"));
        }
        None => return Err("empty reply: expected the header `# name`".into()),
    }
    let mut out = Vec::new();
    for l in lines {
        let name = l.trim();
        if name.starts_with('#') {
            continue;
        }
        if name.contains(char::is_whitespace) {
            let shown: String = name.chars().take(80).collect();
            return Err(format!("`{shown}` is not a backend name"));
        }
        out.push(name.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::servers_state::parse_servers_state;

    const HEADER: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n";

    /// A server line: op, admin, uweight, iweight, check status, result,
    /// health, check state.
    #[allow(clippy::too_many_arguments)]
    fn line(
        be: &str,
        srv: &str,
        op: i64,
        admin: i64,
        w: i64,
        iw: i64,
        status: i64,
        result: i64,
        health: i64,
        cstate: i64,
    ) -> String {
        format!("3 {be} 1 {srv} 127.0.0.1 {op} {admin} {w} {iw} 12 {status} {result} {health} {cstate} 0 0 0 - 8080 - 0 0 - - 0\n")
    }

    /// An UP server with a passing L7 check (the usual line).
    fn up(be: &str, srv: &str) -> String {
        line(be, srv, 2, 0, 1, 1, 15, 3, 4, 6)
    }

    fn parse(lines: &[String]) -> Vec<ServerState> {
        let text = format!("{HEADER}{}", lines.concat());
        parse_servers_state(&text).unwrap()
    }

    /// A target's name, servers and `show backend` list, as the tests write them.
    type Said<'a> = (&'a str, Vec<ServerState>, Option<Vec<String>>);

    fn views<'a>(t: &'a [Said<'a>]) -> Vec<TargetView<'a>> {
        t.iter()
            .map(|(n, s, b)| TargetView {
                target: n,
                servers: s,
                backends: b.as_deref(),
            })
            .collect()
    }

    fn names(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|s| s.to_string()).collect())
    }

    fn text(v: &str) -> Value {
        Value::Text(v.into())
    }

    #[test]
    fn identical_targets_and_single_target_say_nothing() {
        let a = parse(&[up("bk", "s1"), up("bk", "s2")]);
        let t = [
            ("lb1", a.clone(), names(&["bk"])),
            ("lb2", a.clone(), names(&["bk"])),
        ];
        assert!(compare(&views(&t)).is_empty());
        assert!(compare(&views(&t[..1])).is_empty());
        assert!(compare(&[]).is_empty());
    }

    #[test]
    fn maint_on_one_target_is_one_admin_row_not_an_op_state_row() {
        // lb1 forced maint (checks paused: state 14, op stopped).
        let t = [
            (
                "lb1",
                parse(&[line("bk", "s1", 0, 1, 1, 1, 15, 3, 4, 14)]),
                names(&["bk"]),
            ),
            ("lb2", parse(&[up("bk", "s1")]), names(&["bk"])),
        ];
        let d = compare(&views(&t));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, Field::Admin);
        assert_eq!(d[0].name(), "bk/s1");
        assert_eq!(
            d[0].values,
            vec![("lb1".into(), text("maint")), ("lb2".into(), text("ready"))]
        );
        assert_eq!(d[0].summary(), "lb1 says maint; lb2 says ready");
    }

    #[test]
    fn drain_and_weight_on_one_of_three() {
        let t = [
            (
                "lb1",
                parse(&[line("bk", "s1", 2, 8, 1, 1, 15, 3, 4, 6)]),
                names(&["bk"]),
            ),
            (
                "lb2",
                parse(&[line("bk", "s1", 2, 0, 50, 1, 15, 3, 4, 6)]),
                names(&["bk"]),
            ),
            ("lb3", parse(&[up("bk", "s1")]), names(&["bk"])),
        ];
        let d = compare(&views(&t));
        let fields: Vec<Field> = d.iter().map(|r| r.field).collect();
        assert_eq!(fields, [Field::Admin, Field::Weight]);
        assert_eq!(d[0].summary(), "lb1 says drain; lb2, lb3 say ready");
        assert_eq!(d[1].values[1], ("lb2".into(), Value::Int(50)));
        assert_eq!(d[1].summary(), "lb1, lb3 say 1; lb2 says 50");
    }

    #[test]
    fn initial_weight_is_its_own_row() {
        let t = [
            (
                "lb1",
                parse(&[line("bk", "s1", 2, 0, 10, 10, 15, 3, 4, 6)]),
                None,
            ),
            (
                "lb2",
                parse(&[line("bk", "s1", 2, 0, 20, 20, 15, 3, 4, 6)]),
                None,
            ),
        ];
        let d = compare(&views(&t));
        let fields: Vec<Field> = d.iter().map(|r| r.field).collect();
        assert_eq!(fields, [Field::Weight, Field::InitialWeight]);
    }

    #[test]
    fn settled_down_against_up_is_op_state_and_check() {
        // lb1: DOWN, connection refused (L4CON=8, failed=2, health 0).
        let t = [
            (
                "lb1",
                parse(&[line("bk", "s1", 0, 0, 1, 1, 8, 2, 0, 6)]),
                None,
            ),
            ("lb2", parse(&[up("bk", "s1")]), None),
        ];
        let d = compare(&views(&t));
        let fields: Vec<Field> = d.iter().map(|r| r.field).collect();
        assert_eq!(fields, [Field::OpState, Field::Check]);
        assert_eq!(d[0].summary(), "lb1 says stopped; lb2 says running");
        assert_eq!(d[1].summary(), "lb1 says L4CON; lb2 says L7OK");
    }

    #[test]
    fn checks_in_transition_do_not_flap_into_disagreements() {
        // lb1: UP with its last check failed (`UP 1/3` going down);
        // lb2: DOWN with its last check passed (`DOWN 1/2` coming up);
        // lb3: a check running right now (result reset to unknown, status
        // kept); lb4: slowstart (`starting`).
        let t = [
            (
                "lb1",
                parse(&[line("bk", "s1", 2, 0, 1, 1, 8, 2, 3, 6)]),
                None,
            ),
            (
                "lb2",
                parse(&[line("bk", "s1", 0, 0, 1, 1, 15, 3, 1, 6)]),
                None,
            ),
            (
                "lb3",
                parse(&[line("bk", "s1", 2, 0, 1, 1, 15, 0, 4, 7)]),
                None,
            ),
            (
                "lb4",
                parse(&[line("bk", "s1", 1, 0, 1, 1, 15, 3, 4, 6)]),
                None,
            ),
            ("lb5", parse(&[up("bk", "s1")]), None),
        ];
        assert_eq!(compare(&views(&t)), vec![]);
        // A fresh process has no check result yet (INI): left out too.
        let t = [
            (
                "lb1",
                parse(&[line("bk", "s1", 0, 0, 1, 1, 1, 0, 0, 6)]),
                None,
            ),
            ("lb2", parse(&[up("bk", "s1")]), None),
        ];
        assert_eq!(compare(&views(&t)), vec![]);
    }

    #[test]
    fn disabled_and_missing_checks_are_compared() {
        let t = [
            // `disable health`: configured (2), not enabled.
            (
                "lb1",
                parse(&[line("bk", "s1", 2, 0, 1, 1, 15, 3, 4, 2)]),
                None,
            ),
            // No check on the server line: state 0, status UNK.
            (
                "lb2",
                parse(&[line("bk", "s1", 2, 0, 1, 1, 0, 0, 0, 0)]),
                None,
            ),
            ("lb3", parse(&[up("bk", "s1")]), None),
        ];
        let d = compare(&views(&t));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, Field::Check);
        assert_eq!(
            d[0].summary(),
            "lb1 says disabled; lb2 says none; lb3 says L7OK"
        );
    }

    #[test]
    fn a_reply_without_check_columns_compares_no_check() {
        // HAProxy 1.6's layout stops after srv_time_since_last_change.
        let old = parse_servers_state(
            "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change\n3 bk 1 s1 127.0.0.1 2 0 1 1 12\n",
        )
        .unwrap();
        let t = [("lb1", old, None), ("lb2", parse(&[up("bk", "s1")]), None)];
        assert_eq!(compare(&views(&t)), vec![]);
    }

    #[test]
    fn nolb_is_a_state_of_its_own() {
        // disable-on-404: L7OKC (16), condpass (4), op stopping.
        let t = [
            (
                "lb1",
                parse(&[line("bk", "s1", 3, 0, 1, 1, 16, 4, 4, 6)]),
                None,
            ),
            ("lb2", parse(&[up("bk", "s1")]), None),
        ];
        let d = compare(&views(&t));
        let fields: Vec<Field> = d.iter().map(|r| r.field).collect();
        assert_eq!(fields, [Field::OpState, Field::Check]);
        assert_eq!(d[0].values[0].1, text("stopping"));
    }

    #[test]
    fn backends_and_servers_on_some_targets_only() {
        let t = [
            (
                "lb1",
                parse(&[up("bk", "s1"), up("bk", "s2"), up("bk_new", "n1")]),
                names(&["bk", "bk_new", "bk_empty"]),
            ),
            ("lb2", parse(&[up("bk", "s1")]), names(&["bk"])),
            // Could not list its backends: unknown for bk_new and bk_empty.
            ("lb3", parse(&[up("bk", "s1"), up("bk", "s2")]), None),
        ];
        let d = compare(&views(&t));
        let rows: Vec<(String, Field, String)> =
            d.iter().map(|r| (r.name(), r.field, r.summary())).collect();
        assert_eq!(
            rows,
            vec![
                (
                    "bk/s2".into(),
                    Field::Present,
                    "on lb1, lb3; not on lb2".into()
                ),
                ("bk_new".into(), Field::Present, "on lb1; not on lb2".into()),
                (
                    "bk_empty".into(),
                    Field::Present,
                    "on lb1; not on lb2".into()
                ),
            ]
        );
        // The servers of a backend missing on lb2 are not listed one by one.
        assert!(!d.iter().any(|r| r.name() == "bk_new/n1"));
    }

    #[test]
    fn show_backend_replies() {
        assert_eq!(
            parse_show_backend("# name\nbk_a\nbk_b\n\n").unwrap(),
            vec!["bk_a", "bk_b"]
        );
        assert_eq!(
            parse_show_backend("# name\n").unwrap(),
            Vec::<String>::new()
        );
        assert!(parse_show_backend("").is_err());
        assert!(parse_show_backend("Unknown command.\n").is_err());
        assert!(parse_show_backend("# name\nNo such thing\n").is_err());
    }

    #[test]
    fn twenty_thousand_servers_compare_in_one_pass() {
        let mut a = Vec::new();
        for b in 0..2000 {
            for s in 0..10 {
                a.push(up(&format!("bk{b}"), &format!("s{s}")));
            }
        }
        let one = parse(&a);
        let mut other = one.clone();
        other[12345].uweight = Some(0);
        let t = [("lb1", one, None), ("lb2", other, None)];
        let d = compare(&views(&t));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].name(), "bk1234/s5");
    }
}
