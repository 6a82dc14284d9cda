//! The write guard's I/O: what it reads before a write (backups and `track`
//! chains once per run, the state of every backend a write affects) and how
//! a refusal is told and journaled. The rules are pure, in `crate::actions::rotation`.

use super::{lock, Ctx, Snapshot};
use crate::actions::rotation::{self, light_states_reusing, Fleet, Refusal, Topology};
use crate::base::error::{Error, Result};
use crate::runtime::{Command, ServerRef, Target};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `show servers state <bk>` replies of one target, by backend.
/// (Shared with the run's view, which keeps the same replies.)
pub(super) type States = HashMap<String, Arc<str>>;

/// How old the view of a backend may be for the guard of a single write to
/// judge on it instead of reading it again. A loop of writes refreshes each
/// backend it writes (the state after comes in the write's round trip), so
/// it judges on state a write or two old; anything slower (a playbook that
/// polls between writes, the REPL) reads again. A read of its own is
/// itself a round trip old when the write lands: this keeps the gap of the
/// same order, shorter than any health check interval.
pub(super) const FRESH: Duration = Duration::from_millis(100);

/// Guard reads of single backends after which, in one run, the next miss
/// reads every backend at once: a loop over many backends then costs one
/// `show servers state` per [`FRESH`] instead of a round trip per write.
const MISSES_BEFORE_FULL_READ: usize = 3;

/// Servers in rotation per backend, as the guard counted them before a write.
pub(super) type Serving = Vec<(String, usize)>;

/// What a run has seen of one target's backends (`show servers state`).
#[derive(Default)]
pub(crate) struct Seen {
    /// Reply text and when it was asked for, by backend.
    backends: HashMap<String, (Arc<str>, Instant)>,
    /// Guard reads of single backends so far.
    misses: usize,
    /// How long the last read of every backend took.
    full_read: Option<Duration>,
}

impl Ctx {
    /// Keep the latest `show servers state` of `backend` on `target`.
    pub(super) fn remember_state(&self, target: &str, backend: &str, text: &Arc<str>) {
        self.remember_state_at(target, backend, text, Instant::now());
    }

    fn remember_state_at(&self, target: &str, backend: &str, text: &Arc<str>, asked: Instant) {
        let mut seen = lock(&self.seen);
        let view = match seen.get_mut(target) {
            Some(v) => v,
            None => seen.entry(target.to_string()).or_default(),
        };
        match view.backends.get_mut(backend) {
            Some(slot) => *slot = (text.clone(), asked),
            None => {
                view.backends
                    .insert(backend.to_string(), (text.clone(), asked));
            }
        }
    }

    /// The run's view of `backend` on `target`, if it is [`FRESH`].
    pub(super) fn fresh_state(&self, target: &str, backend: &str) -> Option<Arc<str>> {
        let seen = lock(&self.seen);
        let (text, at) = seen.get(target)?.backends.get(backend)?;
        (at.elapsed() <= FRESH).then(|| text.clone())
    }

    /// The state of `backends` for the guard: from the run's view where it
    /// is [`FRESH`], else read now.
    pub(super) fn guard_states(&self, target: &Target, backends: &[String]) -> Result<States> {
        let name = target.name();
        let (stale, full_read) = {
            let mut seen = lock(&self.seen);
            let view = seen.entry(name.clone()).or_default();
            let stale: Vec<String> = backends
                .iter()
                .filter(|b| {
                    view.backends
                        .get(*b)
                        .is_none_or(|(_, at)| at.elapsed() > FRESH)
                })
                .cloned()
                .collect();
            if !stale.is_empty() {
                view.misses += 1;
            }
            // Reading everything pays only when it is quick next to FRESH.
            let full_read = !stale.is_empty()
                && view.misses > MISSES_BEFORE_FULL_READ
                && view.full_read.is_none_or(|d| d < FRESH / 4);
            (stale, full_read)
        };
        if full_read {
            self.read_all_states(target)?;
        }
        let mut states = States::new();
        let mut missing = Vec::new();
        {
            let seen = lock(&self.seen);
            let view = seen.get(&name);
            for b in backends {
                match view.and_then(|v| v.backends.get(b)) {
                    Some((text, at)) if !stale.contains(b) || at.elapsed() <= FRESH => {
                        states.insert(b.clone(), text.clone());
                    }
                    _ => missing.push(b.clone()),
                }
            }
        }
        if !missing.is_empty() {
            states.extend(self.read_states(target, &missing)?);
        }
        Ok(states)
    }

    /// The run's view of `backend` on `target` at any age, else read now
    /// (as the guard reads: from the fourth miss of a run, every backend at
    /// once when that is quick). For names only: a backend and its servers
    /// change at runtime only by `add server`/`del server`, which clear the
    /// view, or by a reload.
    fn names_state(&self, target: &Target, backend: &str) -> Result<Arc<str>> {
        let seen = lock(&self.seen)
            .get(&target.name())
            .and_then(|v| v.backends.get(backend))
            .map(|(text, _)| text.clone());
        if let Some(text) = seen {
            return Ok(text);
        }
        let b = backend.to_string();
        let mut states = self.guard_states(target, std::slice::from_ref(&b))?;
        states
            .remove(&b)
            .ok_or_else(|| Error::Other(format!("backend {b} was not read")))
    }

    /// Before a write is sent, shown (dry-run) or judged: the backend it
    /// names, and the server unless it adds one, exist on every target of
    /// `client`. A name some target lacks refuses the write on all of them,
    /// journaled as refused on each: `no_such_backend` or `no_such_server`
    /// for the first target that lacks it. A target that does not answer
    /// ends it too (journaled as failed): nothing could be sent there.
    /// Commands that name no backend pass. Costs nothing when the run's
    /// view has the backend (any earlier read or write of it), else one
    /// `show servers state BACKEND` that the write then judges on.
    /// With `skip_unanswered` (a rolling change's check of every group
    /// before the first), a target that does not answer is left to its
    /// group, which stops there as it would have.
    pub(super) fn check_names(
        &self,
        client: &crate::runtime::Client,
        command: &Command,
        skip_unanswered: bool,
    ) -> Result<()> {
        let Some((backend, server)) = named_in(command) else {
            return Ok(());
        };
        let targets = client.targets();
        let mut lacking: Vec<(String, Error)> = Vec::new();
        for target in targets {
            let name = target.name();
            let text = match self.names_state(target, &backend) {
                Ok(text) => text,
                Err(Error::NoSuchBackend { .. } | Error::NoSuchServer { .. }) => {
                    lacking.push((
                        name.clone(),
                        Error::NoSuchBackend {
                            target: name,
                            command: command.to_string(),
                            note: String::new(),
                        },
                    ));
                    continue;
                }
                Err(e) if e.is_terminal() => return Err(e),
                Err(_) if skip_unanswered => continue,
                Err(e) => return Err(self.unanswered(targets, &name, command, e)),
            };
            if let Some(server) = &server {
                let missing =
                    |text: &str| matches!(super::snapshot_of(text, server), Snapshot::Missing);
                // The view may predate the server (another operator's `add
                // server`, a reload): a miss in it is read again before it
                // refuses anything; only a miss HAProxy confirms now counts.
                let confirmed = missing(&text)
                    && match self.fresh_state(&name, &backend) {
                        Some(fresh) => missing(&fresh),
                        None => match self.read_states(target, std::slice::from_ref(&backend)) {
                            Ok(now) => now.get(&backend).is_none_or(|t| missing(t)),
                            Err(e) if e.is_terminal() => return Err(e),
                            Err(Error::NoSuchBackend { .. }) => true,
                            Err(_) if skip_unanswered => false,
                            Err(e) => return Err(self.unanswered(targets, &name, command, e)),
                        },
                    };
                if confirmed {
                    lacking.push((
                        name.clone(),
                        Error::NoSuchServer {
                            target: name,
                            command: command.to_string(),
                            note: String::new(),
                        },
                    ));
                }
            }
        }
        let mut lacking = lacking.into_iter();
        let Some((_, mut e)) = lacking.next() else {
            return Ok(());
        };
        let others: Vec<String> = lacking.map(|(t, _)| t).collect();
        let note = match (targets.len(), others.as_slice()) {
            (1, _) => "; nothing was sent".to_string(),
            (n, []) => format!("; nothing was sent to any of the {n} targets"),
            (n, others) => format!(
                "; nothing was sent to any of the {n} targets (missing on {} too)",
                others.join(", ")
            ),
        };
        if let Error::NoSuchBackend { note: n, .. } | Error::NoSuchServer { note: n, .. } = &mut e {
            n.push_str(&note);
        }
        self.journal_refused(targets.iter(), command, &e.to_string());
        Err(e)
    }

    /// A target that could not tell whether it has the names: the write goes
    /// to no target (all or none). The journal says it failed there and, for
    /// each other target, that it was not sent and why.
    fn unanswered(
        &self,
        targets: &[Arc<Target>],
        name: &str,
        command: &Command,
        e: Error,
    ) -> Error {
        self.journal_note(name, command, "failed", Some(e.to_string()));
        let why = format!(
            "not sent: {name} did not answer the check of the names before the write ({e})"
        );
        self.journal_refused(targets.iter().filter(|t| t.name() != name), command, &why);
        e
    }

    /// `command` journaled as refused on each of `targets`, with `why`.
    fn journal_refused<'a>(
        &self,
        targets: impl Iterator<Item = &'a Arc<Target>>,
        command: &Command,
        why: &str,
    ) {
        if let Ok(j) = self.journal() {
            let entries: Vec<_> = targets
                .map(|t| {
                    let mut entry = j.entry(&t.name(), command.as_str(), "refused");
                    entry.error = Some(why.to_string());
                    entry.playbook = self.playbook_name();
                    entry
                })
                .collect();
            let _ = j.record_all(&entries);
        }
    }

    /// One `show servers state` of every backend, split into the view.
    /// (A backend with no server has no line there: it stays unseen.)
    fn read_all_states(&self, target: &Target) -> Result<()> {
        let asked = Instant::now();
        let text = self.block_on(target.send(&Command::show_servers_state(None)?))?;
        let took = asked.elapsed();
        let name = target.name();
        self.remember_dump(&name, &text, asked);
        lock(&self.seen).entry(name).or_default().full_read = Some(took);
        Ok(())
    }

    /// A `show servers state` of every backend, asked for at `asked`, kept
    /// in the run's view; returns it by backend.
    pub(super) fn remember_dump(
        &self,
        target: &str,
        text: &str,
        asked: Instant,
    ) -> HashMap<String, Arc<str>> {
        split_by_backend(text)
            .into_iter()
            .map(|(backend, part)| {
                let part: Arc<str> = Arc::from(part);
                self.remember_state_at(target, &backend, &part, asked);
                (backend, part)
            })
            .collect()
    }

    /// `show cli level` of `target`, once per run (`None` before HAProxy
    /// 2.4, or when it cannot be read).
    pub(super) fn socket_level(&self, target: &str) -> Option<String> {
        if let Some(level) = lock(&self.levels).get(target) {
            return level.clone();
        }
        let t = self.client.targets().iter().find(|t| t.name() == target)?;
        let level = Command::raw("show cli level")
            .ok()
            .and_then(|c| self.block_on(t.send(&c)).ok())
            .map(|l| l.trim().to_string())
            .filter(|l| matches!(l.as_str(), "admin" | "operator" | "user"));
        lock(&self.levels).insert(target.to_string(), level.clone());
        level
    }

    /// The target's backups and `track` chains, read once per run with
    /// `show stat -1 4 -1` (configuration: they do not change at runtime).
    pub(super) fn topology(&self, target: &Target) -> Result<Arc<Topology>> {
        let name = target.name();
        if let Some(t) = lock(&self.topologies).get(&name) {
            return Ok(t.clone());
        }
        let stat = self.block_on(target.stat(&Command::raw("show stat -1 4 -1")?))?;
        let t = Arc::new(Topology::from_stat(&stat));
        lock(&self.topologies).insert(name, t.clone());
        Ok(t)
    }

    /// `show servers state <bk>` of each backend, in one pipelined round
    /// trip. Reads only: Ctrl-C and the deadline stop it at once. Each
    /// reply also refreshes the run's view (see [`Ctx::remember_state`]).
    pub(super) fn read_states(&self, target: &Target, backends: &[String]) -> Result<States> {
        let shows = backends
            .iter()
            .map(|b| Command::show_servers_state(Some(b)))
            .collect::<Result<Vec<Command>>>()?;
        let refs: Vec<&Command> = shows.iter().collect();
        let replies = self.block_on(target.send_batch(&refs))?;
        let mut states = States::new();
        let name = target.name();
        for (b, reply) in backends.iter().zip(replies) {
            let text: Arc<str> = Arc::from(reply?);
            self.remember_state(&name, b, &text);
            states.insert(b.clone(), text);
        }
        Ok(states)
    }

    /// A refusal as the playbook sees it, journaled. `context` ends the
    /// message (what happened to the rest of a batch).
    pub(super) fn refuse(
        &self,
        refusal: Refusal,
        server: &ServerRef,
        command: &Command,
        target: &str,
        context: &str,
    ) -> Error {
        let (why, e) = self.refusal_error(refusal, server, command, target, context);
        self.journal_note(target, command, "refused", Some(why));
        e
    }

    /// A refusal's short reason (for the journal) and its error. When the
    /// socket is below `level admin`, the message says the write could not
    /// have been done on it anyway.
    pub(super) fn refusal_error(
        &self,
        refusal: Refusal,
        server: &ServerRef,
        command: &Command,
        target: &str,
        context: &str,
    ) -> (String, Error) {
        let force = "(use force: true / --force if that is what you want)";
        let (why, reason) = match refusal {
            Refusal::DrainWhileMaint => ("in maintenance".to_string(), format!(
                "{server} is in maintenance on {target}: setting it to drain would bring back health checks and persistent clients; leave it in maintenance (drain with then: \"maint\" is a no-op), or pass force: true / --force to do it anyway{context}"
            )),
            Refusal::LastInRotation { backend, server: last }
                if backend == server.backend && last == server.server =>
            {
                ("last UP server".to_string(), format!(
                    "{server} is the last UP server of backend `{backend}` on {target}: `{command}` would leave it without servers {force}{context}"
                ))
            }
            Refusal::LastInRotation { backend, server: last } => (
                format!("last UP server of {backend} tracks it"),
                format!(
                    "`{command}` would also take out {backend}/{last}, which tracks {server} and is the last UP server of backend `{backend}` on {target} {force}{context}"
                ),
            ),
            Refusal::Unread { backend } => (
                format!("backend {backend} unread"),
                format!(
                    "could not read backend `{backend}` (its servers track {server}) on {target}: `{command}` was not sent {force}{context}"
                ),
            ),
        };
        let reason = match self.socket_level(target) {
            Some(level) if level != "admin" => format!(
                "{reason}; besides, this socket is at level {level} (`show cli level`): HAProxy would refuse the write on it anyway (Permission denied), with or without force; use the admin socket"
            ),
            _ => reason,
        };
        (why, Error::Refused { reason })
    }

    /// The guard for one write, on every target: refuse to take the last
    /// server in rotation out of a backend (backups do not count; servers
    /// that `track` the written one go with it) and to drain a parked
    /// server. Returns each target's state of the server before, from the
    /// same read.
    pub(super) fn last_server_guard(
        &self,
        server: &ServerRef,
        command: &Command,
    ) -> Result<(Vec<Option<Snapshot>>, Vec<Serving>)> {
        let mut before = Vec::new();
        let mut serving_before = Vec::new();
        for target in self.scoped_client().targets() {
            let name = target.name();
            let unverifiable = |why: String| {
                self.journal_note(&name, command, "refused", Some(why.clone()));
                Error::Refused {
                    reason: format!(
                        "could not check that {server} is not the last UP server of backend `{}` on {name} ({why}); `{command}` was not sent (use force: true / --force to send it anyway)",
                        server.backend
                    ),
                }
            };
            // HAProxy not answering is not a guard decision: nothing can be
            // sent either, and --force would not help. Say that (exit 3).
            let unanswered = |e: Error| {
                self.journal_note(&name, command, "failed", Some(e.to_string()));
                e
            };
            let topology = match self.topology(target) {
                Ok(t) => t,
                Err(e) if e.is_terminal() => return Err(e),
                Err(e) if e.exit_code() == crate::base::error::ExitCode::Unreachable => {
                    return Err(unanswered(e))
                }
                Err(e) => return Err(unverifiable(e.to_string())),
            };
            let backends = topology.backends_for([server]);
            let states = match self.guard_states(target, &backends) {
                Ok(s) => s,
                Err(e) if e.is_terminal() => return Err(e),
                // A missing backend: the write would fail the same way; say it now.
                Err(e @ Error::NoSuchBackend { .. }) => return Err(e),
                Err(e) if e.exit_code() == crate::base::error::ExitCode::Unreachable => {
                    return Err(unanswered(e))
                }
                Err(e) => return Err(unverifiable(e.to_string())),
            };
            let mut fleet = match fleet_of(&name, &states) {
                Ok(f) => f,
                Err(e) => return Err(unverifiable(e.to_string())),
            };
            before.push(Some(Snapshot::of(
                fleet[&server.backend]
                    .iter()
                    .find(|l| l.name == server.server),
            )));
            serving_before.push(
                backends
                    .iter()
                    .filter_map(|b| rotation::serving(&fleet, &topology, b).map(|n| (b.clone(), n)))
                    .collect(),
            );
            if let Err(refusal) = rotation::judge(&mut fleet, &topology, command) {
                return Err(self.refuse(refusal, server, command, &name, ""));
            }
        }
        Ok((before, serving_before))
    }

    /// After a write the guard let through: the backends (of `before`)
    /// that had servers in rotation and have none in `after`.
    pub(super) fn emptied(&self, target: &str, before: &Serving, after: &States) -> Vec<String> {
        let Some(topology) = lock(&self.topologies).get(target).cloned() else {
            return Vec::new();
        };
        let Ok(fleet) = fleet_of(target, after.iter()) else {
            return Vec::new();
        };
        before
            .iter()
            .filter(|(b, n)| *n > 0 && rotation::serving(&fleet, &topology, b) == Some(0))
            .map(|(b, _)| b.clone())
            .collect()
    }
}

/// A `show servers state` of every backend as one reply per backend, each
/// with the version line and the header, as `show servers state <bk>`
/// answers. Lines are grouped by `be_name`; a reply that is not the format
/// gives nothing.
pub(super) fn split_by_backend<'t>(text: &'t str) -> Vec<(String, String)> {
    let mut lines = text.split_inclusive('\n');
    let (Some(version), Some(header)) = (lines.next(), lines.next()) else {
        return Vec::new();
    };
    let Some(col) = header
        .strip_prefix('#')
        .and_then(|h| h.split_whitespace().position(|f| f == "be_name"))
    else {
        return Vec::new();
    };
    // HAProxy lists a backend's servers together: each backend is one run
    // of lines, copied once behind the version line and the header.
    let head = version.len() + header.len();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut index: HashMap<&'t str, usize> = HashMap::new();
    let mut run: Option<(&'t str, usize, usize)> = None;
    let mut flush = |run: Option<(&'t str, usize, usize)>, out: &mut Vec<(String, String)>| {
        let Some((be, from, to)) = run else { return };
        match index.get(be) {
            // Not together after all: appended to its earlier run.
            Some(&i) => out[i].1.push_str(&text[from..to]),
            None => {
                let mut part = String::with_capacity(head + to - from);
                part.push_str(version);
                part.push_str(header);
                part.push_str(&text[from..to]);
                index.insert(be, out.len());
                out.push((be.to_string(), part));
            }
        }
    };
    let mut at = head;
    for line in lines {
        let (from, to) = (at, at + line.len());
        at = to;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(be) = line.split(' ').filter(|f| !f.is_empty()).nth(col) else {
            continue;
        };
        match &mut run {
            Some((b, _, end)) if *b == be && *end == from => *end = to,
            _ => {
                flush(run.take(), &mut out);
                run = Some((be, from, to));
            }
        }
    }
    flush(run, &mut out);
    out
}

/// The backend a write names, and its server unless the write adds it:
/// `backend/server` of the commands about one server, or the `backend
/// NAME` of those about a whole backend (`enable|disable dynamic-cookie
/// backend`, `set dynamic-cookie-key backend`). `None` for a command that
/// names no backend.
pub(super) fn named_in(command: &Command) -> Option<(String, Option<String>)> {
    let words: Vec<&str> = command.as_str().split(' ').collect();
    if let Some(s) = command.server_ref() {
        let adds = matches!(words.as_slice(), ["add", "server", ..]);
        return Some((s.backend, (!adds).then_some(s.server)));
    }
    match words.as_slice() {
        ["enable" | "disable", "dynamic-cookie", "backend", b, ..]
        | ["set", "dynamic-cookie-key", "backend", b, ..] => Some((b.to_string(), None)),
        _ => None,
    }
}

/// The backends as the guard reads them, from `show servers state` replies.
pub(super) fn fleet_of<'a>(
    target: &str,
    states: impl IntoIterator<Item = (&'a String, &'a Arc<str>)>,
) -> Result<Fleet<'a>> {
    let mut columns = None;
    states
        .into_iter()
        .map(|(b, text)| {
            light_states_reusing(text, &mut columns)
                .map(|lines| (b.clone(), lines))
                .ok_or_else(|| Error::Malformed {
                    target: target.to_string(),
                    command: format!("show servers state {b}"),
                    detail: "not the `show servers state` format".into(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{named_in, split_by_backend};
    use crate::runtime::Command;

    #[test]
    fn writes_name_the_backend_and_server_to_check_before_sending() {
        let named = |c: &str| named_in(&Command::raw(c).unwrap());
        let both = |b: &str, s: &str| Some((b.to_string(), Some(s.to_string())));
        assert_eq!(named("set server bk/s1 state drain"), both("bk", "s1"));
        assert_eq!(named("set weight bk/s1 5"), both("bk", "s1"));
        assert_eq!(named("enable agent bk/s1"), both("bk", "s1"));
        assert_eq!(named("del server bk/s1"), both("bk", "s1"));
        assert_eq!(named("shutdown sessions server bk/s1"), both("bk", "s1"));
        // A server being added does not exist yet: its backend must.
        assert_eq!(
            named("add server bk/new 127.0.0.1:80"),
            Some(("bk".to_string(), None))
        );
        assert_eq!(
            named("set dynamic-cookie-key backend bk k1"),
            Some(("bk".to_string(), None))
        );
        assert_eq!(
            named("disable dynamic-cookie backend bk"),
            Some(("bk".to_string(), None))
        );
        assert_eq!(named("set maxconn frontend fe 10"), None);
        assert_eq!(named("clear counters all"), None);
    }

    #[test]
    fn a_full_dump_splits_into_the_replies_each_backend_would_give() {
        let head = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state\n";
        let text = format!(
            "{head}3 bk 1 s1 127.0.0.1 2 0\n3 bk 2 s2 127.0.0.1 2 8\n4 web 1 w1 127.0.0.1 0 1\n3 bk 3 s3 127.0.0.1 2 0\n"
        );
        let parts = split_by_backend(&text);
        assert_eq!(
            parts,
            vec![
                (
                    "bk".to_string(),
                    format!("{head}3 bk 1 s1 127.0.0.1 2 0\n3 bk 2 s2 127.0.0.1 2 8\n3 bk 3 s3 127.0.0.1 2 0\n")
                ),
                ("web".to_string(), format!("{head}4 web 1 w1 127.0.0.1 0 1\n")),
            ]
        );
        assert!(split_by_backend("No such backend.\n").is_empty());
        assert!(split_by_backend("").is_empty());
    }
}
