//! Team playbook commands: `harun test` and `harun new`.

use super::args::GlobalOpts;
use super::error;
use crate::base::error::ExitCode;
use crate::testing::{self, Outcome};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `harun test [PATH...]`: one line per test, a summary, exit 1 on a failure.
pub fn test(g: &GlobalOpts, paths: &[PathBuf], settings: crate::script::settings::Settings) -> i32 {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("playbooks")]
    } else {
        paths.to_vec()
    };
    let cases = match testing::load(&paths) {
        Ok(c) if c.is_empty() => {
            error(&format!(
                "no playbook tests (`*{}`) under {}: `harun new NAME` writes a playbook with its test",
                testing::spec::SUFFIX,
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ));
            return ExitCode::Usage as i32;
        }
        Ok(c) => c,
        Err(e) => {
            error(&e.to_string());
            return ExitCode::Usage as i32;
        }
    };
    let cancel = crate::base::cancel::CancelToken::new();
    // Ctrl-C stops the running test and leaves no lab behind.
    let _signals = match super::signals::watch_signals(&cancel, false) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let mut settings = settings;
    settings
        .max_time
        .get_or_insert(testing::run::DEFAULT_MAX_TIME);
    let opts = testing::Options {
        haproxy_bin: settings.haproxy_bin.clone(),
        settings,
        cancel: cancel.clone(),
    };
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut out = anstream::stdout();
    for case in &cases {
        if cancel.is_cancelled() {
            break;
        }
        let o = testing::run::run(case, &opts);
        if !g.json {
            let _ = writeln!(out, "{}", line(&o));
            for f in &o.failures {
                let _ = writeln!(out, "      {f}");
            }
        }
        outcomes.push(o);
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let passed = outcomes.len() - failed;
    let millis: u64 = outcomes.iter().map(|o| o.millis).sum();
    if g.json {
        let doc = serde_json::json!({
            "passed": passed,
            "failed": failed,
            "tests": outcomes,
        });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
    } else {
        let _ = writeln!(
            out,
            "\n{passed} passed, {failed} failed ({:.1}s)",
            millis as f64 / 1000.0
        );
    }
    if cancel.is_cancelled() {
        error(&format!(
            "interrupted: {} of {} tests ran",
            outcomes.len(),
            cases.len()
        ));
        ExitCode::Interrupted as i32
    } else if failed > 0 {
        ExitCode::Findings as i32
    } else {
        ExitCode::Success as i32
    }
}

fn line(o: &Outcome) -> String {
    let mark = if o.passed {
        let green = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Green.into()));
        format!("{green}ok  {green:#}")
    } else {
        let red = anstyle::Style::new()
            .fg_color(Some(anstyle::AnsiColor::Red.into()))
            .bold();
        format!("{red}FAIL{red:#}")
    };
    format!(
        "{mark}  {}:{}  {}  [{}, {:.1}s]",
        o.file,
        o.line,
        o.name,
        o.against,
        o.millis as f64 / 1000.0
    )
}

/// `harun new NAME`: a commented playbook and its test, never over a file.
pub fn new(name: &str, dir: &Path) -> i32 {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        error(&format!(
            "`{name}`: a playbook name is letters, digits, `_` and `-` (it is also the file name)"
        ));
        return ExitCode::Usage as i32;
    }
    if crate::script::playbooks::shipped(name).is_some() {
        error(&format!(
            "`{name}` is a shipped playbook: choose another name (`harun list` shows them)"
        ));
        return ExitCode::Usage as i32;
    }
    let playbook = dir.join(format!("{name}.rhai"));
    let test = dir.join(format!("{name}{}", testing::spec::SUFFIX));
    for p in [&playbook, &test] {
        if p.exists() {
            error(&format!("{}: already exists, nothing written", p.display()));
            return ExitCode::Usage as i32;
        }
    }
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(&playbook, playbook_template(name))?;
        std::fs::write(&test, test_template(name))
    };
    if let Err(e) = write() {
        error(&format!("cannot write into {}: {e}", dir.display()));
        return ExitCode::Usage as i32;
    }
    super::out(&format!(
        "wrote {} and {}\nnext: edit them, then\n  harun check {}\n  harun test {}\n  harun lab {}\n",
        playbook.display(),
        test.display(),
        playbook.display(),
        test.display(),
        playbook.display()
    ));
    0
}

/// The playbook `harun new` writes: runs as is, and shows the house style.
pub fn playbook_template(name: &str) -> String {
    TEMPLATE.replace("{NAME}", name)
}

pub fn test_template(name: &str) -> String {
    TEST_TEMPLATE.replace("{NAME}", name)
}

const TEMPLATE: &str = r#"//! {NAME}: servers out of rotation, and why.
//!
//! Everything after the first line is shown by `harun {NAME} --help`.
//! Run it against a disposable HAProxy first: `harun lab playbooks/{NAME}.rhai`.
//! @param backend     only this backend (default: every backend)

let backend = param("backend", ());

// servers(): one row per server from `show servers state`, with the admin
// bit mask decoded. Keys are strict: a typo stops the run at its line with
// the nearest key. `harun doc servers` lists every key.
let rows = if backend == () { servers() } else { servers(backend) };
let out = rows.filter(|s| !s.in_rotation);

for s in out {
    // A stable id teams can filter on, what was seen, the exact next step.
    finding("warning", "{NAME}.out-of-rotation", `${s.name} takes no new traffic (${s.op_state})`, #{
        detail: "a server out of rotation lowers the capacity of its backend",
        advice: `harun -e 'servers("${s.backend}").filter(|s| s.server == "${s.server}")'`,
        evidence: [`op_state=${s.op_state} admin_flags=${s.admin_flags} weight=${s.weight}`],
    });
}
table("out of rotation", out, ["name", "op_state", "admin_flags", "weight"]);

if out.is_empty() {
    finding("ok", "{NAME}.all-in-rotation", `${rows.len()} servers, all in rotation`);
}
"#;

const TEST_TEMPLATE: &str = r#"# Tests for {NAME}.rhai, run by `harun test` (and in your CI).
# against: lab:SCENARIO (a real HAProxy: healthy, incident, queues),
#          replay:DIR (a bundle written by the snapshot playbook),
#          config:FILE (a lab started from your own haproxy.cfg).

[[test]]
name = "reports the DOWN and MAINT servers of the incident lab"
against = "lab:incident"
exit = 0
findings = ["{NAME}.out-of-rotation:warning"]
absent = ["{NAME}.all-in-rotation"]

[[test.rows]]
table = "out of rotation"
where = { name = "bk_api/api2", op_state = "stopped" }

[[test]]
name = "says all is well on a healthy lab"
against = "lab:healthy"
exit = 0
findings = ["{NAME}.all-in-rotation:ok"]
absent = ["{NAME}.out-of-rotation"]
"#;
