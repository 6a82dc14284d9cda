//! "Did you mean": the names nearest to one that does not exist. One ranking
//! for every suggestion harun makes (map keys, table columns, functions,
//! playbooks, parameters, servers), so a typo is caught the same way
//! everywhere.

/// Names longer than this are matched by part only, never by typo.
const MAX_TYPO_LEN: usize = 64;

/// Every candidate near `missing`, nearest first: a typo (Damerau-Levenshtein
/// distance, ignoring case, at most a third of the longer name and at least
/// 1: `svnme` → `svname`), else a name that contains the other (three
/// characters or more: `state` → `op_state`, `app1` → `bk_app/app1`). Ties go
/// to a candidate `prefer` accepts, then to the one closest in length, then
/// alphabetically. Never `missing` itself.
pub fn ranked<'a>(
    missing: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    prefer: impl Fn(&str) -> bool,
) -> Vec<&'a str> {
    let m = missing.to_lowercase();
    let m_len = m.chars().count();
    let mut scored: Vec<(usize, bool, usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != missing)
        .filter_map(|c| {
            let lc = c.to_lowercase();
            let c_len = lc.chars().count();
            let budget = (m_len.max(c_len) / 3).max(1);
            // The distance is at least the difference in length: past the
            // budget, the quadratic distance need not be computed. Nobody
            // mistypes a name of more than 64 characters by one letter;
            // theirs is left to the part match (an inventory of 100,000
            // long generated host names would wait on the distances).
            let d = if c_len.abs_diff(m_len) > budget || m_len.max(c_len) > MAX_TYPO_LEN {
                usize::MAX
            } else {
                strsim::damerau_levenshtein(&m, &lc)
            };
            let score = if d <= budget {
                d
            } else if m_len >= 3 && (lc.contains(&m) || m.contains(&lc) && c_len >= 3) {
                // After every typo: a part is a weaker guess.
                budget + 1 + c_len.abs_diff(m_len)
            } else {
                return None;
            };
            Some((score, !prefer(c), c_len.abs_diff(m_len), c))
        })
        .collect();
    scored.sort();
    // A candidate listed twice scores the same: the copies are neighbours.
    scored.dedup();
    scored.into_iter().map(|(_, _, _, c)| c).collect()
}

/// Up to three candidates near `missing`, nearest first (see [`ranked`]).
pub fn nearest<'a>(missing: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut near = ranked(missing, candidates, |_| true);
    near.truncate(3);
    near
}

/// The candidate nearest to `missing`, if any is near (see [`ranked`]).
pub fn best<'a>(
    missing: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    prefer: impl Fn(&str) -> bool,
) -> Option<&'a str> {
    ranked(missing, candidates, prefer).first().copied()
}

/// "; did you mean `a` or `b`?" (empty when there is nothing close).
pub fn did_you_mean(near: &[&str]) -> String {
    match near {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|n| format!("`{n}`")).collect();
            format!("; did you mean {} or `{last}`?", init.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_parts_find_the_name() {
        let cols = ["pxname", "svname", "status", "scur", "qcur"];
        assert_eq!(nearest("svnme", cols), ["svname"]);
        assert_eq!(nearest("pxnam", cols), ["pxname"]);
        assert_eq!(nearest("SVNAME", cols)[0], "svname", "case is a typo");
        assert!(nearest("zzzzzz", cols).is_empty());
        let keys = ["op_state", "admin_state", "backend"];
        assert_eq!(nearest("op_stat", keys), ["op_state"]);
        assert_eq!(nearest("state", keys), ["op_state", "admin_state"]);
        let servers = ["bk_app/app1", "bk_app/app2", "bk_api/api1"];
        assert_eq!(nearest("bk_ap/app1", servers)[0], "bk_app/app1");
        assert_eq!(nearest("app1", servers), ["bk_app/app1"]);
    }

    #[test]
    fn never_itself_at_most_three_and_ties_to_the_preferred() {
        let c = ["servers", "stat", "stats_of", "drain"];
        assert_eq!(nearest("stat", c), ["stats_of"], "never itself");
        assert_eq!(best("servrs", c, |_| true), Some("servers"));
        assert_eq!(best("stta", c, |_| true), Some("stat"));
        assert_eq!(best("completely_else", c, |_| true), None);
        let many = ["abcd1", "abcd2", "abcd3", "abcd4"];
        assert_eq!(nearest("abcd", many).len(), 3);
        assert_eq!(best("abcd", many, |c| c == "abcd3"), Some("abcd3"));
        assert_eq!(best("abcd", many, |_| true), Some("abcd1"));
    }

    #[test]
    fn suggestions_read_as_a_sentence() {
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(did_you_mean(&["a"]), "; did you mean `a`?");
        assert_eq!(
            did_you_mean(&["a", "b", "c"]),
            "; did you mean `a`, `b` or `c`?"
        );
    }
}
