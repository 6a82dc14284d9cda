//! Where lines come from: a file (plain or gzip, found by its magic bytes, so a rotated
//! `haproxy.log.2.gz` and a `haproxy.log.1` both read), or stdin (`-`). Lines are read in
//! fixed-size blocks and handed out as slices of the block: memory stays the same whatever
//! the file size, and a line longer than [`MAX_LINE`] is skipped (counted, with a sample)
//! instead of buffered.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Bytes read at a time.
const BLOCK: usize = 1 << 20;
/// Longest line kept; HAProxy's own limit (`len`) is at most 65535.
pub const MAX_LINE: usize = 64 * 1024;

/// Why a source cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: no such file{hint}")]
    NotFound { path: String, hint: String },
    #[error("{path}: permission denied (HAProxy's log is usually readable by root and the `adm` group: run with sudo or `usermod -aG adm $USER`)")]
    Denied { path: String },
    #[error("{path}: is a directory (give a file such as {path}/haproxy.log)")]
    Directory { path: String },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// What a source yields for each line.
pub enum Event<'a> {
    Line(&'a [u8]),
    /// A line over [`MAX_LINE`]: its first bytes and its full length.
    TooLong {
        head: &'a [u8],
        len: usize,
    },
}

/// What reading ended with, besides the lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadEnd {
    pub bytes: u64,
    /// The gzip stream ended early or is corrupt (what was read before is kept).
    pub damaged: Option<String>,
    /// The consumer asked to stop (a `limit` was reached).
    pub stopped: bool,
}

/// An opened source.
pub struct Source {
    pub name: String,
    reader: Box<dyn Read + Send>,
    pub gzip: bool,
    /// The size on disk, when known (progress).
    pub size: Option<u64>,
    /// Compressed bytes read so far, for a gzip file: its progress is measured
    /// on disk, since the decompressed size is unknown until the end.
    pub compressed_read: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

/// A reader that counts what passes through it (a gzip file's bytes on disk).
struct Counted<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("gzip", &self.gzip)
            .finish()
    }
}

fn open_error(path: &Path, e: io::Error) -> SourceError {
    let p = path.display().to_string();
    match e.kind() {
        io::ErrorKind::NotFound => {
            let hint = if p.starts_with("/var/log/") {
                " (HAProxy may log to the journal: `journalctl -u haproxy -o short > /tmp/h.log`, or see `harun enable_logs`)".to_string()
            } else {
                String::new()
            };
            SourceError::NotFound { path: p, hint }
        }
        io::ErrorKind::PermissionDenied => SourceError::Denied { path: p },
        _ => SourceError::Io { path: p, source: e },
    }
}

/// Opens `-` (stdin), `journal` / `journal:UNIT` (`journalctl -u UNIT`, haproxy by default)
/// or a file; gzip is recognised by its first two bytes.
pub fn open(spec: &str) -> Result<Source, SourceError> {
    if spec == "-" {
        return Ok(Source {
            name: "stdin".into(),
            reader: Box::new(io::stdin()),
            gzip: false,
            size: None,
            compressed_read: None,
        });
    }
    if let Some(unit) = journal_unit(spec) {
        return open_journal(unit);
    }
    open_path(Path::new(spec))
}

/// `journal` → `haproxy`, `journal:NAME` → `NAME`.
pub fn journal_unit(spec: &str) -> Option<&str> {
    if spec == "journal" {
        return Some("haproxy");
    }
    spec.strip_prefix("journal:").filter(|u| {
        !u.is_empty()
            && u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    })
}

/// `journalctl`'s output read as it comes; the process is stopped when the source is
/// dropped (a `limit` reached before the end).
struct ChildReader {
    child: std::process::Child,
    stdout: std::process::ChildStdout,
}

impl Read for ChildReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stdout.read(buf)
    }
}

impl Drop for ChildReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn open_journal(unit: &str) -> Result<Source, SourceError> {
    let name = format!("journalctl -u {unit}");
    let mut child = std::process::Command::new("journalctl")
        .args(["-u", unit, "-o", "short-iso", "--no-pager", "-q"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => SourceError::NotFound {
                path: "journalctl".into(),
                hint: " (no systemd journal on this host: give HAProxy's log file instead)".into(),
            },
            _ => SourceError::Io {
                path: name.clone(),
                source: e,
            },
        })?;
    let stdout = child.stdout.take().ok_or_else(|| SourceError::Io {
        path: name.clone(),
        source: io::Error::other("no stdout"),
    })?;
    Ok(Source {
        name,
        reader: Box::new(ChildReader { child, stdout }),
        gzip: false,
        size: None,
        compressed_read: None,
    })
}

pub fn open_path(path: &Path) -> Result<Source, SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| open_error(path, e))?;
    if meta.is_dir() {
        return Err(SourceError::Directory {
            path: path.display().to_string(),
        });
    }
    let mut f = File::open(path).map_err(|e| open_error(path, e))?;
    let mut magic = [0u8; 2];
    let n = read_full(&mut f, &mut magic).map_err(|e| open_error(path, e))?;
    let head = io::Cursor::new(magic[..n].to_vec());
    let gzip = n == 2 && magic == [0x1f, 0x8b];
    let chained = head.chain(f);
    let mut compressed_read = None;
    let reader: Box<dyn Read + Send> = if gzip {
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        compressed_read = Some(count.clone());
        Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(
                256 * 1024,
                Counted {
                    inner: chained,
                    count,
                },
            ),
        ))
    } else {
        Box::new(chained)
    };
    Ok(Source {
        name: path.display().to_string(),
        reader,
        gzip,
        size: Some(meta.len()),
        compressed_read,
    })
}

/// Splits a plain file into `n` byte ranges that start at line starts, for parallel reads.
/// Fewer ranges come back when the file is small or has few newlines.
pub fn split_ranges(path: &Path, n: usize) -> Result<Vec<(u64, u64)>, SourceError> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path).map_err(|e| open_error(path, e))?;
    let size = f.metadata().map_err(|e| open_error(path, e))?.len();
    let mut cuts = vec![0u64];
    let mut buf = vec![0u8; MAX_LINE];
    for i in 1..n.max(1) {
        let at = size * i as u64 / n as u64;
        if at <= *cuts.last().unwrap_or(&0) {
            continue;
        }
        f.seek(SeekFrom::Start(at))
            .map_err(|e| open_error(path, e))?;
        let got = read_full(&mut f, &mut buf).map_err(|e| open_error(path, e))?;
        if let Some(nl) = memchr::memchr(b'\n', &buf[..got]) {
            let cut = at + nl as u64 + 1;
            if cut < size && cut > *cuts.last().unwrap_or(&0) {
                cuts.push(cut);
            }
        }
    }
    cuts.push(size);
    Ok(cuts.windows(2).map(|w| (w[0], w[1] - w[0])).collect())
}

/// `len` bytes of a plain file from `start` (a range of [`split_ranges`]).
pub fn open_range(path: &Path, start: u64, len: u64) -> Result<Source, SourceError> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path).map_err(|e| open_error(path, e))?;
    f.seek(SeekFrom::Start(start))
        .map_err(|e| open_error(path, e))?;
    Ok(Source {
        name: path.display().to_string(),
        reader: Box::new(f.take(len)),
        gzip: false,
        size: Some(len),
        compressed_read: None,
    })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Names of rotated files of `path`, oldest first, then `path` itself: `haproxy.log.3.gz`,
/// `haproxy.log.2.gz`, `haproxy.log.1`, `haproxy.log` (those that exist).
pub fn with_rotations(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for n in (1..=30).rev() {
        for suffix in [format!(".{n}.gz"), format!(".{n}")] {
            let mut s = path.as_os_str().to_owned();
            s.push(&suffix);
            let p = PathBuf::from(s);
            if p.is_file() {
                out.push(p);
            }
        }
    }
    out.push(path.to_path_buf());
    out
}

impl Source {
    /// Calls `f` with every line (without `\n`); `f` returns false to stop. `progress` gets
    /// the bytes read so far: of the file on disk, also for gzip (counted under the
    /// decoder, since the decompressed size is unknown until the end).
    pub fn for_each(
        mut self,
        mut f: impl FnMut(Event<'_>) -> bool,
        mut progress: impl FnMut(u64),
    ) -> Result<ReadEnd, SourceError> {
        let mut buf = vec![0u8; BLOCK];
        let mut start = 0; // first byte of the current (incomplete) line
        let mut end = 0; // bytes of buf in use
        let mut end_info = ReadEnd::default();
        // Inside a line longer than MAX_LINE: its length so far.
        let mut skipping: Option<usize> = None;
        let mut long_head: Vec<u8> = Vec::with_capacity(200);
        loop {
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            if end == buf.len() {
                // No newline in a whole block: the line is too long.
                if skipping.is_none() {
                    long_head.clear();
                    long_head.extend_from_slice(&buf[..200]);
                }
                skipping = Some(skipping.unwrap_or(0) + end);
                end = 0;
            }
            let n = match self.reader.read(&mut buf[end..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if self.gzip => {
                    end_info.damaged = Some(match e.kind() {
                        io::ErrorKind::UnexpectedEof => format!(
                            "{}: the gzip stream is truncated: the lines after {} bytes are lost",
                            self.name, end_info.bytes
                        ),
                        _ => format!(
                            "{}: the gzip stream is corrupt after {} bytes ({e}): the rest is lost",
                            self.name, end_info.bytes
                        ),
                    });
                    0
                }
                Err(e) => {
                    return Err(SourceError::Io {
                        path: self.name.clone(),
                        source: e,
                    })
                }
            };
            if n == 0 {
                // The last line may have no newline.
                if end > start {
                    let line = &buf[start..end];
                    match skipping {
                        Some(len) => {
                            f(Event::TooLong {
                                head: &long_head,
                                len: len + line.len(),
                            });
                        }
                        None if line.len() > MAX_LINE => {
                            f(Event::TooLong {
                                head: &line[..200],
                                len: line.len(),
                            });
                        }
                        None => {
                            f(Event::Line(line));
                        }
                    }
                }
                return Ok(end_info);
            }
            let scan_from = end;
            end += n;
            end_info.bytes += n as u64;
            progress(match &self.compressed_read {
                Some(c) => c.load(std::sync::atomic::Ordering::Relaxed),
                None => end_info.bytes,
            });
            for nl in memchr::memchr_iter(b'\n', &buf[scan_from..end]) {
                let nl = scan_from + nl;
                let line = &buf[start..nl];
                let go_on = match skipping.take() {
                    // The end of a line longer than a block: reported whole now.
                    Some(len) => f(Event::TooLong {
                        head: &long_head,
                        len: len + line.len(),
                    }),
                    None if line.len() > MAX_LINE => f(Event::TooLong {
                        head: &line[..200],
                        len: line.len(),
                    }),
                    None => f(Event::Line(line)),
                };
                start = nl + 1;
                if !go_on {
                    end_info.stopped = true;
                    return Ok(end_info);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(src: Source) -> (Vec<String>, Vec<usize>, ReadEnd) {
        let mut lines = Vec::new();
        let mut long = Vec::new();
        let end = src
            .for_each(
                |e| {
                    match e {
                        Event::Line(l) => lines.push(String::from_utf8_lossy(l).into_owned()),
                        Event::TooLong { len, .. } => long.push(len),
                    }
                    true
                },
                |_| {},
            )
            .unwrap();
        (lines, long, end)
    }

    #[test]
    fn plain_gzip_long_lines_and_no_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.log");
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!("line {i}\n"));
        }
        text.push_str(&"x".repeat(1_500_000));
        text.push_str("\nafter\nlast");
        std::fs::write(&p, &text).unwrap();
        let (lines, long, end) = collect(open(p.to_str().unwrap()).unwrap());
        assert_eq!(lines.len(), 50_002);
        assert_eq!(
            (
                lines[49_999].as_str(),
                lines[50_000].as_str(),
                lines[50_001].as_str()
            ),
            ("line 49999", "after", "last")
        );
        assert_eq!(long, vec![1_500_000]);
        assert!(end.damaged.is_none());

        let gz = dir.path().join("h.log.2.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        let data = enc.finish().unwrap();
        std::fs::write(&gz, &data).unwrap();
        let (glines, glong, gend) = collect(open_path(&gz).unwrap());
        assert_eq!((glines, glong), (lines, long));
        assert!(gend.damaged.is_none());
        // Progress of a .gz counts its bytes on disk, so a bar can end at 100%.
        let mut seen = Vec::new();
        open_path(&gz)
            .unwrap()
            .for_each(|_| true, |b| seen.push(b))
            .unwrap();
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last().copied(), Some(data.len() as u64));

        // A truncated .gz: what was read is kept, and the damage is named.
        std::fs::write(&gz, &data[..data.len() / 2]).unwrap();
        let (tl, _, tend) = collect(open_path(&gz).unwrap());
        assert!(!tl.is_empty() && tl.len() < 50_000);
        assert!(tend.damaged.unwrap().contains("truncated"),);
        std::fs::write(dir.path().join("h.log.1"), "one\n").unwrap();
        assert_eq!(
            with_rotations(&p),
            vec![gz.clone(), dir.path().join("h.log.1"), p.clone()]
        );
    }

    #[test]
    fn ranges_cover_the_file_on_line_starts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.log");
        let text: String = (0..10_000).map(|i| format!("line number {i}\n")).collect();
        std::fs::write(&p, &text).unwrap();
        for n in [1, 2, 3, 8] {
            let ranges = split_ranges(&p, n).unwrap();
            assert_eq!(ranges.len(), n);
            let mut all = Vec::new();
            for (start, len) in ranges {
                let (lines, _, _) = collect(open_range(&p, start, len).unwrap());
                all.extend(lines);
            }
            assert_eq!(all.len(), 10_000);
            assert_eq!(all[9_999], "line number 9999");
        }
        std::fs::write(&p, "one line without newline").unwrap();
        assert_eq!(split_ranges(&p, 4).unwrap(), vec![(0, 24)]);
    }

    #[test]
    fn errors_name_the_file() {
        let e = open("/nonexistent/haproxy.log").unwrap_err().to_string();
        assert_eq!(e, "/nonexistent/haproxy.log: no such file");
        let e = open("/var/log/nonexistent-harun.log")
            .unwrap_err()
            .to_string();
        assert!(e.contains("journalctl -u haproxy"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path().to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }

    #[test]
    fn journal_specs() {
        assert_eq!(journal_unit("journal"), Some("haproxy"));
        assert_eq!(journal_unit("journal:haproxy@edge"), Some("haproxy@edge"));
        assert_eq!(journal_unit("journal:"), None);
        assert_eq!(journal_unit("journal:a;rm"), None);
        assert_eq!(journal_unit("/var/log/journal"), None);
    }

    #[test]
    fn stops_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.log");
        std::fs::write(&p, "a\nb\nc\n").unwrap();
        let mut n = 0;
        let end = open_path(&p)
            .unwrap()
            .for_each(
                |_| {
                    n += 1;
                    n < 2
                },
                |_| {},
            )
            .unwrap();
        assert!(end.stopped);
        assert_eq!(n, 2);
    }
}
