"""Shared machinery for the OCI runtime-spec conformance checks: the
@clause registry, a per-check Context that builds bundles and drives the
runtime under test, and the Fail/Skip exceptions checks raise."""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import bundle as bundle_fixture  # noqa: E402

CLAUSES = []  # (clause_id, text, function), in definition order


def clause(clause_id, text):
    """Registers a check for the spec clause `clause_id` quoting `text`."""
    def register(fn):
        CLAUSES.append((clause_id, text, fn))
        return fn
    return register


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

BASE_CONFIG = {
    "ociVersion": "1.0.2",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"],
        "cwd": "/",
        "capabilities": {k: list(DEFAULT_CAPS)
                         for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": False,
    },
    "root": {"path": "rootfs", "readonly": False},
    "hostname": "conformance",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ],
    "linux": {
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
    },
}


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"rc={self.rc} stdout={self.out.strip()!r} stderr={self.err.strip()[-400:]!r}"


class Session:
    """One run of the suite: the runtime, a state --root, a template rootfs."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.work = tempfile.mkdtemp(prefix="spec-conformance-")
        os.chmod(self.work, 0o755)  # searchable by a user namespace's mapped root
        self.root = os.path.join(self.work, "state")
        os.makedirs(self.root)
        self.template = os.path.join(self.work, "template-rootfs")
        bundle_fixture.make_rootfs(self.template)
        self.prefix = f"sc{os.getpid()}"
        self.counter = 0

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)


class Context:
    """What a check gets: build bundles, run the runtime, auto cleanup."""

    def __init__(self, session, name):
        self.s = session
        self.dir = tempfile.mkdtemp(prefix=name.replace("/", "_") + "-", dir=session.work)
        os.chmod(self.dir, 0o755)
        self.ids = []
        self.cgroups = []
        self.cleanups = []

    # ---- bundles -------------------------------------------------------
    def config(self, args=None):
        cfg = copy.deepcopy(BASE_CONFIG)
        if args is not None:
            cfg["process"]["args"] = list(args)
        return cfg

    def new_id(self):
        self.s.counter += 1
        cid = f"{self.s.prefix}-{self.s.counter}"
        self.ids.append(cid)
        return cid

    def bundle(self, cfg, setup=None):
        """Writes a bundle dir (rootfs copied from the template); setup(rootfs)
        may add files. Returns the bundle's absolute path."""
        b = tempfile.mkdtemp(prefix="bundle-", dir=self.dir)
        os.chmod(b, 0o755)
        rootfs = os.path.join(b, cfg["root"]["path"]) if not os.path.isabs(cfg["root"]["path"]) \
            else cfg["root"]["path"]
        subprocess.run(["cp", "-a", self.s.template, rootfs], check=True)
        if setup:
            setup(rootfs)
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(cfg, f, indent="\t")
        return b

    def cgroup_path(self):
        """A unique cgroupsPath; its leftovers are removed after the check."""
        p = f"/{self.s.prefix}-cg-{self.s.counter + 1}-{len(self.cgroups)}"
        self.cgroups.append(p)
        return p

    # ---- runtime -------------------------------------------------------
    def rt(self, *args, timeout=20, stdout_path=None):
        """Runs RUNTIME --root ROOT ARGS; stdio goes to files (never pipes:
        a detached container would hold a pipe open)."""
        out_path = stdout_path or os.path.join(self.dir, f"out-{time.monotonic_ns()}")
        err_path = os.path.join(self.dir, f"err-{time.monotonic_ns()}")
        with open(out_path, "ab") as o, open(err_path, "wb") as e:
            try:
                rc = subprocess.run([self.s.runtime, "--root", self.s.root, *args],
                                    stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                    timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        with open(out_path, errors="replace") as o, open(err_path, errors="replace") as e:
            return Result(rc, o.read(), e.read())

    def run(self, cfg, setup=None):
        """`run` a container to completion; returns Result (its stdout/err)."""
        b = self.bundle(cfg, setup)
        return self.rt("run", "--bundle", b, self.new_id())

    def sh(self, script, cfg=None, setup=None):
        cfg = cfg or self.config()
        cfg["process"]["args"] = ["sh", "-c", script]
        return self.run(cfg, setup)

    def create(self, cfg, setup=None, cid=None, bundle=None):
        """`create`; returns (id, bundle, Result, stdout_path). The container's
        stdout goes to stdout_path."""
        b = bundle or self.bundle(cfg, setup)
        cid = cid or self.new_id()
        out = os.path.join(self.dir, f"{cid}.stdout")
        r = self.rt("create", "--bundle", b, cid, stdout_path=out)
        return cid, b, r, out

    def state(self, cid):
        r = self.rt("state", cid)
        if r.rc != 0:
            return None
        try:
            return json.loads(r.out)
        except ValueError:
            raise Fail(f"state output is not JSON: {r.out!r}")

    def wait_status(self, cid, status, timeout=10):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.state(cid)
            if st and st.get("status") == status:
                return st
            time.sleep(0.05)
        raise Fail(f"status never became {status!r}; last state: {st}")

    def wait_file(self, path, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(path) and text in open(path, errors="replace").read():
                return
            time.sleep(0.05)
        content = open(path, errors="replace").read() if os.path.exists(path) else None
        raise Fail(f"{text!r} never appeared in {path}: {content!r}")

    def cleanup(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                pass
        for cid in self.ids:
            self.rt("delete", "--force", cid, timeout=15)
        for p in self.cgroups:
            for top in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                if not os.path.isdir(top):
                    continue
                for ctl in [""] + os.listdir(top):
                    d = os.path.join(top, ctl, p.lstrip("/"))
                    if os.path.isdir(d):
                        try:
                            os.rmdir(d)
                        except OSError:
                            pass
        shutil.rmtree(self.dir, ignore_errors=True)
