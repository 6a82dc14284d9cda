#!/usr/bin/env bash
# Write speed: harun's guarded, journaled writes against what the socket
# allows, side by side in one run, on a lab of 2,000 backends x 10 servers.
# Each way writes `set server bk_N/srv0 state drain` then `... ready` to one
# server of every backend (4,000 writes), and times itself from its first
# write to its last reply (process start and connection excluded on every
# side), so the figures are per write:
#
#   socat loop        one `socat` process per command (what runbooks do today;
#                     400 writes, it is slow)
#   harun batch       set_state(array_of_2000, ...) twice: cold (the first
#                     guarded batch of a run also reads backups and `track`
#                     chains once) and warm (the next ones)
#   harun loop        set_state(name, ...) called 2,000 times, twice
#   raw lockstep      a prompt-mode session, one command then its reply
#   raw pipelined     a prompt-mode session, all commands then all replies
#   raw + reads       raw pipelined plus what harun reads for the guard and
#                     the journal: `show servers state` before and after
#
#   bench/writes.sh [RUNS]     # needs haproxy, socat, python3
#
# The ways run in turn, RUNS rounds; medians are reported with ratios.
# Timings belong here, never in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
. bench/lab.sh
bench_init bench haproxy socat python3
lab_start big
SOCK=$(lab_socket "$LAB")
echo "lab: $SOCK, 2,000 backends x 10 servers, $(nproc) CPUs, haproxy $(haproxy -v | sed -n 1p | cut -d' ' -f3)"

python3 - "$HARUN" "$SOCK" "$WORK" "$RUNS" <<'EOP'
import socket, statistics, subprocess, sys, time

harun, sock_path, work, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
names = [f"bk{b:04}/srv0" for b in range(2000)]
array = "[" + ",".join(f'"{n}"' for n in names) + "]"
with open(f"{work}/batch.rhai", "w") as f:
    f.write(f"""let a = {array};
let t = timestamp(); set_state(a, "drain"); set_state(a, "ready");
print(`cold ${{t.elapsed * 1e6 / 4000.0}}`);
t = timestamp(); set_state(a, "drain"); set_state(a, "ready");
print(`warm ${{t.elapsed * 1e6 / 4000.0}}`);
""")
with open(f"{work}/loop.rhai", "w") as f:
    f.write(f"""let a = {array};
let t = timestamp();
for s in a {{ set_state(s, "drain"); }}
for s in a {{ set_state(s, "ready"); }}
print(`cold ${{t.elapsed * 1e6 / 4000.0}}`);
t = timestamp();
for s in a {{ set_state(s, "drain"); }}
for s in a {{ set_state(s, "ready"); }}
print(`warm ${{t.elapsed * 1e6 / 4000.0}}`);
""")

def harun_way(playbook, which):
    out = subprocess.run([harun, "-s", sock_path, "--yes", "--journal", f"{work}/journal.jsonl",
                          f"{work}/{playbook}"], check=True, capture_output=True, text=True).stdout
    return {l.split()[0]: float(l.split()[1]) for l in out.splitlines() if l.split()[0] in ("cold", "warm")}

def session():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(b"prompt\n")
    replies(s, 1)
    return s

def replies(s, n):
    """Read until n prompts (`\\n> `) have come."""
    tail, got = b"", 0
    while got < n:
        d = s.recv(1 << 20)
        if not d:
            raise SystemExit("bench: HAProxy closed the session")
        w = tail + d
        got += w.count(b"\n> ")
        tail = w[-2:]

def commands(state):
    return [f"set server {n} state {state}\n".encode() for n in names]

def raw(mode):
    s = session()
    t = time.perf_counter()
    for state in ("drain", "ready"):
        cmds = commands(state)
        if mode == "lockstep":
            for c in cmds:
                s.sendall(c)
                replies(s, 1)
        elif mode == "pipelined":
            s.sendall(b"".join(cmds))
            replies(s, len(cmds))
        else:  # the reads harun makes around a batch: state before, after
            s.sendall(b"show servers state\n")
            replies(s, 1)
            s.sendall(b"".join(cmds) + b"show servers state\n")
            replies(s, len(cmds) + 1)
    elapsed = time.perf_counter() - t
    s.close()
    return elapsed * 1e6 / 4000

def socat_loop():
    subset = names[:200]
    t = time.perf_counter()
    for state in ("drain", "ready"):
        for n in subset:
            subprocess.run(["socat", sock_path, "stdio"], input=f"set server {n} state {state}\n".encode(),
                           stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t) * 1e6 / 400

ways = {
    "socat loop": lambda: {"": socat_loop()},
    "harun batch": lambda: harun_way("batch.rhai", "batch"),
    "harun loop": lambda: harun_way("loop.rhai", "loop"),
    "raw lockstep": lambda: {"": raw("lockstep")},
    "raw pipelined": lambda: {"": raw("pipelined")},
    "raw + reads": lambda: {"": raw("reads")},
}
samples = {}
for _ in range(runs):
    for name, way in ways.items():
        for k, v in way().items():
            samples.setdefault(f"{name} {k}".strip(), []).append(v)
med = {k: statistics.median(v) for k, v in samples.items()}
print(f"\n  {'way':<22} {'per write':>12}   {'vs socat loop':>14}   runs")
for k, v in med.items():
    print(f"  {k:<22} {v:>9.1f} us   {med['socat loop'] / v:>12.0f}x   {len(samples[k])}")
print()
def ratio(a, b, target):
    print(f"  {a} / {b}: {med[a] / med[b]:.2f}x   (target: {target})")
ratio("harun batch warm", "raw pipelined", "within 2x")
ratio("harun batch cold", "raw pipelined", "within 2x")
ratio("harun batch warm", "raw + reads", "the socket's floor for what harun reads")
ratio("harun loop warm", "raw lockstep", "within 1.5x")
ratio("harun loop cold", "raw lockstep", "within 1.5x")
EOP

echo
echo "peak memory of harun batch (target: < 64 MiB):"
/usr/bin/time -o "$WORK/rss" -f "  max RSS: %M KiB" "$HARUN" -s "$SOCK" --yes --journal "$WORK/journal.jsonl" "$WORK/batch.rhai" >/dev/null 2>&1
cat "$WORK/rss"
