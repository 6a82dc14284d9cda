//! The terminal side of a run: live output, progress bars and confirmation.

use super::render;
use crate::base::sink::{Confirm, Event, Progress, Sink};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Prints as the playbook runs. In JSON mode only progress goes to stderr
/// (stdout carries the one JSON document).
pub struct TerminalSink {
    json: bool,
    progress_tty: bool,
    bars: Mutex<HashMap<String, (ProgressBar, Instant)>>,
    max_rows: Option<usize>,
    writes_shown: std::sync::atomic::AtomicUsize,
    /// The group of a rolling change whose writes are listed now (0: none).
    group_shown: std::sync::atomic::AtomicUsize,
}

/// Bulk changes stay readable: the first writes are listed one per line,
/// then one line every `WRITE_EVERY` (the journal has them all).
const WRITES_LISTED: usize = 20;
const WRITE_EVERY: usize = 500;

impl TerminalSink {
    pub fn new(json: bool) -> TerminalSink {
        TerminalSink {
            json,
            // Bars only on a terminal; NO_COLOR users still get a bar, without colour.
            progress_tty: std::io::stderr().is_terminal(),
            bars: Mutex::new(HashMap::new()),
            max_rows: None,
            writes_shown: std::sync::atomic::AtomicUsize::new(0),
            group_shown: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn progress(&self, p: &Progress) {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        if self.progress_tty {
            let (bar, _) = bars.entry(p.key.clone()).or_insert_with(|| {
                let bar = ProgressBar::new(p.timeout_secs.max(1.0) as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {msg} [{elapsed_precise}] {wide_bar} {pos}/{len}s",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.enable_steady_tick(Duration::from_millis(200));
                (bar, Instant::now())
            });
            bar.set_position(p.elapsed_secs as u64);
            bar.set_message(p.message.clone());
            if p.done {
                bar.finish_and_clear();
                bars.remove(&p.key);
                eprintln!("{}", p.message);
            }
        } else {
            // No terminal: one plain line at most every 5 seconds, and the last.
            let now = Instant::now();
            let entry = bars
                .entry(p.key.clone())
                .or_insert_with(|| (ProgressBar::hidden(), now - Duration::from_secs(60)));
            if p.done || now.duration_since(entry.1) >= Duration::from_secs(5) {
                entry.1 = now;
                eprintln!("{} ({:.0}s)", p.message, p.elapsed_secs);
            }
            if p.done {
                bars.remove(&p.key);
            }
        }
    }
}

impl TerminalSink {
    /// A `watch` frame: in place on a terminal (cursor home, each line
    /// clearing its rest, then the rest of the screen); successive tables otherwise.
    fn redraw(&self, t: &crate::base::report::Table) {
        let text = render::table(t, self.max_rows);
        if std::io::stdout().is_terminal() {
            // Raw stdout: anstream would strip the cursor movements with NO_COLOR.
            let mut out = std::io::stdout().lock();
            let mut frame = String::from("\x1b[H");
            for line in text.lines() {
                frame.push_str(line);
                frame.push_str("\x1b[K\n");
            }
            frame.push_str("\x1b[J");
            let _ = write!(out, "{frame}");
            let _ = out.flush();
        } else {
            let mut out = anstream::stdout();
            let _ = writeln!(out, "{text}\n");
            let _ = out.flush();
        }
    }
}

impl Sink for TerminalSink {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Progress(p) => self.progress(p),
            _ if self.json => {}
            Event::Print(s) => {
                let mut out = anstream::stdout();
                let _ = writeln!(out, "{s}");
            }
            Event::Table(t) => {
                let mut out = anstream::stdout();
                let _ = writeln!(out, "{}", render::table(t, self.max_rows));
            }
            Event::Redraw(t) => self.redraw(t),
            Event::Finding(_) => {}
            Event::Write(w) => {
                // A rolling change: a line when a group starts, so the
                // plan (dry-run) and the writes read group by group.
                if let Some((i, n, hosts)) = &w.group {
                    let last = self
                        .group_shown
                        .swap(*i, std::sync::atomic::Ordering::Relaxed);
                    if last != *i {
                        let line = format!("group {i} of {n} ({}):", hosts.join(", "));
                        if w.outcome == "dry-run" {
                            let _ = writeln!(anstream::stdout(), "dry-run: {line}");
                        } else {
                            let _ = writeln!(anstream::stderr(), "{line}");
                        }
                    }
                } else {
                    self.group_shown
                        .store(0, std::sync::atomic::Ordering::Relaxed);
                }
                if w.outcome == "dry-run" {
                    let mut out = anstream::stdout();
                    let _ = writeln!(out, "dry-run: would send to {}: {}", w.target, w.command);
                    return;
                }
                let n = self
                    .writes_shown
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1;
                if n <= WRITES_LISTED || w.outcome != "sent" {
                    let _ = writeln!(
                        anstream::stderr(),
                        "{}: {} ({})",
                        w.target,
                        w.command,
                        w.outcome
                    );
                } else if n % WRITE_EVERY == 0 {
                    let _ = writeln!(
                        anstream::stderr(),
                        "… {n} writes so far (every one is in the journal)"
                    );
                }
            }
        }
    }
}

/// Asks on the controlling terminal before the first write of a run.
pub struct TerminalConfirm;

impl Confirm for TerminalConfirm {
    fn confirm(&self, planned: &[String]) -> bool {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "harun is about to change HAProxy's state:");
        // A batch can hold thousands: the head and a count keep the question
        // on screen (--dry-run lists every command).
        const SHOWN: usize = 20;
        for p in planned.iter().take(SHOWN) {
            let _ = writeln!(err, "  {p}");
        }
        if planned.len() > SHOWN {
            let _ = writeln!(
                err,
                "  ... and {} more ({} commands; --dry-run lists them all)",
                planned.len() - SHOWN,
                planned.len()
            );
        }
        let _ = write!(
            err,
            "Proceed with this and the run's further writes? [y/N] "
        );
        let _ = err.flush();
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_err() {
            return false;
        }
        matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    }
}

/// Whether confirmation can be asked at all.
pub fn can_confirm() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
