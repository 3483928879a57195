"""dockerd 20.10 (Debian's docker.io) with `--add-runtime berth=<path>`:
`docker run --runtime berth` end to end. The test starts a private dockerd
(own data/exec roots and socket, --iptables=false --bridge=none) and an
image made by `docker import` of the busybox rootfs."""
import os
import re
import subprocess
import time

import pytest

from callers_util import DOCKER, DOCKER_IMAGE as IMAGE, DOCKERD, Dockerd
from conftest import BERTH, wait_for

pytestmark = pytest.mark.skipif(DOCKERD is None or not os.path.exists(DOCKER),
                                reason="docker.io is not installed")


@pytest.fixture(scope="module")
def dk(tmp_path_factory, base_rootfs):
    d = Dockerd(tmp_path_factory.mktemp("dockerd"), base_rootfs, runtime=BERTH)
    yield d.docker
    d.stop()


def run(dk, *args):
    return dk("run", "--rm", "--runtime", "berth", "--network", "none", *args)


def test_docker_run_rm(dk):
    p = run(dk, IMAGE, "sh", "-c", "echo hello-docker; echo $$; exit 3")
    assert p.returncode == 3, p.stderr
    assert p.stdout.split() == ["hello-docker", "1"]


def test_docker_default_seccomp_and_caps(dk):
    p = run(dk, IMAGE, "sh", "-c", "grep -E 'Seccomp:|CapEff' /proc/self/status; "
            "unshare -m true 2>&1 || echo unshare-blocked")
    assert "Seccomp:\t2" in p.stdout
    assert "unshare-blocked" in p.stdout
    p = run(dk, "--cap-drop", "ALL", "--cap-add", "NET_RAW", IMAGE, "grep", "CapEff", "/proc/self/status")
    assert p.stdout.split()[1] == "0000000000002000"


def test_docker_user_readonly_tmpfs_volume(dk, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("from-host\n")
    p = run(dk, "--user", "1000:1000", "--read-only", "--tmpfs", "/scratch", "-v", f"{vol}:/data",
            IMAGE, "sh", "-c", "id -u; cat /data/f; touch /x 2>&1 || echo ro; "
            "touch /scratch/y && echo tmpfs-ok")
    assert p.returncode == 0, p.stderr
    # ("ro" alone would be found in "from-host": the lines are compared.)
    assert p.stdout.splitlines() == ["1000", "from-host", "touch: /x: Read-only file system", "ro",
                                     "tmpfs-ok"]


def freezer_state(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        path = [l.strip().split(":", 2)[2] for l in f if l.split(":")[1] == "freezer"][0]
    with open(f"/sys/fs/cgroup/freezer{path}/freezer.state") as f:
        return f.read().strip()


def test_docker_resources_in_cgroup(dk):
    p = dk("run", "-d", "--runtime", "berth", "--network", "none", "--memory", "64m",
           "--pids-limit", "50", "--cpus", "0.5", IMAGE, "sleep", "1000")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    try:
        # docker's stats read the memory cgroup berth placed the container in
        stats = dk("stats", "--no-stream", "--format", "{{.MemUsage}}", cid)
        assert stats.returncode == 0, stats.stderr
        usage, limit = stats.stdout.strip().split(" / ")
        assert re.fullmatch(r"[0-9.]+(B|KiB|MiB)", usage) and limit == "64MiB", stats.stdout
        e = dk("exec", cid, "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
               "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us")
        assert e.returncode == 0, e.stderr
        assert e.stdout.split() == [str(64 * 1024 * 1024), "50", "50000"]
        top = dk("top", cid)
        assert top.returncode == 0 and "sleep" in top.stdout
        pid = int(dk("inspect", "-f", "{{.State.Pid}}", cid).stdout)
        assert dk("pause", cid).returncode == 0
        assert dk("inspect", "-f", "{{.State.Paused}}", cid).stdout.strip() == "true"
        assert freezer_state(pid) == "FROZEN"  # docker's bookkeeping aside, berth froze it
        assert dk("unpause", cid).returncode == 0
        assert freezer_state(pid) == "THAWED"
        start = time.time()
        assert dk("stop", "-t", "2", cid).returncode == 0  # sleep ignores TERM as pid 1: killed after 2 s
        assert time.time() - start >= 1.5
        assert dk("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip() == "137"
    finally:
        dk("rm", "-f", cid)


def test_docker_exec_logs_kill(dk):
    p = dk("run", "-d", "--runtime", "berth", "--network", "none", IMAGE, "sh", "-c",
           "echo started; trap 'echo got-term; exit 0' TERM; while :; do sleep 0.1; done")
    cid = p.stdout.strip()
    try:
        assert wait_for(lambda: "started" in dk("logs", cid).stdout, timeout=10)
        e = dk("exec", cid, "sh", "-c", "echo in-exec; exit 4")
        assert e.returncode == 4 and "in-exec" in e.stdout
        assert dk("kill", "-s", "TERM", cid).returncode == 0
        assert wait_for(lambda: dk("inspect", "-f", "{{.State.Running}}", cid).stdout.strip() == "false",
                        timeout=10)
        assert "got-term" in dk("logs", cid).stdout
    finally:
        dk("rm", "-f", cid)


def test_docker_run_tty(dk):
    sock = [a for a in dk("version").args if a.startswith("unix://")][0]
    line = f"{DOCKER} -H {sock} run --rm -it --runtime berth --network none {IMAGE} sh -c 'tty; echo TTY-OK'"
    p = subprocess.run(["script", "-qec", line, "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=90)
    assert "TTY-OK" in p.stdout, p.stdout + p.stderr
    assert "/dev/pts/" in p.stdout
