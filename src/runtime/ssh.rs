//! The SSH transport: a HAProxy admin socket on another host, reached
//! through that host's sshd with the system's OpenSSH client.
//!
//! One master connection per host per run (`ControlMaster`), started with
//! `BatchMode` so a missing key fails at once instead of prompting; the
//! user's ssh configuration, agent and known_hosts apply, and host-key
//! checking is never turned off. Each remote socket is forwarded over the
//! master to a unix socket in a private directory (`ssh -O forward -L
//! local:remote`: OpenSSH 9.2's `-W` takes no unix path), so a session
//! talks to a local unix socket as it would to a local HAProxy. Nothing but
//! sshd is needed on the host. [`close_all`] ends the masters.

use crate::base::error::{Error, Result};
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// A master outlives its last use by this long when harun cannot close it
/// (killed): it then exits by itself.
const PERSIST: &str = "60";

/// How long an SSH login (TCP connection, key exchange, authentication,
/// the forward) may take: the TCP connection alone is bounded by `--timeout`
/// (`ConnectTimeout`); the whole login, three times that, since logging in
/// to many hosts at once is CPU-bound on this machine (about 80 ms of
/// client CPU per host with OpenSSH 9.2's default key exchange).
pub fn login_bound(io_timeout: Duration) -> Duration {
    io_timeout.saturating_mul(3)
}

/// [`login_bound`] for `remote`: a host whose inventory sets a longer
/// connect timeout (`ansible_timeout`) gets three times that, so that
/// harun does not give up on the login before ssh's own `ConnectTimeout`.
pub fn login_bound_of(remote: &Remote, io_timeout: Duration) -> Duration {
    let connect = remote
        .options
        .connect_timeout
        .map(|s| Duration::from_secs(u64::from(s)))
        .unwrap_or_default();
    login_bound(io_timeout.max(connect))
}

/// The `-o` options of a host's master besides those of every ssh call
/// ([`base_args`]): `ConnectTimeout` is the host's `ansible_timeout` when
/// its inventory sets one, else `--timeout` (whole seconds, at least 1).
fn master_options(remote: &Remote, io_timeout: Duration) -> Vec<String> {
    let secs = match remote.options.connect_timeout {
        Some(s) => u64::from(s),
        None => io_timeout.as_secs_f64().ceil().max(1.0) as u64,
    };
    vec![
        "ControlMaster=yes".to_string(),
        format!("ControlPersist={PERSIST}"),
        format!("ConnectTimeout={secs}"),
        "StreamLocalBindUnlink=yes".to_string(),
        "ExitOnForwardFailure=yes".to_string(),
    ]
}

/// An admin socket on another host: `ssh://[user@]host[:port]/path`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Remote {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The socket's path on that host.
    pub path: PathBuf,
    /// The socket is the master CLI (`master@ssh://...`): commands go one
    /// per connection, routed to the workers (see [`Address::Master`]).
    ///
    /// [`Address::Master`]: super::Address::Master
    pub master: bool,
    /// What an inventory adds to this host's ssh command line (shared:
    /// a remote is cloned with every target and master).
    pub options: Arc<Options>,
}

/// A host's own ssh options, from its inventory variables (checked there:
/// `fleet::connect`). They are part of the host's identity here: two
/// inventory hosts at the same address behind different jump hosts are
/// two hosts, with a master each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Options {
    /// `-i`: the private key to log in with, a path on this machine
    /// (`ansible_ssh_private_key_file`).
    pub identity: Option<PathBuf>,
    /// `-F`: this host's ssh configuration, instead of `--ssh-config`.
    pub config: Option<PathBuf>,
    /// `-o KEY=VALUE` and `-J HOST` words, in the order given.
    pub args: Vec<String>,
    /// `ConnectTimeout` in seconds (`ansible_ssh_timeout`, or
    /// `ansible_timeout`), instead of `--timeout`.
    pub connect_timeout: Option<u32>,
}

// What ssh and `-L` read unambiguously: a host name or IPv4 address, an
// IPv6 one only between brackets, a user name without `@ : [ ]`. Anything
// else (`ssh://]::6/2` once gave the host `]:`) would reach another host
// than the one written, or none; a leading `-` would read as an option of
// ssh.
fn check_host(host: &str, ipv6: bool) -> std::result::Result<(), String> {
    let host_char = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '.' | '-' | '_')
            || (ipv6 && matches!(c, ':' | '%'))
    };
    if host.is_empty()
        || host.starts_with('-')
        || !host.chars().all(host_char)
        || (ipv6 && !host.contains(':'))
    {
        return Err(
            "missing or bad host: a name, an IPv4 address or `[IPv6]` (letters, digits, `.`, `-`, `_`)"
                .into(),
        );
    }
    Ok(())
}

fn check_user(user: &str) -> std::result::Result<(), String> {
    let user_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if user.is_empty() || user.starts_with('-') || !user.chars().all(user_char) {
        return Err("bad user before `@`: letters, digits, `.`, `-`, `_`".into());
    }
    Ok(())
}

/// A socket path as `-L local:remote` takes it: absolute, without `:` (the
/// option's separator) or blanks (which would end it).
fn check_path(path: &str) -> std::result::Result<(), String> {
    if path.len() < 2 || !path.starts_with('/') {
        return Err("missing the socket's path after the host".into());
    }
    if path.contains(':') || path.chars().any(char::is_whitespace) {
        return Err("the socket's path cannot hold `:` or spaces over SSH".into());
    }
    Ok(())
}

impl Remote {
    /// From its parts (an inventory's `ansible_user`, `ansible_host`,
    /// `ansible_port`, `harun_socket`), each checked on its own as
    /// [`Remote::parse`] checks it: a `/` or `@` in a user or host must not
    /// shift the others (`ansible_user=a/b` would otherwise log in to `a`).
    pub fn new(
        user: Option<&str>,
        host: &str,
        port: Option<u16>,
        path: &str,
        master: bool,
    ) -> std::result::Result<Remote, String> {
        check_host(host, host.contains(':'))?;
        if let Some(u) = user {
            check_user(u)?;
        }
        check_path(path)?;
        if port == Some(0) {
            return Err("port must be a number between 1 and 65535".into());
        }
        Ok(Remote {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
            path: PathBuf::from(path),
            master,
            options: Arc::default(),
        })
    }

    /// The part after `ssh://`.
    pub fn parse(rest: &str) -> std::result::Result<Remote, String> {
        let (authority, path) =
            match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => return Err(
                    "`ssh://` needs the socket's path: ssh://[user@]host[:port]/path/to/admin.sock"
                        .into(),
                ),
            };
        check_path(path)?;
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let bracketed = hostport.starts_with('[');
        let (host, port) =
            if let Some(r) = hostport.strip_prefix('[') {
                let (h, after) = r
                    .split_once(']')
                    .ok_or_else(|| "an IPv6 host is written `[addr]`".to_string())?;
                match after {
                    "" => (h, None),
                    p => (
                        h,
                        Some(p.strip_prefix(':').ok_or_else(|| {
                            "after `[addr]` comes `:port` or the path".to_string()
                        })?),
                    ),
                }
            } else {
                match hostport.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                }
            };
        check_host(host, bracketed)?;
        if let Some(u) = user {
            check_user(u)?;
        }
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| "port must be a number between 1 and 65535".to_string())?,
            ),
            None => None,
        };
        Ok(Remote {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
            path: PathBuf::from(path),
            master: false,
            options: Arc::default(),
        })
    }

    /// With these ssh options (from the host's inventory variables).
    pub fn with_options(self, options: Options) -> Remote {
        Remote {
            options: Arc::new(options),
            ..self
        }
    }

    /// What one master connection is for: the login (user, host, port and
    /// the host's ssh options), whatever the socket.
    pub fn login(&self) -> Remote {
        Remote {
            path: PathBuf::new(),
            master: false,
            ..self.clone()
        }
    }

    /// `user@host:port`, for messages.
    pub fn destination(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        if self.host.contains(':') {
            s.push_str(&format!("[{}]", self.host));
        } else {
            s.push_str(&self.host);
        }
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let master = if self.master { "master@" } else { "" };
        write!(
            f,
            "{master}ssh://{}{}",
            self.destination(),
            self.path.display()
        )
    }
}

/// What one master connection is for: [`Remote::login`].
type HostKey = Remote;

/// One host's master and the sockets forwarded over it.
struct Host {
    /// The master's control socket.
    control: PathBuf,
    /// The remote socket path -> its local end.
    forwards: HashMap<PathBuf, PathBuf>,
}

#[derive(Default)]
struct State {
    config: Option<PathBuf>,
    dir: Option<tempfile::TempDir>,
    hosts: HashMap<HostKey, Arc<tokio::sync::Mutex<Host>>>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Default::default)
}

/// Use this ssh client configuration file (`ssh -F`) instead of
/// ~/.ssh/config: `--ssh-config`, `HARUN_SSH_CONFIG`.
pub fn set_config(path: Option<PathBuf>) {
    state().lock().unwrap_or_else(|e| e.into_inner()).config = path;
}

/// The private directory of control and forwarded sockets: short, since a
/// unix socket path has at most 107 bytes.
fn private_dir(st: &mut State) -> Result<PathBuf> {
    if let Some(d) = &st.dir {
        return Ok(d.path().to_path_buf());
    }
    let base = std::env::temp_dir();
    let base = if base.as_os_str().len() > 48 {
        PathBuf::from("/tmp")
    } else {
        base
    };
    // tempfile makes the directory 0700: the sockets in it are only ours.
    let d = tempfile::Builder::new()
        .prefix("harun-ssh-")
        .tempdir_in(&base)
        .map_err(|source| Error::Io {
            path: base.clone(),
            source,
        })?;
    let p = d.path().to_path_buf();
    st.dir = Some(d);
    Ok(p)
}

/// The arguments every ssh call of a host starts with: harun's own
/// options first (ssh keeps the first value of an option), then the
/// host's from its inventory.
fn base_args(config: Option<&Path>, control: &Path, remote: &Remote) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    if let Some(c) = remote.options.config.as_deref().or(config) {
        a.push("-F".into());
        a.push(c.into());
    }
    a.push("-o".into());
    a.push("BatchMode=yes".into());
    let mut cp = OsString::from("ControlPath=");
    cp.push(control);
    a.push("-o".into());
    a.push(cp);
    if let Some(p) = remote.port {
        a.push("-p".into());
        a.push(p.to_string().into());
    }
    if let Some(u) = &remote.user {
        a.push("-l".into());
        a.push(u.into());
    }
    if let Some(key) = &remote.options.identity {
        a.push("-i".into());
        a.push(key.into());
    }
    a.extend(remote.options.args.iter().map(OsString::from));
    a
}

/// A key file that cannot be read here: ssh would only warn and go on
/// without it, and the login then fails as if the host refused the key.
fn check_identity(remote: &Remote) -> Result<()> {
    let Some(key) = &remote.options.identity else {
        return Ok(());
    };
    std::fs::File::open(key).map(drop).map_err(|e| Error::Ssh {
        target: remote.to_string(),
        what: format!(
            "the private key {} (ansible_ssh_private_key_file) cannot be read: {e}",
            key.display()
        ),
    })
}

/// The local unix socket that reaches `remote`'s admin socket, starting the
/// host's master and the forward when needed, all by `deadline`.
pub async fn forward(remote: &Remote, io_timeout: Duration, deadline: Instant) -> Result<PathBuf> {
    let (mut h, config, dir) = running_master(remote, io_timeout, deadline).await?;
    if let Some(local) = h.forwards.get(&remote.path) {
        if local.exists() {
            return Ok(local.clone());
        }
    }
    // Another socket of a host whose master runs: one more forward on it.
    let local = local_end(&h, &dir);
    let mut args = base_args(config.as_deref(), &h.control, remote);
    args.extend([
        "-O".into(),
        "forward".into(),
        "-L".into(),
        forward_spec(&local, &remote.path),
        "--".into(),
        remote.host.clone().into(),
    ]);
    let target = remote.to_string();
    run_ssh(
        &args,
        remote,
        deadline,
        login_timeout(remote, &target, deadline),
    )
    .await?;
    h.forwards.insert(remote.path.clone(), local.clone());
    Ok(local)
}

/// `remote`'s host entry, locked, with its master running (started when
/// needed), by `deadline`; with the ssh configuration and the private
/// directory.
async fn running_master(
    remote: &Remote,
    io_timeout: Duration,
    deadline: Instant,
) -> Result<(tokio::sync::OwnedMutexGuard<Host>, Option<PathBuf>, PathBuf)> {
    let (host, config, dir) = host_entry(remote)?;
    let target = remote.to_string();
    let timed_out = login_timeout(remote, &target, deadline);
    let mut h = match timeout_at(deadline, host.lock_owned()).await {
        Ok(h) => h,
        Err(_) => return Err(timed_out()),
    };
    ensure_master(
        &mut h,
        config.as_deref(),
        remote,
        &dir,
        io_timeout,
        deadline,
        &timed_out,
    )
    .await?;
    Ok((h, config, dir))
}

/// The host's entry (created on first use), the ssh configuration and the
/// private directory.
#[allow(clippy::type_complexity)]
fn host_entry(
    remote: &Remote,
) -> Result<(Arc<tokio::sync::Mutex<Host>>, Option<PathBuf>, PathBuf)> {
    let mut st = state().lock().unwrap_or_else(|e| e.into_inner());
    let dir = private_dir(&mut st)?;
    let n = st.hosts.len();
    let host = st
        .hosts
        .entry(remote.login())
        .or_insert_with(|| {
            Arc::new(tokio::sync::Mutex::new(Host {
                control: dir.join(format!("m{n}")),
                forwards: HashMap::new(),
            }))
        })
        .clone();
    Ok((host, st.config.clone(), dir))
}

/// The error of a login that did not end by `deadline`.
fn login_timeout<'a>(
    remote: &'a Remote,
    target: &'a str,
    deadline: Instant,
) -> impl Fn() -> Error + Sync + 'a {
    // The bound this call was given (a login's is longer than --timeout).
    let bound = deadline.saturating_duration_since(Instant::now());
    let bound = Duration::from_millis((bound.as_millis() as u64).div_ceil(100) * 100);
    move || Error::Timeout {
        target: target.to_string(),
        what: format!("the SSH login to {}", remote.destination()),
        after: bound,
    }
}

/// The local end of the host's next forwarded socket.
fn local_end(h: &Host, dir: &Path) -> PathBuf {
    dir.join(format!(
        "{}-{}.sock",
        h.control
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("m"),
        h.forwards.len()
    ))
}

/// `-L local:remote`'s argument.
fn forward_spec(local: &Path, remote: &Path) -> OsString {
    let mut spec = local.as_os_str().to_owned();
    spec.push(":");
    spec.push(remote);
    spec
}

/// Start the host's master unless it runs, with `remote`'s socket
/// forwarded from the start: one ssh process per host instead of a master
/// then an `ssh -O forward` (a local listener is set up before `-f` puts
/// the master in the background, so it is there when ssh returns). A
/// master that is gone (killed, or idle past ControlPersist) takes its
/// forwards with it.
async fn ensure_master(
    h: &mut Host,
    config: Option<&Path>,
    remote: &Remote,
    dir: &Path,
    io_timeout: Duration,
    deadline: Instant,
    timed_out: &(dyn Fn() -> Error + Sync),
) -> Result<()> {
    if h.control.exists() {
        // A master killed without its clean-up leaves its socket behind;
        // trusted, every later command would fail and blame sshd. One that
        // nothing listens on is removed and the master started again.
        if tokio::net::UnixStream::connect(&h.control).await.is_ok() {
            return Ok(());
        }
        let _ = std::fs::remove_file(&h.control);
    }
    h.forwards.clear();
    check_identity(remote)?;
    let local = local_end(h, dir);
    let mut args = base_args(config, &h.control, remote);
    for o in master_options(remote, io_timeout) {
        args.push("-o".into());
        args.push(o.into());
    }
    args.extend([
        "-L".into(),
        forward_spec(&local, &remote.path),
        "-N".into(),
        "-f".into(),
        "--".into(),
        remote.host.clone().into(),
    ]);
    run_ssh(&args, remote, deadline, timed_out).await?;
    h.forwards.insert(remote.path.clone(), local);
    Ok(())
}

/// A host's master, ready to run commands on that host (`ssh -S`): see
/// [`Master::command`].
#[derive(Clone, Debug)]
pub struct Master {
    remote: Remote,
    control: PathBuf,
    config: Option<PathBuf>,
}

impl Master {
    /// `user@host:port`, for messages.
    pub fn destination(&self) -> String {
        self.remote.destination()
    }

    /// `ssh` over this master, running `remote_command` on the host: a
    /// command line for the login shell there, so every word in it must
    /// have been quoted with [`quote`]. stdin is closed.
    pub fn command(&self, remote_command: &str) -> std::process::Command {
        let mut args = base_args(self.config.as_deref(), &self.control, &self.remote);
        // A master that died since: fail, do not log in again without it
        // (the login has its own bound, in [`master`]).
        args.push("-o".into());
        args.push("ControlMaster=no".into());
        args.extend([
            "--".into(),
            self.remote.host.clone().into(),
            remote_command.into(),
        ]);
        let mut c = std::process::Command::new("ssh");
        c.args(args).stdin(Stdio::null());
        c
    }

    /// Why ssh failed, from what it printed (see [`explain`]).
    pub fn explain(&self, stderr: &str) -> String {
        explain(stderr, &self.remote)
    }
}

/// The master of `remote`'s host, started when needed by `deadline`: the
/// connection the admin socket's forward uses (`remote`'s socket is
/// forwarded as the master starts, ready for the session that follows).
pub async fn master(remote: &Remote, io_timeout: Duration, deadline: Instant) -> Result<Master> {
    let (h, config, _) = running_master(remote, io_timeout, deadline).await?;
    Ok(Master {
        remote: remote.clone(),
        control: h.control.clone(),
        config,
    })
}

/// One word for a POSIX shell (sh, dash, bash, zsh, ksh): between single
/// quotes, each `'` written `'\''`. ssh joins its command words with spaces
/// and hands the line to the remote login shell: a path or argument that
/// is not quoted so is a shell injection on that host.
pub fn quote(word: &str) -> String {
    let mut s = String::with_capacity(word.len() + 2);
    s.push('\'');
    for c in word.chars() {
        if c == '\'' {
            s.push_str("'\\''");
        } else {
            s.push(c);
        }
    }
    s.push('\'');
    s
}

/// Run ssh to its end by `deadline`; its failure as one error naming the host.
async fn run_ssh(
    args: &[OsString],
    remote: &Remote,
    deadline: Instant,
    timed_out: impl Fn() -> Error,
) -> Result<()> {
    let child = tokio::process::Command::new("ssh")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            return Err(Error::Ssh {
                target: remote.to_string(),
                what: if e.kind() == std::io::ErrorKind::NotFound {
                    "the `ssh` program (OpenSSH's client) is not installed here".into()
                } else {
                    format!("cannot run ssh: {e}")
                },
            })
        }
    };
    // A master forked by -f keeps no hold on our stderr: the pipe ends here.
    let out = match timeout_at(deadline, child.wait_with_output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            return Err(Error::Ssh {
                target: remote.to_string(),
                what: format!("ssh failed: {e}"),
            })
        }
        Err(_) => return Err(timed_out()),
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(Error::Ssh {
        target: remote.to_string(),
        what: explain(&stderr, remote),
    })
}

/// Why ssh failed, from what it printed: what to check first, then its words.
pub fn explain(stderr: &str, remote: &Remote) -> String {
    let dest = remote.destination();
    let has = |s: &str| stderr.contains(s);
    let why = if has("Host key verification failed")
        || has("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || has("host key is known")
    {
        format!("host key verification failed for {dest}: its key is not in known_hosts, or it changed (harun keeps ssh's host-key checking: check the key, then add it to known_hosts, e.g. by `{}` once)", login_hint(remote))
    } else if has("Permission denied") || has("Too many authentication failures") {
        match &remote.options.identity {
            Some(key) => format!("authentication to {dest} failed: it does not accept the key {} (ansible_ssh_private_key_file; ssh runs with BatchMode, so it never asks for a password)", key.display()),
            None => format!("authentication to {dest} failed: no key that host accepts (ssh runs with BatchMode, so it never asks for a password: load a key in ssh-agent, set IdentityFile in the ssh config, or ansible_ssh_private_key_file in the inventory)"),
        }
    } else if has("Connection refused") {
        format!("connection refused by {dest} (is sshd running there, on that port?)")
    } else if has("timed out") {
        match remote.options.connect_timeout {
            Some(secs) => format!(
                "timed out connecting to {dest} (ConnectTimeout is the host's ansible_timeout, {secs} s)"
            ),
            None => format!("timed out connecting to {dest} (ConnectTimeout is --timeout)"),
        }
    } else if has("Could not resolve hostname") {
        format!("cannot resolve the host name of {dest}")
    } else if has("No route to host") || has("Network is unreachable") {
        format!("no route to {dest}")
    } else if has("forwarding") || has("forward") {
        format!(
            "{dest} refused to forward the socket {} (sshd's AllowStreamLocalForwarding)",
            remote.path.display()
        )
    } else {
        format!("ssh to {dest} failed")
    };
    let said: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with('@') && !l.starts_with("Warning: Permanently added")
        })
        .collect();
    match said.last() {
        Some(last) => format!("{why}; ssh said: {last}"),
        None => why,
    }
}

/// The ssh command line a person runs to reach `remote` by hand.
fn login_hint(remote: &Remote) -> String {
    let mut s = String::from("ssh ");
    if let Some(p) = remote.port {
        s.push_str(&format!("-p {p} "));
    }
    if let Some(u) = &remote.user {
        s.push_str(&format!("{u}@"));
    }
    s.push_str(&remote.host);
    s
}

/// The error for a forwarded socket that closed before HAProxy's prompt:
/// sshd could not open the remote socket.
/// (The local error, a reset or EOF, says nothing of why: it is left out.)
pub fn remote_socket_failed(remote: &Remote) -> Error {
    Error::Ssh {
        target: remote.to_string(),
        what: format!(
            "the {} {} on {} cannot be opened through SSH: sshd closed the forwarded connection before any reply (is HAProxy running there? is `harun_socket` the path of its {}? can the SSH user open it?)",
            if remote.master { "master socket" } else { "admin socket" },
            remote.path.display(),
            remote.destination(),
            if remote.master { "`-S` master socket" } else { "`stats socket` line" },
        ),
    }
}

/// End every master this run started and remove the private directory.
/// Safe to call when none was started.
///
/// Each master is asked on its control socket, as `ssh -O exit` would
/// (OpenSSH's mux protocol, `PROTOCOL.mux`: hello, then terminate): no
/// process per host, which at 200 hosts was 200 ssh processes started one
/// after the other at the end of a run. A master that does not answer so is
/// left to `ssh -O exit`.
pub fn close_all() {
    let mut st = state().lock().unwrap_or_else(|e| e.into_inner());
    let config = st.config.clone();
    for (remote, h) in st.hosts.drain() {
        let Ok(h) = h.try_lock() else { continue };
        if !h.control.exists() || end_master(&h.control).is_ok() {
            continue;
        }
        let mut args = base_args(config.as_deref(), &h.control, &remote);
        args.extend(["-O".into(), "exit".into(), "--".into(), remote.host.into()]);
        let _ = std::process::Command::new("ssh")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    st.dir = None;
}

/// Ask the OpenSSH master listening on the control socket `control` to
/// exit, as `ssh -O exit` does, without starting a process; `Ok` once it
/// said it would.
pub fn end_master(control: &Path) -> std::io::Result<()> {
    mux::terminate(control)
}

/// The two requests of OpenSSH's multiplexing protocol harun needs to end
/// a master (`PROTOCOL.mux` in OpenSSH's sources): packets are a big-endian
/// u32 length and a body of big-endian u32 words.
mod mux {
    use std::io::{self, Read, Write};
    use std::os::unix::net::UnixStream;
    use std::path::Path;
    use std::time::Duration;

    const HELLO: u32 = 0x0000_0001;
    const VERSION: u32 = 4;
    const TERMINATE: u32 = 0x1000_0005;
    const OK: u32 = 0x8000_0001;
    /// Longer than any answer of a master on this machine; bounds a stuck one.
    const WAIT: Duration = Duration::from_secs(1);
    /// A master's hello carries optional extensions; its replies are short.
    const MAX_PACKET: u32 = 64 * 1024;

    /// Ask the master listening on `control` to exit; `Ok` once it said it would.
    pub fn terminate(control: &Path) -> io::Result<()> {
        let mut s = UnixStream::connect(control)?;
        s.set_read_timeout(Some(WAIT))?;
        s.set_write_timeout(Some(WAIT))?;
        send(&mut s, &[HELLO, VERSION])?;
        let hello = receive(&mut s)?;
        if word(&hello, 0) != Some(HELLO) {
            return Err(unexpected("hello"));
        }
        const REQUEST: u32 = 1;
        send(&mut s, &[TERMINATE, REQUEST])?;
        match receive(&mut s) {
            Ok(reply) if word(&reply, 0) == Some(OK) && word(&reply, 1) == Some(REQUEST) => Ok(()),
            Ok(_) => Err(unexpected("terminate reply")),
            // OpenSSH's master often exits before its reply is out (mux.c
            // says so; `ssh -O exit` takes the closed socket as a yes too).
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn send(s: &mut UnixStream, words: &[u32]) -> io::Result<()> {
        let mut packet = Vec::with_capacity(4 + 4 * words.len());
        packet.extend_from_slice(&(4 * words.len() as u32).to_be_bytes());
        for w in words {
            packet.extend_from_slice(&w.to_be_bytes());
        }
        s.write_all(&packet)
    }

    fn receive(s: &mut UnixStream) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        s.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len);
        if len > MAX_PACKET {
            return Err(unexpected("packet length"));
        }
        let mut body = vec![0u8; len as usize];
        s.read_exact(&mut body)?;
        Ok(body)
    }

    fn word(body: &[u8], i: usize) -> Option<u32> {
        let b = body.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes(b.try_into().ok()?))
    }

    fn unexpected(what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("ssh master: unexpected {what}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_host_port_and_path() {
        let r = Remote::parse("ops@lb1.example.com:2222/run/haproxy/admin.sock").unwrap();
        assert_eq!(r.user.as_deref(), Some("ops"));
        assert_eq!(r.host, "lb1.example.com");
        assert_eq!(r.port, Some(2222));
        assert_eq!(r.path, PathBuf::from("/run/haproxy/admin.sock"));
        assert_eq!(
            r.to_string(),
            "ssh://ops@lb1.example.com:2222/run/haproxy/admin.sock"
        );
        let r = Remote::parse("[::1]:22/a.sock").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("::1", Some(22)));
        assert_eq!(r.to_string(), "ssh://[::1]:22/a.sock");
        let r = Remote::parse("lb1/a.sock").unwrap();
        assert_eq!((r.user, r.port), (None, None));
    }

    #[test]
    fn refuses_what_ssh_would_misread() {
        for bad in [
            "lb1",
            "lb1/",
            "-oProxyCommand=x/a.sock",
            "-l@lb1/a",
            "lb1:0/a",
            "lb1:x/a",
            "lb1/a:b",
            "lb1/a b",
            "[::1/a",
            "/a.sock",
            "]::6/2",
            "a@b@c/a",
            "[lb1]/a",
            "lb]1/a",
            "u:x@lb1/a",
            "[u]@lb1/a",
            "lb1%x/a",
        ] {
            assert!(Remote::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quoted_words_reach_the_shell_as_written() {
        // What a remote login shell does with the line: run it through sh
        // here; hostile paths come back as one word, nothing executed.
        let marker = std::env::temp_dir().join(format!("harun-quote-{}", std::process::id()));
        let words = [
            "/etc/haproxy/haproxy.cfg".to_string(),
            "it's here".to_string(),
            format!("$(touch {})", marker.display()),
            format!("`touch {}`; touch {}", marker.display(), marker.display()),
            "a\nb\\c\"d*?[x]~ $HOME".to_string(),
            String::new(),
        ];
        for w in &words {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s' {}", quote(w)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), *w);
        }
        assert!(!marker.exists(), "a quoted word ran a command");
    }

    #[test]
    fn the_connect_timeout_is_the_hosts_when_its_inventory_sets_one() {
        let r = Remote::parse("lb1:2222/a.sock").unwrap();
        let io = Duration::from_millis(2500);
        let opts = master_options(&r, io);
        assert!(opts.contains(&"ConnectTimeout=3".to_string()), "{opts:?}");
        assert_eq!(login_bound_of(&r, io), Duration::from_millis(7500));
        let r = r.with_options(Options {
            connect_timeout: Some(30),
            ..Options::default()
        });
        let opts = master_options(&r, io);
        assert!(opts.contains(&"ConnectTimeout=30".to_string()), "{opts:?}");
        assert_eq!(
            opts.iter()
                .filter(|o| o.starts_with("ConnectTimeout="))
                .count(),
            1
        );
        // The login waits for ssh's own timeout, not less.
        assert_eq!(login_bound_of(&r, io), Duration::from_secs(90));
        // A shorter one than --timeout is taken as given.
        let r = r.with_options(Options {
            connect_timeout: Some(1),
            ..Options::default()
        });
        assert!(master_options(&r, io).contains(&"ConnectTimeout=1".to_string()));
        assert_eq!(login_bound_of(&r, io), Duration::from_millis(7500));
        assert!(explain(
            "ssh: connect to host lb1 port 2222: Connection timed out\n",
            &r
        )
        .contains("ConnectTimeout is the host's ansible_timeout, 1 s"));
    }

    #[test]
    fn explains_ssh_failures_by_cause() {
        let r = Remote::parse("lb1:2222/a.sock").unwrap();
        let cases = [
            (
                "Host key verification failed.\n",
                "host key verification failed for lb1:2222",
            ),
            (
                "ops@lb1: Permission denied (publickey).\n",
                "authentication to lb1:2222 failed",
            ),
            (
                "ssh: connect to host lb1 port 2222: Connection refused\n",
                "connection refused by lb1:2222",
            ),
            (
                "ssh: connect to host lb1 port 2222: Connection timed out\n",
                "timed out connecting",
            ),
            (
                "ssh: Could not resolve hostname lb1: Name or service not known\n",
                "cannot resolve",
            ),
            ("", "ssh to lb1:2222 failed"),
        ];
        for (stderr, want) in cases {
            let msg = explain(stderr, &r);
            assert!(msg.starts_with(want), "{stderr:?}: {msg}");
        }
        assert!(explain("Host key verification failed.\n", &r)
            .ends_with("ssh said: Host key verification failed."));
    }
}
