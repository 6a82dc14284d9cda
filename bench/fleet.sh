#!/usr/bin/env bash
# A fleet on this machine: N real HAProxy labs (`harun lab SCENARIO`), one
# inventory of N local hosts pointing at their sockets, and `stat()` over
# all of them against `stat()` of one, run alternately (A B A B ...) so a
# noisy minute hits both sides. Prints medians, minima and the ratio.
# docs/performance.md quotes the figures.
#
#   bench/fleet.sh [N] [RUNS] [SCENARIO]    # default 32 hosts, 30 runs, healthy
#                                           # needs haproxy and python3
#   BASELINE=/path/to/other/harun bench/fleet.sh   # also time another build, alternated
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-32}
RUNS=${2:-30}
SCENARIO=${3:-healthy}
. bench/lab.sh
bench_init fleet haproxy python3

for _ in $(seq 1 "$N"); do
  lab_start "$SCENARIO"
done
echo "[lb]" >"$WORK/hosts.ini"
for i in $(seq 1 "$N"); do
  SOCK=$(lab_socket "$i")
  echo "lb$i ansible_connection=local harun_socket=$SOCK" >>"$WORK/hosts.ini"
  [ "$i" = 1 ] && FIRST=$SOCK
done
ROWS=$("$HARUN" -s "$FIRST" -e 'stat().len()')
echo "fleet: $N labs ($SCENARIO, $ROWS show stat rows each), $(nproc) CPUs, haproxy $(haproxy -v | sed -n 1p | cut -d' ' -f3)"
"$HARUN" -i "$WORK/hosts.ini" -e 'stat().len()' >/dev/null

python3 - "$RUNS" "$HARUN" "$WORK/hosts.ini" "$FIRST" "$N" "${BASELINE:-}" <<'EOP'
import statistics, subprocess, sys, time
runs, harun, inv, first, n, baseline = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
sides = [
    (f"-i: {n} hosts, --forks 20", [harun, "-i", inv, "-e", "stat().len()"]),
    (f"-i: {n} hosts, --forks {n}", [harun, "-i", inv, "--forks", n, "-e", "stat().len()"]),
]
if baseline:
    # An older build may not read inventories: the same sockets with -s.
    socks = [l.split("harun_socket=")[1].strip() for l in open(inv) if "harun_socket=" in l]
    sides.append((f"baseline: {n} sockets (-s)", [baseline, "-s", ",".join(socks), "-e", "stat().len()"]))
    sides.append(("baseline: one socket", [baseline, "-s", first, "-e", "stat().len()"]))
sides.append(("-s: one socket", [harun, "-s", first, "-e", "stat().len()"]))
def once(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
for _ in range(3):
    for _, c in sides:
        once(c)
times = [[] for _ in sides]
for _ in range(runs):
    for i, (_, c) in enumerate(sides):
        times[i].append(once(c))
for (label, _), xs in zip(sides, times):
    print(f"  {label:<28} median {statistics.median(xs) * 1000:7.1f} ms   min {min(xs) * 1000:7.1f} ms   ({len(xs)} runs)")
one = statistics.median(times[-1])
for (label, _), xs in zip(sides[:-1], times[:-1]):
    print(f"  ratio: {label} takes {statistics.median(xs) / one:.2f}x the time of one socket (medians; minima {min(xs) / min(times[-1]):.2f}x)")

# The floor HAProxy sets: a raw client (no process start, no parsing)
# reading `show stat` from every socket at once, against one socket, and
# the CPU the HAProxy processes spend answering (their background work,
# health checks, measured idle and taken out). On a machine with few cores
# the N processes' own work is part of the wall time of any client.
import os, selectors, socket
socks = [l.split("harun_socket=")[1].strip() for l in open(inv) if "harun_socket=" in l]
tick = os.sysconf("SC_CLK_TCK")
def haproxy_cpu():
    total = 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            st = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        if "(haproxy)" in st:
            f = st.rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
    return total / tick
def raw(paths):
    t = time.perf_counter()
    sel = selectors.DefaultSelector()
    for p in paths:
        c = socket.socket(socket.AF_UNIX)
        c.connect(p)
        c.sendall(b"show stat\n")
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    left = len(paths)
    while left:
        for key, _ in sel.select():
            if not key.fileobj.recv(1 << 16):
                sel.unregister(key.fileobj)
                key.fileobj.close()
                left -= 1
    return time.perf_counter() - t
rounds = max(runs, 30) * 3
a0 = haproxy_cpu(); t0 = time.time(); time.sleep(2); idle = (haproxy_cpu() - a0) / (time.time() - t0)
raw_n, raw_1 = [], []
c0, w0 = haproxy_cpu(), time.time()
for _ in range(rounds):
    raw_n.append(raw(socks))
cpu_n = (haproxy_cpu() - c0 - idle * (time.time() - w0)) / rounds
for _ in range(rounds):
    raw_1.append(raw(socks[:1]))
rn, r1 = statistics.median(raw_n), statistics.median(raw_1)
print(f"  raw client, {n} sockets at once: median {rn * 1000:5.2f} ms; one socket: {r1 * 1000:5.2f} ms ({rounds} rounds each)")
print(f"  HAProxy CPU answering {n} sockets: {cpu_n * 1000:5.2f} ms per round (idle background {idle * 1000:.0f} ms/s taken out)")
print(f"  floor for harun (one socket's time plus what {n} cost a raw client): {(one + rn - r1) / one:.2f}x")
EOP
