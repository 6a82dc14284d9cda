//! Reading HAProxy's logs from a playbook: `logs`, `log_summary`, `explain_termination`,
//! `log_formats`. The work is done in `crate::logs`; this file turns options and results into
//! Rhai values, reads custom `log-format` lines from the configuration, and keeps Ctrl-C,
//! `--max-time` and a progress bar working during a long read.

use super::errors::{invalid, to_rhai};
use super::fns_config::{dynamic, kind_error, load_model};
use super::{reg, Ctx};
use crate::base::sink::{Event, Progress};
use crate::config::model::ConfigModel;
use crate::logs::filter::{Filter, Status};
use crate::logs::owned::Record;
use crate::logs::source::{self, Event as SourceEvent};
use crate::logs::summary::{Aggregator, Options as SummaryOptions};
use crate::logs::{format, termination, time, LogFormat, Parser};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

type R<T> = Result<T, Box<EvalAltResult>>;

/// Rows `logs()` returns when no `limit` is given, and the most it will return.
const DEFAULT_LIMIT: i64 = 10_000;
const MAX_LIMIT: i64 = 1_000_000;
/// Files larger than this get a progress bar.
const PROGRESS_FROM: u64 = 8 << 20;
/// Lines between two checks of Ctrl-C and the deadline.
const CHECK_EVERY: u64 = 1 << 16;

const OPTION_KEYS: &[&str] = &[
    "since",
    "until",
    "frontend",
    "backend",
    "server",
    "status",
    "termination",
    "limit",
    "tail",
    "notices",
    "rotated",
    "format",
    "config",
    "top",
    "agent_header",
    "threads",
    "seconds",
];

/// What the options of `logs`/`log_summary` ask for.
struct Query {
    filter: Filter,
    limit: Option<usize>,
    tail: Option<usize>,
    notices: bool,
    rotated: bool,
    formats: Vec<LogFormat>,
    use_config: bool,
    top: usize,
    agent_header: Option<usize>,
    /// Threads for one big plain file (default: one per core, at most 8).
    threads: Option<usize>,
    /// How long a `udp@ADDR` source listens.
    seconds: f64,
}

fn text_opt(opts: &Map, key: &'static str) -> R<Option<String>> {
    match opts.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) if v.is_string() => Ok(Some(v.to_string())),
        Some(v) if v.is_int() => Ok(Some(v.to_string())),
        Some(v) => Err(invalid(key, v.to_string(), "expected a string")),
    }
}

fn int_opt(opts: &Map, key: &'static str, min: i64, max: i64) -> R<Option<i64>> {
    match opts.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => match v.as_int() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(invalid(
                key,
                v.to_string(),
                format!("expected an integer from {min} to {max}"),
            )),
        },
    }
}

fn bool_opt(opts: &Map, key: &'static str, default: bool) -> R<bool> {
    match opts.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_bool()
            .map_err(|_| invalid(key, v.to_string(), "expected true or false")),
    }
}

/// `since`/`until`: an absolute time on the log's clock, or a duration back from now
/// (`"15m"`, `"2h"`), read on this host's local clock.
fn time_opt(opts: &Map, key: &'static str) -> R<Option<i64>> {
    let Some(s) = text_opt(opts, key)? else {
        return Ok(None);
    };
    if let Some(t) = time::parse_user_time(&s) {
        return Ok(Some(t));
    }
    if let Ok(d) = humantime::parse_duration(s.trim()) {
        return Ok(Some(local_now() - d.as_secs() as i64));
    }
    Err(invalid(
        key,
        s,
        "expected a time like `2026-11-23T19:23`, `2026-11-23 19:23:05`, `23/Nov/2026:19:23:05`, or a duration back from now like `15m`",
    ))
}

/// Now on this host's local clock, as seconds comparable with HAProxy's accept dates.
fn local_now() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    // SAFETY: localtime_r writes into the zeroed struct we own.
    let offset = unsafe {
        let t: libc::time_t = now as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff as i64
        }
    };
    now + offset
}

fn query(opts: &Map) -> R<Query> {
    for k in opts.keys() {
        if !OPTION_KEYS.contains(&k.as_str()) {
            let near = crate::base::suggest::nearest(k, OPTION_KEYS.iter().copied());
            return Err(invalid(
                "option",
                k.to_string(),
                format!(
                    "known options: {}{}",
                    OPTION_KEYS.join(", "),
                    crate::base::suggest::did_you_mean(&near)
                ),
            ));
        }
    }
    let bytes = |k| -> R<Option<Vec<u8>>> { Ok(text_opt(opts, k)?.map(String::into_bytes)) };
    let status = match text_opt(opts, "status")? {
        None => None,
        Some(s) => Some(Status::parse(&s).ok_or_else(|| {
            invalid(
                "status",
                s.clone(),
                "expected a status code like 503 or a class like \"5xx\"",
            )
        })?),
    };
    let filter = Filter {
        since: time_opt(opts, "since")?,
        until: time_opt(opts, "until")?,
        frontend: bytes("frontend")?,
        backend: bytes("backend")?,
        server: bytes("server")?,
        status,
        termination: bytes("termination")?,
    };
    let mut formats = Vec::new();
    match opts.get("format") {
        None => {}
        Some(v) if v.is_unit() => {}
        Some(v) => {
            let list: Vec<String> = if v.is_array() {
                v.clone()
                    .into_array()
                    .unwrap_or_default()
                    .iter()
                    .map(|x| x.to_string())
                    .collect()
            } else {
                vec![v.to_string()]
            };
            for f in list {
                let lf = format::compile(&f, "format option").map_err(|why| {
                    invalid(
                        "format",
                        f.clone(),
                        format!("harun cannot use this log-format: {why}"),
                    )
                })?;
                formats.push(lf);
            }
        }
    }
    Ok(Query {
        filter,
        limit: int_opt(opts, "limit", 1, MAX_LIMIT)?.map(|n| n as usize),
        tail: int_opt(opts, "tail", 1, MAX_LIMIT)?.map(|n| n as usize),
        notices: bool_opt(opts, "notices", false)?,
        rotated: bool_opt(opts, "rotated", false)?,
        formats,
        use_config: bool_opt(opts, "config", true)?,
        top: int_opt(opts, "top", 1, 1000)?.unwrap_or(10) as usize,
        agent_header: int_opt(opts, "agent_header", 0, 63)?.map(|n| n as usize),
        threads: int_opt(opts, "threads", 1, 64)?.map(|n| n as usize),
        seconds: int_opt(opts, "seconds", 1, 3600)?.unwrap_or(10) as f64,
    })
}

/// Custom `log-format` lines of the configuration, and the index of `User-Agent` among a
/// frontend's captured request headers. Formats harun cannot map become notes.
pub(crate) fn config_formats(model: &ConfigModel) -> (Vec<LogFormat>, Option<usize>, Vec<String>) {
    let mut formats: Vec<LogFormat> = Vec::new();
    let mut notes = Vec::new();
    let mut agent = None;
    for sec in &model.sections {
        let mut captures = 0;
        for d in &sec.directives {
            let words: Vec<&str> = std::iter::once(d.keyword.as_str())
                .chain(d.args.iter().map(String::as_str))
                .flat_map(|w| w.split(' '))
                .collect();
            if words.len() >= 4
                && words[0] == "capture"
                && words[1] == "request"
                && words[2] == "header"
            {
                if agent.is_none() && words[3].eq_ignore_ascii_case("user-agent") {
                    agent = Some(captures);
                }
                captures += 1;
            }
            if d.keyword == "log-format" {
                let text = d.args.join(" ");
                if formats.iter().any(|f| f.text == text) {
                    continue;
                }
                match format::compile(&text, &d.location()) {
                    Ok(f) => formats.push(f),
                    Err(why) => notes.push(format!(
                        "{}: harun cannot map this log-format ({why}); its lines are counted as unparsed",
                        d.location()
                    )),
                }
            }
        }
    }
    (formats, agent, notes)
}

/// The parser for a query: its own formats first, then the configuration's.
fn parser_for(ctx: &Ctx, q: &mut Query) -> R<(Parser, Vec<String>)> {
    let mut formats = std::mem::take(&mut q.formats);
    let mut notes = Vec::new();
    if q.use_config && !ctx.config_paths().is_empty() {
        let paths = ctx.config_paths();
        if paths.iter().all(|p| p.exists()) {
            if let Ok(model) = &*load_model(ctx, &paths)? {
                let (f, agent, n) = config_formats(model);
                formats.extend(f);
                if q.agent_header.is_none() {
                    q.agent_header = agent;
                }
                notes.extend(n);
            }
        }
    }
    Ok((Parser::new(formats), notes))
}

fn sources_of(v: &Dynamic) -> R<Vec<String>> {
    let list: Vec<String> = if v.is_array() {
        v.clone()
            .into_array()
            .unwrap_or_default()
            .iter()
            .map(|x| x.to_string())
            .collect()
    } else if v.is_string() {
        vec![v.to_string()]
    } else {
        return Err(invalid(
            "log source",
            v.to_string(),
            "expected a path, `-` (stdin) or an array of paths",
        ));
    };
    if list.is_empty() || list.iter().any(|s| s.is_empty() || s.contains('\0')) {
        return Err(invalid(
            "log source",
            v.to_string(),
            "expected a path, `-` (stdin) or an array of paths",
        ));
    }
    Ok(list)
}

/// Every file to read, in order (rotated files first, oldest first, with `rotated: true`).
fn expand(list: &[String], rotated: bool) -> Vec<String> {
    let mut out = Vec::new();
    for s in list {
        if rotated && s != "-" && !s.starts_with("udp@") && source::journal_unit(s).is_none() {
            out.extend(
                source::with_rotations(Path::new(s))
                    .into_iter()
                    .map(|p| p.display().to_string()),
            );
        } else {
            out.push(s.clone());
        }
    }
    out
}

fn unreadable(e: source::SourceError) -> Box<EvalAltResult> {
    kind_error("log_unreadable", e.to_string())
}

/// Reads every source, calling `line` for each; progress and Ctrl-C handled here.
/// Returns the damage notes (truncated .gz) and the bytes read per source.
fn read_all(
    ctx: &Ctx,
    sources: &[String],
    seconds: f64,
    mut line: impl FnMut(SourceEvent<'_>) -> bool,
    mut done: impl FnMut(&str, u64, Option<String>),
) -> R<()> {
    for spec in sources {
        if spec.starts_with("udp@") {
            let bytes = read_udp(ctx, spec, seconds, &mut line)?;
            done(spec, bytes, None);
            continue;
        }
        let src = source::open(spec).map_err(unreadable)?;
        let name = src.name.clone();
        // On disk for gzip too: progress counts the compressed bytes read.
        let size = src.size.filter(|s| *s >= PROGRESS_FROM);
        let key = format!("read {name}");
        let start = Instant::now();
        let mut n: u64 = 0;
        let mut stop: Option<crate::base::error::Error> = None;
        let mut last_progress = Instant::now();
        let mut shown = false;
        let end = src
            .for_each(
                |ev| {
                    n += 1;
                    if n % CHECK_EVERY == 0 {
                        if let Some(e) = ctx.stop_reason() {
                            stop = Some(e);
                            return false;
                        }
                    }
                    line(ev)
                },
                |bytes| {
                    if let Some(total) = size {
                        if last_progress.elapsed().as_millis() >= 200 {
                            last_progress = Instant::now();
                            shown = true;
                            ctx.emit(Event::Progress(&Progress {
                                key: key.clone(),
                                message: format!(
                                    "reading {name}: {} of {} MB",
                                    bytes >> 20,
                                    total >> 20
                                ),
                                remaining: total.saturating_sub(bytes),
                                elapsed_secs: start.elapsed().as_secs_f64(),
                                // The bar runs in seconds: the time the whole file takes at this speed.
                                timeout_secs: (start.elapsed().as_secs_f64() * total as f64
                                    / bytes.max(1) as f64)
                                    .max(1.0),
                                done: false,
                            }));
                        }
                    }
                },
            )
            .map_err(unreadable)?;
        if let (Some(total), true) = (size, shown) {
            ctx.emit(Event::Progress(&Progress {
                key: key.clone(),
                message: format!(
                    "read {name}: {} MB in {:.1}s",
                    total >> 20,
                    start.elapsed().as_secs_f64()
                ),
                remaining: 0,
                elapsed_secs: start.elapsed().as_secs_f64(),
                timeout_secs: start.elapsed().as_secs_f64().max(1.0),
                done: true,
            }));
        }
        if let Some(e) = stop {
            return Err(to_rhai(e));
        }
        done(&name, end.bytes, end.damaged);
        if end.stopped {
            break;
        }
    }
    Ok(())
}

/// Messages per round of the live listener: what it holds in memory at once.
const UDP_BATCH: usize = 10_000;

/// The live syslog listener as a source: datagrams for `seconds` (or until the consumer
/// stops), in rounds of at most [`UDP_BATCH`] so memory stays bounded.
fn read_udp(
    ctx: &Ctx,
    addr: &str,
    seconds: f64,
    line: &mut impl FnMut(SourceEvent<'_>) -> bool,
) -> R<u64> {
    use crate::system::syslog;
    let mut l = ctx
        .block_on(async { Ok(syslog::bind(addr).await) })
        .map_err(to_rhai)?
        .map_err(|e| kind_error("listen_failed", e.to_string()))?;
    let deadline = Instant::now() + std::time::Duration::from_secs_f64(seconds);
    let mut bytes = 0u64;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(bytes);
        }
        let round = left.min(std::time::Duration::from_secs(1));
        let c = ctx
            .block_on(async { Ok(l.collect(round, UDP_BATCH).await) })
            .map_err(to_rhai)?
            .map_err(|e| kind_error("listen_failed", e.to_string()))?;
        for m in &c.messages {
            bytes += m.message.len() as u64;
            if !line(SourceEvent::Line(m.message.as_bytes())) {
                return Ok(bytes);
            }
        }
    }
}

/// Refuses the options that belong to the other primitive (`top` on `logs()`).
fn not_options_of(opts: &Map, keys: &[&str], of: &str, not_of: &str) -> R<()> {
    match keys.iter().find(|k| opts.contains_key(**k)) {
        Some(k) => Err(invalid(
            "option",
            *k,
            format!("is an option of {of}(), not of {not_of}()"),
        )),
        None => Ok(()),
    }
}

fn logs(ctx: &Ctx, source: &Dynamic, opts: &Map) -> R<Array> {
    let mut q = query(opts)?;
    not_options_of(
        opts,
        &["top", "threads", "agent_header"],
        "log_summary",
        "logs",
    )?;
    let (parser, _notes) = parser_for(ctx, &mut q)?;
    let sources = expand(&sources_of(source)?, q.rotated);
    let limit = if q.tail.is_some() {
        usize::MAX
    } else {
        q.limit.unwrap_or(DEFAULT_LIMIT as usize)
    };
    let tail = q.tail.unwrap_or(0);
    let mut rows: Vec<Record> = Vec::new();
    // With `tail`, the raw lines of the last matches are kept and parsed again at the end.
    let mut ring: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
    let mut minutes = time::MinuteCache::default();
    let mut damaged = Vec::new();
    read_all(
        ctx,
        &sources,
        q.seconds,
        |ev| {
            let SourceEvent::Line(raw) = ev else {
                return true;
            };
            let p = parser.parse(raw);
            let keep = match p.line {
                crate::logs::Line::Traffic(e) => q.filter.keep(&e, minutes.secs(e.accept_date)),
                crate::logs::Line::Notice(_) => q.notices && !q.filter.has_time(),
                crate::logs::Line::Connect { .. } => q.filter.is_empty(),
                crate::logs::Line::Unknown => false,
            };
            if !keep {
                return true;
            }
            if tail > 0 {
                if ring.len() == tail {
                    ring.pop_front();
                }
                ring.push_back(raw.to_vec());
                return true;
            }
            if let Some(r) = Record::from_parsed(&p) {
                rows.push(r);
            }
            rows.len() < limit
        },
        |_, _, d| damaged.extend(d),
    )?;
    for raw in &ring {
        if let Some(r) = Record::from_parsed(&parser.parse(raw)) {
            rows.push(r);
        }
    }
    for d in damaged {
        ctx.print(&format!("warning: {d}"));
    }
    rows.iter().map(dynamic).collect()
}

fn log_summary(ctx: &Ctx, source: &Dynamic, opts: &Map) -> R<Map> {
    let mut q = query(opts)?;
    not_options_of(opts, &["limit", "tail", "notices"], "logs", "log_summary")?;
    let (parser, notes) = parser_for(ctx, &mut q)?;
    let sources = expand(&sources_of(source)?, q.rotated);
    let summary_opts = SummaryOptions {
        filter: q.filter.clone(),
        top: q.top,
        agent_header: q.agent_header,
    };
    let mut agg = Aggregator::new(&parser, summary_opts.clone());
    for spec in &sources {
        if let Some((path, size)) = parallel_candidate(spec).filter(|_| q.threads != Some(1)) {
            let part = summarize_parallel(ctx, &parser, &summary_opts, &path, size, q.threads)?;
            agg.merge(part);
            agg.source(spec, size, None);
            continue;
        }
        let mut done: Vec<(String, u64, Option<String>)> = Vec::new();
        {
            let agg = &mut agg;
            read_all(
                ctx,
                std::slice::from_ref(spec),
                q.seconds,
                |ev| {
                    match ev {
                        SourceEvent::Line(l) => agg.line(l),
                        SourceEvent::TooLong { head, len } => agg.too_long(head, len),
                    }
                    true
                },
                |name, bytes, d| done.push((name.to_string(), bytes, d)),
            )?;
        }
        for (name, bytes, d) in done {
            agg.source(&name, bytes, d);
        }
    }
    let mut s = agg.finish();
    s.notes.extend(notes);
    for f in parser.customs() {
        s.notes.push(format!(
            "custom log-format from {}: `{}`",
            if f.location.is_empty() {
                "the format option"
            } else {
                &f.location
            },
            f.text
        ));
    }
    Ok(dynamic(&s)?.try_cast::<Map>().unwrap_or_default())
}

/// Plain files from this size are read by several threads, one range each.
const PARALLEL_FROM: u64 = 32 << 20;
/// Each thread gets at least this much of the file.
const PARALLEL_CHUNK: u64 = 16 << 20;

/// A plain (not gzip) regular file big enough to split, and its size.
fn parallel_candidate(spec: &str) -> Option<(std::path::PathBuf, u64)> {
    if spec == "-" {
        return None;
    }
    let path = Path::new(spec);
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() < PARALLEL_FROM {
        return None;
    }
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut magic)
        .ok()?;
    (magic != [0x1f, 0x8b]).then(|| (path.to_path_buf(), meta.len()))
}

/// One file aggregated by several threads, each over a range of whole lines, then merged in
/// file order: the same result as one pass (the merge is tested to be).
fn summarize_parallel<'p>(
    ctx: &Ctx,
    parser: &'p Parser,
    opts: &SummaryOptions,
    path: &Path,
    size: u64,
    threads: Option<usize>,
) -> R<Aggregator<'p>> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let threads = threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(8)
        })
        .min((size / PARALLEL_CHUNK).max(1) as usize);
    let ranges = source::split_ranges(path, threads).map_err(unreadable)?;
    let read = AtomicU64::new(0);
    let stopped = AtomicBool::new(false);
    let shown = AtomicBool::new(false);
    let name = path.display().to_string();
    let key = format!("read {name}");
    let start = Instant::now();
    let parts: Vec<Result<Aggregator<'p>, source::SourceError>> = std::thread::scope(|sc| {
        let handles: Vec<_> = ranges
            .iter()
            .enumerate()
            .map(|(i, &(from, len))| {
                let (read, stopped, shown, key, name) = (&read, &stopped, &shown, &key, &name);
                sc.spawn(move || {
                    let src = source::open_range(path, from, len)?;
                    let mut a = Aggregator::new(parser, opts.clone());
                    let mut n: u64 = 0;
                    let mut seen: u64 = 0;
                    let mut last_progress = Instant::now();
                    src.for_each(
                        |ev| {
                            n += 1;
                            if n % CHECK_EVERY == 0
                                && (stopped.load(Ordering::Relaxed) || ctx.stop_reason().is_some())
                            {
                                stopped.store(true, Ordering::Relaxed);
                                return false;
                            }
                            match ev {
                                SourceEvent::Line(l) => a.line(l),
                                SourceEvent::TooLong { head, len } => a.too_long(head, len),
                            }
                            true
                        },
                        |bytes| {
                            let all =
                                read.fetch_add(bytes - seen, Ordering::Relaxed) + bytes - seen;
                            seen = bytes;
                            if i == 0 && last_progress.elapsed().as_millis() >= 200 {
                                last_progress = Instant::now();
                                shown.store(true, Ordering::Relaxed);
                                let elapsed = start.elapsed().as_secs_f64();
                                ctx.emit(Event::Progress(&Progress {
                                    key: key.clone(),
                                    message: format!(
                                        "reading {name}: {} of {} MB",
                                        all >> 20,
                                        size >> 20
                                    ),
                                    remaining: size.saturating_sub(all),
                                    elapsed_secs: elapsed,
                                    timeout_secs: (elapsed * size as f64 / all.max(1) as f64)
                                        .max(1.0),
                                    done: false,
                                }));
                            }
                        },
                    )?;
                    Ok(a)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(source::SourceError::Io {
                        path: path.display().to_string(),
                        source: std::io::Error::other("a reader thread panicked"),
                    })
                })
            })
            .collect()
    });
    if shown.load(Ordering::Relaxed) {
        ctx.emit(Event::Progress(&Progress {
            key,
            message: format!(
                "read {name}: {} MB in {:.1}s",
                size >> 20,
                start.elapsed().as_secs_f64()
            ),
            remaining: 0,
            elapsed_secs: start.elapsed().as_secs_f64(),
            timeout_secs: start.elapsed().as_secs_f64().max(1.0),
            done: true,
        }));
    }
    if let Some(e) = ctx.stop_reason() {
        return Err(to_rhai(e));
    }
    let mut parts = parts.into_iter();
    let mut first = parts
        .next()
        .unwrap_or_else(|| Ok(Aggregator::new(parser, opts.clone())))
        .map_err(unreadable)?;
    for p in parts {
        first.merge(p.map_err(unreadable)?);
    }
    Ok(first)
}

fn explain_termination(state: &str) -> R<Map> {
    let e = termination::explain(state).ok_or_else(|| {
        invalid(
            "termination state",
            state,
            "expected 2 characters (tcplog, `SC`) or 4 (httplog, `sH--`)",
        )
    })?;
    Ok(dynamic(&e)?.try_cast::<Map>().unwrap_or_default())
}

fn log_formats(ctx: &Ctx) -> R<Map> {
    // The defaults of every option: what `log_summary(source)` would use.
    let mut q = query(&Map::new())?;
    let (parser, notes) = parser_for(ctx, &mut q)?;
    let mut m = Map::new();
    let formats: Array = parser
        .customs()
        .iter()
        .map(|f| {
            let mut x = Map::new();
            x.insert("format".into(), f.text.clone().into());
            x.insert("location".into(), f.location.clone().into());
            Dynamic::from_map(x)
        })
        .collect();
    m.insert("formats".into(), formats.into());
    m.insert(
        "agent_header".into(),
        q.agent_header
            .map(|i| Dynamic::from(i as i64))
            .unwrap_or(Dynamic::UNIT),
    );
    m.insert(
        "notes".into(),
        notes
            .into_iter()
            .map(Dynamic::from)
            .collect::<Array>()
            .into(),
    );
    Ok(m)
}

/// One setting as a map: `#{value, ms, location}` (`ms` for times), or `()`.
fn setting(d: Option<&crate::config::model::Directive>, skip: usize, time: bool) -> Dynamic {
    let Some(d) = d else { return Dynamic::UNIT };
    let value = d.args.get(skip..).map(|a| a.join(" ")).unwrap_or_default();
    let mut m = Map::new();
    if time {
        m.insert(
            "ms".into(),
            time::haproxy_time_ms(&value)
                .map(Dynamic::from)
                .unwrap_or(Dynamic::UNIT),
        );
    }
    m.insert("value".into(), value.into());
    m.insert("location".into(), d.location().into());
    Dynamic::from_map(m)
}

/// What the configuration says about a proxy that its logs are judged against.
pub(crate) fn proxy_config_map(model: &ConfigModel, name: &str) -> Map {
    let mut m = Map::new();
    let sec = model
        .proxies()
        .find(|s| s.name.as_deref() == Some(name) && s.kind != "frontend")
        .or_else(|| model.proxies().find(|s| s.name.as_deref() == Some(name)));
    m.insert("found".into(), sec.is_some().into());
    let Some(sec) = sec else {
        for k in [
            "kind",
            "location",
            "timeouts",
            "retries",
            "redispatch",
            "servers",
        ] {
            m.insert(k.into(), Dynamic::UNIT);
        }
        return m;
    };
    m.insert("kind".into(), sec.kind.clone().into());
    m.insert("location".into(), sec.location().into());
    let mut t = Map::new();
    for (key, kw) in [
        ("server", "timeout server"),
        ("connect", "timeout connect"),
        ("queue", "timeout queue"),
        ("client", "timeout client"),
        ("http_request", "timeout http-request"),
        ("tunnel", "timeout tunnel"),
    ] {
        // `timeout server 30s` is keyword `timeout` with args [server, 30s] or a
        // two-word keyword: take the value after the word either way.
        let d = model.effective_last(sec, kw);
        let skip = d.map(|d| usize::from(d.keyword == "timeout")).unwrap_or(0);
        t.insert(key.into(), setting(d, skip, true));
    }
    m.insert("timeouts".into(), Dynamic::from_map(t));
    m.insert(
        "retries".into(),
        setting(model.effective_last(sec, "retries"), 0, false),
    );
    m.insert(
        "redispatch".into(),
        model
            .effective_option(sec, "redispatch")
            .unwrap_or(false)
            .into(),
    );
    let servers: Array = sec
        .find("server")
        .map(|d| {
            let mut s = Map::new();
            s.insert(
                "server".into(),
                d.args.first().cloned().unwrap_or_default().into(),
            );
            s.insert(
                "maxconn".into(),
                d.param("maxconn")
                    .and_then(|v| v.parse::<i64>().ok())
                    .map(Dynamic::from)
                    .unwrap_or(Dynamic::UNIT),
            );
            s.insert("location".into(), d.location().into());
            Dynamic::from_map(s)
        })
        .collect();
    m.insert("servers".into(), servers.into());
    m
}

fn proxy_config(ctx: &Ctx, name: &str) -> R<Map> {
    let paths = ctx.config_paths();
    let loaded = load_model(ctx, &paths)?;
    match &*loaded {
        Ok(model) => Ok(proxy_config_map(model, name)),
        Err(e) => Err(kind_error("config_unreadable", e.to_string())),
    }
}

pub fn register(engine: &mut Engine, ctx: &Arc<Ctx>) {
    const LOGS: &str = "HAProxy's log lines from `source` (a file, also `.gz` and rotated `.1`; `-` for\nstdin; `journal` or `journal:UNIT` for `journalctl -u haproxy`; `udp@127.0.0.1:5514`\nto listen `seconds` (default 10) for what HAProxy sends; an array of these), parsed whatever the\nformat (`option httplog`, `tcplog`, `httplog clf`, the default format, a custom\n`log-format` found in the configuration) and whatever the syslog header. One map\nper request or session (keys below; a field the format does not have is `()`;\ntimers in ms, `-1` = phase not reached). `opts`: `since`, `until`\n(`2026-11-23T19:23`, or `15m` back from now), `frontend`, `backend`, `server`\n(`srv` or `bk/srv`), `status` (503 or `\"5xx\"`), `termination` (a prefix: `sH`,\n`s`), `limit` (first N, default 10000), `tail` (last N), `notices: true` (also\nHAProxy's own messages), `rotated: true` (read `PATH.N.gz` ... `PATH.1` first),\n`format` (a log-format string, or an array), `config: false` (ignore the\nconfiguration's log-format lines). A missing or unreadable file raises\n`e.kind == \"log_unreadable\"`.";
    const SUMMARY: &str = "Aggregate `source` (as `logs`) in one pass, in Rust, in bounded memory:\n`#{requests, http, tcp, lines, unparsed, unparsed_sample, too_long, truncated,\nforeign, filtered_out, formats, first, last, total, frontends, backends, servers,\nbuckets, bucket_minutes, notices, notice_counts, top_clients, top_urls,\ntop_agents, top_error_bound, sources, bytes, notes}`. Each of `total`,\n`frontends[]`, `backends[]`, `servers[]` has requests, status classes,\n`error_pct` (5xx %), `abnormal`, `terminations` (`#{\"sH--\": 12}`), `retries`,\n`redispatched`, `queued`, and per timer (`t_request`, `t_queue`, `t_connect`,\n`t_response`, `t_active`, `t_total`) `#{count, not_reached, p50, p90, p99, max,\nmean}`: exact below 1 s, at most 0.8% low above. `buckets` are per minute (wider\nwhen the log spans more than a day). Top lists count errors (5xx, or a\ntermination state not starting with `-` or `L`). `opts` as `logs` (no `limit`,\n`tail`, `notices`), plus `top` (rows per top list, default 10), `threads` (a big\nplain file is read by one thread per core, at most 8; `threads: 1` for one), `agent_header`\n(index of User-Agent among the captured request headers; found in the\nconfiguration's `capture request header` lines otherwise).";
    let c = ctx.clone();
    reg("logs", &["source: ?", "Array"], LOGS)
        .register_into_engine(engine, move |s: Dynamic| logs(&c, &s, &Map::new()));
    let c = ctx.clone();
    reg(
        "logs",
        &["source: ?", "opts: Map", "Array"],
        "`logs(source)` with options (see above).",
    )
    .register_into_engine(engine, move |s: Dynamic, o: Map| logs(&c, &s, &o));
    let c = ctx.clone();
    reg("log_summary", &["source: ?", "Map"], SUMMARY)
        .register_into_engine(engine, move |s: Dynamic| log_summary(&c, &s, &Map::new()));
    let c = ctx.clone();
    reg(
        "log_summary",
        &["source: ?", "opts: Map", "Map"],
        "`log_summary(source)` with options (see above).",
    )
    .register_into_engine(engine, move |s: Dynamic, o: Map| log_summary(&c, &s, &o));
    reg(
        "explain_termination",
        &["state: String", "Map"],
        "What a termination state means (`sH--`, `SC`): `#{state, summary, normal, cause:\n#{code, meaning}, phase, client_cookie, server_cookie, causes, checks}`: each\ncharacter explained, and for the usual combinations the likely causes and what\nto check (HAProxy configuration.txt 8.5).",
    )
    .register_into_engine(engine, explain_termination);
    let c = ctx.clone();
    reg(
        "log_formats",
        &["Map"],
        "The custom `log-format` lines of the configuration (`-c`) that `logs` and\n`log_summary` will try: `#{formats: [#{format, location}], agent_header, notes}`;\n`notes` name the formats harun cannot map, with the reason.",
    )
    .register_into_engine(engine, move || log_formats(&c));
    let c = ctx.clone();
    reg(
        "proxy_config",
        &["name: String", "Map"],
        "What the configuration (`-c`) says about a backend (or frontend) that its logs\nare judged against, defaults included: `#{found, kind, location, timeouts:\n#{server, connect, queue, client, http_request, tunnel}, retries, redispatch,\nservers: [#{server, maxconn, location}]}`; each timeout and `retries` is\n`#{value, ms, location}` (`haproxy.cfg:42`) or `()` when unset. `found` is false\nfor a name the configuration does not have. Raises `e.kind ==\n\"config_unreadable\"` when the files cannot be read.",
    )
    .register_into_engine(engine, move |n: &str| proxy_config(&c, n));
}

#[cfg(test)]
mod tests {
    use super::super::vocabulary::{Shape, LOG_ROW, LOG_STATS, LOG_SUMMARY, TERMINATION};
    use super::*;

    fn keys(v: &serde_json::Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    fn documented(s: &Shape) -> Vec<String> {
        let mut k: Vec<String> = s.keys.iter().map(|k| k.name.to_string()).collect();
        k.sort();
        k
    }

    #[test]
    fn documented_shapes_are_what_the_primitives_return() {
        const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs/local.log");
        let p = Parser::default();
        let data = std::fs::read(FIX).unwrap();
        let mut agg = Aggregator::new(&p, SummaryOptions::default());
        let mut row = None;
        for l in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            agg.line(l);
            row = row.or_else(|| Record::from_parsed(&p.parse(l)));
        }
        let row = serde_json::to_value(row.unwrap()).unwrap();
        assert_eq!(keys(&row), documented(&LOG_ROW));
        let s = serde_json::to_value(agg.finish()).unwrap();
        assert_eq!(keys(&s), documented(&LOG_SUMMARY));
        let server = &s["servers"][0];
        for k in documented(&LOG_STATS) {
            assert!(server.get(&k).is_some(), "{k} documented, not returned");
        }
        let t = serde_json::to_value(termination::explain("sH--").unwrap()).unwrap();
        assert_eq!(keys(&t), documented(&TERMINATION));
    }

    #[test]
    fn proxy_config_ties_timeouts_to_their_lines() {
        let cfg = "defaults\n    timeout server 30s\n    timeout connect 5s\nbackend bk\n    timeout server 2m\n    retries 2\n    server a 1.2.3.4:80 maxconn 1\n    server b 1.2.3.4:81\n";
        let model = crate::config::model::parse_config(cfg, Path::new("h.cfg"));
        let m = proxy_config_map(&model, "bk");
        let t = m["timeouts"].clone().cast::<Map>();
        let server = t["server"].clone().cast::<Map>();
        assert_eq!(server["ms"].as_int().unwrap(), 120_000);
        assert_eq!(server["location"].to_string(), "h.cfg:5");
        let connect = t["connect"].clone().cast::<Map>();
        assert_eq!(
            (
                connect["value"].to_string(),
                connect["location"].to_string()
            ),
            ("5s".to_string(), "h.cfg:3".to_string())
        );
        assert!(t["queue"].is_unit());
        let servers = m["servers"].clone().into_array().unwrap();
        assert_eq!(
            servers[0].clone().cast::<Map>()["maxconn"]
                .as_int()
                .unwrap(),
            1
        );
        assert!(servers[1].clone().cast::<Map>()["maxconn"].is_unit());
        assert!(!proxy_config_map(&model, "nope")["found"].as_bool().unwrap());
    }

    #[test]
    fn config_formats_and_user_agent_capture() {
        let cfg = "frontend fe\n    capture request header Host len 32\n    capture request header User-Agent len 64\n    log-format \"%ci:%cp [%tr] %ft %b/%s %ST %{+Q}r\"\nfrontend other\n    log-format \"%ci %ST\"\n";
        let model = crate::config::model::parse_config(cfg, Path::new("haproxy.cfg"));
        let (formats, agent, notes) = config_formats(&model);
        assert_eq!(formats.len(), 1);
        assert_eq!(formats[0].location, "haproxy.cfg:4");
        assert_eq!(agent, Some(1));
        assert!(
            notes[0].starts_with("haproxy.cfg:6: harun cannot map this log-format"),
            "{notes:?}"
        );
    }
}
