#!/usr/bin/env bash
# The SSH transport on this machine: a real sshd on a loopback port (run as
# the current user, keys and known_hosts generated here), LABS real HAProxy
# labs behind it, and an inventory of N SSH hosts h1..hN spread over the
# labs' sockets. Each host is its own ssh alias (HostName 127.0.0.1), so
# each run makes N logins and N masters, as N machines would; the same
# sockets as N local hosts time what SSH adds. Runs alternate (A B A B ...).
#
#   bench/ssh.sh [N] [RUNS] [LABS]    # default 50 hosts, 10 runs, N/10 labs
#                                     # needs haproxy, sshd, ssh, python3
#   TIMEOUT=30 bench/ssh.sh ...       # harun's --timeout (default 5)
#   SIDES=2,4 bench/ssh.sh ...        # run these sides only (1: stat --forks 20,
#                                     # 2: stat --forks N, 3: troubleshoot, 4: the
#                                     # issue's troubleshoot -p sample=0 -p
#                                     # skip=logs,system --forks 50, 5: local, 6: BASE)
#   BASE=/tmp/harun-old bench/ssh.sh  # side 6: side 4 with another binary
#   KEX=curve25519-sha256 bench/ssh.sh  # another key exchange (ssh_config)
#   LOGIN_RC=off bench/ssh.sh         # hide the account's ~/.bashrc from the
#                                     # sessions (needs root: a mount namespace)
# Each side prints harun's peak RSS and where the CPU went: harun and the
# ssh clients it waits for, the ssh masters, sshd with its sessions.
#
# Loopback hides network latency: over a WAN each host adds its round
# trips (TCP, key exchange, auth: about 3-4 RTT, then one per command).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
RUNS=${2:-10}
# HAProxy's stats socket takes 10 connections at once by default (`stats
# maxconn`): more hosts than 10 per lab would queue there, not in SSH.
LABS=${3:-$(( (N + 9) / 10 ))}
. bench/lab.sh
BENCH_PACKAGES="haproxy openssh-server openssh-client python3" \
  bench_init "ssh bench" haproxy ssh ssh-keygen python3 /usr/sbin/sshd

for _ in $(seq 1 "$LABS"); do
  lab_start healthy
done
SOCKS=()
for i in $(seq 1 "$LABS"); do
  SOCK=$(lab_socket "$i")
  SOCKS+=("$SOCK")
done

ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/user_key"
cp "$WORK/user_key.pub" "$WORK/authorized_keys"
mkdir -p /run/sshd 2>/dev/null || true
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/host_key
AuthorizedKeysFile $WORK/authorized_keys
PidFile $WORK/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowStreamLocalForwarding yes
MaxStartups 1000
EOF
if [ "${LOGIN_RC:-on}" = off ] && [ -f "$HOME/.bashrc" ]; then
  # The account's ~/.bashrc hidden from this sshd's sessions only (a mount
  # namespace of its own, nothing changed on the machine): bash run by sshd
  # reads it on every command, and a developer's (pyenv init here: about
  # 110 ms of CPU) is not what a load balancer's account runs.
  unshare --mount --propagation private \
    sh -c 'mount --bind /dev/null "$1" && exec /usr/sbin/sshd -D -f "$2" -E "$3"' \
    sh "$HOME/.bashrc" "$WORK/sshd_config" "$WORK/sshd.log" &
else
  /usr/sbin/sshd -D -f "$WORK/sshd_config" -E "$WORK/sshd.log" &
fi
SSHD_PID=$!
BENCH_KILL+=("$SSHD_PID")  # sshd ends on TERM, not on INT
{
  for i in $(seq 1 "$N"); do
    printf 'Host h%s\n  HostName 127.0.0.1\n  HostKeyAlias bench\n' "$i"
  done
  # KEX=curve25519-sha256: what the key exchange costs (OpenSSH 9.2's
  # default, sntrup761x25519, is most of a login's client CPU). Not a
  # recommendation: it gives up the post-quantum half.
  [ -z "${KEX:-}" ] || printf 'Host *\n  KexAlgorithms %s\n' "$KEX"
  printf 'Host *\n  Port %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n' \
    "$PORT" "$WORK/user_key" "$WORK/known_hosts"
} >"$WORK/ssh_config"
echo "bench $(cat "$WORK/host_key.pub")" >"$WORK/known_hosts"
echo "[lb]" >"$WORK/ssh.ini"
echo "[lb]" >"$WORK/local.ini"
for i in $(seq 1 "$N"); do
  SOCK=${SOCKS[$(( (i - 1) % LABS ))]}
  echo "h$i ansible_host=h$i harun_socket=$SOCK" >>"$WORK/ssh.ini"
  echo "h$i ansible_connection=local harun_socket=$SOCK" >>"$WORK/local.ini"
done
for _ in $(seq 1 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
  sleep 0.2
done
export HARUN_SSH_CONFIG=$WORK/ssh_config
TIMEOUT=${TIMEOUT:-5}
ROWS=$("$HARUN" -i "$WORK/ssh.ini" -l h1 -e 'stat().len()')
TOTAL=$("$HARUN" -i "$WORK/ssh.ini" --timeout "$TIMEOUT" --forks "$N" -e 'stat().len()') \
  || { echo "$TOTAL" >&2; echo "ssh bench: not every host answered" >&2; exit 1; }
[ "$TOTAL" = "$((ROWS * N))" ] || { echo "ssh bench: $TOTAL rows over SSH, want $((ROWS * N))" >&2; exit 1; }
echo "ssh bench: --timeout $TIMEOUT, $N SSH hosts on $LABS labs ($ROWS show stat rows each), $(nproc) CPUs, $(ssh -V 2>&1)"

python3 - "$RUNS" "$HARUN" "$WORK" "$N" "$TIMEOUT" "$SSHD_PID" <<'EOP'
import ctypes, os, statistics, subprocess, sys, time
runs, harun, work, n, timeout = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sshd_pid = sys.argv[6]
# The ssh masters fork away from harun (`ssh -f`): as the subreaper, this
# process reaps them and reads their CPU time. sshd's side (its per-login
# children, and the commands run on the "host") is the listener's reaped
# children time.
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
tick = os.sysconf("SC_CLK_TCK")
def sshd_cpu():
    f = open(f"/proc/{sshd_pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / tick  # utime stime cutime cstime
def reap_masters(pid):
    # Masters exit when harun asks them on their control sockets (OpenSSH's
    # mux protocol); collect those reparented here.
    cpu, count, end = 0.0, 0, time.time() + 2
    while time.time() < end:
        try:
            p, _, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if p == 0:
            time.sleep(0.02)
            continue
        cpu += ru.ru_utime + ru.ru_stime
        count += 1
    return cpu, count
ssh, local = f"{work}/ssh.ini", f"{work}/local.ini"
sides = [
    (f"ssh: {n} hosts, --forks 20", [harun, "--timeout", timeout, "-i", ssh, "-e", "stat().len()"]),
    (f"ssh: {n} hosts, --forks {n}", [harun, "--timeout", timeout, "-i", ssh, "--forks", n, "-e", "stat().len()"]),
    (f"ssh: troubleshoot, --forks {n}", [harun, "--timeout", timeout, "-i", ssh, "--forks", n, "troubleshoot"]),
    # The issue's command (issue 15, Performance): 200 hosts within 10 s.
    ("ssh: troubleshoot -p sample=0 -p skip=logs,system, --forks 50",
     [harun, "--timeout", timeout, "-i", ssh, "--forks", "50", "troubleshoot", "-p", "sample=0", "-p", "skip=logs,system"]),
    (f"local: {n} hosts, --forks {n}", [harun, "-i", local, "--forks", n, "-e", "stat().len()"]),
]
# BASE=/path/to/an/older/harun: the issue's command with it too, alternated
# with this one's (paired runs on a shared machine).
base = os.environ.get("BASE")
if base:
    sides.append((f"BASE: troubleshoot -p sample=0 -p skip=logs,system, --forks 50",
                  [base] + sides[3][1][1:]))
only = os.environ.get("SIDES")  # e.g. SIDES=4,5: run these sides only (1-based)
if only:
    sides = [sides[int(i) - 1] for i in only.split(",")]
def once(cmd):
    # wait4: harun's own peak RSS (its ssh masters are daemons, not counted).
    t = time.perf_counter()
    s0 = sshd_cpu()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: troubleshoot's findings
        sys.exit(f"{' '.join(cmd)}: exit {code}: {err.decode()[-2000:]}")
    mcpu, _ = reap_masters(p.pid)
    # harun's CPU includes the ssh clients it waited for (-O forward, commands).
    return dt, ru.ru_maxrss / 1024, (ru.ru_utime + ru.ru_stime, mcpu, sshd_cpu() - s0)
load = os.getloadavg()[0]
for _, c in sides:
    once(c)
times = [[] for _ in sides]
rss = [[] for _ in sides]
cpus = [[] for _ in sides]
for _ in range(runs):
    for i, (_, c) in enumerate(sides):
        dt, m, cpu = once(c)
        times[i].append(dt)
        rss[i].append(m)
        cpus[i].append(cpu)
print(f"  load average (1 min) before the runs: {load:.2f}, after: {os.getloadavg()[0]:.2f}")
for (label, _), xs, ms, cs in zip(sides, times, rss, cpus):
    print(f"  {label:<60} median {statistics.median(xs) * 1000:7.1f} ms   min {min(xs) * 1000:7.1f} ms   max {max(xs) * 1000:7.1f} ms   peak RSS {max(ms):6.1f} MiB   ({len(xs)} runs)")
    h, m, d = (statistics.median(c[k] for c in cs) for k in range(3))
    print(f"  {'':<60} CPU (median): harun + its ssh clients {h:5.1f} s, ssh masters {m:5.1f} s, sshd and its sessions {d:5.1f} s")
EOP
# Every master was closed at the end of each run.
LEFT=$(pgrep -f "ControlPath=.*/harun-ssh-" | wc -l || true)
echo "  ssh masters left running after the runs: $LEFT"
