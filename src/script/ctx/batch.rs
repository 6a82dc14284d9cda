//! Many writes as one: every server is found and the whole batch is judged
//! by the guard before anything is sent, then the commands go out pipelined
//! in chunks. Each command still gets its own journal line, with the
//! server's state as last read before its chunk and as read right after it.

use super::{lock, snapshot_of, Ctx, WriteOutcome};
use crate::error::{Error, Result};
use crate::journal::Entry;
use crate::rotation::{self, light_states, takes_out};
use crate::runtime::{Command, ServerRef, Target};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Commands per round trip. A chunk's request (about 40 bytes a command)
/// and its replies stay far below the socket buffers, so writing a whole
/// chunk before reading cannot stall against HAProxy; and a command is never
/// more than one chunk ahead of its journal line.
const CHUNK: usize = 64;

/// `show servers state <bk>` replies of one target, by backend.
type States = HashMap<String, String>;

impl Ctx {
    /// Send `commands`, each naming one server, as a batch on every target.
    ///
    /// Before anything is sent: every server must exist on every target
    /// (`no_such_server` otherwise), and the guard judges each write on the
    /// backend as the earlier writes of the batch leave it, so draining
    /// every server of a backend one by one is refused up front, with
    /// nothing sent. Dry-run, read-only and confirmation (asked once for the
    /// whole batch) work as for [`Ctx::write_detailed`].
    ///
    /// Then the commands go out in chunks of 64, each chunk followed by
    /// `show servers state` of its backends, one round trip per chunk and
    /// target; each command is journaled when its chunk's replies are in.
    /// The first chunk with a failed command is the last one sent.
    pub fn write_many(&self, commands: &[Command], force: bool) -> Result<Vec<WriteOutcome>> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let targets: Vec<Arc<Target>> = self.client.targets().to_vec();
        if targets.is_empty() {
            return Err(Error::Other(
                "no HAProxy socket to send to (pass -s ADDR)".into(),
            ));
        }
        let servers = commands
            .iter()
            .map(|c| {
                c.server_ref().ok_or_else(|| Error::InvalidInput {
                    what: "batch command",
                    value: c.to_string(),
                    reason: "a batch takes commands that name one server".into(),
                })
            })
            .collect::<Result<Vec<ServerRef>>>()?;
        if self.settings.read_only {
            for t in &targets {
                for c in commands {
                    self.journal_note(&t.name(), c, "refused", Some("read-only".into()));
                }
            }
            return Err(Error::Refused {
                reason: format!(
                    "--read-only is set; {} commands (from `{}`) were not sent",
                    commands.len(),
                    commands[0]
                ),
            });
        }
        let guarded = !(force || self.settings.force);
        let mut states = self.batch_states(&targets, commands, &servers, guarded)?;
        if self.settings.dry_run {
            return self.batch_dry_run(&targets, commands, &servers, &states);
        }
        self.require_admin_level(&targets, &commands[0])?;
        if self.needs_confirmation() {
            let planned: Vec<String> = targets
                .iter()
                .flat_map(|t| commands.iter().map(move |c| format!("{}: {c}", t.name())))
                .collect();
            let ok = match &self.confirm {
                Some(c) => c.confirm(&planned),
                None => {
                    return Err(Error::Refused {
                        reason: format!(
                            "{} commands (from `{}`) change HAProxy's state and there is no terminal to confirm on: pass --yes (or --dry-run to see the commands)",
                            commands.len(),
                            commands[0]
                        ),
                    })
                }
            };
            if !ok {
                return Err(Error::Refused {
                    reason: "not confirmed".into(),
                });
            }
            self.confirmed.store(true, Ordering::SeqCst);
            // The backends may have changed while the operator read the list.
            states = self.batch_states(&targets, commands, &servers, guarded)?;
        }
        self.batch_send(&targets, commands, &servers, states)
    }

    /// Refuse up front, with one journal line, on a socket below `level
    /// admin`: HAProxy would answer `Permission denied` to every command of
    /// the first chunk. (`show cli level` exists since HAProxy 2.4; on older
    /// versions the first chunk tells.)
    fn require_admin_level(&self, targets: &[Arc<Target>], first: &Command) -> Result<()> {
        let ask = Command::raw("show cli level")?;
        for target in targets {
            let level = match self.block_on(target.send(&ask)) {
                Ok(reply) => reply.trim().to_string(),
                Err(e) if e.is_terminal() => return Err(e),
                Err(_) => continue,
            };
            if matches!(level.as_str(), "operator" | "user") {
                let name = target.name();
                self.journal_note(
                    &name,
                    first,
                    "refused",
                    Some(format!("socket level {level}")),
                );
                return Err(Error::PermissionDenied {
                    target: name,
                    command: format!(
                        "{first} (a batch; nothing was sent; `show cli level` says {level})"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Read every backend of the batch on every target, then check that each
    /// server exists and that the guard lets each write through.
    fn batch_states(
        &self,
        targets: &[Arc<Target>],
        commands: &[Command],
        servers: &[ServerRef],
        guarded: bool,
    ) -> Result<Vec<States>> {
        let mut backends: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        for s in servers {
            if seen.insert(s.backend.as_str()) {
                backends.push(&s.backend);
            }
        }
        // Backups only matter to the guard, so only where it has a say.
        let guarded_backends: HashSet<&str> = commands
            .iter()
            .zip(servers)
            .filter(|(c, _)| guarded && takes_out(c).is_some())
            .map(|(_, s)| s.backend.as_str())
            .collect();
        let mut all = Vec::new();
        for target in targets {
            let name = target.name();
            let states = self.read_backends(target, &backends)?;
            let backups = self.read_backups(target, &guarded_backends)?;
            self.judge(&name, commands, servers, &states, &backups, guarded)?;
            all.push(states);
        }
        Ok(all)
    }

    /// `show servers state <bk>` for each backend, pipelined in chunks.
    fn read_backends(&self, target: &Target, backends: &[&str]) -> Result<States> {
        let mut states = States::new();
        for chunk in backends.chunks(CHUNK) {
            let shows = chunk
                .iter()
                .map(|b| Command::show_servers_state(Some(b)))
                .collect::<Result<Vec<Command>>>()?;
            let refs: Vec<&Command> = shows.iter().collect();
            let replies = self.block_on(target.send_batch(&refs))?;
            for (b, reply) in chunk.iter().zip(replies) {
                states.insert(b.to_string(), reply?);
            }
        }
        Ok(states)
    }

    /// The backup servers of each backend (from `show stat <bk> 4 -1`, once
    /// per run: `backup` is configuration).
    fn read_backups(
        &self,
        target: &Target,
        backends: &HashSet<&str>,
    ) -> Result<HashMap<String, HashSet<String>>> {
        let name = target.name();
        let mut out = HashMap::new();
        let mut unknown = Vec::new();
        for b in backends {
            match lock(&self.backups).get(&(name.clone(), b.to_string())) {
                Some(known) => {
                    out.insert(b.to_string(), known.clone());
                }
                None => unknown.push(*b),
            }
        }
        for chunk in unknown.chunks(CHUNK) {
            let stats = chunk
                .iter()
                .map(|b| Command::raw(&format!("show stat {b} 4 -1")))
                .collect::<Result<Vec<Command>>>()?;
            let refs: Vec<&Command> = stats.iter().collect();
            let replies = self.block_on(target.send_batch(&refs))?;
            for (b, reply) in chunk.iter().zip(replies) {
                let st =
                    crate::runtime::stat::parse_stat(&reply?).map_err(|e| Error::Malformed {
                        target: name.clone(),
                        command: format!("show stat {b} 4 -1"),
                        detail: e.to_string(),
                    })?;
                let set: HashSet<String> = (0..st.len())
                    .filter(|&r| st.int(r, "bck").unwrap_or(0) > 0)
                    .filter_map(|r| st.text(r, "svname").map(str::to_string))
                    .collect();
                lock(&self.backups).insert((name.clone(), b.to_string()), set.clone());
                out.insert(b.to_string(), set);
            }
        }
        Ok(out)
    }

    /// Walk the batch in order on one target's state: a missing server or a
    /// write the guard refuses stops the batch before anything is sent.
    fn judge(
        &self,
        target: &str,
        commands: &[Command],
        servers: &[ServerRef],
        states: &States,
        backups: &HashMap<String, HashSet<String>>,
        guarded: bool,
    ) -> Result<()> {
        let mut lines: HashMap<&str, Vec<rotation::Light>> = HashMap::new();
        for (b, text) in states {
            let parsed = light_states(text).ok_or_else(|| Error::Malformed {
                target: target.to_string(),
                command: format!("show servers state {b}"),
                detail: "not the `show servers state` format".into(),
            })?;
            lines.insert(b, parsed);
        }
        let no_backups = HashSet::new();
        for (command, server) in commands.iter().zip(servers) {
            let Some(backend) = lines.get_mut(server.backend.as_str()) else {
                continue;
            };
            if !backend.iter().any(|l| l.name == server.server) {
                return Err(Error::NoSuchServer {
                    target: target.to_string(),
                    command: format!("{command} (nothing of the batch was sent)"),
                });
            }
            if guarded && takes_out(command).is_some() {
                let b = backups.get(&server.backend).unwrap_or(&no_backups);
                if let Some(refusal) = rotation::verdict(backend, b, &server.server, command) {
                    return Err(self.refuse(refusal, server, command, target));
                }
            }
            rotation::apply(backend, command);
        }
        Ok(())
    }

    fn batch_dry_run(
        &self,
        targets: &[Arc<Target>],
        commands: &[Command],
        servers: &[ServerRef],
        states: &[States],
    ) -> Result<Vec<WriteOutcome>> {
        let mut out = Vec::new();
        let mut entries = Vec::new();
        for (target, states) in targets.iter().zip(states) {
            let name = target.name();
            for (command, server) in commands.iter().zip(servers) {
                let before = state_of(states, server);
                self.notice_write(&name, command, "dry-run");
                if let Ok(j) = self.journal() {
                    let mut e = j.entry(&name, command.as_str(), "dry-run");
                    e.before = before.clone();
                    e.playbook = self.playbook_name();
                    entries.push(e);
                }
                out.push(WriteOutcome {
                    target: name.clone(),
                    server: Some(server.clone()),
                    command: command.to_string(),
                    outcome: "dry-run",
                    reply: Ok(String::new()),
                    before,
                    after: None,
                });
            }
        }
        if let Ok(j) = self.journal() {
            j.record_all(&entries)?;
        }
        Ok(out)
    }

    fn batch_send(
        &self,
        targets: &[Arc<Target>],
        commands: &[Command],
        servers: &[ServerRef],
        mut states: Vec<States>,
    ) -> Result<Vec<WriteOutcome>> {
        let journal = self.journal()?;
        let playbook = self.playbook_name();
        let mut out = Vec::with_capacity(commands.len() * targets.len());
        for (cmds, srvs) in commands.chunks(CHUNK).zip(servers.chunks(CHUNK)) {
            let mut backends: Vec<&str> = srvs.iter().map(|s| s.backend.as_str()).collect();
            backends.sort_unstable();
            backends.dedup();
            let shows = backends
                .iter()
                .map(|b| Command::show_servers_state(Some(b)))
                .collect::<Result<Vec<Command>>>()?;
            let exchange: Vec<&Command> = cmds.iter().chain(&shows).collect();
            let mut failed = false;
            for (target, states) in targets.iter().zip(states.iter_mut()) {
                let name = target.name();
                let before: Vec<_> = srvs.iter().map(|s| state_of(states, s)).collect();
                // Once sent, a chunk runs to its end (bounded by --timeout)
                // so every command HAProxy received is journaled.
                let replies = match self.block_on_to_completion(target.send_batch(&exchange)) {
                    Ok(mut r) => {
                        for (b, after) in backends.iter().zip(r.split_off(cmds.len())) {
                            if let Ok(text) = after {
                                states.insert(b.to_string(), text);
                            }
                        }
                        r
                    }
                    Err(e) if e.is_terminal() => return Err(e),
                    Err(e) => cmds.iter().map(|c| Err(echo(&e, &name, c))).collect(),
                };
                let mut entries = Vec::with_capacity(cmds.len());
                for (((command, server), reply), before) in
                    cmds.iter().zip(srvs).zip(replies).zip(before)
                {
                    let outcome = outcome_of(&reply);
                    failed |= reply.is_err();
                    let after = reply.as_ref().ok().and_then(|_| state_of(states, server));
                    let mut e: Entry = journal.entry(&name, command.as_str(), outcome);
                    e.before = before.clone();
                    e.after = after.clone();
                    e.playbook = playbook.clone();
                    match &reply {
                        Ok(r) => e.reply = Some(r.trim_end().to_string()),
                        Err(err) => e.error = Some(err.to_string()),
                    }
                    entries.push(e);
                    out.push(WriteOutcome {
                        target: name.clone(),
                        server: Some(server.clone()),
                        command: command.to_string(),
                        outcome,
                        reply,
                        before,
                        after,
                    });
                }
                // Journaled first: a notice says the write is in the journal.
                journal.record_all(&entries)?;
                for (command, w) in cmds.iter().zip(&out[out.len() - entries.len()..]) {
                    self.notice_write(&name, command, w.outcome);
                }
            }
            if failed {
                break;
            }
        }
        Ok(out)
    }
}

/// The server's state in the latest `show servers state` of its backend.
fn state_of(states: &States, server: &ServerRef) -> Option<serde_json::Value> {
    states
        .get(&server.backend)
        .and_then(|t| snapshot_of(t, &server.server).into_json())
}

/// `sent`, or `unknown` when the command may have reached HAProxy with no
/// reply back, or `failed`.
pub(super) fn outcome_of(reply: &Result<String>) -> &'static str {
    match reply {
        Ok(_) => "sent",
        Err(Error::Timeout { .. } | Error::ConnectionLost { .. }) => "unknown",
        Err(_) => "failed",
    }
}

/// The error of a whole exchange, told for one of its commands (same kind,
/// so the same outcome).
fn echo(e: &Error, target: &str, command: &Command) -> Error {
    match e {
        Error::Timeout { .. } | Error::ConnectionLost { .. } => Error::ConnectionLost {
            target: target.to_string(),
            command: command.to_string(),
            detail: e.to_string(),
        },
        _ => Error::Other(e.to_string()),
    }
}
