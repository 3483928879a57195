"""Regression tests for known runtime attacks: each runs a real container
that tries the attack and asserts that it fails. Plus linux.sysctl."""
import array
import fcntl
import os
import socket
import subprocess
import threading

import pytest

from conftest import BERTH, wait_for
from test_failures import assert_fails_cleanly
from test_seccomp import (NOTIF, NOTIF_RESP, SECCOMP_IOCTL_NOTIF_RECV,
                          SECCOMP_IOCTL_NOTIF_SEND)

SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1


def create_args(berth):
    return lambda cid: ["create", "--bundle", berth.bundle, cid]


def test_sysctl_in_owned_namespaces(berth):
    spec = berth.config()
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234",
                               "net.ipv4.ping_group_range": "0 0"}
    spec["process"]["args"] = ["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1", "1234"]
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read().strip() != "1234"  # the host's is untouched


def test_sysctl_refused_outside_owned_namespaces(berth):
    spec = berth.config()
    spec["linux"]["sysctl"] = {"kernel.panic": "1"}
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "linux.sysctl: kernel.panic: not namespaced")
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "needs a new network namespace")


def test_cve_2019_16884_fake_procfs_is_refused(berth, tmp_path):
    """A bind mount over /proc after procfs: the runtime's writes to /proc
    (sysctl, oom_score_adj) must not land in the fake."""
    fake = tmp_path / "fakeproc"
    (fake / "sys" / "net" / "ipv4").mkdir(parents=True)
    (fake / "sys" / "net" / "ipv4" / "ip_forward").write_text("0\n")
    (fake / "self").mkdir()
    (fake / "self" / "oom_score_adj").write_text("0\n")
    spec = berth.config()
    spec["mounts"].append({"destination": "/proc", "type": "bind", "source": str(fake),
                           "options": ["rbind"]})
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    spec["linux"]["readonlyPaths"] = []
    spec["linux"]["maskedPaths"] = []
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "not on procfs")
    assert (fake / "sys" / "net" / "ipv4" / "ip_forward").read_text() == "0\n"
    spec["linux"]["sysctl"] = {}
    spec["process"]["oomScoreAdj"] = 500
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "not on procfs")
    assert (fake / "self" / "oom_score_adj").read_text() == "0\n"


def test_cve_2019_19921_symlinked_proc_is_refused(berth):
    rootfs = os.path.join(berth.bundle, "rootfs")
    os.rmdir(os.path.join(rootfs, "proc"))
    os.makedirs(os.path.join(rootfs, "evil"))
    os.symlink("/evil", os.path.join(rootfs, "proc"))
    assert_fails_cleanly(berth, create_args(berth),
                         "the destination of a proc mount must not be (or pass through) a symlink")


def test_cve_2023_27561_symlinked_sys_is_refused(berth):
    rootfs = os.path.join(berth.bundle, "rootfs")
    os.rmdir(os.path.join(rootfs, "sys"))
    os.symlink("/tmp", os.path.join(rootfs, "sys"))
    assert_fails_cleanly(berth, create_args(berth), "sysfs mount must not be")


def test_cve_2025_31133_dev_null_replaced_is_refused(berth, tmp_path):
    """Masking binds /dev/null; if the image or a mount replaced it, berth
    must not bind whatever it became over the masked paths."""
    # /dev comes from the image (a bind mount), whose "null" is a plain file.
    devdir = tmp_path / "imagedev"
    devdir.mkdir()
    (devdir / "null").write_text("secret-from-host\n")
    spec = berth.config()
    spec["mounts"] = [m for m in spec["mounts"] if not m["destination"].startswith("/dev")]
    spec["mounts"].append({"destination": "/dev", "type": "bind", "source": str(devdir),
                           "options": ["rbind"]})
    spec["linux"]["maskedPaths"] = ["/proc/cpuinfo"]
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "not the null device")


def test_cve_2024_21626_leaked_fd_cwd(berth):
    for n in range(3, 12):
        spec = berth.config()
        spec["process"]["cwd"] = f"/proc/self/fd/{n}"
        spec["process"]["args"] = ["sh", "-c", "ls /; pwd"]
        berth.write_config(spec)
        p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
        assert p.returncode != 0, (n, p.stdout)
        assert "process.cwd" in p.stderr, p.stderr


def test_cve_2024_45310_destinations_never_created_outside(berth, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    rootfs = os.path.join(berth.bundle, "rootfs")
    os.symlink(str(outside), os.path.join(rootfs, "abs-link"))
    os.symlink("../../../../../../.." + str(outside), os.path.join(rootfs, "rel-link"))
    spec = berth.config()
    spec["mounts"] += [
        {"destination": "/abs-link/a/b", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/rel-link/c", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/abs-link/file", "type": "bind", "source": "/etc/hostname", "options": ["bind"]},
    ]
    spec["process"]["args"] = ["true"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert list(outside.iterdir()) == []


def test_cve_2019_5736_runtime_binary_not_executed_in_container(berth):
    rootfs = os.path.join(berth.bundle, "rootfs")
    with open(os.path.join(rootfs, "evil.sh"), "w") as f:
        f.write("#!/proc/self/exe\n")
    os.chmod(os.path.join(rootfs, "evil.sh"), 0o755)
    with open(os.path.join(rootfs, "evil2.sh"), "w") as f:
        f.write("#!/evil.sh\n")
    os.chmod(os.path.join(rootfs, "evil2.sh"), 0o755)
    for entry in (["/evil.sh"], ["/evil2.sh"], ["/proc/self/exe"]):
        spec = berth.config()
        spec["process"]["args"] = entry
        berth.write_config(spec)
        msg = assert_fails_cleanly(berth, create_args(berth), "CVE-2019-5736")
        assert "runtime's own binary" in msg


def probe_as_container_root(pid):
    """Tries what the container's root could do to process `pid`: uid 0,
    no CAP_SYS_PTRACE (the default config's capabilities are a subset of
    what is left). The kernel then lets it read another uid-0 process's
    fds and root only if that process is dumpable. Returns the failures."""
    denied = []
    for path in (f"/proc/{pid}/fd/0", f"/proc/{pid}/root"):
        p = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-sys_ptrace", "--",
                            "readlink", path], capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            denied.append(path)
    return denied


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class ExecveWatcher:
    """A seccomp agent for a profile that notifies execve: it stops every
    container process at the execve that ends the runtime's part, probes it,
    then lets the execve continue."""

    def __init__(self, path):
        self.probes = []  # (pid, exe, Uid, CapEff, denied paths)
        self.errors = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            fds = array.array("i")
            with conn:
                _, anc, _, _ = conn.recvmsg(65536, socket.CMSG_LEN(fds.itemsize))
                for level, kind, payload in anc:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        fds.frombytes(payload[:fds.itemsize])
            with os.fdopen(fds[0], "rb", buffering=0) as notify:
                while True:
                    buf = bytearray(NOTIF.size)
                    try:
                        fcntl.ioctl(notify, SECCOMP_IOCTL_NOTIF_RECV, buf)
                    except OSError:
                        return  # the filter's last user is gone
                    notif_id, pid = NOTIF.unpack(buf)[:2]
                    self._probe(pid)
                    resp = bytearray(NOTIF_RESP.pack(notif_id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE))
                    try:
                        fcntl.ioctl(notify, SECCOMP_IOCTL_NOTIF_SEND, resp)
                    except OSError:
                        pass
        except Exception as e:  # reported by the test
            self.errors.append(e)

    def _probe(self, pid):
        status = status_fields(pid)
        self.probes.append((pid, os.readlink(f"/proc/{pid}/exe"), status["Uid"], status["CapEff"],
                            probe_as_container_root(pid)))

    def close(self):
        try:
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()


def test_cve_2016_9962_runtime_not_dumpable_in_container(berth, tmp_path):
    """Between entering the container and execve, the init and an `exec`'s
    process are the runtime with its fds (sync socket, log, ...), as root
    of the container with its capabilities: no process of the container
    may ptrace them or read their /proc/<pid>/fd/* and /proc/<pid>/root.
    (As root: a switch to another uid makes the kernel itself clear
    dumpability, so only uid 0 shows whether the runtime does.)"""
    path = str(tmp_path / "agent.sock")
    watcher = ExecveWatcher(path)
    try:
        spec = berth.config()
        spec["process"]["args"] = ["sleep", "1000"]
        spec["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
            "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_NOTIFY"}]}
        berth.write_config(spec)
        cid = berth.new_id()
        berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
        init = berth.state(cid)["pid"]
        # The init's execve of sleep, then the exec's of true.
        assert wait_for(lambda: len(watcher.probes) == 1)
        assert watcher.probes[0][0] == init
        p = berth.run("exec", cid, "true")
        assert p.returncode == 0, p.stderr
        assert len(watcher.probes) == 2, watcher.probes
        # The control: the probe reaches a dumpable process with the same
        # uid and capabilities (the init, now that it runs `sleep`).
        assert status_fields(init)["CapEff"] == watcher.probes[0][3]
        assert probe_as_container_root(init) == []
        berth.run("delete", "--force", cid, check=True)
    finally:
        watcher.close()
    assert not watcher.errors, watcher.errors
    runtime = os.path.realpath(BERTH)
    for pid, exe, uid, cap_eff, denied in watcher.probes:
        assert exe == runtime and uid.split() == ["0"] * 4
        assert int(cap_eff, 16) & (1 << 19) == 0  # CAP_SYS_PTRACE
        assert denied == [f"/proc/{pid}/fd/0", f"/proc/{pid}/root"]


@pytest.mark.parametrize("replace, expected", [
    ("ln -s ../evil", "/dev/console contains a symlink"),
    ("mkdir", "/dev/console was replaced before the terminal was bound to it"),
])
def test_cve_2025_52565_console_replaced_before_bind_is_refused(berth, tmp_path, replace,
                                                               expected):
    """CVE-2025-52565: the terminal is bound onto the /dev/console berth
    created, never onto whatever the path names by then. A createContainer
    hook (run between the two, in the container's mount namespace) swaps it
    for a symlink or a directory: create must refuse. (That /dev/console is
    the pty otherwise is test_container's test_terminal_over_console_socket.)"""
    rootfs = os.path.join(berth.bundle, "rootfs")
    with open(os.path.join(rootfs, "evil"), "w") as f:
        f.write("untouched\n")
    console = os.path.join(rootfs, "dev", "console")
    spec = berth.config()
    spec["process"]["terminal"] = True
    spec["hooks"] = {"createContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"rm {console} && {replace} {console}"]}]}
    berth.write_config(spec)
    sock = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock)
    server.listen(1)
    try:
        assert_fails_cleanly(
            berth, lambda cid: ["create", "--bundle", berth.bundle, "--console-socket", sock, cid],
            expected)
    finally:
        server.close()
    with open(os.path.join(rootfs, "evil")) as f:
        assert f.read() == "untouched\n"
