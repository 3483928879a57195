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

SHIM = os.environ.get("BERTH_SHIM", os.path.join(ROOT, "build", "shim", "berth-shim"))
BERTH = os.environ.get("BERTH", os.path.join(ROOT, "build", "runtime", "berth"))
NAMESPACE = "berth-bench"
RUNTIMES = {"berth": "io.containerd.berth.v2", "runc": "io.containerd.runc.v2"}
# Targets for COUNT=20, scaled per shim: 6 MB PSS and 4 MB private dirty in all.
PSS_TARGET_KB_PER_SHIM = 6 * 1024 / 20
DIRTY_TARGET_KB_PER_SHIM = 4 * 1024 / 20


class Containerd:
    """A private containerd on its own socket and directories, CRI disabled,
    with `bindir` (containerd-shim-berth-v2 and berth) first on its PATH."""

    def __init__(self, base, bindir):
        self.base = base
        self.sock = os.path.join(base, "containerd.sock")
        config = os.path.join(base, "config.toml")
        with open(config, "w") as f:
            f.write(f'''version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
''')
        self.env = dict(os.environ)
        self.env["PATH"] = f"{bindir}:{self.env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
        self.log = open(os.path.join(base, "containerd.log"), "w")
        self.proc = subprocess.Popen(["containerd", "--config", config], stdout=self.log,
                                     stderr=self.log, env=self.env)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"containerd did not start; see {base}/containerd.log")
            time.sleep(0.05)

    def ctr(self, *args, check=True):
        p = subprocess.run(["ctr", "--address", self.sock, "-n", NAMESPACE, *args],
                           capture_output=True, text=True, timeout=120, env=self.env,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise SystemExit(f"ctr {' '.join(args)}: {p.stderr.strip()}")
        return p

    def task_pids(self):
        pids = {}
        for line in self.ctr("task", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "RUNNING":
                pids[fields[0]] = int(fields[1])
        return pids

    def remove(self, cid):
        """Kills and deletes task and container; reports a delete that fails
        for another reason than the task still running."""
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=False)
        failures = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(failures) < 3:
            p = self.ctr("task", "delete", cid, check=False)
            if p.returncode == 0 or cid not in self.task_ids():
                break
            if "must be stopped" not in p.stderr:
                failures.append((p.stderr.strip().splitlines() or ["(no message)"])[-1])
            time.sleep(0.05)
        else:
            print(f"warning: ctr task delete {cid} failed: {' / '.join(dict.fromkeys(failures))}",
                  file=sys.stderr)
        self.ctr("container", "delete", cid, check=False)

    def task_ids(self):
        return {line.split()[0] for line in self.ctr("task", "ls").stdout.splitlines()[1:] if line.split()}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def mounts_under(base):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == base or point.startswith(base + "/"):
                found.append(point)
    return found


def unmount_all_under(base):
    for point in sorted(mounts_under(base), key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
    left = mounts_under(base)
    if left:
        print(f"warning: still mounted under {base}: {left}", file=sys.stderr)


def parent_pid(pid):
    return int(status_field(pid, "PPid"))


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    raise KeyError(name)


def smaps_rollup(pid):
    """Rss, Pss and Private_Dirty of `pid`, in kB."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Private_Dirty"):
                values[key] = int(rest.split()[0])
    return values


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
        shims = find_shims(ctd, work)
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
        shims.update(find_shims(ctd, work))  # after a failure: whatever did start
        for cid in ids:
            ctd.remove(cid)
        reap_shims(name, [pid for pid, _ in shims.values()])
        remove_stale_sockets(name, [socket for _, socket in shims.values()])
    if len({s["pid"] for s in samples}) != count:
        raise SystemExit(f"{name}: {count} containers share {len({s['pid'] for s in samples})} shims")
    return times, samples


def find_shims(ctd, work):
    """Container id -> (pid of its shim: the parent of the task, the shim's
    socket from the bundle's address file), for the running tasks."""
    found = {}
    for cid, task in ctd.task_pids().items():
        try:
            address = os.path.join(work, "state", "io.containerd.runtime.v2.task", NAMESPACE, cid,
                                   "address")
            with open(address) as f:
                found[cid] = (parent_pid(task), f.read().strip().removeprefix("unix://"))
        except OSError:
            pass
    return found


def running(pid):
    try:
        return status_field(pid, "State") not in ("Z", "X")
    except (OSError, KeyError):
        return False


def reap_shims(name, pids):
    """After Delete a shim exits; one that stays is reported and killed
    (these are this run's shims, found by pid)."""
    # A shim may wait up to 5 s for containerd to take its last events.
    deadline = time.monotonic() + 10
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if running(p)}
        time.sleep(0.05)
    for pid in sorted(alive):
        print(f"warning: {name} shim {pid} still running after its task was deleted; killing it",
              file=sys.stderr)
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def remove_stale_sockets(name, sockets):
    """A shim removes its socket file when it exits; any left by this run's
    (now dead) shims is reported and removed."""
    stale = [path for path in sockets if os.path.exists(path)]
    if stale:
        print(f"warning: {len(stale)} of {len(sockets)} {name} shims left their socket in "
              f"{os.path.dirname(stale[0])}; removing them", file=sys.stderr)
    for path in stale:
        os.unlink(path)


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
    made_cgroups = [d for d in (f"/sys/fs/cgroup/{h}/{NAMESPACE}" for h in os.listdir("/sys/fs/cgroup"))
                    if not os.path.exists(d)]
    ctd = None
    try:
        bindir = os.path.join(work, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(SHIM), os.path.join(bindir, "containerd-shim-berth-v2"))
        os.symlink(os.path.abspath(BERTH), os.path.join(bindir, "berth"))
        rootfs_base = bundle_fixture.make_rootfs(os.path.join(work, "rootfs-base"))
        os.mkdir(os.path.join(work, "rootfs"))
        ctd = Containerd(work, bindir)
        results = {name: run_shim(ctd, name, rootfs_base, work, args.count) for name in shims}
        report(results, args.count)
    finally:
        if ctd is not None:
            ctd.stop()
        unmount_all_under(work)
        shutil.rmtree(work, ignore_errors=True)
        for d in made_roots:
            try:
                os.rmdir(d)
            except OSError:
                pass
        for d in made_cgroups:
            try:
                os.rmdir(d)
            except OSError:
                pass


if __name__ == "__main__":
    main()
