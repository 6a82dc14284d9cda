//! `harun repl` driven in a pseudo-terminal (rexpect) against the lab.
//! Every expectation is bounded (10 s) so the suite never hangs.

use crate::harness::*;
use harun::lab::{Lab, Scenario};
use rexpect::session::{spawn_command, PtySession};
use std::path::PathBuf;
use std::time::Duration;

const PROMPT: &str = "harun> ";
const CONTINUE: &str = "...> ";

struct Repl {
    p: PtySession,
    home: tempfile::TempDir,
}

impl Repl {
    fn start(lab: &Lab) -> Repl {
        Repl::start_with(lab, &[])
    }

    /// With extra session options (`-p`, `--dry-run`, ...).
    fn start_with(lab: &Lab, extra: &[&str]) -> Repl {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = harun_process();
        // Run options after `repl` (before it works too: see
        // cli::run_options_go_before_or_after_the_subcommand).
        cmd.arg("repl")
            .args(lab_args(lab))
            .args(extra)
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("TERM", "xterm")
            .current_dir(home.path());
        // Generous: the suite runs tests in parallel on two shared cores.
        let mut p = spawn_command(cmd, Some(30_000)).expect("spawn harun repl");
        p.exp_string("HAProxy")
            .expect("banner names the HAProxy version");
        p.exp_string(PROMPT).expect("first prompt");
        Repl { p, home }
    }

    fn history(&self) -> PathBuf {
        self.home.path().join("state/harun/history")
    }

    /// Send a line, wait for `want`, then for the next prompt.
    fn run(&mut self, line: &str, want: &str) {
        self.p.send_line(line).unwrap();
        self.p
            .exp_string(want)
            .unwrap_or_else(|e| panic!("`{line}`: no `{want}` ({e})"));
        if want != PROMPT && want != CONTINUE {
            self.p.exp_string(PROMPT).unwrap();
        }
    }

    /// Type keys without Enter (Tab, partial input).
    fn keys(&mut self, keys: &str) {
        self.p.send(keys).unwrap();
        self.p.flush().unwrap();
    }

    /// Ctrl-C at the prompt, then wait until the editor is ready again: keys
    /// typed while rustyline switches the terminal mode can be discarded.
    fn clear_input(&mut self) {
        self.p.send_control('c').unwrap();
        self.p.exp_string("input cleared").unwrap();
        self.p.exp_string(PROMPT).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }

    fn quit(mut self) {
        self.p.send_control('d').unwrap();
        self.p.exp_eof().expect("Ctrl-D leaves");
        let status = self.p.process.wait().unwrap();
        assert!(
            matches!(status, rexpect::process::wait::WaitStatus::Exited(_, 0)),
            "{status:?}"
        );
    }
}

#[test]
fn tab_completes_backend_names_from_the_live_process() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let mut r = Repl::start(&lab);
    // One match: completed in place.
    r.keys("stat(\"bk_sl\t");
    r.p.exp_string("bk_slow").unwrap();
    r.keys("\").len() > 0\r");
    r.p.exp_string("true").unwrap();
    r.p.exp_string(PROMPT).unwrap();
    // Two matches: the second Tab lists them.
    r.keys("stat(\"bk_ap\t\t");
    r.p.exp_string("bk_api").unwrap();
    r.p.exp_string("bk_app").unwrap();
    r.clear_input();
    // Servers of a backend after the slash.
    r.keys("servers(\"bk_api/api\t\t");
    r.p.exp_string("bk_api/api2").unwrap();
    r.clear_input();
    // harun's primitives are listed before Rhai's own functions.
    r.keys("sta\t\t");
    r.p.exp_regex(r"stat\s+start\s+starts_with").unwrap();
    r.clear_input();
    // Row keys after a dot, for rows of a primitive or of a variable.
    r.keys("stat().filter(|r| r.svnam\t");
    r.p.exp_string("svname").unwrap();
    r.keys(" == \"api2\").len() > 0\r");
    r.p.exp_string("true").unwrap();
    r.p.exp_string(PROMPT).unwrap();
    r.run("let rows = servers();", PROMPT);
    r.keys("rows.filter(|s| s.op_sta\t");
    r.p.exp_string("op_state").unwrap();
    r.keys(" == \"running\").len() > 0\r");
    r.p.exp_string("true").unwrap();
    r.p.exp_string(PROMPT).unwrap();
    r.quit();
}

#[test]
fn state_persists_across_lines_and_multi_line_input() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let mut r = Repl::start(&lab);
    r.run("let answer = 6 * 7;", PROMPT);
    r.run("answer + 1", "43");
    // The parser asks for more until the block is closed, with a
    // continuation prompt on every line it waits for.
    r.run("fn double(x) {", CONTINUE);
    r.p.send_line("  x * 2").unwrap();
    r.p.exp_string(CONTINUE).unwrap();
    r.p.send_line("}").unwrap();
    r.p.exp_string(PROMPT).unwrap();
    r.p.send_line("for n in [1, 2] {").unwrap();
    r.p.exp_string(CONTINUE).unwrap();
    r.p.send_line("  print(`n=${n * 10}`);").unwrap();
    r.p.exp_string(CONTINUE).unwrap();
    r.p.send_line("}").unwrap();
    r.p.exp_string("n=10").unwrap();
    r.p.exp_string("n=20").unwrap();
    r.p.exp_string(PROMPT).unwrap();
    // A syntax error in a block is reported as soon as its line is typed,
    // at the line and column of the entry.
    r.p.send_line("if answer > 1 {").unwrap();
    r.p.exp_string(CONTINUE).unwrap();
    r.p.send_line("  let z = ;").unwrap();
    r.p.exp_string("input:2:11").unwrap();
    r.p.exp_string(PROMPT).unwrap();
    // Ctrl-C drops an unfinished entry.
    r.run("let unfinished = [1,", CONTINUE);
    r.clear_input();
    r.run("double(answer) + 1", "85");
    // Errors show the line and a caret; the session goes on.
    r.p.send_line("let broken = (1 + ;").unwrap();
    r.p.exp_string("input:1:").unwrap();
    r.p.exp_string("^").unwrap();
    r.p.exp_string(PROMPT).unwrap();
    r.run("double(50)", "100");
    // Arrays of maps are tables.
    r.run(
        "stat().filter(|r| r.kind == \"server\" && r.pxname == \"bk_api\")",
        "api2",
    );
    r.quit();
}

#[test]
fn piped_input_runs_multi_line_entries_whole() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .arg("repl")
        .lab(&lab)
        .stdin(
            "let total = 0;\n\
             for r in stat() {\n\
             \x20 if r.kind == \"server\" { total += 1; }\n\
             }\n\
             print(`servers: ${total}`);\n\
             fn f(a) {\n\
             \x20 let b = ;\n\
             40 + 2\n\
             let cut = [1,\n",
        )
        .run();
    assert!(run.stdout.contains("servers: "), "{}", run.stdout);
    assert!(!run.stdout.contains("servers: 0"), "{}", run.stdout);
    assert!(run.stdout.contains("42"), "{}", run.stdout);
    // The error inside the block names its line in the entry; input that
    // ends mid-entry is run, and its error says what is missing.
    assert!(run.stderr.contains("input:2:11"), "{}", run.stderr);
    assert!(run.stderr.contains("input:1:"), "{}", run.stderr);
    assert!(run.stderr.contains("']'"), "{}", run.stderr);
    assert!(!run.stdout.contains("...>"), "no prompt off a terminal");
}

#[test]
fn ctrl_c_stops_a_running_line_not_the_session() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let mut r = Repl::start(&lab);
    r.p.send_line("sleep(30)").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    r.p.send_control('c').unwrap();
    r.p.exp_string("interrupted")
        .expect("Ctrl-C stops sleep(30)");
    r.p.exp_string(PROMPT).unwrap();
    r.run("40 + 2", "42");
    // A watch ends quietly on Ctrl-C.
    r.p.send_line("watch(|| stat().filter(|r| r.kind == \"server\"), 0.5)")
        .unwrap();
    r.p.exp_string("Ctrl-C stops").unwrap();
    r.p.exp_string("qcur").unwrap();
    r.p.send_control('c').unwrap();
    r.p.exp_string(PROMPT).unwrap();
    r.run("40 + 3", "43");
    // Ctrl-C at an empty prompt does not leave.
    r.clear_input();
    r.run("40 + 4", "44");
    r.quit();
}

#[test]
fn history_is_written_after_every_entry() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let mut r = Repl::start(&lab);
    r.run("let first = 1;", PROMPT);
    let h = std::fs::read_to_string(r.history()).expect("history file exists while running");
    assert!(h.contains("let first = 1;"), "{h}");
    r.run(" let secret = 2;", PROMPT);
    r.run("let second = 3;", PROMPT);
    let h = std::fs::read_to_string(r.history()).unwrap();
    assert!(h.contains("let second = 3;"), "{h}");
    assert!(
        !h.contains("secret"),
        "a line starting with a space stays out: {h}"
    );
    r.quit();
}

#[test]
fn dot_run_runs_a_shipped_playbook_in_the_session() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let mut r = Repl::start(&lab);
    r.p.send_line(".run inspect_queues backend=bk_slow")
        .unwrap();
    r.p.exp_string("queues").unwrap();
    r.p.exp_string("slow1").unwrap();
    r.p.exp_string("inspect_queues: done").unwrap();
    r.p.exp_string(PROMPT).unwrap();
    r.run(".targets", "version");
    r.run(".help stat", "stat(proxy: String)");
    r.run(".json", "JSON output on");
    r.run("#{a: 1}", "\"a\": 1");
    r.quit();
}

#[test]
fn watch_prints_successive_tables_without_a_terminal() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    let run = harun()
        .lab(&lab)
        .args([
            "--max-time",
            "1.5",
            "-e",
            r#"watch(|| stat().filter(|r| r.kind == "server"), 0.5)"#,
        ])
        .run();
    assert!(
        run.stdout.matches("Ctrl-C stops").count() >= 2,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("qcur"), "{}", run.stdout);
    assert!(
        !run.stdout.contains('\x1b'),
        "no cursor moves off a terminal"
    );
    assert!(run.stderr.contains("max-time"), "{}", run.stderr);
}

#[test]
fn run_checks_only_the_keys_typed_on_its_line() {
    let Some(lab) = lab(Scenario::Incident) else {
        return;
    };
    // The session's -p goes to every run, declared there or not.
    let mut r = Repl::start_with(&lab, &["--dry-run", "-p", "backend=bk_app"]);
    r.run(".run drain_server server=bk_app/app1", "dry run");
    // A typo on the line is caught, and the session goes on.
    r.run(
        ".run drain_server sever=bk_app/app1",
        "unknown parameter `sever`",
    );
    r.run("1 + 1", "2");
    r.quit();
}
