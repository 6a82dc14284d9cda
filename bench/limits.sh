#!/usr/bin/env bash
# Peak memory of harun under hostile playbooks and floods: each line is a
# playbook (or a socket) built to take as much memory as it can, the limit
# that stopped it, its exit code and its peak RSS (GNU time's %M).
# docs/reliability.md quotes the figures.
#
#   bench/limits.sh            # needs /usr/bin/time (apt-get install -y time) and python3
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "limits: $tool is missing (apt-get install -y time python3)" >&2; exit 2; }
done
cargo build --release --quiet
HARUN=$PWD/target/release/harun
WORK=$(mktemp -d)
FAKE_PID=
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

# name|playbook
PLAYBOOKS=(
  'string doubling (s += s)|let s = "x"; loop { s += s; }'
  'string doubling (s = s + s)|let s = "x"; loop { s = s + s; }'
  'array doubling|let a = [1]; loop { a += a; }'
  'map of 70-byte strings|let m = #{}; let i = 0; loop { m[`k${i}`] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" + i; i += 1; }'
  'array of 1 MB strings|let a = []; let s = "x"; s.pad(1000000, "x"); loop { a.push(s + a.len()); }'
  'array of arrays|let a = []; loop { let b = [1]; for i in 0..20 { b += b; } a.push(b); }'
  'recursion holding 30 MB each|fn f(n) { let s = "y"; s.pad(30000000, "y"); s += n; f(n + 1) } f(0)'
)

measure() { # name, then harun's arguments
  local name=$1; shift
  /usr/bin/time -f '%M %e %x' -o "$WORK/time" "$HARUN" "$@" >/dev/null 2>"$WORK/err" || true
  local kib secs code
  kib=$(tail -n 1 "$WORK/time" | awk '{print $1}')
  code=$(tail -n 1 "$WORK/time" | awk '{print $3}')
  secs=$(tail -n 1 "$WORK/time" | awk '{print $2}')
  local why
  why=$(grep -m1 'error' "$WORK/err" | sed 's/^harun: error: //; s/^-e:[0-9:]* //' | cut -c1-70)
  printf '%-32s exit %s  peak %4d MiB  %6.2f s  %s\n' "$name" "$code" $((kib / 1024)) "$secs" "$why"
}

echo "playbooks (limits: $("$HARUN" --version))"
for entry in "${PLAYBOOKS[@]}"; do
  measure "${entry%%|*}" -e "${entry#*|}"
done

# A socket that answers the handshake, then streams without end.
cat >"$WORK/flood.py" <<'PY'
import os, socket, sys, threading
path, mode = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(4)
def serve(c):
    f = c.makefile('rb'); n = 0
    try:
        while f.readline():
            n += 1
            if n <= 2: c.sendall(b"\n> "); continue
            if mode == 'stat':
                c.sendall(("# pxname,svname," + "".join("c%d," % i for i in range(200)) + "\n").encode())
                block = b"bk,s,\n" * 16384
            else:
                block = b"Name: HAProxy\n" * 4096
            for _ in range(200000): c.sendall(block)
    except OSError:
        pass
while True:
    c, _ = srv.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
echo "floods (reply cap 64 MiB by default)"
for mode in info stat; do
  python3 "$WORK/flood.py" "$WORK/$mode.sock" "$mode" & FAKE_PID=$!
  for _ in $(seq 1 50); do [ -S "$WORK/$mode.sock" ] && break; sleep 0.1; done
  measure "endless reply to $mode()" -s "$WORK/$mode.sock" -e "$mode()"
  kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null || true; FAKE_PID=
done
