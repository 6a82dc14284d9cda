//! Parser for the `show servers state [backend]` reply of the HAProxy runtime API.
//!
//! Format (management.txt, "show servers state"): the first line is the format version (`1`),
//! the second is `# ` followed by space-separated field names (25 on 2.x, 19 on 1.8, fewer
//! before), then one space-separated line per server. Fields are located by header name, never
//! by position. Lines starting with `#` after the header are comments. A reply with a header and
//! no server line (a backend without servers) is valid and yields an empty list.
//!
//! Facts checked against HAProxy's `include/haproxy/server-t.h` and `checks-t.h`:
//! - `srv_admin_state` is a **decimal** number holding a bit mask of `SRV_ADMF_*` flags;
//!   `SRV_ADMF_MAINT` (the "is in maintenance" mask) is `0x23` = FMAINT | IMAINT | RMAINT and
//!   `SRV_ADMF_DRAIN` is `0x18` = FDRAIN | IDRAIN. CMAINT (`0x04`) only records that the
//!   configuration says `disabled` (the keyword sets CMAINT | FMAINT); a config-disabled server
//!   later set `ready` keeps CMAINT alone (`4`) and is **not** in maintenance. `0x40` (HMAINT,
//!   renamed `SRV_ADMF_FQDN_CHANGED` in later versions) means the FQDN was changed from the CLI:
//!   it is not a maintenance state either.
//! - `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping.
//! - `srv_check_status` is an `HCHK_STATUS_*` code (6 = L4OK, 8 = L4CON, 15 = L7OK, ...), see
//!   [`check_status_name`]; `srv_check_result` is a `CHK_RES_*` code, see
//!   [`check_result_name`].

use serde::{Serialize, Serializer};

/// A malformed `show servers state` reply: what was wrong and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed `show servers state` output at line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the input where the problem was found.
    pub line: usize,
    /// What was malformed.
    pub message: String,
}

impl ParseError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

/// Operational state (`srv_op_state`, `SRV_ST_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpState {
    Stopped,
    Starting,
    Running,
    Stopping,
    Unknown(i64),
}

impl OpState {
    /// Decode `srv_op_state`.
    pub fn from_code(code: i64) -> OpState {
        match code {
            0 => OpState::Stopped,
            1 => OpState::Starting,
            2 => OpState::Running,
            3 => OpState::Stopping,
            other => OpState::Unknown(other),
        }
    }

    /// The numeric `srv_op_state` value.
    pub fn code(&self) -> i64 {
        match self {
            OpState::Stopped => 0,
            OpState::Starting => 1,
            OpState::Running => 2,
            OpState::Stopping => 3,
            OpState::Unknown(c) => *c,
        }
    }

    /// `stopped`, `starting`, `running`, `stopping` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            OpState::Stopped => "stopped",
            OpState::Starting => "starting",
            OpState::Running => "running",
            OpState::Stopping => "stopping",
            OpState::Unknown(_) => "unknown",
        }
    }
}

impl std::fmt::Display for OpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialized as its name (`"running"`); the raw number stays in [`ServerState::fields`].
impl Serialize for OpState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Administrative state (`srv_admin_state`): a bit mask of HAProxy's `SRV_ADMF_*` flags,
/// written in **decimal** by HAProxy. Serialized as the number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AdminState(pub u32);

impl AdminState {
    /// Forced into maintenance (`set server ... state maint`, or `disabled` in the config).
    pub const FMAINT: u32 = 0x01;
    /// Maintenance inherited from a tracked server.
    pub const IMAINT: u32 = 0x02;
    /// The configuration says `disabled` (set together with FMAINT at startup; alone it does
    /// not mean maintenance).
    pub const CMAINT: u32 = 0x04;
    /// Forced into drain (`set server ... state drain`).
    pub const FDRAIN: u32 = 0x08;
    /// Drain inherited from a tracked server.
    pub const IDRAIN: u32 = 0x10;
    /// Maintenance because the address could not be resolved.
    pub const RMAINT: u32 = 0x20;
    /// The FQDN was changed from the CLI (HAProxy's HMAINT, later `SRV_ADMF_FQDN_CHANGED`);
    /// not a maintenance state.
    pub const HMAINT: u32 = 0x40;
    /// HAProxy's `SRV_ADMF_MAINT`: any of these bits means the server is in maintenance.
    pub const MAINT_MASK: u32 = Self::FMAINT | Self::IMAINT | Self::RMAINT;
    /// HAProxy's `SRV_ADMF_DRAIN`.
    pub const DRAIN_MASK: u32 = Self::FDRAIN | Self::IDRAIN;

    const NAMES: [(u32, &'static str); 7] = [
        (Self::FMAINT, "FMAINT"),
        (Self::IMAINT, "IMAINT"),
        (Self::CMAINT, "CMAINT"),
        (Self::FDRAIN, "FDRAIN"),
        (Self::IDRAIN, "IDRAIN"),
        (Self::RMAINT, "RMAINT"),
        (Self::HMAINT, "HMAINT"),
    ];

    /// In maintenance (`SRV_ADMF_MAINT`: forced, inherited or resolution).
    pub fn is_maint(&self) -> bool {
        self.0 & Self::MAINT_MASK != 0
    }

    /// In drain (forced or inherited). A server may be both in maintenance and in drain; HAProxy
    /// then reports MAINT.
    pub fn is_drain(&self) -> bool {
        self.0 & Self::DRAIN_MASK != 0
    }

    /// Why the server is in maintenance: `"forced"`, `"inherited"`, `"resolution"`, plus
    /// `"config"` when the configuration says `disabled` (HAProxy sets FMAINT and CMAINT for
    /// it, so a config-disabled server reports `["forced", "config"]`). Empty when not in
    /// maintenance (CMAINT alone, or HMAINT, are not maintenance).
    pub fn maint_sources(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.is_maint() {
            return out;
        }
        if self.0 & Self::FMAINT != 0 {
            out.push("forced");
        }
        if self.0 & Self::IMAINT != 0 {
            out.push("inherited");
        }
        if self.0 & Self::CMAINT != 0 {
            out.push("config");
        }
        if self.0 & Self::RMAINT != 0 {
            out.push("resolution");
        }
        out
    }

    /// Why the server is draining: `"forced"`, `"inherited"`.
    pub fn drain_sources(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.0 & Self::FDRAIN != 0 {
            out.push("forced");
        }
        if self.0 & Self::IDRAIN != 0 {
            out.push("inherited");
        }
        out
    }

    /// Names of the known bits that are set, in bit order (`"FMAINT"`, `"FDRAIN"`, ...).
    pub fn flags(&self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// True when the FQDN was changed from the CLI (HMAINT / `SRV_ADMF_FQDN_CHANGED`).
    pub fn fqdn_changed(&self) -> bool {
        self.0 & Self::HMAINT != 0
    }

    /// Bits that this version of harun does not know about (0 normally).
    pub fn unknown_bits(&self) -> u32 {
        self.0 & !0x7f
    }
}

/// One server line of `show servers state`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerState {
    /// Every field as printed, in header order (`-` kept as is); empty from
    /// [`parse_servers_state_typed`].
    pub fields: Vec<(String, String)>,
    pub be_name: String,
    pub srv_name: String,
    pub be_id: i64,
    pub srv_id: i64,
    /// `srv_addr`.
    pub addr: String,
    pub op_state: OpState,
    pub admin: AdminState,
    pub uweight: Option<i64>,
    pub iweight: Option<i64>,
    /// `HCHK_STATUS_*` code, see [`check_status_name`].
    pub check_status: Option<i64>,
    /// `CHK_RES_*` code, see [`check_result_name`].
    pub check_result: Option<i64>,
    pub check_health: Option<i64>,
    /// `CHK_ST_*` bit mask (0x01 in progress, 0x02 configured, 0x04 enabled, 0x08 paused).
    pub check_state: Option<i64>,
    /// Same mask as `check_state`, plus 0x10 (agent).
    pub agent_state: Option<i64>,
    /// Seconds since the last operational state change.
    pub time_since_last_change: Option<i64>,
    /// `srv_fqdn`; `None` when HAProxy prints `-`.
    pub fqdn: Option<String>,
    /// `srv_port` (absent before 1.8).
    pub port: Option<i64>,
}

impl ServerState {
    /// A raw field by header name.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// In rotation, i.e. able to take new traffic: running or starting, neither
/// in maintenance nor draining, and a weight above 0. The one definition the
/// write guard ("the last UP server") and the health summary share.
pub fn in_rotation(op: OpState, admin: AdminState, uweight: Option<i64>) -> bool {
    matches!(op, OpState::Running | OpState::Starting)
        && !admin.is_maint()
        && !admin.is_drain()
        && uweight != Some(0)
}

/// Name of an `HCHK_STATUS_*` code as shown in `show stat` (`L4OK`, `L7STS`, ...), for
/// HAProxy 1.5 and later.
pub fn check_status_name(code: i64) -> Option<&'static str> {
    const NAMES: [&str; 21] = [
        "UNK", "INI", "START", "CHECKED", "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK",
        "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L57DATA", "L7OK", "L7OKC", "L7STS", "PROCERR",
        "PROCTOUT", "PROCOK",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i).copied())
}

/// Name of a `CHK_RES_*` code: `unknown`, `neutral`, `failed`, `passed`, `condpass`.
pub fn check_result_name(code: i64) -> Option<&'static str> {
    match code {
        0 => Some("unknown"),
        1 => Some("neutral"),
        2 => Some("failed"),
        3 => Some("passed"),
        4 => Some("condpass"),
        _ => None,
    }
}

/// What a finished health check concluded, as HAProxy's `check_statuses`
/// table maps each `HCHK_STATUS_*` code to a `CHK_RES_*` result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckVerdict {
    /// L4OK, L6OK, L7OK, PROCOK.
    Passed,
    /// L7OKC (`http-check disable-on-404`): up, but takes no new traffic.
    CondPass,
    /// Timeouts, refused connections, wrong statuses, socket errors, HANA.
    Failed,
}

/// The verdict of the last finished check from its status code; `None` for
/// the codes that carry none (UNK, INI: no check finished yet; START,
/// CHECKED, L57DATA) and for unknown codes. Read from the status, not from
/// `srv_check_result`: HAProxy resets the result to `unknown` each time a
/// check starts, so the result flickers while the status keeps the last one.
pub fn check_verdict(status: i64) -> Option<CheckVerdict> {
    match status {
        6 | 9 | 15 | 20 => Some(CheckVerdict::Passed),
        16 => Some(CheckVerdict::CondPass),
        4 | 5 | 7 | 8 | 10 | 11 | 12 | 13 | 17 | 18 | 19 => Some(CheckVerdict::Failed),
        _ => None,
    }
}

const REQUIRED: [&str; 7] = [
    "be_id",
    "be_name",
    "srv_id",
    "srv_name",
    "srv_addr",
    "srv_op_state",
    "srv_admin_state",
];

/// Parse a `show servers state [backend]` reply.
pub fn parse_servers_state(text: &str) -> Result<Vec<ServerState>, ParseError> {
    parse_with(text, true)
}

/// [`parse_servers_state`] without the raw columns ([`ServerState::fields`]
/// stays empty): the same checks, a few allocations per server instead of
/// two per column, for callers that read only the typed fields over tens of
/// thousands of servers (`disagreements()`).
pub fn parse_servers_state_typed(text: &str) -> Result<Vec<ServerState>, ParseError> {
    parse_with(text, false)
}

fn parse_with(text: &str, keep_raw: bool) -> Result<Vec<ServerState>, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());

    let Some((vline, version)) = lines.next() else {
        return Err(ParseError::new(
            1,
            "empty reply (expected the format version `1`)",
        ));
    };
    let version = version.trim();
    match version.parse::<i64>() {
        Ok(1) => {}
        Ok(v) => {
            return Err(ParseError::new(
                vline,
                format!("unsupported format version {v} (only 1 is known)"),
            ))
        }
        Err(_) => {
            let shown: String = version.chars().take(120).collect();
            return Err(ParseError::new(
                vline,
                format!("expected the format version `1`, HAProxy replied {shown:?}"),
            ));
        }
    }

    let Some((hline, header)) = lines.next() else {
        return Err(ParseError::new(
            vline + 1,
            "missing `# be_id be_name ...` header line",
        ));
    };
    let Some(header) = header.strip_prefix('#') else {
        return Err(ParseError::new(
            hline,
            "expected the `# be_id be_name ...` header line",
        ));
    };
    let names: Vec<&str> = header.split_whitespace().collect();
    for required in REQUIRED {
        if !names.contains(&required) {
            return Err(ParseError::new(
                hline,
                format!("header has no `{required}` field"),
            ));
        }
    }
    let pos = |name: &str| names.iter().position(|n| *n == name);
    let idx = Indexes {
        be_id: pos("be_id").unwrap_or_default(),
        be_name: pos("be_name").unwrap_or_default(),
        srv_id: pos("srv_id").unwrap_or_default(),
        srv_name: pos("srv_name").unwrap_or_default(),
        addr: pos("srv_addr").unwrap_or_default(),
        op_state: pos("srv_op_state").unwrap_or_default(),
        admin: pos("srv_admin_state").unwrap_or_default(),
        uweight: pos("srv_uweight"),
        iweight: pos("srv_iweight"),
        check_status: pos("srv_check_status"),
        check_result: pos("srv_check_result"),
        check_health: pos("srv_check_health"),
        check_state: pos("srv_check_state"),
        agent_state: pos("srv_agent_state"),
        time_since_last_change: pos("srv_time_since_last_change"),
        fqdn: pos("srv_fqdn"),
        port: pos("srv_port"),
    };

    let mut out = Vec::new();
    let mut values: Vec<&str> = Vec::with_capacity(names.len());
    for (line, text) in lines {
        if text.trim_start().starts_with('#') {
            continue;
        }
        values.clear();
        values.extend(text.split_whitespace());
        if values.len() != names.len() {
            let what = if values.len() < names.len() {
                "truncated line"
            } else {
                "too many fields"
            };
            return Err(ParseError::new(
                line,
                format!(
                    "{what}: {} fields, header has {}",
                    values.len(),
                    names.len()
                ),
            ));
        }
        out.push(build(&names, &values, &idx, line, keep_raw)?);
    }
    Ok(out)
}

struct Indexes {
    be_id: usize,
    be_name: usize,
    srv_id: usize,
    srv_name: usize,
    addr: usize,
    op_state: usize,
    admin: usize,
    uweight: Option<usize>,
    iweight: Option<usize>,
    check_status: Option<usize>,
    check_result: Option<usize>,
    check_health: Option<usize>,
    check_state: Option<usize>,
    agent_state: Option<usize>,
    time_since_last_change: Option<usize>,
    fqdn: Option<usize>,
    port: Option<usize>,
}

fn build(
    names: &[&str],
    values: &[&str],
    idx: &Indexes,
    line: usize,
    keep_raw: bool,
) -> Result<ServerState, ParseError> {
    let int = |i: usize| -> Result<i64, ParseError> {
        values[i].parse::<i64>().map_err(|_| {
            ParseError::new(
                line,
                format!("field `{}` is not an integer: {:?}", names[i], values[i]),
            )
        })
    };
    let opt_int = |i: Option<usize>| -> Result<Option<i64>, ParseError> {
        match i {
            None => Ok(None),
            Some(i) if values[i] == "-" => Ok(None),
            Some(i) => int(i).map(Some),
        }
    };
    let admin_raw = values[idx.admin];
    let admin = admin_raw.parse::<u32>().map_err(|_| {
        ParseError::new(
            line,
            format!("field `srv_admin_state` is not a decimal number: {admin_raw:?}"),
        )
    })?;
    Ok(ServerState {
        fields: if keep_raw {
            names
                .iter()
                .zip(values)
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        } else {
            Vec::new()
        },
        be_name: values[idx.be_name].to_owned(),
        srv_name: values[idx.srv_name].to_owned(),
        be_id: int(idx.be_id)?,
        srv_id: int(idx.srv_id)?,
        addr: values[idx.addr].to_owned(),
        op_state: OpState::from_code(int(idx.op_state)?),
        admin: AdminState(admin),
        uweight: opt_int(idx.uweight)?,
        iweight: opt_int(idx.iweight)?,
        check_status: opt_int(idx.check_status)?,
        check_result: opt_int(idx.check_result)?,
        check_health: opt_int(idx.check_health)?,
        check_state: opt_int(idx.check_state)?,
        agent_state: opt_int(idx.agent_state)?,
        time_since_last_change: opt_int(idx.time_since_last_change)?,
        fqdn: idx
            .fqdn
            .map(|i| values[i])
            .filter(|v| *v != "-")
            .map(str::to_owned),
        port: opt_int(idx.port)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE_26: &str = include_str!("../../tests/fixtures/runtime/servers-state-2.6.txt");
    const STATE_26_BE: &str =
        include_str!("../../tests/fixtures/runtime/servers-state-be_app-2.6.txt");
    const STATE_26_EMPTY: &str =
        include_str!("../../tests/fixtures/runtime/servers-state-empty-2.6.txt");
    const STATE_26_ERR: &str =
        include_str!("../../tests/fixtures/runtime/servers-state-error-2.6.txt");
    const STATE_18: &str = include_str!("../../tests/fixtures/runtime/servers-state-1.8.txt");

    fn find<'a>(v: &'a [ServerState], be: &str, srv: &str) -> &'a ServerState {
        v.iter()
            .find(|s| s.be_name == be && s.srv_name == srv)
            .unwrap()
    }

    #[test]
    fn real_26_capture() {
        let v = parse_servers_state(STATE_26).unwrap();
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|s| s.fields.len() == 25));

        let app1 = find(&v, "be_app", "app1");
        assert_eq!((app1.be_id, app1.srv_id), (3, 1));
        assert_eq!(app1.addr, "127.0.0.1");
        assert_eq!(app1.op_state, OpState::Running);
        assert_eq!(app1.admin, AdminState(0));
        assert!(!app1.admin.is_maint() && !app1.admin.is_drain());
        assert_eq!(app1.check_status.and_then(check_status_name), Some("L4OK"));
        assert_eq!(
            app1.check_result.and_then(check_result_name),
            Some("passed")
        );
        assert_eq!(app1.check_health, Some(4));
        assert_eq!(app1.check_state, Some(6));
        assert_eq!(app1.fqdn, None);
        assert_eq!(app1.port, Some(18081));
        assert_eq!(app1.field("srv_use_ssl"), Some("0"));
        assert_eq!(app1.field("srvrecord"), Some("-"));

        // `set server be_app/app2 state drain`
        let app2 = find(&v, "be_app", "app2");
        assert_eq!(app2.admin.0, 8);
        assert!(app2.admin.is_drain() && !app2.admin.is_maint());
        assert_eq!(app2.admin.flags(), ["FDRAIN"]);
        assert_eq!(app2.admin.drain_sources(), ["forced"]);
        assert!(app2.admin.maint_sources().is_empty());
        assert_eq!(app2.op_state, OpState::Running);

        // `disabled` in the configuration: FMAINT | CMAINT = 5.
        let app3 = find(&v, "be_app", "app3");
        assert_eq!(app3.admin.0, 5);
        assert_eq!(app3.admin.flags(), ["FMAINT", "CMAINT"]);
        assert_eq!(app3.admin.maint_sources(), ["forced", "config"]);
        assert_eq!(app3.op_state, OpState::Stopped);
        assert_eq!(app3.check_state, Some(14)); // configured | enabled | paused

        // `set server 123/s1 state maint` (no check).
        let s1 = find(&v, "123", "s1");
        assert_eq!(s1.admin.flags(), ["FMAINT"]);
        assert_eq!(s1.admin.maint_sources(), ["forced"]);
        assert_eq!((s1.uweight, s1.iweight), (Some(50), Some(50)));

        let s2 = find(&v, "123", "s2");
        assert_eq!(s2.op_state, OpState::Stopped);
        assert_eq!(s2.check_status.and_then(check_status_name), Some("L4CON"));
        assert_eq!(s2.check_result.and_then(check_result_name), Some("failed"));

        let json = serde_json::to_value(app2).unwrap();
        assert_eq!(json["admin"], 8);
        assert_eq!(json["op_state"], "running");
        assert_eq!(json["fqdn"], serde_json::Value::Null);

        assert_eq!(parse_servers_state(STATE_26_BE).unwrap().len(), 3);
    }

    #[test]
    fn typed_parse_is_the_full_parse_without_raw_columns() {
        let full = parse_servers_state(STATE_26).unwrap();
        let typed = parse_servers_state_typed(STATE_26).unwrap();
        assert_eq!(full.len(), typed.len());
        for (mut f, t) in full.into_iter().zip(typed) {
            assert!(t.fields.is_empty());
            f.fields.clear();
            assert_eq!(f, t);
        }
        assert!(parse_servers_state_typed("1\n# be_id be_name\n").is_err());
    }

    #[test]
    fn empty_backend_is_valid() {
        assert!(parse_servers_state(STATE_26_EMPTY).unwrap().is_empty());
    }

    #[test]
    fn error_reply_is_named() {
        let e = parse_servers_state(STATE_26_ERR).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.to_string().contains("Can't find backend."), "{e}");
    }

    #[test]
    fn layout_18_by_header_name() {
        let v = parse_servers_state(STATE_18).unwrap();
        assert_eq!(v.len(), 6);
        assert!(v.iter().all(|s| s.fields.len() == 19));
        let web1 = find(&v, "app", "web1");
        assert_eq!(web1.check_status.and_then(check_status_name), Some("L7OK"));
        assert_eq!(web1.time_since_last_change, Some(86400));
        let web4 = find(&v, "app", "web4");
        assert_eq!(web4.admin.flags(), ["RMAINT"]);
        assert_eq!(web4.admin.maint_sources(), ["resolution"]);
        assert_eq!(web4.fqdn.as_deref(), Some("web4.example.internal"));
        // HMAINT (FQDN changed from the CLI) is not maintenance.
        let web5 = find(&v, "app", "web5");
        assert!(!web5.admin.is_maint());
        assert!(web5.admin.fqdn_changed());
        assert_eq!(web5.admin.flags(), ["HMAINT"]);
        let s1 = find(&v, "static", "s1");
        assert_eq!(s1.admin.0, 24);
        assert_eq!(s1.admin.drain_sources(), ["forced", "inherited"]);
        assert_eq!(s1.uweight, Some(0));
        assert_eq!(s1.port, Some(80));
    }

    #[test]
    fn admin_state_decoding() {
        // Decimal, not hex: "10" is FDRAIN | IMAINT (0x0a), not 0x10.
        let a = AdminState(10);
        assert_eq!(a.flags(), ["IMAINT", "FDRAIN"]);
        assert!(a.is_maint() && a.is_drain());
        assert_eq!(a.maint_sources(), ["inherited"]);
        // CMAINT alone: config-disabled server later set ready: not in maintenance.
        let c = AdminState(4);
        assert!(!c.is_maint());
        assert!(c.maint_sources().is_empty());
        assert_eq!(c.flags(), ["CMAINT"]);
        assert_eq!(AdminState(0x7f).flags().len(), 7);
        assert_eq!(AdminState(0x80).unknown_bits(), 0x80);
        assert_eq!(OpState::from_code(3).as_str(), "stopping");
        assert_eq!(OpState::from_code(1).as_str(), "starting");
        assert_eq!(OpState::from_code(9), OpState::Unknown(9));
        assert_eq!(OpState::from_code(9).as_str(), "unknown");
        assert_eq!(check_status_name(-1), None);
        assert_eq!(check_status_name(17), Some("L7STS"));
    }

    #[test]
    fn old_layout_without_fqdn_and_comments() {
        let text = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state\n\
                    # a comment\n2 bk 1 s1 10.0.0.1 2 0\n";
        let v = parse_servers_state(text).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].port, None);
        assert_eq!(v[0].fqdn, None);
        assert_eq!(v[0].check_status, None);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let h = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state\n";
        let cases: Vec<(String, usize, &str)> = vec![
            (String::new(), 1, "empty"),
            ("\n\n".into(), 1, "empty"),
            ("2\n# be_id\n".into(), 1, "version 2"),
            ("Unknown command.\n".into(), 1, "Unknown command."),
            ("1\n".into(), 2, "missing"),
            ("1\nbe_id be_name\n".into(), 2, "header"),
            ("1\n# be_id be_name srv_id\n".into(), 2, "srv_name"),
            (format!("{h}2 bk 1 s1 10.0.0.1 2"), 3, "truncated"),
            (format!("{h}2 bk 1 s1 10.0.0.1 2 0 9\n"), 3, "too many"),
            (format!("{h}x bk 1 s1 10.0.0.1 2 0\n"), 3, "be_id"),
            (
                format!("{h}2 bk 1 s1 10.0.0.1 2 0x8\n"),
                3,
                "srv_admin_state",
            ),
            (
                format!("{h}2 bk 1 s1 10.0.0.1 2 -8\n"),
                3,
                "srv_admin_state",
            ),
            (format!("{h}\u{0}\u{1}\u{fffd}\n"), 3, "truncated"),
        ];
        for (input, line, needle) in cases {
            let e = parse_servers_state(&input).expect_err(&input);
            assert_eq!(e.line, line, "{input:?}: {e}");
            assert!(e.to_string().contains(needle), "{input:?}: {e}");
        }
        for cut in 0..STATE_26.len() {
            let _ = parse_servers_state(&STATE_26[..cut]);
        }
    }
}
