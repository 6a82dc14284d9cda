//! Targets and their persistent sessions, with fan-out to many sockets.

use super::address::Address;
use super::command::Command;
use super::session::Session;
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

/// One HAProxy runtime API socket and the session kept open to it.
pub struct Target {
    pub address: Address,
    io_timeout: Duration,
    session: Mutex<Option<Session>>,
}

impl Target {
    pub fn new(address: Address, io_timeout: Duration) -> Target {
        Target {
            address,
            io_timeout,
            session: Mutex::new(None),
        }
    }

    pub fn name(&self) -> String {
        self.address.to_string()
    }

    /// Send one command over the persistent session. A session that HAProxy
    /// closed (idle `stats timeout`, reload) is reopened once, then the error
    /// is reported.
    pub async fn send(&self, command: &Command) -> Result<String> {
        let mut guard = self.session.lock().await;
        let mut reopened = false;
        loop {
            // The session is taken out while in use: if this future is dropped
            // mid-reply (Ctrl-C, deadline), the half-read session goes with it
            // and the next command starts on a clean one.
            let (mut session, fresh) = match guard.take() {
                Some(s) => (s, false),
                None => (Session::open(&self.address, self.io_timeout).await?, true),
            };
            match session.send(command).await {
                Err(Error::ConnectionLost { .. }) if !fresh && !reopened => {
                    reopened = true;
                }
                Err(e) if Session::is_broken(&e) => return Err(e),
                other => {
                    *guard = Some(session);
                    return other;
                }
            }
        }
    }

    /// Send several commands in one round trip (see [`Session::send_pipelined`]);
    /// one result per command, in order. Same reconnect policy as [`Target::send`].
    pub async fn send_pipelined(&self, commands: &[&Command]) -> Result<Vec<Result<String>>> {
        let mut guard = self.session.lock().await;
        let mut reopened = false;
        loop {
            let (mut session, fresh) = match guard.take() {
                Some(s) => (s, false),
                None => (Session::open(&self.address, self.io_timeout).await?, true),
            };
            match session.send_pipelined(commands).await {
                Err(Error::ConnectionLost { .. }) if !fresh && !reopened => {
                    reopened = true;
                }
                Err(e) => return Err(e),
                Ok(replies) => {
                    *guard = Some(session);
                    return Ok(replies);
                }
            }
        }
    }

    /// Drop the session (the next command opens a new one).
    pub async fn close(&self) {
        *self.session.lock().await = None;
    }
}

/// All targets of a run.
#[derive(Clone)]
pub struct Client {
    targets: Arc<Vec<Arc<Target>>>,
    limit: Arc<Semaphore>,
}

impl Client {
    /// At most `max_parallel` sockets are talked to at once during fan-out.
    pub fn new(addresses: Vec<Address>, io_timeout: Duration, max_parallel: usize) -> Client {
        Client {
            targets: Arc::new(
                addresses
                    .into_iter()
                    .map(|a| Arc::new(Target::new(a, io_timeout)))
                    .collect(),
            ),
            limit: Arc::new(Semaphore::new(max_parallel.max(1))),
        }
    }

    pub fn targets(&self) -> &[Arc<Target>] {
        &self.targets
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Send `command` to every target concurrently; results in target order.
    pub async fn send_all(&self, command: &Command) -> Vec<(String, Result<String>)> {
        if self.targets.len() == 1 {
            let t = &self.targets[0];
            return vec![(t.name(), t.send(command).await)];
        }
        let mut set = JoinSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let t = Arc::clone(t);
            let cmd = command.clone();
            let limit = Arc::clone(&self.limit);
            set.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (i, t.name(), t.send(&cmd).await)
            });
        }
        let mut out: Vec<Option<(String, Result<String>)>> =
            (0..self.targets.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            if let Ok((i, name, r)) = joined {
                out[i] = Some((name, r));
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| {
                    (
                        self.targets[i].name(),
                        Err(Error::Other("internal task failed".into())),
                    )
                })
            })
            .collect()
    }
}
