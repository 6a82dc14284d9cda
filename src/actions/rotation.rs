//! The write guard's rules as pure functions: which writes may take a
//! server out of rotation, and whether one would leave a backend without
//! servers (directly, or through the servers that `track` it) or drain a
//! parked server. They work on a light scan of `show servers state <bk>`
//! (fields found by header name, no per-field allocation) so bulk writes in
//! big backends stay cheap. A batch is judged one write at a time on the
//! backends as the earlier writes leave them ([`judge`] applies each write
//! it lets through).

use crate::runtime::servers_state::{in_rotation, AdminState, OpState};
use crate::runtime::stat::Stat;
use crate::runtime::{Command, ServerRef};
use std::collections::{HashMap, HashSet};

/// One server line of `show servers state`: the fields the guard and the
/// journal read.
#[derive(Clone, Debug, PartialEq)]
pub struct Light<'a> {
    pub name: &'a str,
    pub op: i64,
    pub admin: u32,
    pub weight: Option<i64>,
    /// The configured weight, base of `set weight N%`.
    pub iweight: Option<i64>,
}

impl Light<'_> {
    pub fn in_rotation(&self) -> bool {
        in_rotation(
            OpState::from_code(self.op),
            AdminState(self.admin),
            self.weight,
        )
    }
}

/// Every server line of a `show servers state` reply; `None` when the reply
/// is not one (an error text, a line that does not parse).
pub fn light_states(text: &str) -> Option<Vec<Light<'_>>> {
    light_states_reusing(text, &mut None)
}

/// [`light_states`] for many replies in a row: the column positions of the
/// last header read are kept in `last` and reused while the header line is
/// the same (every backend of a process has the same one).
pub fn light_states_reusing<'a>(
    text: &'a str,
    last: &mut Option<(String, LightColumns)>,
) -> Option<Vec<Light<'a>>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if lines.next().map(str::trim) != Some("1") {
        return None;
    }
    let header = lines.next()?;
    if last.as_ref().is_none_or(|(h, _)| h != header) {
        *last = Some((header.to_string(), light_columns(header)?));
    }
    let columns = &last.as_ref()?.1;
    lines
        .filter(|l| !l.starts_with('#'))
        .map(|l| light_line(l, columns))
        .collect()
}

/// Where the fields the guard reads sit, from the header line.
pub struct LightColumns {
    name: usize,
    op: usize,
    admin: usize,
    weight: Option<usize>,
    iweight: Option<usize>,
    last: usize,
}

/// The column positions and the data lines after the header.
pub fn light_header(text: &str) -> Option<(LightColumns, impl Iterator<Item = &str>)> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if lines.next().map(str::trim) != Some("1") {
        return None;
    }
    let columns = light_columns(lines.next()?)?;
    Some((columns, lines.filter(|l| !l.starts_with('#'))))
}

/// Where the fields the guard reads sit, from the `# be_id be_name ...` line.
pub fn light_columns(header: &str) -> Option<LightColumns> {
    let header = header.strip_prefix('#')?;
    let names: Vec<&str> = header.split_whitespace().collect();
    let pos = |n: &str| names.iter().position(|f| *f == n);
    let (name, op, admin) = (
        pos("srv_name")?,
        pos("srv_op_state")?,
        pos("srv_admin_state")?,
    );
    let weight = pos("srv_uweight");
    let iweight = pos("srv_iweight");
    let last = name
        .max(op)
        .max(admin)
        .max(weight.unwrap_or(0))
        .max(iweight.unwrap_or(0));
    Some(LightColumns {
        name,
        op,
        admin,
        weight,
        iweight,
        last,
    })
}

/// One data line: the fields are walked once, up to the last one needed.
pub fn light_line<'a>(line: &'a str, c: &LightColumns) -> Option<Light<'a>> {
    let (mut name, mut op, mut admin, mut weight, mut iweight) = (None, None, None, None, None);
    let fields = line.split(' ').filter(|f| !f.is_empty());
    for (i, f) in fields.take(c.last + 1).enumerate() {
        if i == c.name {
            name = Some(f);
        }
        if i == c.op {
            op = f.parse::<i64>().ok();
        }
        if i == c.admin {
            admin = f.parse::<u32>().ok();
        }
        if Some(i) == c.weight {
            weight = f.parse::<i64>().ok();
        }
        if Some(i) == c.iweight {
            iweight = f.parse::<i64>().ok();
        }
    }
    Some(Light {
        name: name?,
        op: op?,
        admin: admin?,
        weight,
        iweight,
    })
}

/// What a write does to the server it names, as far as rotation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect<'a> {
    Drain,
    /// `state maint`, `disable server`.
    Maint,
    /// `state ready`: lifts forced maintenance and drain.
    Ready,
    /// `enable server`: lifts forced maintenance.
    Enable,
    Weight(&'a str),
    /// `health down`, `agent down`.
    Down,
    /// `health up`, `agent up`.
    Up,
    /// `health stopping`: no new traffic.
    Stopping,
    Other,
}

/// The one reading of a write's words, for [`takes_out`] and [`apply`].
/// HAProxy ignores words after the ones it reads, so only the leading ones
/// are matched (`state maint now` is a `state maint`). Commands are in
/// canonical form (single spaces, see `Command::raw`).
fn effect(command: &Command) -> Effect<'_> {
    let w: Vec<&str> = command.as_str().split(' ').collect();
    match w.as_slice() {
        ["set", "server", _, "state", "drain", ..] => Effect::Drain,
        ["set", "server", _, "state", "maint", ..] | ["disable", "server", _, ..] => Effect::Maint,
        ["set", "server", _, "state", "ready", ..] => Effect::Ready,
        ["enable", "server", _, ..] => Effect::Enable,
        ["set", "server", _, "weight", v, ..] | ["set", "weight", _, v, ..] => Effect::Weight(v),
        ["set", "server", _, "health" | "agent", "down", ..] => Effect::Down,
        ["set", "server", _, "health" | "agent", "up", ..] => Effect::Up,
        ["set", "server", _, "health", "stopping", ..] => Effect::Stopping,
        _ => Effect::Other,
    }
}

/// The server whose write the guard must judge, if any: state drain or
/// maint, health or agent forced down, health stopping, `disable server`,
/// and a weight that is or may be 0 (0, a percentage of the configured
/// weight, anything that does not read as a plain number).
pub fn takes_out(command: &Command) -> Option<ServerRef> {
    let out = match effect(command) {
        Effect::Drain | Effect::Maint | Effect::Down | Effect::Stopping => true,
        Effect::Weight(v) => v.ends_with('%') || v.parse::<u32>().map_or(true, |n| n == 0),
        Effect::Ready | Effect::Enable | Effect::Up | Effect::Other => false,
    };
    if out {
        command.server_ref()
    } else {
        None
    }
}

/// What the guard knows from the configuration, read once per run from
/// `show stat -1 4 -1`: which servers are backups, and which follow another
/// one through `track` (they inherit its drain, maintenance and DOWN).
#[derive(Clone, Debug, Default)]
pub struct Topology {
    /// Backend -> its backup servers.
    backups: HashMap<String, HashSet<String>>,
    /// `bk/srv` -> the servers that track it directly.
    trackers: HashMap<String, Vec<(String, String)>>,
    /// Servers per backend, and in all (`None` when not read).
    sizes: HashMap<String, usize>,
    total: Option<usize>,
}

impl Topology {
    pub fn from_stat(stat: &Stat) -> Topology {
        let mut t = Topology::default();
        for r in 0..stat.len() {
            let (Some(bk), Some(srv)) = (stat.text(r, "pxname"), stat.text(r, "svname")) else {
                continue;
            };
            *t.sizes.entry(bk.to_string()).or_default() += 1;
            *t.total.get_or_insert(0) += 1;
            let me = (bk.to_string(), srv.to_string());
            if stat.int(r, "bck").unwrap_or(0) > 0 {
                t.backups
                    .entry(bk.to_string())
                    .or_default()
                    .insert(srv.to_string());
            }
            if let Some(tracked) = stat.text(r, "tracked").filter(|s| !s.is_empty()) {
                t.trackers.entry(tracked.to_string()).or_default().push(me);
            }
        }
        t
    }

    /// Whether one `show servers state` of every backend costs HAProxy less
    /// than one `show servers state <bk>` per backend of `backends`. HAProxy
    /// spends about as long on a command as on a dozen server lines, so
    /// reading everything pays once the backends asked for are many and
    /// hold a large share of the servers. Without the sizes (no topology
    /// read), only a great many backends tip it.
    pub fn prefer_full_read(&self, backends: &[String]) -> bool {
        const COMMAND_COST_IN_LINES: usize = 12;
        match self.total {
            Some(total) => {
                let asked: usize = backends.iter().filter_map(|b| self.sizes.get(b)).sum();
                total < asked + backends.len() * COMMAND_COST_IN_LINES
            }
            None => backends.len() >= 256,
        }
    }

    pub fn is_backup(&self, backend: &str, server: &str) -> bool {
        self.backups
            .get(backend)
            .is_some_and(|servers| servers.contains(server))
    }

    /// Every server that follows `backend/server`, through chains of `track`.
    pub fn followers(&self, backend: &str, server: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut todo = vec![format!("{backend}/{server}")];
        while let Some(key) = todo.pop() {
            for f in self.trackers.get(&key).into_iter().flatten() {
                if !out.contains(f) {
                    todo.push(format!("{}/{}", f.0, f.1));
                    out.push(f.clone());
                }
            }
        }
        out
    }

    /// The backends the guard must read to judge writes to `servers`: their
    /// own and those of their followers, in first-seen order.
    pub fn backends_for<'a>(
        &self,
        servers: impl IntoIterator<Item = &'a ServerRef>,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut push = |b: &str| {
            if seen.insert(b.to_string()) {
                out.push(b.to_string());
            }
        };
        for s in servers {
            push(&s.backend);
            for (b, _) in self.followers(&s.backend, &s.server) {
                push(&b);
            }
        }
        out
    }
}

/// Backends by name, each as the guard sees its servers.
pub type Fleet<'a> = HashMap<String, Vec<Light<'a>>>;

/// Why the guard refuses a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It would leave `backend` without a server in rotation (backups
    /// aside): `server` is the last one, and is the written server itself or
    /// one that tracks it.
    LastInRotation { backend: String, server: String },
    /// It would set a server in maintenance to drain, which brings back its
    /// health checks and persistent clients.
    DrainWhileMaint,
    /// The state of a backend it affects was not read.
    Unread { backend: String },
}

/// The guard's verdict on `command`. A write it lets through is applied to
/// `fleet` (with what the followers inherit), so the next write of a batch
/// is judged on the backends as this one leaves them; a refused one leaves
/// `fleet` as it was. Writes that cannot take a server out ([`takes_out`]
/// is `None`) are applied without a verdict.
///
/// A write is refused when a server it takes out (the written one or one
/// that tracks it) leaves its backend without a server in rotation: backups
/// do not count while the backend has a primary server in rotation; once it
/// runs on backups only, the last backup is guarded the same way.
pub fn judge(fleet: &mut Fleet, topology: &Topology, command: &Command) -> Result<(), Refusal> {
    let Some(server) = command.server_ref() else {
        return Ok(());
    };
    // What a refusal restores: the backends the write may change.
    let mut touched = vec![server.backend.clone()];
    touched.extend(
        topology
            .followers(&server.backend, &server.server)
            .into_iter()
            .map(|(b, _)| b),
    );
    let saved: Vec<(String, Vec<Light>)> = touched
        .iter()
        .filter_map(|b| fleet.get(b).map(|l| (b.clone(), l.clone())))
        .collect();
    let verdict = judge_and_apply(fleet, topology, command);
    if verdict.is_err() {
        for (b, lines) in saved {
            fleet.insert(b, lines);
        }
    }
    verdict
}

fn judge_and_apply(
    fleet: &mut Fleet,
    topology: &Topology,
    command: &Command,
) -> Result<(), Refusal> {
    let Some(server) = command.server_ref() else {
        return Ok(());
    };
    if takes_out(command).is_none() {
        apply(fleet, topology, command);
        return Ok(());
    }
    let mut affected = vec![(server.backend.clone(), server.server.clone())];
    affected.extend(topology.followers(&server.backend, &server.server));
    let lines_of = |fleet: &'_ Fleet, b: &str| -> Result<usize, Refusal> {
        fleet.get(b).map(Vec::len).ok_or_else(|| Refusal::Unread {
            backend: b.to_string(),
        })
    };
    for (b, _) in &affected {
        lines_of(fleet, b)?;
    }
    let in_rotation = |fleet: &Fleet, (b, s): &(String, String)| {
        fleet[b].iter().any(|l| l.name == s && l.in_rotation())
    };
    // Servers in rotation of a backend: its primaries, or its backups once
    // no primary is left.
    let serving = |fleet: &Fleet, b: &str, backups: bool| {
        fleet[b]
            .iter()
            .filter(|l| l.in_rotation() && topology.is_backup(b, l.name) == backups)
            .count()
    };
    // Only forced maintenance comes back with drain (it replaces it);
    // inherited or resolution maintenance stays.
    let this = fleet[&server.backend]
        .iter()
        .find(|l| l.name == server.server);
    if this.is_some_and(|l| l.admin & AdminState::FMAINT != 0) && effect(command) == Effect::Drain {
        return Err(Refusal::DrainWhileMaint);
    }
    let before: Vec<(bool, usize)> = affected
        .iter()
        .map(|a| (in_rotation(fleet, a), serving(fleet, &a.0, false)))
        .collect();
    apply(fleet, topology, command);
    for (a, (was_in, primaries_before)) in affected.iter().zip(before) {
        if !was_in || in_rotation(fleet, a) || serving(fleet, &a.0, false) > 0 {
            continue;
        }
        // No primary left: refused when this write took the last one out,
        // or, on a backend already running on backups, the last backup.
        if primaries_before > 0 || serving(fleet, &a.0, true) == 0 {
            return Err(Refusal::LastInRotation {
                backend: a.0.clone(),
                server: a.1.clone(),
            });
        }
    }
    Ok(())
}

/// The servers of `backend` in rotation, as the guard counts them: its
/// primaries, or its backups once no primary is left; `None` when the
/// backend is not in `fleet`.
pub fn serving(fleet: &Fleet, topology: &Topology, backend: &str) -> Option<usize> {
    let lines = fleet.get(backend)?;
    let count = |backups: bool| {
        lines
            .iter()
            .filter(|l| l.in_rotation() && topology.is_backup(backend, l.name) == backups)
            .count()
    };
    Some(match count(false) {
        0 => count(true),
        n => n,
    })
}

/// What `command` does to the server it names and to its followers,
/// applied to `fleet`: only the fields the guard reads change. Where the
/// outcome is not certain (a weight in percent of an unknown weight), or
/// HAProxy would bring followers back, the guess is the one that keeps
/// fewer servers in rotation.
pub fn apply(fleet: &mut Fleet, topology: &Topology, command: &Command) {
    let Some(server) = command.server_ref() else {
        return;
    };
    let Some(line) = fleet
        .get_mut(&server.backend)
        .and_then(|l| l.iter_mut().find(|l| l.name == server.server))
    else {
        return;
    };
    const RUNNING: i64 = 2;
    const STOPPING: i64 = 3;
    const STOPPED: i64 = 0;
    // HAProxy: a percentage is of the configured weight, rounded down, at
    // most 256; an absolute weight is read in decimal.
    let weight = |v: &str, iweight: Option<i64>| match v.strip_suffix('%') {
        Some(p) => match (p.parse::<i64>(), iweight) {
            (Ok(p), Some(iw)) => (iw.saturating_mul(p) / 100).min(256),
            _ => 0,
        },
        None => v.parse::<i64>().unwrap_or(0),
    };
    // What followers inherit: drain, maintenance, the operational state.
    let inherit: Option<(u32, Option<i64>)> = match effect(command) {
        Effect::Drain => {
            line.admin |= AdminState::FDRAIN;
            Some((AdminState::IDRAIN, None))
        }
        Effect::Maint => {
            line.admin |= AdminState::FMAINT;
            Some((AdminState::IMAINT, None))
        }
        // Only the forced bits: inherited maintenance or drain stays.
        Effect::Ready => {
            line.admin &= !(AdminState::FMAINT | AdminState::FDRAIN);
            None
        }
        Effect::Enable => {
            line.admin &= !AdminState::FMAINT;
            None
        }
        Effect::Weight(v) => {
            line.weight = Some(weight(v, line.iweight));
            None
        }
        Effect::Down => {
            line.op = STOPPED;
            Some((0, Some(STOPPED)))
        }
        Effect::Stopping => {
            line.op = STOPPING;
            Some((0, Some(STOPPING)))
        }
        Effect::Up => {
            line.op = RUNNING;
            None
        }
        Effect::Other => None,
    };
    let Some((bits, op)) = inherit else {
        return;
    };
    for (b, s) in topology.followers(&server.backend, &server.server) {
        if let Some(l) = fleet
            .get_mut(&b)
            .and_then(|l| l.iter_mut().find(|l| l.name == s))
        {
            l.admin |= bits;
            if let Some(op) = op {
                l.op = op;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::stat::parse_stat;

    const HEADER: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n";

    /// `bk`: s1, s2 up, s3 in maintenance, b1 a backup. `web`: w1, w2 up.
    /// `api`: a1 tracks web/w1, a2 tracks api/a1.
    const BK: &str = "3 bk 1 s1 127.0.0.1 2 0 1 1\n3 bk 2 s2 127.0.0.1 2 0 1 1\n3 bk 3 s3 127.0.0.1 2 1 1 1\n3 bk 4 b1 127.0.0.1 2 0 1 1\n";
    const WEB: &str = "4 web 1 w1 127.0.0.1 2 0 1 1\n4 web 2 w2 127.0.0.1 2 0 1 1\n";
    const API: &str = "5 api 1 a1 127.0.0.1 2 0 1 1\n5 api 2 a2 127.0.0.1 2 0 1 1\n";
    const STAT: &str = "# pxname,svname,bck,tracked,\nbk,s1,0,,\nbk,s2,0,,\nbk,s3,0,,\nbk,b1,1,,\nweb,w1,0,,\nweb,w2,0,,\napi,a1,0,web/w1,\napi,a2,0,api/a1,\n";

    fn texts() -> Vec<(String, String)> {
        [("bk", BK), ("web", WEB), ("api", API)]
            .iter()
            .map(|(b, l)| (b.to_string(), format!("{HEADER}{l}")))
            .collect()
    }

    fn fleet(texts: &[(String, String)]) -> Fleet<'_> {
        texts
            .iter()
            .map(|(b, t)| (b.clone(), light_states(t).unwrap()))
            .collect()
    }

    fn topology() -> Topology {
        Topology::from_stat(&parse_stat(STAT).unwrap())
    }

    fn cmd(c: &str) -> Command {
        Command::raw(c).unwrap()
    }

    #[test]
    fn every_write_that_may_take_a_server_out_is_guarded() {
        for c in [
            "set server bk/s1 state drain",
            "set server bk/s1 state  maint",
            "set server bk/s1\tstate maint",
            "set server bk/s1 weight 0",
            "set server bk/s1 weight 00",
            "set server bk/s1 weight 0%",
            "set weight bk/s1 50%",
            "set weight bk/s1 0",
            "set server bk/s1 health down",
            "set server bk/s1 agent down",
            "set server bk/s1 health stopping",
            "disable server bk/s1",
            // HAProxy ignores the words after the ones it reads.
            "set server bk/s1 state maint now",
            "set weight bk/s1 0 x",
            "disable server bk/s1 please",
        ] {
            let s = takes_out(&cmd(c)).unwrap_or_else(|| panic!("not guarded: {c:?}"));
            assert_eq!(
                (s.backend.as_str(), s.server.as_str()),
                ("bk", "s1"),
                "{c:?}"
            );
        }
        for c in [
            "set server bk/s1 state ready",
            "set server bk/s1 weight 10",
            "set weight bk/s1 010",
            "set server bk/s1 health up",
            "enable server bk/s1",
            "show servers state bk",
        ] {
            assert!(takes_out(&cmd(c)).is_none(), "{c:?}");
        }
    }

    #[test]
    fn the_last_server_in_rotation_is_refused_backups_aside() {
        let (texts, topo) = (texts(), topology());
        let mut f = fleet(&texts);
        let last = |s: &str| {
            Err(Refusal::LastInRotation {
                backend: "bk".into(),
                server: s.into(),
            })
        };
        assert_eq!(
            judge(&mut f, &topo, &cmd("set server bk/s1 state drain")),
            Ok(())
        );
        assert_eq!(judge(&mut f, &topo, &cmd("set weight bk/s2 0")), last("s2"));
        // s1 is already out: draining it again takes nothing out.
        let mut f = fleet(&texts);
        judge(&mut f, &topo, &cmd("set server bk/s1 state drain")).unwrap();
        assert_eq!(
            judge(&mut f, &topo, &cmd("set server bk/s1 state maint")),
            Ok(())
        );
        // A backup does not keep the backend served; without the flag, b1 does.
        let mut f = fleet(&texts);
        let flat = Topology::default();
        judge(&mut f, &flat, &cmd("set server bk/s1 state drain")).unwrap();
        assert_eq!(
            judge(&mut f, &flat, &cmd("set server bk/s2 state drain")),
            Ok(())
        );
    }

    #[test]
    fn a_refused_write_leaves_the_fleet_as_it_was() {
        let (texts, topo) = (texts(), topology());
        let mut f = fleet(&texts);
        judge(&mut f, &topo, &cmd("set server bk/s1 state drain")).unwrap();
        let before = f.clone();
        assert!(judge(&mut f, &topo, &cmd("set server bk/s2 state maint")).is_err());
        assert_eq!(f, before);
        // Through a follower: web/w1 takes api's last servers with it.
        assert!(judge(&mut f, &topo, &cmd("set server web/w1 state drain")).is_err());
        assert_eq!(f, before);
    }

    #[test]
    fn one_read_of_everything_when_most_backends_are_asked_for() {
        let topo = topology();
        let all: Vec<String> = ["bk", "web", "api"].map(String::from).to_vec();
        assert!(topo.prefer_full_read(&all));
        assert!(
            topo.prefer_full_read(&all[..1]),
            "4 of 8 servers and a command"
        );
        let flat = Topology::default();
        assert!(!flat.prefer_full_read(&all));
        let many: Vec<String> = (0..300).map(|i| format!("b{i}")).collect();
        assert!(flat.prefer_full_read(&many));
    }

    #[test]
    fn draining_a_parked_server_is_refused() {
        let (texts, topo) = (texts(), topology());
        let mut f = fleet(&texts);
        assert_eq!(
            judge(&mut f, &topo, &cmd("set server bk/s3 state drain")),
            Err(Refusal::DrainWhileMaint)
        );
    }

    #[test]
    fn servers_that_track_the_written_one_count() {
        let (texts, topo) = (texts(), topology());
        assert_eq!(
            topo.followers("web", "w1"),
            vec![
                ("api".to_string(), "a1".to_string()),
                ("api".to_string(), "a2".to_string()),
            ]
        );
        assert_eq!(
            topo.backends_for(&[ServerRef::new("web", "w1").unwrap()]),
            vec!["web", "api"]
        );
        // web keeps w2, but api follows w1 entirely: drain w1 empties api.
        for c in [
            "set server web/w1 state drain",
            "set server web/w1 state maint",
            "set server web/w1 health down",
            "disable server web/w1",
        ] {
            let mut f = fleet(&texts);
            assert_eq!(
                judge(&mut f, &topo, &cmd(c)),
                Err(Refusal::LastInRotation {
                    backend: "api".into(),
                    server: "a1".into()
                }),
                "{c}"
            );
        }
        // A weight is not inherited.
        let mut f = fleet(&texts);
        assert_eq!(judge(&mut f, &topo, &cmd("set weight web/w1 0")), Ok(()));
        // The follower's backend unread: refused, never assumed fine.
        let mut f = fleet(&texts);
        f.remove("api");
        assert_eq!(
            judge(&mut f, &topo, &cmd("set server web/w1 state drain")),
            Err(Refusal::Unread {
                backend: "api".into()
            })
        );
    }

    #[test]
    fn a_percentage_is_of_the_configured_weight_rounded_down() {
        let (texts, topo) = (texts(), topology());
        // iweight 1: 50% is 0, as HAProxy computes it.
        let mut f = fleet(&texts);
        judge(&mut f, &topo, &cmd("set weight web/w2 50%")).unwrap();
        assert_eq!(f["web"][1].weight, Some(0));
        assert!(judge(&mut f, &topo, &cmd("set server web/w1 weight 99%")).is_err());
        let mut f = fleet(&texts);
        judge(&mut f, &topo, &cmd("set weight web/w2 300%")).unwrap();
        assert_eq!(f["web"][1].weight, Some(3));
        judge(&mut f, &topo, &cmd("set weight web/w2 010")).unwrap();
        assert_eq!(f["web"][1].weight, Some(10), "decimal, as HAProxy reads it");
    }

    #[test]
    fn writes_change_the_fields_the_guard_reads() {
        let (texts, topo) = (texts(), topology());
        let mut f = fleet(&texts);
        fn w1<'a>(f: &Fleet<'a>) -> Light<'a> {
            f["web"][0].clone()
        }
        apply(&mut f, &topo, &cmd("set server web/w1 state maint"));
        assert_eq!(w1(&f).admin, AdminState::FMAINT);
        assert_eq!(f["api"][1].admin, AdminState::IMAINT, "through a1 to a2");
        apply(&mut f, &topo, &cmd("set server web/w1 state drain"));
        apply(&mut f, &topo, &cmd("set server web/w1 state ready"));
        assert!(w1(&f).in_rotation());
        assert!(!f["api"][0].in_rotation(), "followers are not assumed back");
        apply(&mut f, &topo, &cmd("set server web/w1 health down"));
        assert!(!w1(&f).in_rotation());
        apply(&mut f, &topo, &cmd("set server web/w1 health up"));
        assert!(w1(&f).in_rotation());
    }

    #[test]
    fn health_stopping_takes_the_server_and_its_followers_out() {
        let (texts, topo) = (texts(), topology());
        let mut f = fleet(&texts);
        assert_eq!(
            judge(&mut f, &topo, &cmd("set server web/w1 health stopping")),
            Err(Refusal::LastInRotation {
                backend: "api".into(),
                server: "a1".into()
            })
        );
        assert_eq!(f["api"][1].op, 2, "refused: nothing changed");
        apply(&mut f, &topo, &cmd("set server web/w1 health stopping"));
        assert_eq!(f["api"][1].op, 3, "a2 follows through a1");
    }

    #[test]
    fn on_backups_only_the_last_backup_is_guarded() {
        // bk2: p1 primary in maintenance, b1 and b2 backups serving.
        let text = format!(
            "{HEADER}6 bk2 1 p1 127.0.0.1 0 1 1 1\n6 bk2 2 b1 127.0.0.1 2 0 1 1\n6 bk2 3 b2 127.0.0.1 2 0 1 1\n"
        );
        let topo = Topology::from_stat(
            &parse_stat("# pxname,svname,bck,tracked,\nbk2,p1,0,,\nbk2,b1,1,,\nbk2,b2,1,,\n")
                .unwrap(),
        );
        let mut f: Fleet = [("bk2".to_string(), light_states(&text).unwrap())].into();
        assert_eq!(
            judge(&mut f, &topo, &cmd("set server bk2/b1 state drain")),
            Ok(())
        );
        assert_eq!(
            judge(&mut f, &topo, &cmd("set server bk2/b2 state drain")),
            Err(Refusal::LastInRotation {
                backend: "bk2".into(),
                server: "b2".into()
            })
        );
    }

    #[test]
    fn drain_is_refused_on_forced_maintenance_only() {
        let (texts, topo) = (texts(), topology());
        let mut f = fleet(&texts);
        // a2 inherits maintenance from w1: drain does not bring it back.
        judge(&mut f, &topo, &cmd("set server web/w2 state ready")).unwrap();
        f.get_mut("api").unwrap()[1].admin = AdminState::IMAINT;
        f.get_mut("api").unwrap()[1].op = 0;
        assert_eq!(
            judge(&mut f, &topo, &cmd("set server api/a2 state drain")),
            Ok(())
        );
    }

    #[test]
    fn a_huge_percentage_saturates_like_haproxy() {
        let (texts, topo) = (texts(), topology());
        let mut f = fleet(&texts);
        f.get_mut("web").unwrap()[1].iweight = Some(10);
        apply(
            &mut f,
            &topo,
            &cmd("set weight web/w2 1000000000000000000%"),
        );
        assert_eq!(f["web"][1].weight, Some(256));
    }

    #[test]
    fn the_scan_finds_fields_by_header_name() {
        let moved = "1\n# srv_name be_name srv_uweight srv_admin_state srv_op_state\nx bk 3 8 2\n";
        let l = light_states(moved).unwrap();
        assert_eq!(
            l,
            vec![Light {
                name: "x",
                op: 2,
                admin: 8,
                weight: Some(3),
                iweight: None,
            }]
        );
        assert!(light_states("No such backend.\n").is_none());
        assert!(light_states("1\n# srv_name srv_op_state srv_admin_state\nx two 0\n").is_none());
    }
}
