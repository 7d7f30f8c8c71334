#!/usr/bin/env python3
"""Starts process trees for the sweep benchmarks.

    trees.py TREES SIZE            TREES groups of SIZE processes that exit on SIGTERM
    trees.py stubborn SIZE         one group of SIZE processes that ignore SIGTERM
    trees.py chain DEPTH           a chain DEPTH deep whose bottom calls setsid()

The script makes itself a child subreaper and reaps every process of the
trees as it dies, so no sweep under test waits on an unreaped zombie.
Prints {"pgids": [...], "pids": [...], "top": PID} when all are running
(`top`: the first process of the first tree); exits when stdin closes
(killing what is left).
"""
import ctypes
import json
import os
import signal
import sys
import threading

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

shape = sys.argv[1] if sys.argv[1] in ("stubborn", "chain") else "groups"
trees = 1 if shape != "groups" else int(sys.argv[1])
size = int(sys.argv[2])
pgids, pids = [], []


def chain(depth, w):
    """Forks a chain of `depth` processes below this one; the bottom one
    leaves the session (as workerd does). Each reports its pid on `w`."""
    for level in range(depth - 1):
        child = os.fork()
        if child != 0:
            os.execv("/bin/sleep", ["sleep", "600"])
        if level == depth - 2:
            os.setsid()
        os.write(w, (json.dumps([os.getpid()]) + "\n").encode())
    os.close(w)
    os.execv("/bin/sleep", ["sleep", "600"])


if shape == "chain":
    r, w = os.pipe()
    top = os.fork()
    if top == 0:
        os.close(r)
        os.setpgid(0, 0)
        chain(size, w)
    os.close(w)
    pids.append(top)
    with os.fdopen(r) as f:
        for _ in range(size - 1):
            pids.extend(json.loads(f.readline()))
    pgids.append(top)
    trees = 0

for _ in range(trees):
    r, w = os.pipe()
    leader = os.fork()
    if leader == 0:
        os.close(r)
        os.setsid()
        if shape == "stubborn":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        members = [os.getpid()]
        for _ in range(size - 1):
            child = os.fork()
            if child == 0:
                os.close(w)
                os.execv("/bin/sleep", ["sleep", "600"])
            members.append(child)
        os.write(w, (json.dumps(members) + "\n").encode())
        os.close(w)
        os.execv("/bin/sleep", ["sleep", "600"])
    os.close(w)
    with os.fdopen(r) as f:
        members = json.loads(f.readline())
    pgids.append(leader)
    pids.extend(members)


def reap():
    while True:
        try:
            os.wait()
        except ChildProcessError:
            threading.Event().wait(0.001)


threading.Thread(target=reap, daemon=True).start()
print(json.dumps({"pgids": pgids, "pids": pids, "top": pids[0]}), flush=True)
try:
    sys.stdin.read()
finally:
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
