//! Rolling changes: Ansible's `serial`, as `--serial` takes it. A number of
//! hosts per group (`2`), a percentage of the hosts (`25%`: rounded down,
//! at least one), or a list of either (`1,5,25%`): the first group has the
//! first size, the next the second, and the last size repeats until every
//! host is in a group. As in Ansible, `0` puts every remaining host in one
//! group, and a percentage is of all the hosts, not of those left.
//!
//! Pure: it sizes groups; the write path (`script/ctx`) walks them.

use crate::base::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// One size of a `serial` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// This many hosts; 0 is every host left.
    Hosts(usize),
    /// This percentage of all the hosts, rounded down, at least one.
    Percent(u32),
}

/// A `--serial` setting: the group sizes, in order, the last repeating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Serial {
    sizes: Vec<Size>,
}

impl Serial {
    /// `N`, `P%`, or a comma-separated list of them (`1,5,25%`).
    pub fn parse(text: &str) -> Result<Serial> {
        let bad = |reason: String| Error::InvalidInput {
            what: "serial",
            value: text.to_string(),
            reason,
        };
        let mut sizes = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(bad(
                    "an empty size; expected N hosts, P% of the hosts, or a list such as 1,5,25%"
                        .into(),
                ));
            }
            let size = match part.strip_suffix('%') {
                Some(p) => match p.trim().parse::<u32>() {
                    Ok(p) if (1..=100).contains(&p) => Size::Percent(p),
                    Ok(p) => {
                        return Err(bad(format!(
                            "{p}% is not a percentage of the hosts from 1% to 100%"
                        )))
                    }
                    Err(_) => return Err(bad(format!("`{part}` is not a percentage such as 25%"))),
                },
                None => match part.parse::<usize>() {
                    Ok(n) => Size::Hosts(n),
                    Err(_) => {
                        return Err(bad(format!(
                            "`{part}` is neither a number of hosts (2) nor a percentage (25%)"
                        )))
                    }
                },
            };
            sizes.push(size);
        }
        Ok(Serial { sizes })
    }

    /// The size of each group for `hosts` hosts, in order; they add up to
    /// `hosts` (no group for no host).
    pub fn group_sizes(&self, hosts: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut left = hosts;
        let mut i = 0;
        while left > 0 {
            let size = match self.sizes[i] {
                Size::Hosts(0) => left,
                Size::Hosts(n) => n,
                // Ansible's pct_to_int: of all the hosts, rounded down, at least 1.
                Size::Percent(p) => (hosts * p as usize / 100).max(1),
            };
            let size = size.min(left);
            out.push(size);
            left -= size;
            i = (i + 1).min(self.sizes.len() - 1);
        }
        out
    }

    /// `items` cut into groups of [`Serial::group_sizes`], order kept.
    pub fn groups<T: Clone>(&self, items: &[T]) -> Vec<Vec<T>> {
        let mut at = 0;
        self.group_sizes(items.len())
            .into_iter()
            .map(|n| {
                let g = items[at..at + n].to_vec();
                at += n;
                g
            })
            .collect()
    }
}

impl FromStr for Serial {
    type Err = Error;
    fn from_str(s: &str) -> Result<Serial> {
        Serial::parse(s)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.sizes.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match s {
                Size::Hosts(n) => write!(f, "{n}")?,
                Size::Percent(p) => write!(f, "{p}%")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(serial: &str, hosts: usize) -> Vec<usize> {
        Serial::parse(serial).unwrap().group_sizes(hosts)
    }

    #[test]
    fn numbers_percentages_and_lists_size_groups_as_ansible_does() {
        assert_eq!(sizes("1", 3), [1, 1, 1]);
        assert_eq!(sizes("2", 5), [2, 2, 1]);
        assert_eq!(sizes("10", 3), [3]);
        // 0: every host at once.
        assert_eq!(sizes("0", 4), [4]);
        // Of all the hosts, rounded down, at least one.
        assert_eq!(sizes("30%", 10), [3, 3, 3, 1]);
        assert_eq!(sizes("25%", 3), [1, 1, 1]);
        assert_eq!(sizes("50%", 5), [2, 2, 1]);
        assert_eq!(sizes("100%", 7), [7]);
        // A list: each size in turn, the last repeating.
        assert_eq!(sizes("1,5,25%", 20), [1, 5, 5, 5, 4]);
        assert_eq!(sizes("1, 2", 6), [1, 2, 2, 1]);
        assert_eq!(sizes("1,0", 6), [1, 5]);
        assert!(sizes("3", 0).is_empty());
    }

    #[test]
    fn groups_keep_the_order_of_the_hosts() {
        let s = Serial::parse("1,2").unwrap();
        assert_eq!(
            s.groups(&["lb1", "lb2", "lb3", "lb4"]),
            vec![vec!["lb1"], vec!["lb2", "lb3"], vec!["lb4"]]
        );
        assert_eq!(s.to_string(), "1,2");
        assert_eq!(Serial::parse(" 1 , 25% ").unwrap().to_string(), "1,25%");
    }

    #[test]
    fn bad_sizes_are_named() {
        for (text, why) in [
            ("", "an empty size"),
            ("1,,2", "an empty size"),
            ("x", "`x` is neither a number of hosts"),
            ("-1", "`-1` is neither"),
            ("0%", "0% is not a percentage"),
            ("101%", "101% is not a percentage"),
            ("a%", "`a%` is not a percentage"),
        ] {
            let e = Serial::parse(text).unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
            assert!(e.to_string().contains("invalid serial"), "{e}");
        }
    }
}
