#!/usr/bin/python3
"""OCI runtime-spec conformance checks for any runc-compatible runtime.

    spec-conformance/run.py [--runtime PATH] [-k SUBSTRING] [--list]
                            [--private-cgroup2-unmount]

--runtime (or env RUNTIME): the runtime binary, a path or a name on PATH
(default: build/runtime/berth). Runs as root. Prints one line per clause,
`PASS|FAIL|SKIP <clause-id> <short text> [reason]`, then
`N passed, N failed, N skipped`; exits 0 only if nothing failed.

--private-cgroup2-unmount re-executes the suite under `unshare -m` with
/sys/fs/cgroup/unified unmounted in that private mount namespace (crun 1.8
refuses hybrid cgroup hosts); the host's mounts are not touched.
"""
import argparse
import glob
import importlib.util
import os
import shutil
import signal
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import conformance  # noqa: E402

CHECK_TIMEOUT = 30
DEFAULT_RUNTIME = os.path.join(os.path.dirname(HERE), "build", "runtime", "berth")


def in_private_mount_namespace():
    if os.environ.get("SPEC_CONFORMANCE_UNSHARED") == "1":
        return
    env = dict(os.environ, SPEC_CONFORMANCE_UNSHARED="1")
    script = ("mount --make-rprivate / && "
              "(! mountpoint -q /sys/fs/cgroup/unified || umount /sys/fs/cgroup/unified) && "
              'exec "$0" "$@"')
    os.execvpe("unshare", ["unshare", "-m", "sh", "-c", script, sys.executable, *sys.argv], env)


def load_clauses():
    for path in sorted(glob.glob(os.path.join(HERE, "clauses", "*.py"))):
        name = "clauses_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    return conformance.CLAUSES


class CheckTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise CheckTimeout(f"check took longer than {CHECK_TIMEOUT}s")


def short(text, n=70):
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runtime", default=os.environ.get("RUNTIME", DEFAULT_RUNTIME))
    p.add_argument("-k", dest="filter", help="only clauses whose id contains SUBSTRING")
    p.add_argument("--list", action="store_true", help="list the clauses and exit")
    p.add_argument("--private-cgroup2-unmount", action="store_true",
                   help="run in a private mount namespace without /sys/fs/cgroup/unified")
    args = p.parse_args()
    clauses = [c for c in load_clauses() if not args.filter or args.filter in c[0]]
    if args.list:
        for cid, text, _ in clauses:
            print(f"{cid}\t{short(text, 120)}")
        return 0
    if args.private_cgroup2_unmount:
        in_private_mount_namespace()
    runtime = args.runtime if os.sep in args.runtime else shutil.which(args.runtime)
    if not runtime or not os.access(runtime, os.X_OK):
        print(f"runtime not found: {args.runtime}", file=sys.stderr)
        return 2
    runtime = os.path.abspath(runtime)
    if os.geteuid() != 0:
        print("run as root", file=sys.stderr)
        return 2
    print(f"# runtime: {runtime}", flush=True)
    session = conformance.Session(runtime)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    signal.signal(signal.SIGALRM, on_alarm)
    try:
        for cid, text, fn in clauses:
            ctx = conformance.Context(session, cid)
            reason = ""
            signal.alarm(CHECK_TIMEOUT)
            try:
                fn(ctx)
                verdict = "PASS"
            except conformance.Skip as e:
                verdict, reason = "SKIP", str(e)
            except conformance.Fail as e:
                verdict, reason = "FAIL", str(e)
            except CheckTimeout as e:
                verdict, reason = "FAIL", str(e)
            except Exception as e:  # a bug in the check itself still counts
                verdict = "FAIL"
                reason = f"{type(e).__name__}: {e}"
                if os.environ.get("SPEC_CONFORMANCE_DEBUG"):
                    traceback.print_exc()
            finally:
                signal.alarm(0)
                signal.alarm(CHECK_TIMEOUT)
                try:
                    ctx.cleanup()
                except CheckTimeout:
                    pass
                finally:
                    signal.alarm(0)
            counts[verdict] += 1
            line = f"{verdict} {cid} {short(text)}"
            if reason:
                line += f" [{' '.join(reason.split())[:600]}]"
            print(line, flush=True)
    finally:
        session.close()
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
