//! clap types only.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  harun troubleshoot                         run the shipped incident playbook (socket from the config)
  harun -s /run/haproxy/admin.sock inspect_queues
  harun drain_server -p server=bk_app/app1 -p then=maint --dry-run
  harun -e 'stat().len()'                    evaluate one expression
  harun -s ipv4@10.0.0.5:9999 -e 'info().Version' --json
  harun --replay ./harun-snapshot-20261130T124501Z troubleshoot   post-mortem of a snapshot
  harun lab troubleshoot                     run a playbook against a disposable local HAProxy
  harun repl                                 interactive session
  harun list                                 shipped and local playbooks
  harun check playbooks/                     check playbooks without connecting to anything
  harun -i hosts.ini -l lb troubleshoot      the group `lb` of an Ansible inventory
  harun merge lb1.json lb2.json              one fleet report from each host's --json report
  harun -i hosts.ini --serial 25% drain_server -p server=bk_app/app1 -p then=maint --yes
                                             a rolling drain: a quarter of the hosts at a time

Exit codes:
  0 nothing at error level   1 error/critical findings   2 usage or playbook error
  3 HAProxy unreachable or timed out   4 write refused (read-only, guard, permission)
  4 also: a backend emptied under guarded writes (kind emptied)   130 interrupted
  A rolling change (--serial) that stops exits with the code of what stopped it:
  3 a host unreachable or a drain not done in time, 4 a write refused.";

/// Whether -c/--config was typed (before or after the subcommand): only then
/// does `harun lab` run the user's configuration.
pub fn config_given(matches: &clap::ArgMatches) -> bool {
    let typed = |m: &clap::ArgMatches| {
        m.value_source("config") == Some(clap::parser::ValueSource::CommandLine)
    };
    typed(matches) || matches.subcommand().is_some_and(|(_, sub)| typed(sub))
}

/// Every run option (the ids of [`GlobalOpts`]' arguments). They are
/// global, so that `harun -s SOCK repl` and `harun repl -s SOCK` both work,
/// but each subcommand's help shows only those it uses ([`SUBCOMMAND_OPTS`]).
pub const RUN_OPTS: &[&str] = &[
    "sockets",
    "inventory",
    "limit",
    "forks",
    "serial",
    "replay",
    "config",
    "haproxy_bin",
    "ssh_config",
    "timeout",
    "max_reply_mb",
    "max_time",
    "params",
    "json",
    "dry_run",
    "read_only",
    "yes",
    "force",
    "journal",
    "rsyslog_conf",
    "rsyslog_dir",
    "output_dir",
];

/// The run options a run on one HAProxy uses, whatever picks the target.
const ONE_RUN: &[&str] = &[
    "config",
    "haproxy_bin",
    "timeout",
    "max_reply_mb",
    "max_time",
    "params",
    "json",
    "dry_run",
    "read_only",
    "yes",
    "force",
    "journal",
    "rsyslog_conf",
    "rsyslog_dir",
    "output_dir",
];

/// The run options each subcommand reads; the others stay accepted (an
/// option before the subcommand is not an error) but out of its help.
pub const SUBCOMMAND_OPTS: &[(&str, &[&str])] = &[
    ("repl", RUN_OPTS),
    // The lab is the target; a test file names its own target, config,
    // parameters, journal and output directory.
    ("lab", ONE_RUN),
    (
        "test",
        &[
            "haproxy_bin",
            "timeout",
            "max_reply_mb",
            "max_time",
            "json",
            "read_only",
            "force",
            "rsyslog_conf",
            "rsyslog_dir",
        ],
    ),
    ("check", &["json"]),
    ("list", &["json"]),
    ("merge", &["json"]),
    ("journal", &["journal", "json"]),
    ("doc", &[]),
    ("new", &[]),
];

/// The clap command, with each subcommand's help limited to the run options
/// it uses.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    // Global arguments reach the subcommands when the command is built.
    cmd.build();
    for (name, used) in SUBCOMMAND_OPTS {
        // `mut_args` keeps the arguments in place: a built command indexes
        // them by position (`mut_arg` would move one to the end).
        cmd = cmd.mut_subcommand(*name, |sub| {
            sub.mut_args(|a| {
                let id = a.get_id().as_str();
                let unused = RUN_OPTS.contains(&id) && !used.contains(&id);
                if unused {
                    a.hide(true)
                } else {
                    a
                }
            })
        });
    }
    cmd
}

/// Runbooks for HAProxy incidents: Rhai playbooks over the runtime API.
#[derive(Debug, Parser)]
#[command(name = "harun", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Playbook to run: a path to a .rhai file or the name of a shipped playbook.
    #[arg(value_name = "PLAYBOOK", conflicts_with = "eval")]
    pub playbook: Option<String>,

    /// Evaluate a Rhai expression and print its value.
    #[arg(short = 'e', long = "eval", value_name = "RHAI")]
    pub eval: Option<String>,

    #[command(flatten)]
    pub global: GlobalOpts,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Runtime API socket: /path, unix@/path, ipv4@HOST:PORT, ipv6@[ADDR]:PORT, HOST:PORT,
    /// ssh://[USER@]HOST[:PORT]/PATH (a socket on another host, through its sshd), or
    /// master@/path for a master CLI (`haproxy -W -S /path`: every current worker).
    /// Repeat for several processes or hosts. Default: the config's `stats socket`
    /// lines, then /run/haproxy/admin.sock, /var/run/haproxy/admin.sock.
    #[arg(
        short = 's',
        long = "socket",
        value_name = "ADDR",
        env = "HARUN_SOCKET",
        value_delimiter = ',',
        global = true
    )]
    pub sockets: Vec<String>,

    /// Ansible inventory (INI, or YAML when named .yml/.yaml): its hosts are the
    /// targets, each named by its host. A host on this machine
    /// (`ansible_connection=local`) is its `harun_socket` (default
    /// /run/haproxy/admin.sock). With -s, the union of both.
    #[arg(
        short = 'i',
        long = "inventory",
        value_name = "FILE",
        env = "HARUN_INVENTORY",
        global = true
    )]
    pub inventory: Option<PathBuf>,

    /// Only the inventory hosts this Ansible pattern selects: a group or host,
    /// `all`, globs (`web*`), `~regex`, `a:b` or `a,b` (union), `a:&b`
    /// (intersection), `a:!b` (minus).
    #[arg(short = 'l', long = "limit", value_name = "PATTERN", global = true)]
    pub limit: Option<String>,

    /// Targets talked to at once.
    #[arg(
        long = "forks",
        value_name = "N",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..=4096),
        global = true
    )]
    pub forks: u32,

    /// Rolling changes, Ansible's `serial`: writes (set_state, set_weight, drain,
    /// send...) go to the hosts in groups of N, or P% of the hosts (rounded down,
    /// at least 1), or sizes in turn (`1,5,25%`, the last repeating), in
    /// inventory order; `drain` waits on each group before the next. The first
    /// group where a host's write or guard fails (or a drain times out) stops the
    /// change: the error says which hosts were done, which failed and why, and
    /// which were never touched. Reads are never serialized. Example:
    /// `harun -i hosts.ini --serial 1 drain_server -p server=bk_app/app1 --yes`
    #[arg(
        long = "serial",
        value_name = "N|P%|LIST",
        env = "HARUN_SERIAL",
        global = true
    )]
    pub serial: Option<String>,

    /// Replay a bundle the `snapshot` playbook wrote instead of talking to a live
    /// HAProxy (the same as `-s replay@DIR`): recorded replies, configuration and
    /// host facts; writes are refused (exit 4).
    #[arg(long, value_name = "DIR", global = true)]
    pub replay: Option<PathBuf>,

    /// haproxy.cfg (file or directory; repeat for several, in haproxy's -f order).
    #[arg(
        short = 'c',
        long = "config",
        value_name = "PATH",
        env = "HARUN_CONFIG",
        default_value = "/etc/haproxy/haproxy.cfg",
        global = true
    )]
    pub config: Vec<PathBuf>,

    /// True when -c/--config was given on the command line (not the default
    /// nor HARUN_CONFIG): `harun lab` then runs that configuration.
    #[arg(skip)]
    pub config_given: bool,

    /// The haproxy binary used for `haproxy -c` and the lab.
    #[arg(
        long,
        value_name = "PATH",
        env = "HARUN_HAPROXY_BIN",
        default_value = "haproxy",
        global = true
    )]
    pub haproxy_bin: PathBuf,

    /// ssh client configuration for hosts reached over SSH (`ssh -F FILE`),
    /// instead of ~/.ssh/config: its Host blocks, IdentityFile,
    /// UserKnownHostsFile... apply.
    #[arg(
        long = "ssh-config",
        value_name = "FILE",
        env = "HARUN_SSH_CONFIG",
        global = true
    )]
    pub ssh_config: Option<PathBuf>,

    /// Bound on each exchange with a socket (connect, write, the complete
    /// reply), in seconds.
    #[arg(
        long = "timeout",
        value_name = "SECS",
        default_value_t = 5.0,
        global = true
    )]
    pub timeout: f64,

    /// Largest reply accepted from a socket, in MiB: a longer one is
    /// abandoned (exit 3).
    #[arg(
        long = "max-reply-mb",
        value_name = "MIB",
        default_value_t = 64,
        value_parser = clap::value_parser!(u64).range(1..=65536),
        global = true
    )]
    pub max_reply_mb: u64,

    /// Stop the whole run after this many seconds.
    #[arg(long = "max-time", value_name = "SECS", global = true)]
    pub max_time: Option<f64>,

    /// Playbook parameter (repeatable).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE", global = true)]
    pub params: Vec<String>,

    /// One JSON report on stdout instead of text, also when the run stops on
    /// an error (`-e`: the value alone, or the report when the run stops).
    #[arg(long, global = true)]
    pub json: bool,

    /// Show the runtime commands that would change state; send none of them.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Refuse every command that changes state.
    #[arg(long, global = true, conflicts_with = "dry_run")]
    pub read_only: bool,

    /// Do not ask before the first write.
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Allow draining or disabling the last UP server of a backend.
    #[arg(long, global = true)]
    pub force: bool,

    /// Audit journal (default: $XDG_STATE_HOME/harun/journal.jsonl).
    #[arg(long, value_name = "PATH", env = "HARUN_JOURNAL", global = true)]
    pub journal: Option<PathBuf>,

    /// rsyslog main configuration file.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/etc/rsyslog.conf",
        global = true,
        hide_short_help = true
    )]
    pub rsyslog_conf: PathBuf,

    /// rsyslog drop-in directory.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/etc/rsyslog.d",
        global = true,
        hide_short_help = true
    )]
    pub rsyslog_dir: PathBuf,

    /// Where bundles (snapshot) are written.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        global = true,
        hide_short_help = true
    )]
    pub output_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a playbook against a disposable local HAProxy (real binary, loopback backends).
    #[command(
        after_help = "Scenarios: healthy, incident (default), queues, big.\n\nWith -c/--config, the lab runs your own configuration instead: binds move to\nfree loopback ports, servers to harun's responders (healthy unless --down or\n--slow), sockets and files to the lab's directory; each change is printed. Nothing it\nruns reaches another host: Lua scripts are dropped unless --keep-lua.\n\nExamples:\n  harun lab troubleshoot\n  harun lab queues inspect_queues\n  harun lab             start the lab and wait for Ctrl-C (prints the socket)\n  harun lab -c /etc/haproxy/haproxy.cfg drain_server -p server=bk_app/app1 --yes\n  harun lab -c prod.cfg --down bk_app/app2 --slow bk_api/api1=2s troubleshoot"
    )]
    Lab {
        /// `[SCENARIO] [PLAYBOOK]`; with -c/--config, `[PLAYBOOK]`.
        #[arg(value_name = "SCENARIO|PLAYBOOK", num_args = 0..=2)]
        args: Vec<String>,
        /// With -c: start this server DOWN (its responder refuses connections). Repeatable.
        #[arg(long, value_name = "BACKEND/SERVER")]
        down: Vec<String>,
        /// With -c: this server answers after DELAY (health checks too). Repeatable.
        #[arg(long, value_name = "BACKEND/SERVER=DELAY")]
        slow: Vec<String>,
        /// With -c: run the configuration's Lua scripts (dropped by default:
        /// they can connect to production).
        #[arg(long)]
        keep_lua: bool,
        /// Run HAProxy master-worker (`-W -S`) and talk to it through its
        /// master CLI (`master@PATH`): the current workers, and the old ones
        /// after a reload (`kill -USR2` the master, or `reload` on its CLI).
        #[arg(long)]
        master: bool,
        /// Evaluate a Rhai expression against the lab and print its value
        /// (instead of a playbook): `harun lab incident -e 'servers("bk_api")'`.
        #[arg(short = 'e', long = "eval", value_name = "RHAI")]
        eval: Option<String>,
    },
    /// Interactive session against the live HAProxy.
    Repl,
    /// Shipped and team playbooks (./playbooks and the search path) with their parameters.
    List,
    /// Check playbooks without running them or connecting to anything.
    #[command(
        after_help = "Reports, each at file:line:col with a stable code: syntax errors (syntax,\nundefined-variable), calls of functions that do not exist or with another number\nof arguments (unknown-function, wrong-arity), param() reads the //! @param header\ndoes not declare (undeclared-param) and declared parameters nothing reads\n(unused-param, a warning), imports that do not resolve (unresolved-import), a\nmissing first //! description line (missing-description), and keys that are a\ntypo of a key harun's values or the playbook's maps have (unknown-property).\n\n--json prints one document: {\"checked\": N, \"problems\": [{file, line, col, code,\nseverity, message, suggestion}], \"unusable\": [...]}.\n\nExit codes: 0 no problem, 1 problems found (warnings included), 2 a path that does\nnot exist, holds no playbook, or a file that cannot be read as UTF-8 text.\n\nExamples:\n  harun check                        every *.rhai under ./playbooks\n  harun check team/ extra.rhai --json\n  harun check playbooks/drain_server.rhai"
    )]
    Check {
        /// Playbook files, or directories searched recursively for *.rhai (default: ./playbooks).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Every playbook primitive with its signature and documentation.
    Doc {
        /// Only this primitive.
        name: Option<String>,
        /// Markdown (as in docs/primitives.md).
        #[arg(long)]
        markdown: bool,
        /// Every finding id with its severity, meaning and fix (docs/findings.md).
        #[arg(long, conflicts_with_all = ["name", "markdown"])]
        findings: bool,
        /// The JSON Schema of `--json` reports (docs/report.schema.json).
        #[arg(long, conflicts_with_all = ["name", "markdown", "findings"])]
        schema: bool,
    },
    /// Run playbook tests (NAME.test.toml) against a lab, a replay bundle or your config.
    #[command(
        after_help = "A test file NAME.test.toml sits next to NAME.rhai:\n\n  [[test]]\n  name = \"flags the DOWN server\"\n  against = \"lab:incident\"        # lab:SCENARIO | replay:DIR | config:FILE\n                                   # (DIR, FILE: relative to this file)\n  params = { backend = \"bk_api\" }\n  exit = 1\n  findings = [\"servers.down:error\"]   # id or id:severity, must be present\n  absent = [\"process.unreachable\"]\n  [[test.rows]]\n  table = \"servers\"\n  where = { server = \"api2\" }\n\nExamples:\n  harun test                     every test under ./playbooks\n  harun test playbooks/team.test.toml --json\n\nEach test's run is bounded by --max-time: 300 s unless given (a playbook stuck in\n`sleep` or a drain must not hold a CI job for hours).\n\nExit codes: 0 all passed, 1 a test failed, 2 a test file is unusable."
    )]
    Test {
        /// Test files or directories (default: ./playbooks).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Write a new team playbook and its test into ./playbooks.
    #[command(
        after_help = "Examples:\n  harun new slow_backend\n  harun check playbooks && harun test playbooks"
    )]
    New {
        /// Playbook name: letters, digits, `_` and `-`.
        name: String,
        /// Directory to write into.
        #[arg(long, value_name = "DIR", default_value = "playbooks")]
        dir: PathBuf,
    },
    /// One fleet report from harun `--json` reports: findings by id, with their hosts.
    #[command(
        after_help = "Each report is a host, named after its file (lb1.json is lb1), unless it comes
from a run over an inventory (-i): then each of its targets is a host. A finding
with no target (the configuration) counts for every host of its report.

--json prints one document: {hosts, reports, findings: [{id, severity, hosts,
variants: [{title, detail, advice, hosts}]}], errors, worst, exit_code}.

Exit code: the highest of the reports' own (0 nothing at error level, 1 error or
critical findings, 2 a playbook error, 3 an unreachable HAProxy, 4 a refused
write, 130 interrupted); 2 when a file is missing, not JSON or not a harun report.

Examples:
  harun merge reports/*.json
  ansible lb -m shell -a 'harun troubleshoot --json > /tmp/harun.json'   then fetch them
  harun merge --json lb1.json lb2.json"
    )]
    Merge {
        /// `harun --json` reports (of a playbook run, not of `-e`).
        #[arg(value_name = "REPORT.json", required = true)]
        reports: Vec<PathBuf>,
    },
    /// The latest entries of the audit journal.
    Journal {
        /// How many entries.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn run_opts_name_every_global_option() {
        let cmd = Cli::command();
        let mut globals: Vec<&str> = cmd
            .get_arguments()
            .filter(|a| a.is_global_set())
            .map(|a| a.get_id().as_str())
            .collect();
        globals.sort();
        let mut listed = RUN_OPTS.to_vec();
        listed.sort();
        assert_eq!(globals, listed);
    }

    #[test]
    fn every_subcommand_says_which_run_options_it_uses() {
        let cmd = command();
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let (_, used) = SUBCOMMAND_OPTS
                .iter()
                .find(|(n, _)| *n == sub.get_name())
                .unwrap_or_else(|| panic!("`{}` missing from SUBCOMMAND_OPTS", sub.get_name()));
            for id in RUN_OPTS {
                let arg = sub.get_arguments().find(|a| a.get_id() == *id).unwrap();
                assert_eq!(
                    arg.is_hide_set(),
                    !used.contains(id),
                    "{} {id}",
                    sub.get_name()
                );
            }
        }
    }
}
