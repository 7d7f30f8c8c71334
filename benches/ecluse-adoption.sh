#!/usr/bin/env bash
# ecluse's status, down and flush — stock 0.3.1, ecluse on limier, and
# `limier ecluse …` — timed in the same run, in real tmux sessions, on a
# machine carrying the bench's dev-server load (1,600 processes that map
# ~136 files each and carry big environments: benches/support/load.py).
#
#   cargo build --release --bin limier
#   (cd target/ecluse-on-limier/ecluse-0.3.1 && CARGO_TARGET_DIR=../target cargo build --release --bin ecluse)
#   bash benches/ecluse-adoption.sh ~/.cargo/bin/ecluse \
#       target/ecluse-on-limier/target/release/ecluse target/release/limier
#
# ECLUSE_BENCH_PROCESSES (default 1600; 0: no load) and ECLUSE_BENCH_RUNS
# (default 3) change the load and the repetitions. Each session runs one
# service, a `sh → sh -c → python3 http.server` chain plus a setsid child on
# an extra port, and ecluse's interactive shell window (which ignores
# SIGTERM). Prints one line per timing and a median table at the end.
set -euo pipefail
stock=$(realpath "$1"); patched=$(realpath "$2"); limier=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
processes=${ECLUSE_BENCH_PROCESSES:-1600}
runs=${ECLUSE_BENCH_RUNS:-3}
world=$(mktemp -d /tmp/ecluse-bench.XXXXXX)
export HOME="$world/home" TMUX_TMPDIR="$world/tmux"
export GIT_AUTHOR_NAME=limier GIT_AUTHOR_EMAIL=limier@example.invalid
export GIT_COMMITTER_NAME=limier GIT_COMMITTER_EMAIL=limier@example.invalid
unset TMUX
repo="$world/repo"
times="$world/times"
mkdir -p "$HOME/.config/ecluse" "$TMUX_TMPDIR" "$repo"
: > "$times"
load_pid=
cleanup() {
  tmux kill-server 2>/dev/null || true
  "$limier" ecluse flush --repo "$repo" --grace 200ms >/dev/null 2>&1 || true
  # The load ends when its stdin closes; its processes are killed anyway.
  if [ -n "$load_pid" ]; then
    exec 7>&-
    pkill -f "load.py $processes 34 4 $world/load" 2>/dev/null || true
  fi
  rm -rf "$world"
}
trap cleanup EXIT

if [ "$processes" != 0 ]; then
  # The load lives as long as its stdin stays open.
  exec 7> >(python3 "$here/support/load.py" "$processes" 34 4 "$world/load" dev > "$world/load.json")
  load_pid=$!
  until [ -s "$world/load.json" ]; do sleep 1; done
fi
echo "bench: $(ls -d /proc/[0-9]* | wc -l) processes on the machine"

# The plan's repo and service, two blocks of free ports for slots 1-6.
. "$here/../tests/ecluse-adoption/repo.sh"
ecluse_repo "$repo" 6

listening() { [ -n "$("$limier" -t who "$1" 2>/dev/null)" ]; }
up() { # binary slug...
  local binary=$1; shift
  for slug in "$@"; do "$binary" up "$slug" >/dev/null 2>&1; done
  local slot
  for slot in $(seq 1 $#); do
    local deadline=$(( SECONDS + 30 ))
    until listening $(( base + slot )) && listening $(( extra + slot )); do
      [ $SECONDS -lt $deadline ] || { echo "bench: slot $slot never listened" >&2; exit 1; }
      sleep 0.2
    done
  done
}
timed() { # label, command...
  local label=$1 start end; shift
  start=$(date +%s%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s%N)
  echo "$label $(( (end - start) / 1000000 ))" | tee -a "$times"
}
left() { # what survived: listeners on the slots' ports (default: all six)
  local slot n=0
  for slot in ${1:-1 2 3 4 5 6}; do
    listening $(( base + slot )) && n=$(( n + 1 ))
    listening $(( extra + slot )) && n=$(( n + 1 ))
  done
  echo "$n"
}

for run in $(seq 1 "$runs"); do
  for who in stock patched; do
    binary=$stock; [ "$who" = patched ] && binary=$patched
    up "$binary" s1 s2 s3
    timed "$who status" "$binary" status s1
    timed "$who down" "$binary" down s1 --keep-worktree
    echo "$who down-left $(left 1)" >> "$times"
    timed "$who flush" "$binary" flush --yes
    echo "$who flush-left $(left)" >> "$times"
    "$limier" ecluse flush --grace 200ms >/dev/null 2>&1 || true
    "$patched" flush --yes >/dev/null 2>&1 || true
  done
  # limier ecluse …, on sessions the patched ecluse started.
  up "$patched" s1 s2 s3
  timed "limier status" "$limier" ecluse status s1
  timed "limier down" "$limier" ecluse down s1
  echo "limier down-left $(left 1)" >> "$times"
  "$patched" down s1 --keep-worktree >/dev/null 2>&1 || true
  timed "limier flush" "$limier" ecluse flush
  echo "limier flush-left $(left)" >> "$times"
  "$patched" flush --yes >/dev/null 2>&1 || true
done

python3 - "$times" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    *label, value = line.split()
    rows.setdefault(" ".join(label), []).append(int(value))
def cell(who, step):
    v = rows.get(f"{who} {step}")
    if not v: return "—"
    text = f"{statistics.median(v)} ms"
    left = rows.get(f"{who} {step}-left")
    if left is not None: text += f" ({max(left)} ports left held)"
    return text
print("\n| step | ecluse 0.3.1 | ecluse on limier | limier ecluse |")
print("|---|---|---|---|")
for step in ("status", "down", "flush"):
    print(f"| {step} | {cell('stock', step)} | {cell('patched', step)} | {cell('limier', step)} |")
PY
