//! Custom `log-format` strings (and `option httplog clf`, which HAProxy declares as one):
//! compiled once into literals and `%` variables, then matched against lines so a custom
//! format is parsed by variable name into the same fields as `option httplog`.
//!
//! Variables harun does not know (`%ID`, `%[sample]`, `%sslv`, ...) are matched and skipped;
//! a format with no variable harun can use is refused with the reason.

use super::entry::{frontend, int, Entry, Format, NA};

/// The `log-format` HAProxy uses for `option httplog clf` (configuration.txt 8.2.3).
pub const CLF: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    ClientIp,
    ClientPort,
    Date,
    Frontend,
    FrontendName,
    Backend,
    Server,
    TR,
    Tw,
    Tc,
    Tr,
    Ta,
    Tt,
    Status,
    Bytes,
    Cc,
    Cs,
    Termination,
    Ac,
    Fc,
    Bc,
    Sc,
    Rc,
    Sq,
    Bq,
    Hr,
    Hs,
    Request,
    Method,
    Uri,
    /// Matched, not kept.
    Skip,
}

fn var_of(name: &str) -> Var {
    match name {
        "ci" => Var::ClientIp,
        "cp" => Var::ClientPort,
        "t" | "tr" | "trg" | "trl" | "T" | "Tl" => Var::Date,
        "ft" => Var::Frontend,
        "f" => Var::FrontendName,
        "b" => Var::Backend,
        "s" => Var::Server,
        "TR" | "Tq" => Var::TR,
        "Tw" => Var::Tw,
        "Tc" => Var::Tc,
        "Tr" => Var::Tr,
        "Ta" => Var::Ta,
        "Tt" => Var::Tt,
        "ST" => Var::Status,
        "B" => Var::Bytes,
        "CC" => Var::Cc,
        "CS" => Var::Cs,
        "ts" | "tsc" => Var::Termination,
        "ac" => Var::Ac,
        "fc" => Var::Fc,
        "bc" => Var::Bc,
        "sc" => Var::Sc,
        "rc" => Var::Rc,
        "sq" => Var::Sq,
        "bq" => Var::Bq,
        "hr" | "hrl" => Var::Hr,
        "hs" | "hsl" => Var::Hs,
        "r" => Var::Request,
        "HM" => Var::Method,
        "HU" | "HP" | "HPO" => Var::Uri,
        _ => Var::Skip,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Lit(Vec<u8>),
    Var(Var),
}

/// A compiled `log-format`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFormat {
    /// The format as written (for messages).
    pub text: String,
    /// Where it was read (`haproxy.cfg:42`), empty for built-ins.
    pub location: String,
    pieces: Vec<Piece>,
    http: bool,
}

/// Compiles a `log-format` string. Errors say why harun cannot use it.
pub fn compile(text: &str, location: &str) -> Result<LogFormat, String> {
    let b = text.as_bytes();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut lit: Vec<u8> = Vec::new();
    let mut i = 0;
    let push_lit = |pieces: &mut Vec<Piece>, lit: &mut Vec<u8>| {
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(lit)));
        }
    };
    while i < b.len() {
        if b[i] != b'%' {
            // HAProxy merges runs of spaces into one.
            if !(b[i] == b' ' && lit.last() == Some(&b' ')) {
                lit.push(b[i]);
            }
            i += 1;
            continue;
        }
        i += 1;
        if b.get(i) == Some(&b'%') {
            lit.push(b'%');
            i += 1;
            continue;
        }
        if b.get(i) == Some(&b'{') {
            let close = b[i..]
                .iter()
                .position(|&c| c == b'}')
                .ok_or_else(|| format!("unclosed `%{{` at byte {i}"))?;
            i += close + 1;
        }
        let var = if b.get(i) == Some(&b'[') {
            let mut depth = 0;
            let start = i;
            while i < b.len() {
                match b[i] {
                    b'[' => depth += 1,
                    b']' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if i >= b.len() {
                return Err(format!("unclosed `%[` at byte {start}"));
            }
            i += 1;
            Var::Skip
        } else {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let name = &text[start..i];
            if name.is_empty() {
                return Err(format!(
                    "a `%` without a variable name at byte {}",
                    start - 1
                ));
            }
            if name == "o" {
                // `%o` only carries flags for the variables after it, and writes nothing
                // (nor the separator after it).
                if b.get(i) == Some(&b' ') {
                    i += 1;
                }
                continue;
            }
            var_of(name)
        };
        push_lit(&mut pieces, &mut lit);
        pieces.push(Piece::Var(var));
    }
    push_lit(&mut pieces, &mut lit);
    let used = |v: Var| pieces.contains(&Piece::Var(v));
    if !(used(Var::Frontend) || used(Var::FrontendName) || used(Var::Backend)) {
        return Err("it logs no frontend (`%ft`/`%f`) nor backend (`%b`): its lines cannot be told apart from other text".into());
    }
    let http =
        used(Var::Status) || used(Var::Request) || used(Var::TR) || used(Var::Ta) || used(Var::Uri);
    Ok(LogFormat {
        text: text.to_string(),
        location: location.to_string(),
        pieces,
        http,
    })
}

/// The built-in CLF format, compiled once.
pub fn clf() -> &'static LogFormat {
    static CLF_FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();
    CLF_FORMAT.get_or_init(|| compile(CLF, "").unwrap_or_else(|_| unreachable!("CLF compiles")))
}

/// A quoted value: (inside, bytes consumed including quotes); `\"` escapes are skipped.
fn quoted(s: &[u8]) -> Option<(&[u8], usize)> {
    let mut j = 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'"' => return Some((&s[1..j], j + 1)),
            _ => j += 1,
        }
    }
    None
}

impl LogFormat {
    /// Matches a message; `None` when it does not have this format's shape.
    pub fn parse<'a>(&self, msg: &'a [u8], format: Format) -> Option<Entry<'a>> {
        let mut e = Entry::new(format, self.http);
        let mut pos = 0;
        let mut plus = false;
        let mut matched_any = false;
        for (k, p) in self.pieces.iter().enumerate() {
            let rest = &msg[pos.min(msg.len())..];
            match p {
                Piece::Lit(l) => {
                    if rest.is_empty() && matched_any {
                        e.truncated = l.iter().any(|&c| c != b' ');
                        break;
                    }
                    if !rest.starts_with(l) {
                        // A line cut by `len` ends inside a literal.
                        if matched_any && l.starts_with(rest) {
                            e.truncated = true;
                            break;
                        }
                        return None;
                    }
                    pos += l.len();
                }
                Piece::Var(v) => {
                    if rest.is_empty() && matched_any {
                        // Empty trailing values (`%hrl %hsl` without captures) or a cut line:
                        // a cut shows up on the next literal that has more than spaces.
                        e.truncated = self.pieces[k..]
                            .iter()
                            .any(|p| matches!(p, Piece::Lit(l) if l.iter().any(|&c| c != b' ')));
                        break;
                    }
                    let next = match self.pieces.get(k + 1) {
                        Some(Piece::Lit(l)) => Some(&l[..]),
                        Some(Piece::Var(_)) => Some(&b" "[..]),
                        None => None,
                    };
                    let (value, used) = if rest.first() == Some(&b'"') {
                        match quoted(rest) {
                            Some(q) => q,
                            None => {
                                e.truncated = true;
                                (&rest[1..], rest.len())
                            }
                        }
                    } else if matches!(v, Var::Hr | Var::Hs) && rest.first() == Some(&b'{') {
                        let mut c = super::entry::Cur::new(rest);
                        let inner = c.braces()?;
                        (inner, c.i)
                    } else if *v == Var::ClientIp && next == Some(&b":"[..]) {
                        // `%ci:%cp` with an IPv6 client (`::1:5`): the port follows the last `:`.
                        let word = memchr::memchr(b' ', rest).unwrap_or(rest.len());
                        let end = memchr::memrchr(b':', &rest[..word]).unwrap_or(word);
                        (&rest[..end], end)
                    } else {
                        let end = match next {
                            Some(l) => memchr::memmem::find(rest, l).unwrap_or(rest.len()),
                            None => rest.len(),
                        };
                        (&rest[..end], end)
                    };
                    pos += used;
                    self.assign(&mut e, *v, value, &mut plus)?;
                    matched_any = true;
                }
            }
        }
        if e.frontend.is_empty() && e.backend.is_empty() {
            return None;
        }
        e.logasap = plus;
        Some(e)
    }

    fn assign<'a>(&self, e: &mut Entry<'a>, v: Var, s: &'a [u8], plus: &mut bool) -> Option<()> {
        let mut ignore = false;
        let num = |s: &[u8], p: &mut bool| -> Option<i64> {
            if s.is_empty() || s == b"-" {
                Some(NA)
            } else {
                int(s, p)
            }
        };
        match v {
            Var::ClientIp => e.client_ip = s,
            Var::ClientPort => e.client_port = num(s, &mut ignore)?,
            Var::Date => e.accept_date = s,
            Var::Frontend => (e.frontend, e.ssl) = frontend(s),
            Var::FrontendName => e.frontend = s,
            Var::Backend => e.backend = s,
            Var::Server => e.server = s,
            Var::TR => e.t_request = num(s, plus)?,
            Var::Tw => e.t_queue = num(s, plus)?,
            Var::Tc => e.t_connect = num(s, plus)?,
            Var::Tr => e.t_response = num(s, plus)?,
            Var::Ta => e.t_active = num(s, plus)?,
            Var::Tt => e.t_total = num(s, plus)?,
            Var::Status => e.status = num(s, &mut ignore)?,
            Var::Bytes => e.bytes_read = num(s, plus)?,
            Var::Cc => e.captured_request_cookie = s,
            Var::Cs => e.captured_response_cookie = s,
            Var::Termination => {
                if !(s.len() == 2 || s.len() == 4) {
                    return None;
                }
                e.termination_state = s;
            }
            Var::Ac => e.actconn = num(s, &mut ignore)?,
            Var::Fc => e.feconn = num(s, &mut ignore)?,
            Var::Bc => e.beconn = num(s, &mut ignore)?,
            Var::Sc => e.srv_conn = num(s, &mut ignore)?,
            Var::Rc => {
                let mut r = false;
                e.retries = num(s, &mut r)?;
                e.redispatched = r;
            }
            Var::Sq => e.srv_queue = num(s, &mut ignore)?,
            Var::Bq => e.backend_queue = num(s, &mut ignore)?,
            Var::Hr => e.captured_request_headers = Some(s),
            Var::Hs => e.captured_response_headers = Some(s),
            Var::Request => e.request = s,
            Var::Method => e.method_var = s,
            Var::Uri => e.uri_var = s,
            Var::Skip => {}
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_line_from_haproxy() {
        let line = b"127.0.0.1 - - [06/Dec/2026:21:10:52 +0000] \"GET /clf?x=1 HTTP/1.1\" 200 117 \"\" \"\" 34592 357 \"fe_clf\" \"bk_ok\" \"s1\" 0 0 0 0 0 ---- 2 1 1 1 0 0 0 \"\" \"\" ";
        let e = clf().parse(line, Format::Clf).unwrap();
        assert_eq!((e.client_ip, e.client_port), (&b"127.0.0.1"[..], 34592));
        assert_eq!(e.accept_date, b"06/Dec/2026:21:10:52 +0000");
        assert_eq!(
            (e.frontend, e.backend, e.server),
            (&b"fe_clf"[..], &b"bk_ok"[..], &b"s1"[..])
        );
        assert_eq!((e.status, e.bytes_read, e.t_active), (200, 117, 0));
        assert_eq!(
            (e.uri(), e.termination_state),
            (&b"/clf?x=1"[..], &b"----"[..])
        );
        assert_eq!((e.actconn, e.retries, e.backend_queue), (2, 0, 0));
        assert!(e.http && !e.truncated);
        assert!(clf()
            .parse(
                b"127.0.0.1:1 [d] f b/s 0/0/0/0/0 200 1 - - ---- 0/0/0/0/0 0/0",
                Format::Clf
            )
            .is_none());
    }

    #[test]
    fn custom_format_by_variable_name() {
        let f = compile("%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r %ID %Tt", "haproxy.cfg:40").unwrap();
        let line = b"127.0.0.1:52806 [06/Dec/2026:21:10:52.382] fe_custom bk_ok/s1 0/0/0/0/0 200 117 ---- 2/1/1/1/0 0/0 \"GET /custom HTTP/1.1\" 7F000001:CE46_7F000001:9699_6B15CF5C_0019 0";
        let e = f.parse(line, Format::Custom(0)).unwrap();
        assert_eq!((e.client_ip, e.client_port), (&b"127.0.0.1"[..], 52806));
        assert_eq!(
            (e.frontend, e.backend, e.server),
            (&b"fe_custom"[..], &b"bk_ok"[..], &b"s1"[..])
        );
        assert_eq!((e.status, e.t_total, e.t_active), (200, 0, 0));
        assert_eq!(e.request, b"GET /custom HTTP/1.1");
        assert!(f
            .parse(b"something else entirely", Format::Custom(0))
            .is_none());
        // A JSON-ish format with sample fetches.
        let f = compile(r#"{"fe":"%f","be":"%b","srv":"%s","st":%ST,"tr":%Tr,"ta":%Ta,"ts":"%ts","sni":"%[ssl_fc_sni]"}"#, "").unwrap();
        let e = f.parse(br#"{"fe":"web","be":"api","srv":"a1","st":502,"tr":-1,"ta":30001,"ts":"SH","sni":"x.example"}"#, Format::Custom(1)).unwrap();
        assert_eq!(
            (
                e.frontend,
                e.backend,
                e.server,
                e.status,
                e.t_response,
                e.t_active
            ),
            (&b"web"[..], &b"api"[..], &b"a1"[..], 502, -1, 30001)
        );
    }

    #[test]
    fn unusable_formats_say_why() {
        assert!(compile("%ci %ST", "x").unwrap_err().contains("no frontend"));
        assert!(compile("%{+Q", "x").unwrap_err().contains("unclosed"));
        assert!(compile("%[req.hdr(host)", "x")
            .unwrap_err()
            .contains("unclosed"));
        assert!(compile("% x %f", "x")
            .unwrap_err()
            .contains("without a variable"));
    }

    #[test]
    fn random_lines_never_panic() {
        let f = clf();
        let mut x: u64 = 7;
        let alphabet = b" -\"[]{}/:0123456789abc+";
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 80) as usize;
            let s: Vec<u8> = (0..n)
                .map(|k| alphabet[((x >> (k % 50)) as usize + k) % alphabet.len()])
                .collect();
            let _ = f.parse(&s, Format::Clf);
            let _ = super::super::entry::classify(&s);
        }
    }
}
