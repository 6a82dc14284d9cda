//! Which traffic entries a query keeps: time window, frontend, backend, server, status,
//! termination state.

use super::entry::Entry;
use super::time::accept_date_secs;

/// A status condition: `503`, or a class `5xx`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Exact(i64),
    Class(i64),
}

impl Status {
    /// `503`, `5xx`, `5XX`.
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() == 3 && b[0].is_ascii_digit() && b[1..].eq_ignore_ascii_case(b"xx") {
            return Some(Status::Class(i64::from(b[0] - b'0')));
        }
        s.parse()
            .ok()
            .filter(|v| (100..1000).contains(v) || *v == -1)
            .map(Status::Exact)
    }

    fn matches(&self, st: i64) -> bool {
        match self {
            Status::Exact(v) => st == *v,
            Status::Class(c) => st >= 0 && st / 100 == *c,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Seconds on the log's clock (see [`super::time`]), inclusive.
    pub since: Option<i64>,
    /// Exclusive.
    pub until: Option<i64>,
    pub frontend: Option<Vec<u8>>,
    pub backend: Option<Vec<u8>>,
    /// `srv` or `backend/srv`.
    pub server: Option<Vec<u8>>,
    pub status: Option<Status>,
    /// A prefix of the termination state: `sH` keeps `sH--`, `s` keeps every server timeout.
    pub termination: Option<Vec<u8>>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    pub fn has_time(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// Whether `e` passes (the time window is checked with `secs`, the entry's accept time,
    /// computed by the caller only when [`Filter::has_time`]).
    #[inline]
    pub fn keep(&self, e: &Entry<'_>, secs: Option<i64>) -> bool {
        if let Some(f) = &self.frontend {
            if e.frontend != &f[..] {
                return false;
            }
        }
        if let Some(b) = &self.backend {
            if e.backend != &b[..] {
                return false;
            }
        }
        if let Some(s) = &self.server {
            let ok = match memchr::memchr(b'/', s) {
                Some(i) => e.backend == &s[..i] && e.server == &s[i + 1..],
                None => e.server == &s[..],
            };
            if !ok {
                return false;
            }
        }
        if let Some(st) = &self.status {
            if !st.matches(e.status) {
                return false;
            }
        }
        if let Some(t) = &self.termination {
            if !e.termination_state.starts_with(t) {
                return false;
            }
        }
        if self.has_time() {
            let Some(t) = secs.or_else(|| accept_date_secs(e.accept_date)) else {
                return false;
            };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::entry::parse_fixed;
    use crate::logs::time::parse_user_time;

    #[test]
    fn keeps_what_it_should() {
        let e = parse_fixed(b"127.0.0.1:46946 [06/Dec/2026:21:10:50.141] fe_http bk_slow/slow1 0/0/0/-1/301 504 198 - - sH-- 1/1/0/0/0 0/0 \"GET /slow HTTP/1.1\"").unwrap();
        let yes = |f: Filter| assert!(f.keep(&e, None), "{f:?}");
        let no = |f: Filter| assert!(!f.keep(&e, None), "{f:?}");
        yes(Filter::default());
        yes(Filter {
            server: Some(b"slow1".to_vec()),
            ..Filter::default()
        });
        yes(Filter {
            server: Some(b"bk_slow/slow1".to_vec()),
            ..Filter::default()
        });
        no(Filter {
            server: Some(b"bk_ok/slow1".to_vec()),
            ..Filter::default()
        });
        yes(Filter {
            status: Status::parse("5xx"),
            termination: Some(b"sH".to_vec()),
            ..Filter::default()
        });
        no(Filter {
            status: Status::parse("503"),
            ..Filter::default()
        });
        no(Filter {
            termination: Some(b"SC".to_vec()),
            ..Filter::default()
        });
        yes(Filter {
            since: parse_user_time("2026-12-06T21:10"),
            until: parse_user_time("2026-12-06T21:11"),
            ..Filter::default()
        });
        no(Filter {
            since: parse_user_time("2026-12-06T21:11"),
            ..Filter::default()
        });
        no(Filter {
            backend: Some(b"bk_ok".to_vec()),
            ..Filter::default()
        });
        no(Filter {
            frontend: Some(b"fe".to_vec()),
            ..Filter::default()
        });
        assert_eq!(Status::parse("5XX"), Some(Status::Class(5)));
        assert_eq!(Status::parse("abc"), None);
        assert_eq!(Status::parse("42"), None);
    }
}
