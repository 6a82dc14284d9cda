#!/usr/bin/env bash
# Benchmarks harun against what people use today (socat, socat | awk), side by
# side in one run, on a lab with 2,000 backends x 10 servers. Prints ratios.
#
#   bench/bench.sh            # needs haproxy, socat, hyperfine (apt-get install -y haproxy socat hyperfine)
#
# Timings belong here, never in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in haproxy socat hyperfine python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y haproxy socat hyperfine)" >&2; exit 2; }
done
cargo build --release --quiet
HARUN=$PWD/target/release/harun
WORK=$(mktemp -d)
trap 'kill "$LAB_PID" 2>/dev/null || true; wait "$LAB_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$HARUN" lab big 2>"$WORK/lab.err" &
LAB_PID=$!
for _ in $(seq 1 120); do
  grep -q "admin socket" "$WORK/lab.err" 2>/dev/null && break
  sleep 0.5
done
SOCK=$(sed -n 's/.*admin socket \([^ ]*\) .*/\1/p' "$WORK/lab.err" | head -1)
[ -S "$SOCK" ] || { cat "$WORK/lab.err" >&2; echo "bench: lab did not start" >&2; exit 1; }
echo "lab: $SOCK ($(echo 'show stat' | socat "$SOCK" stdio | wc -l) show stat lines)"

ratio() { # ratio JSON_FILE LABEL_A LABEL_B: mean of command 0 / mean of command 1
  python3 - "$@" <<'EOP'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
a, b = r[0]["mean"], r[1]["mean"]
print(f"  {sys.argv[2]}: {a * 1000:.1f} ms (+/- {r[0]['stddev'] * 1000:.1f})")
print(f"  {sys.argv[3]}: {b * 1000:.1f} ms (+/- {r[1]['stddev'] * 1000:.1f})")
print(f"  ratio harun/{sys.argv[3].split()[0]}: {a / b:.2f}x")
EOP
}

echo
echo "== 1. stat() of 20,000 servers end to end vs socat (target: within 1.2x)"
cat >"$WORK/harun-stat.sh" <<EOS
"$HARUN" -s "$SOCK" -e 'stat().len()' >/dev/null
EOS
cat >"$WORK/socat-stat.sh" <<EOS
echo "show stat" | socat "$SOCK" stdio >/dev/null
EOS
hyperfine --style none --warmup 3 --runs 30 --export-json "$WORK/stat.json" \
  "sh $WORK/harun-stat.sh" "sh $WORK/socat-stat.sh" >/dev/null
ratio "$WORK/stat.json" "harun -e 'stat().len()'" "socat show stat"

echo
echo "== 2. queue columns per server: harun vs socat | awk"
cat >"$WORK/harun-q.sh" <<EOS
"$HARUN" -s "$SOCK" -e 'let n = 0; for r in stat() { if r.qcur > 0 || r.scur > 0 { n += 1 } } n' >/dev/null
EOS
cat >"$WORK/awk-q.sh" <<EOS
echo "show stat" | socat "$SOCK" stdio | awk -F, 'NR>1 && (\$3>0 || \$5>0) {n++} END {print n+0}' >/dev/null
EOS
hyperfine --style none --warmup 3 --runs 20 --export-json "$WORK/q.json" \
  "sh $WORK/harun-q.sh" "sh $WORK/awk-q.sh" >/dev/null
ratio "$WORK/q.json" "harun stat() filter" "socat | awk filter"

echo
echo "== 3. 2,000 'set server ... state' from one playbook vs one socat per command (target: >= 30x faster)"
python3 - "$WORK" <<'EOP'
import sys
w = sys.argv[1]
names = [f"bk{b:04}/srv{s}" for b in range(200) for s in range(10)]
with open(f"{w}/writes.rhai", "w") as f:
    f.write("let n = 0;\n")
    f.write("for s in [" + ",".join(f'"{n}"' for n in names) + "] {\n")
    f.write("    set_state(s, \"ready\");\n    n += 1;\n}\nn\n")
with open(f"{w}/writes.sh", "w") as f:
    f.write("#!/bin/sh\n")
    for n in names:
        f.write(f'echo "set server {n} state ready" | socat "$1" stdio >/dev/null\n')
EOP
cat >"$WORK/harun-w.sh" <<EOS
"$HARUN" -s "$SOCK" --yes --journal "$WORK/journal.jsonl" "$WORK/writes.rhai" >/dev/null
EOS
hyperfine --style none --warmup 1 --runs 3 --export-json "$WORK/w.json" \
  "sh $WORK/harun-w.sh" "sh $WORK/writes.sh $SOCK" >/dev/null
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; a,b=r[0]["mean"],r[1]["mean"]; print(f"  harun playbook: {a*1000:.0f} ms\n  socat loop: {b*1000:.0f} ms\n  harun is {b/a:.1f}x faster")' "$WORK/w.json"
echo "  journal lines: $(wc -l <"$WORK/journal.jsonl")"

echo
echo "== 4. peak memory of stat() on 20,000 servers (target: < 64 MiB)"
/usr/bin/time -f "  max RSS: %M KiB" "$HARUN" -s "$SOCK" -e 'stat().len()' >/dev/null
