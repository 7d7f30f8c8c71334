#!/usr/bin/env python3
"""Starts TREES process groups of SIZE processes each that exit on SIGTERM.

    trees.py TREES SIZE

The script makes itself a child subreaper and reaps every process of the
trees as it dies, so neither sweep under test waits on an unreaped zombie.
Prints {"pgids": [...], "pids": [...]} when all are running; exits when
stdin closes (killing what is left).
"""
import ctypes
import json
import os
import signal
import sys
import threading

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

trees, size = int(sys.argv[1]), int(sys.argv[2])
pgids, pids = [], []
for _ in range(trees):
    r, w = os.pipe()
    leader = os.fork()
    if leader == 0:
        os.close(r)
        os.setsid()
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
print(json.dumps({"pgids": pgids, "pids": pids}), flush=True)
try:
    sys.stdin.read()
finally:
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
