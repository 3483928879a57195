#!/usr/bin/python3
"""Memory, threads and start time of containerd's per-container shims:
berth-shim (runtime io.containerd.berth.v2, with berth underneath) beside
containerd's own containerd-shim-runc-v2 (io.containerd.runc.v2, with
Debian's runc), under one private containerd 1.6.

For each shim in turn: `ctr run -d` of COUNT sleeping busybox containers
(each `ctr run -d` timed, wall clock), then, with all of them running, each
shim process's /proc/PID/smaps_rollup (Rss, Pss, Private_Dirty) and its
thread count; then the containers are killed and deleted before the next
shim's turn. The shim of a container is the parent of its task's pid.

Runs as root. Everything (config, sockets, root, state, rootfs copies) lives
in a temp dir that is unmounted and removed at the end.

    bench/shim_memory.py [--count N] [--shim berth|runc|both]

The targets are set for 20 shims (6 MB Pss, 4 MB Private_Dirty in all) and
scaled linearly for another --count.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import bundle as bundle_fixture  # noqa: E402
from peers import (Containerd, missing_cgroups, parent_pid, reap, remove_dirs,  # noqa: E402
                   remove_stale_sockets, smaps_rollup, status_field, unmount_all_under)

SHIM = os.environ.get("BERTH_SHIM", os.path.join(ROOT, "build", "shim", "berth-shim"))
BERTH = os.environ.get("BERTH", os.path.join(ROOT, "build", "runtime", "berth"))
NAMESPACE = "berth-bench"
RUNTIMES = {"berth": "io.containerd.berth.v2", "runc": "io.containerd.runc.v2"}
# Targets for COUNT=20, scaled per shim: 6 MB PSS and 4 MB private dirty in all.
PSS_TARGET_KB_PER_SHIM = 6 * 1024 / 20
DIRTY_TARGET_KB_PER_SHIM = 4 * 1024 / 20


def run_shim(ctd, name, rootfs_base, work, count):
    """Starts `count` containers under shim `name`, measures, removes them."""
    ids = [f"{name}-{i}" for i in range(count)]
    times = []
    samples = []
    shims = {}  # container id -> (shim pid, its socket path)
    try:
        for cid in ids:
            rootfs = os.path.join(work, "rootfs", cid)
            shutil.copytree(rootfs_base, rootfs, symlinks=True)
            start = time.monotonic()
            # An absolute path: with --rootfs (no image config) the spec
            # has no PATH, and runc does not search a default one.
            ctd.ctr("run", "-d", "--runtime", RUNTIMES[name], "--rootfs", rootfs, cid,
                    "/bin/sleep", "100000")
            times.append(time.monotonic() - start)
        shims = find_shims(ctd)
        for cid in ids:
            if cid not in shims:
                raise SystemExit(f"{cid} is not running")
            pid = shims[cid][0]
            sample = smaps_rollup(pid)
            sample["Threads"] = int(status_field(pid, "Threads"))
            sample["pid"] = pid
            sample["exe"] = os.readlink(f"/proc/{pid}/exe")
            samples.append(sample)
    finally:
        shims.update(find_shims(ctd))  # after a failure: whatever did start
        for cid in ids:
            ctd.remove(cid)
        # A shim may wait up to 5 s for containerd to take its last events.
        reap(f"{name} shim", [pid for pid, _ in shims.values()])
        remove_stale_sockets(name, [socket for _, socket in shims.values()])
    if len({s["pid"] for s in samples}) != count:
        raise SystemExit(f"{name}: {count} containers share {len({s['pid'] for s in samples})} shims")
    return times, samples


def find_shims(ctd):
    """Container id -> (pid of its shim: the parent of the task, the shim's
    socket from the bundle's address file), for the running tasks."""
    found = {}
    for cid, task in ctd.task_pids().items():
        try:
            found[cid] = (parent_pid(task), ctd.shim_socket(cid))
        except OSError:
            pass
    return found


def report(results, count):
    print(f"{count} containers per shim (busybox `/bin/sleep 100000`, `ctr run -d --rootfs`, "
          "a rootfs copy each), containerd 1.6, one shim process per container")
    print("sizes in MiB (1024 kB), from /proc/PID/smaps_rollup; threads from /proc/PID/status")
    print()
    print("| shim | binary | Rss avg | Pss avg | Private_Dirty avg | threads avg "
          "| Pss sum | Private_Dirty sum | Rss sum | `ctr run -d` median ms | p90 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for name, (times, samples) in results.items():
        sums = {k: sum(s[k] for s in samples) for k in ("Rss", "Pss", "Private_Dirty", "Threads")}
        avg = {k: v / len(samples) for k, v in sums.items()}
        med = statistics.median(times) * 1000
        p90 = statistics.quantiles(times, n=10)[-1] * 1000 if len(times) > 1 else med
        threads = sorted({s["Threads"] for s in samples})
        summary[name] = dict(sums=sums, avg=avg, median=med, threads=threads)
        print(f"| {name} | {samples[0]['exe']} | {avg['Rss'] / 1024:.2f} | {avg['Pss'] / 1024:.2f} "
              f"| {avg['Private_Dirty'] / 1024:.2f} | {avg['Threads']:.1f} "
              f"| {sums['Pss'] / 1024:.2f} | {sums['Private_Dirty'] / 1024:.2f} "
              f"| {sums['Rss'] / 1024:.2f} | {med:.1f} | {p90:.1f} |")
    if "berth" not in summary:
        return
    ours = summary["berth"]
    print()
    if "runc" in summary:
        theirs = summary["runc"]
        print("ratios berth-shim / containerd-shim-runc-v2: "
              f"Pss {ours['sums']['Pss'] / theirs['sums']['Pss']:.3f}, "
              f"Private_Dirty {ours['sums']['Private_Dirty'] / theirs['sums']['Private_Dirty']:.3f}, "
              f"threads {ours['avg']['Threads'] / theirs['avg']['Threads']:.3f}, "
              f"median `ctr run -d` {ours['median'] / theirs['median']:.3f}")
    pss_target = PSS_TARGET_KB_PER_SHIM * count
    dirty_target = DIRTY_TARGET_KB_PER_SHIM * count
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    print("targets:")
    print(f"  Pss sum <= {pss_target / 1024:.1f} MiB: {ours['sums']['Pss'] / 1024:.2f} "
          f"{met(ours['sums']['Pss'] <= pss_target)}")
    print(f"  Private_Dirty sum <= {dirty_target / 1024:.1f} MiB: "
          f"{ours['sums']['Private_Dirty'] / 1024:.2f} "
          f"{met(ours['sums']['Private_Dirty'] <= dirty_target)}")
    print(f"  1 thread per shim: {ours['threads']} {met(ours['threads'] == [1])}")
    if "runc" in summary:
        print(f"  median `ctr run -d` <= runc shim's: {ours['median']:.1f} vs "
              f"{summary['runc']['median']:.1f} ms {met(ours['median'] <= summary['runc']['median'])}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20, help="containers per shim")
    parser.add_argument("--shim", choices=["berth", "runc", "both"], default="both")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2", "runc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install containerd runc")
    shims = ["berth", "runc"] if args.shim == "both" else [args.shim]

    # A freshly linked binary's page-cache pages are dirty until written
    # back, and smaps counts them as Private_Dirty/Shared_Dirty of every
    # process mapping them: write them back first.
    subprocess.run(["sync"], check=True)

    work = tempfile.mkdtemp(prefix="berth-shim-bench-")
    made_roots = [d for d in (f"/run/containerd/berth/{NAMESPACE}", f"/run/containerd/runc/{NAMESPACE}")
                  if not os.path.exists(d)]
    # The runtimes make /<namespace> in each cgroup hierarchy as the parent
    # of the containers' cgroups; the ones that were not there are removed.
    made_cgroups = missing_cgroups(NAMESPACE)
    ctd = None
    try:
        bindir = os.path.join(work, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(SHIM), os.path.join(bindir, "containerd-shim-berth-v2"))
        os.symlink(os.path.abspath(BERTH), os.path.join(bindir, "berth"))
        rootfs_base = bundle_fixture.make_rootfs(os.path.join(work, "rootfs-base"))
        os.mkdir(os.path.join(work, "rootfs"))
        ctd = Containerd(work, bindir, ns=NAMESPACE)
        results = {name: run_shim(ctd, name, rootfs_base, work, args.count) for name in shims}
        report(results, args.count)
    finally:
        if ctd is not None:
            ctd.stop()
        unmount_all_under(work)
        shutil.rmtree(work, ignore_errors=True)
        remove_dirs(made_roots)
        remove_dirs(made_cgroups)


if __name__ == "__main__":
    main()
