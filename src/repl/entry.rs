//! One REPL entry, gathered over as many lines as the parser needs.
//!
//! rustyline 15 shows no prompt on the lines a Validator asks for (and a
//! prompt drawn by the highlighter would put the cursor in the wrong column:
//! the layout is computed from the raw buffer), so the REPL reads one line
//! per `readline` call and this type decides when the entry is complete. The
//! same path serves piped input, where rustyline prints no prompt at all.

use super::helper::is_incomplete;
use rhai::Engine;

/// The prompt of an entry's first line.
pub const PROMPT: &str = "harun> ";
/// The prompt of the lines that continue an entry.
pub const CONTINUE: &str = "  ...> ";

/// The lines typed so far of an entry that is not complete yet.
pub struct Entry {
    text: String,
    /// Only parses: a raw engine, no depth limits (deep nesting is the
    /// real engine's error to report, not a reason to wait for more).
    parser: Engine,
}

impl Default for Entry {
    fn default() -> Self {
        Entry::new()
    }
}

impl Entry {
    pub fn new() -> Entry {
        let mut parser = Engine::new_raw();
        parser.set_max_expr_depths(0, 0);
        Entry {
            text: String::new(),
            parser,
        }
    }

    /// The prompt for the next line.
    pub fn prompt(&self) -> &'static str {
        if self.text.is_empty() {
            PROMPT
        } else {
            CONTINUE
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Add a line; the whole entry once the parser needs nothing more (valid
    /// or wrong: a syntax error is reported as soon as it is typed).
    pub fn push(&mut self, line: &str) -> Option<String> {
        if self.text.is_empty() {
            if line.trim().is_empty() {
                return None;
            }
        } else {
            self.text.push('\n');
        }
        self.text.push_str(line);
        if is_incomplete(&self.parser, &self.text) {
            None
        } else {
            Some(std::mem::take(&mut self.text))
        }
    }

    /// What was typed so far, to run when input ends mid-entry (its error
    /// says what is missing rather than the lines vanishing).
    pub fn take(&mut self) -> Option<String> {
        (!self.text.is_empty()).then(|| std::mem::take(&mut self.text))
    }

    /// Ctrl-C: drop the lines typed so far.
    pub fn clear(&mut self) {
        self.text.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_continues_until_closed_then_comes_whole() {
        let mut e = Entry::new();
        assert_eq!(e.prompt(), PROMPT);
        assert_eq!(e.push("for x in [1, 2] {"), None);
        assert_eq!(e.prompt(), CONTINUE);
        assert_eq!(e.push("  print(x);"), None);
        assert_eq!(
            e.push("}").as_deref(),
            Some("for x in [1, 2] {\n  print(x);\n}")
        );
        assert_eq!(e.prompt(), PROMPT);
        assert!(e.is_empty());
    }

    #[test]
    fn brackets_calls_and_strings_continue() {
        for lines in [
            &["let a = [1,", "2]"][..],
            &["stat(", "\"bk_app\")"],
            &["let m = #{", "  a: 1", "}"],
            &["let s = `two", "lines`"],
        ] {
            let mut e = Entry::new();
            let (last, first) = lines.split_last().unwrap();
            for l in first {
                assert_eq!(e.push(l), None, "{lines:?}");
            }
            assert_eq!(e.push(last), Some(lines.join("\n")), "{lines:?}");
        }
    }

    #[test]
    fn a_syntax_error_ends_the_entry_at_once() {
        let mut e = Entry::new();
        assert_eq!(e.push("fn f(a) {"), None);
        assert_eq!(
            e.push("  let b = ;").as_deref(),
            Some("fn f(a) {\n  let b = ;")
        );
        assert_eq!(e.push("1 +* 2").as_deref(), Some("1 +* 2"));
    }

    #[test]
    fn blank_lines_start_nothing_and_two_end_an_entry() {
        let mut e = Entry::new();
        assert_eq!(e.push("   "), None);
        assert!(e.is_empty());
        assert_eq!(e.push("if true {"), None);
        assert_eq!(e.push(""), None);
        assert_eq!(e.push("").as_deref(), Some("if true {\n\n"));
    }

    #[test]
    fn interrupted_or_cut_entries() {
        let mut e = Entry::new();
        assert_eq!(e.push("let a = ["), None);
        e.clear();
        assert_eq!(e.prompt(), PROMPT);
        assert_eq!(e.take(), None);
        assert_eq!(e.push("let a = ["), None);
        assert_eq!(e.take().as_deref(), Some("let a = ["));
        assert!(e.is_empty());
    }
}
