//! Which configuration a running HAProxy loaded: the `-f` arguments of its
//! command line (`/proc/PID/cmdline`), so that a run without `-c` lints the
//! files of the process it talks to, not /etc/haproxy/haproxy.cfg by habit.

use std::path::{Path, PathBuf};

/// The configuration files a process was started with, and how they were found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessConfig {
    pub paths: Vec<PathBuf>,
    /// Said in the report: the pid, and where the paths come from.
    pub why: String,
}

/// The `-f` arguments of an HAProxy command line (files or directories, in
/// order; also everything after `--`), and its `-C` directory (relative
/// `-f` paths are read from there). Pure.
pub fn config_args(argv: &[String]) -> (Vec<String>, Option<String>) {
    let mut files = Vec::new();
    let mut chdir = None;
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-f" => files.extend(args.next().cloned()),
            "-C" => chdir = args.next().cloned(),
            // HAProxy reads every argument after `--` as a configuration file.
            "--" => {
                files.extend(args.by_ref().cloned());
            }
            _ => {}
        }
    }
    (files, chdir)
}

/// The `-f` paths of `argv` made absolute: relative ones from `-C`, itself
/// relative to `cwd`, the directory the process was started in. Pure.
pub fn resolve(argv: &[String], cwd: &Path) -> Vec<PathBuf> {
    let (files, chdir) = config_args(argv);
    let base = match chdir {
        Some(c) => cwd.join(c),
        None => cwd.to_path_buf(),
    };
    files.iter().map(|f| base.join(f)).collect()
}

/// Whether a command line runs HAProxy: its program, or the program a
/// dynamic loader was asked to run (`ld-linux-x86-64.so.2 --library-path
/// DIR /opt/haproxy/sbin/haproxy -f ...`, how a packaged HAProxy of
/// another release runs beside the system's). Pure.
pub fn is_haproxy(argv: &[String]) -> bool {
    let named = |a: &String| {
        Path::new(a)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("haproxy"))
    };
    let Some(first) = argv.first() else {
        return false;
    };
    if named(first) {
        return true;
    }
    let loader = Path::new(first)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("ld-"));
    // The loader's own options come before the program.
    loader && argv[1..].iter().take_while(|a| *a != "-f").any(named)
}

fn cmdline(pid: u32) -> Result<Vec<String>, String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map_err(|e| format!("cannot read /proc/{pid}/cmdline: {e}"))?;
    Ok(raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect())
}

/// The parent of `pid` (`PPid:` of /proc/PID/status).
fn parent(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|p| p.trim().parse().ok())
}

/// The configuration of HAProxy process `pid` (the `Pid` of its `show
/// info`), read from /proc on this host. An error says why it could not be
/// found: the caller falls back to the default and says so.
pub fn of_process(pid: u32) -> Result<ProcessConfig, String> {
    let argv = cmdline(pid)?;
    // In another pid namespace (a container) this pid is another process.
    if !is_haproxy(&argv) {
        return Err(format!(
            "pid {pid} of `show info` is not an haproxy process on this host (HAProxy in a container or another pid namespace?)"
        ));
    }
    // A master-worker worker is a fork of the master: same command line,
    // but it may have chrooted since; the master's directory is where
    // relative paths were read.
    let mut started = pid;
    let mut how = format!("pid {pid}");
    if let Some(ppid) = parent(pid) {
        if ppid > 1 && cmdline(ppid).ok().as_ref() == Some(&argv) {
            started = ppid;
            how = format!("pid {pid}, worker of master {ppid}");
        }
    }
    let (files, _) = config_args(&argv);
    if files.is_empty() {
        return Err(format!("the command line of pid {pid} has no -f argument"));
    }
    let cwd = std::fs::read_link(format!("/proc/{started}/cwd"))
        .map_err(|e| format!("cannot read /proc/{started}/cwd: {e}"))?;
    let paths = resolve(&argv, &cwd);
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        return Err(format!(
            "{} (from the -f arguments of pid {pid}) is not readable here (a chroot, another mount namespace, or a file removed since it started)",
            missing.display()
        ));
    }
    Ok(ProcessConfig {
        why: format!("the -f arguments of the HAProxy process this socket belongs to ({how}, /proc/{pid}/cmdline)"),
        paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn haproxy_run_directly_or_through_a_loader() {
        assert!(is_haproxy(&argv(
            "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg"
        )));
        assert!(is_haproxy(&argv(
            "/c/root/usr/lib64/ld-linux-x86-64.so.2 --library-path /c/root/usr/lib --argv0 /c/haproxy /c/root/usr/sbin/haproxy -f /tmp/lab/haproxy.cfg"
        )));
        assert!(!is_haproxy(&argv("/usr/bin/python3 -f haproxy.cfg")));
        assert!(!is_haproxy(&argv(
            "/lib64/ld-linux-x86-64.so.2 /usr/bin/cat -f haproxy"
        )));
        assert!(!is_haproxy(&[]));
    }

    #[test]
    fn several_f_files_and_directories_in_order() {
        let a = argv("/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/conf.d -p /run/haproxy.pid -S /run/haproxy-master.sock");
        assert_eq!(
            config_args(&a),
            (
                vec![
                    "/etc/haproxy/haproxy.cfg".to_string(),
                    "/etc/haproxy/conf.d".to_string()
                ],
                None
            )
        );
    }

    #[test]
    fn relative_paths_follow_dash_c_and_the_start_directory() {
        let a = argv("haproxy -D -f h.cfg -p pid");
        assert_eq!(
            resolve(&a, Path::new("/tmp/lab")),
            [PathBuf::from("/tmp/lab/h.cfg")]
        );
        let c = argv("haproxy -C /etc/lb -f main.cfg -f /abs.cfg");
        assert_eq!(
            resolve(&c, Path::new("/")),
            [PathBuf::from("/etc/lb/main.cfg"), PathBuf::from("/abs.cfg")]
        );
    }

    #[test]
    fn everything_after_double_dash_is_a_configuration_file() {
        let a = argv("haproxy -db -- a.cfg b.cfg");
        assert_eq!(config_args(&a).0, ["a.cfg", "b.cfg"]);
        assert!(config_args(&argv("haproxy -v")).0.is_empty());
    }

    #[test]
    fn this_test_process_is_not_haproxy() {
        let e = of_process(std::process::id()).unwrap_err();
        assert!(e.contains("not an haproxy process"), "{e}");
    }
}
