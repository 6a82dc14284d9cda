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
  harun lab troubleshoot                     run a playbook against a disposable local HAProxy
  harun repl                                 interactive session
  harun list                                 shipped and local playbooks

Exit codes:
  0 nothing at error level   1 error/critical findings   2 usage or playbook error
  3 HAProxy unreachable or timed out   4 write refused (read-only, guard, permission)
  130 interrupted";

/// Whether -c/--config was typed (before or after the subcommand): only then
/// does `harun lab` run the user's configuration.
pub fn config_given(matches: &clap::ArgMatches) -> bool {
    let typed = |m: &clap::ArgMatches| {
        m.value_source("config") == Some(clap::parser::ValueSource::CommandLine)
    };
    typed(matches) || matches.subcommand().is_some_and(|(_, sub)| typed(sub))
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
    /// Runtime API socket: /path, unix@/path, ipv4@HOST:PORT, ipv6@[ADDR]:PORT or HOST:PORT.
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

    /// Connect and read timeout on sockets, in seconds.
    #[arg(
        long = "timeout",
        value_name = "SECS",
        default_value_t = 5.0,
        global = true
    )]
    pub timeout: f64,

    /// Stop the whole run after this many seconds.
    #[arg(long = "max-time", value_name = "SECS", global = true)]
    pub max_time: Option<f64>,

    /// Playbook parameter (repeatable).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE", global = true)]
    pub params: Vec<String>,

    /// One JSON document on stdout instead of text.
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
        after_help = "Scenarios: healthy, incident (default), queues, big.\n\nWith -c/--config, the lab runs your own configuration instead: binds move to\nfree loopback ports, servers to harun's responders (healthy unless --down or\n--slow), sockets and files to the lab's directory; each change is printed.\n\nExamples:\n  harun lab troubleshoot\n  harun lab queues inspect_queues\n  harun lab             start the lab and wait for Ctrl-C (prints the socket)\n  harun lab -c /etc/haproxy/haproxy.cfg drain_server -p server=bk_app/app1 --yes\n  harun lab -c prod.cfg --down bk_app/app2 --slow bk_api/api1=2s troubleshoot"
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
    },
    /// Interactive session against the live HAProxy.
    Repl,
    /// Shipped playbooks and those in ./playbooks, with their parameters.
    List,
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
    /// The latest entries of the audit journal.
    Journal {
        /// How many entries.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
    },
}
