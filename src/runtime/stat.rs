//! Parser for the `show stat` CSV reply of the HAProxy runtime API.
//!
//! The parser is driven by the header line, never by column positions: columns differ between
//! HAProxy versions (1.5 stops at `ttime`, 2.6 backports `agg_server_status` at index 100, 2.8
//! adds `srid`, and everything after the `-` separator column comes from stats modules whose
//! presence and order are not guaranteed).
//!
//! Format facts handled here:
//! - the header line starts with `# ` (`# pxname,svname,qcur,...`);
//! - every line (header included) ends with a trailing comma, which does not make a column;
//! - a literal `-` column separates the static fields from the stats-module fields: the `-`
//!   column itself is dropped, the module columns after it are kept;
//! - values are quoted only when ambiguous (`"a,b"`, with `""` for a literal quote);
//! - an empty field means "no value" and becomes `None`, never 0;
//! - text columns (names, statuses, check output, addresses...) are always
//!   [`StatValue::Text`], even when they look numeric (a backend named `123`); other columns
//!   are [`StatValue::Int`] when they parse as `i64`, [`StatValue::Text`] otherwise.
//!
//! Leniency: blank lines are skipped. A row with fewer fields than the header is accepted (the
//! missing trailing columns are `None`) when it still ends with HAProxy's trailing comma and is
//! terminated by a newline; a short row without the trailing comma, or an unterminated last
//! line that is not complete, is a truncated reply and a [`ParseError`]. Extra empty fields
//! after the last column are ignored; extra non-empty fields mean the row is misaligned with the
//! header and are a [`ParseError`]. A row must carry a non-empty `pxname`.

use serde::Serialize;
use std::sync::Arc;

/// A malformed `show stat` reply: what was wrong and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed `show stat` output at line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the input where the problem was found.
    pub line: usize,
    /// What was malformed.
    pub message: String,
}

impl ParseError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

/// One non-empty `show stat` value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StatValue {
    /// A numeric column whose value parsed as a signed 64-bit integer.
    Int(i64),
    /// A text column, or a numeric column whose value is not an integer.
    Text(String),
}

impl StatValue {
    /// The integer, if this is [`StatValue::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StatValue::Int(v) => Some(*v),
            StatValue::Text(_) => None,
        }
    }

    /// The text, if this is [`StatValue::Text`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            StatValue::Int(_) => None,
            StatValue::Text(s) => Some(s),
        }
    }
}

impl std::fmt::Display for StatValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatValue::Int(v) => write!(f, "{v}"),
            StatValue::Text(s) => f.write_str(s),
        }
    }
}

/// The `type` column: 0 frontend, 1 backend, 2 server, 3 listener (socket).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProxyType {
    Frontend,
    Backend,
    Server,
    Listener,
}

impl ProxyType {
    /// Decode the numeric `type` column.
    pub fn from_code(code: i64) -> Option<ProxyType> {
        match code {
            0 => Some(ProxyType::Frontend),
            1 => Some(ProxyType::Backend),
            2 => Some(ProxyType::Server),
            3 => Some(ProxyType::Listener),
            _ => None,
        }
    }

    /// Lower-case name: `frontend`, `backend`, `server`, `listener`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProxyType::Frontend => "frontend",
            ProxyType::Backend => "backend",
            ProxyType::Server => "server",
            ProxyType::Listener => "listener",
        }
    }
}

/// Column names and kinds, shared by every row of one reply.
#[derive(Debug, Default, PartialEq)]
pub struct Header {
    names: Vec<String>,
    is_text: Vec<bool>,
    index: std::collections::HashMap<String, usize>,
}

impl Header {
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn index(&self, column: &str) -> Option<usize> {
        self.index.get(column).copied()
    }
}

/// One data line, stored compactly: the unquoted fields back to back in one
/// string plus their end offsets. A 20,000-server reply takes about the size
/// of the reply itself instead of one allocation per field; values are typed
/// when read.
#[derive(Clone, Debug, PartialEq)]
pub struct StatRow {
    header: Arc<Header>,
    data: Arc<RowData>,
}

#[derive(Debug, PartialEq)]
struct RowData {
    text: String,
    ends: Vec<u16>,
}

impl StatRow {
    pub fn header(&self) -> &Arc<Header> {
        &self.header
    }

    /// Number of columns (the header's).
    pub fn len(&self) -> usize {
        self.header.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.header.names.is_empty()
    }

    /// The raw text of field `i` (`""` when empty or past the row's end).
    pub fn raw(&self, i: usize) -> &str {
        let ends = &self.data.ends;
        if i >= ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { ends[i - 1] as usize };
        self.data.text.get(start..ends[i] as usize).unwrap_or("")
    }

    /// Field `i`, typed: `None` when empty.
    pub fn get(&self, i: usize) -> Option<StatValue> {
        let raw = self.raw(i);
        if raw.is_empty() {
            return None;
        }
        if self.header.is_text.get(i).copied().unwrap_or(true) {
            return Some(StatValue::Text(raw.to_owned()));
        }
        Some(match parse_i64(raw.as_bytes()) {
            Some(v) => StatValue::Int(v),
            None => StatValue::Text(raw.to_owned()),
        })
    }

    pub fn value(&self, column: &str) -> Option<StatValue> {
        self.get(self.header.index(column)?)
    }

    pub fn int(&self, column: &str) -> Option<i64> {
        let i = self.header.index(column)?;
        if self.header.is_text[i] {
            return None;
        }
        parse_i64(self.raw(i).as_bytes())
    }

    /// The text of `column` when it is text (`None` if empty, missing or an integer).
    pub fn text(&self, column: &str) -> Option<&str> {
        let i = self.header.index(column)?;
        let raw = self.raw(i);
        if raw.is_empty() || (!self.header.is_text[i] && parse_i64(raw.as_bytes()).is_some()) {
            return None;
        }
        Some(raw)
    }

    pub fn proxy_type(&self) -> Option<ProxyType> {
        ProxyType::from_code(self.int("type")?)
    }

    /// Every field typed, in column order.
    pub fn values(&self) -> Vec<Option<StatValue>> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }
}

impl Serialize for StatRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.values().serialize(s)
    }
}

/// A parsed `show stat` reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stat {
    /// Column names in header order, without the trailing empty column and without `-`.
    pub columns: Vec<String>,
    /// One entry per data line; each row has exactly `columns.len()` values.
    /// An empty field ("no value", not 0) reads as `None`.
    pub rows: Vec<StatRow>,
}

impl Stat {
    /// Position of `column` in [`Stat::columns`].
    pub fn index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// The value of `column` in `row`; `None` when the row or column does not exist or the
    /// field was empty.
    pub fn value(&self, row: usize, column: &str) -> Option<StatValue> {
        self.rows.get(row)?.value(column)
    }

    /// The integer value of `column` in `row` (`None` if empty, missing or not an integer).
    pub fn int(&self, row: usize, column: &str) -> Option<i64> {
        self.rows.get(row)?.int(column)
    }

    /// The text value of `column` in `row` (`None` if empty, missing or an integer).
    pub fn text(&self, row: usize, column: &str) -> Option<&str> {
        self.rows.get(row)?.text(column)
    }

    /// The decoded `type` column of `row`.
    pub fn proxy_type(&self, row: usize) -> Option<ProxyType> {
        self.rows.get(row)?.proxy_type()
    }

    /// The first row whose `pxname` and `svname` match (`svname` is `FRONTEND`/`BACKEND` for
    /// proxies, the server or listener name otherwise).
    pub fn find(&self, pxname: &str, svname: &str) -> Option<usize> {
        let px = self.index("pxname")?;
        let sv = self.index("svname")?;
        self.rows
            .iter()
            .position(|r| r.raw(px) == pxname && r.raw(sv) == svname)
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the reply had a header but no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Columns that are text by nature: never turned into integers, whatever they contain.
/// From management.txt section 9.1 and the `str` fields of HAProxy's `stat_fields`.
const TEXT_COLUMNS: &[&str] = &[
    "pxname",
    "svname",
    "status",
    "tracked",
    "check_status",
    "last_chk",
    "last_agt",
    "agent_status",
    "check_desc",
    "agent_desc",
    "addr",
    "cookie",
    "mode",
    "algo",
    "proto",
];

/// Parse a `show stat` reply. See the module documentation for the accepted format.
pub fn parse_stat(text: &str) -> Result<Stat, ParseError> {
    // No check of its own for an empty reply: `finish` says it, so a reply
    // read whole and the same reply streamed get the same answer.
    let mut p = StatParser::new();
    p.feed(text.as_bytes())?;
    p.finish()
}

/// What the header line fixed for every following row.
struct Layout {
    header: Arc<Header>,
    /// Raw field position -> output column (`None` for the `-` separator).
    target: Vec<Option<usize>>,
    raw_len: usize,
    header_trailing: bool,
    pxname_col: usize,
    ncols: usize,
}

/// Incremental `show stat` parser: feed the reply as it arrives from the
/// socket, so parsing overlaps with HAProxy producing a large dump.
/// `parse_stat` is `feed(all)` + `finish()`.
pub struct StatParser {
    pending: Vec<u8>,
    /// Lines fully processed so far (for 1-based error line numbers).
    lines_done: usize,
    layout: Option<Layout>,
    rows: Vec<StatRow>,
    record: csv::ByteRecord,
    /// Only ASCII blanks so far (an empty reply is told from one without
    /// a header by every byte, not by the first 80).
    blank: bool,
    /// Heap held by `rows`, estimated from their allocations. Rows are
    /// padded to the header's width, so a flood of short rows costs far
    /// more parsed than on the wire.
    retained: usize,
    /// Bound on `retained`; past it the rows are dropped and the rest ignored.
    limit: usize,
    over_limit: bool,
    /// Batches without a quote are split rather than read by the CSV
    /// reader (see [`StatParser::process`]); off only to compare the two.
    split: bool,
}

impl Default for StatParser {
    fn default() -> Self {
        Self::new()
    }
}

impl StatParser {
    pub fn new() -> StatParser {
        StatParser {
            pending: Vec::new(),
            lines_done: 0,
            layout: None,
            rows: Vec::new(),
            record: csv::ByteRecord::new(),
            blank: true,
            retained: 0,
            limit: usize::MAX,
            over_limit: false,
            split: true,
        }
    }

    /// Every batch through the CSV reader: what the split must read alike
    /// (unit tests and the stat fuzz target compare the two).
    #[doc(hidden)]
    pub fn csv_only(mut self) -> StatParser {
        self.split = false;
        self
    }

    /// Stop keeping rows once they hold more than `bytes` (see
    /// [`StatParser::over_limit`]). Checked row by row: a batch of short rows
    /// padded to a wide header would overshoot a check made per batch.
    pub fn with_limit(mut self, bytes: usize) -> StatParser {
        self.limit = bytes;
        self
    }

    /// Whether the rows passed the limit: they were dropped and the rest of
    /// the input is ignored.
    pub fn over_limit(&self) -> bool {
        self.over_limit
    }

    /// Add bytes; complete lines are parsed in batches of at least
    /// `BATCH` bytes (a CSV reader per batch is cheap, per read is not).
    pub fn feed(&mut self, data: &[u8]) -> Result<(), ParseError> {
        const BATCH: usize = 128 * 1024;
        if self.over_limit {
            return Ok(());
        }
        if self.blank {
            self.blank = data.iter().all(u8::is_ascii_whitespace);
        }
        self.pending.extend_from_slice(data);
        // Nothing to parse yet; what the blanks mean depends on what follows.
        if self.blank {
            return Ok(());
        }
        if self.pending.len() < BATCH && self.layout.is_some() {
            return Ok(());
        }
        let Some(last_nl) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let mut batch = std::mem::take(&mut self.pending);
        self.pending.extend_from_slice(&batch[last_nl + 1..]);
        batch.truncate(last_nl + 1);
        self.process(&batch, false)
    }

    /// The last (possibly unterminated) line, then the result.
    pub fn finish(mut self) -> Result<Stat, ParseError> {
        if self.over_limit {
            return Err(ParseError::new(
                self.lines_done,
                format!("parsed rows passed the limit of {} bytes", self.limit),
            ));
        }
        if self.blank {
            return Err(ParseError::new(
                1,
                "empty reply (expected a `# pxname,...` header)",
            ));
        }
        let rest = std::mem::take(&mut self.pending);
        let (complete, last) = match rest.iter().rposition(|&b| b == b'\n') {
            Some(i) => rest.split_at(i + 1),
            None => rest.split_at(0),
        };
        if !complete.is_empty() {
            self.process(complete, false)?;
        }
        if !last.iter().all(|b| b.is_ascii_whitespace()) {
            self.process(last, true)?;
        }
        let Some(layout) = self.layout else {
            return Err(ParseError::new(1, "no header line"));
        };
        Ok(Stat {
            columns: layout.header.names.clone(),
            rows: self.rows,
        })
    }

    fn process(&mut self, bytes: &[u8], unterminated: bool) -> Result<(), ParseError> {
        // HAProxy quotes a field only when it holds a `,` or a `"` (free
        // text such as a description): without a quote, a record is a line
        // and a field what lies between commas, which a split reads in a
        // third of the CSV reader's time. The two paths read such lines
        // alike (the stat fuzz target compares them, cutting replies at
        // random places so that either path meets either kind of batch).
        // A small reply (one backend, a fleet's hosts) is one batch with its
        // header: building a CSV reader would cost more than the parse.
        if self.split && !bytes.contains(&b'"') {
            if self.layout.is_none() {
                return self.process_header_then_plain(bytes, unterminated);
            }
            return self.process_plain(bytes, unterminated);
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(None)
            .from_reader(bytes);
        let mut record = std::mem::take(&mut self.record);
        // Lines are counted from the record's byte offset, and only for an
        // error: the CSV reader's own line numbers skip blank lines, so they
        // would depend on where the reply was cut into reads.
        let base = self.lines_done;
        let line_at = |byte: u64| {
            // The reader may report the start of the blank lines it skipped.
            let mut end = (byte as usize).min(bytes.len());
            while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
                end += 1;
            }
            base + 1 + bytes[..end].iter().filter(|&&b| b == b'\n').count()
        };
        let at_record = |mut e: ParseError, record: &csv::ByteRecord| {
            e.line = line_at(record.position().map_or(0, |p| p.byte()));
            e
        };
        let result = (|| {
            loop {
                match reader.read_byte_record(&mut record) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        let byte = e.position().map_or(0, |p| p.byte());
                        let mut err = csv_error(e);
                        err.line = line_at(byte);
                        return Err(err);
                    }
                }
                // Only a quote left open makes a field span lines; HAProxy
                // never sends one, and how far it reaches would depend on
                // where the reply was cut into reads.
                if record.as_slice().contains(&b'\n') {
                    return Err(at_record(
                        ParseError::new(0, "a quoted field spans lines (a `\"` left open)"),
                        &record,
                    ));
                }
                if self.layout.is_none() {
                    self.layout =
                        Some(header_layout(&record, 0).map_err(|e| at_record(e, &record))?);
                } else {
                    let fields: Vec<&[u8]> = record.iter().collect();
                    self.row(&fields, 0, unterminated)
                        .map_err(|e| at_record(e, &record))?;
                    if self.retained > self.limit {
                        self.over_limit = true;
                        self.rows = Vec::new();
                        self.pending = Vec::new();
                        break;
                    }
                }
            }
            Ok(())
        })();
        self.record = record;
        self.lines_done += bytes.iter().filter(|&&b| b == b'\n').count();
        result
    }

    /// [`StatParser::process`] of a batch without a quote that holds the
    /// header: its first record (past empty ones, as the CSV reader skips
    /// them) is the header, split at commas, then the rows.
    fn process_header_then_plain(
        &mut self,
        bytes: &[u8],
        unterminated: bool,
    ) -> Result<(), ParseError> {
        let newlines = |b: &[u8]| memchr::memchr_iter(b'\n', b).count();
        let Some(start) = bytes.iter().position(|b| !matches!(b, b'\n' | b'\r')) else {
            self.lines_done += newlines(bytes);
            return Ok(());
        };
        let end = memchr::memchr2(b'\n', b'\r', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let fields: Vec<&[u8]> = bytes[start..end].split(|b| *b == b',').collect();
        let record = csv::ByteRecord::from(fields);
        let layout = header_layout(&record, 0).map_err(|mut e| {
            e.line = self.lines_done + 1 + newlines(&bytes[..start]);
            e
        })?;
        self.layout = Some(layout);
        self.lines_done += newlines(&bytes[..end]);
        self.process_plain(&bytes[end..], unterminated)
    }

    /// [`StatParser::process`] of rows without a quote: records end at CR
    /// or LF, empty ones are skipped, as the CSV reader does.
    fn process_plain(&mut self, bytes: &[u8], unterminated: bool) -> Result<(), ParseError> {
        let base = self.lines_done;
        let mut fields: Vec<&[u8]> = Vec::new();
        let mut result = Ok(());
        let mut start = 0;
        while start < bytes.len() {
            let end =
                memchr::memchr2(b'\n', b'\r', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            if end > start {
                let line = &bytes[start..end];
                fields.clear();
                let mut from = 0;
                for comma in memchr::memchr_iter(b',', line) {
                    fields.push(&line[from..comma]);
                    from = comma + 1;
                }
                fields.push(&line[from..]);
                if let Err(mut e) = self.row(&fields, 0, unterminated) {
                    e.line = base + 1 + memchr::memchr_iter(b'\n', &bytes[..start]).count();
                    result = Err(e);
                    break;
                }
                if self.retained > self.limit {
                    self.over_limit = true;
                    self.rows = Vec::new();
                    self.pending = Vec::new();
                    break;
                }
            }
            start = end + 1;
        }
        self.lines_done += memchr::memchr_iter(b'\n', bytes).count();
        result
    }

    fn row(&mut self, fields: &[&[u8]], line: usize, unterminated: bool) -> Result<(), ParseError> {
        let Some(layout) = &self.layout else {
            return Ok(());
        };
        let raw_len = layout.raw_len;
        let ncols = layout.ncols;
        let n = fields.len();
        let ends_with_comma = n > 1 && fields[n - 1].is_empty();
        if n > raw_len && fields[raw_len..].iter().any(|f| !f.is_empty()) {
            return Err(ParseError::new(
                line,
                format!("{n} fields but the header has {raw_len} columns: row misaligned"),
            ));
        }
        // An unterminated last line must be complete, trailing comma included when the header
        // has one; otherwise it was cut short.
        let complete = if unterminated && layout.header_trailing {
            n > raw_len
        } else {
            n >= raw_len
        };
        if !complete && (unterminated || !ends_with_comma) {
            return Err(ParseError::new(
                line,
                format!("truncated row: {n} of {raw_len} fields"),
            ));
        }

        // Output columns are the raw fields in order minus `-`; short rows are
        // padded with empty fields.
        let mut bytes: Vec<u8> = Vec::with_capacity(fields.iter().map(|f| f.len()).sum());
        let mut ends: Vec<u16> = Vec::with_capacity(ncols);
        for (field, keep) in fields.iter().zip(&layout.target) {
            if keep.is_none() {
                continue;
            }
            if ends.len() == ncols {
                break;
            }
            bytes.extend_from_slice(field);
            let end = u16::try_from(bytes.len())
                .map_err(|_| ParseError::new(line, "row longer than 65535 bytes"))?;
            ends.push(end);
        }
        let end = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        ends.resize(ncols, end);
        // One UTF-8 check per row. A lossy repair could move field
        // boundaries, so invalid rows keep their bytes per field.
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => lossy_fields(e.as_bytes(), &mut ends),
        };
        // As the allocator counts: each block rounded up with its header;
        // the Arc's counters; the row's slot in `rows`, twice for the
        // slack a growing Vec keeps.
        let block = |n: usize| ((n + 8 + 15) & !15).max(32);
        self.retained += block(text.capacity())
            + block(ends.capacity() * 2)
            + block(16 + std::mem::size_of::<RowData>())
            + 2 * std::mem::size_of::<StatRow>();
        let data = RowData { text, ends };
        let row = StatRow {
            header: Arc::clone(&layout.header),
            data: Arc::new(data),
        };
        if row.raw(layout.pxname_col).is_empty() {
            return Err(ParseError::new(line, "empty `pxname` field"));
        }
        self.rows.push(row);
        Ok(())
    }
}

/// Rebuild a row whose bytes are not UTF-8, field by field, fixing the ends.
fn lossy_fields(bytes: &[u8], ends: &mut [u16]) -> String {
    let mut text = String::with_capacity(bytes.len() + 16);
    let mut start = 0usize;
    for end in ends.iter_mut() {
        let stop = (*end as usize).clamp(start, bytes.len());
        text.push_str(&String::from_utf8_lossy(&bytes[start..stop]));
        start = stop;
        *end = u16::try_from(text.len()).unwrap_or(u16::MAX);
    }
    text
}

fn header_layout(record: &csv::ByteRecord, header_line: usize) -> Result<Layout, ParseError> {
    let first = record.get(0).unwrap_or_default();
    let Some(first) = first.strip_prefix(b"#") else {
        return Err(ParseError::new(
            header_line,
            format!(
                "missing `# pxname,svname,...` header; its first line is {:?}",
                // The line itself, whole (however the reply was cut into reads).
                excerpt(&String::from_utf8_lossy(
                    &record.iter().collect::<Vec<_>>().join(&b',')
                ))
            ),
        ));
    };
    let mut names: Vec<&[u8]> = Vec::with_capacity(record.len());
    names.push(trim_ascii_start(first));
    names.extend(record.iter().skip(1));
    let header_trailing = names.len() > 1 && names.last().is_some_and(|n| n.is_empty());
    if header_trailing {
        names.pop();
    }
    let raw_len = names.len();

    // Map raw field positions to output columns, dropping the `-` separator.
    let mut columns: Vec<String> = Vec::with_capacity(raw_len);
    let mut target: Vec<Option<usize>> = Vec::with_capacity(raw_len);
    for (pos, name) in names.iter().enumerate() {
        let name = std::str::from_utf8(name)
            .map_err(|_| ParseError::new(header_line, format!("column {pos}: name is not UTF-8")))?
            .trim();
        if name.is_empty() {
            return Err(ParseError::new(
                header_line,
                format!("column {pos}: empty column name in the header"),
            ));
        }
        if name == "-" {
            target.push(None);
            continue;
        }
        target.push(Some(columns.len()));
        columns.push(name.to_owned());
    }
    let Some(pxname_col) = columns.iter().position(|c| c == "pxname") else {
        return Err(ParseError::new(
            header_line,
            "header has no `pxname` column: not a `show stat` reply",
        ));
    };
    if !columns.iter().any(|c| c == "svname") {
        return Err(ParseError::new(
            header_line,
            "header has no `svname` column: not a `show stat` reply",
        ));
    }
    let ncols = columns.len();
    // A name given twice (HAProxy never does, a mangled reply may) reads as
    // its first column, the one `Stat::index` and `Stat::find` use: the
    // by-name lookups must not answer from another column than those.
    let mut index = std::collections::HashMap::with_capacity(ncols);
    for (i, c) in columns.iter().enumerate() {
        index.entry(c.clone()).or_insert(i);
    }
    let header = Arc::new(Header {
        index,
        is_text: columns
            .iter()
            .map(|c| TEXT_COLUMNS.contains(&c.as_str()))
            .collect(),
        names: columns,
    });
    Ok(Layout {
        header,
        target,
        raw_len,
        header_trailing,
        pxname_col,
        ncols,
    })
}

fn csv_error(e: csv::Error) -> ParseError {
    let line = e.position().map_or(1, |p| p.line() as usize);
    ParseError::new(line, format!("CSV error: {e}"))
}

fn excerpt(text: &str) -> String {
    let first = text.trim_start().lines().next().unwrap_or_default();
    first.chars().take(60).collect()
}

fn trim_ascii_start(b: &[u8]) -> &[u8] {
    let skip = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[skip..]
}

/// Parse an optionally negative decimal integer without allocating; `None` on anything else
/// (including overflow).
fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_sub(i64::from(c - b'0'))?;
    }
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_bounds_parsed_rows_not_only_bytes() {
        // 6 bytes on the wire per row, over 400 bytes parsed (padded to 202 columns).
        let cols: String = (0..200).map(|i| format!("c{i},")).collect();
        let header = format!("# pxname,svname,{cols}\n");
        let rows = "bk,s,\n".repeat(100_000);
        let mut p = StatParser::new().with_limit(1024 * 1024);
        p.feed(header.as_bytes()).unwrap();
        for chunk in rows.as_bytes().chunks(256 * 1024) {
            p.feed(chunk).unwrap();
        }
        assert!(p.over_limit());
        let e = p.finish().unwrap_err();
        assert!(e.message.contains("limit of 1048576 bytes"), "{e}");

        // The same rows within a larger limit parse.
        let mut p = StatParser::new().with_limit(64 * 1024 * 1024);
        p.feed(header.as_bytes()).unwrap();
        p.feed(rows.as_bytes()).unwrap();
        assert!(!p.over_limit());
        assert_eq!(p.finish().unwrap().len(), 100_000);
    }

    const STAT_15: &str = include_str!("../../tests/fixtures/runtime/stat-1.5.csv");
    const STAT_26: &str = include_str!("../../tests/fixtures/runtime/stat-2.6.csv");
    const STAT_28: &str = include_str!("../../tests/fixtures/runtime/stat-2.8.csv");

    #[test]
    fn rows_without_quotes_read_as_the_csv_reader_reads_them() {
        let by_csv = |text: &str| {
            let mut p = StatParser::new().csv_only();
            p.feed(text.as_bytes())?;
            p.finish()
        };
        let mut odd = STAT_26.replace('\n', "\r\n");
        odd.push_str("\n\r\n");
        let blank_first = format!("\r\n\n{STAT_26}");
        for text in [
            STAT_26.to_string(),
            odd,
            STAT_26.trim_end().to_string(),
            blank_first,
        ] {
            let header_end = text.trim_start().find('\n').unwrap() + 1;
            let mut p = StatParser::new();
            p.feed(&text.as_bytes()[..header_end]).unwrap();
            for chunk in text.as_bytes()[header_end..].chunks(97) {
                p.feed(chunk).unwrap();
            }
            let csv = by_csv(&text).unwrap();
            assert_eq!(p.finish().unwrap(), csv);
            assert_eq!(parse_stat(&text).unwrap(), csv);
        }
        // A header that is not one, and a header alone: the same answer.
        for text in ["\n\nfoo,bar\n1,2\n", "# pxname,svname,status", "#\n"] {
            assert_eq!(parse_stat(text), by_csv(text), "{text:?}");
        }
        // A short row is an error naming the same line either way.
        let broken = STAT_26.replacen("be_app,app2,", "be_app,app2\n", 1);
        let whole = parse_stat(&broken).unwrap_err();
        let header_end = broken.find('\n').unwrap() + 1;
        let mut p = StatParser::new();
        p.feed(&broken.as_bytes()[..header_end]).unwrap();
        let streamed = p
            .feed(&broken.as_bytes()[header_end..])
            .and_then(|()| p.finish().map(|_| ()))
            .unwrap_err();
        assert_eq!(whole, streamed);
    }

    #[test]
    fn a_blank_reply_is_empty_however_it_is_cut() {
        // Found by the stat fuzz target: read whole it was "empty", streamed
        // its blank lines went to the header parse.
        for text in ["\n", " \n \n", "\r\n\r\n  ", &" ".repeat(100)] {
            let whole = parse_stat(text).unwrap_err();
            assert!(whole.message.starts_with("empty reply"), "{whole}");
            for cut in 0..=text.len() {
                let mut p = StatParser::new();
                p.feed(&text.as_bytes()[..cut]).unwrap();
                p.feed(&text.as_bytes()[cut..]).unwrap();
                assert_eq!(p.finish().unwrap_err(), whole, "cut at {cut} of {text:?}");
            }
        }
    }

    #[test]
    fn a_reply_without_a_header_names_its_first_line_however_it_is_cut() {
        // Found by the stat fuzz target: the message quoted the first bytes
        // read so far, so a reply cut early was quoted shorter streamed.
        let text = b"\x0b\n\n\x06\0\0\0\n\0\0\nbk,x\n";
        let whole = parse_stat(std::str::from_utf8(text).unwrap()).unwrap_err();
        assert!(
            whole
                .message
                .contains("missing `# pxname,svname,...` header"),
            "{whole}"
        );
        for cut in 0..=text.len() {
            let mut p = StatParser::new();
            let streamed = p
                .feed(&text[..cut])
                .and_then(|()| p.feed(&text[cut..]))
                .and_then(|()| p.finish())
                .unwrap_err();
            assert_eq!(streamed, whole, "cut at {cut}");
        }
        let e = parse_stat("HTTP/1.1 200 OK\r\n\r\n").unwrap_err();
        assert!(
            e.message.ends_with("its first line is \"HTTP/1.1 200 OK\""),
            "{e}"
        );
    }

    #[test]
    fn a_last_line_of_blanks_with_no_end_is_not_a_row() {
        // HAProxy ends a reply with an empty line; blanks after the last
        // newline are that end (the stat fuzz target's oracle counted them).
        for text in [
            "# pxname,svname\nbk,s\n\t\t",
            "# pxname,svname\nbk,s\n\n\n  ",
            "# pxname,svname\nbk,s\n\n\t\t\r",
        ] {
            assert_eq!(parse_stat(text).unwrap().len(), 1, "{text:?}");
        }
        // A line of blanks with an end, among rows, is a truncated row.
        assert!(parse_stat("# pxname,svname\n\t\t\nbk,s\n").is_err());
    }

    #[test]
    fn real_26_capture() {
        let s = parse_stat(STAT_26).unwrap();
        assert_eq!(s.len(), 8);
        assert_eq!(s.columns[0], "pxname");
        assert!(!s.columns.iter().any(|c| c == "-" || c.is_empty()));
        // Module columns after the `-` separator are kept.
        assert!(s.index("h1_bytes_out").is_some());
        assert!(s.index("ssl_sess").unwrap() > s.index("agg_check_status").unwrap());
        assert!(s.rows.iter().all(|r| r.len() == s.columns.len()));

        let fe = s.find("fe_main", "FRONTEND").unwrap();
        assert_eq!(s.proxy_type(fe), Some(ProxyType::Frontend));
        assert_eq!(s.text(fe, "status"), Some("OPEN"));
        assert_eq!(s.int(fe, "slim"), Some(9984));
        assert_eq!(s.value(fe, "qcur"), None); // empty, not 0

        let app1 = s.find("be_app", "app1").unwrap();
        assert_eq!(s.proxy_type(app1), Some(ProxyType::Server));
        assert_eq!(s.text(app1, "status"), Some("UP"));
        assert_eq!(s.int(app1, "scur"), Some(0));
        assert_eq!(s.int(app1, "qmax"), Some(0));
        assert_eq!(s.int(app1, "stot"), Some(1));
        assert_eq!(s.text(app1, "check_status"), Some("L4OK"));
        assert_eq!(s.text(app1, "check_desc"), Some("Layer4 check passed"));
        assert_eq!(s.text(app1, "addr"), Some("127.0.0.1:18081"));
        // Quoted value with a comma (server cookie "a,b").
        assert_eq!(s.text(app1, "cookie"), Some("a,b"));
        assert_eq!(s.value(app1, "qlimit"), None);

        let app2 = s.find("be_app", "app2").unwrap();
        assert_eq!(s.text(app2, "status"), Some("DRAIN"));
        assert_eq!(s.int(app2, "lastsess"), Some(-1));
        let app3 = s.find("be_app", "app3").unwrap();
        assert_eq!(s.text(app3, "status"), Some("MAINT"));

        // A backend named `123` stays text.
        let s1 = s.find("123", "s1").unwrap();
        assert_eq!(
            s.value(s1, "pxname"),
            Some(StatValue::Text("123".to_owned()))
        );
        assert_eq!(s.text(s1, "status"), Some("MAINT"));
        assert_eq!(s.int(s1, "weight"), Some(50));
        let s2 = s.find("123", "s2").unwrap();
        assert_eq!(s.text(s2, "status"), Some("DOWN"));
        assert_eq!(s.text(s2, "last_chk"), Some("Connection refused"));
        let be = s.find("123", "BACKEND").unwrap();
        assert_eq!(s.proxy_type(be), Some(ProxyType::Backend));
        assert_eq!(s.text(be, "algo"), Some("roundrobin"));
        assert_eq!(s.int(be, "agg_server_status"), Some(0));
    }

    #[test]
    fn header_driven_across_layouts() {
        let s15 = parse_stat(STAT_15).unwrap();
        let s26 = parse_stat(STAT_26).unwrap();
        let s28 = parse_stat(STAT_28).unwrap();
        assert_eq!(s15.columns.len(), 62);
        assert_eq!(s15.columns.last().map(String::as_str), Some("ttime"));
        assert_eq!(s28.columns.len(), 128); // 129 header fields minus `-`
        for s in [&s15, &s26, &s28] {
            assert_eq!(s.index("pxname"), Some(0));
            assert_eq!(s.index("status"), Some(17));
            assert_eq!(s.index("type"), Some(32));
        }
        assert_eq!(s15.index("agg_server_status"), None);
        assert_eq!(s26.index("agg_server_status"), Some(100));
        assert_eq!(s28.index("agg_server_status"), Some(100));
        assert_eq!(s28.index("srid"), Some(103));
        assert_eq!(s28.index("ssl_sess"), Some(104));

        let w2 = s15.find("app", "web2").unwrap();
        assert_eq!(s15.text(w2, "status"), Some("DOWN 1/2"));
        assert_eq!(s15.int(w2, "econ"), Some(12));
        assert_eq!(s15.text(w2, "check_status"), Some("L4CON"));
        assert_eq!(s15.int(w2, "check_code"), None);
        let w1 = s15.find("app", "web1").unwrap();
        assert_eq!(s15.int(w1, "check_code"), Some(200));
        assert_eq!(
            s15.text(w1, "last_chk"),
            Some("HTTP status check returned code <200>")
        );

        let a2 = s28.find("api", "api-2").unwrap();
        assert_eq!(s28.text(a2, "status"), Some("DRAIN (agent)"));
        assert_eq!(s28.text(a2, "last_agt"), Some("drain"));
        assert_eq!(s28.int(a2, "weight"), Some(0));
        let a3 = s28.find("api", "api-3").unwrap();
        assert_eq!(s28.text(a3, "status"), Some("MAINT (via api/api-1)"));
        assert_eq!(s28.text(a3, "tracked"), Some("api/api-1"));
        assert_eq!(s28.text(a3, "addr"), Some("[2001:db8::13]:8080"));
        assert_eq!(s28.int(a3, "srid"), Some(2));
        let be = s28.find("api", "BACKEND").unwrap();
        assert_eq!(s28.int(be, "bout"), Some(970_000_000_000));
        assert_eq!(s28.int(be, "agg_check_status"), Some(2));
        assert_eq!(s28.text(be, "algo"), Some("leastconn"));
        let fe = s28.find("fe_https", "FRONTEND").unwrap();
        assert_eq!(s28.int(fe, "h2_open_connections"), Some(0));
        assert_eq!(s28.int(a3, "h2_open_connections"), None);
    }

    /// Found by `fuzz/fuzz_targets/stat.rs` (minimized): `value("0")` read the
    /// last `0` column while `index("0")` named the first.
    #[test]
    fn a_repeated_column_name_reads_as_its_first_column() {
        let s = parse_stat("#pxname,svname,0,0\nn,,0,\n").unwrap();
        assert_eq!(s.index("0"), Some(2));
        assert_eq!(s.value(0, "0"), Some(StatValue::Int(0)));
        assert_eq!(s.rows[0].value("0"), s.rows[0].get(2));
        assert_eq!(s.rows[0].header().index("0"), Some(2));
        assert_eq!(s.int(0, "0"), Some(0));
    }

    #[test]
    fn quoting_and_text_columns() {
        let text = "# pxname,svname,status,last_chk,scur,weird,-,mod_x,\n\
                    007,\"s,1\",UP,\"said \"\"hi\"\", ok\",42,1.5,-,7,\n";
        let s = parse_stat(text).unwrap();
        assert_eq!(
            s.columns,
            ["pxname", "svname", "status", "last_chk", "scur", "weird", "mod_x"]
        );
        assert_eq!(s.text(0, "pxname"), Some("007"));
        assert_eq!(s.text(0, "svname"), Some("s,1"));
        assert_eq!(s.text(0, "last_chk"), Some("said \"hi\", ok"));
        assert_eq!(s.int(0, "scur"), Some(42));
        assert_eq!(s.text(0, "weird"), Some("1.5"));
        assert_eq!(s.int(0, "mod_x"), Some(7));
        assert_eq!(s.int(0, "nope"), None);
        assert_eq!(s.value(7, "scur"), None);
        let json = serde_json::to_string(&s.rows[0]).unwrap();
        assert!(json.starts_with("[\"007\",\"s,1\",\"UP\","), "{json}");
    }

    #[test]
    fn lenient_rows() {
        // Short row that still ends with HAProxy's trailing comma: padded with None.
        let s = parse_stat("# pxname,svname,scur,smax,\nfe,FRONTEND,3,\n\n").unwrap();
        assert_eq!(s.int(0, "scur"), Some(3));
        assert_eq!(s.value(0, "smax"), None);
        // No trailing commas at all (other producers): fine when complete.
        let s = parse_stat("# pxname,svname,scur\nfe,FRONTEND,3\nbe,BACKEND,4").unwrap();
        assert_eq!(s.int(1, "scur"), Some(4));
        // Extra empty fields are ignored.
        let s = parse_stat("# pxname,svname,scur,\nfe,FRONTEND,3,,,\n").unwrap();
        assert_eq!(s.len(), 1);
        // Header only: valid, no rows.
        let s = parse_stat("# pxname,svname,scur,\n").unwrap();
        assert!(s.is_empty());
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "empty"),
            ("\n\n", 1, "empty"),
            (
                "Unknown command. Please enter one of the following commands only :\n",
                1,
                "header",
            ),
            ("Permission denied\n", 1, "header"),
            ("pxname,svname,scur,\nfe,FRONTEND,1,\n", 1, "header"),
            ("# foo,bar,\n1,2,\n", 1, "pxname"),
            ("# pxname,,scur,\n", 1, "empty column"),
            (
                "# pxname,svname,scur,\nfe,FRONTEND,1,2,3,\n",
                2,
                "misaligned",
            ),
            (
                "# pxname,svname,scur,smax,\nfe,FRONTEND,1,2,\nbe,BACK",
                3,
                "truncated",
            ),
            (
                "# pxname,svname,scur,smax,\nfe,FRONTEND,1,2,\nbe,BACKEND,",
                3,
                "truncated",
            ),
            ("# pxname,svname,scur,smax,\nfe,FRONTEND\n", 2, "truncated"),
            (
                "# pxname,svname,scur,\n\u{0}\u{1}\u{7f}\u{fffd}garbage\n",
                2,
                "truncated",
            ),
            ("# pxname,svname,scur,\n,FRONTEND,1,\n", 2, "pxname"),
        ];
        for (input, line, needle) in cases {
            let e = parse_stat(input).expect_err(input);
            assert_eq!(e.line, *line, "{input:?}: {e}");
            assert!(e.to_string().contains(needle), "{input:?}: {e}");
        }
        // Truncating the real capture anywhere never panics; a cut inside the data is reported.
        for cut in 0..STAT_26.len() {
            if STAT_26.is_char_boundary(cut) {
                let _ = parse_stat(&STAT_26[..cut]);
            }
        }
        let mid = STAT_26.len() / 2;
        assert!(parse_stat(&STAT_26[..mid]).is_err());
        // Arbitrary bytes never panic.
        let junk: String = (0..2000u32)
            .map(|i| char::from_u32((i * 7919) % 0x250).unwrap_or('?'))
            .collect();
        let _ = parse_stat(&junk);
        let _ = parse_stat(&format!("# pxname,svname,\n{junk}"));
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"1a"), None);
        assert_eq!(parse_i64(b""), None);
    }

    fn big_reply(rows: usize) -> String {
        let header = STAT_26.lines().next().unwrap();
        let sample: Vec<&str> = STAT_26.lines().skip(1).filter(|l| !l.is_empty()).collect();
        let mut out = String::with_capacity(rows * 400);
        out.push_str(header);
        out.push('\n');
        for i in 0..rows {
            out.push_str(sample[i % sample.len()]);
            out.push('\n');
        }
        out.push('\n');
        out
    }

    #[test]
    fn many_rows() {
        let text = big_reply(2000);
        let s = parse_stat(&text).unwrap();
        assert_eq!(s.len(), 2000);
        assert_eq!(s.text(1999, "svname"), s.text(1999 % 8, "svname"));
    }

    #[test]
    fn streaming_in_any_chunking_matches_whole_parse() {
        for text in [STAT_15, STAT_26, STAT_28] {
            let whole = parse_stat(text).unwrap();
            for size in [1, 2, 3, 7, 64, 1000] {
                let mut p = StatParser::new();
                for chunk in text.as_bytes().chunks(size) {
                    p.feed(chunk).unwrap();
                }
                let streamed = p.finish().unwrap();
                assert_eq!(streamed.columns, whole.columns);
                assert_eq!(streamed.len(), whole.len());
                for r in 0..whole.len() {
                    assert_eq!(
                        streamed.rows[r].values(),
                        whole.rows[r].values(),
                        "chunk {size} row {r}"
                    );
                }
            }
        }
        // A truncated reply is still caught when streamed.
        let cut = &STAT_26[..STAT_26.len() - 40];
        let mut p = StatParser::new();
        p.feed(cut.as_bytes()).unwrap();
        assert!(p.finish().is_err());
    }

    #[test]
    fn invalid_utf8_is_repaired_per_field() {
        let mut text = b"# pxname,svname,status,\nfe,FRONT".to_vec();
        text.extend_from_slice(&[0xff, 0xfe]);
        text.extend_from_slice(b"END,OPEN,\n");
        let mut p = StatParser::new();
        p.feed(&text).unwrap();
        let s = p.finish().unwrap();
        assert_eq!(s.text(0, "svname"), Some("FRONT\u{fffd}\u{fffd}END"));
        assert_eq!(s.text(0, "status"), Some("OPEN"));
    }
}
