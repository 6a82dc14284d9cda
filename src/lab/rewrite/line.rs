//! Editing one configuration line word by word: words that are not changed
//! keep their quotes, escapes and environment variables exactly as written.

use crate::config::model::word_spans;

enum Word<'a> {
    Raw(&'a str),
    New(String),
    Removed,
}

/// One line being rewritten. Word 0 is the keyword, word `i + 1` is the
/// directive's argument `i`.
pub(super) struct LineEdit<'a> {
    raw: &'a str,
    words: Vec<Word<'a>>,
    comment: &'a str,
    changed: bool,
    commented_out: bool,
}

impl<'a> LineEdit<'a> {
    pub fn new(raw: &'a str) -> LineEdit<'a> {
        let (spans, comment_start) = word_spans(raw);
        let words = spans.into_iter().map(|r| Word::Raw(&raw[r])).collect();
        LineEdit {
            raw,
            words,
            comment: raw.get(comment_start..).unwrap_or(""),
            changed: false,
            commented_out: false,
        }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Replace word `i` (written quoted when it needs to be).
    pub fn set(&mut self, i: usize, new: &str) {
        if let Some(w) = self.words.get_mut(i) {
            *w = Word::New(quote(new));
            self.changed = true;
        }
    }

    /// Replace the whole statement (keyword and arguments).
    pub fn replace_all(&mut self, words: &[&str]) {
        self.words = words.iter().map(|w| Word::New(quote(w))).collect();
        self.changed = true;
    }

    pub fn remove(&mut self, i: usize) {
        if let Some(w) = self.words.get_mut(i) {
            *w = Word::Removed;
            self.changed = true;
        }
    }

    /// Replace `from` by `to` inside word `i` as written. When the raw word
    /// does not hold `from` literally (escaped characters), the word is
    /// rewritten from its unquoted value `value`.
    pub fn replace_in(&mut self, i: usize, value: &str, from: &str, to: &str) {
        let Some(w) = self.words.get_mut(i) else {
            return;
        };
        let current = match w {
            Word::Raw(r) => r.to_string(),
            Word::New(n) => n.clone(),
            Word::Removed => return,
        };
        *w = if current.contains(from) {
            Word::New(current.replace(from, to))
        } else {
            Word::New(quote(&value.replace(from, to)))
        };
        self.changed = true;
    }

    pub fn comment_out(&mut self) {
        self.commented_out = true;
        self.changed = true;
    }

    pub fn is_commented_out(&self) -> bool {
        self.commented_out
    }

    /// The line as it goes into the lab's copy; unchanged lines stay byte for byte.
    pub fn render(&self) -> String {
        if !self.changed {
            return self.raw.to_string();
        }
        let indent_len = self.raw.len() - self.raw.trim_start().len();
        let indent = &self.raw[..indent_len];
        if self.commented_out {
            return format!("{indent}# harun lab: {}", self.raw.trim_start());
        }
        let mut out = String::from(indent);
        let mut first = true;
        for w in &self.words {
            let text = match w {
                Word::Raw(r) => *r,
                Word::New(n) => n.as_str(),
                Word::Removed => continue,
            };
            if !first {
                out.push(' ');
            }
            out.push_str(text);
            first = false;
        }
        if !self.comment.is_empty() {
            out.push(' ');
            out.push_str(self.comment);
        }
        out
    }
}

/// A word as HAProxy reads it back: single quotes when it holds blanks or
/// characters the tokenizer treats specially (no environment expansion inside).
pub(super) fn quote(w: &str) -> String {
    let special = |c: char| c.is_whitespace() || matches!(c, '#' | '"' | '\\' | '\'' | '$');
    if !w.is_empty() && !w.chars().any(special) {
        return w.to_string();
    }
    if !w.contains('\'') {
        return format!("'{w}'");
    }
    let mut out = String::from("\"");
    for c in w.chars() {
        if matches!(c, '"' | '\\' | '$' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::parse_config;
    use std::path::Path;

    #[test]
    fn untouched_words_keep_their_quoting() {
        let raw = "    server s1 \"${HOST}\":80 check 'weird arg' # note";
        let mut e = LineEdit::new(raw);
        assert_eq!(e.len(), 5);
        assert_eq!(e.render(), raw);
        e.set(2, "127.0.0.1:4000");
        assert_eq!(
            e.render(),
            "    server s1 127.0.0.1:4000 check 'weird arg' # note"
        );
        e.remove(3);
        assert_eq!(
            e.render(),
            "    server s1 127.0.0.1:4000 'weird arg' # note"
        );
    }

    #[test]
    fn replace_inside_a_word_and_comment_out() {
        let raw = "\tuse_backend %[req.hdr(host),map_dom(/etc/m.map,bk)]";
        let m = parse_config(raw, Path::new("t.cfg"));
        let d = &m.sections[0].directives[0];
        let mut e = LineEdit::new(raw);
        e.replace_in(1, &d.args[0], "/etc/m.map", "/tmp/x/m.map");
        assert_eq!(
            e.render(),
            "\tuse_backend %[req.hdr(host),map_dom(/tmp/x/m.map,bk)]"
        );
        e.comment_out();
        assert_eq!(e.render(), format!("\t# harun lab: {}", raw.trim_start()));
    }

    #[test]
    fn escaped_word_is_rewritten_from_its_value() {
        let raw = "  acl a path -f /etc/my\\ list.lst";
        let mut e = LineEdit::new(raw);
        e.replace_in(
            4,
            "/etc/my list.lst",
            "/etc/my list.lst",
            "/tmp/my list.lst",
        );
        assert_eq!(e.render(), "  acl a path -f '/tmp/my list.lst'");
    }

    #[test]
    fn quoting_round_trips_through_the_parser() {
        for w in ["plain", "a b", "it's", "$HOME", "a#b", "x\"y", ""] {
            let line = format!("k {}", quote(w));
            let m = parse_config(&line, Path::new("t.cfg"));
            assert_eq!(m.sections[0].directives[0].args, [w], "{line}");
        }
    }
}
