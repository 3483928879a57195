"""Fixtures for integration tests: real containers, as root, on the real
kernel. Every test gets its own --root and bundle; after each test the host
is checked for anything left behind (state dirs, cgroups, mounts, processes).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import bundle as bundle_fixture  # noqa: E402

BERTH = os.environ.get("BERTH", os.path.join(ROOT, "build", "runtime", "berth"))
CGROUP_ROOT = "/sys/fs/cgroup"
# Under every --root: compiled seccomp programs (runtime/linux/seccomp_cache.h).
SECCOMP_CACHE = "@seccomp-cache"


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="integration tests run real containers and need root")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def base_rootfs(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("base") / "rootfs")
    bundle_fixture.make_rootfs(path)
    return path


def cgroup_dirs_named(name):
    found = []
    for dirpath, dirnames, _ in os.walk(CGROUP_ROOT):
        if os.path.basename(dirpath) == name:
            found.append(dirpath)
        # containers made by tests are shallow; don't walk the whole tree
        if dirpath.count("/") > 6:
            dirnames[:] = []
    return found


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f]


class Berth:
    """Runs the berth binary against a private --root."""

    def __init__(self, root, bundle_dir, base_rootfs):
        self.root = root
        self.bundle = bundle_dir
        self.base_rootfs = base_rootfs
        self.ids = []

    def new_id(self):
        cid = "t" + uuid.uuid4().hex[:12]
        self.ids.append(cid)
        return cid

    def cmd(self, *args, root=None):
        return [BERTH, "--root", root or self.root, *args]

    def run(self, *args, check=False, input=None, timeout=60, **kw):
        """Runs berth; stdout/stderr go to files, not pipes: a detached
        container inherits them (as with runc) and would hold a pipe open."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
            p = subprocess.Popen(self.cmd(*args), stdin=stdin, stdout=out, stderr=err, **kw)
            try:
                p.communicate(input.encode() if input is not None else None, timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(p.args, p.returncode, out.read().decode(),
                                                 err.read().decode())
        if check and result.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def make_bundle(self, args=None, path=None):
        path = path or self.bundle
        spec = bundle_fixture.make_bundle(path, args, runtime=BERTH, rootfs_source=self.base_rootfs)
        return spec

    def config(self, path=None):
        return bundle_fixture.load_config(path or self.bundle)

    def write_config(self, spec, path=None):
        bundle_fixture.write_config(path or self.bundle, spec)

    def state(self, cid):
        p = self.run("state", cid, check=True)
        return json.loads(p.stdout)

    def run_container(self, args, cid=None, **kw):
        """`berth run` in the foreground with args; returns CompletedProcess."""
        spec = self.config()
        spec["process"]["args"] = list(args)
        self.write_config(spec)
        return self.run("run", "--bundle", self.bundle, cid or self.new_id(), **kw)


@pytest.fixture
def berth(tmp_path, base_rootfs):
    root = str(tmp_path / "state")
    bundle_dir = str(tmp_path / "bundle")
    mounts_before = set(host_mounts())
    b = Berth(root, bundle_dir, base_rootfs)
    b.make_bundle()
    yield b
    # Clean up whatever a failing test left, then prove nothing remains.
    for cid in b.ids:
        subprocess.run(b.cmd("delete", "--force", cid), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    leftovers = []
    # The seccomp program cache outlives containers by design.
    state_dirs = [d for d in os.listdir(root) if d != SECCOMP_CACHE] if os.path.isdir(root) else []
    if state_dirs:
        leftovers.append(f"state dirs: {state_dirs}")
    for cid in b.ids:
        dirs = cgroup_dirs_named(cid)
        if dirs:
            leftovers.append(f"cgroups: {dirs}")
    new_mounts = set(host_mounts()) - mounts_before
    if new_mounts:
        leftovers.append(f"mounts: {sorted(new_mounts)}")
    shutil.rmtree(str(tmp_path), ignore_errors=True)
    assert not leftovers, "left behind on the host: " + "; ".join(leftovers)


def wait_for(predicate, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
