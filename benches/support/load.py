#!/usr/bin/env python3
"""Builds a realistic process load for limier's benchmarks.

    load.py PROCESSES FDS_PER_PROCESS DEPTH ROOT_DIR

Creates ROOT_DIR/data/f0..f99 and ROOT_DIR/worktrees/s1..s16, then forks
PROCESSES processes as chains of DEPTH (each link exec()s `sleep`, keeping
FDS_PER_PROCESS inherited fds open on the data files); the process at the
bottom of every chain holds a listening TCP socket and has its cwd in one of
the worktrees (as a dev server under a wrapper chain would). Prints one JSON
line {"ports": [...], "chains": N, "processes": N} when everything is in
place, then waits until stdin closes and kills every process it made.
"""
import json
import os
import signal
import socket
import sys
import time

processes, fds, depth, root = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = os.path.join(root, "data")
worktrees = os.path.join(root, "worktrees")
os.makedirs(data, exist_ok=True)
for i in range(100):
    with open(os.path.join(data, f"f{i}"), "w") as f:
        f.write("x")
for s in range(1, 17):
    os.makedirs(os.path.join(worktrees, f"s{s}", "src"), exist_ok=True)

held = []
for i in range(fds):
    fd = os.open(os.path.join(data, f"f{i % 100}"), os.O_RDONLY)
    os.set_inheritable(fd, True)
    held.append(fd)

chains = max(1, processes // depth)
read_end, write_end = os.pipe()
leaders = []
SLEEP = "/bin/sleep"
for c in range(chains):
    leader = os.fork()
    if leader == 0:
        os.setpgid(0, 0)
        os.close(read_end)
        os.chdir(os.path.join(worktrees, f"s{c % 16 + 1}", "src"))
        for level in range(depth):
            if level == depth - 1:
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.listen(8)
                os.set_inheritable(s.fileno(), True)
                os.write(write_end, (str(s.getsockname()[1]) + "\n").encode())
                os.close(write_end)
                os.execv(SLEEP, ["sleep", "7200"])
            if os.fork() != 0:
                os.close(write_end)
                os.execv(SLEEP, ["sleep", "7200"])
    leaders.append(leader)
os.close(write_end)

ports = []
buffer = b""
with os.fdopen(read_end, "rb") as reader:
    while len(ports) < chains:
        line = reader.readline()
        if not line:
            break
        ports.append(int(line))
print(json.dumps({"ports": ports, "chains": chains, "processes": chains * depth}), flush=True)

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
