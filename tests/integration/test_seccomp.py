"""linux.seccomp: filters built from the config and enforced by the kernel,
the notify fd handed to an agent at listenerPath, Docker's default profile."""
import array
import errno
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "fixtures"))
import docker_seccomp  # noqa: E402
from test_failures import assert_exec_fails_cleanly, assert_fails_cleanly  # noqa: E402

ALL_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
            "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
            "CAP_SYS_ADMIN"]


def with_seccomp(berth, seccomp, args, nnp=True):
    spec = berth.config()
    spec["linux"]["seccomp"] = seccomp
    spec["process"]["noNewPrivileges"] = nnp
    spec["process"]["args"] = list(args)
    berth.write_config(spec)
    return spec


def run(berth, seccomp, script, nnp=True):
    with_seccomp(berth, seccomp, ["sh", "-c", script], nnp)
    return berth.run("run", "--bundle", berth.bundle, berth.new_id())


def run_ok(berth, seccomp, script, nnp=True):
    p = run(berth, seccomp, script, nnp)
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr}"
    return p.stdout


def allow_but(*rules, **extra):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules), **extra}


MKDIR_ENOSYS = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS}


@pytest.mark.parametrize("nnp", [True, False])
def test_filter_is_installed_once(berth, nnp):
    out = run_ok(berth, allow_but(MKDIR_ENOSYS), "grep Seccomp /proc/self/status", nnp)
    assert out.split() == ["Seccomp:", "2", "Seccomp_filters:", "1"]


@pytest.mark.parametrize("nnp", [True, False])
def test_blocked_syscall_returns_errno_ret(berth, nnp):
    p = run(berth, allow_but(MKDIR_ENOSYS), "mkdir /dev/shm/d; echo rc=$?; touch /dev/shm/f && echo touched",
            nnp)
    assert p.returncode == 0, p.stderr
    assert "Function not implemented" in p.stderr
    assert p.stdout.split() == ["rc=1", "touched"]


def test_errno_ret_defaults_to_eperm(berth):
    rule = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
    p = run(berth, allow_but(rule), "mkdir /dev/shm/d")
    assert p.returncode == 1 and "Operation not permitted" in p.stderr


def test_default_errno_ret(berth):
    """Docker's profile denies unlisted syscalls; defaultErrnoRet picks the errno."""
    if not docker_seccomp.available():
        pytest.skip(f"{docker_seccomp.PROFILE} missing (golang-github-docker-docker-dev)")
    profile = docker_seccomp.oci_profile()
    profile["defaultErrnoRet"] = errno.EOPNOTSUPP
    p = run(berth, profile, "unshare -m true")
    assert p.returncode != 0 and "Operation not supported" in p.stderr, p.stderr


def test_argument_conditions(berth):
    # linux32 calls personality(PER_LINUX32 = 8), linux64 personality(PER_LINUX = 0).
    eq = {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES,
          "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
    script = "linux32 true; echo $?; linux64 true; echo $?"
    assert run_ok(berth, allow_but(eq), script).split() == ["1", "0"]
    masked = dict(eq, args=[{"index": 0, "value": 0xff, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}])
    assert run_ok(berth, allow_but(masked), script).split() == ["1", "0"]
    # Two conditions on one argument cannot both hold: as with runc, either blocks.
    either = dict(eq, args=[{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}])
    assert run_ok(berth, allow_but(either), script).split() == ["1", "1"]
    p = run(berth, allow_but(eq), "linux32 true")
    assert "Permission denied" in p.stderr


def test_kill_process_is_sigsys(berth):
    rule = {"names": ["sync"], "action": "SCMP_ACT_KILL_PROCESS"}
    # A child of the shell dies of SIGSYS...
    p = run(berth, allow_but(rule), "sync; echo $?")
    assert p.stdout.split() == [str(128 + 31)] and "Bad system call" in p.stderr
    # ...and so does the container's process itself.
    with_seccomp(berth, allow_but(rule), ["sync"])
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 128 + 31, p.stderr


def test_unknown_syscall_names_are_skipped(berth, tmp_path):
    rule = dict(MKDIR_ENOSYS, names=["mkdir", "mkdirat", "no_such_syscall"])
    with_seccomp(berth, allow_but(rule), ["sh", "-c", "mkdir /dev/shm/d"])
    log = tmp_path / "log.json"
    p = berth.run("--debug", "--log", str(log), "--log-format", "json", "run", "--bundle",
                  berth.bundle, berth.new_id())
    assert p.returncode == 1 and "Function not implemented" in p.stderr
    assert 'unknown syscall \\"no_such_syscall\\" skipped' in log.read_text()


def kernel_log_mentions(comm):
    out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    return f'comm="{comm}"' in out


def test_flags(berth):
    """SECCOMP_FILTER_FLAG_LOG makes the kernel audit-log an errno action."""
    rootfs = os.path.join(berth.bundle, "rootfs")
    # A unique comm of 15 characters; busybox runs "busybox*" as itself.
    tag = "busybox" + os.urandom(4).hex()[:7]
    os.symlink("/bin/busybox", os.path.join(rootfs, "bin", tag + "a"))
    os.symlink("/bin/busybox", os.path.join(rootfs, "bin", tag + "b"))
    rule = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
    flags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC",
             "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    out = run_ok(berth, allow_but(rule, flags=flags),
                 f"{tag}a mkdir /dev/shm/d 2>/dev/null; echo $?; grep Seccomp: /proc/self/status")
    assert out.split() == ["1", "Seccomp:", "2"]
    run_ok(berth, allow_but(rule), f"{tag}b mkdir /dev/shm/d 2>/dev/null; true")
    assert kernel_log_mentions(f"{tag}a")
    assert not kernel_log_mentions(f"{tag}b")


# ---- SCMP_ACT_NOTIFY ----

# struct seccomp_notif (80 bytes) and seccomp_notif_resp (24 bytes).
NOTIF = struct.Struct("=QII iIQ6Q")
NOTIF_RESP = struct.Struct("=QqiI")
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101


class Agent:
    """A seccomp agent on a unix socket: receives the container process
    state and the notify fd of `connections` processes (the init, then
    exec'd ones), then answers every notification with `reply` (an errno),
    or closes the fd at once when reply is None."""

    def __init__(self, path, reply, connections=1):
        self.path = path
        self.reply = reply
        self.connections = connections
        self.states = []
        self.fd_links = []
        self.syscalls = []
        self.error = None
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(connections)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def state(self):
        return self.states[0] if self.states else None

    @property
    def fd_link(self):
        return self.fd_links[0] if self.fd_links else None

    def _receive(self):
        conn, _ = self.server.accept()
        with conn:
            fds = array.array("i")
            data, anc, _, _ = conn.recvmsg(65536, socket.CMSG_LEN(fds.itemsize))
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[:fds.itemsize])
            while True:  # the payload may come in more than one piece
                more = conn.recv(65536)
                if not more:
                    break
                data += more
        state = json.loads(data)
        fd = fds[0]
        self.fd_links.append(os.readlink(f"/proc/self/fd/{fd}"))
        with open(f"/proc/{state['pid']}/status") as f:
            state["nspid"] = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
        self.states.append(state)
        return fd

    @property
    def init_nspid(self):
        return self.state["nspid"] if self.state else None

    def _serve(self):
        answering = []
        try:
            for _ in range(self.connections):
                fd = self._receive()
                if self.reply is None:
                    os.close(fd)
                    continue
                t = threading.Thread(target=self._answer, args=(fd,), daemon=True)
                t.start()
                answering.append(t)
        except Exception as e:  # reported by the test
            self.error = e
        for t in answering:
            t.join()

    def _answer(self, fd):
        with os.fdopen(fd, "rb", buffering=0) as notify:
            while True:
                buf = bytearray(NOTIF.size)
                try:
                    fcntl.ioctl(notify, SECCOMP_IOCTL_NOTIF_RECV, buf)
                except OSError:
                    return  # ENOENT: the filter's last user is gone
                fields = NOTIF.unpack(buf)
                self.syscalls.append(fields[3])
                resp = bytearray(NOTIF_RESP.pack(fields[0], 0, -self.reply, 0))
                try:
                    fcntl.ioctl(notify, SECCOMP_IOCTL_NOTIF_SEND, resp)
                except OSError:
                    pass  # the caller was killed meanwhile

    def stop_listening(self):
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes an accept() still waiting
        except OSError:
            pass
        self.server.close()

    def close(self):
        self.stop_listening()
        self.thread.join(timeout=10)


def notify_profile(path, **extra):
    rule = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}
    return allow_but(rule, listenerPath=path, **extra)


@pytest.mark.parametrize("nnp", [True, False])
def test_notify_fd_goes_to_the_listener(berth, tmp_path, nnp):
    path = str(tmp_path / "agent.sock")
    agent = Agent(path, reply=errno.ENOMEDIUM)
    try:
        spec = with_seccomp(berth, notify_profile(path, listenerMetadata="MKDIR=/dev/shm"),
                            ["sh", "-c", "mkdir /dev/shm/d; echo rc=$?; touch /dev/shm/f && echo ok; "
                                         "readlink /proc/1/fd/* | grep -c seccomp; true"], nnp)
        spec["annotations"] = {"org.example.key": "value"}
        berth.write_config(spec)
        cid = berth.new_id()
        p = berth.run("run", "--bundle", berth.bundle, cid)
    finally:
        agent.close()
    assert p.returncode == 0, p.stderr
    assert agent.error is None, agent.error
    # The agent's errno came back to the container's mkdir.
    assert "No medium found" in p.stderr
    # The notify fd went to the agent only: none is left in the container.
    assert p.stdout.split() == ["rc=1", "ok", "0"]
    assert agent.syscalls and set(agent.syscalls) <= {83, 258}  # mkdir, mkdirat on x86_64
    assert agent.fd_link == "anon_inode:seccomp notify"
    s = agent.state
    assert s["ociVersion"] == spec["ociVersion"]
    assert s["fds"] == ["seccompFd"]
    assert s["metadata"] == "MKDIR=/dev/shm"
    # pid is the host's view of the container's init (pid 1 inside).
    assert isinstance(s["pid"], int) and agent.init_nspid == [str(s["pid"]), "1"]
    st = s["state"]
    assert st["id"] == cid and st["status"] == "creating" and st["pid"] == s["pid"]
    assert st["bundle"] == os.path.realpath(berth.bundle)
    assert st["ociVersion"] == spec["ociVersion"]
    assert st["annotations"] == {"org.example.key": "value"}


def test_exec_notify_fd_goes_to_the_listener(berth, tmp_path):
    """An exec'd process gets its own filter and notify fd; the agent gets
    the container's state with it, as runc sends it: status "running" and
    the init's pid (not the new process's)."""
    path = str(tmp_path / "agent.sock")
    agent = Agent(path, reply=errno.ENOMEDIUM, connections=2)
    try:
        spec = with_seccomp(berth, notify_profile(path, listenerMetadata="exec-meta"),
                            ["sleep", "1000"])
        cid = berth.new_id()
        berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
        init = berth.state(cid)["pid"]
        p = berth.run("exec", cid, "sh", "-c", "mkdir /dev/shm/e; echo rc=$? pid=$$")
        assert p.returncode == 0, p.stderr
        berth.run("delete", "--force", cid, check=True)
    finally:
        agent.close()
    assert agent.error is None, agent.error
    assert "No medium found" in p.stderr  # the exec's mkdir went to the agent
    assert p.stdout.split()[0] == "rc=1" and p.stdout.split()[1] != "pid=1"
    assert len(agent.states) == 2, agent.states
    assert agent.fd_links == ["anon_inode:seccomp notify"] * 2
    created, executed = agent.states
    assert created["state"]["status"] == "creating" and created["pid"] == init
    assert executed["pid"] == init and executed["nspid"] == [str(init), "1"]
    assert executed["fds"] == ["seccompFd"] and executed["metadata"] == "exec-meta"
    st = executed["state"]
    assert st["status"] == "running" and st["pid"] == init and st["id"] == cid
    assert st["bundle"] == os.path.realpath(berth.bundle)
    assert st["ociVersion"] == spec["ociVersion"]


def test_exec_listener_gone(berth, tmp_path):
    """The agent took the init's fd, then went away: exec fails, and leaves
    neither its process nor anything else behind."""
    path = str(tmp_path / "agent.sock")
    agent = Agent(path, reply=errno.ENOMEDIUM)
    try:
        with_seccomp(berth, notify_profile(path), ["sleep", "1000"])
        cid = berth.new_id()
        berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
        agent.stop_listening()
        assert_exec_fails_cleanly(berth, cid, [cid, "true"],
                                  f"linux.seccomp.listenerPath: connect to {path}")
        assert berth.state(cid)["status"] == "running"
        berth.run("delete", "--force", cid, check=True)
    finally:
        agent.close()
    assert agent.error is None, agent.error
    assert len(agent.states) == 1


def test_notify_without_agent_answer_is_enosys(berth, tmp_path):
    """An agent that closes the fd: notified syscalls fail with ENOSYS."""
    path = str(tmp_path / "agent.sock")
    agent = Agent(path, reply=None)
    try:
        flags = ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"]
        p = run(berth, notify_profile(path, flags=flags), "mkdir /dev/shm/d")
    finally:
        agent.close()
    assert p.returncode == 1 and "Function not implemented" in p.stderr, p.stderr
    assert agent.error is None, agent.error
    assert agent.fd_link == "anon_inode:seccomp notify"


def test_notify_listener_unreachable(berth, tmp_path):
    """Found out after the init has loaded its filter: it and its cgroups
    must go."""
    path = str(tmp_path / "nobody.sock")
    with_seccomp(berth, notify_profile(path), ["true"])
    assert_fails_cleanly(berth, lambda cid: ["run", "--bundle", berth.bundle, cid],
                         f"linux.seccomp.listenerPath: connect to {path}")


# ---- errors name the field ----

@pytest.mark.parametrize("seccomp, message", [
    ({"defaultAction": "SCMP_ACT_FOO"}, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"'),
    (allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
               {"names": ["rmdir"], "action": "SCMP_ACT_BAR"}),
     'linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_BAR"'),
    (allow_but(architectures=["SCMP_ARCH_Z80"]),
     'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_Z80"'),
    (allow_but({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}),
     "linux.seccomp.listenerPath: is required when an action is SCMP_ACT_NOTIFY"),
    (allow_but({"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}, listenerPath="/x.sock"),
     "linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg"),
    (allow_but({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}),
     "linux.seccomp.syscalls[0].errnoRet: 70000 does not fit in 16 bits"),
])
def test_invalid_profile_is_refused(berth, seccomp, message):
    """Refused by the parser: one clear line, and nothing was created."""
    with_seccomp(berth, seccomp, ["true"])
    assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid], message)


# ---- Docker's default profile ----

def docker_profile():
    if not docker_seccomp.available():
        pytest.skip(f"{docker_seccomp.PROFILE} missing (golang-github-docker-docker-dev)")
    return docker_seccomp.oci_profile()


def give_all_caps(berth):
    """CAP_SYS_ADMIN in every set: what the profile blocks is then seccomp's
    doing, not a missing capability."""
    spec = berth.config()
    spec["process"]["capabilities"] = {k: list(ALL_CAPS) for k in
                                       ("bounding", "effective", "permitted")}
    berth.write_config(spec)


BUSYBOX_WORKLOAD = ("ls / >/dev/null && cat /etc/passwd | grep -c root && "
                    "echo hi > /dev/shm/f && sort /dev/shm/f && ps >/dev/null && sleep 0 && "
                    "wc -l /proc/self/status >/dev/null && date >/dev/null && "
                    "(echo sub | cat) && id -u")


@pytest.mark.parametrize("nnp", [False, True])
def test_docker_default_profile(berth, nnp):
    profile = docker_profile()
    assert sum(len(r["names"]) for r in profile["syscalls"]) > 300
    give_all_caps(berth)
    script = BUSYBOX_WORKLOAD + "; unshare -m true; echo unshare=$?; mount -t tmpfs t /tmp; echo mount=$?"
    # Without the profile the process may unshare and mount (it has CAP_SYS_ADMIN).
    spec = berth.config()
    spec["process"]["args"] = ["sh", "-c", script]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[-2:] == ["unshare=0", "mount=0"], p.stdout
    # With it, busybox works as before and both are refused with EPERM.
    p = run(berth, profile, script, nnp)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1", "hi", "sub", "0", "unshare=1", "mount=1"], p.stdout
    assert "unshare(0x20000): Operation not permitted" in p.stderr
    assert "mount: permission denied" in p.stderr
