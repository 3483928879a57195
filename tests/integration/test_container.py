"""What the process sees inside the container, checked from the kernel's
own files (/proc, mountinfo, namespaces) rather than from berth."""
import array
import json
import os
import socket
import subprocess
import threading

from conftest import wait_for


def run_ok(berth, script):
    p = berth.run_container(["sh", "-c", script])
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr}"
    return p.stdout


def mountinfo(berth):
    lines = run_ok(berth, "cat /proc/self/mountinfo").splitlines()
    return {l.split()[4]: l for l in lines}


def test_process_is_pid_1(berth):
    assert run_ok(berth, "echo $$").strip() == "1"


def test_namespaces_are_new(berth):
    out = run_ok(berth, "for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done")
    mine = [os.readlink(f"/proc/self/ns/{n}") for n in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]]
    for inside, outside in zip(out.split(), mine):
        assert inside != outside


def test_join_namespace_by_path(berth, tmp_path):
    # A network namespace pinned to a file of this test's own, not with `ip
    # netns add`: its first use makes /run/netns a mount that outlives the
    # test (a leak on a fresh machine).
    path = str(tmp_path / "netns")
    open(path, "w").close()
    subprocess.run(["unshare", f"--net={path}", "true"], check=True)
    try:
        spec = berth.config()
        netns = [n for n in spec["linux"]["namespaces"] if n["type"] == "network"][0]
        netns["path"] = path
        berth.write_config(spec)
        out = run_ok(berth, "readlink /proc/self/ns/net")
        assert out.strip() == "net:[%d]" % os.stat(path).st_ino
        # A path that is a namespace of the wrong type is refused, naming the field.
        netns["path"] = "/proc/self/ns/ipc"
        berth.write_config(spec)
        p = berth.run_container(["true"])
        assert p.returncode != 0 and "linux.namespaces[1].path" in p.stderr
        assert "not a network namespace" in p.stderr
    finally:
        subprocess.run(["umount", path], check=True)


def test_hostname_and_domainname(berth):
    spec = berth.config()
    spec["hostname"] = "berth-host"
    spec["domainname"] = "example.org"
    berth.write_config(spec)
    assert run_ok(berth, "hostname; cat /proc/sys/kernel/domainname").split() == ["berth-host", "example.org"]


def test_loopback_is_up(berth):
    out = run_ok(berth, "cat /sys/class/net/lo/flags; ip -o -4 addr show dev lo")
    flags = int(out.split()[0], 16)
    assert flags & 1, out  # IFF_UP
    assert "127.0.0.1" in out  # the kernel adds it when lo goes up


def test_default_mounts_in_mountinfo(berth):
    m = mountinfo(berth)
    for path, fstype in [("/proc", "proc"), ("/dev", "tmpfs"), ("/dev/pts", "devpts"),
                         ("/dev/shm", "tmpfs"), ("/dev/mqueue", "mqueue"), ("/sys", "sysfs")]:
        assert path in m, path
        assert f" - {fstype} " in m[path], m[path]
    assert "/sys/fs/cgroup" in m
    root = m["/"]
    assert " ro" in root.split(" - ")[0] or root.split()[5].startswith("ro"), root  # readonly root


def test_cgroup_mount_shows_own_cgroup(berth):
    out = run_ok(berth, "ls /sys/fs/cgroup; cat /proc/self/cgroup")
    assert "memory" in out and "pids" in out
    # In a new cgroup namespace, the container's cgroup is its root.
    for line in out.splitlines():
        if line.count(":") >= 2 and ":memory:" in line:
            assert line.endswith(":/"), line


def test_readonly_root(berth):
    p = berth.run_container(["sh", "-c", "touch /newfile"])
    assert p.returncode != 0
    assert "Read-only file system" in p.stderr
    spec = berth.config()
    spec["root"]["readonly"] = False
    berth.write_config(spec)
    run_ok(berth, "touch /newfile && rm /newfile")


def test_masked_paths(berth):
    spec = berth.config()
    rootfs = os.path.join(berth.bundle, "rootfs")
    os.makedirs(os.path.join(rootfs, "secret-dir"))
    with open(os.path.join(rootfs, "secret-dir", "key"), "w") as f:
        f.write("s3cret")
    with open(os.path.join(rootfs, "secret-file"), "w") as f:
        f.write("s3cret")
    spec["linux"]["maskedPaths"] = ["/secret-file", "/secret-dir", "/proc/cpuinfo", "/not/there"]
    berth.write_config(spec)
    out = run_ok(berth, "wc -c < /secret-file; wc -c < /proc/cpuinfo; ls -A /secret-dir | wc -l; "
                        "touch /secret-dir/x 2>/dev/null || echo ro; "
                        "grep -c -E ' /(secret-file|secret-dir|proc/cpuinfo) ' /proc/self/mountinfo")
    assert out.split() == ["0", "0", "0", "ro", "3"]


def test_readonly_paths(berth):
    spec = berth.config()
    spec["linux"]["readonlyPaths"] = ["/proc/sys", "/tmp"]
    spec["root"]["readonly"] = False
    berth.write_config(spec)
    p = berth.run_container(["sh", "-c", "echo x > /tmp/f"])
    assert p.returncode != 0 and "Read-only" in p.stderr
    p = berth.run_container(["sh", "-c", "echo 1 > /proc/sys/kernel/domainname"])
    assert p.returncode != 0


def test_bind_mounts_and_options(berth, tmp_path):
    src = tmp_path / "shared"
    src.mkdir()
    (src / "hello").write_text("from host\n")
    spec = berth.config()
    spec["mounts"] += [
        {"destination": "/data/rw", "type": "bind", "source": str(src), "options": ["rbind"]},
        {"destination": "/data/ro", "type": "bind", "source": str(src), "options": ["bind", "ro", "nosuid"]},
        {"destination": "/data/file", "type": "bind", "source": str(src / "hello"), "options": ["bind", "ro"]},
        {"destination": "/data/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "noexec"]},
    ]
    berth.write_config(spec)
    out = run_ok(berth, "cat /data/rw/hello /data/file; echo new > /data/rw/new; "
                        "if echo x > /data/ro/x 2>/dev/null; then echo ro-broken; fi; "
                        "grep -E ' /data/(ro|tmp|file) ' /proc/self/mountinfo; stat -c %a /data/tmp")
    assert out.count("from host") == 2
    assert "ro-broken" not in out
    assert (src / "new").read_text() == "new\n"
    ro_line = [l for l in out.splitlines() if " /data/ro " in l][0]
    assert ro_line.split()[5].startswith("ro") and "nosuid" in ro_line.split()[5]
    tmp_line = [l for l in out.splitlines() if " /data/tmp " in l][0]
    assert "noexec" in tmp_line.split()[5] and "size=1024k" in tmp_line
    assert out.strip().endswith("700")


def test_relative_bind_source_is_relative_to_bundle(berth):
    os.makedirs(os.path.join(berth.bundle, "extra"))
    with open(os.path.join(berth.bundle, "extra", "f"), "w") as f:
        f.write("bundle-relative\n")
    spec = berth.config()
    spec["mounts"].append({"destination": "/extra", "type": "bind", "source": "extra", "options": ["bind"]})
    berth.write_config(spec)
    assert run_ok(berth, "cat /extra/f").strip() == "bundle-relative"


def test_tmpcopyup(berth):
    spec = berth.config()
    spec["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]})
    berth.write_config(spec)
    out = run_ok(berth, "grep -c root /etc/passwd; grep ' /etc ' /proc/self/mountinfo | grep -c tmpfs")
    assert out.split() == ["1", "1"]


def test_symlinked_destination_stays_in_rootfs(berth, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    rootfs = os.path.join(berth.bundle, "rootfs")
    os.symlink(str(outside), os.path.join(rootfs, "escape"))
    spec = berth.config()
    spec["mounts"].append({"destination": "/escape/sub", "type": "tmpfs", "source": "tmpfs"})
    berth.write_config(spec)
    run_ok(berth, "test -d /escape/sub")
    # The directory was created inside the rootfs, not in the host's outside dir.
    assert list(outside.iterdir()) == []


def test_default_devices(berth):
    out = run_ok(berth, "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; "
                        "readlink /dev/fd; readlink /dev/stdin; readlink /dev/ptmx; echo hi > /dev/null; head -c3 /dev/zero | wc -c")
    lines = out.splitlines()
    expected = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7",
                "/dev/random": "1:8", "/dev/urandom": "1:9", "/dev/tty": "5:0"}
    for line in lines[:6]:
        name, kind, rest = line.split(" ", 2)
        assert "character special" in line
        major_minor = rest.split()[-2]
        major, minor = (int(x, 16) for x in major_minor.split(":"))
        assert f"{major}:{minor}" == expected[name]
        assert line.endswith("666")
    assert lines[6:9] == ["/proc/self/fd", "/proc/self/fd/0", "pts/ptmx"]
    assert lines[9] == "3"


def test_linux_devices(berth):
    spec = berth.config()
    spec["linux"]["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                 "fileMode": 0o620, "uid": 1000, "gid": 29},
                                {"path": "/dev/sub/myfifo", "type": "p"}]
    berth.write_config(spec)
    out = run_ok(berth, "stat -c '%t:%T %a %u %g' /dev/mynull; stat -c %F /dev/sub/myfifo")
    assert out.splitlines() == ["1:3 620 1000 29", "fifo"]


def test_user_and_groups(berth):
    spec = berth.config()
    spec["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 4242], "umask": 0o077}
    berth.write_config(spec)
    out = run_ok(berth, "id -u; id -g; id -G; umask; echo $HOME")
    uid, gid, groups, umask, home = out.splitlines()
    assert (uid, gid) == ("1000", "1000")
    assert set(groups.split()) == {"1000", "10", "4242", "29"}  # 29: audio from /etc/group
    assert umask == "0077"
    assert home == "/home/berth"


def test_env_and_cwd(berth):
    spec = berth.config()
    spec["process"]["env"] = ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY="]
    spec["process"]["cwd"] = "/does/not/exist/yet"
    berth.write_config(spec)
    out = run_ok(berth, "echo \"$FOO|$EMPTY|$PATH\"; pwd")
    assert out.splitlines() == ["bar baz||/bin:/usr/bin", "/does/not/exist/yet"]


def test_path_lookup_uses_container_path(berth):
    spec = berth.config()
    spec["process"]["env"] = ["PATH=/usr/sbin"]
    berth.write_config(spec)
    p = berth.run_container(["chroot", "--help"])  # /usr/sbin/chroot in busybox
    assert "executable file not found" not in p.stderr


def test_only_stdio_fds_reach_the_container(berth):
    out = run_ok(berth, "ls /proc/self/fd")
    # ls itself opens one fd for the directory listing (3).
    assert sorted(out.split()) == ["0", "1", "2", "3"]
    # "; true" keeps sh as pid 1 (a lone command would be exec'ed).
    out = run_ok(berth, "ls /proc/1/fd; true")
    assert sorted(out.split()) == ["0", "1", "2"]


def test_preserve_fds(berth, tmp_path):
    spec = berth.config()
    spec["process"]["args"] = ["sh", "-c", "ls /proc/1/fd; cat <&4"]
    berth.write_config(spec)
    cid = berth.new_id()
    r3, w3 = os.pipe()
    r4, w4 = os.pipe()
    os.write(w4, b"via-fd-4\n")
    os.close(w4)
    # fds 3 and 4 in the child: make them exactly 3 and 4
    p = subprocess.run(berth.cmd("run", "--bundle", berth.bundle, "--preserve-fds", "2", cid),
                       capture_output=True, text=True, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
                       preexec_fn=lambda: (os.dup2(r3, 3), os.dup2(r4, 4)))
    for fd in (r3, w3, r4):
        os.close(fd)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "1", "2", "3", "4", "via-fd-4"]


def test_no_new_privileges_and_rlimits(berth):
    spec = berth.config()
    spec["process"]["noNewPrivileges"] = True
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 512}]
    berth.write_config(spec)
    out = run_ok(berth, "grep NoNewPrivs /proc/self/status; grep 'Max open files' /proc/self/limits")
    assert "NoNewPrivs:\t1" in out
    assert out.split("Max open files")[1].split()[:2] == ["512", "2048"]


def test_capabilities_from_default_spec(berth):
    out = run_ok(berth, "grep -E '^Cap(Eff|Bnd)' /proc/self/status")
    eff = int(out.split()[1], 16)
    # runc's default set: AUDIT_WRITE(29), KILL(5), NET_BIND_SERVICE(10)
    assert eff == (1 << 29) | (1 << 5) | (1 << 10)


def recv_fd(sock):
    fds = array.array("i")
    msg, anc, _, _ = sock.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    return msg, fds[0]


def test_terminal_over_console_socket(berth, tmp_path):
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    result = {}

    def accept():
        conn, _ = server.accept()
        result["name"], result["fd"] = recv_fd(conn)
        conn.close()

    t = threading.Thread(target=accept)
    t.start()
    spec = berth.config()
    spec["process"]["terminal"] = True
    spec["process"]["args"] = ["sh", "-c", "tty; test -t 0 && echo is-a-tty; stat -c %t:%T /dev/console"]
    berth.write_config(spec)
    cid = berth.new_id()
    berth.run("create", "--bundle", berth.bundle, "--console-socket", path, cid, check=True)
    t.join(timeout=10)
    server.close()
    assert result["name"].startswith(b"/dev/pts/")
    master = result["fd"]
    berth.run("start", cid, check=True)
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    text = output.decode()
    assert "/dev/console" in text or "/dev/pts/" in text
    assert "is-a-tty" in text
    assert "88:" in text  # /dev/console is the pty (major 136 = 0x88)
    assert wait_for(lambda: berth.state(cid)["status"] == "stopped")
    berth.run("delete", cid, check=True)


def test_no_pivot(berth):
    spec = berth.config()
    spec["process"]["args"] = ["sh", "-c", "echo $$; test -d /proc/1"]
    berth.write_config(spec)
    p = berth.run("run", "--no-pivot", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "1"


def test_rootfs_propagation(berth):
    # ("slave" of a host mount that is itself private looks private: there is
    # no master to follow, so it is checked only for not being shared.)
    for prop, tag in [("private", None), ("shared", "shared:"), ("slave", None)]:
        spec = berth.config()
        spec["linux"]["rootfsPropagation"] = prop
        berth.write_config(spec)
        root = [l for l in run_ok(berth, "cat /proc/self/mountinfo").splitlines()
                if l.split()[4] == "/"][0]
        optional = root.split(" - ")[0].split()[6:]
        if tag is None:
            assert optional == [], (prop, root)
        else:
            assert any(o.startswith(tag) for o in optional), (prop, root)


def test_run_on_callers_terminal(berth):
    """`run` with terminal: true and no --console-socket bridges the pty to
    its own tty (script(1) gives the test one)."""
    spec = berth.config()
    spec["process"]["terminal"] = True
    spec["process"]["args"] = ["sh", "-c", "test -t 0 && test -t 1 && echo TTY-OK; tty; exit 3"]
    berth.write_config(spec)
    cmd = " ".join(berth.cmd("run", "--bundle", berth.bundle, berth.new_id()))
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert "TTY-OK" in p.stdout, p.stdout + p.stderr
    assert "/dev/pts/" in p.stdout or "/dev/console" in p.stdout
    assert p.returncode == 3


def test_text_log_format(berth, tmp_path):
    log = str(tmp_path / "text.log")
    p = berth.run("--log", log, "state", "nonexistent")
    assert p.returncode != 0
    line = open(log).read().strip()
    assert line.startswith('time="'), line
    assert 'level=error msg="container \\"nonexistent\\" does not exist"' in line, line
