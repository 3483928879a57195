"""berth exec: joins every namespace and the cgroup of the container, same
capability/seccomp/rlimit treatment as the init, exit status propagated."""
import array
import json
import os
import socket
import subprocess
import threading

from conftest import wait_for
from test_failures import assert_exec_fails_cleanly


def running(berth, args=("sleep", "1000"), **changes):
    spec = berth.config()
    spec["process"]["args"] = list(args)
    spec["process"]["env"] = ["PATH=/bin:/usr/bin", "FROM_CONFIG=yes"]
    for k, v in changes.items():
        spec[k] = v
    berth.write_config(spec)
    cid = berth.new_id()
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    return cid


def test_exec_joins_namespaces_and_cgroup(berth):
    cid = running(berth)
    init = berth.state(cid)["pid"]
    p = berth.run("exec", cid, "sh", "-c",
                  "for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done; "
                  "echo $$; cat /proc/self/cgroup")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    for i, n in enumerate(["pid", "net", "ipc", "uts", "mnt", "cgroup"]):
        assert lines[i] == os.readlink(f"/proc/{init}/ns/{n}"), n
    assert int(lines[6]) > 1  # not the init, but a pid of the container's namespace
    # the container's own cgroup is its root (cgroup namespace)
    assert any(l.endswith(":/") and ":memory:" in l for l in lines[7:])
    berth.run("delete", "--force", cid, check=True)


def test_exec_exit_status_and_failures(berth):
    cid = running(berth)
    assert berth.run("exec", cid, "sh", "-c", "exit 42").returncode == 42
    assert_exec_fails_cleanly(berth, cid, [cid, "no-such-command"],
                              'exec: "no-such-command": executable file not found in $PATH')
    assert_exec_fails_cleanly(berth, cid, [cid, "/bin/no-such-binary"], "/bin/no-such-binary")
    assert_exec_fails_cleanly(berth, "nonexistent", ["nonexistent", "true"],
                              'container "nonexistent" does not exist')
    berth.run("delete", "--force", cid, check=True)
    assert_exec_fails_cleanly(berth, cid, [cid, "true"], f'container "{cid}" does not exist')


def test_exec_in_stopped_container_fails(berth):
    cid = running(berth, ("true",))
    assert wait_for(lambda: berth.state(cid)["status"] == "stopped")
    assert_exec_fails_cleanly(berth, cid, [cid, "true"], "container not running")
    berth.run("delete", cid, check=True)


def test_exec_flags(berth):
    cid = running(berth)
    p = berth.run("exec", "--env", "FOO=bar", "-e", "FROM_CONFIG=overridden", "--cwd", "/tmp",
                  "--user", "1000:1000", "--additional-gids", "4242", cid,
                  "sh", "-c", "echo $FOO $FROM_CONFIG; pwd; id -u; id -g; id -G")
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out[0] == "bar overridden"
    assert out[1] == "/tmp"
    assert out[2:4] == ["1000", "1000"]
    assert "4242" in out[4].split()
    p = berth.run("exec", cid, "sh", "-c", "echo $FROM_CONFIG")
    assert p.stdout.strip() == "yes"
    berth.run("delete", "--force", cid, check=True)


def test_exec_process_file(berth, tmp_path):
    cid = running(berth)
    proc = {"args": ["sh", "-c", "echo from-process-file; id -u"], "cwd": "/",
            "env": ["PATH=/bin"], "user": {"uid": 65534, "gid": 65534}}
    path = tmp_path / "process.json"
    path.write_text(json.dumps(proc))
    p = berth.run("exec", "--process", str(path), cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["from-process-file", "65534"]
    path.write_text(json.dumps({"args": [], "cwd": "/"}))
    msg = assert_exec_fails_cleanly(berth, cid, ["--process", str(path), cid],
                                    "args: must be a non-empty array of strings")
    assert str(path) in msg
    path.write_text("{")
    msg = assert_exec_fails_cleanly(berth, cid, ["--process", str(path), cid], "invalid JSON")
    assert str(path) in msg
    missing = str(tmp_path / "missing.json")
    assert_exec_fails_cleanly(berth, cid, ["--process", missing, cid],
                              f"{missing}: No such file or directory")
    berth.run("delete", "--force", cid, check=True)


def test_exec_detached_with_pid_file(berth, tmp_path):
    cid = running(berth)
    pid_file = str(tmp_path / "exec.pid")
    p = berth.run("exec", "-d", "--pid-file", pid_file, cid, "sleep", "1000")
    assert p.returncode == 0, p.stderr
    content = open(pid_file).read()
    assert content.isdigit()  # no newline
    with open(f"/proc/{content}/cmdline", "rb") as f:
        assert f.read().startswith(b"sleep")
    berth.run("delete", "--force", cid, check=True)
    assert wait_for(lambda: not os.path.exists(f"/proc/{content}") or
                    open(f"/proc/{content}/stat").read().split()[2] == "Z")


def test_exec_cap_never_inheritable_cve_2022_29162(berth):
    cid = running(berth)
    p = berth.run("exec", "--cap", "CAP_NET_ADMIN", cid, "grep", "^Cap", "/proc/self/status")
    assert p.returncode == 0, p.stderr
    caps = {l.split(":")[0]: int(l.split()[1], 16) for l in p.stdout.splitlines()}
    assert caps["CapInh"] == 0
    assert caps["CapEff"] & (1 << 12)  # CAP_NET_ADMIN
    assert caps["CapBnd"] & (1 << 12)
    berth.run("delete", "--force", cid, check=True)


def test_exec_gets_the_containers_seccomp_and_limits(berth):
    spec = berth.config()
    seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": 38}]}
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 321}]
    spec["linux"]["seccomp"] = seccomp
    spec["process"]["args"] = ["sleep", "1000"]
    berth.write_config(spec)
    cid = berth.new_id()
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    p = berth.run("exec", cid, "sh", "-c",
                  "grep Seccomp: /proc/self/status; ulimit -n; mkdir /tmp/x || echo blocked")
    assert p.returncode == 0, p.stderr
    assert "Seccomp:\t2" in p.stdout
    assert "321" in p.stdout
    assert "blocked" in p.stdout and "Function not implemented" in p.stderr
    berth.run("delete", "--force", cid, check=True)


def test_exec_only_stdio_and_preserved_fds(berth):
    cid = running(berth)
    p = berth.run("exec", cid, "sh", "-c", "ls /proc/$$/fd; true")
    assert sorted(p.stdout.split()) == ["0", "1", "2"]
    berth.run("delete", "--force", cid, check=True)


def test_exec_runtime_binary_refused(berth):
    cid = running(berth)
    assert_exec_fails_cleanly(berth, cid, [cid, "/proc/self/exe"], "CVE-2019-5736")
    berth.run("delete", "--force", cid, check=True)


def test_exec_signals_forwarded(berth):
    cid = running(berth)
    proc = subprocess.Popen(berth.cmd("exec", cid, "sh", "-c",
                                      "trap 'exit 9' TERM; echo ready; while :; do sleep 0.1; done"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout.readline() == b"ready\n"
    proc.terminate()
    assert proc.wait(timeout=10) == 9
    berth.run("delete", "--force", cid, check=True)


def test_exec_paused_container(berth):
    cid = running(berth)
    berth.run("pause", cid, check=True)
    assert_exec_fails_cleanly(berth, cid, [cid, "true"], "container paused")
    berth.run("resume", cid, check=True)
    berth.run("delete", "--force", cid, check=True)


def test_exec_tty_over_console_socket(berth, tmp_path):
    cid = running(berth)
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    got = {}

    def accept():
        conn, _ = server.accept()
        fds = array.array("i")
        msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
        for level, kind, data in anc:
            fds.frombytes(data[:fds.itemsize])
        got["name"], got["fd"] = msg, fds[0]
        conn.close()

    t = threading.Thread(target=accept)
    t.start()
    p = berth.run("exec", "-t", "-d", "--console-socket", path, cid, "sh", "-c",
                  "tty; test -t 0 && echo IS-TTY")
    assert p.returncode == 0, p.stderr
    t.join(timeout=10)
    server.close()
    out = b""
    while True:
        try:
            chunk = os.read(got["fd"], 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(got["fd"])
    assert got["name"].startswith(b"/dev/pts/")
    assert b"IS-TTY" in out
    berth.run("delete", "--force", cid, check=True)
