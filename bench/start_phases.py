#!/usr/bin/python3
"""Where `berth run` spends its time, by phase: N runs of the start_latency
bundle under `strace -f -ttt -T`, each split at syscalls that mark a phase
boundary, medians printed with the syscall count of each phase.

strace stops the tracee at every syscall, so phases rich in syscalls look
longer than they are; the split (and the counts) is what this is for, the
times of bench/start_latency.py are the real ones.

    bench/start_phases.py [-n RUNS] [--seccomp PROFILE.json] [--cold]

--cold removes the seccomp cache before every run (the program is compiled).
Runs as root, in a private mount namespace like start_latency.py.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import start_latency  # noqa: E402

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")

# (name, how the phase ends): the first matching syscall after the previous boundary.
PHASES = [
    ("exec, load, parse, validate", lambda pid, s, ctx: s.startswith("mkdir(")),
    ("state dir, exec fifo", lambda pid, s, ctx: "/proc/self/mountinfo" in s and pid == ctx["parent"]),
    ("cgroups: read layout, create dirs", lambda pid, s, ctx: s.startswith("socketpair(")),
    ("seccomp: compile or read the cache", lambda pid, s, ctx: s.startswith("clone3(")),
    ("clone, join cgroups, write limits", lambda pid, s, ctx: pid == ctx["parent"] and
     s.startswith("sendto(")),
    ("init: namespaces, mounts, devices", lambda pid, s, ctx: s.startswith("pivot_root(")),
    ("init: pivot_root, read-only and masked paths, process setup",
     lambda pid, s, ctx: pid != ctx["parent"] and s.startswith("sendto(")),
    ("parent: state.json, config copy, commit", lambda pid, s, ctx: pid == ctx["parent"] and
     s.startswith("sendto(")),
    ("start: exec fifo, seccomp load, execve", lambda pid, s, ctx: pid != ctx["parent"] and
     s.startswith("execve(")),
    ("the container's /bin/true", lambda pid, s, ctx: s.startswith("+++ exited") and
     pid != ctx["parent"]),
    ("teardown: wait, delete (cgroups, state)", lambda pid, s, ctx: s.startswith("exit_group(") and
     pid == ctx["parent"]),
]


def split(trace):
    events = []
    for line in trace.splitlines():
        m = LINE.match(line)
        if m:
            events.append((int(m.group(1)), float(m.group(2)), m.group(3)))
    parent = events[0][0]
    ctx = {"parent": parent}
    out, counts = [], []
    start, n, phase = events[0][1], 0, 0
    seccomp_load = 0.0
    for pid, t, s in events:
        if s.startswith("seccomp(SECCOMP_SET_MODE_FILTER") and pid != parent:
            m = re.search(r"<(\d+\.\d+)>$", s)
            seccomp_load += float(m.group(1)) if m else 0.0
        if phase >= len(PHASES):
            break
        n += 1
        if PHASES[phase][1](pid, s, ctx):
            out.append(t - start)
            counts.append(n)
            start, n, phase = t, 0, phase + 1
    return out, counts, seccomp_load


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--seccomp", metavar="PROFILE.json")
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    start_latency.in_private_mount_namespace()
    work = tempfile.mkdtemp(prefix="berth-phases-")
    try:
        bundle = os.path.join(work, "bundle")
        spec = start_latency.bundle_fixture.make_bundle(bundle, ["/bin/true"],
                                                        runtime=start_latency.BERTH)
        if args.seccomp:
            with open(args.seccomp) as f:
                spec["linux"]["seccomp"] = json.load(f)
        start_latency.bundle_fixture.write_config(bundle, spec)
        root = os.path.join(work, "state")
        runs = []
        for i in range(args.n + 1):
            if args.cold:
                shutil.rmtree(os.path.join(root, "@seccomp-cache"), ignore_errors=True)
            out = os.path.join(work, "trace")
            subprocess.run(["strace", "-f", "-ttt", "-T", "-o", out, start_latency.BERTH,
                            "--root", root, "run", "--bundle", bundle, f"p{i}"], check=True)
            with open(out) as f:
                times, counts, load = split(f.read())
            if i > 0 and len(times) == len(PHASES):  # the first run warms caches
                runs.append((times, counts, load))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    what = f" + seccomp {os.path.basename(args.seccomp)}" if args.seccomp else ""
    cache = " (cold seccomp cache)" if args.cold else ""
    print(f"`berth run` of /bin/true{what}{cache} under strace -f, {len(runs)} runs, medians")
    print()
    print("| phase | ms | share | syscalls |")
    print("|---|---|---|---|")
    total = statistics.median(sum(r[0]) for r in runs) * 1000
    for i, (name, _) in enumerate(PHASES):
        ms = statistics.median(r[0][i] for r in runs) * 1000
        calls = statistics.median(r[1][i] for r in runs)
        print(f"| {name} | {ms:.2f} | {ms / total:.0%} | {calls:.0f} |")
    print(f"| total | {total:.2f} | | {statistics.median(sum(r[1]) for r in runs):.0f} |")
    if args.seccomp:
        load = statistics.median(r[2] for r in runs) * 1000
        print(f"\nseccomp(2) loading the program (within start): {load:.3f} ms")


if __name__ == "__main__":
    main()
