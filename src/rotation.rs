//! The write guard's rules as pure functions: which writes take a server out
//! of rotation, and whether one would leave its backend without servers or
//! drain a parked server. They work on a light scan of `show servers state
//! <bk>` (fields found by header name, no per-field allocation) so bulk
//! writes in big backends stay cheap. A batch of writes is judged one write
//! at a time on the backend as the earlier writes of the batch leave it
//! ([`apply`]).

use crate::runtime::servers_state::{in_rotation, AdminState, OpState};
use crate::runtime::{Command, ServerRef};
use std::collections::HashSet;

/// One server line of `show servers state`: the fields the guard and the
/// journal read.
#[derive(Clone, Debug, PartialEq)]
pub struct Light<'a> {
    pub name: &'a str,
    pub op: i64,
    pub admin: u32,
    pub weight: Option<i64>,
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
    let (columns, lines) = light_header(text)?;
    lines.map(|l| light_line(l, &columns)).collect()
}

/// Where the fields the guard reads sit, from the header line.
pub struct LightColumns {
    name: usize,
    op: usize,
    admin: usize,
    weight: Option<usize>,
    last: usize,
}

/// The column positions and the data lines after the header.
pub fn light_header(text: &str) -> Option<(LightColumns, impl Iterator<Item = &str>)> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if lines.next().map(str::trim) != Some("1") {
        return None;
    }
    let header = lines.next()?.strip_prefix('#')?;
    let names: Vec<&str> = header.split_whitespace().collect();
    let pos = |n: &str| names.iter().position(|f| *f == n);
    let (name, op, admin) = (
        pos("srv_name")?,
        pos("srv_op_state")?,
        pos("srv_admin_state")?,
    );
    let weight = pos("srv_uweight");
    let last = name.max(op).max(admin).max(weight.unwrap_or(0));
    let columns = LightColumns {
        name,
        op,
        admin,
        weight,
        last,
    };
    Some((columns, lines.filter(|l| !l.starts_with('#'))))
}

/// One data line: the fields are walked once, up to the last one needed.
pub fn light_line<'a>(line: &'a str, c: &LightColumns) -> Option<Light<'a>> {
    let (mut name, mut op, mut admin, mut weight) = (None, None, None, None);
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
    }
    Some(Light {
        name: name?,
        op: op?,
        admin: admin?,
        weight,
    })
}

/// The server a write takes out of rotation, if it does: state drain or
/// maint, weight 0, health or agent forced down, `disable server`.
/// Commands are already in canonical form (single spaces, see `Command::raw`).
pub fn takes_out(command: &Command) -> Option<ServerRef> {
    let w: Vec<&str> = command.as_str().split(' ').collect();
    let zero = |v: &str| matches!(v, "0" | "0%");
    let out = match w.as_slice() {
        ["set", "server", _, "state", "drain" | "maint"] => true,
        ["set", "server", _, "weight", v] => zero(v),
        ["set", "weight", _, v] => zero(v),
        ["set", "server", _, "health" | "agent", "down"] => true,
        ["disable", "server", _] => true,
        _ => false,
    };
    if out {
        command.server_ref()
    } else {
        None
    }
}

/// Why the guard refuses a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It would take the last server in rotation (backups aside) out.
    LastInRotation,
    /// It would set a server in maintenance to drain, which brings back its
    /// health checks and persistent clients.
    DrainWhileMaint,
}

/// The guard's verdict on `command` (one [`takes_out`] says is guarded),
/// naming `server`, given the backend's lines and its backup servers.
pub fn verdict(
    lines: &[Light],
    backups: &HashSet<String>,
    server: &str,
    command: &Command,
) -> Option<Refusal> {
    let this = lines.iter().find(|l| l.name == server);
    let parked = this.is_some_and(|l| AdminState(l.admin).is_maint());
    if parked && command.as_str().ends_with(" state drain") {
        return Some(Refusal::DrainWhileMaint);
    }
    let others_up = lines
        .iter()
        .filter(|l| l.name != server && l.in_rotation() && !backups.contains(l.name))
        .count();
    if this.is_some_and(Light::in_rotation) && others_up == 0 {
        return Some(Refusal::LastInRotation);
    }
    None
}

/// What `command` does to the server it names, applied to `lines`: the
/// backend as the next write of a batch will find it. Only the fields the
/// guard reads change; a command it cannot predict (a weight in percent of a
/// weight it does not know) leaves the line as it is.
pub fn apply(lines: &mut [Light], command: &Command) {
    let w: Vec<&str> = command.as_str().split(' ').collect();
    let Some(server) = command.server_ref() else {
        return;
    };
    let Some(line) = lines.iter_mut().find(|l| l.name == server.server) else {
        return;
    };
    const RUNNING: i64 = 2;
    const STOPPED: i64 = 0;
    let weight = |v: &str| match v.strip_suffix('%') {
        Some("0") => Some(0),
        Some(_) => None,
        None => v.parse::<i64>().ok(),
    };
    match w.as_slice() {
        ["set", "server", _, "state", "drain"] => line.admin |= AdminState::FDRAIN,
        ["set", "server", _, "state", "maint"] | ["disable", "server", _] => {
            line.admin |= AdminState::FMAINT
        }
        // Only the forced bits: inherited maintenance or drain stays.
        ["set", "server", _, "state", "ready"] => {
            line.admin &= !(AdminState::FMAINT | AdminState::FDRAIN)
        }
        ["enable", "server", _] => line.admin &= !AdminState::FMAINT,
        ["set", "server", _, "weight", v] | ["set", "weight", _, v] => {
            if let Some(n) = weight(v) {
                line.weight = Some(n);
            }
        }
        ["set", "server", _, "health" | "agent", "down"] => line.op = STOPPED,
        ["set", "server", _, "health" | "agent", "up"] => line.op = RUNNING,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n\
        3 bk 1 s1 127.0.0.1 2 0 1 1\n\
        3 bk 2 s2 127.0.0.1 2 0 1 1\n\
        3 bk 3 s3 127.0.0.1 2 1 1 1\n\
        3 bk 4 b1 127.0.0.1 2 0 1 1\n";

    fn cmd(c: &str) -> Command {
        Command::raw(c).unwrap()
    }

    #[test]
    fn every_spelling_that_takes_a_server_out_is_guarded() {
        for c in [
            "set server bk/s1 state drain",
            "set server bk/s1 state  maint",
            "set server bk/s1\tstate maint",
            "set server bk/s1 weight 0",
            "set server bk/s1 weight 0%",
            "set weight bk/s1 0",
            "set server bk/s1 health down",
            "set server bk/s1 agent down",
            "disable server bk/s1",
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
            "set weight bk/s1 50%",
            "set server bk/s1 health up",
            "enable server bk/s1",
            "show servers state bk",
        ] {
            assert!(takes_out(&cmd(c)).is_none(), "{c:?}");
        }
    }

    #[test]
    fn the_last_server_in_rotation_is_refused_backups_aside() {
        let lines = light_states(STATE).unwrap();
        let backups: HashSet<String> = ["b1".to_string()].into();
        let drain = |s: &str| cmd(&format!("set server bk/{s} state drain"));
        assert_eq!(verdict(&lines, &backups, "s1", &drain("s1")), None);
        // s3 is in maintenance: draining it is refused whatever the others do.
        assert_eq!(
            verdict(&lines, &backups, "s3", &drain("s3")),
            Some(Refusal::DrainWhileMaint)
        );
        let mut lines = lines;
        apply(&mut lines, &drain("s1"));
        assert_eq!(
            verdict(&lines, &backups, "s2", &cmd("set weight bk/s2 0")),
            Some(Refusal::LastInRotation),
            "s1 drained earlier in the batch, b1 is a backup"
        );
        // Without the backup flag, b1 keeps the backend served.
        assert_eq!(verdict(&lines, &HashSet::new(), "s2", &drain("s2")), None);
        // A server already out of rotation is not "the last one".
        assert_eq!(verdict(&lines, &backups, "s1", &drain("s1")), None);
    }

    #[test]
    fn writes_change_the_fields_the_guard_reads() {
        let mut lines = light_states(STATE).unwrap();
        apply(&mut lines, &cmd("set server bk/s1 state maint"));
        assert_eq!(lines[0].admin, AdminState::FMAINT);
        apply(&mut lines, &cmd("set server bk/s1 state drain"));
        apply(&mut lines, &cmd("set server bk/s1 state ready"));
        assert!(lines[0].in_rotation());
        apply(&mut lines, &cmd("set server bk/s1 weight 0%"));
        assert_eq!(lines[0].weight, Some(0));
        apply(&mut lines, &cmd("set server bk/s1 weight 50%"));
        assert_eq!(
            lines[0].weight,
            Some(0),
            "a percentage of an unknown weight"
        );
        apply(&mut lines, &cmd("set weight bk/s1 7"));
        assert_eq!(lines[0].weight, Some(7));
        apply(&mut lines, &cmd("set server bk/s1 health down"));
        assert!(!lines[0].in_rotation());
        apply(&mut lines, &cmd("set server bk/s1 health up"));
        assert!(lines[0].in_rotation());
        // Inherited maintenance is not lifted by `state ready`.
        lines[0].admin = AdminState::IMAINT;
        apply(&mut lines, &cmd("set server bk/s1 state ready"));
        assert!(!lines[0].in_rotation());
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
                weight: Some(3)
            }]
        );
        assert!(light_states("No such backend.\n").is_none());
        assert!(light_states("1\n# srv_name srv_op_state srv_admin_state\nx two 0\n").is_none());
    }
}
