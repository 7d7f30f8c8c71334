#!/usr/bin/env bash
# limier as an ordinary user beside the same tools run by the same user, in
# one run, on a load that user owns; and the same questions asked by root in
# the same run, for the side-by-side figures of README and BENCHMARKS.md.
#
#   bash benches/as-user.sh [PROCESSES] [FDS_PER_PROCESS] [RUNS]
#
# Defaults: 900 dev-server-like processes of 20 fds in chains of 4
# (benches/support/load.py; LIMIER_BENCH_LOAD=sleep for the sleep load),
# 21 interleaved runs of each command, medians in ms. Needs root (it makes
# the account `limier-bench` and runs commands as it with runuser).
set -euo pipefail
cd "$(dirname "$0")/.."
processes=${1:-900}
fds=${2:-20}
runs=${3:-21}
user=limier-bench
work=/tmp/limier-bench-as-user
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
cargo build --release --bin limier >/dev/null 2>&1
rm -rf "$work"
mkdir -p "$work"
cp target/release/limier benches/support/load.py benches/support/devserver.py "$work/"
cat > "$work/timeit.py" <<'PY'
import json, statistics, subprocess, sys, time
runs = int(sys.argv[1])
commands = [a.split("=", 1) for a in sys.argv[2:]]
times = {name: [] for name, _ in commands}
for _ in range(runs):
    for name, command in commands:
        start = time.perf_counter()
        subprocess.run(command, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[name].append((time.perf_counter() - start) * 1000)
print(json.dumps({name: statistics.median(t) for name, t in times.items()}))
PY
chmod -R a+rX "$work"
mkdir -p "$work/load" && chown "$user" "$work/load"

# The load, owned by the user; it lives until its stdin closes.
coproc LOAD { runuser -u "$user" -- /usr/bin/python3 "$work/load.py" "$processes" "$fds" 4 "$work/load/root" "${LIMIER_BENCH_LOAD:-dev}"; }
trap 'exec {LOAD[1]}>&- 2>/dev/null || true; wait 2>/dev/null || true' EXIT
read -r report <&"${LOAD[0]}"
port=$(python3 -c 'import json,sys; p=json.loads(sys.argv[1])["ports"]; print(p[len(p)//2])' "$report")
dir="$work/load/root/worktrees/s3"
pids=(/proc/[0-9]*)
total=${#pids[@]}
owned=$(ps -u "$user" --no-headers | wc -l)

run_as() { # who, then commands
  local as=$1; shift
  if [ "$as" = root ]; then
    /usr/bin/python3 "$work/timeit.py" "$runs" "$@"
  else
    runuser -u "$user" -- /usr/bin/python3 "$work/timeit.py" "$runs" "$@"
  fi
}
commands=(
  "limier who=$work/limier who $port"
  "ss -Hltnp=ss -Hltnp 'sport = :$port'"
  "lsof -iTCP:P=lsof -t -iTCP:$port -sTCP:LISTEN"
  "limier in=$work/limier in $dir"
  "lsof +D=lsof -t +D $dir"
)
as_user=$(run_as "$user" "${commands[@]}")
as_root=$(run_as root "${commands[@]}")
python3 - "$as_user" "$as_root" "$total" "$owned" "$processes" "$fds" "$runs" <<'PY'
import json, sys
user, root = json.loads(sys.argv[1]), json.loads(sys.argv[2])
total, owned, processes, fds, runs = sys.argv[3:8]
print(f"Load: {total} processes on the machine, {owned} owned by the user "
      f"(load.py {processes} x {fds} fds); medians of {runs} interleaved runs, ms.\n")
print("| command | as the user | as root |")
print("|---|---|---|")
for name in user:
    print(f"| `{name}` | {user[name]:.1f} | {root[name]:.1f} |")
print()
for who, t in (("user", user), ("root", root)):
    print(f"as {who}: who is {t['ss -Hltnp'] / t['limier who']:.2f}x ss -Hltnp, "
          f"{t['lsof -iTCP:P'] / t['limier who']:.2f}x lsof; "
          f"in is {t['lsof +D'] / t['limier in']:.2f}x lsof +D")
PY
