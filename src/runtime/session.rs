//! One interactive (prompt mode) connection to a HAProxy runtime API socket.
//!
//! Prompt mode keeps the connection open so a run issues thousands of commands
//! over one session. HAProxy ends every reply with `\n> `; `set
//! severity-output number` prefixes messages with `[N]: ` so errors can be told
//! apart from data.

use super::address::Address;
use super::command::Command;
use crate::base::error::{Error, Result};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::{timeout_at, Instant};

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// The lines that put a new session in prompt mode, as one write, and how
/// many prompts answer them. `read_only` lowers the session to level
/// `operator` (HAProxy 2.2+).
fn handshake(read_only: bool) -> (Vec<u8>, usize) {
    let mut lines = vec!["prompt", "set severity-output number"];
    // HAProxy < 1.9 answers `Unknown command` to `set severity-output`;
    // its replies are then classified by their text alone, which still
    // works. Before 2.2 `operator` is unknown too; harun's own refusal of
    // writes under --read-only still holds there.
    if read_only {
        lines.push("operator");
    }
    let mut bytes = Vec::with_capacity(64);
    for line in &lines {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    (bytes, lines.len())
}

/// A connection opened, and its handshake sent, before the run needs it:
/// while harun starts (the playbook compiles, the engine is built), the
/// sockets' HAProxy processes accept and answer the handshake on the other
/// core. Only for local sockets (unix, TCP): an SSH target's login is not
/// started for a run that may never talk to it.
#[derive(Debug)]
pub struct Preconnected {
    address: Address,
    stream: PreStream,
    prompts: usize,
    at: std::time::Instant,
}

#[derive(Debug)]
enum PreStream {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream),
}

impl Preconnected {
    /// Connect to `address` and send the handshake, blocking for at most
    /// `bound`. `None` when it cannot: the session opened when needed then
    /// says why, with the run's own error.
    pub fn open(address: &Address, read_only: bool, bound: Duration) -> Option<Preconnected> {
        use std::io::Write;
        let (bytes, prompts) = handshake(read_only);
        let stream = match address {
            Address::Unix(path) => {
                let mut s = std::os::unix::net::UnixStream::connect(path).ok()?;
                s.set_write_timeout(Some(bound)).ok()?;
                s.write_all(&bytes).ok()?;
                s.set_nonblocking(true).ok()?;
                PreStream::Unix(s)
            }
            Address::Tcp(hp) => {
                // Only an address given as numbers: a name would be looked
                // up here, outside the run's deadline.
                let addr: std::net::SocketAddr = hp.as_str().parse().ok()?;
                let mut s = std::net::TcpStream::connect_timeout(&addr, bound).ok()?;
                s.set_nodelay(true).ok()?;
                s.set_write_timeout(Some(bound)).ok()?;
                s.write_all(&bytes).ok()?;
                s.set_nonblocking(true).ok()?;
                PreStream::Tcp(s)
            }
            _ => return None,
        };
        Some(Preconnected {
            address: address.clone(),
            stream,
            prompts,
            at: std::time::Instant::now(),
        })
    }

    /// How long ago it was opened: HAProxy may have reloaded since (see
    /// the kept sessions' reload check).
    pub fn age(&self) -> Duration {
        self.at.elapsed()
    }
}

/// The default cap on one reply. The largest real replies are `show stat`
/// of tens of thousands of servers (20,000 servers: about 14 MiB on 3.x);
/// a runaway or foreign stream must not eat the host. `--max-reply-mb`
/// raises it.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

const PROMPT: &[u8] = b"\n> ";

/// A session's first read buffer, and the most it grows to (a 20,000-server
/// `show stat` streams through it in 256 KiB reads).
const READ_BUF_START: usize = 16 * 1024;
const READ_BUF_MAX: usize = 256 * 1024;
/// What a connection that did not open in time waited for.
const CONNECT: &str = "the connection";

const CUT: &str = "the connection closed in the middle of the reply (it did not end with HAProxy's empty line): nothing of it is used";

const IDLE_CLOSE: &str = "HAProxy closed the connection (idle `stats timeout`, reload or restart)";

/// What a session waited for when nothing at all answered its handshake:
/// HAProxy answers `prompt` at once, so the socket is something else (or a
/// hung process), and the message must not read like a slow reply.
const SILENT: &str = "any reply: nothing at all came back to `prompt`, which HAProxy answers at once (is this HAProxy's `stats socket`? is the process hung?)";

/// What the first bytes of the reply to the handshake say about who
/// answered: HAProxy answers `prompt` with its prompt, `\n> `, before
/// anything else (2.6 to 3.2). `None` while `first` may still be that.
/// Otherwise the bytes as shown to people, and what to check.
fn foreign_reply(first: &[u8]) -> Option<(String, &'static str)> {
    let n = first.len().min(PROMPT.len());
    if first[..n] == PROMPT[..n] {
        return None;
    }
    // The master CLI answers with its own prompt and refuses `prompt`.
    let hint = if first.starts_with(b"master>") || first.starts_with(b"\nmaster>") {
        "this is HAProxy's master CLI (the `-S` socket of `haproxy -W`): give it as `-s master@PATH`"
    } else {
        "is this the `stats socket` of HAProxy's `global` section (e.g. `stats socket /run/haproxy/admin.sock mode 660 level admin`)?"
    };
    const SHOWN: usize = 40;
    let mut shown: String = String::from_utf8_lossy(&first[..first.len().min(SHOWN)])
        .escape_debug()
        .collect();
    if first.len() > SHOWN {
        shown.push('…');
    }
    Some((shown, hint))
}

/// The error for a handshake answered by something that is not HAProxy.
fn not_haproxy(target: &str, first: &[u8]) -> Option<Error> {
    foreign_reply(first).map(|(answered, hint)| Error::NotHaproxy {
        target: target.to_string(),
        answered,
        hint: hint.to_string(),
    })
}

/// A wait for the handshake's reply that saw no byte at all says so.
fn silent(e: Error) -> Error {
    match e {
        Error::Timeout { target, after, .. } => Error::Timeout {
            target,
            what: SILENT.into(),
            after,
        },
        e => e,
    }
}

pub struct Session {
    address: Address,
    stream: Pin<Box<dyn Stream>>,
    /// Bound on a whole exchange: connect, write, the complete reply.
    timeout: Duration,
    /// Largest reply accepted, in bytes.
    max_reply: usize,
    /// The deadline the next exchange inherits (see [`Session::carry`]).
    carried: Option<Instant>,
    /// Read buffer, reused for every reply; it starts small (a fleet opens
    /// many sessions for short replies) and grows while reads fill it.
    buf: Box<[u8]>,
    /// The last read filled `buf`: the next one gets a larger one.
    grow: bool,
    /// Size of the last reply, to size the next one's buffer.
    size_hint: usize,
    /// When the last exchange ended.
    last_used: std::time::Instant,
    /// The handshake (`prompt`, ...) not yet sent: it goes in the same write
    /// as the next command, and this many prompts answer it before that
    /// command's reply. A fleet's targets each save a round trip (a
    /// wake-up of their HAProxy, a round trip of SSH).
    handshake: Option<(Vec<u8>, usize)>,
}

/// What [`Session::liveness_after_idle`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Live,
    /// Attached to a process that is stopping: HAProxy reloaded.
    Stopping,
    /// Closed or broken (idle `stats timeout`, restart).
    Dead,
}

/// A reply split into HAProxy's message severity (when it sent one) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub severity: Option<u8>,
    pub text: String,
}

/// Skip the replies of the first `n` commands of a non-prompt line: each is
/// its output followed by an empty line, so a command that printed nothing
/// answers a lone `\n`, one that failed (`set severity-output` before 1.9,
/// `operator` before 2.2) its message and `\n\n`.
/// Whether a reply read to the end of its connection is whole: outside prompt
/// mode every command's output ends with an empty line, so a reply that HAProxy
/// finished ends with `\n\n` (or is a lone `\n`: a command that printed
/// nothing). Anything else was cut (a dropped SSH link, a forward or a
/// process gone mid-reply) and must not be read as a shorter answer.
fn whole_reply(body: &[u8]) -> bool {
    body == b"\n" || body.ends_with(b"\n\n")
}

fn skip_replies(body: &[u8], n: usize) -> &[u8] {
    let mut rest = body;
    for _ in 0..n {
        rest = match rest.strip_prefix(b"\n") {
            Some(r) => r,
            None => match rest.windows(2).position(|w| w == b"\n\n") {
                Some(i) => &rest[i + 2..],
                None => rest,
            },
        };
    }
    rest
}

/// A forwarded socket closed before its first reply: over SSH that is sshd
/// failing to open the remote socket, which the error then says.
fn over_ssh(address: &Address, e: Error) -> Error {
    match (address, e) {
        (Address::Ssh(remote), Error::ConnectionLost { .. }) => {
            super::ssh::remote_socket_failed(remote)
        }
        (_, e) => e,
    }
}

/// Open the stream by `deadline` (`io_timeout` only names it in the error).
async fn open_stream(
    address: &Address,
    io_timeout: Duration,
    deadline: Instant,
) -> Result<Pin<Box<dyn Stream>>> {
    let target = address.to_string();
    // Over SSH the session talks to the local end of a forward.
    let local = match address {
        Address::Ssh(remote) => Some(super::ssh::forward(remote, io_timeout, deadline).await?),
        _ => None,
    };
    let connect = async {
        let stream: Pin<Box<dyn Stream>> = match address {
            Address::Unix(path) | Address::Master(path) => {
                Box::pin(UnixStream::connect(path).await?)
            }
            Address::Ssh(_) => match &local {
                Some(l) => Box::pin(UnixStream::connect(l).await?),
                None => return Err(std::io::Error::other("no SSH forward")),
            },
            Address::Tcp(hp) => {
                let s = TcpStream::connect(hp.as_str()).await?;
                s.set_nodelay(true)?;
                Box::pin(s)
            }
            // Replay targets answer from their bundle and never connect.
            Address::Replay(dir) => {
                return Err(std::io::Error::other(format!(
                    "replay bundle {} has no socket",
                    dir.display()
                )))
            }
        };
        Ok::<_, std::io::Error>(stream)
    };
    match timeout_at(deadline, connect).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(source)) => Err(Error::Unreachable { target, source }),
        Err(_) => Err(Error::Timeout {
            target,
            what: CONNECT.into(),
            after: io_timeout,
        }),
    }
}

impl Session {
    /// One command on a connection of its own, without prompt mode: the reply
    /// ends when HAProxy closes, so no byte of it can be mistaken for the
    /// prompt. For free-form replies (`show env`, Lua commands, `show events`)
    /// whose lines may start with `> `; harun's own commands use the kept
    /// session. `read_only` lowers the level first, as for sessions.
    pub async fn oneshot(
        address: &Address,
        io_timeout: Duration,
        max_reply: usize,
        read_only: bool,
        command: &Command,
    ) -> Result<String> {
        // One deadline for the connection, the line and the whole reply.
        let deadline = Instant::now() + io_timeout;
        let mut session =
            Session::connect(address, io_timeout, max_reply, 64 * 1024, deadline).await?;
        // Each command of the line answers with its output and an empty line.
        let preamble = if read_only {
            "set severity-output number;operator;"
        } else {
            "set severity-output number;"
        };
        let label = command.as_str();
        session
            .write_lines(&[&format!("{preamble}{label}")], label, deadline)
            .await?;
        let mut body: Vec<u8> = Vec::with_capacity(4096);
        loop {
            match session.read_some(label, body.len(), deadline).await {
                Ok(n) => body.extend_from_slice(&session.buf[..n]),
                // HAProxy closes after the last command: that is the end.
                Err(Error::ConnectionLost { .. }) if whole_reply(&body) => break,
                Err(Error::ConnectionLost { .. }) if !body.is_empty() => {
                    return Err(session.lost(label, CUT.into()))
                }
                Err(e) => return Err(over_ssh(address, e)),
            }
        }
        let text = skip_replies(&body, preamble.matches(';').count());
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let text = String::from_utf8_lossy(text).into_owned();
        classify(&address.to_string(), label, text)
    }

    /// One command on a master CLI (`master@`), on a connection of its own,
    /// routed to worker `route` with `@!<pid>` (`None`: the master itself).
    /// No kept session: the master's prompt is `master> `, and a routed
    /// command's session state does not carry to the next routed one (each
    /// `@!<pid>` is a new exchange with the worker). `read_only` sends
    /// `operator` to the master first, which lowers the level the master
    /// hands to the workers (2.6 to 3.2); it prints nothing when it works.
    /// No `set severity-output`: the 2.6 master does not know it, so replies
    /// are classified by their text, as before HAProxy 1.9.
    pub async fn routed(
        address: &Address,
        io_timeout: Duration,
        max_reply: usize,
        read_only: bool,
        route: Option<u32>,
        command: &Command,
    ) -> Result<String> {
        let deadline = Instant::now() + io_timeout;
        let mut session =
            Session::connect(address, io_timeout, max_reply, 64 * 1024, deadline).await?;
        let label = command.as_str();
        let mut line = String::with_capacity(label.len() + 24);
        if read_only {
            line.push_str("operator;");
        }
        // The prefix is harun's own: user input with `@` is refused when
        // names and commands are validated (see `command::validate_name`).
        if let Some(pid) = route {
            line.push_str(&format!("@!{pid} "));
        }
        line.push_str(label);
        session.write_lines(&[&line], label, deadline).await?;
        // The master closes a routed exchange only once the client has
        // finished writing; a worker's own socket closes after the line.
        let _ = timeout_at(deadline, session.stream.shutdown()).await;
        let mut body: Vec<u8> = Vec::with_capacity(4096);
        loop {
            match session.read_some(label, body.len(), deadline).await {
                Ok(n) => body.extend_from_slice(&session.buf[..n]),
                Err(Error::ConnectionLost { .. }) if whole_reply(&body) => break,
                Err(Error::ConnectionLost { .. }) if !body.is_empty() => {
                    return Err(session.lost(label, CUT.into()))
                }
                Err(e) => return Err(over_ssh(address, e)),
            }
        }
        let text = body.strip_suffix(b"\n").unwrap_or(&body);
        let text = String::from_utf8_lossy(text).into_owned();
        classify(&address.to_string(), label, text)
    }

    /// A session connected by `deadline`, with a read buffer of `buf_size` bytes.
    async fn connect(
        address: &Address,
        io_timeout: Duration,
        max_reply: usize,
        buf_size: usize,
        deadline: Instant,
    ) -> Result<Session> {
        Ok(Session {
            address: address.clone(),
            stream: open_stream(address, io_timeout, deadline).await?,
            timeout: io_timeout,
            max_reply,
            carried: None,
            buf: vec![0u8; buf_size].into_boxed_slice(),
            grow: false,
            size_hint: 4096,
            last_used: std::time::Instant::now(),
            handshake: None,
        })
    }

    /// Connect, switch to prompt mode and enable numeric severity output,
    /// all by `deadline`. `read_only` also lowers the session to level
    /// `operator` (HAProxy 2.2+), so even a bug in harun could not change a
    /// server's state through it. Replies beyond `max_reply` bytes are refused.
    pub async fn open(
        address: &Address,
        io_timeout: Duration,
        max_reply: usize,
        read_only: bool,
        deadline: Instant,
    ) -> Result<Session> {
        let mut session =
            Session::connect(address, io_timeout, max_reply, READ_BUF_START, deadline).await?;
        // Sent with the first command, in one write: HAProxy reads the lines
        // in order and `prompt` comes first, so each line answers with its
        // own prompt, and `operator` applies before the command.
        session.handshake = Some(handshake(read_only));
        Ok(session)
    }

    /// A session on a connection [`Preconnected::open`] made earlier, its
    /// handshake already sent: the first command reads the handshake's
    /// prompts before its own reply, as with [`Session::open`].
    pub fn adopt(
        pre: Preconnected,
        io_timeout: Duration,
        max_reply: usize,
    ) -> std::io::Result<Session> {
        let stream: Pin<Box<dyn Stream>> = match pre.stream {
            PreStream::Unix(s) => Box::pin(UnixStream::from_std(s)?),
            PreStream::Tcp(s) => Box::pin(TcpStream::from_std(s)?),
        };
        Ok(Session {
            address: pre.address,
            stream,
            timeout: io_timeout,
            max_reply,
            carried: None,
            buf: vec![0u8; READ_BUF_START].into_boxed_slice(),
            grow: false,
            size_hint: 4096,
            last_used: std::time::Instant::now(),
            handshake: Some((Vec::new(), pre.prompts)),
        })
    }

    /// Read the prompts that answer the handshake sent with a command, and
    /// return what came after them: the start of that command's reply (a
    /// part of the last read, so it fits in `buf`). A forwarded socket that
    /// closes here failed on the remote side (see [`over_ssh`]).
    async fn skip_handshake(
        &mut self,
        prompts: usize,
        label: &str,
        deadline: Instant,
    ) -> Result<Vec<u8>> {
        let mut acc: Vec<u8> = Vec::with_capacity(64);
        loop {
            let mut seen = 0;
            let mut at = 0;
            while let Some(pos) = find_prompt(&acc[at..]) {
                seen += 1;
                at += pos + PROMPT.len();
                if seen == prompts {
                    return Ok(acc.split_off(at));
                }
            }
            let nothing = acc.is_empty();
            let n = self
                .read_some(label, acc.len(), deadline)
                .await
                .map_err(|e| over_ssh(&self.address, if nothing { silent(e) } else { e }))?;
            acc.extend_from_slice(&self.buf[..n]);
            if let Some(e) = not_haproxy(&self.address.to_string(), &acc) {
                return Err(e);
            }
        }
    }

    /// The next exchange ends by `deadline` instead of `timeout` from its
    /// start: the caller's operation (reload check, connect, handshake, the
    /// command) then fits in one `--timeout` however the time is spread.
    pub fn carry(&mut self, deadline: Instant) {
        self.carried = Some(deadline);
    }

    /// The deadline of the exchange that starts now.
    fn exchange_deadline(&mut self) -> Instant {
        self.carried
            .take()
            .unwrap_or_else(|| Instant::now() + self.timeout)
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Send one validated command and classify the reply.
    pub async fn send(&mut self, command: &Command) -> Result<String> {
        let raw = self.exchange_raw(command.as_str()).await?;
        classify(&self.address.to_string(), command.as_str(), raw)
    }

    /// Send one validated command and hand the reply to `on_data` as it
    /// arrives (a 20,000-server `show stat` is parsed while HAProxy is still
    /// writing it). Replies that carry a severity prefix are HAProxy messages,
    /// not data: they are collected and classified like [`Session::send`].
    pub async fn send_streaming(
        &mut self,
        command: &Command,
        on_data: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<()> {
        let mut message: Option<Vec<u8>> = None;
        let mut first = true;
        self.exchange(command.as_str(), &mut |chunk: &[u8]| {
            if first {
                first = false;
                if chunk.first() == Some(&b'[') {
                    message = Some(Vec::new());
                }
            }
            match &mut message {
                Some(m) => m.extend_from_slice(chunk),
                None => on_data(chunk),
            }
        })
        .await?;
        if let Some(m) = message {
            let text = String::from_utf8_lossy(&m).into_owned();
            let data = classify(&self.address.to_string(), command.as_str(), text)?;
            on_data(data.as_bytes());
        }
        Ok(())
    }

    /// Send several validated commands pipelined and read their replies in
    /// order: one round trip instead of one per command, however many. The
    /// commands are written while the replies are read, so a pipeline whose
    /// replies outgrow the socket buffers cannot stall against HAProxy
    /// (which stops reading commands while its replies are not read). The
    /// reply cap applies to each reply. Only for commands whose replies
    /// cannot contain a line starting with `> `.
    pub async fn send_batch(&mut self, commands: &[&Command]) -> Result<Vec<Result<String>>> {
        let Some(first) = commands.first() else {
            return Ok(Vec::new());
        };
        let label = match commands.len() {
            1 => first.to_string(),
            2 | 3 => commands
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            n => format!("{first} and {} more pipelined", n - 1),
        };
        let deadline = self.exchange_deadline();
        let mut out = Vec::with_capacity(commands.iter().map(|c| c.as_str().len() + 1).sum());
        // A new session's handshake goes first in the same write; its
        // prompts are the first replies, dropped.
        let skip = match self.handshake.take() {
            Some((bytes, prompts)) => {
                out.extend_from_slice(&bytes);
                prompts
            }
            None => 0,
        };
        let wanted = commands.len() + skip;
        for c in commands {
            out.extend_from_slice(c.as_str().as_bytes());
            out.push(b'\n');
        }
        let io = IoContext {
            target: self.address.to_string(),
            timeout: self.timeout,
            max_reply: self.max_reply,
        };
        let Session {
            stream,
            buf,
            grow,
            address,
            ..
        } = self;
        let address = &*address;
        let (mut reader, mut writer) = tokio::io::split(stream);
        let write = async {
            match timeout_at(deadline, writer.write_all(&out)).await {
                Ok(Ok(())) => Ok(()),
                // HAProxy could not have read a command it refused to accept.
                // On a new session over SSH, the remote socket failed.
                Ok(Err(e)) if skip > 0 => Err(over_ssh(
                    address,
                    io.lost(&label, format!("{IDLE_CLOSE}: {e}")),
                )),
                Ok(Err(e)) => Err(io.lost(&label, format!("{IDLE_CLOSE}: {e}"))),
                Err(_) => Err(Error::Timeout {
                    target: io.target.clone(),
                    what: format!("HAProxy to accept `{label}`"),
                    after: io.timeout,
                }),
            }
        };
        let read = async {
            // `acc[start..]` is the reply being received; earlier bytes are
            // split off into `replies` and dropped now and then.
            let mut acc: Vec<u8> = Vec::with_capacity(4096);
            let mut replies: Vec<String> = Vec::with_capacity(wanted);
            let mut start = 0usize;
            // Where the search for the next prompt resumes: a long reply
            // arrives in many reads, and is scanned once.
            let mut scanned = 0usize;
            loop {
                while replies.len() < wanted {
                    let from = scanned.max(start);
                    let Some(pos) = find_prompt(&acc[from..]) else {
                        // A prompt may straddle this read and the next.
                        scanned = acc.len().saturating_sub(PROMPT.len() - 1).max(start);
                        break;
                    };
                    let end = from + pos;
                    replies.push(text_of(&acc[start..end]));
                    start = end + PROMPT.len();
                    scanned = start;
                }
                if replies.len() == wanted {
                    replies.drain(..skip);
                    return Ok(replies);
                }
                if start > 0 && start * 2 >= acc.len() {
                    acc.drain(..start);
                    scanned -= start;
                    start = 0;
                }
                grow_if_filled(buf, *grow);
                let nothing = acc.is_empty();
                let n = read_into(&mut reader, buf, &io, &label, acc.len() - start, deadline)
                    .await
                    .map_err(|e| match replies.len() < skip {
                        true if nothing => over_ssh(address, silent(e)),
                        true => over_ssh(address, e),
                        false => e,
                    })?;
                *grow = n == buf.len();
                acc.extend_from_slice(&buf[..n]);
                // A new session's first bytes are the handshake's prompts.
                if skip > 0 && replies.is_empty() {
                    if let Some(e) = not_haproxy(&io.target, &acc) {
                        return Err(e);
                    }
                }
            }
        };
        let ((), replies) = tokio::try_join!(write, read)?;
        let target = io.target;
        Ok(replies
            .into_iter()
            .zip(commands)
            .map(|(raw, cmd)| classify(&target, cmd.as_str(), raw))
            .collect())
    }

    /// Once idle for `min_idle` or more: is this session still attached to
    /// the live process? `show info` says `Stopping: 1` on the old process of
    /// a reload; a session HAProxy closed meanwhile (`stats timeout`) is dead.
    pub async fn liveness(&mut self, min_idle: Duration) -> Liveness {
        if self.last_used.elapsed() < min_idle {
            return Liveness::Live;
        }
        match self.exchange_raw("show info").await {
            Ok(info) if super::info::process_of(&info).stopping => Liveness::Stopping,
            Ok(_) => {
                self.touch();
                Liveness::Live
            }
            Err(_) => Liveness::Dead,
        }
    }

    /// Mark the session as just used.
    pub fn touch(&mut self) {
        self.last_used = std::time::Instant::now();
    }

    /// Write one line and collect the reply up to the prompt.
    async fn exchange_raw(&mut self, line: &str) -> Result<String> {
        let mut body = Vec::with_capacity(self.size_hint);
        self.exchange(line, &mut |chunk: &[u8]| body.extend_from_slice(chunk))
            .await?;
        Ok(match String::from_utf8(body) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Write one line (already validated) and pass the reply body to
    /// `on_data` chunk by chunk, holding back the bytes that may be the
    /// closing prompt.
    async fn exchange(
        &mut self,
        line: &str,
        on_data: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<()> {
        let deadline = self.exchange_deadline();
        // Bytes of the reply already in `buf`, read with the handshake's prompts.
        let mut early = None;
        if let Some((mut bytes, prompts)) = self.handshake.take() {
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            self.write_bytes(&bytes, "prompt", deadline)
                .await
                .map_err(|e| over_ssh(&self.address, e))?;
            // Until the prompts come, errors name the first line unanswered.
            let rest = self.skip_handshake(prompts, "prompt", deadline).await?;
            if !rest.is_empty() {
                self.buf[..rest.len()].copy_from_slice(&rest);
                early = Some(rest.len());
            }
        } else {
            self.write_lines(&[line], line, deadline).await?;
        }
        // `held` is the unsent tail: up to 3 bytes that could be `\n> `.
        let mut held: Vec<u8> = Vec::with_capacity(8);
        let mut total = 0usize;
        loop {
            let n = match early.take() {
                Some(n) => n,
                None => self.read_some(line, total, deadline).await?,
            };
            total += n;
            let chunk = &self.buf[..n];
            if n >= 3 {
                // The prompt can only be the last 3 bytes of this chunk.
                let done = chunk.ends_with(PROMPT);
                if !held.is_empty() {
                    on_data(&held);
                    held.clear();
                }
                on_data(&chunk[..n - 3]);
                if done {
                    break;
                }
                held.extend_from_slice(&chunk[n - 3..]);
            } else {
                held.extend_from_slice(chunk);
                if held == b"> " || held.ends_with(PROMPT) {
                    let keep = held.len() - if held == b"> " { 2 } else { 3 };
                    on_data(&held[..keep]);
                    break;
                }
                if held.len() > 3 {
                    let cut = held.len() - 3;
                    on_data(&held[..cut]);
                    held.drain(..cut);
                }
            }
        }
        self.size_hint = total.clamp(4096, 64 * 1024 * 1024);
        Ok(())
    }

    /// Write `lines` (already validated), each followed by a newline, in one
    /// write, by `deadline`.
    async fn write_lines(&mut self, lines: &[&str], label: &str, deadline: Instant) -> Result<()> {
        let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
        self.write_bytes(&out, label, deadline).await
    }

    /// Write `out` (validated lines) in one write, by `deadline`.
    async fn write_bytes(&mut self, out: &[u8], label: &str, deadline: Instant) -> Result<()> {
        match timeout_at(deadline, self.stream.write_all(out)).await {
            Ok(Ok(())) => Ok(()),
            // HAProxy could not have read a command it refused to accept.
            Ok(Err(e)) => Err(self.lost(label, format!("{IDLE_CLOSE}: {e}"))),
            Err(_) => Err(Error::Timeout {
                target: self.address.to_string(),
                what: format!("HAProxy to accept `{label}`"),
                after: self.timeout,
            }),
        }
    }

    /// One read into `self.buf`, by the exchange's `deadline` (see [`read_into`]).
    async fn read_some(
        &mut self,
        label: &str,
        received: usize,
        deadline: Instant,
    ) -> Result<usize> {
        let io = IoContext {
            target: self.address.to_string(),
            timeout: self.timeout,
            max_reply: self.max_reply,
        };
        grow_if_filled(&mut self.buf, self.grow);
        let n = read_into(
            &mut self.stream,
            &mut self.buf,
            &io,
            label,
            received,
            deadline,
        )
        .await?;
        self.grow = n == self.buf.len();
        Ok(n)
    }

    fn lost(&self, label: &str, detail: String) -> Error {
        Error::ConnectionLost {
            target: self.address.to_string(),
            command: label.to_string(),
            detail,
        }
    }

    /// HAProxy closed the session before sending a byte of the reply: it was
    /// idle too long (`stats timeout`) or the process reloaded.
    pub fn closed_while_idle(err: &Error) -> bool {
        matches!(err, Error::ConnectionLost { detail, .. } if detail.starts_with(IDLE_CLOSE))
    }

    /// Whether `err` says that this socket never answered like HAProxy: the
    /// connection or the handshake timed out with nothing back, or the
    /// reply was not HAProxy's. Waiting for it again in the same run would
    /// only repeat the wait: a copy of the error to return instead.
    pub fn dead_end(err: &Error) -> Option<Error> {
        match err {
            Error::Timeout {
                target,
                what,
                after,
            } if what == SILENT || what == CONNECT => Some(Error::Timeout {
                target: target.clone(),
                what: what.clone(),
                after: *after,
            }),
            Error::NotHaproxy {
                target,
                answered,
                hint,
            } => Some(Error::NotHaproxy {
                target: target.clone(),
                answered: answered.clone(),
                hint: hint.clone(),
            }),
            _ => None,
        }
    }

    /// Whether the session is the one to drop after `err` (vs. a command error).
    pub fn is_broken(err: &Error) -> bool {
        matches!(
            err,
            Error::ConnectionLost { .. }
                | Error::NotHaproxy { .. }
                | Error::Timeout { .. }
                | Error::ReplyTooLarge { .. }
                | Error::Ssh { .. }
        )
    }
}

/// What a read needs to know to name its errors and apply the reply cap.
struct IoContext {
    target: String,
    timeout: Duration,
    max_reply: usize,
}

impl IoContext {
    fn lost(&self, label: &str, detail: String) -> Error {
        Error::ConnectionLost {
            target: self.target.clone(),
            command: label.to_string(),
            detail,
        }
    }
}

/// A reply as text (HAProxy's replies are ASCII; anything else is kept,
/// replaced where it is not UTF-8). The plain check is much faster than the
/// lossy walk on the megabytes of a big reply.
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Where the first prompt ends a reply in `bytes`.
fn find_prompt(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = crate::base::bytes::find_byte(bytes, from, b'\n');
        if at >= bytes.len() {
            return None;
        }
        if bytes[at..].starts_with(PROMPT) {
            return Some(at);
        }
        from = at + 1;
    }
}

/// A larger read buffer when the last read filled it (up to
/// [`READ_BUF_MAX`]). Called between reads: what `buf` held was handed on.
fn grow_if_filled(buf: &mut Box<[u8]>, filled: bool) {
    if filled && buf.len() < READ_BUF_MAX {
        *buf = vec![0u8; (buf.len() * 4).min(READ_BUF_MAX)].into_boxed_slice();
    }
}

/// One read into `buf`, by the exchange's `deadline`: a socket that drips a
/// byte at a time ends there like one that sends nothing. `received` (bytes
/// of this reply so far) is checked against the reply cap and shapes the
/// messages.
async fn read_into<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    buf: &mut [u8],
    io: &IoContext,
    label: &str,
    received: usize,
    deadline: Instant,
) -> Result<usize> {
    match timeout_at(deadline, reader.read(buf)).await {
        Ok(Ok(0)) => Err(io.lost(
            label,
            if received == 0 {
                IDLE_CLOSE.into()
            } else {
                format!("connection closed after {received} bytes, before the prompt")
            },
        )),
        Ok(Ok(n)) => {
            if received + n > io.max_reply {
                return Err(Error::ReplyTooLarge {
                    target: io.target.clone(),
                    command: label.to_string(),
                    cap: io.max_reply,
                });
            }
            Ok(n)
        }
        // A reset before the first byte: the session was already dead.
        Ok(Err(e)) if received == 0 => Err(io.lost(label, format!("{IDLE_CLOSE}: {e}"))),
        Ok(Err(e)) => Err(io.lost(label, e.to_string())),
        Err(_) => Err(Error::Timeout {
            target: io.target.clone(),
            what: if received == 0 {
                format!("the reply to `{label}`")
            } else {
                format!("the end of the reply to `{label}` ({received} bytes received)")
            },
            after: io.timeout,
        }),
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
            note: String::new(),
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
            note: String::new(),
        });
    }
    if first.starts_with("No such server") || first.starts_with("Can't find server") {
        return Err(Error::NoSuchServer {
            target: t,
            command: c,
            note: String::new(),
        });
    }
    // Severities 0-3 are emerg..err: HAProxy refused the command.
    if matches!(reply.severity, Some(0..=3)) {
        let mut message = text.to_string();
        // What a process that a reload is stopping answers to any change:
        // say so, the text alone does not.
        if first.starts_with("Proxy is disabled") {
            message.push_str(
                " (this HAProxy process is stopping after a reload and refuses changes; nothing was applied; the new process has its own sessions: run it again)",
            );
        }
        return Err(Error::Haproxy {
            target: t,
            command: c,
            message,
        });
    }
    if reply.severity.is_some() {
        return Ok(reply.text);
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reply_cut_by_a_closed_connection_is_not_whole() {
        // What the 2.6 master CLI sends for `@!PID show info`, `set weight`
        // (nothing printed) and `show servers state`.
        assert!(super::whole_reply(b"Name: HAProxy\nTainted: 0\n\n"));
        assert!(super::whole_reply(b"\n"));
        assert!(super::whole_reply(b"1\n# be_id be_name\n\n"));
        // Cut at a line boundary: it would parse, one server short.
        assert!(!super::whole_reply(
            b"1\n# be_id be_name\n3 bk_app 1 app1\n"
        ));
        assert!(!super::whole_reply(b"Name: HAPr"));
        assert!(!super::whole_reply(b""));
    }

    #[test]
    fn preamble_replies_are_skipped_whether_they_succeed_or_fail() {
        // 2.6: both preamble commands print nothing.
        assert_eq!(
            super::skip_replies(b"\n\nHOME=/root\n\n", 2),
            b"HOME=/root\n\n"
        );
        // 2.0: `operator` is unknown; its message comes first.
        let old =
            b"\n[6]: Unknown command, but maybe one of the following...\n  help\n\nHOME=/root\n\n";
        assert_eq!(super::skip_replies(old, 2), b"HOME=/root\n\n");
        // 1.8: `set severity-output` is unknown too.
        let older = b"Unknown command.\n\nUnknown command.\n\nHOME=/root\n\n";
        assert_eq!(super::skip_replies(older, 2), b"HOME=/root\n\n");
    }

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
