//! Host probes: is irqbalance running, how many CPUs are online, which addresses are local.
//!
//! Every probe takes its root directory (`/proc`, `/sys`) so tests can point it at a fake tree.
//! On this machine a probe never fails: an unreadable file means "not seen", and the result
//! says where it came from. On another host (`*_on` with an SSH [`Access`]) a probe fails when
//! the host cannot be asked at all (the SSH link, a shell that runs no commands): "not seen"
//! there would be a wrong answer about that host.

use crate::base::report::{Finding, Severity};
use crate::system::access::{Access, RunError};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::Path;

/// Whether an `irqbalance` process runs, from `<proc>/<pid>/comm`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrqbalanceStatus {
    pub running: bool,
    /// Sorted process ids whose `comm` is `irqbalance`.
    pub pids: Vec<u32>,
}

/// Online CPUs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuInfo {
    /// Number of online CPUs.
    pub online: usize,
    /// The kernel's list, e.g. `0-3,6`.
    pub list: String,
    /// `sysfs` or `available_parallelism` (when `<sys>/devices/system/cpu/online` is unreadable).
    pub source: String,
}

/// Scans `<proc_root>/*/comm` for `irqbalance` (works without systemd, inside containers
/// that share the host's pid namespace, and on sysvinit hosts).
pub fn irqbalance(proc_root: &Path) -> IrqbalanceStatus {
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return IrqbalanceStatus::default();
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // `comm` is at most 16 bytes; read a little more in case of a fake tree.
        if let Ok(comm) = std::fs::read(entry.path().join("comm")) {
            let comm = String::from_utf8_lossy(&comm[..comm.len().min(64)]);
            if comm.trim_end_matches(['\n', '\0']).trim() == "irqbalance" {
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    IrqbalanceStatus {
        running: !pids.is_empty(),
        pids,
    }
}

/// Online CPUs from `<sys_root>/devices/system/cpu/online`, falling back to
/// `std::thread::available_parallelism` (which honours cgroup quotas and affinity).
pub fn cpus(sys_root: &Path) -> CpuInfo {
    let path = sys_root.join("devices/system/cpu/online");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let list = text.trim().to_string();
        if let Some(online) = count_cpu_list(&list) {
            if online > 0 {
                return CpuInfo {
                    online,
                    list,
                    source: "sysfs".into(),
                };
            }
        }
    }
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    CpuInfo {
        online: n,
        list: if n == 1 {
            "0".into()
        } else {
            format!("0-{}", n - 1)
        },
        source: "available_parallelism".into(),
    }
}

/// [`irqbalance`] on a host. Over SSH one command scans `<proc_root>/*/comm`
/// there (the root is `$1`, never part of the script); an error is the
/// host's (ssh failed, no answer in time), not "not running".
pub fn irqbalance_on(access: &Access, proc_root: &Path) -> std::io::Result<IrqbalanceStatus> {
    if access.is_local() {
        return Ok(irqbalance(proc_root));
    }
    let script = r#"for c in "$1"/[0-9]*/comm; do n=; read -r n < "$c" 2>/dev/null || continue; if [ "$n" = irqbalance ]; then p=${c%/comm}; echo "${p##*/}"; fi; done; exit 0"#;
    let out = access
        .run(
            Path::new("sh"),
            &["-c".into(), script.into(), "sh".into(), proc_root.into()],
            remote_timeout(access),
            64 * 1024,
        )
        .map_err(run_error)?;
    if out.code != 0 {
        return Err(std::io::Error::other(format!(
            "scanning {} for irqbalance failed: {}",
            proc_root.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let mut pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(IrqbalanceStatus {
        running: !pids.is_empty(),
        pids,
    })
}

/// [`cpus`] on a host: its `<sys_root>/devices/system/cpu/online`, else
/// `getconf _NPROCESSORS_ONLN` there (this machine's count would be a wrong fact).
pub fn cpus_on(access: &Access, sys_root: &Path) -> std::io::Result<CpuInfo> {
    if access.is_local() {
        return Ok(cpus(sys_root));
    }
    let path = sys_root.join("devices/system/cpu/online");
    if let Ok(bytes) = access.read(&path, 64 * 1024) {
        let list = String::from_utf8_lossy(&bytes).trim().to_string();
        if let Some(online) = count_cpu_list(&list).filter(|n| *n > 0) {
            return Ok(CpuInfo {
                online,
                list,
                source: "sysfs".into(),
            });
        }
    }
    let out = access
        .run(
            Path::new("getconf"),
            &["_NPROCESSORS_ONLN".into()],
            remote_timeout(access),
            1024,
        )
        .map_err(run_error)?;
    let n: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "{} unreadable and `getconf _NPROCESSORS_ONLN` gave no count",
                path.display()
            ))
        })?;
    Ok(CpuInfo {
        online: n,
        list: if n == 1 {
            "0".into()
        } else {
            format!("0-{}", n - 1)
        },
        source: "getconf".into(),
    })
}

/// The host's interface addresses: [`local_addresses`] here, `ip -o addr`
/// over SSH (iproute2).
pub fn local_addresses_on(access: &Access) -> std::io::Result<Vec<IpAddr>> {
    if access.is_local() {
        return Ok(local_addresses());
    }
    let out = access
        .run(
            Path::new("ip"),
            &["-o".into(), "addr".into(), "show".into()],
            remote_timeout(access),
            1024 * 1024,
        )
        .map_err(run_error)?;
    if out.code != 0 {
        return Err(std::io::Error::other(format!(
            "`ip -o addr show` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_ip_addr(&String::from_utf8_lossy(&out.stdout)))
}

/// The addresses of `ip -o addr show`: `2: eth0    inet 10.0.0.5/24 brd ...`.
pub fn parse_ip_addr(text: &str) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|x| *x == "inet" || *x == "inet6")?;
            w.next()?.split('/').next()?.parse().ok()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn remote_timeout(access: &Access) -> std::time::Duration {
    match access {
        Access::Ssh { timeout, .. } => *timeout,
        Access::Local => std::time::Duration::from_secs(10),
    }
}

fn run_error(e: RunError) -> std::io::Error {
    match e {
        RunError::NotFound => std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the program is not installed on the host",
        ),
        RunError::Timeout(after) => std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {after:?}"),
        ),
        RunError::Spawn(e) => e,
    }
}

/// Counts the CPUs in a kernel CPU list such as `0-3,6,8-9`. `None` when malformed.
/// Counts arithmetically, so a hostile `0-4294967295` does not allocate.
pub fn count_cpu_list(list: &str) -> Option<usize> {
    let list = list.trim();
    if list.is_empty() {
        return Some(0);
    }
    let mut total: usize = 0;
    for part in list.split(',') {
        let part = part.trim();
        let n = match part.split_once('-') {
            Some((a, b)) => {
                let a: usize = a.trim().parse().ok()?;
                let b: usize = b.trim().parse().ok()?;
                if b < a {
                    return None;
                }
                (b - a).checked_add(1)?
            }
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
        total = total.checked_add(n)?;
    }
    Some(total)
}

/// `system.irqbalance` (warning) when irqbalance runs while HAProxy runs several processes
/// (`nbproc > 1`, HAProxy ≤ 2.4) or pins threads/processes with `cpu-map`: irqbalance keeps
/// moving NIC interrupts onto the cores HAProxy is pinned to.
pub fn irqbalance_finding(
    status: &IrqbalanceStatus,
    cpus: &CpuInfo,
    nbproc: u32,
    nbthread: u32,
    cpu_map: bool,
) -> Option<Finding> {
    if !status.running || cpus.online < 2 {
        return None;
    }
    let multi_proc = nbproc > 1;
    if !multi_proc && !cpu_map {
        return None;
    }
    let why = match (multi_proc, cpu_map) {
        (true, true) => format!("HAProxy runs {nbproc} processes pinned with cpu-map"),
        (true, false) => format!("HAProxy runs {nbproc} processes"),
        _ => format!("HAProxy pins its {nbthread} thread(s) with cpu-map"),
    };
    let pids: Vec<String> = status.pids.iter().map(|p| p.to_string()).collect();
    Some(
        Finding::new(
            Severity::Warning,
            "system.irqbalance",
            "irqbalance is running on a multi-core HAProxy host",
        )
        .detail(format!(
            "{why} on {} online CPUs ({}). irqbalance periodically moves network interrupts \
             between cores, including onto the cores HAProxy is pinned to, which steals CPU from \
             HAProxy and shows up as latency spikes and uneven load between threads/processes.",
            cpus.online, cpus.list
        ))
        .advice(
            "systemctl stop irqbalance && systemctl disable irqbalance \
             (sysvinit: service irqbalance stop, and ENABLED=0 in /etc/default/irqbalance); \
             then pin each NIC queue's IRQ away from HAProxy's cores: \
             grep eth0 /proc/interrupts, then echo <cpu-mask> > /proc/irq/<N>/smp_affinity \
             (e.g. mask 1 = CPU 0 when HAProxy uses cpu-map 1-3)",
        )
        .evidence(format!("irqbalance pid(s): {}", pids.join(", ")))
        .evidence(format!(
            "nbproc {nbproc}, nbthread {nbthread}, cpu-map {cpu_map}"
        ))
        .evidence(format!("online CPUs: {} ({})", cpus.list, cpus.source)),
    )
}

/// Addresses configured on this host's interfaces (via `getifaddrs`), loopback included.
/// Empty when the call fails.
pub fn local_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `ifap` with a linked list we free with freeifaddrs below;
    // every pointer is checked for null before use and sockaddrs are read by family.
    unsafe {
        if libc::getifaddrs(&mut ifap) != 0 {
            return out;
        }
        let mut cur = ifap;
        while !cur.is_null() {
            let addr = (*cur).ifa_addr;
            if !addr.is_null() {
                match i32::from((*addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(addr as *const libc::sockaddr_in);
                        out.push(IpAddr::from(
                            u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                        ));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(addr as *const libc::sockaddr_in6);
                        out.push(IpAddr::from(sin6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(ifap);
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn fake_proc(procs: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (pid, comm) in procs {
            fs::create_dir_all(dir.path().join(pid)).unwrap();
            fs::write(dir.path().join(pid).join("comm"), comm).unwrap();
        }
        // Noise: non-numeric entries and a pid without comm.
        fs::create_dir_all(dir.path().join("self")).unwrap();
        fs::write(dir.path().join("self/comm"), "irqbalance\n").unwrap();
        fs::create_dir_all(dir.path().join("999")).unwrap();
        fs::write(dir.path().join("cpuinfo"), "x").unwrap();
        dir
    }

    fn cpu4() -> CpuInfo {
        CpuInfo {
            online: 4,
            list: "0-3".into(),
            source: "sysfs".into(),
        }
    }

    #[test]
    fn finds_irqbalance_by_comm() {
        let d = fake_proc(&[
            ("1", "systemd\n"),
            ("812", "irqbalance\n"),
            ("77", "irqbalance"),
        ]);
        let s = irqbalance(d.path());
        assert!(s.running);
        assert_eq!(s.pids, vec![77, 812]);
        let d = fake_proc(&[("1", "init\n"), ("2", "irqbalancer\n")]);
        assert_eq!(irqbalance(d.path()), IrqbalanceStatus::default());
        assert!(!irqbalance(Path::new("/nonexistent/proc")).running);
    }

    #[test]
    fn real_proc_does_not_panic() {
        let _ = irqbalance(Path::new("/proc"));
        let c = cpus(Path::new("/sys"));
        assert!(c.online >= 1);
        assert!(local_addresses().iter().any(|a| a.is_loopback()));
    }

    #[test]
    fn reads_ip_addr_output() {
        let text = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n1: lo    inet6 ::1/128 scope host \\       valid_lft forever\n2: eth0    inet 10.1.2.3/24 brd 10.1.2.255 scope global eth0\n2: eth0    inet 10.1.2.3/24 brd 10.1.2.255 scope global secondary eth0\ngarbage inet\n";
        let want: Vec<IpAddr> = ["10.1.2.3", "127.0.0.1", "::1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(parse_ip_addr(text), want);
    }

    #[test]
    fn counts_cpu_lists() {
        assert_eq!(count_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(count_cpu_list("0\n"), Some(1));
        assert_eq!(count_cpu_list(""), Some(0));
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("a-b"), None);
        assert_eq!(count_cpu_list("0-18446744073709551615"), None);
        assert_eq!(count_cpu_list("0-4294967295"), Some(4294967296));
    }

    #[test]
    fn cpus_from_fake_sys_and_fallback() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("devices/system/cpu")).unwrap();
        fs::write(d.path().join("devices/system/cpu/online"), "0-3,6,8-9\n").unwrap();
        let c = cpus(d.path());
        assert_eq!(
            (c.online, c.list.as_str(), c.source.as_str()),
            (7, "0-3,6,8-9", "sysfs")
        );
        fs::write(d.path().join("devices/system/cpu/online"), "garbage").unwrap();
        let c = cpus(d.path());
        assert_eq!(c.source, "available_parallelism");
        assert!(c.online >= 1);
    }

    #[test]
    fn irqbalance_finding_rules() {
        let on = IrqbalanceStatus {
            running: true,
            pids: vec![812],
        };
        let off = IrqbalanceStatus::default();
        let f = irqbalance_finding(&on, &cpu4(), 4, 1, false).unwrap();
        assert_eq!(
            (f.id.as_str(), f.severity),
            ("system.irqbalance", Severity::Warning)
        );
        assert!(f
            .advice
            .as_deref()
            .unwrap()
            .contains("systemctl disable irqbalance"));
        assert!(f.advice.as_deref().unwrap().contains("/proc/irq/"));
        assert!(irqbalance_finding(&on, &cpu4(), 1, 4, true).is_some());
        assert!(irqbalance_finding(&on, &cpu4(), 1, 4, false).is_none());
        assert!(irqbalance_finding(&off, &cpu4(), 4, 1, true).is_none());
        let one = CpuInfo {
            online: 1,
            list: "0".into(),
            source: "sysfs".into(),
        };
        assert!(irqbalance_finding(&on, &one, 4, 1, true).is_none());
    }
}
