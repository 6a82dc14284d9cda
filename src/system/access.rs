//! Host access: the few things the configuration, rsyslog and host checks
//! do on a host (read a file, tell a file from a directory, list a
//! directory, run a program), on this machine or on a host reached over
//! SSH, so `troubleshoot` against `ssh://lb1/...` reads lb1's haproxy.cfg,
//! runs lb1's `haproxy -c` and counts lb1's CPUs.
//!
//! Over SSH every operation is one command on the host's master connection
//! (`ssh -S control host -- command`, see [`crate::runtime::ssh::Master`]),
//! written for a POSIX shell with every path and argument quoted
//! ([`crate::runtime::ssh::quote`]); nothing is installed on the host. Each
//! is bounded: a deadline (the process group is killed after it) and a
//! size (more output than asked is cut, and the caller sees it is).

use crate::runtime::ssh::{quote, Master};
use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a path is, symlinks followed (as `stat()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Other,
}

/// One directory entry: its name and whether it is a regular file
/// (symlinks followed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_file: bool,
}

/// A program's end: exit code (128 + signal when killed by one), what it
/// printed (each stream cut at the bound it was run with).
#[derive(Clone, Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a program did not run to its end.
#[derive(Debug)]
pub enum RunError {
    /// The program is not on that host (exit 127 over SSH).
    NotFound,
    Timeout(Duration),
    Spawn(io::Error),
}

/// Where the checks read files and run programs.
#[derive(Clone, Debug)]
pub enum Access {
    /// This machine.
    Local,
    /// A host over SSH, through its master connection; `name` is the host
    /// as findings name it (the inventory host, else `user@host:port`).
    Ssh {
        name: String,
        master: Master,
        /// Bound on each command (the run's `--timeout`, at least 5 s: a
        /// command is a new channel on an open connection, no login).
        timeout: Duration,
        /// Files whose contents came with their [`Access::kind`] (see
        /// [`Prefetched`]).
        prefetched: Prefetched,
        /// Whether the account's shell runs commands as asked (see
        /// [`Access::canary`]), once known.
        shell: ShellCheck,
    },
}

/// What a host's login shell showed of itself, shared by the clones of
/// its [`Access`]: known from the first batch that parsed (only a POSIX
/// shell running the script prints its random frames) or else from the
/// canary, asked once, before the first other command.
#[derive(Clone, Debug, Default)]
pub struct ShellCheck(std::sync::Arc<std::sync::OnceLock<Result<(), String>>>);

/// Over SSH, `kind()` of a regular file brings its first bytes too, kept
/// here for the `read()` of the same path that follows it (the
/// configuration and rsyslog loaders ask "is it a file?" then read it):
/// one command on the host instead of two. A `read()` takes its entry:
/// a later read goes to the host again, so nothing is read staler than
/// before, just in one round trip.
#[derive(Clone, Debug, Default)]
pub struct Prefetched(Shared<(PathBuf, Vec<u8>)>, Batched);

/// Entries shared by the clones of one host's [`Access`].
type Shared<T> = std::sync::Arc<std::sync::Mutex<Vec<T>>>;

/// The outputs of the commands [`Access::prefetch`] ran in one go, each
/// kept for the one call that asks for it (then gone, like
/// [`Prefetched`]'s files), by its command line.
#[derive(Clone, Debug, Default)]
struct Batched(Shared<(String, Output)>);

impl Batched {
    fn take(&self, line: &str) -> Option<Output> {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let i = v.iter().position(|(l, _)| l == line)?;
        Some(v.swap_remove(i).1)
    }
}

/// A question [`Access::prefetch`] asks in advance: the same as
/// [`Access::kind`], [`Access::list`], [`Access::run`] ask.
#[derive(Clone, Debug)]
pub enum Ask {
    Kind(PathBuf),
    List(PathBuf),
    Run(PathBuf, Vec<OsString>),
}

/// The largest configuration file harun reads (`config::model::load_config`
/// refuses a larger one): it bounds what a host's file costs in memory.
pub const MAX_CONFIG_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// How much of a file `kind()` brings along over SSH: the largest read
/// that follows one (a configuration file's bound).
const PREFETCH_BYTES: u64 = MAX_CONFIG_FILE_SIZE + 1;

impl Prefetched {
    fn put(&self, path: &Path, bytes: Vec<u8>) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        v.retain(|(p, _)| p != path);
        v.push((path.to_path_buf(), bytes));
    }

    /// The first `limit + 1` bytes of `path` if they were brought along:
    /// all the file when it was shorter than what `kind()` asked for.
    fn take(&self, path: &Path, limit: u64) -> Option<Vec<u8>> {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let i = v.iter().position(|(p, _)| p == path)?;
        let (_, bytes) = v.swap_remove(i);
        let want = limit.saturating_add(1);
        if (bytes.len() as u64) < PREFETCH_BYTES || want <= PREFETCH_BYTES {
            let n = usize::try_from(want).unwrap_or(usize::MAX).min(bytes.len());
            let mut bytes = bytes;
            bytes.truncate(n);
            return Some(bytes);
        }
        None
    }
}

/// The largest output kept from a command that lists or probes (not file
/// contents, which have their own bound).
const LIST_BYTES: usize = 4 * 1024 * 1024;

impl Access {
    /// The host's name in findings, `None` on this machine.
    pub fn host(&self) -> Option<&str> {
        match self {
            Access::Local => None,
            Access::Ssh { name, .. } => Some(name),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Access::Local)
    }

    /// At most `limit + 1` bytes of a file (one more than the limit, so the
    /// caller can tell a file that is too large).
    pub fn read(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        match self {
            Access::Local => {
                let f = std::fs::File::open(path)?;
                if f.metadata()?.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        "Is a directory",
                    ));
                }
                let mut bytes = Vec::new();
                f.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
                Ok(bytes)
            }
            Access::Ssh { prefetched, .. } => {
                if let Some(bytes) = prefetched.take(path, limit) {
                    return Ok(bytes);
                }
                // `[ -d ]` first: GNU head reads a directory as an error
                // after opening it, busybox's as empty.
                let p = quote_path(path)?;
                let out = self.shell(
                    &format!(
                        "if [ -d {p} ]; then echo 'Is a directory' >&2; exit 21; fi; exec head -c {} -- {p}",
                        limit.saturating_add(1)
                    ),
                    usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX),
                )?;
                if out.code == 0 {
                    return Ok(out.stdout);
                }
                Err(io_error(&out.stderr, path))
            }
        }
    }

    /// What `path` is; `NotFound` when nothing is there.
    pub fn kind(&self, path: &Path) -> io::Result<Kind> {
        match self {
            Access::Local => {
                let m = std::fs::metadata(path)?;
                Ok(if m.is_file() {
                    Kind::File
                } else if m.is_dir() {
                    Kind::Dir
                } else {
                    Kind::Other
                })
            }
            Access::Ssh { prefetched, .. } => {
                let line = kind_line(path)?;
                let out = match prefetched.1.take(&line) {
                    Some(out) => out,
                    None => self.shell(
                        &line,
                        usize::try_from(PREFETCH_BYTES + 2).unwrap_or(usize::MAX),
                    )?,
                };
                if out.stdout.starts_with(b"f\n") {
                    if out.code == 0 {
                        prefetched.put(path, out.stdout[2..].to_vec());
                    }
                    return Ok(Kind::File);
                }
                match String::from_utf8_lossy(&out.stdout).trim() {
                    "d" => Ok(Kind::Dir),
                    "o" => Ok(Kind::Other),
                    "n" => Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        "No such file or directory",
                    )),
                    _ => Err(io::Error::other(self.failed(&out))),
                }
            }
        }
    }

    /// The entries of a directory (without `.` and `..`), sorted by name.
    pub fn list(&self, dir: &Path) -> io::Result<Vec<Entry>> {
        let mut v = match self {
            Access::Local => {
                let mut v = Vec::new();
                for e in std::fs::read_dir(dir)? {
                    let e = e?;
                    v.push(Entry {
                        name: e.file_name().to_string_lossy().into_owned(),
                        is_file: std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()),
                    });
                }
                v
            }
            Access::Ssh { .. } => {
                // NUL-separated, a kind letter first: names may hold
                // newlines. The directory is `$1`, never part of the script.
                let line = list_line(dir)?;
                // One byte over the bound says the list was cut: an error,
                // never a shorter list of files to check.
                let out = match self.batched().and_then(|b| b.take(&line)) {
                    Some(out) => out,
                    None => self.shell(&line, LIST_BYTES + 1)?,
                };
                if out.code != 0 {
                    return Err(io_error(&out.stderr, dir));
                }
                if out.stdout.len() > LIST_BYTES {
                    return Err(io::Error::other(format!(
                        "{}: the directory lists more than {} MiB of names on the host",
                        dir.display(),
                        LIST_BYTES >> 20
                    )));
                }
                out.stdout
                    .split(|b| *b == 0)
                    .filter(|e| e.len() > 1)
                    .map(|e| Entry {
                        is_file: e[0] == b'f',
                        name: String::from_utf8_lossy(&e[1..]).into_owned(),
                    })
                    .collect()
            }
        };
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    /// Run `program` with `args` on the host, killed after `timeout`, each
    /// stream kept to `limit` bytes. Over SSH a bare program name is looked
    /// up in the login's `PATH` plus the sbin directories (a
    /// non-interactive login often lacks `/usr/sbin`, where haproxy is).
    pub fn run(
        &self,
        program: &Path,
        args: &[OsString],
        timeout: Duration,
        limit: usize,
    ) -> Result<Output, RunError> {
        match self {
            Access::Local => {
                let mut cmd = Command::new(crate::base::program::resolve_program(program));
                cmd.args(args);
                run_bounded(cmd, timeout, limit)
            }
            Access::Ssh { .. } => {
                let line = run_line(program, args)?;
                let out = match self.batched().and_then(|b| b.take(&line)) {
                    Some(mut out) => {
                        out.stdout.truncate(limit);
                        out.stderr.truncate(limit);
                        out
                    }
                    None => self.ssh(&line, timeout, limit)?,
                };
                // 127: the shell found no such program (255 is ssh's own).
                if out.code == 127 {
                    return Err(RunError::NotFound);
                }
                // 126: found but not runnable (noexec, permissions); above
                // 128: killed by a signal. Locally both fail to give an exit
                // code at all: neither is the program's verdict.
                if out.code == 126 || (128..255).contains(&out.code) {
                    return Err(RunError::Spawn(io::Error::other(format!(
                        "{} did not run to its end on the host (shell exit {}: {})",
                        program.display(),
                        out.code,
                        if out.code == 126 {
                            "not executable there"
                        } else {
                            "killed by a signal"
                        }
                    ))));
                }
                if out.code == 255 {
                    return Err(RunError::Spawn(io::Error::other(self.failed(&out))));
                }
                Ok(out)
            }
        }
    }

    fn batched(&self) -> Option<&Batched> {
        match self {
            Access::Ssh { prefetched, .. } => Some(&prefetched.1),
            Access::Local => None,
        }
    }

    /// Over SSH, ask all of `asks` in one command on the host (each login
    /// shell there costs its start-up files, `~/.bashrc` included, on
    /// every command), and keep each answer for the [`Access::kind`],
    /// [`Access::list`] or [`Access::run`] call that asks the same later:
    /// that call then returns what it would have returned had it run its
    /// own command at this moment. Nothing on this machine. The answers
    /// are framed by a random line; when the batch fails, times out or
    /// does not parse, nothing is kept and each call runs its own
    /// command as before (with its own error).
    pub fn prefetch(&self, asks: &[Ask], timeout: Duration) {
        let Access::Ssh {
            prefetched,
            timeout: each,
            shell,
            ..
        } = self
        else {
            return;
        };
        let mut lines = Vec::new();
        let mut limit = 0usize;
        for a in asks {
            let (line, bound) = match a {
                Ask::Kind(p) => (kind_line(p).ok(), PREFETCH_BYTES as usize + 2),
                Ask::List(d) => (list_line(d).ok(), LIST_BYTES + 1),
                Ask::Run(p, args) => (run_line(p, args).ok(), 2 * RUN_BATCH_BYTES),
            };
            if let Some(l) = line {
                lines.push(l);
                limit = limit.saturating_add(bound + 128);
            }
        }
        if lines.is_empty() {
            return;
        }
        let Some(mark) = boundary() else { return };
        let line = format!("sh -c {}", quote(&batch_script(&lines, &mark)));
        // Asked before the shell is known: its answer is used only when it
        // parses, which only a shell that ran the script can make happen.
        let Ok(out) = self.ssh_unchecked(&line, timeout.max(*each), limit) else {
            return;
        };
        if out.code != 0 {
            return;
        }
        let Some(answers) = parse_batch(&out.stdout, &mark, lines.len()) else {
            return;
        };
        let _ = shell.0.set(Ok(()));
        let mut v = prefetched.1 .0.lock().unwrap_or_else(|e| e.into_inner());
        for (l, o) in lines.into_iter().zip(answers) {
            v.retain(|(k, _)| *k != l);
            v.push((l, o));
        }
    }

    /// Drop what [`Access::prefetch`] and [`Access::kind`] brought and no
    /// call took: the end of the step they were for (a later call asks
    /// the host again).
    pub fn forget_prefetched(&self) {
        if let Access::Ssh { prefetched, .. } = self {
            prefetched
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            prefetched
                .1
                 .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
    }

    /// A shell command line on the host, bounded by this access's timeout.
    fn shell(&self, line: &str, limit: usize) -> io::Result<Output> {
        let Access::Ssh { timeout, .. } = self else {
            return Err(io::Error::other("not over SSH"));
        };
        let out = self.ssh(line, *timeout, limit).map_err(shell_error)?;
        if out.code == 255 {
            return Err(io::Error::other(self.failed(&out)));
        }
        Ok(out)
    }

    /// Whether the SSH user's shell runs commands as asked: a forwarding-only
    /// account (`nologin`) answers every command with its own message and
    /// exit code, a forced command with whatever it prints. Either would be
    /// read as the host's files and verdicts; harun asks for a known answer
    /// first and refuses the host's checks when it does not come back.
    ///
    /// Asked once per host, before its first command unless a batch
    /// ([`Access::prefetch`]) showed it already; every command on the host
    /// then fails with the same error.
    pub fn canary(&self) -> io::Result<()> {
        let Access::Ssh { shell, .. } = self else {
            return Ok(());
        };
        shell
            .0
            .get_or_init(|| self.ask_canary().map_err(|e| e.to_string()))
            .clone()
            .map_err(io::Error::other)
    }

    /// Why the account's shell was found not to run commands as asked,
    /// if it was ([`Access::canary`]).
    pub fn shell_refused(&self) -> Option<String> {
        match self {
            Access::Ssh { shell, .. } => shell.0.get().and_then(|r| r.clone().err()),
            Access::Local => None,
        }
    }

    fn ask_canary(&self) -> io::Result<()> {
        let Access::Ssh { timeout, .. } = self else {
            return Ok(());
        };
        let out = self
            .ssh_unchecked("echo harun-canary", *timeout, 64)
            .map_err(shell_error)?;
        if out.code == 255 {
            return Err(io::Error::other(self.failed(&out)));
        }
        if out.code == 0 && out.stdout == b"harun-canary\n" {
            return Ok(());
        }
        let said = String::from_utf8_lossy(if out.stdout.is_empty() {
            &out.stderr
        } else {
            &out.stdout
        })
        .trim()
        .chars()
        .take(120)
        .collect::<String>();
        Err(io::Error::other(format!(
            "the SSH user cannot run commands on this host (a nologin shell or a forced command?): `echo` answered {said:?} with exit {}; its files and programs cannot be checked over SSH",
            out.code
        )))
    }

    /// `line` on the host, once its shell is known to run commands as
    /// asked ([`Access::canary`]).
    fn ssh(&self, line: &str, timeout: Duration, limit: usize) -> Result<Output, RunError> {
        self.canary().map_err(RunError::Spawn)?;
        self.ssh_unchecked(line, timeout, limit)
    }

    fn ssh_unchecked(
        &self,
        line: &str,
        timeout: Duration,
        limit: usize,
    ) -> Result<Output, RunError> {
        let Access::Ssh { master, .. } = self else {
            return Err(RunError::Spawn(io::Error::other("not over SSH")));
        };
        run_bounded(
            master.command(&bounded_on_host(line, timeout)),
            timeout,
            limit,
        )
    }

    /// ssh's own failure (exit 255): the master is gone, the host closed.
    fn failed(&self, out: &Output) -> String {
        match self {
            Access::Ssh { master, .. } => format!(
                "over SSH: {}",
                master.explain(&String::from_utf8_lossy(&out.stderr))
            ),
            Access::Local => String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A path as one shell word; a NUL cannot be passed at all.
/// A shell command's failure to run, as the I/O error its caller reports.
fn shell_error(e: RunError) -> io::Error {
    match e {
        RunError::NotFound => io::Error::new(
            io::ErrorKind::NotFound,
            "a POSIX tool (sh, head) is missing on the host",
        ),
        RunError::Timeout(after) => io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer over SSH within {after:?}"),
        ),
        RunError::Spawn(e) => e,
    }
}

fn quote_path(path: &Path) -> io::Result<String> {
    match path.to_str() {
        Some(p) if !p.contains('\0') => Ok(quote(p)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a UTF-8 path", path.display()),
        )),
    }
}

/// The command line of [`Access::kind`] over SSH. A regular file's first
/// bytes come after its letter (see [`Prefetched`]); a file that cannot
/// be read is still `f`, and its read() asks again, for the error.
fn kind_line(path: &Path) -> io::Result<String> {
    let p = quote_path(path)?;
    Ok(format!("if [ -d {p} ]; then echo d; elif [ -f {p} ]; then echo f; exec head -c {PREFETCH_BYTES} -- {p}; elif [ -e {p} ]; then echo o; else echo n; fi"))
}

/// The command line of [`Access::list`] over SSH: NUL-separated, a kind
/// letter first (names may hold newlines). The directory is `$1`, never
/// part of the script.
fn list_line(dir: &Path) -> io::Result<String> {
    let script = r#"cd -- "$1" || exit 2; for f in * .*; do case $f in .|..) continue;; esac; if [ -f "$f" ]; then printf 'f%s\0' "$f"; elif [ -e "$f" ] || [ -L "$f" ]; then printf 'o%s\0' "$f"; fi; done"#;
    Ok(format!("sh -c {} sh {}", quote(script), quote_path(dir)?))
}

/// The command line of [`Access::run`] over SSH.
fn run_line(program: &Path, args: &[OsString]) -> Result<String, RunError> {
    let mut line =
        String::from("PATH=\"$PATH:/usr/local/sbin:/usr/sbin:/sbin\"; export PATH; exec");
    for w in std::iter::once(program.as_os_str()).chain(args.iter().map(|a| a.as_os_str())) {
        let Some(w) = w.to_str().filter(|w| !w.contains('\0')) else {
            return Err(RunError::Spawn(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an argument is not UTF-8 text",
            )));
        };
        line.push(' ');
        line.push_str(&quote(w));
    }
    Ok(line)
}

/// `line` bounded on the host as well. When a command outlives `timeout`,
/// harun kills its ssh here, but what it started on the host runs on: a
/// `haproxy -c` stuck resolving its servers' names while DNS is down would
/// be left behind at every try. The host's `timeout` (coreutils, busybox),
/// when it has one, ends it two seconds after harun gave up on it, so the
/// verdict is still harun's own (its timeout error, not exit 124).
///
/// The login shell gets one simple command of quoted words (`sh -c SCRIPT
/// sh LINE`), as every other line harun sends: a fish or csh login shell
/// runs it too. A `timeout` that does not take `-k` (BusyBox before 1.36,
/// whose usage error would have been the command's answer) is not used.
fn bounded_on_host(line: &str, timeout: Duration) -> String {
    let secs = timeout.as_secs().saturating_add(2);
    let script = format!(
        "if timeout -k 1 {secs} true >/dev/null 2>&1; then exec timeout -k 1 {secs} sh -c \"$1\"; fi; exec sh -c \"$1\""
    );
    format!("sh -c {} sh {}", quote(&script), quote(line))
}

/// The most of each stream of a program run in a batch (`haproxy -c`'s
/// own bound).
const RUN_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// The script that runs `lines` one after the other. Each answer:
/// `MARK i o`, its stdout, `MARK i e CODE`, its stderr. Each line runs in
/// a subshell (an `exec` ends that subshell only); its stderr is captured
/// while its stdout goes straight out (fd 3).
fn batch_script(lines: &[String], mark: &str) -> String {
    let mut script = String::from("exec 3>&1\n");
    for (i, l) in lines.iter().enumerate() {
        script.push_str(&format!(
            "printf '%s\\n' '{mark} {i} o'; e=$( ( {l} ) 2>&1 1>&3 ); c=$?; printf '\\n%s %s\\n%s\\n' '{mark} {i} e' \"$c\" \"$e\"\n"
        ));
    }
    script
}

/// A line no file or program output can guess: 128 random bits.
fn boundary() -> Option<String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .ok()?;
    Some(format!(
        "harun-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

/// The `n` answers of a batch, or `None` when it is not exactly what the
/// script prints (cut by the size bound, or a mark where none belongs).
fn parse_batch(out: &[u8], mark: &str, n: usize) -> Option<Vec<Output>> {
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut rest = out;
    let mut answers = Vec::with_capacity(n);
    for i in 0..n {
        let open = format!("{mark} {i} o\n");
        // The first may follow what the login's start-up files printed.
        let start = if i == 0 {
            find(rest, open.as_bytes())?
        } else {
            0
        };
        rest = rest[start..].strip_prefix(open.as_bytes())?;
        let close = format!("\n{mark} {i} e ");
        let at = find(rest, close.as_bytes())?;
        let stdout = rest[..at].to_vec();
        if find(&stdout, mark.as_bytes()).is_some() {
            return None;
        }
        rest = &rest[at + close.len()..];
        let nl = rest.iter().position(|b| *b == b'\n')?;
        let code: i32 = std::str::from_utf8(&rest[..nl]).ok()?.parse().ok()?;
        rest = &rest[nl + 1..];
        // stderr (its last newlines dropped by `$( )`), then one newline.
        let end = match i + 1 < n {
            true => find(rest, format!("\n{mark} {} o\n", i + 1).as_bytes())?,
            false => rest.len().checked_sub(1)?,
        };
        let stderr = rest[..end].to_vec();
        if find(&stderr, mark.as_bytes()).is_some() {
            return None;
        }
        rest = &rest[end + 1..];
        answers.push(Output {
            code,
            stdout,
            stderr,
        });
    }
    rest.is_empty().then_some(answers)
}

/// The error a remote tool printed, as the local call would have failed:
/// the kind from its words (coreutils, busybox), the text as it said it.
fn io_error(stderr: &[u8], path: &Path) -> io::Error {
    let text = String::from_utf8_lossy(stderr);
    let text = text.lines().last().unwrap_or("").trim().to_string();
    let kind = if text.contains("No such file")
        || text.contains("Not a directory")
        || text.contains("can't cd")
        || text.contains("can't open")
    {
        io::ErrorKind::NotFound
    } else if text.contains("Permission denied") {
        io::ErrorKind::PermissionDenied
    } else if text.contains("Is a directory") {
        io::ErrorKind::IsADirectory
    } else {
        io::ErrorKind::Other
    };
    let msg = match kind {
        io::ErrorKind::NotFound => "No such file or directory (on the remote host)".to_string(),
        io::ErrorKind::PermissionDenied => "Permission denied (on the remote host)".to_string(),
        io::ErrorKind::IsADirectory => "Is a directory".to_string(),
        _ if text.is_empty() => format!("{}: cannot be read on the remote host", path.display()),
        _ => format!("{text} (on the remote host)"),
    };
    io::Error::new(kind, msg)
}

/// Run `cmd` to its end within `timeout`, in its own process group (a
/// timeout kills a wrapper's children too: they hold the pipes), each
/// stream read on its own thread and kept to `limit` bytes (the rest is
/// drained so the child never blocks on a full pipe).
pub fn run_bounded(mut cmd: Command, timeout: Duration, limit: usize) -> Result<Output, RunError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            RunError::NotFound
        } else {
            RunError::Spawn(e)
        }
    })?;
    let pgid = child.id() as libc::pid_t;
    let kill_group = || {
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    };
    let out_reader = child.stdout.take().map(|r| spawn_reader(r, limit));
    let err_reader = child.stderr.take().map(|r| spawn_reader(r, limit));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                kill_group();
                let _ = child.wait();
                // The readers are not joined: a descendant that left the group could
                // still hold the pipes. They end on their own at EOF.
                return Err(RunError::Timeout(timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                kill_group();
                let _ = child.wait();
                return Err(RunError::Spawn(e));
            }
        }
    };
    // The child exited; a background descendant may still hold the pipes open. Wait for
    // EOF until the deadline, then kill what is left of the group and give up.
    let join = |r: Option<std::sync::mpsc::Receiver<Vec<u8>>>| -> Option<Vec<u8>> {
        match r {
            None => Some(Vec::new()),
            Some(r) => r
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .ok(),
        }
    };
    let (Some(stderr), Some(stdout)) = (join(err_reader), join(out_reader)) else {
        kill_group();
        return Err(RunError::Timeout(timeout));
    };
    let code = match status.code() {
        Some(c) => c,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    Ok(Output {
        code,
        stdout,
        stderr,
    })
}

/// Reads a pipe to the end (kept to `limit` bytes) on its own thread; the
/// result is sent on the returned channel.
fn spawn_reader<R: Read + Send + 'static>(
    r: R,
    limit: usize,
) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut limited = r.take(limit as u64);
        let _ = limited.read_to_end(&mut buf);
        // Drain the rest so the child never blocks on a full pipe.
        let mut inner = limited.into_inner();
        let _ = std::io::copy(&mut inner, &mut std::io::sink());
        let _ = tx.send(buf);
    });
    rx
}

/// The path a relative configuration path names on a host: as given (the
/// remote shell's directory is the login's home, a surprise): refuse it.
pub fn require_absolute(access: &Access, path: &Path) -> io::Result<PathBuf> {
    if access.is_local() || path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{}: a path on another host must be absolute (it would be read from the SSH user's home there)",
            path.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_read_kind_list_and_bounds() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("b.cfg"), "0123456789").unwrap();
        std::fs::create_dir(d.path().join("a.d")).unwrap();
        let a = Access::Local;
        assert_eq!(a.read(&d.path().join("b.cfg"), 4).unwrap(), b"01234");
        assert_eq!(a.kind(d.path()).unwrap(), Kind::Dir);
        assert_eq!(a.kind(&d.path().join("b.cfg")).unwrap(), Kind::File);
        assert_eq!(
            a.kind(&d.path().join("nope")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            a.read(d.path(), 10).unwrap_err().kind(),
            io::ErrorKind::IsADirectory
        );
        let names: Vec<(String, bool)> = a
            .list(d.path())
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.is_file))
            .collect();
        assert_eq!(names, [("a.d".into(), false), ("b.cfg".into(), true)]);
    }

    #[test]
    fn run_keeps_the_bound_and_the_code() {
        let out = Access::Local
            .run(
                Path::new("sh"),
                &["-c".into(), "yes | head -c 100000; exit 3".into()],
                Duration::from_secs(10),
                1000,
            )
            .unwrap();
        assert_eq!((out.code, out.stdout.len()), (3, 1000));
        assert!(matches!(
            Access::Local.run(Path::new("/nonexistent/x"), &[], Duration::from_secs(5), 10),
            Err(RunError::NotFound)
        ));
        assert!(matches!(
            Access::Local.run(
                Path::new("sleep"),
                &["5".into()],
                Duration::from_millis(100),
                10
            ),
            Err(RunError::Timeout(_))
        ));
    }

    #[test]
    fn remote_errors_keep_their_kind() {
        let p = Path::new("/x");
        for (said, kind) in [
            (
                &b"head: cannot open '/x' for reading: No such file or directory\n"[..],
                io::ErrorKind::NotFound,
            ),
            (
                b"head: cannot open '/x' for reading: Permission denied\n",
                io::ErrorKind::PermissionDenied,
            ),
            (b"Is a directory\n", io::ErrorKind::IsADirectory),
            (b"", io::ErrorKind::Other),
        ] {
            assert_eq!(io_error(said, p).kind(), kind);
        }
    }

    #[test]
    fn a_line_bounded_on_the_host_answers_as_the_line_alone_and_ends_after_its_bound() {
        // As the host's login shell runs it (`$SHELL -c LINE`), here.
        let d = tempfile::tempdir().unwrap();
        let odd = d.path().join("it's a \"b\" $HOME `x`.cfg");
        std::fs::write(&odd, "x").unwrap();
        for line in [
            run_line(
                Path::new("sh"),
                &["-c".into(), "echo out; echo err >&2; exit 3".into()],
            )
            .unwrap(),
            kind_line(&odd).unwrap(),
            run_line(Path::new("/nonexistent/haproxy"), &["-v".into()]).unwrap(),
        ] {
            let alone = Command::new("sh").arg("-c").arg(&line).output().unwrap();
            let bounded = Command::new("sh")
                .arg("-c")
                .arg(bounded_on_host(&line, Duration::from_secs(5)))
                .output()
                .unwrap();
            assert_eq!(bounded.stdout, alone.stdout, "{line}");
            assert_eq!(bounded.status.code(), alone.status.code(), "{line}");
        }
        // A command harun gave up on (its bound here: 0 s) is ended on the
        // host two seconds later instead of running on.
        let t = std::time::Instant::now();
        let st = Command::new("sh")
            .arg("-c")
            .arg(bounded_on_host("sleep 30", Duration::ZERO))
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(124));
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[test]
    fn a_host_timeout_without_k_or_a_non_posix_login_shell_still_answers_as_the_line_alone() {
        // BusyBox's `timeout` before 1.36 has no `-k`: a usage error, exit 1.
        let d = tempfile::tempdir().unwrap();
        let fake = d.path().join("timeout");
        std::fs::write(
            &fake,
            "#!/bin/sh\ncase \"$1\" in -k) echo 'Usage: timeout [-s SIG] SECS PROG ARGS' >&2; exit 1;; esac\nexec /usr/bin/timeout \"$@\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", d.path().display(), std::env::var("PATH").unwrap());
        let line = "echo out; exit 3";
        let out = Command::new("sh")
            .arg("-c")
            .arg(bounded_on_host(line, Duration::from_secs(5)))
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        // What the login shell itself parses: one `sh -c` of quoted words,
        // no sh syntax of its own (fish and csh run harun's other lines so).
        let bounded = bounded_on_host(line, Duration::from_secs(5));
        let rest = bounded.strip_prefix("sh -c '").unwrap();
        assert!(rest.ends_with(&format!(" sh {}", quote(line))), "{bounded}");
    }

    #[test]
    fn a_batch_answers_each_question_as_its_own_command_would() {
        // The script as the host's shell runs it, here: each answer is the
        // one the command alone gives (bytes, code, stderr's last line).
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("a b.cfg");
        std::fs::write(&file, b"global\n\0bin\xff no newline at the end").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/x.conf"), "x").unwrap();
        let lines = vec![
            kind_line(&file).unwrap(),
            kind_line(&d.path().join("nope")).unwrap(),
            kind_line(&d.path().join("sub")).unwrap(),
            list_line(&d.path().join("sub")).unwrap(),
            run_line(
                Path::new("sh"),
                &["-c".into(), "echo out; echo err >&2; exit 3".into()],
            )
            .unwrap(),
            run_line(Path::new("/nonexistent/haproxy"), &["-v".into()]).unwrap(),
            "echo only-stdout".to_string(),
        ];
        let mark = boundary().unwrap();
        let script = batch_script(&lines, &mark);
        let batch = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(batch.status.success());
        let answers = parse_batch(&batch.stdout, &mark, lines.len()).unwrap();
        for (line, got) in lines.iter().zip(&answers) {
            let alone = Command::new("sh").arg("-c").arg(line).output().unwrap();
            assert_eq!(got.stdout, alone.stdout, "{line}");
            assert_eq!(Some(got.code), alone.status.code(), "{line}");
            // dash names the script's line: 7 in the batch, 1 alone.
            let last = |b: &[u8]| {
                let t = String::from_utf8_lossy(b);
                let l = t.trim_end().lines().last().unwrap_or("").to_string();
                l.split_once(": exec: ")
                    .map_or(l.clone(), |(_, r)| r.to_string())
            };
            assert_eq!(last(&got.stderr), last(&alone.stderr), "{line}");
        }
        assert!(answers[0].stdout.starts_with(b"f\nglobal\n\0bin"));
        assert_eq!(answers[1].stdout, b"n\n");
        assert_eq!(answers[4].code, 3);
        assert_eq!(answers[5].code, 127);
        // Noise before the first answer (a chatty ~/.bashrc) is skipped;
        // a mark inside an answer, or a batch cut short, is refused.
        let mut noisy = b"Welcome!\n".to_vec();
        noisy.extend_from_slice(&batch.stdout);
        assert!(parse_batch(&noisy, &mark, lines.len()).is_some());
        assert!(parse_batch(&batch.stdout[..batch.stdout.len() - 3], &mark, lines.len()).is_none());
        let forged = Command::new("sh")
            .arg("-c")
            .arg(batch_script(&[format!("echo '{mark} 1 o'")], &mark))
            .output()
            .unwrap();
        assert!(parse_batch(&forged.stdout, &mark, 1).is_none());
    }

    #[test]
    fn relative_paths_are_refused_over_ssh_only() {
        assert!(require_absolute(&Access::Local, Path::new("a.cfg")).is_ok());
    }
}
