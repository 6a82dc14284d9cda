#!/usr/bin/env bash
# Benchmarks harun's log summary against halog (HAProxy's own log analyser, from Debian's
# haproxy package) on the same generated 1,000,000-line httplog file, side by side, and
# prints ratios and peak memory.
#
#   bench/logs.sh [RUNS] [LINES]     # needs haproxy (for halog), python3, /usr/bin/time
#
# Pairs run alternately (A B A B ...) so a noisy machine slows both sides alike; medians
# and minima are reported. Timings belong here, never in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
LINES=${2:-1000000}
HALOG=$(command -v halog || echo /usr/sbin/halog)
[ -x "$HALOG" ] || { echo "bench: halog is missing (apt-get install -y haproxy)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench: python3 is missing" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install -y time)" >&2; exit 2; }
cargo build --release --quiet
HARUN=$PWD/target/release/harun
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/haproxy.log
python3 bench/gen_httplog.py "$LINES" > "$LOG"
echo "log: $LINES httplog lines, $(($(stat -c %s "$LOG") / 1048576)) MB (rsyslog file format), $(nproc) CPUs, halog from haproxy $(dpkg-query -W -f '${Version}' haproxy 2>/dev/null || echo "?")"

# The same answers first: the per-server request counts and the termination counts.
"$HALOG" -srv < "$LOG" 2>/dev/null | awk 'NR>1 {print $1, $8}' | sort > "$WORK/halog.srv"
"$HARUN" -c /dev/null -e "for s in log_summary(\"$LOG\").servers { print(s.name + \" \" + s.requests) }" | sort > "$WORK/harun.srv"
diff "$WORK/halog.srv" "$WORK/harun.srv" > /dev/null && echo "per-server request counts: identical to halog -srv" \
  || { echo "bench: per-server counts differ from halog -srv:" >&2; diff "$WORK/halog.srv" "$WORK/harun.srv" | head >&2; exit 1; }
"$HALOG" -tc < "$LOG" 2>/dev/null | sort > "$WORK/halog.tc"
"$HARUN" -c /dev/null -e "let t = log_summary(\"$LOG\").total.terminations; let c = #{}; for k in t.keys() { let two = k.sub_string(0, 2); c[two] = (c.get(two) ?? 0) + t[k]; } for k in c.keys() { print(k + \" \" + c[k]) }" | sort > "$WORK/harun.tc"
diff "$WORK/halog.tc" "$WORK/harun.tc" > /dev/null && echo "termination counts: identical to halog -tc" \
  || { echo "bench: termination counts differ from halog -tc:" >&2; diff "$WORK/halog.tc" "$WORK/harun.tc" >&2; exit 1; }

pair() {
  python3 - "$@" <<'EOP'
import statistics, subprocess, sys, time
runs, rest = int(sys.argv[1]), sys.argv[2:]
sides = list(zip(rest[0::2], rest[1::2]))
def once(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
for _, c in sides:
    once(c)
times = [[] for _ in sides]
for _ in range(runs):
    for i, (_, c) in enumerate(sides):
        times[i].append(once(c))
for (label, _), xs in zip(sides, times):
    print(f"  {label:<44} median {statistics.median(xs) * 1000:7.1f} ms   min {min(xs) * 1000:7.1f} ms")
(la, _), (lb, _) = sides
a, b = times
ma, mb = statistics.median(a), statistics.median(b)
word = "faster than" if ma <= mb else "the time of"
ratio = mb / ma if ma <= mb else ma / mb
print(f"  ratio: {la.split()[0]} {'is' if ma <= mb else 'takes'} {ratio:.2f}x {word} {lb.split()[0]} (medians; minima {min(b) / min(a) if ma <= mb else min(a) / min(b):.2f}x)")
EOP
}

SUMMARY="$HARUN -c /dev/null -e 'log_summary(\"$LOG\").servers.len()'"
TC="$HARUN -c /dev/null -e 'log_summary(\"$LOG\").total.terminations.len()'"
echo "per-server summary ($RUNS runs each, alternating):"
pair "$RUNS" "harun log_summary (every aggregate)" "$SUMMARY" "halog -srv" "$HALOG -srv < $LOG"
echo "termination count:"
pair "$RUNS" "harun log_summary .total.terminations" "$TC" "halog -tc" "$HALOG -tc < $LOG"
echo "one thread (threads: 1):"
pair "$RUNS" "harun log_summary, one thread" "$HARUN -c /dev/null -e 'log_summary(\"$LOG\", #{threads: 1}).servers.len()'" "halog -srv" "$HALOG -srv < $LOG"

echo "peak memory (/usr/bin/time -v, maximum resident set size):"
for c in "$SUMMARY" "$HALOG -srv < $LOG"; do
  kb=$( { /usr/bin/time -v sh -c "$c" > /dev/null; } 2>&1 | sed -n 's/.*Maximum resident set size (kbytes): //p')
  printf '  %-44s %6.1f MiB\n' "${c%% *}" "$(echo "$kb / 1024" | bc -l)"
done
# The same file gzipped (read by one thread: gzip cannot be split).
gzip -1 -c "$LOG" > "$LOG.gz"
echo "gzip ($(($(stat -c %s "$LOG.gz") / 1048576)) MB):"
pair "$RUNS" "harun log_summary on .gz" "$HARUN -c /dev/null -e 'log_summary(\"$LOG.gz\").requests'" "zcat | halog -srv" "zcat $LOG.gz | $HALOG -srv"
