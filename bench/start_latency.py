#!/usr/bin/python3
"""Start latency and peak RSS of `RUNTIME run` on one busybox bundle (default
spec from `berth spec`, args /bin/true), berth beside runc and crun, plus the
floor: `unshare` of the same namespaces running /bin/true.

Runs as root. crun 1.8 refuses hybrid cgroup hosts, so everything (all three
runtimes, for fairness) runs in a private mount namespace where
/sys/fs/cgroup/unified is unmounted; the host is not touched.

    bench/start_latency.py [-n ITERATIONS] [--runtimes berth,runc,crun]
                           [--seccomp PROFILE.json]

--seccomp puts PROFILE.json (a linux.seccomp object, e.g. Docker's default
profile from tests/fixtures/docker_seccomp.py) into the config.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import bundle as bundle_fixture  # noqa: E402

BERTH = os.environ.get("BERTH", os.path.join(ROOT, "build", "runtime", "berth"))


def in_private_mount_namespace():
    """Re-exec under `unshare -m` and unmount the cgroup2 hierarchy there."""
    if os.environ.get("BERTH_BENCH_UNSHARED") == "1":
        return
    env = dict(os.environ, BERTH_BENCH_UNSHARED="1")
    script = ("mount --make-rprivate / && "
              "(! mountpoint -q /sys/fs/cgroup/unified || umount /sys/fs/cgroup/unified) && "
              'exec "$0" "$@"')
    os.execvpe("unshare", ["unshare", "-m", "sh", "-c", script, sys.executable, *sys.argv], env)


MEASURE = os.path.join(ROOT, "build", "bench", "measure-run")


def measure(argv):
    """Wall time (s) and peak RSS (KiB) of one run, taken by measure-run (a
    small C++ process, so the RSS is the runtime's, not Python's)."""
    out = subprocess.run([MEASURE, *argv], check=True, capture_output=True, text=True).stdout
    ns, rss_kb, code = (int(x) for x in out.split())
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed with status {code}")
    return ns / 1e9, rss_kb


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="iterations per runtime")
    parser.add_argument("--runtimes", default="berth,runc,crun")
    parser.add_argument("--seccomp", metavar="PROFILE.json", help="linux.seccomp for the config")
    args = parser.parse_args()
    in_private_mount_namespace()

    work = tempfile.mkdtemp(prefix="berth-bench-")
    try:
        bundle = os.path.join(work, "bundle")
        spec = bundle_fixture.make_bundle(bundle, ["/bin/true"], runtime=BERTH)
        spec["ociVersion"] = "1.0.2-dev"  # what runc spec writes; crun 1.8 refuses 1.2.0
        if args.seccomp:
            with open(args.seccomp) as f:
                spec["linux"]["seccomp"] = json.load(f)
        bundle_fixture.write_config(bundle, spec)
        paths = {"berth": BERTH, "runc": shutil.which("runc"), "crun": shutil.which("crun")}
        runtimes = [r for r in args.runtimes.split(",") if paths.get(r)]
        unshare = shutil.which("unshare")
        commands = {}
        for r in runtimes:
            state = os.path.join(work, f"state-{r}")
            commands[r] = lambda i, r=r, state=state: [
                paths[r], "--root", state, "run", "--bundle", bundle, f"bench-{r}-{i}"]
        commands["floor (unshare)"] = lambda i: [unshare, "-fpmuinC", "/bin/true"]
        names = list(commands)
        times = {n: [] for n in names}
        rss = {n: [] for n in names}
        for n in names:  # warm up caches once
            measure(commands[n](-1))
        # Interleave runtimes so drift on the machine hits all of them alike.
        for i in range(args.n):
            for n in names:
                t, m = measure(commands[n](i))
                times[n].append(t)
                rss[n].append(m)
        report(names, times, rss, args.n, args.seccomp)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(names, times, rss, n, seccomp=None):
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    profile = f" + seccomp {os.path.basename(seccomp)}" if seccomp else ""
    print(f"`RUNTIME run` of /bin/true, default spec{profile}, busybox rootfs; "
          f"{n} interleaved runs each")
    print()
    print("| runtime | median ms | p90 ms | peak RSS MB | time vs berth | time vs crun |")
    print("|---|---|---|---|---|---|")
    for k in names:
        p90 = statistics.quantiles(times[k], n=10)[-1] * 1000
        peak = max(rss[k]) / 1024
        vs_berth = med[k] / med["berth"] if "berth" in med else float("nan")
        vs_crun = med[k] / med["crun"] if "crun" in med else float("nan")
        print(f"| {k} | {med[k]:.2f} | {p90:.2f} | {peak:.2f} | {vs_berth:.2f}x | {vs_crun:.2f}x |")


if __name__ == "__main__":
    main()
