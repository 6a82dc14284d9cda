//! `log_summary`: millions of lines aggregated in one pass, in bounded memory.
//!
//! Per line only the frontend's and the server's aggregates are updated; a backend is the sum
//! of its servers and the total the sum of the frontends, merged once at the end. Keys are
//! looked up with the line's own bytes (no copy unless the key is new), and the number of keys
//! per table is capped (the rest go to `(other)`), so memory depends on the number of
//! frontends and servers, never on the number of lines.

use super::entry::{Entry, Format, Line, NA};
use super::filter::Filter;
use super::hist::{Hist, Percentiles};
use super::time::{format_minute, format_secs, MinuteCache};
use super::top::Top;
use super::Parser;
use serde::Serialize;
use std::collections::BTreeMap;

/// Keys per table before the rest are grouped under `(other)`.
pub const MAX_KEYS: usize = 2_000;
/// Time buckets kept; past that, buckets widen (1 min, 2 min, 4 min...).
const MAX_BUCKETS: usize = 1_440;
/// Distinct termination states kept per aggregate.
const MAX_STATES: usize = 48;
/// Lines kept as examples of each kind of problem.
const SAMPLES: usize = 5;
const SAMPLE_BYTES: usize = 300;
/// HAProxy notices kept (the latest).
const MAX_NOTICES: usize = 200;
const OTHER: &[u8] = b"(other)";

use super::fx::FxMap;

/// What to aggregate.
#[derive(Clone, Debug)]
pub struct Options {
    pub filter: Filter,
    /// Rows in each top list.
    pub top: usize,
    /// Index of `User-Agent` among the captured request headers (`capture request header`).
    pub agent_header: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            filter: Filter::default(),
            top: 10,
            agent_header: None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// The aggregates of a set of requests or sessions.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    requests: u64,
    status: [u64; 6],
    states: Vec<([u8; 4], u8, u64)>,
    /// The states of 5xx responses only: why they failed.
    states_5xx: Vec<([u8; 4], u8, u64)>,
    abnormal: u64,
    retries: u64,
    redispatched: u64,
    queued: u64,
    bytes: u64,
    t_request: Hist,
    t_queue: Hist,
    t_connect: Hist,
    t_response: Hist,
    t_active: Hist,
    t_total: Hist,
}

#[inline]
fn count_state(states: &mut Vec<([u8; 4], u8, u64)>, key: [u8; 4], n: usize) {
    add_state(states, key, n, 1);
}

#[inline]
fn add_state(states: &mut Vec<([u8; 4], u8, u64)>, key: [u8; 4], n: usize, count: u64) {
    match states.iter().position(|s| s.0 == key && s.1 as usize == n) {
        Some(i) => states[i].2 += count,
        None if states.len() < MAX_STATES => states.push((key, n as u8, count)),
        None => {}
    }
}

fn states_out(states: &[([u8; 4], u8, u64)]) -> BTreeMap<String, u64> {
    states
        .iter()
        .map(|(k, n, c)| (String::from_utf8_lossy(&k[..*n as usize]).into_owned(), *c))
        .collect()
}

impl Stats {
    /// `side`: which timers this aggregate keeps. A frontend keeps the client's (TR) and the
    /// whole (Ta, Tt); a server the server's (Tw, Tc, Tr) and the whole: half the histogram
    /// updates per line, and every timer still lands in one table (the total is the sum of
    /// the servers).
    #[inline]
    fn add(&mut self, e: &Entry<'_>, side: Side) {
        self.requests += 1;
        if e.status != NA {
            let c = e.status / 100;
            self.status[if (1..=5).contains(&c) {
                c as usize - 1
            } else {
                5
            }] += 1;
        }
        let ts = e.termination_state;
        if !ts.is_empty() {
            let mut key = [b'-'; 4];
            let n = ts.len().min(4);
            key[..n].copy_from_slice(&ts[..n]);
            count_state(&mut self.states, key, n);
            if e.status >= 500 {
                count_state(&mut self.states_5xx, key, n);
            }
            if ts[0] != b'-' {
                self.abnormal += 1;
            }
        }
        if e.retries > 0 {
            self.retries += e.retries as u64;
        }
        self.redispatched += u64::from(e.redispatched);
        self.queued += u64::from(e.t_queue > 0);
        if e.bytes_read > 0 {
            self.bytes += e.bytes_read as u64;
        }
        match side {
            Side::Client => {
                if e.t_request != NA {
                    self.t_request.add(e.t_request);
                }
            }
            Side::Server => {
                if e.t_queue != NA {
                    self.t_queue.add(e.t_queue);
                }
                if e.t_connect != NA {
                    self.t_connect.add(e.t_connect);
                }
                if e.t_response != NA {
                    self.t_response.add(e.t_response);
                }
            }
        }
        if e.t_active != NA {
            self.t_active.add(e.t_active);
        }
        if e.t_total != NA {
            self.t_total.add(e.t_total);
        }
    }

    fn merge(&mut self, o: &Stats) {
        self.requests += o.requests;
        for (a, b) in self.status.iter_mut().zip(o.status) {
            *a += b;
        }
        for s in &o.states {
            add_state(&mut self.states, s.0, s.1 as usize, s.2);
        }
        for s in &o.states_5xx {
            add_state(&mut self.states_5xx, s.0, s.1 as usize, s.2);
        }
        self.abnormal += o.abnormal;
        self.retries += o.retries;
        self.redispatched += o.redispatched;
        self.queued += o.queued;
        self.bytes += o.bytes;
        self.t_request.merge(&o.t_request);
        self.t_queue.merge(&o.t_queue);
        self.t_connect.merge(&o.t_connect);
        self.t_response.merge(&o.t_response);
        self.t_active.merge(&o.t_active);
        self.t_total.merge(&o.t_total);
    }

    fn out(&self) -> StatsOut {
        let http: u64 = self.status.iter().sum();
        let pct = |n: u64, of: u64| {
            if of == 0 {
                0.0
            } else {
                (n as f64 * 1000.0 / of as f64).round() / 10.0
            }
        };
        StatsOut {
            requests: self.requests,
            status_1xx: self.status[0],
            status_2xx: self.status[1],
            status_3xx: self.status[2],
            status_4xx: self.status[3],
            status_5xx: self.status[4],
            status_other: self.status[5],
            error_pct: pct(self.status[4], http),
            abnormal: self.abnormal,
            abnormal_pct: pct(self.abnormal, self.requests),
            terminations: states_out(&self.states),
            terminations_5xx: states_out(&self.states_5xx),
            retries: self.retries,
            redispatched: self.redispatched,
            queued: self.queued,
            bytes_read: self.bytes,
            t_request: self.t_request.percentiles(),
            t_queue: self.t_queue.percentiles(),
            t_connect: self.t_connect.percentiles(),
            t_response: self.t_response.percentiles(),
            t_active: self.t_active.percentiles(),
            t_total: self.t_total.percentiles(),
        }
    }

    fn heap_bytes(&self) -> usize {
        [
            &self.t_request,
            &self.t_queue,
            &self.t_connect,
            &self.t_response,
            &self.t_active,
            &self.t_total,
        ]
        .iter()
        .map(|h| h.heap_bytes())
        .sum::<usize>()
            + self.states.capacity() * 16
    }
}

/// Aggregates as `log_summary` returns them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StatsOut {
    pub requests: u64,
    pub status_1xx: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// TCP sessions have none; `-1` (no response) and odd codes land here.
    pub status_other: u64,
    /// 5xx among HTTP responses, in percent (one decimal).
    pub error_pct: f64,
    /// Sessions whose termination state does not start with `-`.
    pub abnormal: u64,
    pub abnormal_pct: f64,
    /// Termination state → count.
    pub terminations: BTreeMap<String, u64>,
    /// The same for 5xx responses only: why they failed.
    pub terminations_5xx: BTreeMap<String, u64>,
    pub retries: u64,
    pub redispatched: u64,
    /// Requests that waited in a queue (Tw > 0).
    pub queued: u64,
    pub bytes_read: u64,
    pub t_request: Percentiles,
    pub t_queue: Percentiles,
    pub t_connect: Percentiles,
    pub t_response: Percentiles,
    pub t_active: Percentiles,
    pub t_total: Percentiles,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Named {
    pub frontend: Option<String>,
    pub backend: Option<String>,
    pub server: Option<String>,
    /// `backend/server` for a server, else the frontend or backend name.
    pub name: String,
    #[serde(flatten)]
    pub stats: StatsOut,
}

/// One time bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Start of the bucket on the log's clock, `2026-11-23T19:23`.
    pub time: String,
    pub requests: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub abnormal: u64,
    pub queued: u64,
    /// Mean and max of Ta (HTTP) or Tt (TCP), ms.
    pub t_mean: f64,
    pub t_max: i64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Acc {
    requests: u64,
    s4: u64,
    s5: u64,
    abnormal: u64,
    queued: u64,
    t_sum: u64,
    t_n: u64,
    t_max: i64,
}

impl Acc {
    fn merge(&mut self, o: &Acc) {
        self.requests += o.requests;
        self.s4 += o.s4;
        self.s5 += o.s5;
        self.abnormal += o.abnormal;
        self.queued += o.queued;
        self.t_sum += o.t_sum;
        self.t_n += o.t_n;
        self.t_max = self.t_max.max(o.t_max);
    }
}

/// A notice HAProxy wrote about itself.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NoticeOut {
    /// The syslog timestamp as written (`Dec  6 21:10:52`), empty without one.
    pub time: String,
    pub event: String,
    pub subject: String,
    pub level: String,
    pub text: String,
}

/// One row of a top list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopRow {
    pub key: String,
    pub errors: u64,
}

/// What `log_summary` returns.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub sources: Vec<String>,
    pub bytes: u64,
    pub lines: u64,
    /// Traffic lines (HTTP requests and TCP sessions) kept by the filters.
    pub requests: u64,
    pub http: u64,
    pub tcp: u64,
    /// Traffic lines the filters left out.
    pub filtered_out: u64,
    /// `Connect from` lines (HAProxy without a log option).
    pub connects: u64,
    pub notices_total: u64,
    /// Lines from other programs (systemd, kernel) in the same file or journal.
    pub foreign: u64,
    /// Lines harun did not recognise, with a few examples.
    pub unparsed: u64,
    pub unparsed_sample: Vec<String>,
    /// Lines over 64 KiB, skipped, with the start of a few.
    pub too_long: u64,
    pub too_long_sample: Vec<String>,
    /// Lines cut by HAProxy's `len` (kept, with the fields they have).
    pub truncated: u64,
    /// Lines per format: `httplog`, `tcplog`, `clf`, `custom`.
    pub formats: BTreeMap<String, u64>,
    /// First and last accept dates of the kept lines, `2026-11-23T19:23:03`.
    pub first: Option<String>,
    pub last: Option<String>,
    pub total: Named,
    pub frontends: Vec<Named>,
    pub backends: Vec<Named>,
    pub servers: Vec<Named>,
    pub bucket_minutes: i64,
    pub buckets: Vec<Bucket>,
    pub notices: Vec<NoticeOut>,
    pub notice_counts: BTreeMap<String, u64>,
    /// What counts as an error below: a 5xx, or a termination state that does not start
    /// with `-` or `L`.
    pub top_clients: Vec<TopRow>,
    pub top_urls: Vec<TopRow>,
    pub top_agents: Vec<TopRow>,
    /// A top count may be this much below the truth (0: exact).
    pub top_error_bound: u64,
    /// Problems while reading (a truncated .gz, a table that overflowed).
    pub notes: Vec<String>,
}

struct Table {
    index: FxMap<u32>,
    rows: Vec<(Box<[u8]>, Stats)>,
    last: Option<u32>,
    overflow: bool,
}

impl Table {
    fn new() -> Self {
        Table {
            index: FxMap::default(),
            rows: Vec::new(),
            last: None,
            overflow: false,
        }
    }

    #[inline]
    fn get(&mut self, key: &[u8]) -> &mut Stats {
        if let Some(i) = self.last {
            if &*self.rows[i as usize].0 == key {
                return &mut self.rows[i as usize].1;
            }
        }
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                let k: &[u8] = if self.rows.len() >= MAX_KEYS {
                    self.overflow = true;
                    OTHER
                } else {
                    key
                };
                match self.index.get(k) {
                    Some(&i) => i,
                    None => {
                        let i = self.rows.len() as u32;
                        self.index.insert(k.into(), i);
                        self.rows.push((k.into(), Stats::default()));
                        i
                    }
                }
            }
        };
        self.last = Some(i);
        &mut self.rows[i as usize].1
    }
}

impl Table {
    fn merge(&mut self, o: Table) {
        self.overflow |= o.overflow;
        for (k, st) in o.rows {
            self.get(&k).merge(&st);
        }
    }
}

/// One pass over lines.
pub struct Aggregator<'p> {
    parser: &'p Parser,
    opts: Options,
    minute: MinuteCache,
    s: Summary,
    frontends: Table,
    servers: Table,
    key: Vec<u8>,
    buckets: Vec<(i64, Acc)>,
    bucket_minutes: i64,
    notices: std::collections::VecDeque<NoticeOut>,
    notice_counts: BTreeMap<&'static str, u64>,
    top_clients: Top,
    top_urls: Top,
    top_agents: Top,
    first: Option<i64>,
    last: Option<i64>,
    formats: [u64; 5],
    filtering: bool,
}

impl<'p> Aggregator<'p> {
    pub fn new(parser: &'p Parser, opts: Options) -> Self {
        Aggregator {
            parser,
            filtering: !opts.filter.is_empty(),
            opts,
            minute: MinuteCache::default(),
            s: Summary::default(),
            frontends: Table::new(),
            servers: Table::new(),
            key: Vec::with_capacity(128),
            buckets: Vec::new(),
            bucket_minutes: 1,
            notices: std::collections::VecDeque::new(),
            notice_counts: BTreeMap::new(),
            top_clients: Top::new(1000),
            top_urls: Top::new(1000),
            top_agents: Top::new(1000),
            first: None,
            last: None,
            formats: [0; 5],
        }
    }

    pub fn source(&mut self, name: &str, bytes: u64, damaged: Option<String>) {
        self.s.sources.push(name.to_string());
        self.s.bytes += bytes;
        if let Some(d) = damaged {
            self.s.notes.push(d);
        }
    }

    pub fn too_long(&mut self, head: &[u8], len: usize) {
        self.s.lines += 1;
        self.s.too_long += 1;
        if self.s.too_long_sample.len() < SAMPLES {
            let h = String::from_utf8_lossy(&head[..head.len().min(120)]);
            self.s.too_long_sample.push(format!("{len} bytes: {h}..."));
        }
    }

    #[inline]
    pub fn line(&mut self, raw: &[u8]) {
        self.s.lines += 1;
        let envelope = crate::system::envelope::split(raw);
        // The common case first, without the `Parsed` wrapper: the entry is built in place.
        if let Some(mut e) = super::entry::parse_fixed_head(envelope.message) {
            self.traffic(&mut e);
            return;
        }
        let p = super::Parsed {
            envelope,
            line: self.parser.slow(envelope.message),
        };
        match p.line {
            Line::Traffic(mut e) => self.traffic(&mut e),
            Line::Connect { .. } => self.s.connects += 1,
            Line::Notice(n) => {
                self.s.notices_total += 1;
                *self.notice_counts.entry(n.event).or_default() += 1;
                if self.notices.len() == MAX_NOTICES {
                    self.notices.pop_front();
                }
                self.notices.push_back(NoticeOut {
                    time: String::from_utf8_lossy(p.envelope.timestamp).into_owned(),
                    event: n.event.to_string(),
                    subject: String::from_utf8_lossy(n.subject).into_owned(),
                    level: String::from_utf8_lossy(n.level).into_owned(),
                    text: String::from_utf8_lossy(&n.text[..n.text.len().min(SAMPLE_BYTES)])
                        .into_owned(),
                });
            }
            Line::Unknown => {
                if p.envelope.foreign() || raw.starts_with(b"-- ") || raw.is_empty() {
                    self.s.foreign += 1;
                } else {
                    self.s.unparsed += 1;
                    if self.s.unparsed_sample.len() < SAMPLES {
                        let cut = &raw[..raw.len().min(SAMPLE_BYTES)];
                        self.s
                            .unparsed_sample
                            .push(String::from_utf8_lossy(cut).into_owned());
                    }
                }
            }
        }
    }

    #[inline]
    fn traffic(&mut self, e: &mut Entry<'_>) {
        self.formats[match e.format {
            Format::HttpLog => 0,
            Format::TcpLog => 1,
            Format::Clf => 2,
            Format::Custom(_) => 3,
            Format::Default => 4,
        }] += 1;
        let secs = self.minute.secs(e.accept_date);
        if self.filtering && !self.opts.filter.keep(e, secs) {
            self.s.filtered_out += 1;
            return;
        }
        self.s.requests += 1;
        if e.http {
            self.s.http += 1;
        } else {
            self.s.tcp += 1;
        }
        if e.maybe_truncated() {
            e.complete();
            self.s.truncated += u64::from(e.truncated);
        }
        self.frontends.get(e.frontend).add(e, Side::Client);
        let key: &[u8] = if !e.backend_server.is_empty() {
            e.backend_server
        } else {
            self.key.clear();
            self.key.extend_from_slice(e.backend);
            self.key.push(b'/');
            self.key.extend_from_slice(e.server);
            &self.key
        };
        self.servers.get(key).add(e, Side::Server);
        let error = (e.status >= 500)
            || e.termination_state
                .first()
                .is_some_and(|&c| c != b'-' && c != b'L');
        if let Some(t) = secs {
            let m = t.div_euclid(60);
            if self.first.is_none_or(|f| t < f) {
                self.first = Some(t);
            }
            if self.last.is_none_or(|l| t > l) {
                self.last = Some(t);
            }
            let b = self.bucket(m);
            b.requests += 1;
            b.s4 += u64::from(e.status / 100 == 4);
            b.s5 += u64::from(e.status / 100 == 5 && e.status > 0);
            b.abnormal += u64::from(e.abnormal());
            b.queued += u64::from(e.t_queue > 0);
            let t = e.t_end();
            if t >= 0 {
                b.t_sum += t as u64;
                b.t_n += 1;
                b.t_max = b.t_max.max(t);
            }
        }
        if error {
            e.complete();
            self.top_clients.add(e.client_ip);
            let uri = e.uri();
            if !uri.is_empty() {
                let path = match memchr::memchr(b'?', uri) {
                    Some(q) => &uri[..q],
                    None => uri,
                };
                self.top_urls.add(path);
            }
            if let (Some(i), Some(h)) = (self.opts.agent_header, e.captured_request_headers) {
                if let Some(ua) = h.split(|&b| b == b'|').nth(i) {
                    if !ua.is_empty() {
                        self.top_agents.add(ua);
                    }
                }
            }
        }
    }

    #[inline]
    fn bucket(&mut self, minute: i64) -> &mut Acc {
        let start = minute - minute.rem_euclid(self.bucket_minutes);
        let pos = match self.buckets.last() {
            Some((s, _)) if *s == start => self.buckets.len() - 1,
            _ => match self.buckets.binary_search_by_key(&start, |b| b.0) {
                Ok(i) => i,
                Err(i) => {
                    self.buckets.insert(i, (start, Acc::default()));
                    if self.buckets.len() > MAX_BUCKETS {
                        self.widen();
                        return self.bucket(minute);
                    }
                    i
                }
            },
        };
        &mut self.buckets[pos].1
    }

    fn widen(&mut self) {
        self.bucket_minutes *= 2;
        let w = self.bucket_minutes;
        let mut merged: Vec<(i64, Acc)> = Vec::with_capacity(self.buckets.len() / 2 + 1);
        for (s, a) in self.buckets.drain(..) {
            let start = s - s.rem_euclid(w);
            match merged.last_mut() {
                Some((ms, ma)) if *ms == start => ma.merge(&a),
                _ => merged.push((start, a)),
            }
        }
        self.buckets = merged;
    }

    /// Adds the aggregates of the part of the input that follows this one (parallel reads
    /// of one file: the parts are merged in file order).
    pub fn merge(&mut self, o: Aggregator<'_>) {
        let (a, b) = (&mut self.s, &o.s);
        a.lines += b.lines;
        a.requests += b.requests;
        a.http += b.http;
        a.tcp += b.tcp;
        a.filtered_out += b.filtered_out;
        a.connects += b.connects;
        a.notices_total += b.notices_total;
        a.foreign += b.foreign;
        a.unparsed += b.unparsed;
        a.too_long += b.too_long;
        a.truncated += b.truncated;
        for list in [
            (&mut a.unparsed_sample, &b.unparsed_sample),
            (&mut a.too_long_sample, &b.too_long_sample),
        ] {
            for x in list.1 {
                if list.0.len() < SAMPLES {
                    list.0.push(x.clone());
                }
            }
        }
        a.notes.extend(b.notes.iter().cloned());
        self.frontends.merge(o.frontends);
        self.servers.merge(o.servers);
        while self.bucket_minutes < o.bucket_minutes {
            self.widen();
        }
        let w = self.bucket_minutes;
        for (start, acc) in o.buckets {
            let m = start - start.rem_euclid(w);
            self.bucket(m).merge(&acc);
        }
        for n in o.notices {
            if self.notices.len() == MAX_NOTICES {
                self.notices.pop_front();
            }
            self.notices.push_back(n);
        }
        for (k, v) in o.notice_counts {
            *self.notice_counts.entry(k).or_default() += v;
        }
        self.top_clients.merge(o.top_clients);
        self.top_urls.merge(o.top_urls);
        self.top_agents.merge(o.top_agents);
        self.first = match (self.first, o.first) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        self.last = self.last.max(o.last);
        for (x, y) in self.formats.iter_mut().zip(o.formats) {
            *x += y;
        }
    }

    /// Bytes held by the aggregates (tests check the bound).
    pub fn heap_bytes(&self) -> usize {
        let t = |t: &Table| {
            t.rows
                .iter()
                .map(|(k, s)| k.len() + s.heap_bytes() + 64)
                .sum::<usize>()
        };
        t(&self.frontends) + t(&self.servers) + self.buckets.len() * 72
    }

    pub fn finish(mut self) -> Summary {
        let name = |k: &[u8]| String::from_utf8_lossy(k).into_owned();
        // The total: counts and server-side timers from the servers, TR from the frontends.
        let mut total = Stats::default();
        for (_, st) in &self.servers.rows {
            total.merge(st);
        }
        for (_, st) in &self.frontends.rows {
            total.t_request.merge(&st.t_request);
        }
        let mut backends: BTreeMap<Vec<u8>, Stats> = BTreeMap::new();
        for (k, st) in &self.servers.rows {
            let b = match memchr::memchr(b'/', k) {
                Some(i) => &k[..i],
                None => &k[..],
            };
            backends.entry(b.to_vec()).or_default().merge(st);
        }
        let s = &mut self.s;
        s.total = Named {
            name: "total".into(),
            stats: total.out(),
            ..Named::default()
        };
        s.frontends = self
            .frontends
            .rows
            .iter()
            .map(|(k, st)| Named {
                frontend: Some(name(k)),
                name: name(k),
                stats: st.out(),
                ..Named::default()
            })
            .collect();
        s.backends = backends
            .iter()
            .map(|(k, st)| Named {
                backend: Some(name(k)),
                name: name(k),
                stats: st.out(),
                ..Named::default()
            })
            .collect();
        s.servers = self
            .servers
            .rows
            .iter()
            .map(|(k, st)| {
                let (b, sv) = match memchr::memchr(b'/', k) {
                    Some(i) => (&k[..i], &k[i + 1..]),
                    None => (&k[..], &b""[..]),
                };
                Named {
                    backend: Some(name(b)),
                    server: Some(name(sv)),
                    name: name(k),
                    stats: st.out(),
                    ..Named::default()
                }
            })
            .collect();
        for list in [&mut s.frontends, &mut s.servers] {
            list.sort_by(|a, b| {
                b.stats
                    .requests
                    .cmp(&a.stats.requests)
                    .then(a.name.cmp(&b.name))
            });
        }
        for (t, what) in [(&self.frontends, "frontends"), (&self.servers, "servers")] {
            if t.overflow {
                s.notes.push(format!(
                    "more than {MAX_KEYS} {what}: the rest are counted under `(other)`"
                ));
            }
        }
        s.bucket_minutes = self.bucket_minutes;
        s.buckets = self
            .buckets
            .iter()
            .map(|(m, a)| Bucket {
                time: format_minute(*m),
                requests: a.requests,
                status_4xx: a.s4,
                status_5xx: a.s5,
                abnormal: a.abnormal,
                queued: a.queued,
                t_mean: if a.t_n == 0 {
                    0.0
                } else {
                    (a.t_sum as f64 / a.t_n as f64 * 10.0).round() / 10.0
                },
                t_max: a.t_max,
            })
            .collect();
        s.first = self.first.map(format_secs);
        s.last = self.last.map(format_secs);
        s.notices = self.notices.into_iter().collect();
        s.notice_counts = self
            .notice_counts
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let n = self.opts.top;
        let rows = |t: &Top| -> Vec<TopRow> {
            t.top(n)
                .into_iter()
                .map(|(key, errors)| TopRow { key, errors })
                .collect()
        };
        s.top_clients = rows(&self.top_clients);
        s.top_urls = rows(&self.top_urls);
        s.top_agents = rows(&self.top_agents);
        s.top_error_bound = self
            .top_clients
            .error_bound()
            .max(self.top_urls.error_bound())
            .max(self.top_agents.error_bound());
        for (i, n) in self.formats.iter().enumerate() {
            if *n > 0 {
                let f = ["httplog", "tcplog", "clf", "custom", "default"][i];
                s.formats.insert(f.to_string(), *n);
            }
        }
        std::mem::take(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs/");

    fn summarize(name: &str, opts: Options) -> Summary {
        let p = Parser::default();
        let mut a = Aggregator::new(&p, opts);
        let data = std::fs::read(format!("{FIX}{name}")).unwrap();
        for l in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            a.line(l);
        }
        a.finish()
    }

    #[test]
    fn summary_of_real_logs() {
        let s = summarize(
            "local.log",
            Options {
                agent_header: Some(1),
                ..Options::default()
            },
        );
        assert_eq!(
            (
                s.lines,
                s.requests,
                s.http,
                s.tcp,
                s.connects,
                s.notices_total,
                s.unparsed
            ),
            (28, 23, 22, 1, 1, 3, 1)
        );
        let slow = s
            .servers
            .iter()
            .find(|r| r.name == "bk_slow/slow1")
            .unwrap();
        assert_eq!((slow.stats.requests, slow.stats.status_5xx), (1, 1));
        assert_eq!(slow.stats.terminations.get("sH--"), Some(&1));
        assert_eq!(slow.stats.terminations_5xx.get("sH--"), Some(&1));
        assert_eq!(s.total.stats.terminations_5xx.get("----"), Some(&1));
        assert_eq!(slow.stats.t_response.not_reached, 1);
        assert_eq!(slow.stats.t_active.max, Some(301));
        let q = s.backends.iter().find(|r| r.name == "bk_queue").unwrap();
        assert_eq!(q.stats.terminations.get("sQ--"), Some(&2));
        assert_eq!((q.stats.requests, q.stats.queued), (3, 2));
        assert_eq!(q.stats.t_queue.max, Some(301));
        let r = s.backends.iter().find(|r| r.name == "bk_redisp").unwrap();
        assert_eq!((r.stats.retries, r.stats.redispatched), (1, 1));
        let fe = s.frontends.iter().find(|r| r.name == "fe_http").unwrap();
        assert_eq!(fe.frontend.as_deref(), Some("fe_http"));
        assert_eq!(s.total.stats.requests, 23);
        assert_eq!(s.total.stats.terminations.get("CD--"), Some(&1));
        assert_eq!(s.notice_counts.get("no_server"), Some(&1));
        assert!(s
            .notices
            .iter()
            .any(|n| n.event == "server_maint" && n.subject == "bk_ok/s1"));
        assert_eq!(s.first.as_deref(), Some("2026-12-06T21:10:49"));
        assert!(s.buckets.iter().map(|b| b.requests).sum::<u64>() == 23);
        assert!(s.top_clients.iter().any(|t| t.key == "127.0.0.1"));
        assert!(s.top_urls.iter().any(|t| t.key == "/slow"));
        assert!(
            s.top_agents.iter().any(|t| t.key == "curl/7.88.1"),
            "{:?}",
            s.top_agents
        );
        assert_eq!(s.unparsed_sample.len(), 1);
    }

    #[test]
    fn merged_parts_equal_one_pass() {
        let p = Parser::default();
        let data = std::fs::read(format!("{FIX}local.log")).unwrap();
        let lines: Vec<&[u8]> = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let one = {
            let mut a = Aggregator::new(&p, Options::default());
            lines.iter().for_each(|l| a.line(l));
            a.finish()
        };
        for cut in [1, 10, 27] {
            let mut a = Aggregator::new(&p, Options::default());
            let mut b = Aggregator::new(&p, Options::default());
            lines[..cut].iter().for_each(|l| a.line(l));
            lines[cut..].iter().for_each(|l| b.line(l));
            a.merge(b);
            assert_eq!(a.finish(), one, "cut at {cut}");
        }
    }

    #[test]
    fn filters_apply_before_aggregation() {
        let f = Filter {
            termination: Some(b"s".to_vec()),
            ..Filter::default()
        };
        let s = summarize(
            "local.log",
            Options {
                filter: f,
                ..Options::default()
            },
        );
        assert_eq!(s.requests, 3);
        assert_eq!(s.filtered_out, 20);
    }

    #[test]
    fn memory_is_bounded_by_keys_not_lines() {
        let p = Parser::default();
        let mut a = Aggregator::new(&p, Options::default());
        let mut line = Vec::new();
        for i in 0..200_000u64 {
            line.clear();
            // Many minutes (buckets widen), a flood of distinct servers (capped), wide timers.
            let min = i / 10;
            let d = format!(
                "10.0.{}.{}:1 [{:02}/Dec/2026:{:02}:{:02}:00.000] fe bk/s{} 0/0/0/{}/{} 503 1 - - sH-- 1/1/1/1/0 0/0 \"GET /x{} HTTP/1.1\"",
                i % 256, i % 7, 1 + (min / 1440) % 28, (min / 60) % 24, min % 60, i % 9000, i * 37 % 60000, i * 37 % 60000, i % 5000
            );
            line.extend_from_slice(d.as_bytes());
            a.line(&line);
        }
        assert!(a.heap_bytes() < 40 << 20, "{}", a.heap_bytes());
        let s = a.finish();
        assert_eq!(s.requests, 200_000);
        assert!(s.buckets.len() <= MAX_BUCKETS && s.bucket_minutes > 1);
        assert!(
            s.notes.iter().any(|n| n.contains("(other)")),
            "{:?}",
            s.notes
        );
        assert!(s.servers.len() <= MAX_KEYS + 1);
    }
}
