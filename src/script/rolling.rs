//! Rolling changes (`--serial`, or `serial` in a write's options): a write
//! primitive runs once per group of hosts, in inventory order, the write
//! path seeing only that group (see `ctx/rolling.rs`). The change stops at
//! the first group where a host's write or guard fails, or where a drain
//! is not done in time: the error keeps the kind (and exit code) of what
//! stopped it, and says which hosts were done, which failed and why, and
//! which were never touched (`e.rolling` has the same as data).

use super::ctx::{Ctx, Plan};
use super::errors::{invalid, to_rhai};
use crate::base::error::Error;
use crate::base::report::WriteRecord;
use crate::fleet::Serial;
use crate::runtime::Command;
use rhai::{Array, Dynamic, EvalAltResult, Map, Position};
use std::sync::Arc;

type R<T> = std::result::Result<T, Box<EvalAltResult>>;

/// What a write primitive returns, added up group by group.
pub trait Rolled: Sized {
    /// The next group's result after this one's.
    fn merge(&mut self, next: Self);
    /// The write outcomes so far (the error's `writes`).
    fn outcomes(&self) -> Array;
    /// Why the change stops after this group though nothing threw (a
    /// drain not done in time): the targets to blame, with why, and the
    /// error that tells it.
    fn stop(&self) -> Option<(Vec<(String, String)>, Error)> {
        None
    }
}

impl Rolled for Array {
    fn merge(&mut self, next: Self) {
        self.extend(next);
    }
    fn outcomes(&self) -> Array {
        self.clone()
    }
}

/// The serial setting of one write: its `serial` option (a number of
/// hosts, `"25%"`, `"1,5,25%"`; `0` for every host at once), else the
/// run's (`--serial`).
pub fn serial_of(ctx: &Ctx, opts: &Map) -> R<Option<Serial>> {
    match opts.get("serial") {
        None => Ok(ctx.settings.serial.clone()),
        Some(v) if v.is_unit() => Ok(ctx.settings.serial.clone()),
        Some(v) => {
            let text = match v.as_int() {
                Ok(n) if n >= 0 => n.to_string(),
                Ok(n) => {
                    return Err(invalid(
                        "option",
                        format!("serial: {n}"),
                        "expected a number of hosts, \"P%\" or a list such as \"1,5,25%\"",
                    ))
                }
                Err(_) => v.to_string(),
            };
            Serial::parse(&text).map(Some).map_err(to_rhai)
        }
    }
}

/// Run `step` over the write targets: once over all of them without a
/// serial setting (or with one group), else once per group, stopping at
/// the first that fails. Before the first group, the names of the writes
/// `commands` builds are checked on every target: a backend or server
/// that only a later group lacks stops the change before any group is
/// written, not after the first ones were.
pub fn roll<T: Rolled>(
    ctx: &Ctx,
    serial: Option<Serial>,
    commands: impl FnOnce() -> R<Vec<Command>>,
    mut step: impl FnMut() -> R<T>,
) -> R<T> {
    // A write inside a rolled one (drain's own writes) is in its group.
    let Some(serial) = serial.filter(|_| !ctx.in_group()) else {
        return step();
    };
    let plan = Arc::new(ctx.rolling_plan(&serial));
    if plan.groups.len() <= 1 {
        return step();
    }
    for command in commands()? {
        ctx.check_names_everywhere(&command)
            .map_err(|e| to_rhai(super::names::explained(ctx, e)))?;
    }
    let mut done: Option<T> = None;
    for i in 0..plan.groups.len() {
        let start = ctx.with_report(|r| r.writes.len());
        let result = {
            let _group = ctx.enter_group(&plan, i);
            step()
        };
        let records: Vec<WriteRecord> = ctx.with_report(|r| r.writes[start..].to_vec());
        let so_far = |done: &Option<T>| done.as_ref().map(|d| d.outcomes()).unwrap_or_default();
        match result {
            Ok(v) => {
                let stop = v.stop();
                match &mut done {
                    Some(d) => d.merge(v),
                    None => done = Some(v),
                }
                if let Some((blamed, e)) = stop {
                    let outcomes = so_far(&done);
                    return Err(stopped(&plan, i, &records, blamed, to_rhai(e), outcomes));
                }
            }
            Err(e) => {
                let outcomes = so_far(&done);
                return Err(stopped(&plan, i, &records, Vec::new(), e, outcomes));
            }
        }
    }
    Ok(done.expect("a plan of two groups or more ran at least one"))
}

/// Where a rolling change stopped, by host.
#[derive(Debug, Default, PartialEq)]
struct Where {
    /// Hosts of the groups before: every write went.
    done: Vec<String>,
    /// Hosts of the stopping group that failed, and why.
    failed: Vec<(String, String)>,
    /// Hosts of the stopping group whose writes went, the group unfinished.
    written: Vec<String>,
    /// Hosts of the stopping group no write reached.
    not_written: Vec<String>,
    /// Hosts of the later groups.
    untouched: Vec<String>,
}

/// Sort the hosts of `plan` by what group `at` and its writes (`records`)
/// did; `blamed` targets and the target of the error (`cause_target`)
/// count as failed.
fn locate(
    plan: &Plan,
    at: usize,
    records: &[WriteRecord],
    blamed: &[(String, String)],
    cause_target: Option<&str>,
    cause: &str,
) -> Where {
    let group = &plan.groups[at];
    let host = |target: &str| group.host_of(target).unwrap_or_else(|| target.to_string());
    let mut w = Where {
        done: plan.groups[..at]
            .iter()
            .flat_map(|g| g.hosts.iter().cloned())
            .collect(),
        untouched: plan.groups[at + 1..]
            .iter()
            .flat_map(|g| g.hosts.iter().cloned())
            .collect(),
        ..Where::default()
    };
    let mut fail = |h: String, why: String| {
        if !w.failed.iter().any(|(f, _)| *f == h) {
            w.failed.push((h, why));
        }
    };
    for r in records {
        if matches!(r.outcome.as_str(), "failed" | "unknown") {
            let why = r.error.clone().unwrap_or_else(|| r.outcome.clone());
            fail(host(&r.target), why);
        }
    }
    for (target, why) in blamed {
        fail(host(target), why.clone());
    }
    if let Some(t) = cause_target {
        if let Some(h) = group.host_of(t) {
            fail(h, cause.to_string());
        }
    }
    // An error that names no target (a guard's refusal) in a group of one
    // host, after the first group: that host's. In a larger group its
    // message names the host, and the hosts no write reached are listed as
    // such; so are the first group's when nothing was written at all (a
    // confirmation refused is no host's failure).
    if w.failed.is_empty() && records.is_empty() && at > 0 {
        if let [only] = group.hosts.as_slice() {
            w.failed.push((only.clone(), cause.to_string()));
        }
    }
    for h in &group.hosts {
        if w.failed.iter().any(|(f, _)| f == h) {
            continue;
        }
        let wrote = records.iter().any(|r| host(&r.target) == *h);
        if wrote {
            w.written.push(h.clone());
        } else {
            w.not_written.push(h.clone());
        }
    }
    w
}

impl Where {
    /// The lines that follow the error that stopped the change.
    fn text(&self, plan: &Plan, at: usize, cause: &str) -> String {
        let list = |hosts: &[String]| {
            if hosts.is_empty() {
                "none".to_string()
            } else {
                hosts.join(", ")
            }
        };
        let mut out = format!(
            "rolling change (--serial {}) stopped at group {} of {} ({}):\n  done: {}",
            plan.serial,
            at + 1,
            plan.groups.len(),
            plan.groups[at].hosts.join(", "),
            list(&self.done)
        );
        for (h, why) in &self.failed {
            if why == cause {
                out.push_str(&format!("\n  failed: {h} (the error above)"));
            } else {
                out.push_str(&format!("\n  failed: {h}: {why}"));
            }
        }
        if !self.written.is_empty() {
            out.push_str(&format!(
                "\n  written in this group, which did not finish: {}",
                self.written.join(", ")
            ));
        }
        if !self.not_written.is_empty() {
            out.push_str(&format!(
                "\n  not written in this group: {}",
                self.not_written.join(", ")
            ));
        }
        out.push_str(&format!("\n  never touched: {}", list(&self.untouched)));
        out
    }

    fn to_map(&self, plan: &Plan, at: usize) -> Map {
        let hosts = |v: &[String]| -> Dynamic {
            Dynamic::from_array(v.iter().cloned().map(Dynamic::from).collect())
        };
        let mut m = Map::new();
        m.insert("serial".into(), plan.serial.to_string().into());
        m.insert("group".into(), ((at + 1) as i64).into());
        m.insert("groups".into(), (plan.groups.len() as i64).into());
        m.insert("done".into(), hosts(&self.done));
        m.insert(
            "failed".into(),
            Dynamic::from_array(
                self.failed
                    .iter()
                    .map(|(h, why)| {
                        let mut f = Map::new();
                        f.insert("host".into(), h.clone().into());
                        f.insert("error".into(), why.clone().into());
                        Dynamic::from_map(f)
                    })
                    .collect(),
            ),
        );
        m.insert("written".into(), hosts(&self.written));
        m.insert("not_written".into(), hosts(&self.not_written));
        m.insert("untouched".into(), hosts(&self.untouched));
        m
    }
}

/// The error that stopped the change at group `at`, with where it stopped:
/// same kind and exit code (Ctrl-C and the deadline still terminate), the
/// message followed by where, `e.rolling`, and every write outcome so far
/// as `e.writes`.
fn stopped(
    plan: &Plan,
    at: usize,
    records: &[WriteRecord],
    blamed: Vec<(String, String)>,
    cause: Box<EvalAltResult>,
    outcomes: Array,
) -> Box<EvalAltResult> {
    let (payload, terminal, pos) = match &*cause {
        EvalAltResult::ErrorRuntime(d, pos) => (d.clone(), false, *pos),
        EvalAltResult::ErrorTerminated(d, pos) => (d.clone(), true, *pos),
        _ => return cause,
    };
    let Some(mut map) = payload.clone().try_cast::<Map>() else {
        return rebuild(payload, terminal, pos);
    };
    let Some(message) = map.get("message").map(|m| m.to_string()) else {
        return rebuild(payload, terminal, pos);
    };
    let target = map.get("target").map(|t| t.to_string());
    let w = locate(plan, at, records, &blamed, target.as_deref(), &message);
    map.insert(
        "message".into(),
        format!("{message}\n{}", w.text(plan, at, &message)).into(),
    );
    let mut writes = outcomes;
    if let Some(earlier) = map
        .get("writes")
        .and_then(|a| a.clone().try_cast::<Array>())
    {
        // The stopping group's own outcomes (a batch) come after the others.
        writes.extend(earlier);
    }
    map.insert("writes".into(), writes.into());
    map.insert("rolling".into(), w.to_map(plan, at).into());
    rebuild(Dynamic::from_map(map), terminal, pos)
}

fn rebuild(payload: Dynamic, terminal: bool, pos: Position) -> Box<EvalAltResult> {
    Box::new(if terminal {
        EvalAltResult::ErrorTerminated(payload, pos)
    } else {
        EvalAltResult::ErrorRuntime(payload, pos)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Address, Target};
    use std::time::Duration;

    fn plan(groups: &[&[&str]]) -> Plan {
        let groups = groups
            .iter()
            .map(|hosts| super::super::ctx::Group {
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
                targets: hosts
                    .iter()
                    .map(|h| {
                        let a = Address::parse(&format!("/run/{h}.sock")).unwrap();
                        Arc::new(Target::new(a, Duration::from_secs(1)).host(*h))
                    })
                    .collect(),
            })
            .collect();
        Plan {
            serial: Serial::parse("1,2").unwrap(),
            groups,
        }
    }

    fn record(target: &str, outcome: &str, error: Option<&str>) -> WriteRecord {
        WriteRecord {
            target: target.into(),
            command: "set server bk/s1 state drain".into(),
            outcome: outcome.into(),
            error: error.map(String::from),
            group: Some(2),
        }
    }

    fn hosts(v: &[&str]) -> Vec<String> {
        v.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn hosts_are_sorted_by_what_the_stopping_group_did() {
        let p = plan(&[&["lb1"], &["lb2", "lb3", "lb4"], &["lb5"]]);
        let records = [
            record("lb2", "sent", None),
            record(
                "lb3",
                "failed",
                Some("lb3: `set server` failed: No such server."),
            ),
        ];
        let w = locate(&p, 1, &records, &[], None, "cause");
        assert_eq!(w.done, hosts(&["lb1"]));
        assert_eq!(
            w.failed,
            vec![(
                "lb3".to_string(),
                "lb3: `set server` failed: No such server.".to_string()
            )]
        );
        assert_eq!(w.written, hosts(&["lb2"]));
        assert_eq!(w.not_written, hosts(&["lb4"]));
        assert_eq!(w.untouched, hosts(&["lb5"]));
        let text = w.text(&p, 1, "cause");
        assert!(text.starts_with("rolling change (--serial 1,2) stopped at group 2 of 3 (lb2, lb3, lb4):\n  done: lb1\n  failed: lb3: lb3: `set server`"), "{text}");
        assert!(text.ends_with("written in this group, which did not finish: lb2\n  not written in this group: lb4\n  never touched: lb5"), "{text}");
    }

    #[test]
    fn an_error_is_its_target_host_s_and_a_targetless_one_only_in_a_later_group_of_one() {
        let p = plan(&[&["lb1"], &["lb2", "lb3"], &["lb4"]]);
        // Named as errors name an inventory host: with its socket.
        let w = locate(
            &p,
            1,
            &[],
            &[],
            Some("lb3 (/run/lb3.sock)"),
            "lb3 (/run/lb3.sock): cannot connect",
        );
        assert_eq!(w.failed[0].0, "lb3");
        assert_eq!(w.not_written, hosts(&["lb2"]));
        // A refusal names no target: in a group of two, nobody is blamed.
        let w = locate(&p, 1, &[], &[], None, "write refused: ... on lb2");
        assert!(w.failed.is_empty());
        assert_eq!(w.not_written, hosts(&["lb2", "lb3"]));
        // In a later group of one, it is that host's.
        let w = locate(&p, 2, &[], &[], None, "write refused");
        assert_eq!(
            w.failed,
            vec![("lb4".to_string(), "write refused".to_string())]
        );
        assert_eq!(w.done, hosts(&["lb1", "lb2", "lb3"]));
        assert_eq!(
            w.text(&p, 2, "write refused").lines().nth(2),
            Some("  failed: lb4 (the error above)")
        );
        // In the first group with nothing written (a confirmation refused): nobody's.
        let w = locate(&p, 0, &[], &[], None, "write refused: not confirmed");
        assert!(w.failed.is_empty());
        assert_eq!(w.not_written, hosts(&["lb1"]));
        assert_eq!(w.untouched, hosts(&["lb2", "lb3", "lb4"]));
        // Blamed targets (a drain not done in time).
        let blamed = [("lb1".to_string(), "bk/s1: still 2 session(s)".to_string())];
        let w = locate(
            &p,
            0,
            &[record("lb1", "sent", None)],
            &blamed,
            Some("lb1"),
            "timed out",
        );
        assert_eq!(w.failed, blamed.to_vec());
        assert!(w.written.is_empty() && w.not_written.is_empty());
    }
}
