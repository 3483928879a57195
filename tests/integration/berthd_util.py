"""A private berthd for integration tests: its own socket, --root and --state
in a fresh temporary directory, a small gRPC client over the berth.v1 API
(stubs generated at test time with grpc_tools), and a teardown that removes
every container, stops berthd and proves nothing is left on the host.

Use from a test module with `from berthd_util import *`: the fixtures
(`berth_api`, `berthd`) are defined here and picked up through that import.
"""
import glob
import importlib
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from types import SimpleNamespace

import grpc
import pytest

from conftest import ROOT, wait_for

__all__ = ["berth_api", "berthd", "BerthD", "Client", "Attached", "Subscriber", "wait_for",
           "new_id", "shim_pids_under", "mounts_under", "cgroup_dirs", "threads_of",
           "proc_state", "ROOT", "BUILD", "BERTHD", "PYTHON", "rpc_code"]

BUILD = os.environ.get("BERTH_BUILD", os.path.join(ROOT, "build"))
BERTHD = os.path.join(BUILD, "supervisor", "berthd")
PYTHON = "/usr/bin/python3"
PROTOS = ["berth/v1/containers.proto", "berth/v1/tasks.proto", "berth/v1/events.proto",
          "berth/v1/system.proto"]
NS_KEY = "berth-namespace"
UNARY_TIMEOUT = 60  # a default deadline: a hung berthd fails the call, not the run


def new_id(prefix="bd"):
    return prefix + uuid.uuid4().hex[:16]


def rpc_code(fn, *args, **kw):
    """The gRPC status code of a call (OK when it succeeds)."""
    try:
        fn(*args, **kw)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


# ---------------------------------------------------------------------------
# Host inspection

def shim_pids_under(path):
    """berth-shim processes whose command line mentions `path`."""
    found = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not argv or not argv[0]:
            continue
        exe = os.path.basename(argv[0].decode(errors="replace"))
        if exe not in ("berth-shim", "containerd-shim-berth-v2"):
            continue
        if any(path.encode() in a for a in argv):
            found.append(int(os.path.basename(d)))
    return found


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == path or p.startswith(path.rstrip("/") + "/")]


def cgroup_dirs(ns, cid):
    return glob.glob(f"/sys/fs/cgroup/*/berth/{ns}/{cid}")


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def proc_state(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("State:"):
                return line.split()[1]
    return "?"


# ---------------------------------------------------------------------------
# Stubs

@pytest.fixture(scope="session")
def berth_api(tmp_path_factory):
    """The berth.v1 Python modules, generated from proto/ into a temp dir."""
    out = str(tmp_path_factory.mktemp("berth_api"))
    subprocess.run([PYTHON, "-m", "grpc_tools.protoc", f"-I{ROOT}/proto", "-I/usr/include",
                    f"--python_out={out}", f"--grpc_python_out={out}", *PROTOS],
                   check=True, capture_output=True)
    sys.path.insert(0, out)
    mods = {}
    for name in ("containers", "tasks", "events", "system"):
        mods[name] = importlib.import_module(f"berth.v1.{name}_pb2")
        mods[name + "_grpc"] = importlib.import_module(f"berth.v1.{name}_pb2_grpc")
    return SimpleNamespace(c=mods["containers"], cg=mods["containers_grpc"], t=mods["tasks"],
                           tg=mods["tasks_grpc"], e=mods["events"], eg=mods["events_grpc"],
                           s=mods["system"], sg=mods["system_grpc"], dir=out)


class _Details(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


class _Namespace(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                 grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the berth-namespace metadata to every call; a default deadline to
    unary calls that have none (Wait is exempt: it may wait long)."""

    def __init__(self, ns):
        self.ns = ns

    def _details(self, d, unary):
        md = list(d.metadata or [])
        if self.ns is not None and not any(k == NS_KEY for k, _ in md):
            md.append((NS_KEY, self.ns))
        timeout = d.timeout
        if unary and timeout is None and not d.method.endswith("/Wait"):
            timeout = UNARY_TIMEOUT
        return _Details(d.method, timeout, md, d.credentials, d.wait_for_ready,
                        getattr(d, "compression", None))

    def intercept_unary_unary(self, cont, d, req):
        return cont(self._details(d, True), req)

    def intercept_unary_stream(self, cont, d, req):
        return cont(self._details(d, False), req)

    def intercept_stream_unary(self, cont, d, reqs):
        return cont(self._details(d, True), reqs)

    def intercept_stream_stream(self, cont, d, reqs):
        return cont(self._details(d, False), reqs)


# ---------------------------------------------------------------------------
# Attach and Subscribe sessions

class Attached:
    """One Attach stream: requests go through a queue, responses are collected
    by a thread (stdout and stderr apart, then the exit)."""

    def __init__(self, client, cid, exec_id=""):
        self.api = client.api
        self.q = queue.Queue()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.messages = []
        self.acked = threading.Event()
        self.done = threading.Event()
        self.exited = None  # exit status once the exited message came
        self.error = None
        self._closed = False
        self.q.put(self.api.t.AttachRequest(container_id=cid, exec_id=exec_id))
        self.call = client.T.Attach(self._requests())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _requests(self):
        while True:
            try:
                r = self.q.get(timeout=0.2)
            except queue.Empty:
                if self._closed:
                    return
                continue
            if r is None:
                return
            yield r

    def _read(self):
        try:
            for m in self.call:
                self.messages.append(m)
                if not self.acked.is_set():
                    self.acked.set()
                    if not (m.stdout or m.stderr or m.exited):
                        continue
                self.stdout += m.stdout
                self.stderr += m.stderr
                if m.exited:
                    self.exited = m.exit_status
        except grpc.RpcError as e:
            self.error = e
        finally:
            self._closed = True
            self.acked.set()
            self.done.set()

    def wait_ack(self, timeout=15):
        assert self.acked.wait(timeout), "no Attach ack"
        if self.error is not None:
            raise self.error
        return self

    def send(self, data):
        data = data if isinstance(data, bytes) else data.encode()
        self.q.put(self.api.t.AttachRequest(stdin=data))

    def close_stdin(self):
        self.q.put(self.api.t.AttachRequest(close_stdin=True))

    def resize(self, width, height):
        self.q.put(self.api.t.AttachRequest(width=width, height=height))

    def hang_up(self):
        """Ends our side of the stream (half-close)."""
        self.q.put(None)

    def cancel(self):
        self._closed = True
        self.call.cancel()

    def wait(self, timeout=30):
        assert self.done.wait(timeout), f"Attach did not end; stdout so far {bytes(self.stdout)!r}"
        self._closed = True
        return bytes(self.stdout), bytes(self.stderr), self.exited

    def wait_output(self, text, timeout=15, stream="stdout"):
        buf = self.stdout if stream == "stdout" else self.stderr
        want = text.encode() if isinstance(text, str) else text
        assert wait_for(lambda: want in bytes(buf), timeout), \
            f"{want!r} not in {stream}: {bytes(buf)!r}"


class Subscriber:
    """An Events.Subscribe stream read by a thread into `items`."""

    def __init__(self, client, after_seq=0, from_now=False, filter=None):
        e = client.api.e
        req = e.SubscribeRequest(after_seq=after_seq, from_now=from_now)
        if filter is not None:
            req.filter.CopyFrom(filter)
        self.items = []
        self.error = None
        self.done = threading.Event()
        self.call = client.E.Subscribe(req)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for m in self.call:
                self.items.append(m)
        except grpc.RpcError as err:
            self.error = err
        finally:
            self.done.set()

    def events(self):
        return [m.event for m in list(self.items) if m.WhichOneof("kind") == "event"]

    def seqs(self):
        return [ev.seq for ev in self.events()]

    def cancel(self):
        self.call.cancel()
        self.done.wait(10)


# ---------------------------------------------------------------------------
# The client

class Client:
    """Stubs over one channel, in one namespace, and helpers. Every container
    made through it is remembered for the fixture's cleanup."""

    def __init__(self, bd, ns="default", channel=None):
        self.bd = bd
        self.api = bd.api
        self.ns = ns
        self.raw_channel = channel or grpc.insecure_channel("unix://" + bd.address)
        self.channel = grpc.intercept_channel(self.raw_channel, _Namespace(ns))
        a = self.api
        self.C = a.cg.ContainersStub(self.channel)
        self.T = a.tg.TasksStub(self.channel)
        self.E = a.eg.EventsStub(self.channel)
        self.S = a.sg.SystemStub(self.channel)
        self.N = a.sg.NamespacesStub(self.channel)

    def close(self):
        self.raw_channel.close()

    def in_ns(self, ns):
        return self.bd.client(ns)

    # --- containers ---
    def create(self, args, cid=None, name="", labels=None, rootfs=None, runtime="", **process):
        cid = cid or new_id()
        self.bd.made.add((self.ns, cid))
        c = self.api.c
        req = c.CreateContainerRequest(
            id=cid, name=name, labels=labels or {}, runtime=runtime,
            process=c.ProcessConfig(args=list(args), **process),
            rootfs=c.Rootfs(path=rootfs or self.bd.rootfs))
        return self.C.Create(req).container

    def get(self, ref):
        return self.C.Get(self.api.c.GetContainerRequest(id=ref)).container

    def list(self, **filters):
        return list(self.C.List(self.api.c.ListContainersRequest(**filters)).containers)

    def delete(self, cid, force=True):
        self.C.Delete(self.api.c.DeleteContainerRequest(id=cid, force=force))

    # --- tasks ---
    def create_task(self, cid, attach=False, stdin=False, terminal=False):
        t = self.api.t
        return self.T.Create(t.CreateTaskRequest(
            container_id=cid, stdio=t.Stdio(attach=attach, stdin=stdin, terminal=terminal))).task

    def start(self, cid, exec_id=""):
        return self.T.Start(self.api.t.StartTaskRequest(container_id=cid, exec_id=exec_id)).pid

    def task(self, cid):
        return self.T.Get(self.api.t.GetTaskRequest(container_id=cid)).task

    def status(self, cid):
        return self.task(cid).init.status

    def wait(self, cid, exec_id="", timeout=60):
        return self.T.Wait(self.api.t.WaitTaskRequest(container_id=cid, exec_id=exec_id),
                           timeout=timeout)

    def kill(self, cid, signal=0, exec_id="", all=False, **kw):
        self.T.Kill(self.api.t.KillTaskRequest(container_id=cid, exec_id=exec_id, signal=signal,
                                               all=all), **kw)

    def delete_task(self, cid, force=False):
        return self.T.Delete(self.api.t.DeleteTaskRequest(container_id=cid, force=force))

    def attach(self, cid, exec_id=""):
        return Attached(self, cid, exec_id)

    def run(self, args, cid=None, attach=False, stdin=False, terminal=False, **kw):
        """Creates a container and its task and starts it; with attach, the
        Attach stream is open (acked) before the start, so no output is lost.
        Returns (container id, Attached or None)."""
        cid = self.create(args, cid=cid, terminal=terminal, **kw).id
        self.create_task(cid, attach=attach or terminal, stdin=stdin, terminal=terminal)
        a = None
        if attach or terminal:
            a = self.attach(cid).wait_ack()
        self.start(cid)
        return cid, a

    def run_to_exit(self, args, stdin_data=None, timeout=30, **kw):
        """Runs args to their end; returns (stdout, stderr, exit status)."""
        cid, a = self.run(args, attach=True, stdin=stdin_data is not None, **kw)
        if stdin_data is not None:
            a.send(stdin_data)
            a.close_stdin()
        out, err, status = a.wait(timeout)
        return out, err, status

    def exec(self, cid, args, attach=True, stdin=False, terminal=False, exec_id="", **kw):
        t = self.api.t
        return self.T.Exec(t.ExecProcessRequest(
            container_id=cid, exec_id=exec_id, args=list(args),
            stdio=t.Stdio(attach=attach, stdin=stdin, terminal=terminal), **kw)).exec_id

    def exec_to_exit(self, cid, args, timeout=30, **kw):
        exec_id = self.exec(cid, args, **kw)
        a = self.attach(cid, exec_id).wait_ack()
        self.start(cid, exec_id)
        out, err, status = a.wait(timeout)
        return exec_id, out, err, status

    def wait_status(self, cid, status, timeout=15):
        return wait_for(lambda: self.status(cid) == status, timeout)

    # --- events and system ---
    def events(self, after_seq=0, limit=0, **filter):
        e = self.api.e
        r = self.E.List(e.ListEventsRequest(after_seq=after_seq, limit=limit,
                                            filter=e.EventFilter(**filter)))
        return r

    def subscribe(self, after_seq=0, from_now=False, **filter):
        f = self.api.e.EventFilter(**filter) if filter else None
        return Subscriber(self, after_seq=after_seq, from_now=from_now, filter=f)

    def info(self):
        return self.S.Info(self.api.s.InfoRequest())


# ---------------------------------------------------------------------------
# The daemon

class BerthD:
    def __init__(self, base, api, rootfs):
        self.base = base
        self.api = api
        self.rootfs = rootfs
        self.address = os.path.join(base, "berthd.sock")
        self.root = os.path.join(base, "root")
        self.state = os.path.join(base, "state")
        self.log_path = os.path.join(base, "berthd.log")
        self.proc = None
        self.made = set()  # (namespace, id) of every container a test made
        self.stopped_pids = set()  # processes a test SIGSTOPped (continued at teardown)
        self.clients = []
        self.starts = 0

    def start(self, timeout=30):
        assert self.proc is None or self.proc.poll() is not None, "berthd already running"
        log = open(self.log_path, "a")
        log.write(f"--- start {self.starts} at {time.time():.3f}\n")
        log.flush()
        self.proc = subprocess.Popen([BERTHD, "--address", self.address, "--root", self.root,
                                      "--state", self.state], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.starts += 1
        ok = wait_for(self._answers, timeout)
        assert ok, f"berthd did not start: {self.log()[-2000:]}"
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"berthd exited ({self.proc.returncode}): {self.log()[-2000:]}")
        if not os.path.exists(self.address):
            return False
        ch = grpc.insecure_channel("unix://" + self.address)
        try:
            self.api.sg.SystemStub(ch).Version(self.api.s.VersionRequest(), timeout=2)
            return True
        except grpc.RpcError:
            return False
        finally:
            ch.close()

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM; returns berthd's exit status."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)

    def restart(self):
        self.stop()
        return self.start()

    def client(self, ns="default"):
        c = Client(self, ns)
        self.clients.append(c)
        return c

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def namespaces(self):
        c = self.client()
        return [n.name for n in c.N.List(self.api.s.ListNamespacesRequest()).namespaces]

    def bundles_left(self):
        d = os.path.join(self.state, "bundles")
        return sorted(os.path.relpath(p, d) for p in glob.glob(os.path.join(d, "*", "*")))


@pytest.fixture
def berthd(berth_api, base_rootfs):
    """A berthd on a fresh temporary directory (short: unix socket paths are
    limited to 108 bytes), started; cleaned up and checked at teardown."""
    base = tempfile.mkdtemp(prefix="bdt", dir="/tmp")
    os.chmod(base, 0o755)
    bd = BerthD(base, berth_api, base_rootfs)
    try:
        bd.start()
    except BaseException:
        if bd.running():
            bd.proc.kill()
            bd.proc.wait(10)
        subprocess.run(["rm", "-rf", "--one-file-system", base], check=False)
        raise
    yield bd
    problems = _teardown(bd)
    # Shown by pytest with a failing test's captured output.
    print(f"--- berthd log ({bd.log_path}), last lines:\n" + "\n".join(bd.log().splitlines()[-40:]))
    if not problems:
        subprocess.run(["rm", "-rf", "--one-file-system", base], check=False)
    assert not problems, "berthd fixture teardown: " + "; ".join(problems) + \
        f" (berthd log: {bd.log_path})"


def _teardown(bd):
    problems = []
    for pid in bd.stopped_pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    if not bd.running():
        rc = bd.proc.returncode
        if rc not in (0, -signal.SIGKILL, None):
            problems.append(f"berthd had exited with {rc}")
        bd.start()
    # Remove every container of every namespace (also those a test made by hand).
    try:
        c = bd.client()
        for ns in bd.namespaces():
            cn = bd.client(ns)
            for ctr in cn.list():
                bd.made.add((ns, ctr.id))
                try:
                    cn.delete(ctr.id, force=True)
                except grpc.RpcError as e:
                    problems.append(f"delete {ns}/{ctr.id}: {e.code()} {e.details()}")
            if ns != "default":
                rpc_code(c.N.Delete, bd.api.s.DeleteNamespaceRequest(name=ns))
    except grpc.RpcError as e:
        problems.append(f"cleanup: {e.code()} {e.details()}")
    for cl in bd.clients:
        cl.close()
    try:
        rc = bd.stop()
        if rc != 0:
            problems.append(f"berthd exited with {rc} on SIGTERM")
    except subprocess.TimeoutExpired:
        problems.append("berthd did not exit within 30 s of SIGTERM (killed with -9)")
        bd.kill9()
    log = bd.log()
    for bad in ("terminate called", "Segmentation", "AddressSanitizer", "Aborted", "FATAL"):
        if bad in log:
            problems.append(f"berthd log has {bad!r}")

    # What must be gone. Shims exit shortly after their Shutdown.
    wait_for(lambda: not shim_pids_under(bd.base), 15)
    shims = shim_pids_under(bd.base)
    if shims:
        problems.append(f"berth-shim processes left: {shims}")
    left_bundles = bd.bundles_left()
    if left_bundles:
        problems.append(f"bundles left in {bd.state}/bundles: {left_bundles}")
    sockets = sorted(os.listdir(os.path.join(bd.state, "s")))
    if sockets:
        problems.append(f"shim sockets left in {bd.state}/s: {sockets}")
    runtime_dir = os.path.join(bd.state, "runtime")
    # The runtime's seccomp program cache is not a container's state.
    left_runtime = sorted(os.path.relpath(p, runtime_dir)
                          for p in glob.glob(os.path.join(runtime_dir, "*", "*"))
                          if os.path.basename(p) != "@seccomp-cache")
    if left_runtime:
        problems.append(f"runtime state left in {runtime_dir}: {left_runtime}")
    containers_dir = os.path.join(bd.root, "containers")
    left_upper = sorted(os.path.relpath(p, containers_dir)
                        for p in glob.glob(os.path.join(containers_dir, "*", "*")))
    if left_upper:
        problems.append(f"container dirs left in {containers_dir}: {left_upper}")
    wait_for(lambda: not mounts_under(bd.base), 5)
    mounts = mounts_under(bd.base)
    if mounts:
        problems.append(f"mounts left: {mounts}")
    cgroups = []
    for ns, cid in sorted(bd.made):
        cgroups += cgroup_dirs(ns, cid)
    if cgroups:
        problems.append(f"cgroups left: {cgroups}")
    if problems:
        _scrub(bd, shims, mounts, cgroups)
    return problems


def _scrub(bd, shims, mounts, cgroups):
    """After a failed check: remove what this test's berthd left (only ours),
    so that one failure does not leak into the machine."""
    for pid in shims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for d in cgroups:  # a frozen process takes its SIGKILL only once thawed
        if os.path.exists(os.path.join(d, "freezer.state")):
            try:
                with open(os.path.join(d, "freezer.state"), "w") as f:
                    f.write("THAWED")
            except OSError:
                pass
    for d in cgroups:
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                for pid in f.read().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
        except OSError:
            pass
    for m in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", m], check=False, capture_output=True)
    for d in cgroups:
        wait_for(lambda: _rmdir(d), 5)


def _rmdir(d):
    try:
        os.rmdir(d)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False
