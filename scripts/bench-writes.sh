#!/bin/bash
# Rough benchmark of the write path: 2,000 `set server ... state` from one
# playbook (journal, before/after states, guard) against a shell loop of one
# `socat` per command, on `harun lab big`. Prints the ratios.
#   H=target/release/harun scripts/bench-writes.sh
set -eu
H=${H:-target/debug/harun}
tmp=$(mktemp -d)
trap 'kill -INT $LP 2>/dev/null; wait $LP 2>/dev/null; rm -rf "$tmp"' EXIT
$H lab big 2>"$tmp/lab.err" & LP=$!
SOCK=
for _ in $(seq 1 300); do
  SOCK=$(grep -o '/tmp/harun-lab-[^ ]*/admin.sock' "$tmp/lab.err" | head -1 || true)
  [ -n "$SOCK" ] && break; sleep 0.2
done
cat > "$tmp/pb.rhai" <<'PB'
fn bk(i) { if i < 10 {`bk000${i}`} else if i < 100 {`bk00${i}`} else {`bk0${i}`} }
let t = timestamp();
for i in 0..200 { for j in 0..10 { set_state(`${bk(i)}/srv${j}`, "ready"); } }
print(`ready ${t.elapsed}`);
let t = timestamp();
for i in 200..400 { for j in 0..10 { set_state(`${bk(i)}/srv${j}`, "drain", #{force: true}); } }
print(`drain-force ${t.elapsed}`);
let t = timestamp();
for i in 400..623 { for j in 0..9 { set_state(`${bk(i)}/srv${j}`, "drain"); } }
print(`drain-guarded ${t.elapsed}`);
PB
out=$($H -s "$SOCK" --yes --journal "$tmp/journal.jsonl" "$tmp/pb.rhai" 2>/dev/null)
S=$(date +%s.%N)
for i in $(seq 0 199); do for j in $(seq 0 9); do
  printf 'set server bk%04d/srv%d state ready\n' "$i" "$j" | socat - "UNIX-CONNECT:$SOCK" >/dev/null
done; done
E=$(date +%s.%N)
socat_s=$(echo "$E - $S" | bc)
echo "socat loop, 2000 commands: ${socat_s}s"
echo "$out" | while read -r what secs; do
  printf 'harun %-14s 2000 writes: %.3fs  (%.1fx faster)\n' "$what" "$secs" "$(echo "$socat_s / $secs" | bc -l)"
done
