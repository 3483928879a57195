"""podman 4 with `--runtime <berth>`: run, exec, stop, rm. Private storage
(--root/--runroot under the test's tmp dir), cgroupfs manager (no systemd
here), no network.

The settings this host needs: podman's default ulimits (nofile and nproc
1048576) exceed the hard limits here and the runtime lacks CAP_SYS_RESOURCE
to raise them, so containers get `--ulimit nofile=20000:20000 --ulimit
nproc=32768:32768` (or the same in containers.conf `default_ulimits`);
berth otherwise refuses with an error naming the limit (tested below)."""
import pytest

from callers_util import PODMAN, PODMAN_IMAGE as IMAGE, PODMAN_ULIMITS as ULIMITS, Podman
from conftest import BERTH

pytestmark = pytest.mark.skipif(PODMAN is None, reason="podman is not installed")


@pytest.fixture(scope="module")
def pm(tmp_path_factory, base_rootfs):
    p = Podman(tmp_path_factory.mktemp("podman"), base_rootfs, runtime=BERTH)
    yield p.podman
    p.stop()


def test_podman_run(pm):
    p = pm("run", "--rm", *ULIMITS, "--network", "none", IMAGE, "sh", "-c",
           "echo hello-podman; echo $$; grep Seccomp: /proc/self/status; exit 3")
    assert p.returncode == 3, p.stderr
    assert p.stdout.split()[:2] == ["hello-podman", "1"]
    assert "Seccomp:\t2" in p.stdout


def test_podman_default_ulimits_refused_clearly(pm):
    with open("/proc/self/limits") as f:
        hard = [l for l in f if l.startswith("Max open files")][0].split()[4]
    if hard == "unlimited" or int(hard) >= 1048576:
        pytest.skip("this host allows podman's default nofile limit")
    p = pm("run", "--rm", "--network", "none", IMAGE, "true")
    assert p.returncode != 0
    assert "process.rlimits: RLIMIT_NOFILE" in p.stderr and "CAP_SYS_RESOURCE" in p.stderr


def test_podman_exec_stop_rm(pm):
    p = pm("run", "-d", "--name", "berth-pd", *ULIMITS, "--network", "none", IMAGE, "sleep", "1000")
    assert p.returncode == 0, p.stderr
    try:
        e = pm("exec", "berth-pd", "sh", "-c", "echo in-exec; exit 6")
        assert e.returncode == 6 and "in-exec" in e.stdout
        assert pm("stop", "-t", "2", "berth-pd").returncode == 0
        state = pm("inspect", "-f", "{{.State.Status}}", "berth-pd").stdout.strip()
        assert state in ("exited", "stopped")
        assert pm("rm", "berth-pd").returncode == 0
    finally:
        pm("rm", "-f", "berth-pd")
