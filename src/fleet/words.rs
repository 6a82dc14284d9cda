//! Shell words as Ansible splits inventory text: pure, shared by the INI
//! host lines and the SSH arguments of a host.

/// A line split as Python's `shlex.split(line, comments)` does, which
/// Ansible uses (with comments for INI host lines, without for
/// `ansible_ssh_common_args`): spaces separate words, quotes group them, a
/// backslash escapes, and with `comments` an unquoted `#` ends the line.
pub fn split(line: &str, comments: bool) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if comments => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => word.push(x),
                        None => return Err("no closing quotation (`'`)".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => word.push(x),
                            Some(x) => {
                                word.push('\\');
                                word.push(x);
                            }
                            None => return Err("no closing quotation (`\"`)".into()),
                        },
                        Some(x) => word.push(x),
                        None => return Err("no closing quotation (`\"`)".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => word.push(x),
                    None => return Err("no escaped character after `\\`".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_python_shlex() {
        assert_eq!(
            split(r#"a b="c d" e='f g'#h"#, true).unwrap(),
            ["a", "b=c d", "e=f g"]
        );
        assert_eq!(
            split(r#"a x\ y "q\"q""#, true).unwrap(),
            ["a", "x y", "q\"q"]
        );
        assert_eq!(split("a # b c", true).unwrap(), ["a"]);
        assert_eq!(split("a # b c", false).unwrap(), ["a", "#", "b", "c"]);
        assert_eq!(
            split(r#"-o ProxyCommand="ssh -W %h:%p bastion""#, false).unwrap(),
            ["-o", "ProxyCommand=ssh -W %h:%p bastion"]
        );
        assert!(split("-o 'open", false).unwrap_err().contains("closing"));
    }
}
