#!/usr/bin/env bash
# disagreements() against stat() on two big labs (`harun lab big`: 2,000
# backends x 10 servers each, one server put in maintenance on the second),
# alternated (A B C A B C ...) so a noisy minute hits every side. Prints
# medians, minima, ratios and each side's peak RSS. docs/performance.md
# quotes the figures.
#
#   bench/disagree.sh [RUNS]        # default 10 runs; needs haproxy and python3
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
. bench/lab.sh
bench_init disagree haproxy python3

SOCKS=()
lab_start big
lab_start big
for i in 1 2; do
  SOCK=$(lab_socket "$i")
  SOCKS+=("$SOCK")
done
A=${SOCKS[0]}
B=${SOCKS[1]}
"$HARUN" -s "$B" --yes -e 'set_state("bk0001/srv3", "maint"); 1' >/dev/null
ROWS=$("$HARUN" -s "$A" -s "$B" -e 'disagreements().len()')
SERVERS=$("$HARUN" -s "$A" -e 'servers().len()')
echo "disagree: 2 labs of $SERVERS servers, $ROWS disagreement(s), $(nproc) CPUs, haproxy $(haproxy -v | sed -n 1p | cut -d' ' -f3)"

python3 - "$RUNS" "$HARUN" "$A" "$B" <<'EOP'
import resource, statistics, subprocess, sys, time
runs, harun, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
sides = [
    ("disagreements(), 2 targets", [harun, "-s", a, "-s", b, "-e", "disagreements().len()"]),
    ("stat(), 2 targets", [harun, "-s", a, "-s", b, "-e", "stat().len()"]),
    ("servers(), 2 targets", [harun, "-s", a, "-s", b, "-e", "servers().len()"]),
    ("stat(), 1 target", [harun, "-s", a, "-e", "stat().len()"]),
]
def once(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
def peak_rss_mb(cmd):
    # GNU time's %M: the child's peak RSS in KiB.
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, check=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024
for _ in range(2):
    for _, c in sides:
        once(c)
times = [[] for _ in sides]
for _ in range(runs):
    for i, (_, c) in enumerate(sides):
        times[i].append(once(c))
for (label, c), xs in zip(sides, times):
    try:
        rss = f"{peak_rss_mb(c):6.1f} MB peak RSS"
    except (FileNotFoundError, subprocess.CalledProcessError, ValueError):
        rss = "(no /usr/bin/time)"
    print(f"  {label:<28} median {statistics.median(xs) * 1000:7.1f} ms   min {min(xs) * 1000:7.1f} ms   {rss}   ({len(xs)} runs)")
d = times[0]
for (label, _), xs in zip(sides[1:], times[1:]):
    print(f"  ratio: disagreements() takes {statistics.median(d) / statistics.median(xs):.2f}x the time of {label} (medians; minima {min(d) / min(xs):.2f}x)")
EOP
