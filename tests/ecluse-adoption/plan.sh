#!/usr/bin/env bash
# The test plan of ecluse's orphaned-services fix, against a patched ecluse
# binary, in a real git repo with real tmux sessions:
#   1. three sessions whose service is a wrapper chain (pane sh -> sh -> sh -c
#      -> server) plus a setsid child on an extra port: `ecluse down SLUG
#      --keep-worktree` each -> nothing of the session survives, every port free;
#   2. `ecluse flush --yes` reaps a setsid child with its cwd in a worktree and
#      an unrelated listener on another slot's port;
#   3. a service's process tree killed alone and its port taken by an unrelated
#      listener -> `ecluse status` says "wrong owner (PID N)", exit 1, and
#      `status --json` carries listener_pid and wrong_owner.
#   4. `ecluse status --json` and `limier ecluse status --json` give the same
#      verdicts; `ecluse who PORT --json` and `limier who PORT --json` the same
#      holders, chains, sessions and warnings; `ecluse who` and `whose-pid`
#      name the leftover of an ended session; exit 1 on a free port, 2 on a
#      bad one;
#   5. `ecluse status` lists /proc once (strace);
#   6. ecluse starts no lsof, ps, pgrep, pkill, kill, fuser or ss.
# Prints the time of each ecluse status/down/flush it runs.
#
#   plan.sh ECLUSE_BINARY LIMIER_BINARY
#   PLAN_MEASURE_ONLY=1 plan.sh ~/.cargo/bin/ecluse LIMIER_BINARY   # the stock ecluse, timed
set -euo pipefail
plan_dir=$(cd "$(dirname "$0")" && pwd)
real_ecluse=$(realpath "$1")
limier=$(realpath "$2")
world=$(mktemp -d /tmp/ecluse-plan.XXXXXX)
# Every process tool ecluse could start, behind a shim that logs the call
# when ecluse itself made it (its panes' commands are not ecluse's) and runs
# the real tool; ecluse runs with the shims first on PATH.
shims="$world/shims"
tools_log="$world/process-tools.log"
mkdir -p "$shims"
: > "$tools_log"
for tool in lsof ps pgrep pkill kill fuser ss; do
  # The program, not a shell builtin (kill is both).
  real=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin type -P "$tool" || true)
  cat > "$shims/$tool" <<SHIM
#!/bin/sh
if [ "\$(cat /proc/\$PPID/comm 2>/dev/null)" = ecluse ]; then echo "$tool \$*" >> "$tools_log"; fi
exec ${real:-/bin/false} "\$@"
SHIM
  chmod +x "$shims/$tool"
done
# tmux, too: ecluse may ask it only what only tmux does, each target exact.
tmux_log="$world/tmux.log"
: > "$tmux_log"
cat > "$shims/tmux" <<SHIM
#!/bin/sh
if [ "\$(cat /proc/\$PPID/comm 2>/dev/null)" = ecluse ]; then printf '%s\n' "\$*" >> "$tmux_log"; fi
exec $(type -P tmux) "\$@"
SHIM
chmod +x "$shims/tmux"
cat > "$world/ecluse" <<WRAP
#!/bin/sh
PATH="$shims:\$PATH" exec "$real_ecluse" "\$@"
WRAP
chmod +x "$world/ecluse"
ecluse="$world/ecluse"
export HOME="$world/home" TMUX_TMPDIR="$world/tmux"
export GIT_AUTHOR_NAME=limier GIT_AUTHOR_EMAIL=limier@example.invalid
export GIT_COMMITTER_NAME=limier GIT_COMMITTER_EMAIL=limier@example.invalid
unset TMUX
repo="$world/repo"
mkdir -p "$HOME/.config/ecluse" "$TMUX_TMPDIR" "$repo"
extras=()
cleanup() {
  tmux kill-server 2>/dev/null || true
  for slug in s1 s2 s3 s4 s5 s9; do "$limier" kill --env "ECLUSE_SLUG=$slug" --grace 200ms >/dev/null 2>&1 || true; done
  for pid in "${extras[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$world"
}
trap cleanup EXIT
# PLAN_MEASURE_ONLY=1: report failures and go on (to time an unpatched ecluse
# through the same steps).
fail() {
  echo "plan: FAILED: $*" >&2
  [ -n "${PLAN_MEASURE_ONLY:-}" ] || exit 1
}

port() { echo $(( $1 + $2 )); }   # base slot -> port (slot_stride 1)

# The repo, two blocks of free ports ($base, $extra) for slots 1-3.
. "$plan_dir/repo.sh"
ecluse_repo "$repo" 3

# The pids listening on a port; fails (status 2) when limier cannot answer,
# so that an error never reads as "free".
holders() {
  local out rc=0
  out=$("$limier" -t who "$1" 2>/dev/null) || rc=$?
  [ "$rc" -le 1 ] || { echo "plan: limier who $1 failed (exit $rc)" >&2; return 2; }
  echo "$out"
}
wait_for() { # seconds, command...
  local deadline=$(( SECONDS + $1 )); shift
  until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}
listening() { local out; out=$(holders "$1") || return 1; [ -n "$out" ]; }
free() { local out; out=$(holders "$1") || return 1; [ -z "$out" ]; }
tagged() { # pids alive with ECLUSE_SLUG=$1 and a cwd in the repo
  for env in /proc/[0-9]*/environ; do
    local pid=${env#/proc/}; pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    { tr '\0' '\n' < "$env"; } 2>/dev/null | grep -qx "ECLUSE_SLUG=$1" || continue
    case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in "$repo"*) echo "$pid" ;; esac
  done
}
exec 3>&1   # the times, whatever the timed command's output is redirected to
timed() { # label, command... (prints the time; keeps the exit code)
  local label=$1 start end code=0; shift
  start=$(date +%s%N); "$@" || code=$?; end=$(date +%s%N)
  echo "plan: time $label $(( (end - start) / 1000000 )) ms" >&3
  return $code
}

echo "plan: ports $base+slot and $extra+slot, slots 1-3"
# 1. Three sessions, each down'ed: nothing survives.
for slug in s1 s2 s3; do out=$("$ecluse" up "$slug" 2>&1) || fail "ecluse up $slug: $out"; done
for slot in 1 2 3; do
  wait_for 20 listening "$(port $base $slot)" || fail "slot $slot main server never listened"
  wait_for 20 listening "$(port $extra $slot)" || fail "slot $slot setsid child never listened"
done
timed "status s1 (healthy)" "$ecluse" status s1 >/dev/null || fail "status s1 should be healthy"
timed "limier ecluse status s1" "$limier" ecluse status s1 >/dev/null || true
# up on a running session resumes it: limier judges web up (pid file by its
# start, the listener its descendant) and nothing is started twice.
before=$(holders "$(port $base 1)") && [ -n "$before" ] || fail "s1's web does not listen before the resume"
windows=$(tmux list-windows -t =ecluse-s1 | wc -l)
out=$(timed "up s1 (resume, all running)" "$ecluse" up s1 2>&1) || fail "ecluse up s1 (resume): $out"
[ "$(holders "$(port $base 1)")" = "$before" ] && [ "$(tmux list-windows -t =ecluse-s1 | wc -l)" = "$windows" ] \
  || fail "up s1 started web again though it was running: $out"
for slot in 1 2 3; do
  timed "down s$slot" "$ecluse" down "s$slot" --keep-worktree >/dev/null 2>&1 || fail "ecluse down s$slot"
  free "$(port $base $slot)" || fail "s$slot: port $(port $base $slot) still held by $(holders "$(port $base $slot)")"
  free "$(port $extra $slot)" || fail "s$slot: setsid child on $(port $extra $slot) survived: $(holders "$(port $extra $slot)")"
  left=$(tagged "s$slot")
  [ -z "$left" ] || fail "s$slot: processes survived down: $left"
done
echo "plan: 1 ok: up resumed s1 without a second web; three sessions down, nothing survived, every port free"

# 2. flush reaps a setsid child living in a worktree and a listener on a slot's port.
out=$("$ecluse" up s4 2>&1) || fail "ecluse up s4: $out"
wait_for 20 listening "$(port $base 1)" || fail "s4 never listened"
worktree=$(dirname "$(ls -d "$repo"/.ecluse/worktrees/s4/.ecluse.toml)")
# (exec: $! is the process itself; no job control, so setsid does not fork)
(cd "$worktree" && exec setsid sleep 3600) </dev/null >/dev/null 2>&1 &
escapee=$!
(cd / && exec python3 -m http.server "$(port $base 3)" --bind 127.0.0.1) </dev/null >/dev/null 2>&1 &
squatter=$!
extras+=("$escapee" "$squatter")
wait_for 10 listening "$(port $base 3)" || fail "the squatter never listened"
timed "limier ecluse flush --dry-run" "$limier" ecluse flush --dry-run >/dev/null 2>&1 || true
timed "flush" "$ecluse" flush --yes >/dev/null 2>&1 || fail "ecluse flush"
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
wait_for 5 gone "$escapee" || fail "flush left the setsid child $escapee in the worktree"
free "$(port $base 3)" || fail "flush left the listener on slot 3's port: $(holders "$(port $base 3)")"
for slot in 1 2 3; do
  free "$(port $base $slot)" && free "$(port $extra $slot)" || fail "flush left a listener on slot $slot"
done
echo "plan: 2 ok: flush reaped the setsid child in a worktree and the slot-3 squatter"

# 3. Wrong owner: the service's tree killed alone, its port taken by another.
# (flush reset the state: s5 takes slot 1)
out=$("$ecluse" up s5 2>&1) || fail "ecluse up s5: $out"
slot_port=$( ("$ecluse" status s5 --json || true) | python3 -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["port"])')
wait_for 20 listening "$slot_port" || fail "s5 never listened"
service_pid=$( ("$ecluse" status s5 --json || true) | python3 -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["pid"])')
"$limier" kill --pid "$service_pid" --grace 1s >/dev/null || fail "killing s5's service tree"
wait_for 10 free "$slot_port" || fail "s5's port stayed held"
(cd / && exec python3 -m http.server "$slot_port" --bind 127.0.0.1) </dev/null >/dev/null 2>&1 &
impostor=$!
extras+=("$impostor")
wait_for 10 listening "$slot_port" || fail "the impostor never listened"
code=0; out=$(timed "status s5 (wrong owner)" "$ecluse" status s5) || code=$?
[ "$code" = 1 ] || fail "status exit $code, not 1: $out"
grep -q "wrong owner (PID $impostor)" <<<"$out" || fail "status did not name the impostor $impostor: $out"
json=$("$ecluse" status s5 --json || true)
python3 - "$impostor" "$json" <<'PY' || fail "status --json: $json"
import json, sys
service = json.loads(sys.argv[2])["services"][0]
assert service["wrong_owner"] is True, service
assert service["listener_pid"] == int(sys.argv[1]), service
assert service["healthy"] is False, service
PY
echo "plan: 3 ok: status names the impostor $impostor as wrong owner, exit 1"

# 4. ecluse and limier give one answer: status verdicts, and who holds a port.
limier_status=$("$limier" ecluse status s5 --json || true)
python3 - "$json" "$limier_status" <<'PY' || fail "ecluse status and limier ecluse status disagree: $json / $limier_status"
import json, sys
ours = {s["name"]: s for s in json.loads(sys.argv[1])["services"]}
theirs = {s["name"]: s for s in json.loads(sys.argv[2])["sessions"][0]["services"] if s["type"] == "native"}
assert ours.keys() == theirs.keys(), (ours.keys(), theirs.keys())
for name, s in ours.items():
    t = theirs[name]
    for key in ("port", "healthy", "pid", "listener_pid", "wrong_owner"):
        assert s[key] == t[key], (name, key, s[key], t[key])
PY
# A leftover of an ended session (s9: not in state.json; tagged, its cwd in
# its worktree) holding slot 3's port.
leftover_dir="$repo/.ecluse/worktrees/s9"
mkdir -p "$leftover_dir"
leftover_port=$(port $base 3)
(cd "$leftover_dir" && ECLUSE_SLUG=s9 exec setsid python3 -m http.server "$leftover_port" --bind 127.0.0.1) </dev/null >/dev/null 2>&1 &
leftover=$!
extras+=("$leftover")
wait_for 10 listening "$leftover_port" || fail "the leftover never listened"
for asked in "$slot_port" "$leftover_port"; do
  ours=$("$ecluse" who "$asked" --json) || fail "ecluse who $asked: exit $?"
  theirs=$("$limier" who "$asked" --json) || fail "limier who $asked: exit $?"
  python3 - "$ours" "$theirs" <<'PY' || fail "ecluse who $asked and limier who $asked disagree"
import json, sys
def holders(report):
    return sorted((h["process"]["pid"], json.dumps(h.get("session"), sort_keys=True),
                   [l["pid"] for l in h["process"]["chain"]])
                  for p in report["ports"] for s in p["sockets"] for h in s["holders"])
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert holders(a) and holders(a) == holders(b), (holders(a), holders(b))
assert a["warnings"] == b["warnings"], (a["warnings"], b["warnings"])
PY
done
out=$("$ecluse" who "$leftover_port") || fail "ecluse who $leftover_port: exit $?"
grep -q "PID $leftover " <<<"$out" && grep -q "leftover of ended session s9" <<<"$out" \
  || fail "ecluse who did not name the leftover $leftover of s9: $out"
out=$("$ecluse" who "$slot_port") || fail "ecluse who $slot_port: exit $?"
grep -q "PID $impostor " <<<"$out" && grep -q "no ecluse session" <<<"$out" \
  || fail "ecluse who did not name the impostor $impostor: $out"
code=0; out=$("$ecluse" who "$(port $extra 3)" 2>&1) || code=$?
[ "$code" = 1 ] && grep -q "is free" <<<"$out" || fail "ecluse who on a free port: exit $code, not 1: $out"
code=0; "$ecluse" who 70000 >/dev/null 2>&1 || code=$?
[ "$code" = 2 ] || fail "ecluse who 70000: exit $code, not 2"
# whose-pid answers from the same attribution: it names the ended session.
out=$("$ecluse" whose-pid "$leftover") || fail "whose-pid $leftover: exit $?"
grep -q "leftover of ended session 's9'" <<<"$out" || fail "whose-pid did not name s9: $out"
code=0; out=$("$ecluse" whose-pid "$impostor" 2>&1) || code=$?
[ "$code" = 1 ] && grep -q "is not owned by any ecluse session" <<<"$out" \
  || fail "whose-pid of the impostor: exit $code, not 1: $out"
echo "plan: 4 ok: ecluse status and who agree with limier; who and whose-pid name the leftover $leftover of ended session s9"
if ! command -v strace >/dev/null; then
  fail "strace is needed to count ecluse status's reads of /proc"
else
  trace="$world/status.strace"
  strace -f -qq -e trace=openat -o "$trace" "$real_ecluse" status s5 >/dev/null 2>&1 || true
  lists=$(grep -c 'openat([^,]*, "/proc", [^)]*O_DIRECTORY' "$trace" || true)
  [ "$lists" = 1 ] || fail "ecluse status listed /proc $lists times, not once"
  echo "plan: 5 ok: ecluse status listed /proc once"
fi
if [ -s "$tools_log" ]; then
  fail "ecluse started process tools: $(sort "$tools_log" | uniq -c | tr '\n' ';')"
else
  echo "plan: 6 ok: ecluse started no lsof, ps, pgrep, pkill, kill, fuser or ss"
fi
# tmux: sessions and windows created (a new window's pane pid is printed
# by its creation), keys sent, a pane's text captured, sessions listed,
# checked and killed — never a pane listed or its processes asked — and
# every target exact (`=name`).
[ -s "$tmux_log" ] || fail "the tmux shim logged nothing (ecluse never ran tmux?)"
asked=$(awk '{print $1}' "$tmux_log" | sort -u | tr '\n' ' ')
unexpected=$(awk '$1 !~ /^(new-session|new-window|send-keys|set-hook|capture-pane|list-sessions|has-session|kill-session|attach)$/' "$tmux_log")
[ -z "$unexpected" ] || fail "ecluse asked tmux what limier answers: $unexpected"
# `=name`, `=name:` or `=name:=window`: no part of a target is a prefix.
inexact=$(awk '{for (i = 1; i < NF; i++) if ($i == "-t") { t = $(i+1); w = index(t, ":");
  if (substr(t, 1, 1) != "=" || (w > 0 && w < length(t) && substr(t, w + 1, 1) != "=")) print } }' "$tmux_log")
[ -z "$inexact" ] || fail "ecluse gave tmux a prefix-matching target: $inexact"
echo "plan: 7 ok: ecluse asked tmux only $asked, every target exact"
echo "plan: every check passed"
