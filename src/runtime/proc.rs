//! Parser for `show proc`, the master CLI's list of processes.
//!
//! The reply is a header line (`#<PID> <type> <reloads> <uptime> <version>`)
//! and sections: the master's own line first, then `# workers` (the current
//! ones), `# old workers` (those still finishing their sessions after a
//! reload) and `# programs` (absent since 3.1, which dropped the program
//! section). Columns are separated by runs of blanks; `show proc debug` adds
//! tab-separated fd columns after the version, which are ignored. The master's
//! reloads read `1 [failed: 0]`.

/// A malformed `show proc` reply: what was wrong and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed `show proc` output at line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Which section of `show proc` a process is listed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    /// A current worker: it takes the new traffic.
    Worker,
    /// A worker of an earlier configuration, still alive after a reload.
    OldWorker,
    /// An external program the master runs (`program` sections, before 3.1).
    Program,
}

impl Role {
    /// The name harun shows and playbooks compare with.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Worker => "worker",
            Role::OldWorker => "old worker",
            Role::Program => "program",
        }
    }
}

/// One line of `show proc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub role: Role,
    /// The `<type>` column: `master`, `worker`, or a program's name.
    pub kind: String,
    /// For the master, the reloads it has done; for a worker, how many
    /// reloads happened since it started (an old worker has at least 1).
    pub reloads: u64,
    /// The master's failed reloads (`[failed: N]`, 2.6+); 0 elsewhere.
    pub failed_reloads: u64,
    /// Uptime in seconds, from `<d>d<hh>h<mm>m<ss>s`.
    pub uptime_s: u64,
    /// The version column as HAProxy prints it (`-` for a program).
    pub version: String,
}

/// Every process of a `show proc` reply, in its order (master first).
///
/// Errors: a reply without the master's line (an error text such as
/// `Unknown command`: the socket is not a master CLI), a process line whose
/// pid, reloads or uptime is not a number, or a line outside any section.
pub fn parse_show_proc(text: &str) -> Result<Vec<Proc>, ParseError> {
    let mut out = Vec::new();
    // Before the first `# ...` section line, the only process is the master.
    let mut section: Option<Role> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let bad = |message: String| ParseError {
            line: i + 1,
            message,
        };
        if line.trim().is_empty() || line.starts_with("#<") {
            continue;
        }
        if let Some(name) = line.strip_prefix('#') {
            section = Some(match name.trim() {
                "workers" => Role::Worker,
                "old workers" => Role::OldWorker,
                "programs" => Role::Program,
                other => return Err(bad(format!("unknown section `# {other}`"))),
            });
            continue;
        }
        // The fd columns of `show proc debug` follow a tab.
        let fields: Vec<&str> = line
            .split('\t')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let shown = || line.chars().take(80).collect::<String>();
        if fields.len() < 4 {
            return Err(bad(format!(
                "expected `<pid> <type> <reloads> <uptime> <version>`, got {:?}",
                shown()
            )));
        }
        let pid: u32 = fields[0]
            .parse()
            .map_err(|_| bad(format!("pid `{}` is not a number", fields[0])))?;
        let kind = fields[1].to_string();
        let role = match section {
            None if kind == "master" && out.is_empty() => Role::Master,
            None if kind == "master" => {
                return Err(bad(format!("a second master line, process {pid}")))
            }
            None => return Err(bad(format!("process {pid} listed before any section"))),
            Some(r) => r,
        };
        let reloads: u64 = fields[2]
            .parse()
            .map_err(|_| bad(format!("reloads `{}` is not a number", fields[2])))?;
        // `[failed: N]` splits into two fields on the master's line.
        let (failed_reloads, rest) = match fields.get(3..5) {
            Some([open, _]) if *open == "[failed:" && role != Role::Master => {
                return Err(bad(format!(
                    "`[failed: N]` on process {pid}: only the master's line counts failed reloads"
                )))
            }
            Some([open, n]) if *open == "[failed:" => {
                let n = n.trim_end_matches(']');
                let n: u64 = n
                    .parse()
                    .map_err(|_| bad(format!("failed reloads `{n}` is not a number")))?;
                (n, &fields[5..])
            }
            _ => (0, &fields[3..]),
        };
        let uptime = rest
            .first()
            .ok_or_else(|| bad(format!("no uptime in {:?}", shown())))?;
        let uptime_s = parse_uptime(uptime)
            .ok_or_else(|| bad(format!("uptime `{uptime}` is not `<d>d<hh>h<mm>m<ss>s`")))?;
        let version = rest.get(1).copied().unwrap_or("").to_string();
        out.push(Proc {
            pid,
            role,
            kind,
            reloads,
            failed_reloads,
            uptime_s,
            version,
        });
    }
    if !out.iter().any(|p| p.role == Role::Master) {
        let first: String = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        return Err(ParseError {
            line: 1,
            message: format!("no master line (not a master CLI?): {first:?}"),
        });
    }
    Ok(out)
}

/// `0d00h01m05s` as seconds.
fn parse_uptime(s: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut rest = s;
    for (unit, secs) in [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)] {
        let (n, r) = rest.split_once(unit)?;
        total = total.checked_add(n.parse::<u64>().ok()?.checked_mul(secs)?)?;
        rest = r;
    }
    rest.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V26: &str = include_str!("../../tests/fixtures/runtime/show-proc-old-worker-2.6.txt");
    const V30: &str = include_str!("../../tests/fixtures/runtime/show-proc-old-worker-3.0.txt");
    const V32: &str = include_str!("../../tests/fixtures/runtime/show-proc-old-worker-3.2.txt");

    #[test]
    fn one_master_line_only() {
        // Found by the proc fuzz target: two master lines read as two masters.
        let two = "#<PID> <type> <reloads> <uptime> <version>\n1 master 0 [failed: 0] 0d00h00m03s 3.0.11\n2 master 0 [failed: 0] 0d00h00m03s 3.0.11\n";
        let e = parse_show_proc(two).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("second master"), "{e}");
        // And a worker that counts failed reloads, as only the master does.
        let odd = "#<PID> <type> <reloads> <uptime> <version>\n1 master 0 [failed: 0] 0d00h00m03s 3.0.11\n# workers\n2 worker 0 [failed: 5] 0d00h00m03s 3.0.11\n";
        let e = parse_show_proc(odd).unwrap_err();
        assert_eq!(e.line, 4, "{e}");
    }

    fn roles(p: &[Proc]) -> Vec<Role> {
        p.iter().map(|p| p.role).collect()
    }

    #[test]
    fn reads_master_current_and_old_workers_on_every_version() {
        for (text, version) in [
            (V26, "2.6.12-1+deb12u4"),
            (V30, "3.0.11-1+deb13u4"),
            (V32, "3.2.26-1"),
        ] {
            let p = parse_show_proc(text).unwrap();
            assert_eq!(
                roles(&p),
                [Role::Master, Role::Worker, Role::OldWorker],
                "{version}"
            );
            assert_eq!(p[0].reloads, 1);
            assert_eq!(p[0].failed_reloads, 0);
            assert_eq!(p[1].reloads, 0);
            assert_eq!(p[2].reloads, 1);
            assert!(p.iter().all(|p| p.version == version), "{version}");
            assert!(p[2].uptime_s >= p[1].uptime_s);
        }
        let p = parse_show_proc(V26).unwrap();
        assert_eq!((p[0].pid, p[1].pid, p[2].pid), (18088, 18101, 18091));
        assert_eq!(p[0].uptime_s, 2);
    }

    #[test]
    fn debug_columns_and_programs() {
        let debug = "#<PID>          <type>          <reloads>       <uptime>        <version>      \t\t <ipc_fd[0]>     <ipc_fd[1]>    \n\
18395           master          1 [failed: 0]   0d00h00m03s     3.2.26-1       \t\t 5               6              \n\
# workers\n\
18408           worker          0               1d02h03m04s     3.2.26-1       \t\t 4               -1             \n";
        let p = parse_show_proc(debug).unwrap();
        assert_eq!(p[1].uptime_s, 86_400 + 2 * 3_600 + 3 * 60 + 4);
        assert_eq!(p[1].version, "3.2.26-1");
        let programs = "#<PID>  <type>  <reloads>  <uptime>  <version>\n\
1 master 2 [failed: 1] 0d00h00m09s 2.6.12\n\
# workers\n\
3 worker 0 0d00h00m01s 2.6.12\n\
# programs\n\
4 dataplane-api 2 0d00h00m09s -\n";
        let p = parse_show_proc(programs).unwrap();
        assert_eq!(p[0].failed_reloads, 1);
        assert_eq!(p[2].role, Role::Program);
        assert_eq!(p[2].kind, "dataplane-api");
        assert_eq!(p[2].version, "-");
    }

    #[test]
    fn refuses_what_is_not_show_proc() {
        for bad in [
            "",
            "Unknown command, but maybe one of the following ones is a better match:\n",
            "#<PID> <type>\n1 master x 0d00h00m01s 2.6\n",
            "#<PID> <type>\n1 master 0 soon 2.6\n",
            "#<PID> <type>\n1 worker 0 0d00h00m01s 2.6\n",
            "#<PID> <type>\n1 master 0 0d00h00m01s 2.6\n# zombies\n",
            "#<PID> <type>\n99999999999 master 0 0d00h00m01s 2.6\n",
        ] {
            let err = parse_show_proc(bad).unwrap_err();
            assert!(err.to_string().contains("show proc"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn uptime_forms() {
        assert_eq!(parse_uptime("0d00h00m00s"), Some(0));
        assert_eq!(parse_uptime("10d00h00m01s"), Some(864_001));
        assert_eq!(parse_uptime("00h00m01s"), None);
        assert_eq!(parse_uptime("0d00h00m01sx"), None);
    }
}
