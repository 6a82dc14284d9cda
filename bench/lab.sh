# Sourced by the benchmarks: builds harun, makes a work directory, starts
# real HAProxy labs (`harun lab SCENARIO`) and ends them all on exit.
#
#   bench_init NAME TOOL...   check the tools (exit 2 naming the packages: the
#                             tools, or BENCH_PACKAGES), build the release
#                             binary; sets HARUN and WORK
#   lab_start SCENARIO        start a lab in the background; sets LAB (its number)
#   lab_socket N              wait for lab N's admin socket; prints its path
#   BENCH_KILL+=(PID)         another process to end with TERM on exit (sshd)
#   HARUN_BIN=/path/to/harun  time that build instead of building this tree

BENCH_PIDS=()
BENCH_KILL=()
LAB=0

bench_init() {
  BENCH_NAME=$1
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || {
      echo "$BENCH_NAME: $tool is missing (apt-get install -y ${BENCH_PACKAGES:-$*})" >&2
      exit 2
    }
  done
  if [ -n "${HARUN_BIN:-}" ]; then
    HARUN=$HARUN_BIN  # another build, as it is
  else
    cargo build --release --quiet
    HARUN=$PWD/target/release/harun
  fi
  WORK=$(mktemp -d)
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${BENCH_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${BENCH_KILL[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BENCH_PIDS[@]}" "${BENCH_KILL[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}

lab_start() {
  LAB=$((LAB + 1))
  "$HARUN" lab "$1" 2>"$WORK/lab$LAB.err" &
  BENCH_PIDS+=($!)
}

lab_socket() {
  local sock
  for _ in $(seq 1 240); do
    grep -q "admin socket" "$WORK/lab$1.err" 2>/dev/null && break
    sleep 0.5
  done
  sock=$(sed -n 's/.*admin socket \([^ ]*\) .*/\1/p' "$WORK/lab$1.err" | sed -n 1p)
  [ -S "$sock" ] || {
    cat "$WORK/lab$1.err" >&2
    echo "$BENCH_NAME: lab $1 did not start" >&2
    exit 1
  }
  echo "$sock"
}
