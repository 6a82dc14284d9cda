//! What each command does, from parsed arguments to an exit code.

use super::args::{Cli, Command, GlobalOpts};
use super::{error, out};
use crate::base::report::Report;
use crate::lab::{Lab, Scenario};
use crate::output::{render, term};
use crate::runtime::Address;
use crate::script::playbooks;
use crate::script::settings::Settings;
use crate::{ExitCode, Runner};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Some(Command::List) => list(&cli.global),
        Some(Command::Check { paths }) => super::check::run(&paths, cli.global.json),
        Some(Command::Doc {
            name,
            markdown,
            findings,
            schema,
        }) => doc(name.as_deref(), markdown, findings, schema),
        Some(Command::Journal { lines }) => journal(&cli.global, lines),
        Some(Command::Merge { reports }) => merge(&reports, cli.global.json),
        Some(Command::Test { paths }) => match settings(&cli.global, false) {
            Ok(s) => super::team::test(&cli.global, &paths, s),
            Err(code) => code,
        },
        Some(Command::New { name, dir }) => super::team::new(&name, &dir),
        Some(Command::Lab {
            args,
            down,
            slow,
            keep_lua,
            master,
            eval,
        }) => lab(
            &cli.global,
            &args,
            eval.as_deref(),
            &LabOpts {
                down: &down,
                slow: &slow,
                keep_lua,
                master,
            },
        ),
        Some(Command::Repl) => match settings(&cli.global, true) {
            Ok(s) => match runner(s, &cli.global, true) {
                Ok((r, _rt)) => crate::repl::run(&r, cli.global.json),
                Err(code) => code,
            },
            Err(code) => code,
        },
        None => {
            let settings = match settings(&cli.global, true) {
                Ok(s) => s,
                Err(code) => return code,
            };
            if let Some(expr) = &cli.eval {
                return run_eval(settings, &cli.global, expr);
            }
            match &cli.playbook {
                Some(p) => run_playbook(settings, &cli.global, p),
                None => {
                    error("no playbook given: try `harun troubleshoot` (the incident run), `harun list` (every playbook), `harun -e EXPR`, `harun repl`, or `harun --help`");
                    ExitCode::Usage as i32
                }
            }
        }
    }
}

fn parse_params(raw: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for p in raw {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("-p `{p}`: expected KEY=VALUE"))?;
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "-p `{p}`: parameter names are letters, digits, `_` and `-`"
            ));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

fn secs(what: &str, v: f64) -> Result<Duration, String> {
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(format!(
            "{what} must be between 0 and 86400 seconds, got {v}"
        ))
    }
}

/// The sockets of -s, as given.
fn explicit_sockets(g: &GlobalOpts) -> Result<Vec<Address>, String> {
    g.sockets
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| Address::parse(s).map_err(|e| e.to_string()))
        .collect()
}

/// Sockets from -s, else the config's `stats socket` lines, else the usual paths.
fn discover_sockets(g: &GlobalOpts) -> Result<Vec<Address>, String> {
    if !g.sockets.is_empty() {
        return explicit_sockets(g);
    }
    if let Ok(model) = crate::config::model::load_config(&g.config) {
        let sockets = crate::config::model::stats_sockets(&model);
        // With nbproc > 1 every process has its own socket, counters and
        // server states: talk to all of them. Otherwise one socket is enough,
        // preferably an admin-level one (state changes need it).
        let nbproc = model
            .global_find("nbproc")
            .next()
            .and_then(|d| d.args.first())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        let mut ranked: Vec<_> = sockets.iter().collect();
        ranked.sort_by_key(|s| s.effective_level() != "admin");
        let take = if nbproc > 1 { ranked.len() } else { 1 };
        let mut found: Vec<Address> = Vec::new();
        for s in ranked.into_iter().take(take) {
            // `:9999` / `*:9999` listen on every address: reach them on loopback.
            let addr = s.address.strip_prefix("ipv4@").unwrap_or(&s.address);
            let addr = match addr.strip_prefix('*').unwrap_or(addr) {
                a if a.starts_with(':') => format!("127.0.0.1{a}"),
                _ => s.address.clone(),
            };
            if let Ok(a) = Address::parse(&addr) {
                if !found.contains(&a) {
                    found.push(a);
                }
            }
        }
        if !found.is_empty() {
            return Ok(found);
        }
    }
    for p in ["/run/haproxy/admin.sock", "/var/run/haproxy/admin.sock"] {
        if std::path::Path::new(p).exists() {
            return Ok(vec![Address::Unix(PathBuf::from(p))]);
        }
    }
    Ok(Vec::new())
}

/// Convert options once into the library's settings. Errors are printed here.
fn settings(g: &GlobalOpts, discover: bool) -> Result<Settings, i32> {
    let fail = |m: String| {
        error(&m);
        ExitCode::Usage as i32
    };
    let params = parse_params(&g.params).map_err(fail)?;
    let io_timeout = secs("--timeout", g.timeout).map_err(fail)?;
    let max_time = match g.max_time {
        Some(v) => Some(secs("--max-time", v).map_err(fail)?),
        None => None,
    };
    if g.limit.is_some() && g.inventory.is_none() {
        return Err(fail(
            "--limit selects hosts of an inventory: add -i/--inventory FILE".into(),
        ));
    }
    let fleet = match &g.inventory {
        Some(_) if g.replay.is_some() => {
            return Err(fail(
                "--replay DIR cannot be combined with -i/--inventory (or HARUN_INVENTORY): a replay has no live host".into(),
            ))
        }
        // `harun lab` and `harun test` bring their own targets, as they
        // ignore -s (an HARUN_INVENTORY in the environment must not stop them).
        Some(_) if !discover => Vec::new(),
        Some(path) => match crate::fleet::targets(path, g.limit.as_deref()) {
            Ok(members) => {
                let notes = crate::fleet::connect::unhonoured_notes(
                    members
                        .iter()
                        .map(|m| (m.name.as_str(), m.unhonoured.as_slice())),
                );
                for note in notes {
                    crate::output::warning(&format!("inventory {}: {note}", path.display()));
                }
                members
            }
            Err(e) => {
                error(&e.to_string());
                return Err(e.exit_code() as i32);
            }
        },
        None => Vec::new(),
    };
    let sockets = match &g.replay {
        // A bundle replaces every socket: a live one mixed in would be a
        // different moment (HARUN_SOCKET included, so say so).
        Some(_) if !g.sockets.is_empty() => {
            return Err(fail(
                "--replay DIR cannot be combined with -s/--socket or HARUN_SOCKET: a replay has no live socket (use `-s replay@DIR` alone, or unset HARUN_SOCKET)".into(),
            ))
        }
        Some(_) if !discover => {
            return Err(fail(
                "--replay does not apply here: `harun lab` starts a live HAProxy, and `harun test` takes its targets from each test (`against = \"replay:DIR\"`)".into(),
            ))
        }
        Some(dir) => vec![Address::Replay(dir.clone())],
        // An inventory names the targets: the configuration's socket would be a guess.
        None if !fleet.is_empty() => explicit_sockets(g).map_err(fail)?,
        None if discover => discover_sockets(g).map_err(fail)?,
        None => Vec::new(),
    };
    let serial = match &g.serial {
        Some(text) => Some(crate::fleet::Serial::parse(text).map_err(|e| fail(e.to_string()))?),
        None => None,
    };
    let mut s = Settings {
        serial,
        sockets,
        fleet,
        max_parallel: g.forks as usize,
        config_paths: g.config.clone(),
        // Neither -c nor HARUN_CONFIG: the default path is a guess.
        config_from_process: !g.config_given
            && std::env::var_os("HARUN_CONFIG").is_none()
            && g.replay.is_none()
            && g.inventory.is_none(),
        haproxy_bin: g.haproxy_bin.clone(),
        io_timeout,
        max_reply_bytes: (g.max_reply_mb as usize).saturating_mul(1024 * 1024),
        max_time,
        params,
        // What the user typed: a key no playbook declares or reads is a typo.
        strict_params: true,
        dry_run: g.dry_run,
        read_only: g.read_only,
        yes: g.yes,
        force: g.force,
        rsyslog_conf: g.rsyslog_conf.clone(),
        rsyslog_dir: g.rsyslog_dir.clone(),
        output_dir: g.output_dir.clone(),
        ..Settings::default()
    };
    if let Some(j) = &g.journal {
        s.journal_path = j.clone();
    }
    Ok(s)
}

/// The runner with terminal output, confirmation and Ctrl-C wired in.
fn runner(
    settings: Settings,
    g: &GlobalOpts,
    interactive: bool,
) -> Result<(Runner, Arc<tokio::runtime::Runtime>), i32> {
    let cancel = crate::base::cancel::CancelToken::new();
    let rt = super::signals::watch_signals(&cancel, interactive)?;
    Ok((build_runner(settings, g, cancel)?, rt))
}

fn build_runner(
    settings: Settings,
    g: &GlobalOpts,
    cancel: crate::base::cancel::CancelToken,
) -> Result<Runner, i32> {
    let mut b = Runner::builder()
        .settings(settings)
        .sink(Arc::new(term::TerminalSink::new(g.json)))
        .cancel_token(cancel)
        .preconnect(true);
    if term::can_confirm() {
        b = b.confirm(Arc::new(term::TerminalConfirm));
    }
    let runner = b.build().map_err(|e| {
        error(&e.to_string());
        ExitCode::Usage as i32
    })?;
    if let Some(b) = runner.replay() {
        note_replay(b);
    }
    Ok(runner)
}

/// Say on stderr what is replayed, and what of it is missing, once per run.
fn note_replay(b: &crate::runtime::replay::Bundle) {
    let taken = b
        .taken()
        .map(|t| format!("taken {t}, "))
        .unwrap_or_default();
    eprintln!(
        "harun: replaying {} ({taken}{} target(s)): recorded replies, no live HAProxy",
        b.dir().display(),
        b.targets().len()
    );
    if b.version() < crate::runtime::replay::VERSION {
        eprintln!(
            "harun: replay: this bundle was taken by an older harun: its config.json stands for the configuration files; it has no host facts, `haproxy -vv` or second `show stat` sample (what needs them says `not recorded`)"
        );
    }
    for p in b.problems() {
        eprintln!("harun: replay: partial bundle: {p}");
    }
}

/// Print a finished report; return its exit code.
pub fn finish(report: &Report, json: bool) -> i32 {
    if json {
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, report);
        let _ = writeln!(out);
    } else {
        let mut out = anstream::stdout();
        let _ = write!(out, "{}", render::findings(report));
    }
    if let Some(e) = report.error.as_ref().filter(|e| !e.reported) {
        error(&e.render());
    }
    report.exit_code()
}

fn run_playbook(settings: Settings, g: &GlobalOpts, name: &str) -> i32 {
    let (runner, _rt) = match runner(settings, g, false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runner.run_playbook(name) {
        Ok(report) => finish(&report, g.json),
        Err(e) => refused_before_run(name, &e, g.json),
    }
}

/// No such playbook, a parameter it does not take: `--json` still gets one
/// report, whose `error` and `worst` say the run never started.
fn refused_before_run(playbook: &str, e: &crate::Error, json: bool) -> i32 {
    let mut report = Report {
        playbook: playbook.to_string(),
        ..Report::default()
    };
    report.fail(crate::base::report::RunError::before_run(e));
    finish(&report, json)
}

fn print_value(v: &serde_json::Value) {
    let mut out = anstream::stdout();
    match v {
        serde_json::Value::String(s) => {
            let _ = writeln!(out, "{s}");
        }
        serde_json::Value::Array(rows)
            if !rows.is_empty() && rows.iter().all(|r| r.is_object()) =>
        {
            let mut cols: Vec<String> = Vec::new();
            for r in rows {
                if let Some(o) = r.as_object() {
                    for k in o.keys() {
                        if !cols.contains(k) {
                            cols.push(k.clone());
                        }
                    }
                }
            }
            let t = crate::base::report::Table {
                title: None,
                rows: rows
                    .iter()
                    .map(|r| {
                        cols.iter()
                            .map(|c| r.get(c).cloned().unwrap_or(serde_json::Value::Null))
                            .collect()
                    })
                    .collect(),
                columns: cols,
            };
            let _ = writeln!(out, "{}", render::table(&t, None));
        }
        serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(v).unwrap_or_default()
            );
        }
        other => {
            let _ = writeln!(out, "{other}");
        }
    }
}

fn run_eval(settings: Settings, g: &GlobalOpts, expr: &str) -> i32 {
    let (runner, _rt) = match runner(settings, g, false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    eval_and_print(&runner, g, expr)
}

/// Evaluate `expr` with `runner` and print its value (or, for a run that
/// stopped, the report), as `harun -e` and `harun lab -e` do.
fn eval_and_print(runner: &crate::runner::Runner, g: &GlobalOpts, expr: &str) -> i32 {
    let report = runner.eval(expr);
    if g.json {
        // A run that stopped: the report (its `error` says why) instead of a
        // value that was never computed. Exit 0 or 1: the value alone.
        if report.error.is_some() {
            return finish(&report, true);
        }
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(
            &mut out,
            report.value.as_ref().unwrap_or(&serde_json::Value::Null),
        );
        let _ = writeln!(out);
        return report.exit_code();
    }
    if let Some(v) = &report.value {
        print_value(v);
    }
    finish(&report, false)
}

/// `harun lab`'s own options.
struct LabOpts<'a> {
    down: &'a [String],
    slow: &'a [String],
    keep_lua: bool,
    master: bool,
}

fn lab(g: &GlobalOpts, args: &[String], eval: Option<&str>, o: &LabOpts) -> i32 {
    let LabOpts {
        down,
        slow,
        keep_lua,
        master,
    } = *o;
    let usage = |m: &str| {
        error(m);
        ExitCode::Usage as i32
    };
    let from_config = g.config_given;
    if !from_config && (!down.is_empty() || !slow.is_empty()) {
        return usage("--down and --slow apply to a lab started from your configuration: add -c/--config PATH");
    }
    if !from_config && keep_lua {
        return usage(
            "--keep-lua applies to a lab started from your configuration: add -c/--config PATH",
        );
    }
    let (scenario, playbook) = if from_config {
        match args {
            [] => (Scenario::default(), None),
            [one] if Scenario::parse(one).is_none() => (Scenario::default(), Some(one.clone())),
            [one] => {
                return usage(&format!(
                    "`{one}` is a lab scenario; with -c/--config the lab runs your configuration: `harun lab -c PATH [PLAYBOOK]`"
                ))
            }
            _ => {
                return usage(
                    "with -c/--config, harun lab takes at most a playbook: `harun lab -c PATH [PLAYBOOK]`",
                )
            }
        }
    } else {
        match args {
            [] => (Scenario::default(), None),
            [one] => match Scenario::parse(one) {
                Some(s) => (s, None),
                None => (Scenario::default(), Some(one.clone())),
            },
            [s, p, ..] => match Scenario::parse(s) {
                Some(s) => (s, Some(p.clone())),
                None => {
                    return usage(&format!(
                        "unknown lab scenario `{s}`{} (one of: {})",
                        scenario_hint(s),
                        Scenario::NAMES.join(", ")
                    ))
                }
            },
        }
    };
    if let (Some(_), Some(p)) = (eval, &playbook) {
        return usage(&format!(
            "harun lab runs a playbook or evaluates -e, not both: `{p}` and -e"
        ));
    }
    let slow = match slow
        .iter()
        .map(|s| crate::lab::parse_slow(s).map_err(|e| format!("--slow `{s}`: {e}")))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(s) => s,
        Err(m) => return usage(&m),
    };
    let mut settings = match settings(g, false) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Resolve the playbook and check its -p keys before starting anything.
    if let Some(p) = &playbook {
        if let Err(e) = playbooks::resolve_checked(p, &settings.params, settings.strict_params) {
            // `harun lab queus`: one word that is neither; the scenario it
            // nearly names is the likelier meaning.
            let hint = scenario_hint(p);
            if !from_config && args.len() == 1 && !hint.is_empty() {
                return usage(&format!(
                    "no lab scenario `{p}`{hint} (one of: {}); nor a playbook: {e}",
                    Scenario::NAMES.join(", ")
                ));
            }
            return refused_before_run(p, &e, g.json);
        }
    }
    // Signals are watched from here on: Ctrl-C while the lab starts (it may
    // wait for servers to go DOWN) stops it and removes its directory.
    let cancel = crate::base::cancel::CancelToken::new();
    let waits = playbook.is_none() && eval.is_none();
    let _signals = match super::signals::watch_signals(&cancel, waits) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let mut builder = Lab::builder()
        .haproxy_bin(&g.haproxy_bin)
        .scenario(scenario)
        .master(master)
        .cancel(cancel.clone());
    if from_config {
        let shown: Vec<String> = g.config.iter().map(|p| p.display().to_string()).collect();
        eprintln!("harun lab: starting haproxy from {} ...", shown.join(" "));
        builder = builder.config(g.config.clone()).keep_lua(keep_lua);
        for d in down {
            builder = builder.down(d);
        }
        for (s, d) in slow {
            builder = builder.slow(s, d);
        }
    } else {
        eprintln!("harun lab: starting haproxy ({}) ...", scenario.describe());
    }
    let lab = match builder.start() {
        Ok(l) => l,
        Err(e) => {
            error(&format!("lab: {e}"));
            return match e.exit_code() {
                ExitCode::Interrupted => ExitCode::Interrupted as i32,
                _ => ExitCode::Usage as i32,
            };
        }
    };
    let target = match lab.master_socket() {
        Some(m) => Address::Master(m.to_path_buf()),
        None => Address::Unix(lab.admin_socket().to_path_buf()),
    };
    settings.sockets = vec![target.clone()];
    // Production's files are linted and named; haproxy -c runs the copy.
    settings.config_paths = lab.user_config_paths().to_vec();
    settings.config_from_process = false;
    settings.config_copy = lab.config_copy().cloned();
    if g.journal.is_none() {
        settings.journal_path = lab.dir().join("journal.jsonl");
    }
    let runner = match build_runner(settings, g, cancel) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let configs: Vec<String> = lab
        .config_paths()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if from_config {
        eprintln!(
            "harun lab: {} change(s) to run your configuration here:",
            lab.rewrites().len()
        );
        for r in lab.rewrites() {
            eprintln!("  {r}");
        }
        eprintln!(
            "harun lab: admin socket {}\nharun lab: config {} (same line numbers as yours)\nharun lab: haproxy's output and logs in {}",
            lab.admin_socket().display(),
            configs.join(" "),
            lab.dir().join("haproxy.log").display()
        );
    } else {
        eprintln!(
            "harun lab: admin socket {}  (tcp {}, operator {})\nharun lab: config {}  frontend http://{}",
            lab.admin_socket().display(),
            lab.tcp_socket().unwrap_or("-"),
            lab.operator_socket().map(|p| p.display().to_string()).unwrap_or_default(),
            configs.join(" "),
            lab.frontend()
        );
    }
    if let (Some(m), Some(pid)) = (lab.master_socket(), lab.pid()) {
        eprintln!(
            "harun lab: master CLI master@{} (master pid {pid}; reload: kill -USR2 {pid})",
            m.display()
        );
    }
    let code = match playbook {
        None if eval.is_some() => eval_and_print(&runner, g, eval.unwrap_or_default()),
        Some(p) => match runner.run_playbook(&p) {
            Ok(report) => finish(&report, g.json),
            Err(e) => {
                error(&e.to_string());
                e.exit_code() as i32
            }
        },
        None => {
            let cs: Vec<String> = configs.iter().map(|c| format!("-c {c}")).collect();
            eprintln!(
                "harun lab: running; try `harun -s {} troubleshoot {}`. Ctrl-C stops it.",
                target,
                cs.join(" ")
            );
            let cancel = runner.cancel_token();
            while !cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(100));
            }
            ExitCode::Success as i32
        }
    };
    drop(lab);
    code
}

/// `; did you mean `queues`?` when `word` nearly names a lab scenario.
fn scenario_hint(word: &str) -> String {
    crate::base::suggest::did_you_mean(&crate::base::suggest::nearest(
        word,
        Scenario::NAMES.iter().copied(),
    ))
}

fn list(g: &GlobalOpts) -> i32 {
    let docs = playbooks::list(&playbooks::search_path());
    if g.json {
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&docs).unwrap_or_default()
        ));
        return 0;
    }
    // A plain listing, not a table: descriptions are sentences, and a table
    // as wide as the longest one wraps into noise on an 80-column terminal.
    let mut out = String::new();
    let mut heading = String::new();
    for d in &docs {
        let h = match d.origin.as_str() {
            "shipped" => {
                "Shipped playbooks (`harun NAME` runs one, `harun NAME --help` explains it):"
                    .to_string()
            }
            file => format!(
                "Playbooks in {}/:",
                std::path::Path::new(file)
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
        };
        if h != heading {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&h);
            out.push('\n');
            heading = h;
        }
        out.push_str(&format!("  {}\n", d.name));
        if !d.note.is_empty() {
            out.push_str(&format!("      ! {}\n", d.note));
        }
        for line in wrap(&d.description, 76) {
            out.push_str(&format!("      {line}\n"));
        }
        let params: Vec<String> = d
            .params
            .iter()
            .map(|p| match (&p.default, p.required) {
                (_, true) => format!("-p {}=…", p.name),
                (Some(def), _) => format!("[-p {}={def}]", p.name),
                (None, _) => format!("[-p {}=…]", p.name),
            })
            .collect();
        if !params.is_empty() {
            out.push_str(&format!("      {}\n", params.join(" ")));
        }
    }
    super::out(&out);
    0
}

/// `text` cut at spaces into lines of at most `width` characters (a longer
/// word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn doc(name: Option<&str>, markdown: bool, findings: bool, schema: bool) -> i32 {
    let text = if schema {
        Some(crate::output::docs::report_schema())
    } else if findings {
        Some(crate::output::docs::findings_markdown())
    } else if markdown {
        crate::output::docs::primitives_markdown()
    } else {
        crate::output::docs::primitives_text(name)
    };
    match text {
        Some(t) => {
            out(&t);
            0
        }
        None => {
            error(&format!(
                "no primitive named `{}` (see `harun doc`)",
                name.unwrap_or_default()
            ));
            ExitCode::Usage as i32
        }
    }
}

/// `harun merge`: read every report first (any bad file stops it, named),
/// then print the fleet report; exit with the highest of their codes.
fn merge(paths: &[PathBuf], json: bool) -> i32 {
    let mut reports = Vec::with_capacity(paths.len());
    for p in paths {
        match read_report(p) {
            Ok(r) => reports.push(r),
            Err(m) => {
                error(&m);
                return ExitCode::Usage as i32;
            }
        }
    }
    let labels = crate::fleet::merge::labels(paths);
    let fleet = crate::fleet::merge::merge(&labels.into_iter().zip(reports).collect::<Vec<_>>());
    if json {
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &fleet);
        let _ = writeln!(out);
    } else {
        let mut out = anstream::stdout();
        let _ = write!(out, "{}", crate::output::fleet::merged(&fleet));
    }
    fleet.exit_code
}

/// One `--json` report, or why this file is not one.
fn read_report(path: &std::path::Path) -> Result<Report, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{shown}: no such file"),
        std::io::ErrorKind::InvalidData => format!("{shown}: not a harun report (not UTF-8 text)"),
        _ => format!("{shown}: cannot read: {e}"),
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!("{shown}: not JSON ({e}): harun merge reads the output of `harun PLAYBOOK --json`")
    })?;
    if !value
        .get("findings")
        .is_some_and(serde_json::Value::is_array)
    {
        return Err(format!(
            "{shown}: not a harun report: it has no `findings` array (harun merge reads the output of `harun PLAYBOOK --json`; `-e EXPR --json` prints only the value)"
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("{shown}: not a harun report: {e}"))
}

fn journal(g: &GlobalOpts, n: usize) -> i32 {
    let path = g
        .journal
        .clone()
        .unwrap_or_else(crate::actions::journal::Journal::default_path);
    match crate::actions::journal::tail(&path, n) {
        Ok((entries, bad)) => {
            if g.json {
                out(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&entries).unwrap_or_default()
                ));
            } else {
                for e in &entries {
                    let detail = if e.outcome == crate::actions::journal::SENDING {
                        "no outcome recorded: harun stopped (or is still waiting) after journaling it; HAProxy may have applied it, check the server's state"
                    } else {
                        e.error
                            .as_deref()
                            .or(e.reply.as_deref().filter(|r| !r.is_empty()))
                            .unwrap_or("")
                    };
                    out(&format!(
                        "{} {} {} {} [{}] {}\n",
                        e.time, e.user, e.target, e.command, e.outcome, detail
                    ));
                }
                if bad > 0 {
                    eprintln!(
                        "harun: {bad} unreadable line(s) skipped in {}",
                        path.display()
                    );
                }
            }
            0
        }
        Err(e) if matches!(&e, crate::base::error::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound) =>
        {
            eprintln!(
                "harun: no journal yet at {} (nothing was written)",
                path.display()
            );
            0
        }
        Err(e) => {
            error(&e.to_string());
            ExitCode::Usage as i32
        }
    }
}

/// `harun PLAYBOOK --help`: the playbook's description and parameters.
pub fn playbook_help(argv: &[String]) -> Option<i32> {
    if !argv.iter().any(|a| a == "--help" || a == "-h") {
        return None;
    }
    // Let clap find the playbook among the options (`--haproxy-bin PATH`
    // takes a value that is not the playbook), then show its header.
    let without_help: Vec<&String> = argv
        .iter()
        .filter(|a| *a != "--help" && *a != "-h")
        .collect();
    let cli = <Cli as clap::Parser>::try_parse_from(without_help).ok()?;
    if cli.command.is_some() {
        return None;
    }
    let first = cli.playbook?;
    let src = match playbooks::resolve(&first) {
        Ok(s) => s,
        Err(e) => {
            error(&e.to_string());
            return Some(ExitCode::Usage as i32);
        }
    };
    let d = playbooks::parse_header(&src.name, "", &src.text);
    let mut text = format!("{} — {}\n\n", d.name, d.description);
    if !d.details.is_empty() {
        text.push_str(&format!("{}\n\n", d.details));
    }
    if d.params.is_empty() {
        text.push_str("No parameters.\n");
    } else {
        text.push_str("Parameters (-p NAME=VALUE):\n");
        for p in &d.params {
            let extra = match (&p.default, p.required) {
                (_, true) => " (required)".to_string(),
                (Some(def), _) => format!(" (default: {def})"),
                _ => String::new(),
            };
            text.push_str(&format!("  {:<14} {}{extra}\n", p.name, p.description));
        }
    }
    text.push_str("\nGlobal options: see `harun --help`.\n");
    out(&text);
    Some(0)
}
