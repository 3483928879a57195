"""The container lifecycle through berth's runc-compatible command line:
create → created → start → running → stopped → delete, run, kill, list."""
import json
import os
import signal
import subprocess
import time

from conftest import BERTH, wait_for, cgroup_dirs_named


def create(berth, args, cid=None, *extra):
    spec = berth.config()
    spec["process"]["args"] = list(args)
    berth.write_config(spec)
    cid = cid or berth.new_id()
    berth.run("create", "--bundle", berth.bundle, *extra, cid, check=True)
    return cid


def test_create_start_states(berth):
    cid = create(berth, ["sleep", "1000"])
    st = berth.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["pid"] > 0
    assert st["bundle"] == os.path.realpath(berth.bundle)
    assert st["rootfs"] == os.path.realpath(os.path.join(berth.bundle, "rootfs"))
    assert st["ociVersion"]
    assert st["created"].endswith("Z")
    # The init is blocked before exec: it is not sleep yet.
    with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
        assert b"sleep" not in f.read()
    berth.run("start", cid, check=True)
    assert wait_for(lambda: open(f"/proc/{st['pid']}/cmdline", "rb").read().startswith(b"sleep"))
    assert berth.state(cid)["status"] == "running"
    berth.run("kill", cid, "KILL", check=True)
    assert wait_for(lambda: berth.state(cid)["status"] == "stopped")
    assert berth.state(cid)["pid"] == 0
    berth.run("delete", cid, check=True)
    assert berth.run("state", cid).returncode != 0


def test_state_json_is_indented_without_trailing_newline(berth):
    cid = create(berth, ["sleep", "1000"])
    out = berth.run("state", cid, check=True).stdout
    assert not out.endswith("\n")
    assert "\n  \"id\"" in out or "\n\t\"id\"" in out
    berth.run("delete", "--force", cid, check=True)


def test_start_twice_fails(berth):
    cid = create(berth, ["sleep", "1000"])
    berth.run("start", cid, check=True)
    p = berth.run("start", cid)
    assert p.returncode != 0
    assert "running" in p.stderr
    berth.run("delete", "--force", cid, check=True)


def test_run_returns_exit_status(berth):
    p = berth.run_container(["sh", "-c", "exit 42"])
    assert p.returncode == 42, p.stderr
    assert os.listdir(berth.root) == []  # run deletes the container


def test_run_status_of_signal_is_128_plus_n(berth):
    cid = berth.new_id()
    spec = berth.config()
    spec["process"]["args"] = ["sleep", "1000"]
    berth.write_config(spec)
    proc = subprocess.Popen(berth.cmd("run", "--bundle", berth.bundle, cid),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert wait_for(lambda: berth.run("state", cid).returncode == 0
                    and json.loads(berth.run("state", cid).stdout)["status"] == "running")
    # pid 1 of a pid namespace only gets SIGKILL from outside without a handler.
    berth.run("kill", cid, "9", check=True)
    assert proc.wait(timeout=10) == 128 + 9


def test_run_forwards_signals(berth):
    cid = berth.new_id()
    spec = berth.config()
    spec["process"]["args"] = ["sh", "-c", "trap 'exit 7' TERM; echo ready; while :; do sleep 0.1; done"]
    berth.write_config(spec)
    proc = subprocess.Popen(berth.cmd("run", "--bundle", berth.bundle, cid),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 7


def test_run_detached(berth):
    cid = berth.new_id()
    spec = berth.config()
    spec["process"]["args"] = ["sleep", "1000"]
    berth.write_config(spec)
    p = berth.run("run", "-d", "--bundle", berth.bundle, cid)
    assert p.returncode == 0, p.stderr
    assert berth.state(cid)["status"] == "running"
    berth.run("delete", "--force", cid, check=True)


def test_kill_signal_names(berth):
    for name in ["TERM", "SIGTERM", "15", "sigterm"]:
        cid = create(berth, ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"])
        berth.run("start", cid, check=True)
        time.sleep(0.2)
        berth.run("kill", cid, name, check=True)
        assert wait_for(lambda: berth.state(cid)["status"] == "stopped"), name
        berth.run("delete", cid, check=True)


def test_kill_default_is_sigterm_and_bad_signal_fails(berth):
    cid = create(berth, ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"])
    berth.run("start", cid, check=True)
    p = berth.run("kill", cid, "SIGNOPE")
    assert p.returncode != 0 and "SIGNOPE" in p.stderr
    time.sleep(0.2)
    berth.run("kill", cid, check=True)
    assert wait_for(lambda: berth.state(cid)["status"] == "stopped")
    berth.run("delete", cid, check=True)


def test_kill_all_reaches_every_process(berth):
    spec = berth.config()
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "pid"]
    berth.write_config(spec)
    cid = create(berth, ["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    berth.run("start", cid, check=True)
    cg = cgroup_dirs_named(cid)
    procs = [d for d in cg if d.startswith("/sys/fs/cgroup/pids/")][0] + "/cgroup.procs"
    assert wait_for(lambda: len(open(procs).read().split()) == 3)
    berth.run("kill", "--all", cid, "KILL", check=True)
    assert wait_for(lambda: open(procs).read().split() == [])
    berth.run("delete", cid, check=True)


def test_kill_stopped_container_fails(berth):
    cid = create(berth, ["true"])
    berth.run("start", cid, check=True)
    assert wait_for(lambda: berth.state(cid)["status"] == "stopped")
    p = berth.run("kill", cid, "KILL")
    assert p.returncode != 0 and "container not running" in p.stderr
    berth.run("delete", cid, check=True)


def test_delete_running_needs_force(berth):
    cid = create(berth, ["sleep", "1000"])
    berth.run("start", cid, check=True)
    pid = berth.state(cid)["pid"]
    p = berth.run("delete", cid)
    assert p.returncode != 0
    assert "container still running" in p.stderr
    berth.run("delete", "--force", cid, check=True)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert not cgroup_dirs_named(cid)


def test_delete_created_container_kills_it(berth):
    cid = create(berth, ["sleep", "1000"])
    pid = berth.state(cid)["pid"]
    berth.run("delete", cid, check=True)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}")
                    or open(f"/proc/{pid}/stat").read().split()[2] == "Z")


def test_delete_tolerates_half_created_state_dir(berth):
    cid = berth.new_id()
    os.makedirs(os.path.join(berth.root, cid))
    assert berth.run("state", cid).returncode == 0
    berth.run("delete", cid, check=True)
    assert not os.path.exists(os.path.join(berth.root, cid))


def test_status_detects_pid_reuse(berth):
    cid = create(berth, ["sleep", "1000"])
    berth.run("start", cid, check=True)
    path = os.path.join(berth.root, cid, "state.json")
    with open(path) as f:
        saved = json.load(f)
    # Same pid, different start time: as if the pid had been reused.
    saved["pidStartTime"] += 1
    with open(path, "w") as f:
        json.dump(saved, f)
    assert berth.state(cid)["status"] == "stopped"
    assert berth.run("kill", cid, "KILL").returncode != 0  # never signal a stranger
    saved["pidStartTime"] -= 1
    with open(path, "w") as f:
        json.dump(saved, f)
    berth.run("delete", "--force", cid, check=True)


def test_pid_file_has_no_newline(berth, tmp_path):
    pid_file = str(tmp_path / "init.pid")
    cid = create(berth, ["sleep", "1000"], None, "--pid-file", pid_file)
    with open(pid_file) as f:
        content = f.read()
    assert content == str(berth.state(cid)["pid"])
    berth.run("delete", "--force", cid, check=True)


def test_list_formats(berth):
    a = create(berth, ["sleep", "1000"])
    b = create(berth, ["sleep", "1000"])
    berth.run("start", b, check=True)
    table = berth.run("list", check=True).stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert sorted(l.split()[0] for l in table[1:]) == sorted([a, b])
    quiet = berth.run("list", "-q", check=True).stdout.split()
    assert sorted(quiet) == sorted([a, b])
    data = json.loads(berth.run("list", "--format", "json", check=True).stdout)
    assert {d["id"]: d["status"] for d in data} == {a: "created", b: "running"}
    assert all(d["owner"] == "root" for d in data)
    berth.run("delete", "--force", a, check=True)
    berth.run("delete", "--force", b, check=True)


def test_list_without_root_dir_is_empty(berth):
    p = berth.run("list", "--format=json")
    assert p.returncode == 0 and json.loads(p.stdout) == []


def test_go_style_flags(berth):
    spec = berth.config()
    spec["process"]["args"] = ["sleep", "1000"]
    berth.write_config(spec)
    cid = berth.new_id()
    # single dash, =value, and flags after the ID
    berth.run("create", cid, "-bundle=" + berth.bundle, "-no-new-keyring", check=True)
    assert berth.state(cid)["status"] == "created"
    berth.run("delete", "-force", cid, check=True)


def test_concurrent_commands_are_serialised(berth):
    cid = create(berth, ["sleep", "1000"])
    procs = [subprocess.Popen(berth.cmd("delete", "--force", cid), stderr=subprocess.DEVNULL)
             for _ in range(4)]
    # --force on a container that is already gone succeeds, as with runc.
    assert [p.wait(timeout=20) for p in procs] == [0, 0, 0, 0]
    assert not os.path.exists(os.path.join(berth.root, cid))


def test_help_prints_usage_and_does_nothing(tmp_path):
    # `spec --help` used to write a config.json; runc prints help and exits 0
    for args in (["spec", "--help"], ["spec", "-b", str(tmp_path), "-h"], ["create", "--help"]):
        p = subprocess.run([BERTH, *args], capture_output=True, text=True, cwd=tmp_path)
        assert p.returncode == 0 and p.stdout.startswith(f"usage: berth {args[0]}"), p
    assert os.listdir(tmp_path) == []
    # for exec, a --help after the container ID belongs to the process
    p = subprocess.run([BERTH, "--root", str(tmp_path / "root"), "exec", "no-such-id", "ls", "--help"],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "no-such-id" in p.stderr
