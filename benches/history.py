#!/usr/bin/env python3
"""Tracks limier's benchmark figures from run to run.

    python3 benches/history.py [--from MEDIANS_JSON] [--note TEXT]

Runs `cargo bench --bench forensics` (unless --from names the
limier-medians.json of a run already made), appends its medians — with the
date, the commit, the machine and the load — to benches/history.jsonl,
compares them with the previous entry of the same load kind and user, and
names every figure more than 20% worse (exit 1 when there is one), and any
change in which reader served a layer (`sources`: a kernel update can refuse
a BPF program, and the slower reader that then serves is no regression of
limier's). The history table in BENCHMARKS.md (between its `history`
markers) is rewritten from the whole file.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HISTORY = os.path.join(ROOT, "benches", "history.jsonl")
MEDIANS = os.path.join(ROOT, "target", "criterion", "limier-medians.json")
BENCHMARKS = os.path.join(ROOT, "BENCHMARKS.md")
WORSE = 1.20
# The figures the BENCHMARKS.md table shows, in order (median ms).
SHOWN = [
    ("who", "limier who"),
    ("in", "limier in"),
    ("lsof +D", "lsof -t +D DIR"),
    ("flush plan", "limier ecluse flush --dry-run"),
    ("status", "limier ecluse status s1"),
    ("kill 16x4", "limier kill (16 trees x 4)"),
    ("kill, TERM ignored", "limier kill (group ignoring TERM, grace 200ms)"),
    ("kill, 8-deep + setsid", "limier kill --pid (8-deep chain, setsid escapee)"),
]


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024),
        "kernel": platform.release(),
    }


def commit():
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return head + ("+changes" if dirty else "")


def read_history():
    if not os.path.exists(HISTORY):
        return []
    with open(HISTORY) as f:
        return [json.loads(line) for line in f if line.strip()]


def regressions(previous, entry):
    worse = []
    for name, ms in sorted(entry["medians_ms"].items()):
        before = previous["medians_ms"].get(name)
        if before and ms > before * WORSE:
            worse.append(f"{name}: {before:.1f} -> {ms:.1f} ms ({ms / before:.2f}x)")
    return worse


def main_readers(entry):
    """The reader that served most processes, per layer: {"fds": "kernel-iterator", ...}."""
    readers = {}
    for layer, source in (entry.get("sources") or {}).items():
        served = source.get("served") or {}
        if served:
            readers[layer] = max(served, key=served.get)
    return readers


def source_changes(previous, entry):
    """Lines naming each layer whose main reader changed, with why the
    kernel's was not used where the entry says."""
    if "sources" not in previous or "sources" not in entry:
        return []
    before, after = main_readers(previous), main_readers(entry)
    changes = []
    for layer in sorted(set(before) | set(after)):
        if before.get(layer) != after.get(layer):
            why = ((entry["sources"].get(layer) or {}).get("not_used") or {}).get("why")
            line = f"{layer}: read by {before.get(layer, 'nothing')} before, {after.get(layer, 'nothing')} now"
            if why:
                line += f" ({json.dumps(why, sort_keys=True)})"
            changes.append(line)
    return changes


def machine_factor(previous, entry):
    """How much the peers (the tools limier is compared with, which did not
    change) moved between the two runs: the median of their ratios. A
    limier figure worse by about as much says more about the machine than
    about limier."""
    ratios = sorted(
        entry["medians_ms"][name] / before
        for name, before in previous["medians_ms"].items()
        if not name.startswith("limier") and before and name in entry["medians_ms"]
    )
    return ratios[len(ratios) // 2] if ratios else None


def table(history):
    head = ("| date | commit | kernel | load | " + " | ".join(label for label, _ in SHOWN)
            + " | readers (fds, maps) |")
    rule = "|" + "---|" * (5 + len(SHOWN))
    rows = [head, rule]
    for entry in history:
        load = entry["load"]
        cells = [entry["date"], f"`{entry['commit']}`", entry["machine"].get("kernel", "?"),
                 f"{load['processes']} {load.get('kind') or '?'} ({entry['user']})"]
        for _, name in SHOWN:
            ms = entry["medians_ms"].get(name)
            cells.append(f"{ms:.1f}" if ms is not None else "–")
        readers = main_readers(entry)
        cells.append(", ".join(readers.get(layer, "?") for layer in ("fds", "maps"))
                     if readers else "not recorded")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def rewrite_benchmarks(history):
    with open(BENCHMARKS) as f:
        text = f.read()
    start, end = "<!-- history:start -->", "<!-- history:end -->"
    if start not in text or end not in text:
        print(f"history: {BENCHMARKS} has no history markers; table not written", file=sys.stderr)
        return
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    with open(BENCHMARKS, "w") as f:
        f.write(before + start + "\n" + table(history) + "\n" + end + after)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", help="a limier-medians.json already made")
    parser.add_argument("--note", default="", help="a word on this run, kept in the entry")
    args = parser.parse_args()
    source = args.source
    if source is None:
        subprocess.run(["cargo", "bench", "--bench", "forensics"], cwd=ROOT, check=True)
        source = MEDIANS
    with open(source) as f:
        run = json.load(f)
    entry = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "commit": commit(),
        "machine": machine(),
        "user": "root" if os.geteuid() == 0 else "user",
        "load": run["load"],
        "medians_ms": run["medians_ms"],
        "note": args.note,
    }
    if "sources" in run:
        entry["sources"] = run["sources"]
    history = read_history()
    same = [h for h in history
            if h["load"].get("kind") == entry["load"].get("kind") and h["user"] == entry["user"]]
    with open(HISTORY, "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")
    rewrite_benchmarks(history + [entry])
    print(table([entry]))
    if not same:
        print("history: first entry for this load and user; nothing to compare")
        return 0
    worse = regressions(same[-1], entry)
    factor = machine_factor(same[-1], entry)
    changes = source_changes(same[-1], entry)
    if changes:
        print(f"history: the readers changed since {same[-1]['commit']}:")
        for line in changes:
            print("  " + line)
    if factor is not None:
        print(f"history: the peers moved by {factor:.2f}x since {same[-1]['commit']} (the machine's share)")
    if worse:
        print(f"history: worse by more than 20% than {same[-1]['commit']} ({same[-1]['date']}):")
        for line in worse:
            print("  " + line)
        if factor is not None and factor > WORSE:
            print("history: the peers slowed by as much: more likely the machine than limier")
        if changes:
            print("history: a reader changed (above): the kernel or the setup, before limier's code")
        return 1
    print(f"history: nothing worse by more than 20% than {same[-1]['commit']} ({same[-1]['date']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
