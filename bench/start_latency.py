#!/usr/bin/python3
"""Start latency and peak RSS of `RUNTIME run` on one busybox bundle (default
spec from `berth spec`, args /bin/true), berth beside runc and crun, plus the
floor: `unshare` of the same namespaces running /bin/true.

Runs as root. crun 1.8 refuses hybrid cgroup hosts, so everything (all three
runtimes, for fairness) runs in a private mount namespace where
/sys/fs/cgroup/unified is unmounted; the host is not touched.

    bench/start_latency.py [-n ITERATIONS] [--runtimes berth,runc,crun]
                           [--seccomp PROFILE.json] [--docker] [--before BERTH]

--seccomp puts PROFILE.json (a linux.seccomp object, e.g. Docker's default
profile from tests/fixtures/docker_seccomp.py) into the config.

--docker also times `docker run --rm --runtime berth` against `--runtime
runc` (Debian's dockerd 20.10 and its /usr/bin/docker client, started here
on a private socket, data and exec root, with an image imported from the
same busybox rootfs; Docker's default seccomp profile applies), -n times
each, interleaved.
"""
import argparse
import json
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

BERTH = os.environ.get("BERTH", os.path.join(ROOT, "build", "runtime", "berth"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def in_private_mount_namespace():
    """Re-exec under `unshare -m` and unmount the cgroup2 hierarchy there."""
    if os.environ.get("BERTH_BENCH_UNSHARED") == "1":
        return
    env = dict(os.environ, BERTH_BENCH_UNSHARED="1")
    script = ("mount --make-rprivate / && "
              "(! mountpoint -q /sys/fs/cgroup/unified || umount /sys/fs/cgroup/unified) && "
              'exec "$0" "$@"')
    os.execvpe("unshare", ["unshare", "-m", "sh", "-c", script, sys.executable, *sys.argv], env)


MEASURE = os.environ.get("MEASURE", os.path.join(ROOT, "build", "bench", "measure-run"))


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
    parser.add_argument("--before", metavar="BERTH", help="also this berth binary, as "
                        "\"berth (before)\", e.g. a build of an earlier commit")
    parser.add_argument("--docker", action="store_true",
                        help="also docker run --rm with --runtime berth and --runtime runc")
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
        if args.before:
            paths["berth (before)"] = args.before
            runtimes.insert(1, "berth (before)")
        unshare = shutil.which("unshare")
        commands = {}
        for r in runtimes:
            state = os.path.join(work, f"state-{r.split()[0]}{len(commands)}")
            commands[r] = lambda i, r=r, state=state: [
                paths[r], "--root", state, "run", "--bundle", bundle, f"bench-{len(r)}-{i}"]
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
        if args.docker:
            print()
            docker_runs(os.path.join(bundle, "rootfs"), work, args.n)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def docker_runs(rootfs, work, n):
    """`docker run --rm` of /bin/true through a private dockerd, berth and
    runc as its runtime, interleaved; wall time of the client."""
    import pathlib
    from callers_util import DOCKER_IMAGE, Dockerd  # tests/integration
    base = pathlib.Path(work) / "dockerd"
    base.mkdir()
    d = Dockerd(base, rootfs, runtime=BERTH)
    try:
        times = {"docker + berth": [], "docker + runc": []}
        runtime = {"docker + berth": "berth", "docker + runc": "runc"}

        def run(name):
            t = time.perf_counter()
            p = d.docker("run", "--rm", "--runtime", runtime[name], "--network", "none",
                         DOCKER_IMAGE, "/bin/true")
            if p.returncode != 0:
                raise SystemExit(f"docker run --runtime {runtime[name]}: {p.stderr}")
            return time.perf_counter() - t

        for name in times:  # warm up
            run(name)
        for _ in range(n):
            for name in times:
                times[name].append(run(name))
    finally:
        d.stop()
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"`docker run --rm --network none IMAGE /bin/true` (dockerd 20.10, Docker's default "
          f"seccomp profile); {n} interleaved runs each")
    print()
    print("| runtime | median ms | p90 ms | time vs runc |")
    print("|---|---|---|---|")
    for k, v in times.items():
        p90 = statistics.quantiles(v, n=10)[-1] * 1000
        print(f"| {k} | {med[k]:.2f} | {p90:.2f} | {med[k] / med['docker + runc']:.2f}x |")


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
