//! The write guard's I/O: what it reads before a write (backups and `track`
//! chains once per run, the state of every backend a write affects) and how
//! a refusal is told and journaled. The rules are pure, in `crate::actions::rotation`.

use super::{lock, Ctx, Snapshot};
use crate::actions::rotation::{self, light_states, Fleet, Refusal, Topology};
use crate::base::error::{Error, Result};
use crate::runtime::{Command, ServerRef, Target};
use std::collections::HashMap;
use std::sync::Arc;

/// Requests per round trip when many go out together. A chunk's request
/// (under 8 KiB, even with long names) is written whole before any reply is
/// read: it fits the socket buffer, so this cannot stall against HAProxy.
pub(super) const CHUNK: usize = 64;

/// `show servers state <bk>` replies of one target, by backend.
pub(super) type States = HashMap<String, String>;

impl Ctx {
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

    /// `show servers state <bk>` of each backend, pipelined. Reads only:
    /// Ctrl-C and the deadline stop it at once.
    pub(super) fn read_states(&self, target: &Target, backends: &[String]) -> Result<States> {
        let mut states = States::new();
        for chunk in backends.chunks(CHUNK) {
            let shows = chunk
                .iter()
                .map(|b| Command::show_servers_state(Some(b)))
                .collect::<Result<Vec<Command>>>()?;
            let refs: Vec<&Command> = shows.iter().collect();
            let replies = self.block_on(target.send_batch(&refs))?;
            for (b, reply) in chunk.iter().zip(replies) {
                states.insert(b.clone(), reply?);
            }
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
        self.journal_note(target, command, "refused", Some(why));
        Error::Refused { reason }
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
    ) -> Result<Vec<Option<Snapshot>>> {
        let mut before = Vec::new();
        for target in self.client.targets() {
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
            let states = match self.read_states(target, &backends) {
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
            if let Err(refusal) = rotation::judge(&mut fleet, &topology, command) {
                return Err(self.refuse(refusal, server, command, &name, ""));
            }
        }
        Ok(before)
    }
}

/// The backends as the guard reads them, from `show servers state` replies.
pub(super) fn fleet_of<'a>(
    target: &str,
    states: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<Fleet<'a>> {
    states
        .into_iter()
        .map(|(b, text)| {
            light_states(text)
                .map(|lines| (b.clone(), lines))
                .ok_or_else(|| Error::Malformed {
                    target: target.to_string(),
                    command: format!("show servers state {b}"),
                    detail: "not the `show servers state` format".into(),
                })
        })
        .collect()
}
