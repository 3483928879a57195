"""berth-shim under real containerd 1.6: containerd starts it as the runtime
io.containerd.berth.v2 (the binary containerd-shim-berth-v2 on its PATH) and
drives it over ttrpc; berth is the OCI runtime underneath. A private
containerd per module, on its own socket and directories."""
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import BERTH, ROOT, wait_for
from containerd_util import CONTAINERD, IMAGE, Containerd, import_image, make_oci_image

SHIM = os.environ.get("BERTH_SHIM", os.path.join(ROOT, "build", "shim", "berth-shim"))
RUNTIME = "io.containerd.berth.v2"
pytestmark = pytest.mark.skipif(CONTAINERD is None, reason="containerd is not installed")


@pytest.fixture(scope="module")
def ctd(tmp_path_factory, base_rootfs):
    bindir = tmp_path_factory.mktemp("shim-bin")
    os.symlink(SHIM, bindir / "containerd-shim-berth-v2")
    os.symlink(BERTH, bindir / "berth")
    c = Containerd(tmp_path_factory.mktemp("containerd-shim"), base_rootfs, path=str(bindir))
    c.run = lambda cid, *cmd, flags=(): c.ctr("run", *flags, "--runtime", RUNTIME,
                                              "--rootfs", c.rootfs, cid, *cmd)
    yield c
    c.stop()


def shim_pids():
    out = subprocess.run(["pgrep", "-f", f"^{SHIM} "], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    return None


def freezer_state(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.strip().split(":", 2)
            if "freezer" in controllers.split(","):
                with open(f"/sys/fs/cgroup/freezer{path}/freezer.state") as s:
                    return s.read().strip()
    return None


class Events:
    """`ctr events` in the background, collecting topics."""

    def __init__(self, ctd):
        self.proc = subprocess.Popen(["ctr", "--address", ctd.sock, "events"], stdout=subprocess.PIPE,
                                     text=True, env=ctd.env)
        self.lines = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        time.sleep(0.3)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def topics(self, cid):
        return [l.split()[5] for l in self.lines if f'"{cid}"' in l and len(l.split()) > 5]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def shim_sockets():
    d = "/run/containerd/s"
    return {f for f in os.listdir(d) if f.startswith("berth-")} if os.path.isdir(d) else set()


def test_run_rm_output_exit_status_and_cleanup(ctd):
    before = shim_pids()
    sockets_before = shim_sockets()
    p = ctd.run("shim-rm", "sh", "-c", "echo hello-from-shim; echo $$; echo to-stderr >&2; exit 3",
                flags=("--rm",))
    assert p.returncode == 3, p.stderr
    assert p.stdout.split() == ["hello-from-shim", "1"]
    assert "to-stderr" in p.stderr
    assert "shim-rm" not in ctd.ctr("container", "ls", "-q").stdout.split()
    # the shim exits after Delete and Shutdown, and takes its socket with it
    assert wait_for(lambda: shim_pids() <= before, timeout=10)
    assert shim_sockets() <= sockets_before
    bundle = os.path.join(ctd.base, "state", "io.containerd.runtime.v2.task", "default", "shim-rm")
    assert not os.path.exists(bundle)


def test_run_failure_reports_runtime_error(ctd):
    p = ctd.run("shim-missing", "no-such-command", flags=("--rm",))
    assert p.returncode != 0
    assert "no-such-command" in p.stderr and "not found" in p.stderr, p.stderr
    ctd.ctr("container", "delete", "shim-missing")


def test_detached_lifecycle_exec_ps_metrics_pause_events(ctd):
    cid = "shim-d"
    events = Events(ctd)
    try:
        p = ctd.run(cid, "sleep", "1000", flags=("-d",))
        assert p.returncode == 0, p.stderr
        init = ctd.task_pid(cid)
        shim = int(status_field(init, "PPid"))
        # the shim is the container's parent (subreaper) and has exactly one thread
        assert shim in shim_pids()
        assert status_field(shim, "Threads") == "1"
        e = ctd.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo exec-ok; exit 4")
        assert e.returncode == 4 and "exec-ok" in e.stdout, e.stderr
        ps = ctd.ctr("task", "ps", cid)
        assert ps.returncode == 0 and str(init) in ps.stdout, ps.stdout + ps.stderr
        m = ctd.ctr("task", "metrics", cid)
        assert m.returncode == 0, m.stderr
        metrics = dict(l.split()[:2] for l in m.stdout.splitlines() if len(l.split()) >= 2)
        assert metrics.get("pids.current") == "1", m.stdout
        assert ctd.ctr("task", "pause", cid).returncode == 0
        assert "PAUSED" in ctd.ctr("task", "ls").stdout
        assert freezer_state(init) == "FROZEN"
        assert ctd.ctr("task", "resume", cid).returncode == 0
        assert "RUNNING" in ctd.ctr("task", "ls").stdout
        assert ctd.ctr("task", "kill", "-s", "SIGKILL", cid).returncode == 0
        assert wait_for(lambda: "STOPPED" in ctd.ctr("task", "ls").stdout, timeout=10)
        d = ctd.ctr("task", "delete", cid)
        assert d.returncode == 0, d.stderr
        assert wait_for(lambda: shim not in shim_pids(), timeout=10)
        assert wait_for(lambda: "/tasks/delete" in events.topics(cid), timeout=5)
        topics = events.topics(cid)
        for t in ("/tasks/create", "/tasks/start", "/tasks/exec-added", "/tasks/exec-started",
                  "/tasks/paused", "/tasks/resumed", "/tasks/exit", "/tasks/delete"):
            assert t in topics, (t, topics)
        assert topics.index("/tasks/create") < topics.index("/tasks/start") < topics.index("/tasks/delete")
    finally:
        events.stop()
        ctd.cleanup(cid)


def test_tty(ctd):
    line = ctd.ctr_line("run", "--rm", "-t", "--runtime", RUNTIME, "--rootfs", ctd.rootfs,
                        "shim-tty", "sh", "-c", "'test -t 0 && echo TTY-OK; tty; exit 6'")
    p = subprocess.run(["script", "-qec", line, "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60, env=ctd.env)
    assert "TTY-OK" in p.stdout, p.stdout + p.stderr
    assert "/dev/pts/" in p.stdout
    assert p.returncode == 6


def test_exec_tty(ctd):
    cid = "shim-exec-tty"
    assert ctd.run(cid, "sleep", "1000", flags=("-d",)).returncode == 0
    try:
        line = ctd.ctr_line("task", "exec", "-t", "--exec-id", "t1", cid, "sh", "-c",
                            "'test -t 1 && echo EXEC-TTY-OK'")
        p = subprocess.run(["script", "-qec", line, "/dev/null"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60, env=ctd.env)
        assert "EXEC-TTY-OK" in p.stdout, p.stdout + p.stderr
    finally:
        ctd.cleanup(cid)


def test_containers_survive_containerd_restart(ctd):
    cid = "shim-restart"
    assert ctd.run(cid, "sleep", "1000", flags=("-d",)).returncode == 0
    try:
        init = ctd.task_pid(cid)
        shim = int(status_field(init, "PPid"))
        ctd.restart()
        assert os.path.exists(f"/proc/{init}") and shim in shim_pids()
        assert wait_for(lambda: "RUNNING" in ctd.ctr("task", "ls").stdout, timeout=20)
        e = ctd.ctr("task", "exec", "--exec-id", "after-restart", cid, "echo", "still-here")
        assert e.returncode == 0 and "still-here" in e.stdout, e.stderr
    finally:
        ctd.cleanup(cid)


def test_exit_recorded_while_containerd_is_down(ctd):
    cid = "shim-exit-offline"
    assert ctd.run(cid, "sleep", "1000", flags=("-d",)).returncode == 0
    try:
        init = ctd.task_pid(cid)
        ctd.proc.terminate()
        ctd.proc.wait(timeout=20)
        os.kill(init, 9)
        time.sleep(0.5)
        ctd.restart()
        assert wait_for(lambda: "STOPPED" in ctd.ctr("task", "ls").stdout, timeout=20)
        d = ctd.ctr("task", "delete", cid)
        assert d.returncode == 0, d.stderr
        # ctr reports the exit status the shim recorded while nobody listened
        assert "exit code 137" in d.stderr, d.stderr
    finally:
        ctd.cleanup(cid)


def test_image_rootfs_mounted_and_unmounted_by_the_shim(ctd, tmp_path):
    # With an image, Create carries the snapshotter's overlay mount: the shim
    # mounts it on bundle/rootfs, and unmounts it on Delete.
    import_image(ctd, make_oci_image(ctd.rootfs, str(tmp_path)))
    p = ctd.ctr("run", "--rm", "--runtime", RUNTIME, IMAGE, "shim-image", "sh", "-c",
                "grep ' / / ' /proc/self/mountinfo; echo from-image; exit 4")
    assert p.returncode == 4, p.stderr
    assert " - overlay " in p.stdout and "from-image" in p.stdout
    with open("/proc/self/mountinfo") as f:
        assert "shim-image" not in f.read()


def test_dead_shim_is_cleaned_up_by_the_delete_command(ctd):
    # containerd runs `containerd-shim-berth-v2 ... delete` when a shim dies:
    # the container is killed and removed, its rootfs unmounted, nothing left.
    cid = "shim-killed"
    assert ctd.run(cid, "sleep", "1000", flags=("-d",)).returncode == 0
    try:
        init = ctd.task_pid(cid)
        shim = int(status_field(init, "PPid"))
        os.kill(shim, signal.SIGKILL)
        assert wait_for(lambda: not os.path.exists(f"/proc/{init}"), timeout=20)
        assert wait_for(lambda: ctd.task_pid(cid) is None, timeout=20)
        assert not os.path.exists(f"/run/containerd/berth/default/{cid}")
        with open("/proc/self/mountinfo") as f:
            assert f"/{cid}/" not in f.read()
    finally:
        ctd.cleanup(cid)
