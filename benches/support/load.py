#!/usr/bin/env python3
"""Builds a realistic process load for limier's benchmarks.

    load.py PROCESSES FDS_PER_PROCESS DEPTH ROOT_DIR [dev|sleep]

Creates ROOT_DIR/data/f0..f99 and ROOT_DIR/worktrees/s1..s16, then forks
PROCESSES processes as chains of DEPTH, each keeping FDS_PER_PROCESS
inherited fds open on the data files; the process at the bottom of every
chain holds a listening TCP socket and has its cwd in one of the worktrees
(as a dev server under a wrapper chain would).

The `dev` kind (the default) looks like dev servers: every process is a
python3 that imported a fixed set of C extensions and shared libraries
(benches/support/devserver.py: well over 100 mapped files), carries an
environment of ~50 variables, and the bottom of each chain also maps a
native addon from its worktree's node_modules; where node is installed, the
top of every 16th chain is a node process (as pnpm is). The `sleep` kind is
the old load: every link exec()s `sleep` (~20 mappings, a tiny environment).

Prints one JSON line {"ports": [...], "chains": N, "processes": N, "kind":
K, "mapped_files": N} when everything is in place, then waits until stdin
closes and kills every process it made.
"""
import json
import os
import shutil
import signal
import socket
import sys

processes, fds, depth, root = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
kind = sys.argv[5] if len(sys.argv) > 5 else "dev"
if kind not in ("dev", "sleep"):
    sys.exit(f"load.py: kind must be dev or sleep, not {kind!r}")

if kind == "dev" and os.environ.get("LIMIER_LOAD_ENV") != "1":
    # /proc/PID/environ shows the environment the process was exec'd with,
    # so the big environment is given by exec'ing again.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import devserver

    os.execve(sys.executable, [sys.executable] + sys.argv, devserver.environment(os.environ))

data = os.path.join(root, "data")
worktrees = os.path.join(root, "worktrees")
os.makedirs(data, exist_ok=True)
for i in range(100):
    with open(os.path.join(data, f"f{i}"), "w") as f:
        f.write("x")
for s in range(1, 17):
    os.makedirs(os.path.join(worktrees, f"s{s}", "src"), exist_ok=True)

mapped_files = 0
addon = None
if kind == "dev":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import devserver

    mapped_files = devserver.load_modules()
    addon = devserver.addon_source()
    for s in range(1, 17):
        target = os.path.join(worktrees, f"s{s}", "node_modules", "addon.node")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(addon, target)
NODE = shutil.which("node") if kind == "dev" else None

held = []
for i in range(fds):
    fd = os.open(os.path.join(data, f"f{i % 100}"), os.O_RDONLY)
    os.set_inheritable(fd, True)
    held.append(fd)

chains = max(1, processes // depth)
read_end, write_end = os.pipe()
leaders = []
SLEEP = "/bin/sleep"


def stay(chain, level):
    """What a link does once its child is forked: exec sleep, or stay a python
    dev process (exec node at the top of every 16th chain, as pnpm is)."""
    if kind == "sleep":
        os.execv(SLEEP, ["sleep", "7200"])
    if NODE and level == 0 and chain % 16 == 0:
        os.execv(NODE, ["node", "-e", "setInterval(() => {}, 1 << 30)"])
    while True:
        signal.pause()


for c in range(chains):
    leader = os.fork()
    if leader == 0:
        os.setpgid(0, 0)
        os.close(read_end)
        worktree = os.path.join(worktrees, f"s{c % 16 + 1}")
        os.chdir(os.path.join(worktree, "src"))
        for level in range(depth):
            if level == depth - 1:
                if addon:
                    devserver.map_addon(os.path.join(worktree, "node_modules", "addon.node"))
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.listen(8)
                os.set_inheritable(s.fileno(), True)
                os.write(write_end, (str(s.getsockname()[1]) + "\n").encode())
                os.close(write_end)
                stay(c, level)
            if os.fork() != 0:
                os.close(write_end)
                stay(c, level)
    leaders.append(leader)
os.close(write_end)

ports = []
with os.fdopen(read_end, "rb") as reader:
    while len(ports) < chains:
        line = reader.readline()
        if not line:
            break
        ports.append(int(line))
report = {"ports": ports, "chains": chains, "processes": chains * depth, "kind": kind,
          "mapped_files": mapped_files}
print(json.dumps(report), flush=True)

try:
    sys.stdin.read()
finally:
    for leader in leaders:
        try:
            os.killpg(leader, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for leader in leaders:
        try:
            os.waitpid(leader, 0)
        except ChildProcessError:
            pass
