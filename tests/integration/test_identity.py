"""Namespaces and identity as runc and crun give them: a hostname set in a
joined uts namespace, stdio that the container's user may reopen, exec'd
processes that lead their own session, hostname sysctls that cannot
contradict the hostname fields, linux.devices entries in any spelling and
in user namespaces."""
import json
import os
import shutil
import subprocess
import threading

import pytest

from conftest import BERTH, bundle_fixture
from test_userns import USER, open_path_to, unprivileged_user, with_userns  # noqa: F401


NO_CAPS = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}


def set_process(berth, args, **process):
    spec = berth.config()
    spec["process"]["args"] = list(args)
    spec["process"].update(process)
    berth.write_config(spec)
    return spec


# ---- a uts namespace joined by path ----

@pytest.fixture
def uts_holder():
    """A process in a uts namespace of its own, whose /proc path names it."""
    p = subprocess.Popen(["unshare", "--uts", "sleep", "300"])
    try:
        ns = f"/proc/{p.pid}/ns/uts"
        for _ in range(100):
            if os.readlink(ns) != os.readlink("/proc/self/ns/uts"):
                break
            subprocess.run(["sleep", "0.02"])
        yield p.pid
    finally:
        p.kill()
        p.wait()


def hostname_in(pid):
    return subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_hostname_is_set_in_a_joined_uts_namespace(berth, uts_holder):
    before = open("/proc/sys/kernel/hostname").read().strip()
    spec = berth.config()
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"] if ns["type"] != "uts"]
    spec["linux"]["namespaces"].append({"type": "uts", "path": f"/proc/{uts_holder}/ns/uts"})
    spec["hostname"] = "joined-host"
    spec["domainname"] = "joined.example"
    spec["process"]["args"] = ["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["joined-host", "joined.example"]
    assert hostname_in(uts_holder) == "joined-host"
    assert open("/proc/sys/kernel/hostname").read().strip() == before


def test_joining_a_mount_namespace_by_path_is_refused_precisely(berth):
    spec = berth.config()
    for ns in spec["linux"]["namespaces"]:
        if ns["type"] == "mount":
            ns["path"] = "/proc/1/ns/mnt"
    berth.write_config(spec)
    p = berth.run("create", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 1
    assert ("linux.namespaces: joining an existing mount namespace by path is not supported"
            in p.stderr), p.stderr
    assert os.listdir(berth.root) == [] if os.path.isdir(berth.root) else True


# ---- stdio belongs to process.user ----

# stat first: it writes through fd 1 at its own offset, the appends after.
REOPEN_STDIO = ("stat -L -c %u:%g /proc/self/fd/1 && echo out >>/dev/stdout && "
                "echo err >>/dev/stderr")


def test_stdio_files_are_chowned_to_the_user(berth):
    """A container as uid 1000 without capabilities reopens its stdout and
    stderr (files of root's, mode 0600) through /dev/stdout and /dev/stderr."""
    set_process(berth, ["sh", "-c", REOPEN_STDIO], user={"uid": 1000, "gid": 1001},
                capabilities=dict(NO_CAPS))
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1000:1001", "out"]
    assert p.stderr == "err\n"


def test_stdio_pipes_are_chowned_to_the_user(berth):
    set_process(berth, ["sh", "-c", REOPEN_STDIO], user={"uid": 1000, "gid": 1000},
                capabilities=dict(NO_CAPS))
    p = subprocess.run(berth.cmd("run", "--bundle", berth.bundle, berth.new_id()),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1000:1000", "out"]
    assert p.stderr == "err\n"


def test_exec_stdio_is_chowned_to_the_user(berth):
    set_process(berth, ["sleep", "1000"])
    cid = berth.new_id()
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    try:
        p = berth.run("exec", "--user", "1000:1000", cid, "sh", "-c", REOPEN_STDIO)
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == ["1000:1000", "out"]
    finally:
        berth.run("delete", "--force", cid, check=True)


def test_dev_null_stdin_is_not_chowned(berth):
    """/dev/null (a device, like a terminal) is never given away."""
    set_process(berth, ["true"], user={"uid": 1000, "gid": 1000}, capabilities=dict(NO_CAPS))
    before = os.stat("/dev/null")
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())  # stdin is /dev/null
    assert p.returncode == 0, p.stderr
    after = os.stat("/dev/null")
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid) == (0, 0)


# ---- exec'd processes lead a session ----

SESSION = 'read -r pid comm state ppid pgrp sid rest </proc/$$/stat; echo $$ $pgrp $sid'


def test_exec_process_is_session_and_group_leader(berth):
    set_process(berth, ["sleep", "1000"])
    cid = berth.new_id()
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    try:
        p = berth.run("exec", cid, "sh", "-c", SESSION)
        assert p.returncode == 0, p.stderr
        pid, pgrp, sid = p.stdout.split()
        assert pid != "1" and pgrp == pid and sid == pid, p.stdout
        # Detached too.
        p = berth.run("exec", "-d", cid, "sh", "-c", SESSION + " >/proc/1/fd/1")
        assert p.returncode == 0, p.stderr
    finally:
        berth.run("delete", "--force", cid, check=True)


def test_init_is_session_and_group_leader(berth):
    set_process(berth, ["sh", "-c", SESSION])
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1", "1", "1"]


# ---- hostname sysctls ----

@pytest.mark.parametrize("field, key", [("hostname", "kernel.hostname"),
                                        ("domainname", "kernel.domainname")])
def test_sysctl_conflicting_with_hostname_is_refused(berth, field, key):
    spec = berth.config()
    spec[field] = "from-field"
    spec["linux"]["sysctl"] = {key: "from-sysctl"}
    berth.write_config(spec)
    p = berth.run("create", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 1
    assert f"linux.sysctl: {key}" in p.stderr and field in p.stderr.replace(key, ""), p.stderr
    assert "from-field" in p.stderr and "from-sysctl" in p.stderr, p.stderr


def test_sysctl_agreeing_with_hostname_is_fine(berth):
    spec = berth.config()
    spec["hostname"] = "same"
    spec["linux"]["sysctl"] = {"kernel.hostname": "same"}
    spec["process"]["args"] = ["hostname"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "same"


# ---- linux.devices ----

NULL_ALIKE = {"type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0}
CHECK_NODE = "stat -c '%t:%T %a' {0} && echo data >{0} && echo wrote"


def test_device_path_with_trailing_slash(berth):
    spec = berth.config()
    spec["linux"]["devices"] = [dict(NULL_ALIKE, path="/mnt/")]
    spec["process"]["args"] = ["sh", "-c", CHECK_NODE.format("/mnt")]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1:3", "666", "wrote"]



def test_hostname_in_the_runtimes_own_uts_namespace_is_refused(berth):
    before = open("/proc/sys/kernel/hostname").read().strip()
    spec = berth.config()
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"] if ns["type"] != "uts"]
    spec["linux"]["namespaces"].append({"type": "uts", "path": "/proc/self/ns/uts"})
    spec["hostname"] = "not-the-host"
    berth.write_config(spec)
    p = berth.run("create", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 1
    assert "hostname: the uts namespace in linux.namespaces is the runtime's own" in p.stderr
    assert open("/proc/sys/kernel/hostname").read().strip() == before


def test_device_missing_on_the_host_in_a_user_namespace(berth):
    """mknod is not allowed in a user namespace; the host has no such node
    to bind: berth makes one before the init enters the namespace."""
    path = "/dev/berth-test-null"
    assert not os.path.exists(path)
    open_path_to(berth.bundle + "/rootfs")
    subprocess.run(["chown", "-R", "-h", "100000:100000", berth.bundle + "/rootfs"], check=True)
    spec = with_userns(berth.config())
    spec["linux"]["devices"] = [dict(NULL_ALIKE, path=path, uid=5, gid=6)]
    spec["process"]["args"] = ["sh", "-c", CHECK_NODE.format(path) + f"; stat -c %u:%g {path}; "
                               "grep -c berth-devices /proc/self/mountinfo; ls -a /dev | grep -c berth"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    # Owned by the container's 5:6 (host 100005:100006), with its mode; no
    # trace of the staging tmpfs.
    assert p.stdout.split() == ["1:3", "666", "wrote", "5:6", "0", "1"]
    assert not os.path.exists(path)



def test_device_impossible_in_a_user_namespace_names_the_entry(unprivileged_user, tmp_path):
    """Rootless: nothing can be made before the user namespace either, and
    the host has no such node: the error names the entry."""
    pw = unprivileged_user
    home = tmp_path / "rootless"
    home.mkdir()
    open_path_to(home / "x")
    bundle = home / "bundle"
    runtime_dir = home / "xdg"
    runtime_dir.mkdir()
    bundle_fixture.make_rootfs(str(bundle / "rootfs"))
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(home)], check=True)
    as_user = ["runuser", "-u", USER, "--", "env", f"XDG_RUNTIME_DIR={runtime_dir}"]
    subprocess.run(as_user + [BERTH, "spec", "--rootless", "--bundle", str(bundle)], check=True)
    with open(bundle / "config.json") as f:
        spec = json.load(f)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["true"]
    spec["linux"]["devices"] = [dict(NULL_ALIKE, path="/dev/berth-test-null")]
    with open(bundle / "config.json", "w") as f:
        json.dump(spec, f)
    p = subprocess.run(as_user + [BERTH, "run", "--bundle", str(bundle), "rootless-dev"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode != 0
    assert ("linux.devices[0]: /dev/berth-test-null: mknod is not permitted here (user namespace) "
            "and the host has no /dev/berth-test-null to bind-mount") in p.stderr, p.stderr
    assert os.listdir(runtime_dir / "berth") == []
    shutil.rmtree(home, ignore_errors=True)


# ---- state while create runs ----

def test_state_while_create_runs(berth, tmp_path):
    """Polled all through a create (slowed by a createRuntime hook): first
    no container, then "creating" while the hooks run, then "created" with
    the init's pid, as soon as the init waits on the exec fifo and before
    create returns; never anything else. As runc: "created" from the moment
    the environment exists."""
    spec = berth.config()
    spec["process"]["args"] = ["true"]
    spec["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "0.5"]}]}
    berth.write_config(spec)
    cid = berth.new_id()
    seen, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            p = subprocess.run(berth.cmd("state", cid), capture_output=True, text=True)
            if p.returncode == 0:
                s = json.loads(p.stdout)
                now = (s["status"], s["pid"] != 0)
            else:
                assert "does not exist" in p.stderr, p.stderr
                now = ("none", False)
            if not seen or seen[-1] != now:
                seen.append(now)

    t = threading.Thread(target=poll)
    t.start()
    try:
        p = berth.run("create", "--bundle", berth.bundle, cid)
    finally:
        after = berth.state(cid)
        stop.set()
        t.join()
    assert p.returncode == 0, p.stderr
    assert after["status"] == "created" and after["pid"] > 0
    assert ("creating", False) in seen, seen
    order = [("none", False), ("creating", False), ("created", True)]
    assert [s for s in order if s in seen] == seen, seen
    # The init is blocked on the fifo by now (no user process ran).
    with open(f"/proc/{after['pid']}/cmdline", "rb") as f:
        assert b"true" not in f.read().split(b"\0")[0:1]
    berth.run("delete", "--force", cid, check=True)


# ---- no mount namespace ----

def shared_root_spec(berth, namespaces):
    spec = berth.config()
    spec["root"] = {"path": "/"}
    spec["mounts"] = []
    spec["linux"].pop("maskedPaths", None)
    spec["linux"].pop("readonlyPaths", None)
    spec["linux"]["namespaces"] = [{"type": t} for t in namespaces]
    spec["process"]["args"] = ["/bin/sh", "-c", "for n in mnt pid net uts; do readlink /proc/self/ns/$n; done"]
    spec.pop("hostname", None)
    return spec


@pytest.mark.parametrize("namespaces", [["pid", "network", "ipc", "uts"], []],
                         ids=["no-mount", "none"])
def test_without_mount_namespace_the_runtimes_is_shared(berth, namespaces):
    berth.write_config(shared_root_spec(berth, namespaces))
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    mnt, pid, net, uts = p.stdout.split()
    assert mnt == os.readlink("/proc/self/ns/mnt")
    assert (pid == os.readlink("/proc/self/ns/pid")) == ("pid" not in namespaces)
    assert (net == os.readlink("/proc/self/ns/net")) == ("network" not in namespaces)
    assert (uts == os.readlink("/proc/self/ns/uts")) == ("uts" not in namespaces)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(root={"path": "rootfs"}), "root.path: the rootfs must be /"),
    (lambda s: s["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}),
     "mounts: cannot mount anything"),
    (lambda s: s["linux"].update(maskedPaths=["/proc/kcore"]), "linux.maskedPaths: cannot mask"),
    (lambda s: s["linux"].update(readonlyPaths=["/proc/sys"]), "linux.readonlyPaths: cannot"),
    (lambda s: s["linux"].update(devices=[{"path": "/dev/x", "type": "c", "major": 1, "minor": 3}]),
     "linux.devices: cannot create devices"),
    (lambda s: s["root"].update(readonly=True), "root.readonly: cannot"),
], ids=["rootfs", "mounts", "masked", "readonly", "devices", "readonly-root"])
def test_without_mount_namespace_host_changes_are_refused(berth, change, message):
    spec = shared_root_spec(berth, ["pid"])
    change(spec)
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 1
    assert message in p.stderr and "without a mount namespace in linux.namespaces" in p.stderr, \
        p.stderr
    assert not os.path.exists("/dev/x")  # and the fixture finds no mount left
