//! The replies one target gave the day a snapshot was taken, served to
//! harun's client in place of a socket.
//!
//! Replies are keyed by the command as harun sends it. A few commands are
//! answered from a fuller recorded reply, as HAProxy would have answered
//! them then: `show stat` with arguments filters the recorded `show stat`
//! (see [`super::showstat`]; `typed` and `json` are `not_recorded`),
//! `show servers state BK` the recorded `show servers state`, and `show
//! backend` lists the backends of `show stat` when it was not recorded
//! itself. Anything else the bundle does not hold is a `not_recorded`
//! error, never an invented answer. Writes are refused.
//!
//! `show stat` may hold several samples: the first is served until the run
//! sleeps (an error-rate window), then the next one, so a rate is computed
//! over the interval the snapshot recorded, without waiting for it.

use super::showstat;
use crate::base::error::{Error, Result};
use crate::runtime::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// What the snapshot got for one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    Reply(String),
    /// The command failed on the day; `kind` is its error kind then.
    Failed {
        kind: &'static str,
        message: String,
    },
}

impl Recorded {
    /// A reply file as the snapshot wrote it: `error (<kind>): <message>`
    /// for a command that failed (when `ok` is false or unknown), else the reply.
    pub fn from_file(text: String, ok: Option<bool>) -> Recorded {
        if ok != Some(true) {
            if let Some((kind, message)) = parse_error_text(&text) {
                return Recorded::Failed { kind, message };
            }
        }
        Recorded::Reply(text)
    }
}

/// `error (unreachable): /run/haproxy/admin.sock: cannot connect: ...`.
pub fn parse_error_text(text: &str) -> Option<(&'static str, String)> {
    let rest = text.strip_prefix("error (")?;
    let (kind, message) = rest.split_once("): ")?;
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return None;
    }
    Some((static_kind(kind), message.trim_end().to_string()))
}

/// The error kinds a snapshot can record, as the `'static` names
/// [`Error::kind`] uses; anything else is `recorded_error`.
pub fn static_kind(kind: &str) -> &'static str {
    const KINDS: &[&str] = &[
        "invalid_input",
        "invalid_address",
        "unreachable",
        "timeout",
        "connection_lost",
        "not_haproxy",
        "permission_denied",
        "no_such_backend",
        "no_such_server",
        "unknown_command",
        "haproxy_error",
        "malformed",
        "reply_too_large",
        "refused",
        "io",
        "other",
        "not_recorded",
        "binary_not_found",
        "spawn",
        "no_path",
    ];
    KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("recorded_error")
}

/// One recorded reply: when it arrived and which file holds it.
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: Option<SystemTime>,
    pub file: PathBuf,
    pub reply: Recorded,
}

#[derive(Debug, Default)]
struct Clock {
    /// The `show stat` sample served now.
    stat: usize,
    /// The run slept since that sample was served: the next read moves on.
    slept: bool,
    /// When the reply served last was taken.
    last_at: Option<SystemTime>,
}

/// One target's recorded replies.
#[derive(Debug)]
pub struct ReplyStore {
    name: String,
    bundle: PathBuf,
    replies: BTreeMap<String, Vec<Sample>>,
    clock: Mutex<Clock>,
}

impl ReplyStore {
    pub fn new(name: impl Into<String>, bundle: impl Into<PathBuf>) -> ReplyStore {
        ReplyStore {
            name: name.into(),
            bundle: bundle.into(),
            replies: BTreeMap::new(),
            clock: Mutex::new(Clock::default()),
        }
    }

    /// Add a recorded reply; several for one command are samples, in order.
    pub fn insert(&mut self, command: &str, sample: Sample) {
        self.replies
            .entry(command.to_string())
            .or_default()
            .push(sample);
    }

    /// The target's name as the snapshot recorded it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The commands recorded, each with its number of samples.
    pub fn commands(&self) -> impl Iterator<Item = (&str, usize)> {
        self.replies.iter().map(|(c, s)| (c.as_str(), s.len()))
    }

    fn clock(&self) -> std::sync::MutexGuard<'_, Clock> {
        self.clock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run waited (`sleep`, an error-rate window): the next `show stat`
    /// is the next sample, if there is one.
    pub fn note_sleep(&self) {
        self.clock().slept = true;
    }

    /// Seconds between the first `show stat` sample and the one served now
    /// (0 when the samples carry no time).
    pub fn stat_seconds(&self) -> f64 {
        let Some(samples) = self.replies.get("show stat") else {
            return 0.0;
        };
        let now = self.clock().stat.min(samples.len().saturating_sub(1));
        match (samples.first().and_then(|s| s.at), samples[now].at) {
            (Some(first), Some(at)) => at
                .duration_since(first)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// Why the `show stat` samples give no interval to compute rates over,
    /// when [`ReplyStore::stat_seconds`] did not move: one sample, samples
    /// without times or out of time order, or every sample already used by
    /// an earlier rate window of the run.
    pub fn why_no_interval(&self) -> String {
        let samples = self
            .replies
            .get("show stat")
            .map(Vec::as_slice)
            .unwrap_or_default();
        let name = &self.name;
        let out_of_order = samples.windows(2).find(|w| w[1].at <= w[0].at);
        match samples {
            [] => format!("the replay bundle holds no `show stat` for {name}"),
            [_] => format!(
                "the replay bundle holds one `show stat` sample for {name}: no interval to compute rates over"
            ),
            _ if samples.iter().any(|s| s.at.is_none()) => format!(
                "the replay bundle's {} `show stat` samples for {name} carry no time (index.json gives no `at`): the interval between them is unknown",
                samples.len()
            ),
            _ if out_of_order.is_some() => {
                let w = out_of_order.unwrap_or(samples);
                let when = |s: &Sample| {
                    s.at.map(|t| humantime::format_rfc3339_millis(t).to_string())
                        .unwrap_or_default()
                };
                format!(
                    "the replay bundle's `show stat` samples for {name} do not move forward in time: {} is dated {}, {} {}",
                    w[1].file.display(),
                    when(&w[1]),
                    w[0].file.display(),
                    when(&w[0])
                )
            }
            _ => format!(
                "the replay bundle's {} `show stat` samples for {name} were used by an earlier rate window of this run: no later sample to compute rates over",
                samples.len()
            ),
        }
    }

    /// When the reply served last was taken, if the bundle says.
    pub fn last_at(&self) -> Option<SystemTime> {
        self.clock().last_at
    }

    /// The reply HAProxy gave to `command` that day.
    pub fn answer(&self, command: &Command) -> Result<String> {
        if command.is_write() {
            return Err(Error::Refused {
                reason: format!(
                    "replay bundle {} is read-only: `{command}` was not sent (a replay serves recorded replies; run it against a live HAProxy)",
                    self.bundle.display()
                ),
            });
        }
        let words: Vec<&str> = command.as_str().split_whitespace().collect();
        match words.as_slice() {
            ["show", "stat", args @ ..] => self.show_stat(command, args),
            _ if self.replies.contains_key(command.as_str()) => {
                self.serve(&self.replies[command.as_str()][0])
            }
            ["show", "servers", "state", backend] => self.servers_state_of(command, backend),
            ["show", "backend"] => self.stat_sample(command, |text, file| {
                showstat::backends_of(text).map_err(|why| Error::Malformed {
                    target: self.name.clone(),
                    command: command.to_string(),
                    detail: format!("{}: the recorded `show stat` {why}", file.display()),
                })
            }),
            _ => Err(self.not_recorded(command)),
        }
    }

    fn not_recorded(&self, command: &Command) -> Error {
        let mut held: Vec<&str> = self.replies.keys().map(String::as_str).collect();
        held.sort_unstable();
        Error::NotRecorded {
            bundle: self.bundle.clone(),
            what: format!("`{command}` (target {})", self.name),
            hint: format!(
                "; it holds {} for this target",
                if held.is_empty() {
                    "nothing".to_string()
                } else {
                    held.iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        }
    }

    fn serve(&self, sample: &Sample) -> Result<String> {
        self.clock().last_at = sample.at;
        match &sample.reply {
            Recorded::Reply(text) => Ok(text.clone()),
            Recorded::Failed { kind, message } => Err(Error::Recorded {
                file: sample.file.clone(),
                kind,
                message: message.clone(),
            }),
        }
    }

    /// The `show stat` sample of this moment of the replay, through `then`.
    fn stat_sample(
        &self,
        command: &Command,
        then: impl FnOnce(&str, &Path) -> Result<String>,
    ) -> Result<String> {
        let Some(samples) = self.replies.get("show stat") else {
            return Err(self.not_recorded(command));
        };
        let sample = {
            let mut c = self.clock();
            if c.slept && c.stat + 1 < samples.len() {
                c.stat += 1;
            }
            c.slept = false;
            &samples[c.stat.min(samples.len() - 1)]
        };
        then(&self.serve(sample)?, &sample.file)
    }

    /// `show stat [domain proxy] [PROXY TYPE SID] [up|no-maint|desc]...`
    /// from the recorded `show stat`, as HAProxy 2.6 would have answered.
    fn show_stat(&self, command: &Command, args: &[&str]) -> Result<String> {
        let haproxy = |message: &str| Error::Haproxy {
            target: self.name.clone(),
            command: command.to_string(),
            message: message.to_string(),
        };
        let query = match showstat::parse_args(args) {
            showstat::Ask::Csv(q) => q,
            showstat::Ask::OtherForm => return Err(self.not_recorded(command)),
            showstat::Ask::Refused(message) => return Err(haproxy(message)),
        };
        self.stat_sample(command, |text, file| {
            if query.is_everything() {
                return Ok(text.to_string());
            }
            showstat::filter(text, &query).map_err(|e| match e {
                showstat::FilterError::NoSuchProxy => haproxy("No such proxy."),
                showstat::FilterError::Malformed(detail) => Error::Malformed {
                    target: self.name.clone(),
                    command: command.to_string(),
                    detail: format!("{}: the recorded `show stat` {detail}", file.display()),
                },
            })
        })
    }

    /// `show servers state BK` from the recorded full reply. Whether a
    /// backend without servers exists is read from `show stat` or `show backend`.
    fn servers_state_of(&self, command: &Command, backend: &str) -> Result<String> {
        let Some(full) = self.replies.get("show servers state") else {
            return Err(self.not_recorded(command));
        };
        let text = self.serve(&full[0])?;
        let (filtered, rows) = filter_servers_state(&text, backend);
        if rows > 0 {
            return Ok(filtered);
        }
        let exists = if let Some(b) = self.replies.get("show backend") {
            match &b[0].reply {
                Recorded::Reply(list) => Some(list.lines().skip(1).any(|l| l.trim() == backend)),
                Recorded::Failed { .. } => None,
            }
        } else {
            None
        };
        let exists = exists.or_else(|| {
            let samples = self.replies.get("show stat")?;
            match &samples[0].reply {
                Recorded::Reply(stat) => Some(
                    showstat::backends_of(stat)
                        .ok()?
                        .lines()
                        .any(|l| l == backend),
                ),
                Recorded::Failed { .. } => None,
            }
        });
        match exists {
            Some(true) => Ok(filtered),
            Some(false) => Err(Error::NoSuchBackend {
                target: self.name.clone(),
                command: command.to_string(),
                note: String::new(),
            }),
            None => Err(self.not_recorded(command)),
        }
    }
}

/// `show servers state BK` from the full reply: the version and header
/// lines, and the lines of that backend; also how many such lines.
fn filter_servers_state(text: &str, backend: &str) -> (String, usize) {
    let mut out = String::new();
    let mut be_name = None;
    let mut rows = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if let Some(h) = t.strip_prefix('#') {
            be_name = h.split_whitespace().position(|c| c == "be_name");
            out.push_str(line);
            continue;
        }
        let Some(i) = be_name else {
            // The format version line, before the header.
            out.push_str(line);
            continue;
        };
        if t.split_whitespace().nth(i) == Some(backend) {
            out.push_str(line);
            rows += 1;
        }
    }
    (out, rows)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_recorded_reply_too_large_replays_as_itself() {
        // It exits 3 live; read back as `recorded_error` it exited 2.
        assert_eq!(super::static_kind("reply_too_large"), "reply_too_large");
        assert_eq!(super::static_kind("whatever"), "recorded_error");
    }

    use super::*;
    use std::time::Duration;

    // Trimmed from HAProxy 2.6 replies in the lab (columns up to `type`, `sid` kept).
    const STAT: &str = "# pxname,svname,qcur,status,pid,iid,sid,type,\n\
        fe_main,FRONTEND,,OPEN,1,2,0,0,\n\
        bk_app,app1,0,UP,1,3,1,2,\n\
        bk_app,app2,0,UP,1,3,2,2,\n\
        bk_app,BACKEND,0,UP,1,3,0,1,\n\
        bk_api,api1,0,\"DOWN, really\",1,4,1,2,\n\
        bk_api,BACKEND,0,UP,1,4,0,1,\n\
        bk_empty,BACKEND,0,DOWN,1,5,0,1,\n";

    const STATE: &str = "1\n\
        # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state\n\
        3 bk_app 1 app1 127.0.0.1 2 0\n\
        3 bk_app 2 app2 127.0.0.1 2 0\n\
        4 bk_api 1 api1 127.0.0.1 0 0\n";

    fn cmd(c: &str) -> Command {
        Command::raw(c).unwrap()
    }

    fn at(secs: f64) -> Option<SystemTime> {
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(1_796_000_000.0 + secs))
    }

    fn store() -> ReplyStore {
        let mut s = ReplyStore::new("/run/haproxy/admin.sock", "/b");
        let sample = |text: &str, secs: f64, file: &str| Sample {
            at: at(secs),
            file: PathBuf::from(file),
            reply: Recorded::Reply(text.to_string()),
        };
        s.insert("show stat", sample(STAT, 0.0, "show_stat.txt"));
        s.insert(
            "show stat",
            sample(
                &STAT.replace("bk_app,app1,0,UP", "bk_app,app1,7,UP"),
                3.25,
                "show_stat.2.txt",
            ),
        );
        s.insert(
            "show servers state",
            sample(STATE, 0.1, "show_servers_state.txt"),
        );
        s.insert(
            "show activity",
            Sample {
                at: at(0.2),
                file: PathBuf::from("/b/show_activity.txt"),
                reply: Recorded::from_file(
                    "error (unknown_command): t: unknown command `show activity`\n".into(),
                    Some(false),
                ),
            },
        );
        s
    }

    #[test]
    fn show_stat_samples_advance_only_after_a_sleep() {
        let s = store();
        let first = s.answer(&cmd("show stat")).unwrap();
        assert_eq!(first, STAT);
        // Two reads without waiting see the same moment.
        assert_eq!(s.answer(&cmd("show stat")).unwrap(), STAT);
        assert_eq!(s.stat_seconds(), 0.0);
        s.note_sleep();
        let second = s.answer(&cmd("show stat")).unwrap();
        assert!(second.contains("bk_app,app1,7,UP"), "{second}");
        assert!((s.stat_seconds() - 3.25).abs() < 1e-6);
        // No third sample: the last one stays.
        s.note_sleep();
        assert_eq!(s.answer(&cmd("show stat")).unwrap(), second);
        assert_eq!(s.last_at(), at(3.25));
    }

    #[test]
    fn show_stat_filters_like_haproxy() {
        let s = store();
        let rows = |c: &str| -> Vec<String> {
            s.answer(&cmd(c))
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| l.split(',').take(2).collect::<Vec<_>>().join("/"))
                .collect()
        };
        assert_eq!(
            rows("show stat bk_app -1 -1"),
            ["bk_app/app1", "bk_app/app2", "bk_app/BACKEND"]
        );
        assert_eq!(
            rows("show stat -1 4 -1"),
            ["bk_app/app1", "bk_app/app2", "bk_api/api1"]
        );
        assert_eq!(rows("show stat bk_app 4 2"), ["bk_app/app2"]);
        // The server id filters servers only.
        assert_eq!(rows("show stat 3 6 2"), ["bk_app/app2", "bk_app/BACKEND"]);
        assert_eq!(rows("show stat -1 1 -1"), ["fe_main/FRONTEND"]);
        // An unknown id selects nothing; an unknown name is HAProxy's error.
        assert!(rows("show stat 99 -1 -1").is_empty());
        let e = s.answer(&cmd("show stat nosuch -1 -1")).unwrap_err();
        assert_eq!(e.kind(), "haproxy_error");
        assert!(e.to_string().contains("No such proxy."), "{e}");
        // Fewer than three arguments: HAProxy dumps everything.
        assert_eq!(s.answer(&cmd("show stat bk_app")).unwrap(), STAT);
        // A quoted field with a comma stays one field.
        assert_eq!(showstat::csv_fields("a,\"b,c\",d")[1], "b,c");
    }

    #[test]
    fn servers_state_of_one_backend_comes_from_the_full_reply() {
        let s = store();
        let app = s.answer(&cmd("show servers state bk_app")).unwrap();
        assert_eq!(app.lines().count(), 4, "{app}");
        assert!(app.starts_with("1\n# be_id"), "{app}");
        assert!(!app.contains("bk_api"), "{app}");
        // A backend without servers exists when show stat lists it.
        let empty = s.answer(&cmd("show servers state bk_empty")).unwrap();
        assert_eq!(empty.lines().count(), 2, "{empty}");
        let e = s.answer(&cmd("show servers state nosuch")).unwrap_err();
        assert_eq!(e.kind(), "no_such_backend");
        assert_eq!(
            s.answer(&cmd("show backend")).unwrap(),
            "# name\nbk_app\nbk_api\nbk_empty\n"
        );
    }

    #[test]
    fn failures_of_the_day_come_back_with_their_kind() {
        let s = store();
        let e = s.answer(&cmd("show activity")).unwrap_err();
        assert_eq!(e.kind(), "unknown_command");
        assert!(e.to_string().contains("show_activity.txt"), "{e}");
        assert!(e.to_string().contains("recorded by the snapshot"), "{e}");
        assert_eq!(
            Recorded::from_file("error (weird-kind): x".into(), None),
            Recorded::Reply("error (weird-kind): x".into())
        );
        assert_eq!(
            Recorded::from_file("error (brand_new): x\n".into(), None),
            Recorded::Failed {
                kind: "recorded_error",
                message: "x".into()
            }
        );
        // A reply that merely looks like an error text is data when ok.
        assert!(matches!(
            Recorded::from_file("error (timeout): x".into(), Some(true)),
            Recorded::Reply(_)
        ));
    }

    #[test]
    fn unrecorded_commands_and_writes_are_refused_by_name() {
        let s = store();
        let e = s.answer(&cmd("show sess")).unwrap_err();
        assert_eq!(e.kind(), "not_recorded");
        let m = e.to_string();
        assert!(
            m.starts_with(
                "`show sess` (target /run/haproxy/admin.sock) is not recorded in replay bundle /b"
            ),
            "{m}"
        );
        assert!(m.contains("`show servers state`"), "{m}");
        let e = s
            .answer(&cmd("set server bk_app/app1 state drain"))
            .unwrap_err();
        assert_eq!(e.kind(), "refused");
        assert_eq!(e.exit_code(), crate::base::error::ExitCode::Refused);
        assert!(
            e.to_string().contains("replay bundle /b is read-only"),
            "{e}"
        );
        let none = ReplyStore::new("t", "/b");
        assert!(none
            .answer(&cmd("show info"))
            .unwrap_err()
            .to_string()
            .contains("it holds nothing"));
    }

    /// A store whose only reply is this `show stat`.
    fn with_stat(text: &str) -> ReplyStore {
        let mut s = ReplyStore::new("t", "/b");
        s.insert(
            "show stat",
            Sample {
                at: at(0.0),
                file: PathBuf::from("/b/show_stat.txt"),
                reply: Recorded::Reply(text.to_string()),
            },
        );
        s
    }

    /// `pxname/svname status` of each row of a reply.
    fn rows_of(reply: &str) -> Vec<String> {
        let header = showstat::csv_fields(reply.lines().next().unwrap().trim_start_matches("# "));
        let col = |n: &str| header.iter().position(|c| c == n).unwrap();
        reply
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f = showstat::csv_fields(l);
                format!(
                    "{}/{} {}",
                    f[col("pxname")],
                    f[col("svname")],
                    f[col("status")]
                )
            })
            .collect()
    }

    // The servers and statuses of a 2.6 lab: a server coming up, one down
    // by its agent, one in maintenance through the server it tracks, a
    // proxy named `3` (id 4), and a frontend and a backend named `dup`.
    const STAT26: &str = "# pxname,svname,qcur,status,pid,iid,sid,type,\n\
        fe,FRONTEND,,OPEN,1,2,0,0,\n\
        bk,up1,0,UP,1,3,1,2,\n\
        bk,nochk,0,no check,1,3,2,2,\n\
        bk,down1,0,DOWN,1,3,3,2,\n\
        bk,mnt,0,MAINT,1,3,4,2,\n\
        bk,rising,0,DOWN 1/3,1,3,5,2,\n\
        bk,agent,0,DOWN (agent),1,3,6,2,\n\
        bk,via,0,MAINT (via bk/mnt),1,3,7,2,\n\
        bk,drain,0,DRAIN,1,3,8,2,\n\
        bk,BACKEND,0,UP,1,3,0,1,\n\
        3,FRONTEND,,OPEN,1,4,0,0,\n\
        3,a,0,no check,1,4,1,2,\n\
        3,BACKEND,0,UP,1,4,0,1,\n\
        dup,FRONTEND,,OPEN,1,5,0,0,\n\
        dup,b,0,UP,1,6,1,2,\n\
        dup,BACKEND,0,UP,1,6,0,1,\n\
        empty,BACKEND,0,UP,1,7,0,1,\n\
        \n";

    #[test]
    fn show_stat_words_are_read_as_haproxy_reads_them() {
        let s = with_stat(STAT26);
        let rows = |c: &str| rows_of(&s.answer(&cmd(c)).unwrap());
        // Other formats were not recorded: never the CSV in their place.
        for c in [
            "show stat json",
            "show stat typed",
            "show stat desc json",
            "show stat bk -1 -1 typed",
            "show stat domain resolvers",
        ] {
            let e = s.answer(&cmd(c)).unwrap_err();
            assert_eq!(e.kind(), "not_recorded", "{c}: {e}");
        }
        // `up` hides servers down (not coming up) or in maintenance; a
        // backend's status then counts the servers not stopped.
        assert_eq!(
            rows("show stat up"),
            [
                "fe/FRONTEND OPEN",
                "bk/up1 UP",
                "bk/nochk no check",
                "bk/rising DOWN 1/3",
                "bk/drain DRAIN",
                "bk/BACKEND UP (3/8)",
                "3/FRONTEND OPEN",
                "3/a no check",
                "3/BACKEND UP (1/1)",
                "dup/FRONTEND OPEN",
                "dup/b UP",
                "dup/BACKEND UP (1/1)",
                "empty/BACKEND UP (0/0)",
            ]
        );
        assert_eq!(
            rows("show stat no-maint")
                .iter()
                .filter(|r| r.starts_with("bk/"))
                .collect::<Vec<_>>(),
            [
                "bk/up1 UP",
                "bk/nochk no check",
                "bk/down1 DOWN",
                "bk/rising DOWN 1/3",
                "bk/agent DOWN (agent)",
                "bk/drain DRAIN",
                "bk/BACKEND UP (3/8)",
            ]
        );
        assert_eq!(
            rows("show stat bk 4 -1 up"),
            [
                "bk/up1 UP",
                "bk/nochk no check",
                "bk/rising DOWN 1/3",
                "bk/drain DRAIN"
            ]
        );
        assert_eq!(
            rows("show stat -1 2 -1 no-maint up")[0],
            "bk/BACKEND UP (3/8)"
        );
        // A name first, else the number atoi reads: `3` is the proxy named 3
        // (id 4), `3x` the proxy of id 3; a name shared by a frontend and a
        // backend is the first of them.
        assert_eq!(
            rows("show stat 3 -1 -1"),
            ["3/FRONTEND OPEN", "3/a no check", "3/BACKEND UP"]
        );
        assert_eq!(rows("show stat 3x 2 -1"), ["bk/BACKEND UP"]);
        assert_eq!(rows("show stat dup -1 -1"), ["dup/FRONTEND OPEN"]);
        assert_eq!(rows("show stat +6 -1 -1"), ["dup/b UP", "dup/BACKEND UP"]);
        // Numbers that are not: type 0 selects nothing.
        assert!(rows("show stat bk x y").is_empty());
        // Three words make a selection, whatever they are.
        for c in [
            "show stat up no-maint json",
            "show stat 0 -1 -1",
            "show stat x 1 1",
        ] {
            let e = s.answer(&cmd(c)).unwrap_err();
            assert_eq!(e.kind(), "haproxy_error", "{c}");
            assert!(e.to_string().contains("No such proxy."), "{c}: {e}");
        }
        let e = s.answer(&cmd("show stat domain dns")).unwrap_err();
        assert!(e.to_string().contains("Invalid statistics domain."), "{e}");
        // The same CSV: `desc` only describes typed and JSON fields, and
        // HAProxy ignores words it does not know.
        for c in [
            "show stat",
            "show stat desc",
            "show stat domain proxy",
            "show stat foo",
            "show stat -1 -1 -1 desc",
        ] {
            assert_eq!(s.answer(&cmd(c)).unwrap(), STAT26, "{c}");
        }
    }

    #[test]
    fn atoi_is_glibcs() {
        for (w, n) in [
            ("12", 12),
            ("-1", -1),
            ("+7", 7),
            ("3x", 3),
            ("x3", 0),
            ("", 0),
            ("-", 0),
            ("4294967295", -1),
            ("99999999999999999999999", -1),
        ] {
            assert_eq!(showstat::atoi_for_tests(w), n, "{w}");
        }
    }

    #[test]
    fn damaged_show_stat_replies_give_errors_naming_the_file_never_a_panic() {
        // Columns in another order (as a newer HAProxy may write them): the
        // same answers.
        let reordered = "# type,sid,iid,status,svname,pxname\n\
            0,0,2,OPEN,FRONTEND,fe\n\
            2,1,3,UP,app1,bk\n\
            2,2,3,MAINT,app2,bk\n\
            1,0,3,UP,BACKEND,bk\n";
        let s = with_stat(reordered);
        assert_eq!(
            rows_of(&s.answer(&cmd("show stat bk 4 2")).unwrap()),
            ["bk/app2 MAINT"]
        );
        assert_eq!(
            rows_of(&s.answer(&cmd("show stat up")).unwrap()),
            ["fe/FRONTEND OPEN", "bk/app1 UP", "bk/BACKEND UP (1/2)"]
        );
        assert_eq!(s.answer(&cmd("show backend")).unwrap(), "# name\nbk\n");
        // A truncated line: which file, which line, what is missing.
        let s = with_stat(
            "# type,sid,iid,status,svname,pxname\n1,0,3,UP,BACKEND,bk\n1,0,3,UP,BACKEND\n2,1\n",
        );
        for c in [
            "show backend",
            "show stat bk -1 -1",
            "show stat up",
            "show stat -1 4 1",
        ] {
            let e = s.answer(&cmd(c)).unwrap_err();
            assert_eq!(e.kind(), "malformed", "{c}: {e}");
            let m = e.to_string();
            assert!(
                m.contains("/b/show_stat.txt: the recorded `show stat` has"),
                "{c}: {m}"
            );
            assert!(
                m.contains("on line 3") || m.contains("on line 4"),
                "{c}: {m}"
            );
        }
        // A header without the columns a filter needs.
        let s = with_stat("# pxname,svname\nbk,BACKEND\n");
        let e = s.answer(&cmd("show stat bk 2 -1")).unwrap_err();
        assert!(e.to_string().contains("has no `type` column"), "{e}");
        assert_eq!(s.answer(&cmd("show backend")).unwrap(), "# name\nbk\n");
        let e = s.answer(&cmd("show servers state bk")).unwrap_err();
        assert_eq!(e.kind(), "not_recorded", "{e}");
    }

    #[test]
    fn hostile_show_stat_files_never_panic() {
        let mut binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        binary.extend_from_slice(b"\n\xff\xfe,\"\n");
        let binary = String::from_utf8_lossy(&binary).into_owned();
        let long = "x,".repeat(512 * 1024);
        let cases = [
            ("empty", String::new()),
            ("binary", binary),
            ("one 1 MB line", long.clone()),
            (
                "a 1 MB data line",
                format!("# pxname,svname,status,iid,sid,type\n{long}\n"),
            ),
            (
                "header only",
                "# pxname,svname,status,iid,sid,type,\n".to_string(),
            ),
            (
                "quotes left open",
                "# pxname,\"svname,type\nbk,\"BACKEND,1\n".to_string(),
            ),
            (
                "no newline",
                "# pxname,svname,status,iid,sid,type".to_string(),
            ),
        ];
        let commands = [
            "show stat",
            "show stat up",
            "show stat no-maint",
            "show stat bk 4 -1",
            "show stat -1 -1 -1",
            "show stat 3 2 1 up",
            "show backend",
            "show servers state bk",
        ];
        for (what, text) in &cases {
            let s = with_stat(text);
            for c in commands {
                match s.answer(&cmd(c)) {
                    // What HAProxy would print from such a dump: its first line at least.
                    Ok(reply) => assert!(
                        c == "show stat" || reply.starts_with("# "),
                        "{what}, {c}: {}",
                        &reply[..reply.len().min(80)]
                    ),
                    Err(e) => {
                        assert!(
                            ["malformed", "haproxy_error", "not_recorded"].contains(&e.kind()),
                            "{what}, {c}: {e}"
                        );
                        if e.kind() == "malformed" {
                            assert!(e.to_string().contains("show_stat.txt"), "{what}, {c}: {e}");
                        }
                    }
                }
            }
        }
        // The plain form is the recorded reply, whatever it holds.
        assert_eq!(with_stat("").answer(&cmd("show stat")).unwrap(), "");
        // Header only: the filters answer the header, a name is no proxy.
        let s = with_stat("# pxname,svname,status,iid,sid,type,\n");
        assert_eq!(
            s.answer(&cmd("show stat up")).unwrap(),
            "# pxname,svname,status,iid,sid,type,\n"
        );
        assert_eq!(
            s.answer(&cmd("show stat bk 4 -1")).unwrap_err().kind(),
            "haproxy_error"
        );
    }

    #[test]
    fn why_no_interval_says_what_is_true() {
        let with_times = |times: &[Option<f64>]| {
            let mut s = ReplyStore::new("t", "/b");
            for (i, t) in times.iter().enumerate() {
                s.insert(
                    "show stat",
                    Sample {
                        at: t.and_then(at),
                        file: PathBuf::from(format!("/b/show_stat.{}.txt", i + 1)),
                        reply: Recorded::Reply(STAT.to_string()),
                    },
                );
            }
            s
        };
        let why = with_times(&[Some(0.0)]).why_no_interval();
        assert!(why.contains("holds one `show stat` sample for t"), "{why}");
        let why = with_times(&[None, None]).why_no_interval();
        assert!(
            why.contains("2 `show stat` samples for t carry no time"),
            "{why}"
        );
        let why = with_times(&[Some(0.0), None]).why_no_interval();
        assert!(why.contains("carry no time"), "{why}");
        let why = with_times(&[Some(5.0), Some(5.0)]).why_no_interval();
        assert!(
            why.contains("do not move forward in time: /b/show_stat.2.txt is dated 2026-"),
            "{why}"
        );
        // Both samples served already: a second window has nothing new.
        let s = with_times(&[Some(0.0), Some(3.0)]);
        s.answer(&cmd("show stat")).unwrap();
        s.note_sleep();
        s.answer(&cmd("show stat")).unwrap();
        assert!(s
            .why_no_interval()
            .contains("were used by an earlier rate window of this run"));
    }
}
