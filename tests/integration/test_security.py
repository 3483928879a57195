"""Regression tests for known runtime attacks: each runs a real container
that tries the attack and asserts that it fails. Plus linux.sysctl."""
import os
import subprocess

from test_failures import assert_fails_cleanly


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


def test_cve_2016_9962_init_not_dumpable(berth):
    """While created, the init still holds runtime state: a process of the
    container's user must not be able to ptrace it or read its fds."""
    spec = berth.config()
    spec["process"]["args"] = ["sleep", "1000"]
    berth.write_config(spec)
    cid = berth.new_id()
    berth.run("create", "--bundle", berth.bundle, cid, check=True)
    pid = berth.state(cid)["pid"]
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    # Non-dumpable processes have their /proc files owned by root.
    st = os.stat(f"/proc/{pid}/fd")
    assert st.st_uid == 0
    # ptrace by an unprivileged user is refused: look at what the kernel says.
    p = subprocess.run(["runuser", "-u", "nobody", "--", "cat", f"/proc/{pid}/environ"],
                       capture_output=True, text=True)
    assert p.returncode != 0
    assert "Uid:" in status
    berth.run("delete", "--force", cid, check=True)


def test_console_is_the_pty(berth, tmp_path):
    """CVE-2025-52565: /dev/console is bound to the container's pty."""
    import test_container
    test_container.test_terminal_over_console_socket(berth, tmp_path)
