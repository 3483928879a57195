"""containerd 1.6 drives berth unchanged: its own runc shim
(containerd-shim-runc-v2) with `ctr run --runc-binary <berth>`. The test
starts a private containerd (own socket, root and state directories) and
stops it afterwards."""
import os
import subprocess

import pytest

from conftest import BERTH, wait_for
from containerd_util import CONTAINERD, IMAGE, Containerd, import_image, make_oci_image
pytestmark = pytest.mark.skipif(CONTAINERD is None, reason="containerd is not installed")


@pytest.fixture(scope="module")
def ctd(tmp_path_factory, base_rootfs):
    c = Containerd(tmp_path_factory.mktemp("containerd"), base_rootfs)
    c.run = lambda cid, *cmd, flags=(): c.ctr("run", *flags, "--runc-binary", BERTH,
                                              "--rootfs", c.rootfs, cid, *cmd)
    yield c
    c.stop()


def test_ctr_run_rm(ctd):
    p = ctd.run("ctd-rm", "sh", "-c", "echo hello-from-berth; echo $$; ls /proc/self/fd; true",
                flags=("--rm",))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    assert lines[0] == "hello-from-berth" and lines[1] == "1"
    assert ctd.ctr("container", "ls", "-q").stdout.split().count("ctd-rm") == 0


def test_ctr_run_exit_status_and_failure(ctd):
    p = ctd.run("ctd-exit", "sh", "-c", "exit 5", flags=("--rm",))
    assert p.returncode == 5
    p = ctd.run("ctd-missing", "no-such-command", flags=("--rm",))
    assert p.returncode != 0
    # containerd shows berth's json log line to the user
    assert "executable file not found" in p.stderr
    ctd.ctr("container", "delete", "ctd-missing")


def test_ctr_detached_exec_ps_pause_kill(ctd):
    cid = "ctd-d"
    p = ctd.run(cid, "sleep", "1000", flags=("-d",))
    assert p.returncode == 0, p.stderr
    try:
        tasks = ctd.ctr("task", "ls").stdout
        assert cid in tasks and "RUNNING" in tasks
        e = ctd.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo exec-ok; exit 3")
        assert e.returncode == 3 and "exec-ok" in e.stdout
        ps = ctd.ctr("task", "ps", cid)
        assert ps.returncode == 0 and "PID" in ps.stdout
        m = ctd.ctr("task", "metrics", cid)
        assert m.returncode == 0 and "pids.current" in m.stdout
        assert ctd.ctr("task", "pause", cid).returncode == 0
        assert "PAUSED" in ctd.ctr("task", "ls").stdout
        assert ctd.ctr("task", "resume", cid).returncode == 0
        assert "RUNNING" in ctd.ctr("task", "ls").stdout
        assert ctd.ctr("task", "kill", "-s", "SIGKILL", cid).returncode == 0
        assert wait_for(lambda: "STOPPED" in ctd.ctr("task", "ls").stdout, timeout=10)
        assert ctd.ctr("task", "delete", cid).returncode == 0
    finally:
        ctd.cleanup(cid)


def test_ctr_run_tty(ctd):
    line = ctd.ctr_line("run", "--rm", "-t", "--runc-binary", BERTH, "--rootfs", ctd.rootfs,
                        "ctd-tty", "sh", "-c", "'test -t 0 && echo TTY-OK; tty'")
    p = subprocess.run(["script", "-qec", line, "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert "TTY-OK" in p.stdout, p.stdout + p.stderr
    assert "/dev/pts/" in p.stdout


def test_containers_survive_containerd_restart(ctd):
    cid = "ctd-restart"
    assert ctd.run(cid, "sleep", "1000", flags=("-d",)).returncode == 0
    try:
        pid = ctd.task_pid(cid)
        ctd.restart()
        assert os.path.exists(f"/proc/{pid}")
        assert wait_for(lambda: "RUNNING" in ctd.ctr("task", "ls").stdout, timeout=20)
        e = ctd.ctr("task", "exec", "--exec-id", "after-restart", cid, "true")
        assert e.returncode == 0, e.stderr
    finally:
        ctd.cleanup(cid)


def test_image_import_of_an_oci_layout_and_run(ctd, tmp_path):
    # umoci makes the OCI layout; ctr imports it; the snapshotter's overlay
    # becomes the rootfs containerd's runc shim mounts for berth
    import_image(ctd, make_oci_image(ctd.rootfs, str(tmp_path)))
    p = ctd.ctr("run", "--rm", "--runc-binary", BERTH, IMAGE, "ctd-image", "sh", "-c",
                "grep ' / / ' /proc/self/mountinfo; echo from-image")
    assert p.returncode == 0, p.stderr
    assert " - overlay " in p.stdout and "from-image" in p.stdout
