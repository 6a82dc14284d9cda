//! The haproxy.cfg model (and what is built on it: the lint rules, the
//! troubleshooting-header coverage). Checked: no panic; every section and
//! directive points at a line of the text that holds its words (the word
//! spans of that line are the keyword and the arguments, so a rewriter can
//! change one word); spans lie in the line, in order, on character
//! boundaries; conditions stay bounded; notes point inside the file; the
//! defaults chain of every section ends and holds only earlier `defaults`.

#![no_main]

use harun::config::headers::coverage;
use harun::config::lint::{lint, LintContext};
use harun::config::model::{
    chroot, log_lines, parse_config, stats_sockets, word_spans, MAX_CONDITION_LEN,
};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz.cfg");
    let model = parse_config(text, file);
    let lines: Vec<&str> = text.lines().collect();

    for line in &lines {
        let (spans, end) = word_spans(line);
        assert!(end <= line.len() && line.is_char_boundary(end));
        let mut at = 0;
        for s in &spans {
            assert!(
                at <= s.start && s.start < s.end && s.end <= end,
                "{spans:?} in {line:?}"
            );
            assert!(line.is_char_boundary(s.start) && line.is_char_boundary(s.end));
            at = s.end;
        }
    }
    for n in &model.notes {
        assert!(
            n.line <= lines.len().max(1),
            "note at {} of {}",
            n.line,
            lines.len()
        );
        let _ = n.location();
    }
    // A long condition is cut at MAX_CONDITION_LEN and ends with `…`.
    let bounded = |c: &Option<String>| {
        c.as_ref()
            .is_none_or(|c| c.len() <= MAX_CONDITION_LEN + '…'.len_utf8())
    };
    for (i, s) in model.sections.iter().enumerate() {
        assert!(s.line >= 1 && s.line <= lines.len());
        assert!(bounded(&s.condition));
        let (spans, _) = word_spans(lines[s.line - 1]);
        if s.kind != "implicit" {
            let words = 1 + usize::from(s.name.is_some()) + s.args.len();
            assert_eq!(spans.len(), words, "section line {}", s.line);
        }
        let _ = (s.label(), s.from_defaults(), s.is_proxy(), s.location());
        for d in &s.directives {
            assert!(d.line >= s.line && d.line <= lines.len());
            assert!(bounded(&d.condition));
            let (spans, _) = word_spans(lines[d.line - 1]);
            assert_eq!(spans.len(), 1 + d.args.len(), "directive line {}", d.line);
            let _ = (d.evidence(), d.param("level"), d.is("stats socket"));
        }
        let chain = model.defaults_chain(s);
        assert!(chain.len() < model.sections.len().max(1));
        for c in &chain {
            let at = model
                .sections
                .iter()
                .position(|x| std::ptr::eq(x, *c))
                .expect("a chain holds sections of the model");
            assert!(
                c.kind == "defaults" && at < i,
                "chain of section {i} holds section {at}"
            );
        }
        let _ = (
            model.effective_mode(s),
            model.effective_option(s, "httplog"),
            model.effective_last(s, "timeout"),
        );
    }
    let _ = (stats_sockets(&model), log_lines(&model), chroot(&model));
    let _ = coverage(&model, None);
    let _ = coverage(&model, Some("x-served-by"));
    let _ = lint(&model, &LintContext::default());
});
