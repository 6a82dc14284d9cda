#!/usr/bin/env bash
# Benchmarks harun against what people use today (socat, socat | awk), side by
# side in one run, on a lab with 2,000 backends x 10 servers. Prints ratios.
#
#   bench/bench.sh [RUNS]     # needs haproxy, socat, python3 (apt-get install -y haproxy socat python3)
#
# The two commands of a pair run alternately (A B A B ...), so a shared,
# noisy machine slows both sides alike; medians and minima are reported.
# Timings belong here, never in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
. bench/lab.sh
bench_init bench haproxy socat python3
lab_start big
SOCK=$(lab_socket "$LAB")
echo "lab: $SOCK ($(echo 'show stat' | socat "$SOCK" stdio | wc -l) show stat lines), $(nproc) CPUs, haproxy $(haproxy -v | sed -n 1p | cut -d' ' -f3)"

# pair RUNS WARMUP "label A" "cmd A" ["label B" "cmd B" ...] "label Z" "cmd Z":
# alternate (A B ... Z A B ... Z), report, ratio of each median to Z's.
pair() {
  python3 - "$@" <<'EOP'
import statistics, subprocess, sys, time
runs, warmup, rest = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
sides = list(zip(rest[0::2], rest[1::2]))
def once(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
for _ in range(warmup):
    for _, c in sides:
        once(c)
times = [[] for _ in sides]
for _ in range(runs):
    for i, (_, c) in enumerate(sides):
        times[i].append(once(c))
for (label, _), xs in zip(sides, times):
    print(f"  {label:<28} median {statistics.median(xs) * 1000:8.1f} ms   min {min(xs) * 1000:8.1f} ms   ({len(xs)} runs)")
lb, b = sides[-1][0], times[-1]
mb = statistics.median(b)
for (la, _), a in zip(sides[:-1], times[:-1]):
    ma = statistics.median(a)
    if ma <= mb:
        print(f"  ratio: {la} is {mb / ma:.2f}x faster than {lb} (medians; minima {min(b) / min(a):.2f}x)")
    else:
        print(f"  ratio: {la} takes {ma / mb:.2f}x the time of {lb} (medians; minima {min(a) / min(b):.2f}x)")
EOP
}

echo
echo "== 1. stat() of 20,000 servers end to end vs socat (target: within 1.1x)"
pair "$RUNS" 3 \
  "harun -e 'stat().len()'" "\"$HARUN\" -s \"$SOCK\" -e 'stat().len()'" \
  "socat show stat" "echo 'show stat' | socat \"$SOCK\" stdio"

echo
echo "== 2. servers with sessions or a queue: harun vs socat | awk"
pair "$RUNS" 3 \
  "harun stat() filter" "\"$HARUN\" -s \"$SOCK\" -e 'let n = 0; for r in stat() { if r.qcur > 0 || r.scur > 0 { n += 1 } } n'" \
  "socat | awk filter" "echo 'show stat' | socat \"$SOCK\" stdio | awk -F, 'NR>1 && (\$3>0 || \$5>0) {n++} END {print n+0}'"

echo
echo "== 3. 2,000 'set server ... state' from one playbook vs one socat per command (target: >= 30x faster)"
echo "   batch: set_state(array, state): judged whole on one read, then one pipelined exchange"
echo "   loop:  set_state(name, state) called 2,000 times: one round trip each"
python3 - "$WORK" <<'EOP'
import sys
w = sys.argv[1]
names = [f"bk{b:04}/srv{s}" for b in range(200) for s in range(10)]
array = "[" + ",".join(f'"{n}"' for n in names) + "]"
with open(f"{w}/batch.rhai", "w") as f:
    f.write(f"set_state({array}, \"ready\").len()\n")
with open(f"{w}/loop.rhai", "w") as f:
    f.write(f"let n = 0;\nfor s in {array} {{\n    set_state(s, \"ready\");\n    n += 1;\n}}\nn\n")
with open(f"{w}/writes.sh", "w") as f:
    f.write("#!/bin/sh\n")
    for n in names:
        f.write(f'echo "set server {n} state ready" | socat "$1" stdio >/dev/null\n')
EOP
pair 5 1 \
  "harun batch (journaled)" "\"$HARUN\" -s \"$SOCK\" --yes --journal \"$WORK/journal.jsonl\" \"$WORK/batch.rhai\"" \
  "harun loop (journaled)" "\"$HARUN\" -s \"$SOCK\" --yes --journal \"$WORK/journal.jsonl\" \"$WORK/loop.rhai\"" \
  "socat loop" "sh \"$WORK/writes.sh\" \"$SOCK\""
echo "  journal lines: $(wc -l <"$WORK/journal.jsonl") (two per write, intent and outcome: 2 sides x 6 runs x 2,000 x 2)"

echo
echo "== 4. peak memory of stat() on 20,000 servers (target: < 64 MiB)"
/usr/bin/time -f "  max RSS: %M KiB" "$HARUN" -s "$SOCK" -e 'stat().len()' >/dev/null

echo
echo "== 5. troubleshoot replayed from a snapshot bundle vs the same run live (target: within 1.5x)"
CFG=$(sed -n 's/.*config \([^ ]*\) .*/\1/p' "$WORK/lab1.err" | sed -n 1p)
"$HARUN" -s "$SOCK" -c "$CFG" --journal "$WORK/journal.jsonl" snapshot -p dir="$WORK" -p checks=false >/dev/null || true
BUNDLE=$(ls -d "$WORK"/harun-snapshot-* | sed -n 1p)
echo "   bundle $(du -sh "$BUNDLE" | cut -f1); with -p sample=0 both sides skip the 3 s error-rate window, which a replay never waits for"
TS_RUNS=$(( RUNS < 10 ? RUNS : 10 ))
# troubleshoot exits 1 on this lab's findings: that is its answer, not a failure.
pair "$TS_RUNS" 1 \
  "replay troubleshoot" "\"$HARUN\" --replay \"$BUNDLE\" troubleshoot -p sample=0 || true" \
  "live troubleshoot" "\"$HARUN\" -s \"$SOCK\" -c \"$CFG\" troubleshoot -p sample=0 || true"
pair 3 0 \
  "replay troubleshoot (sample=3)" "\"$HARUN\" --replay \"$BUNDLE\" troubleshoot || true" \
  "live troubleshoot (sample=3)" "\"$HARUN\" -s \"$SOCK\" -c \"$CFG\" troubleshoot || true"

echo
echo "== 6. harun check of the shipped playbooks, no connection (target: < 100 ms)"
echo "   against harun list (start-up and header parsing only)"
pair "$RUNS" 3 \
  "harun check playbooks" "\"$HARUN\" check playbooks" \
  "harun list" "\"$HARUN\" list"
