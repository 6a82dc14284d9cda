//! Finding the programs harun runs (`haproxy`).

use std::path::PathBuf;

/// Where to run a program given by bare name: `PATH` first, then the sbin
/// directories Debian installs daemons into (`/usr/sbin/haproxy`), which are
/// not on a regular user's `PATH`. A path with a `/`, or a name found
/// nowhere, is returned as given (the spawn error then names it).
pub fn resolve_program(program: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    if program.components().count() != 1 {
        return program.to_path_buf();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let sbin = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(sbin)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| program.to_path_buf())
}

#[cfg(test)]
mod resolve_tests {
    use super::resolve_program;
    use std::path::Path;

    #[test]
    fn bare_names_are_searched_paths_are_kept() {
        assert_eq!(
            resolve_program(Path::new("./haproxy")),
            Path::new("./haproxy")
        );
        assert_eq!(
            resolve_program(Path::new("/opt/x/haproxy")),
            Path::new("/opt/x/haproxy")
        );
        assert_eq!(
            resolve_program(Path::new("no-such-program-here")),
            Path::new("no-such-program-here")
        );
        assert!(resolve_program(Path::new("sh")).is_absolute());
    }
}
