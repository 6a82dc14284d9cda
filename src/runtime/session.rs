//! One interactive (prompt mode) connection to a HAProxy runtime API socket.
//!
//! Prompt mode keeps the connection open so a run issues thousands of commands
//! over one session. HAProxy ends every reply with `\n> `; `set
//! severity-output number` prefixes messages with `[N]: ` so errors can be told
//! apart from data.

use super::address::Address;
use super::command::Command;
use crate::error::{Error, Result};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::timeout;

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// Refuse replies larger than this: a runaway `show` must not eat the host.
pub const MAX_REPLY_BYTES: usize = 512 * 1024 * 1024;

const PROMPT: &[u8] = b"\n> ";

pub struct Session {
    address: Address,
    stream: Pin<Box<dyn Stream>>,
    timeout: Duration,
    buf: Vec<u8>,
}

/// A reply split into HAProxy's message severity (when it sent one) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub severity: Option<u8>,
    pub text: String,
}

impl Session {
    /// Connect, switch to prompt mode and enable numeric severity output.
    pub async fn open(address: &Address, io_timeout: Duration) -> Result<Session> {
        let target = address.to_string();
        let connect = async {
            let stream: Pin<Box<dyn Stream>> = match address {
                Address::Unix(path) => Box::pin(UnixStream::connect(path).await?),
                Address::Tcp(hp) => {
                    let s = TcpStream::connect(hp.as_str()).await?;
                    s.set_nodelay(true)?;
                    Box::pin(s)
                }
            };
            Ok::<_, std::io::Error>(stream)
        };
        let stream = match timeout(io_timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => return Err(Error::Unreachable { target, source }),
            Err(_) => {
                return Err(Error::Timeout {
                    target,
                    what: "the connection".into(),
                    after: io_timeout,
                })
            }
        };
        let mut session = Session {
            address: address.clone(),
            stream,
            timeout: io_timeout,
            buf: Vec::with_capacity(64 * 1024),
        };
        session.exchange_raw("prompt").await?;
        let r = session.exchange_raw("set severity-output number").await?;
        if !r.trim().is_empty() {
            // Old HAProxy (< 1.9) has no severity output; replies are still usable.
            let _ = r;
        }
        Ok(session)
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Send one validated command and classify the reply.
    pub async fn send(&mut self, command: &Command) -> Result<String> {
        let raw = self.exchange_raw(command.as_str()).await?;
        classify(&self.address.to_string(), command.as_str(), raw)
    }

    /// Send several validated commands in one write and read their replies in
    /// order: one round trip instead of one per command. Only for commands whose
    /// replies never contain a line starting with `> ` (the reply separator is
    /// found by scanning, not only at the end of a read): `show servers state`,
    /// `show stat`, `set server`, `get weight` and the like.
    pub async fn send_pipelined(&mut self, commands: &[&Command]) -> Result<Vec<Result<String>>> {
        let target = self.address.to_string();
        let joined: Vec<&str> = commands.iter().map(|c| c.as_str()).collect();
        let what = joined.join("` + `");
        let lost = |detail: String| Error::ConnectionLost {
            target: target.clone(),
            command: what.clone(),
            detail,
        };
        if self.buf.capacity() > 8 * 1024 * 1024 {
            self.buf = Vec::with_capacity(64 * 1024);
        }
        let mut out = Vec::with_capacity(joined.iter().map(|l| l.len() + 1).sum());
        for l in &joined {
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
        match timeout(self.timeout, self.stream.write_all(&out)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(lost(e.to_string())),
            Err(_) => {
                return Err(Error::Timeout {
                    target,
                    what: format!("HAProxy to accept `{what}`"),
                    after: self.timeout,
                })
            }
        }
        self.buf.clear();
        let mut replies = Vec::with_capacity(commands.len());
        let (mut start, mut scan) = (0usize, 0usize);
        while replies.len() < commands.len() {
            if self.buf.capacity() - self.buf.len() < 16 * 1024 {
                self.buf.reserve(256 * 1024);
            }
            match timeout(self.timeout, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0)) => {
                    return Err(lost(format!(
                        "connection closed after {} of {} replies",
                        replies.len(),
                        commands.len()
                    )))
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(lost(e.to_string())),
                Err(_) => {
                    return Err(Error::Timeout {
                        target,
                        what: format!("the reply to `{what}`"),
                        after: self.timeout,
                    })
                }
            }
            while replies.len() < commands.len() {
                let found = self.buf[scan..]
                    .windows(PROMPT.len())
                    .position(|w| w == PROMPT)
                    .map(|i| scan + i);
                let Some(at) = found else {
                    scan = self.buf.len().saturating_sub(PROMPT.len() - 1).max(start);
                    break;
                };
                let body = &self.buf[start..at];
                let next = at + PROMPT.len();
                let text = String::from_utf8_lossy(body).into_owned();
                let cmd = commands[replies.len()].as_str();
                replies.push(classify(&target, cmd, text));
                start = next;
                scan = next;
            }
            if self.buf.len() > MAX_REPLY_BYTES {
                return Err(Error::Malformed {
                    target,
                    command: what,
                    detail: format!("reply larger than {MAX_REPLY_BYTES} bytes"),
                });
            }
        }
        if start != self.buf.len() {
            // More than we asked for: the session is out of step; drop it.
            return Err(lost("unexpected data after the last reply".into()));
        }
        Ok(replies)
    }

    /// Write one line and read until the prompt. `line` must already be validated.
    async fn exchange_raw(&mut self, line: &str) -> Result<String> {
        let target = self.address.to_string();
        let lost = |detail: String| Error::ConnectionLost {
            target: target.clone(),
            command: line.to_string(),
            detail,
        };
        let mut out = Vec::with_capacity(line.len() + 1);
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        match timeout(self.timeout, self.stream.write_all(&out)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(lost(e.to_string())),
            Err(_) => {
                return Err(Error::Timeout {
                    target,
                    what: format!("HAProxy to accept `{line}`"),
                    after: self.timeout,
                })
            }
        }
        self.buf.clear();
        loop {
            // Read straight into the session's buffer: a fresh 256 KiB chunk per
            // command (an mmap, page faults and a munmap) cost more than the
            // round trip itself on bulk writes.
            if self.buf.capacity() - self.buf.len() < 16 * 1024 {
                self.buf.reserve(256 * 1024);
            }
            // The timeout is per read: a 20,000-server `show stat` streams for a
            // while, a stalled HAProxy sends nothing at all.
            match timeout(self.timeout, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0)) => {
                    return Err(lost(if self.buf.is_empty() {
                        "HAProxy closed the connection (idle `stats timeout`, reload or restart)"
                            .into()
                    } else {
                        format!(
                            "connection closed after {} bytes, before the prompt",
                            self.buf.len()
                        )
                    }))
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(lost(e.to_string())),
                Err(_) => {
                    return Err(Error::Timeout {
                        target,
                        what: format!("the reply to `{line}`"),
                        after: self.timeout,
                    })
                }
            };
            if self.buf.ends_with(PROMPT) || self.buf == b"> " {
                break;
            }
            if self.buf.len() > MAX_REPLY_BYTES {
                return Err(Error::Malformed {
                    target,
                    command: line.to_string(),
                    detail: format!("reply larger than {MAX_REPLY_BYTES} bytes"),
                });
            }
        }
        let body_len = self.buf.len() - if self.buf == b"> " { 2 } else { 3 };
        let body = &self.buf[..body_len];
        Ok(match std::str::from_utf8(body) {
            Ok(s) => s.to_string(),
            Err(_) => String::from_utf8_lossy(body).into_owned(),
        })
    }

    /// Whether the session is the one to drop after `err` (vs. a command error).
    pub fn is_broken(err: &Error) -> bool {
        matches!(err, Error::ConnectionLost { .. } | Error::Timeout { .. })
    }
}

/// Split the `[N]: ` severity prefix off and turn known error texts into typed errors.
pub fn split_severity(raw: &str) -> Reply {
    if let Some(rest) = raw.strip_prefix('[') {
        if let Some((num, text)) = rest.split_once("]: ") {
            if let Ok(n) = num.parse::<u8>() {
                return Reply {
                    severity: Some(n),
                    text: text.to_string(),
                };
            }
        }
    }
    Reply {
        severity: None,
        text: raw.to_string(),
    }
}

/// Map a reply to data or a typed error. Pure, so it is unit-tested on HAProxy's texts.
pub fn classify(target: &str, command: &str, raw: String) -> Result<String> {
    let reply = split_severity(&raw);
    let text = reply.text.trim_end();
    let first = text.lines().next().unwrap_or("");
    let t = target.to_string();
    let c = command.to_string();
    if first.starts_with("Permission denied") {
        return Err(Error::PermissionDenied {
            target: t,
            command: c,
        });
    }
    if first.starts_with("Unknown command") {
        return Err(Error::UnknownCommand {
            target: t,
            command: c,
        });
    }
    if first.starts_with("No such backend") || first.starts_with("Can't find backend") {
        return Err(Error::NoSuchBackend {
            target: t,
            command: c,
        });
    }
    if first.starts_with("No such server") || first.starts_with("Can't find server") {
        return Err(Error::NoSuchServer {
            target: t,
            command: c,
        });
    }
    // Severities 0-3 are emerg..err: HAProxy refused the command.
    if matches!(reply.severity, Some(0..=3)) {
        return Err(Error::Haproxy {
            target: t,
            command: c,
            message: text.to_string(),
        });
    }
    if reply.severity.is_some() {
        return Ok(reply.text);
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(raw: &str) -> &'static str {
        match classify("t", "cmd", raw.to_string()) {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn classifies_haproxy_2_6_replies() {
        assert_eq!(kind("[3]: No such server.\n"), "no_such_server");
        assert_eq!(kind("[3]: No such backend.\n"), "no_such_backend");
        assert_eq!(kind("[3]: Permission denied\n"), "permission_denied");
        assert_eq!(
            kind("[6]: Unknown command, but maybe one of the following ones is a better match:\n  add acl\n"),
            "unknown_command"
        );
        assert_eq!(kind("[3]: Require 'backend/server'.\n"), "haproxy_error");
        assert_eq!(kind("1 (initial 1)\n"), "ok");
        assert_eq!(kind(""), "ok");
        assert_eq!(kind("Can't find backend.\n"), "no_such_backend");
    }

    #[test]
    fn strips_informational_severity() {
        assert_eq!(
            classify("t", "c", "[6]: Done.\n".into()).unwrap(),
            "Done.\n".to_string()
        );
    }
}
