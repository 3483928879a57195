"""berth-shim driven directly through berth's C++ ttrpc client (the
shim-rpc tool): every Task RPC, the events it publishes (to a ttrpc events
sink standing in for containerd), exits recorded with no client connected,
stdio that nobody reads, and malformed or oversized frames, which must never
crash the shim or lose a container's exit status."""
import json
import shutil
import os
import signal
import subprocess
import time

import pytest

from conftest import BERTH, ROOT, bundle_fixture, cgroup_dirs_named, wait_for

SHIM = os.environ.get("BERTH_SHIM", os.path.join(ROOT, "build", "shim", "berth-shim"))
RPC = os.environ.get("BERTH_SHIM_RPC", os.path.join(ROOT, "build", "tests", "shim", "shim-rpc"))
NS = "berth-rpc-test"


class Shim:
    def __init__(self, tmp, base_rootfs, cid, args, edit=None):
        self.cid = cid
        self.dir = tmp
        self.bundle = str(tmp / "bundle")
        self.root = str(tmp / "runtime-root")
        self.sock = str(tmp / "shim.sock")
        self.events_file = str(tmp / "events.txt")
        sink_sock = str(tmp / "events.sock")
        spec = bundle_fixture.make_bundle(self.bundle, args, runtime=BERTH, rootfs_source=base_rootfs)
        if edit:
            edit(spec)
            bundle_fixture.write_config(self.bundle, spec)
        self.sink = subprocess.Popen([RPC, "events-sink", sink_sock, self.events_file])
        assert wait_for(lambda: os.path.exists(sink_sock))
        env = dict(os.environ, TTRPC_ADDRESS=sink_sock)
        self.proc = subprocess.Popen([SHIM, "-namespace", NS, "-id", cid, "-socket", self.sock],
                                     cwd=self.bundle, env=env)
        assert wait_for(lambda: os.path.exists(self.sock)), "the shim did not listen"

    def call(self, method, **kw):
        args = [f"{k}={v}" for k, v in kw.items()]
        p = subprocess.run([RPC, self.sock, method, *args], capture_output=True, text=True, timeout=60)
        out = {}
        for line in p.stdout.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k, v)
            if line.startswith("error "):
                out["error"] = line.split(" ", 2)[1]
                out["message"] = line.split(" ", 2)[2] if len(line.split(" ", 2)) > 2 else ""
        out["rc"] = p.returncode
        out["raw"] = p.stdout + p.stderr
        return out

    def ok(self, method, **kw):
        r = self.call(method, id=self.cid, **kw)
        assert r["rc"] == 0, (method, r["raw"])
        return r

    def create(self, **kw):
        return self.ok("Create", bundle=self.bundle, binary_name=BERTH, root=self.root, **kw)

    def topics(self):
        if not os.path.exists(self.events_file):
            return []
        with open(self.events_file) as f:
            return [l.split() for l in f if l.strip()]

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        if self.alive():
            self.call("Kill", id=self.cid, signal=9)
            self.call("Delete", id=self.cid)
            self.call("Shutdown", id=self.cid, now=1)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sink.terminate()
        self.sink.wait()
        subprocess.run([BERTH, "--root", os.path.join(self.root, NS), "delete", "--force", self.cid],
                       capture_output=True)


@pytest.fixture
def make_shim(tmp_path, base_rootfs):
    shims = []

    def make(cid, args, subdir="s", edit=None):
        s = Shim(tmp_path / subdir, base_rootfs, cid, args, edit)
        shims.append(s)
        return s
    yield make
    for s in shims:
        s.close()


def fifo(path):
    os.mkfifo(path)
    return str(path)


def write_process(path, args, terminal=False):
    with open(path, "w") as f:
        json.dump({"args": args, "cwd": "/", "terminal": terminal,
                   "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                   "user": {"uid": 0, "gid": 0}}, f)
    return str(path)


def cgroup_file(pid, controller, name):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.strip().split(":", 2)
            if controller in controllers.split(","):
                with open(f"/sys/fs/cgroup/{controllers}{path}/{name}") as c:
                    return c.read().strip()
    return None


def test_every_rpc_through_a_lifecycle(make_shim, tmp_path):
    os.makedirs(tmp_path / "s")
    out = tmp_path / "s" / "stdout.log"
    s = make_shim("rpc-life", ["sleep", "1000"])
    pid = int(s.create(stdout=f"file://{out}", stderr=f"file://{out}")["pid"])
    assert s.ok("Connect")["task_pid"] == str(pid)
    assert int(s.ok("Connect")["shim_pid"]) == s.proc.pid
    st = s.ok("State")
    assert st["status"] == "CREATED" and st["pid"] == str(pid) and st["bundle"] == s.bundle
    assert s.ok("Start")["pid"] == str(pid)
    assert s.ok("State")["status"] == "RUNNING"
    # the shim is the init's parent (subreaper), and runs one thread
    with open(f"/proc/{pid}/status") as f:
        assert f"PPid:\t{s.proc.pid}" in f.read()
    assert len(os.listdir(f"/proc/{s.proc.pid}/task")) == 1

    spec = write_process(tmp_path / "exec.json", ["sh", "-c", "echo exec-out; exit 5"])
    s.ok("Exec", exec_id="e1", spec_file=spec, stdout=f"file://{out}")
    assert s.call("Exec", id=s.cid, exec_id="e1", spec_file=spec)["error"] == "ALREADY_EXISTS"
    assert s.ok("State", exec_id="e1")["status"] == "CREATED"
    epid = s.ok("Start", exec_id="e1")["pid"]
    assert s.ok("Wait", exec_id="e1")["exit_status"] == "5"
    assert s.ok("State", exec_id="e1")["status"] == "STOPPED"
    assert s.ok("Delete", exec_id="e1")["exit_status"] == "5"
    assert s.call("State", id=s.cid, exec_id="e1")["error"] == "NOT_FOUND"
    assert "exec-out" in open(out).read()

    spec = write_process(tmp_path / "exec2.json", ["sleep", "1000"])
    s.ok("Exec", exec_id="e2", spec_file=spec)
    epid = s.ok("Start", exec_id="e2")["pid"]
    pids = s.ok("Pids")["raw"]
    assert f"process={pid} \n" in pids and f"process={epid} e2" in pids, pids
    s.ok("Kill", exec_id="e2", signal=9)
    assert s.ok("Wait", exec_id="e2")["exit_status"] == "137"

    s.ok("Pause")
    assert s.ok("State")["status"] == "PAUSED"
    assert cgroup_file(pid, "freezer", "freezer.state") == "FROZEN"
    s.ok("Resume")
    assert cgroup_file(pid, "freezer", "freezer.state") == "THAWED"

    res = tmp_path / "res.json"
    res.write_text(json.dumps({"pids": {"limit": 77}}))
    s.ok("Update", resources_file=str(res))
    assert cgroup_file(pid, "pids", "pids.max") == "77"
    stats = s.ok("Stats")
    assert stats["type_url"] == "io.containerd.cgroups.v1.Metrics" and int(stats["bytes"]) > 0

    assert s.call("Checkpoint", id=s.cid)["error"] == "UNIMPLEMENTED"
    assert s.call("ResizePty", id=s.cid, width=80, height=24)["error"] == "FAILED_PRECONDITION"
    assert s.call("Delete", id=s.cid)["error"] == "FAILED_PRECONDITION"  # still running
    assert s.call("State", id="other")["error"] == "NOT_FOUND"

    s.ok("Kill", signal=9)  # sleep as pid 1 has no handler: SIGTERM would not reach it
    w = s.ok("Wait")
    assert w["exit_status"] == "137" and int(w["exited_at"]) > 0
    st = s.ok("State")
    assert st["status"] == "STOPPED" and st["exit_status"] == "137"
    assert s.call("Kill", id=s.cid, signal=9)["error"] == "NOT_FOUND"
    assert s.ok("Delete")["exit_status"] == "137"
    assert not cgroup_dirs_named("rpc-life")
    assert not os.path.exists(os.path.join(s.root, NS, "rpc-life"))
    s.ok("Shutdown")
    s.proc.wait(timeout=10)
    assert not os.path.exists(s.sock)

    topics = [t[0] for t in s.topics() if t[1] == "rpc-life"]
    for t in ("/tasks/create", "/tasks/start", "/tasks/exec-added", "/tasks/exec-started",
              "/tasks/paused", "/tasks/resumed", "/tasks/exit", "/tasks/delete"):
        assert t in topics, (t, topics)
    assert topics[0] == "/tasks/create" and topics[-1] == "/tasks/delete"
    assert all(t[3] == NS for t in s.topics())
    assert ["/tasks/exit", "rpc-life", "containerd.events.TaskExit", NS] in s.topics()


def test_exit_recorded_with_no_client_connected(make_shim):
    s = make_shim("rpc-offline", ["sh", "-c", "sleep 0.5; exit 7"])
    s.create()
    s.ok("Start")
    time.sleep(1.5)  # no connection open while it exits
    st = s.ok("State")
    assert st["status"] == "STOPPED" and st["exit_status"] == "7"
    assert s.ok("Wait")["exit_status"] == "7"


def test_output_nobody_reads_never_blocks_the_container(make_shim, tmp_path):
    os.makedirs(tmp_path / "s")
    out = fifo(tmp_path / "s" / "out.fifo")  # never opened by anyone but the shim
    err = tmp_path / "s" / "err.log"
    s = make_shim("rpc-noreader", ["sh", "-c", "head -c 8000000 /dev/zero; echo wrote-all >&2"])
    s.create(stdout=out, stderr=f"file://{err}")
    s.ok("Start")
    assert s.ok("Wait", timeout=30)["exit_status"] == "0"
    assert "wrote-all" in err.read_text()
    # and the shim did not keep the dropped output
    with open(f"/proc/{s.proc.pid}/status") as f:
        rss_kb = int([l for l in f if l.startswith("VmRSS")][0].split()[1])
    assert rss_kb < 16 * 1024


def test_stdin_and_close_io(make_shim, tmp_path):
    os.makedirs(tmp_path / "s")
    stdin = fifo(tmp_path / "s" / "in.fifo")
    out = tmp_path / "s" / "out.log"
    s = make_shim("rpc-stdin", ["sh", "-c", "cat; echo cat-done"])
    s.create(stdin=stdin, stdout=f"file://{out}")
    s.ok("Start")
    w = os.open(stdin, os.O_WRONLY)
    os.write(w, b"through-the-shim\n")
    s.ok("CloseIO")
    assert s.ok("Wait", timeout=10)["exit_status"] == "0"
    os.close(w)
    assert out.read_text() == "through-the-shim\ncat-done\n"


def test_exec_terminal_and_resize(make_shim, tmp_path):
    os.makedirs(tmp_path / "s")
    s = make_shim("rpc-tty", ["sleep", "1000"])
    s.create()
    s.ok("Start")
    out = tmp_path / "s" / "tty.log"
    spec = write_process(tmp_path / "tty.json", ["sh", "-c", "sleep 0.5; test -t 0 && stty size"],
                         terminal=True)
    s.ok("Exec", exec_id="t", spec_file=spec, terminal=1, stdout=f"file://{out}")
    s.ok("Start", exec_id="t")
    s.ok("ResizePty", exec_id="t", width=123, height=45)
    assert s.ok("Wait", exec_id="t")["exit_status"] == "0"
    assert wait_for(lambda: "45 123" in out.read_text()), out.read_text()


def test_bad_create_leaves_nothing_and_shim_serves_on(make_shim):
    s = make_shim("rpc-bad", ["no-such-binary"])
    r = s.call("Create", id=s.cid, bundle=s.bundle, options_type="example.com/Other")
    assert r["error"] == "INVALID_ARGUMENT" and "options" in r["message"], r["raw"]
    r = s.call("Create", id=s.cid, bundle=s.bundle, binary_name=BERTH, root=s.root)
    assert r["rc"] == 1 and "no-such-binary" in r["message"], r["raw"]
    assert not os.path.exists(os.path.join(s.root, NS, "rpc-bad"))
    assert not cgroup_dirs_named("rpc-bad")
    assert s.call("State", id=s.cid)["error"] == "NOT_FOUND"
    assert s.alive() and "shim_pid" in s.ok("Connect")


def test_malformed_frames_never_crash_or_lose_the_exit(make_shim):
    s = make_shim("rpc-frames", ["sh", "-c", "exit 9"])
    s.create()
    s.ok("Start")
    assert s.ok("Wait")["exit_status"] == "9"

    def probe(name):
        p = subprocess.run([RPC, s.sock, name], capture_output=True, text=True, timeout=60)
        assert s.alive(), f"the shim died on {name}"
        return p.stdout
    assert "response error RESOURCE_EXHAUSTED" in probe("probe-oversized")
    assert "response error INVALID_ARGUMENT" in probe("probe-garbage")
    assert "stream=2 response error" in probe("probe-even-stream")
    assert "response error UNIMPLEMENTED" in probe("probe-unknown-method")
    assert "stream=7 response error INVALID_ARGUMENT" in probe("probe-bad-request-message")
    # A frame of an unknown type is ignored, as Go's ttrpc does, not a reason
    # to drop the connection: the request after it on the same connection is
    # answered.
    assert probe("probe-unknown-frame-type") == "stream=11 response ok\n"
    probe("probe-half-frame")
    many = probe("probe-many-inflight")
    assert many.count("response ok") == 50 and len({l.split()[0] for l in many.splitlines()}) == 50
    # a client that gives up on a Wait mid-request
    s2 = make_shim("rpc-frames-2", ["sleep", "2"], subdir="s2")
    s2.create()
    s2.ok("Start")
    assert s2.call("Wait", id=s2.cid, timeout=1)["error"] == "DEADLINE_EXCEEDED"
    assert s2.ok("Wait")["exit_status"] == "0"
    assert s2.alive()
    st = s.ok("State")
    assert st["status"] == "STOPPED" and st["exit_status"] == "9"
    assert s.ok("Delete")["exit_status"] == "9"


def test_oom_kill_is_published(make_shim):
    def limit_memory(spec):
        spec["linux"].setdefault("resources", {})["memory"] = {"limit": 16 * 1024 * 1024,
                                                               "swap": 16 * 1024 * 1024}
    # tail keeps a line without a newline in memory until the cgroup's OOM killer acts
    s = make_shim("rpc-oom", ["sh", "-c", "head -c 200000000 /dev/zero | tail; exit 0"],
                  edit=limit_memory)
    s.create()
    s.ok("Start")
    s.ok("Wait", timeout=60)
    assert wait_for(lambda: ["/tasks/oom", "rpc-oom"] in [t[:2] for t in s.topics()], timeout=5), \
        s.topics()


def length_delimited(field, data):
    """One protobuf length-delimited field (enough to hand-encode options)."""
    out, n = bytearray([field << 3 | 2]), len(data)
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + data


def test_start_and_delete_commands(tmp_path, base_rootfs):
    # The binary contract: `start` starts the long-lived shim in its own
    # session on a socket under /run/containerd/s, writes address and
    # shim.pid in the bundle, joins the shim_cgroup option's cgroup (options
    # arrive on stdin as an Any), and prints the address; `delete` prints a
    # DeleteResponse.
    bundle = str(tmp_path / "bundle")
    bundle_fixture.make_bundle(bundle, ["sleep", "1000"], runtime=BERTH, rootfs_source=base_rootfs)
    cg = f"berth-shimcg-{os.getpid()}"
    os.mkdir(f"/sys/fs/cgroup/pids/{cg}")
    options = length_delimited(3, f"/{cg}".encode())
    any_ = length_delimited(1, b"containerd.runc.v1.Options") + length_delimited(2, options)
    flags = ["-namespace", NS, "-address", str(tmp_path / "containerd.sock"),
             "-publish-binary", "/usr/bin/containerd", "-id", "start-cmd"]
    shim = None
    try:
        p = subprocess.run([SHIM, *flags, "start"], cwd=bundle, input=any_, capture_output=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr
        address = p.stdout.decode()
        assert address.startswith("unix:///run/containerd/s/berth-") and "\n" not in address
        with open(os.path.join(bundle, "address")) as f:
            assert f.read() == address
        with open(os.path.join(bundle, "shim.pid")) as f:
            shim = int(f.read())
        with open(f"/proc/{shim}/stat") as f:
            assert int(f.read().rsplit(")", 1)[1].split()[3]) == shim  # session leader
        assert str(shim) in open(f"/sys/fs/cgroup/pids/{cg}/cgroup.procs").read().split()
        with open("/proc/self/oom_score_adj") as a, open(f"/proc/{shim}/oom_score_adj") as b:
            assert int(b.read()) == min(int(a.read()) + 1, 1000)
        sock = address[len("unix://"):]
        r = subprocess.run([RPC, sock, "Connect", "id=start-cmd"], capture_output=True, text=True)
        assert f"shim_pid={shim}" in r.stdout, r.stdout + r.stderr
        subprocess.run([RPC, sock, "Shutdown", "id=start-cmd"], capture_output=True, check=True)
        assert wait_for(lambda: not os.path.exists(f"/proc/{shim}") or
                        open(f"/proc/{shim}/stat").read().rsplit(")", 1)[1].split()[0] == "Z", timeout=10)
        assert not os.path.exists(sock)
        d = subprocess.run([SHIM, *flags, "-bundle", bundle, "delete"], capture_output=True, timeout=30)
        assert d.returncode == 0, d.stderr
        # DeleteResponse{exit_status: 137 (field 2), exited_at (field 3)}
        assert d.stdout.startswith(b"\x10\x89\x01\x1a"), d.stdout
    finally:
        if shim and os.path.exists(f"/proc/{shim}"):
            os.kill(shim, signal.SIGKILL)
        wait_for(lambda: not open(f"/sys/fs/cgroup/pids/{cg}/cgroup.procs").read().strip())
        os.rmdir(f"/sys/fs/cgroup/pids/{cg}")


def test_runc_as_the_runtime_binary(make_shim, tmp_path):
    # Runtime option BinaryName picks the OCI runtime the shim drives; runc
    # must work as well as berth. (crun 1.8 refuses this host's hybrid
    # cgroups outside a private mount namespace.)
    binary = shutil.which("runc")
    if binary is None:
        pytest.skip("runc is not installed")
    os.makedirs(tmp_path / "s")
    out = tmp_path / "s" / "out.log"
    s = make_shim("rpc-runc", ["sh", "-c", "echo via-runc; exit 3"])
    s.ok("Create", bundle=s.bundle, binary_name=binary, root=s.root, stdout=f"file://{out}")
    s.ok("Start")
    assert s.ok("Wait")["exit_status"] == "3"
    assert out.read_text() == "via-runc\n"
    s.ok("Delete")
    assert not os.path.exists(os.path.join(s.root, NS, s.cid))
