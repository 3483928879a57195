#!/usr/bin/python3
"""berthd beside containerd 1.6 and dockerd 20.10 (Debian's), in one run, on
one busybox rootfs, without networking: start latency and throughput, the
memory of each supervisor with its shims, and recovery after a kill -9.

Peers (each started privately in a temp dir, one at a time, and stopped
before the next one starts):
  berthd      its gRPC API from Python (Containers.Create, Tasks.Create,
              Tasks.Start), and `berthctl run -d` when build/supervisor/
              berthctl/berthctl exists; berth-shim and berth underneath
  containerd  `ctr run -d` of an imported OCI image (overlayfs snapshot) with
              the runc shim and Debian's runc: what `ctr run -d` users get
  containerd-berth  the same with io.containerd.berth.v2 (berth-shim, berth)
  dockerd     `docker run -d --network none` of a `docker import`ed image,
              berth as the default runtime (--add-runtime), on a private
              containerd of its own

For each peer: COUNT containers `run -d` one after the other (the memory
of the daemon(s) and every shim, Pss and Private_Dirty summed from
/proc/PID/smaps_rollup, is read at 20 and at COUNT running), then kill -9
of the daemon and its restart (time to the first answer, time until all
COUNT are listed running), then all removed; then COUNT from CLIENTS
concurrent clients, and all removed.

A start is timed from the moment the client is started until the kernel
reports the execve of the container's command (`/bin/sleep 100000`), the
same for every peer: a proc-connector (netlink) exec event whose process
has this run's marker variable in its environment. So the time is until
the process inside runs, not until the CLI returns.

Runs as root. Everything lives in a temp dir that is unmounted and removed
at the end; every container is removed, every daemon stopped.

    bench/supervisor.py [--count N] [--clients N] [--memory-at N] [--skip-docker]
                        [--peers berthd,containerd,containerd-berth,dockerd]
                        [--skip-recovery]
"""
import argparse
import concurrent.futures
import errno
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import bundle as bundle_fixture  # noqa: E402
from peers import (DOCKER, Containerd, Dockerd, kill9, missing_cgroups, oci_image_tar,  # noqa: E402
                   parent_pid, reap, remove_cgroups, remove_dirs, remove_stale_sockets,
                   smaps_rollup, status_field, stop_process, unmount_all_under, wait_for)

BUILD = os.path.join(ROOT, "build")
BINARIES = {
    "berthd": os.path.join(BUILD, "supervisor", "berthd"),
    "berth-shim": os.path.join(BUILD, "shim", "berth-shim"),
    "berth": os.path.join(BUILD, "runtime", "berth"),
    "berthctl": os.path.join(BUILD, "supervisor", "berthctl", "berthctl"),  # optional
}
PROTOS = ["berth/v1/containers.proto", "berth/v1/tasks.proto", "berth/v1/events.proto",
          "berth/v1/system.proto"]
COMMAND = ["/bin/sleep", "100000"]  # absolute: a --rootfs container has no PATH
MARKER = "BERTH_BENCH"
ALL_PEERS = ["berthd", "containerd", "containerd-berth", "dockerd"]
DEFAULT_PEERS = ",".join(ALL_PEERS)
SETTLE_S = 2  # before memory is read: let the last start's work finish


# ---- readiness: the exec of the container's command -------------------------

NETLINK_CONNECTOR = 11
CN_IDX_PROC = CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN, PROC_CN_MCAST_IGNORE = 1, 2
PROC_EVENT_EXEC = 2
NLMSG_DONE = 3
SO_RCVBUFFORCE = 33


class ExecWatcher:
    """The kernel's exec events (proc connector): for each, the environment
    of the process that exec'd is read, and one with `BERTH_BENCH=TOKEN-NAME`
    is container NAME's command starting. The event's timestamp is
    CLOCK_MONOTONIC, as time.monotonic_ns(). Should the socket overflow
    (ENOBUFS), /proc is scanned for the names still awaited, timed at the
    scan (later than the real exec: counted in `late`)."""

    def __init__(self, token):
        self.token = token
        self.prefix = f"{MARKER}={token}-".encode()
        self.cond = threading.Condition()
        self.seen = {}  # name -> (exec time ns, pid)
        self.late = 0
        self.stopped = False
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.sock.bind((os.getpid(), CN_IDX_PROC))
        self._control(PROC_CN_MCAST_LISTEN)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def marker(self, name):
        return f"{MARKER}={self.token}-{name}"

    def _control(self, op):
        payload = struct.pack("=I", op)
        cn = struct.pack("=IIIIHH", CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(payload), 0) + payload
        self.sock.send(struct.pack("=IHHII", 16 + len(cn), NLMSG_DONE, 0, 0, os.getpid()) + cn)

    def _loop(self):
        while not self.stopped:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    self.scan()
                    continue
                if self.stopped:
                    return
                raise
            offset = 0
            while offset + 60 <= len(data):
                length = struct.unpack_from("=I", data, offset)[0]
                # nlmsghdr (16), cn_msg (20), proc_event: what, cpu, timestamp_ns, data
                what, _, stamp = struct.unpack_from("=IIQ", data, offset + 36)
                if what == PROC_EVENT_EXEC:
                    _, tgid = struct.unpack_from("=ii", data, offset + 52)
                    self._check(tgid, stamp)
                offset += max((length + 3) & ~3, 16)

    def _check(self, pid, stamp, late=False):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            return
        start = environ.find(self.prefix)
        if start < 0 or (start > 0 and environ[start - 1] != 0):
            return
        end = environ.find(b"\0", start)
        name = environ[start + len(self.prefix):end if end >= 0 else None].decode()
        with self.cond:
            if name not in self.seen:
                self.seen[name] = (stamp, pid)
                self.late += late
                self.cond.notify_all()

    def scan(self):
        """Every process with this run's marker (see `_check`), timed now."""
        now = time.monotonic_ns()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                self._check(int(entry), now, late=True)

    def wait(self, name, timeout=60):
        """(exec time ns, pid) of NAME's command."""
        with self.cond:
            if self.cond.wait_for(lambda: name in self.seen, timeout):
                return self.seen[name]
        self.scan()
        with self.cond:
            if name in self.seen:
                return self.seen[name]
        raise SystemExit(f"{name}: its command did not start within {timeout} s")

    def leftovers(self):
        """Pids of processes that still carry this run's marker."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/environ", "rb") as f:
                        if self.prefix in f.read():
                            found.append(int(entry))
                except OSError:
                    pass
        return found

    def stop(self):
        self.stopped = True
        self.thread.join(timeout=2)
        try:
            self._control(PROC_CN_MCAST_IGNORE)
        except OSError:
            pass
        self.sock.close()


# ---- starting containers ----------------------------------------------------

class Start:
    """One container's start: client started (t0), client returned, command exec'd."""

    def __init__(self, name, t0, returned, ready, pid):
        self.name, self.t0, self.returned, self.ready, self.pid = name, t0, returned, ready, pid
        self.ready_ms = (ready - t0) / 1e6
        self.returned_ms = (returned - t0) / 1e6
        self.end = max(returned, ready)


def start_one(run, name, watcher):
    t0 = time.monotonic_ns()
    run(name, watcher.marker(name))
    returned = time.monotonic_ns()
    ready, pid = watcher.wait(name)
    return Start(name, t0, returned, ready, pid)


def summary(starts, span_ns):
    ready = sorted(s.ready_ms for s in starts)
    return dict(n=len(starts), median=statistics.median(ready),
                p90=statistics.quantiles(ready, n=10)[-1] if len(ready) > 1 else ready[0],
                returned=statistics.median(s.returned_ms for s in starts),
                per_s=len(starts) / (span_ns / 1e9), span_s=span_ns / 1e9)


def sequential(run, names, watcher, pause_at, on_pause):
    """One start after the other (the next when the client has returned and
    the command runs); `on_pause(n, starts)` after the n-th for n in
    pause_at, its time not counted."""
    starts = []
    for i, name in enumerate(names):
        starts.append(start_one(run, name, watcher))
        if i + 1 in pause_at:
            on_pause(i + 1, starts)
    return starts, summary(starts, sum(s.end - s.t0 for s in starts))


def concurrently(make_run, names, watcher, clients):
    """`clients` threads, each with its own client, taking the next name
    until there is none; timed from the first start to the last exec."""
    queue = iter(names)
    lock = threading.Lock()
    starts = []

    def worker():
        run = make_run()
        while True:
            with lock:
                name = next(queue, None)
            if name is None:
                return
            s = start_one(run, name, watcher)
            with lock:
                starts.append(s)

    t0 = time.monotonic_ns()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker) for _ in range(clients)]:
            f.result()
    return starts, summary(starts, max(s.end for s in starts) - t0)


# ---- memory -------------------------------------------------------------------

def memory(daemons, init_pids):
    """Rss, Pss, Private_Dirty (kB) of the daemons (label -> pid) and of the
    shims: the parents of the containers' processes."""
    shims = {parent_pid(pid) for pid in init_pids}
    result = {"daemons": {}, "shims": dict(Rss=0, Pss=0, Private_Dirty=0), "shim_count": len(shims),
              "shim_threads": 0, "shim_exes": set()}
    for label, pid in daemons.items():
        result["daemons"][label] = smaps_rollup(pid)
        result["daemons"][label]["Threads"] = int(status_field(pid, "Threads"))
    for pid in shims:
        for key, value in smaps_rollup(pid).items():
            result["shims"][key] += value
        result["shim_threads"] += int(status_field(pid, "Threads"))
        result["shim_exes"].add(os.path.basename(os.readlink(f"/proc/{pid}/exe")))
    result["total"] = {key: result["shims"][key] + sum(d[key] for d in result["daemons"].values())
                       for key in ("Rss", "Pss", "Private_Dirty")}
    if len(shims) != len(init_pids):
        print(f"warning: {len(init_pids)} containers, {len(shims)} shims", file=sys.stderr)
    return result


# ---- the peers ----------------------------------------------------------------

def contention():
    """How much one thread is slowed by everything else on the machine: wall
    time over CPU time of a 50 ms busy loop (1.0: a core to itself; N: it
    shares one with N-1 others on average)."""
    wall, cpu = time.monotonic(), time.thread_time()
    while time.thread_time() - cpu < 0.05:
        pass
    return (time.monotonic() - wall) / (time.thread_time() - cpu)


def timed(probe):
    t0 = time.monotonic()
    ok = probe()
    return time.monotonic() - t0, ok


def cli_runner(what, argv_of, env=None):
    """A run(name, marker) that starts one container with the CLI command
    line argv_of(name, marker)."""
    def run(name, marker):
        p = subprocess.run(argv_of(name, marker), capture_output=True, text=True, timeout=60,
                           env=env, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise SystemExit(f"{what} {name}: {p.stderr.strip()}")
    return run


class Peer:
    """What every peer has: a daemon that starts containers through its
    clients, a way to list them, to be killed and restarted, and clean-up."""
    name = "?"
    clients = []  # (label, make_run: () -> run(name, marker))
    restartable = None  # what recovery kills and restarts: has .proc and .spawn()

    def __init__(self):
        self.shim_pids = set()
        self.sockets = set()

    def daemons(self):
        raise NotImplementedError

    def kill9(self):
        kill9(self.restartable.proc)

    def spawn(self):
        self.restartable.spawn()

    def recovery_info(self):
        """(a line about the daemon's own account of its recovery, its ms)"""
        return None, None

    def note_shims(self, init_pids):
        """Remembers the shims (parents of the containers' processes) so that
        any that outlives its container is found at the end."""
        for pid in init_pids:
            try:
                self.shim_pids.add(parent_pid(pid))
            except (OSError, KeyError):
                pass

    def remove_all(self):
        raise NotImplementedError

    def close(self):
        """Removes every container, stops the daemons, reaps the shims."""
        raise NotImplementedError


class BerthdPeer(Peer):
    name = "berthd"

    def __init__(self, work, bindir, rootfs, ns, api):
        super().__init__()
        self.api = api
        self.ns = ns
        self.md = (("berth-namespace", ns),)
        self.rootfs = rootfs
        self.sock = os.path.join(work, "berthd.sock")
        self.argv = [os.path.join(bindir, "berthd"), "--address", self.sock,
                     "--root", os.path.join(work, "root"), "--state", os.path.join(work, "state"),
                     "--shim", os.path.join(bindir, "berth-shim"),
                     "--runtime", os.path.join(bindir, "berth")]
        self.log = open(os.path.join(work, "berthd.log"), "a")
        self.proc = None
        self.start()
        try:
            self.api.ns.NamespacesStub(self.channel()).Create(
                self.api.ns_pb2.CreateNamespaceRequest(name=ns), timeout=10)
        except self.api.grpc.RpcError as e:
            if e.code() != self.api.grpc.StatusCode.ALREADY_EXISTS:
                raise
        self.clients = [("berthd gRPC API", self.make_api_run)]
        berthctl = os.path.join(bindir, "berthctl")
        if os.path.exists(berthctl):
            run = cli_runner("berthctl run -d", lambda name, marker: [
                berthctl, "--address", self.sock, "-n", ns, "run", "-d", "--name", name,
                "--rootfs", self.rootfs, "-e", marker, *COMMAND])
            self.clients.append(("berthctl run -d", lambda: run))
        self.restartable = self

    def spawn(self):
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)

    def start(self):
        self.spawn()
        if not wait_for(lambda: self.proc.poll() is not None or self.answers(), 30) \
                or self.proc.poll() is not None:
            raise SystemExit(f"berthd did not start; see {self.log.name}")

    def channel(self):
        return self.api.grpc.insecure_channel(f"unix://{self.sock}")

    def daemons(self):
        return {"berthd": self.proc.pid}

    def make_api_run(self):
        api, md, channel = self.api, self.md, self.channel()
        containers, tasks = api.cg.ContainersStub(channel), api.tg.TasksStub(channel)

        def run(name, marker):
            containers.Create(api.c.CreateContainerRequest(
                id=name, process=api.c.ProcessConfig(args=COMMAND, env=[marker]),
                rootfs=api.c.Rootfs(path=self.rootfs)), metadata=md, timeout=60)
            tasks.Create(api.t.CreateTaskRequest(container_id=name), metadata=md, timeout=60)
            tasks.Start(api.t.StartTaskRequest(container_id=name), metadata=md, timeout=60)
        return run

    def answers(self):
        """System.Version on a new connection (no reconnect back-off)."""
        channel = self.channel()
        try:
            self.api.sg.SystemStub(channel).Version(self.api.s.VersionRequest(), timeout=1)
            return True
        except self.api.grpc.RpcError:
            return False
        finally:
            channel.close()

    def all_running(self, names):
        channel = self.channel()
        try:
            tasks = self.api.tg.TasksStub(channel).List(self.api.t.ListTasksRequest(),
                                                        metadata=self.md, timeout=5).tasks
            up = {t.init.container_id for t in tasks if t.init.status == self.api.t.RUNNING}
            return up >= set(names)
        except self.api.grpc.RpcError:
            return False
        finally:
            channel.close()

    def recovery_info(self):
        channel = self.channel()
        try:
            r = self.api.sg.SystemStub(channel).Info(self.api.s.InfoRequest(), timeout=5).recovery
            return (f"System.Info recovery: duration_ms {r.duration_ms}, containers {r.containers}, "
                    f"reconnected {r.reconnected}, exited {r.exited}, gone {r.gone}, "
                    f"orphans {r.orphans}, unknown {r.unknown}"), r.duration_ms
        finally:
            channel.close()

    def remove_all(self):
        api, md, channel = self.api, self.md, self.channel()
        stub = api.cg.ContainersStub(channel)
        ids = [c.id for c in stub.List(api.c.ListContainersRequest(), metadata=md, timeout=30).containers]

        def delete(cid):
            try:
                stub.Delete(api.c.DeleteContainerRequest(id=cid, force=True), metadata=md, timeout=60)
            except api.grpc.RpcError as e:
                print(f"warning: berthd Containers.Delete {cid}: {e.details()}", file=sys.stderr)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(delete, ids))
        channel.close()
        reap("berth-shim (under berthd)", self.shim_pids)

    def close(self):
        try:
            if self.proc.poll() is None:
                self.remove_all()
        finally:
            stop_process(self.proc)
            self.log.close()
            reap("berth-shim (under berthd)", self.shim_pids, grace=2)


class ContainerdPeer(Peer):
    """`ctr run -d` of the imported image, shim `runtime`."""
    IMAGE = "localhost/berth-bench:latest"

    def __init__(self, work, bindir, image_tar, ns, runtime, name):
        super().__init__()
        self.name = name
        self.fifos = os.path.join(work, "fifo")
        os.mkdir(self.fifos)
        self.ctd = Containerd(work, bindir, ns=ns)
        self.ctd.ctr("images", "import", "--base-name", self.IMAGE.split(":")[0], image_tar)
        self.restartable = self.ctd
        run = cli_runner("ctr run -d", lambda name, marker: self.ctd.ctr_argv(
            "run", "-d", "--runtime", runtime, "--fifo-dir", self.fifos, "--env", marker,
            self.IMAGE, name, *COMMAND), env=self.ctd.env)
        self.clients = [(f"ctr run -d ({runtime.split('.')[-2]} shim)", lambda: run)]

    def daemons(self):
        return {"containerd": self.ctd.pid}

    def answers(self):
        return self.ctd.ctr("version", check=False, timeout=10).returncode == 0

    def all_running(self, names):
        p = self.ctd.ctr("task", "ls", check=False, timeout=10)
        up = {f[0] for f in (line.split() for line in p.stdout.splitlines()[1:])
              if len(f) >= 3 and f[2] == "RUNNING"}
        return p.returncode == 0 and up >= set(names)

    def remove_all(self):
        self.sockets.update(self.ctd.shim_sockets().values())
        ids = self.ctd.task_ids() | set(self.ctd.ctr("container", "ls", "-q").stdout.split())
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(self.ctd.remove, sorted(ids)))
        # A shim may wait up to 5 s for containerd to take its last events.
        reap(f"{self.name} shim", self.shim_pids)

    def close(self):
        try:
            if self.ctd.proc.poll() is None:
                self.remove_all()
        finally:
            self.ctd.stop()
            reap(f"{self.name} shim", self.shim_pids, grace=2)
            remove_stale_sockets(self.name, sorted(self.sockets))


class DockerdPeer(Peer):
    """`docker run -d --network none` of the imported image, berth the
    default runtime, on a private containerd of its own."""
    name = "dockerd"
    IMAGE = "berth-bench:latest"

    def __init__(self, work, bindir, rootfs, ns, cgroup_parent):
        super().__init__()
        for d in ("containerd", "dockerd"):
            os.mkdir(os.path.join(work, d))
        self.ctd = Containerd(os.path.join(work, "containerd"), ns=ns)
        self.dockerd = None
        try:
            self.dockerd = Dockerd(os.path.join(work, "dockerd"), self.ctd,
                                   runtimes={"berth": os.path.join(bindir, "berth")},
                                   default_runtime="berth", cgroup_parent=cgroup_parent)
            self.dockerd.import_rootfs(rootfs, self.IMAGE)
        except BaseException:
            self.close()
            raise
        self.restartable = self.dockerd
        run = cli_runner("docker run -d", lambda name, marker: self.dockerd.docker_argv(
            "run", "-d", "--network", "none", "--name", name, "-e", marker, self.IMAGE, *COMMAND),
            env=self.dockerd.env)
        self.clients = [("docker run -d (berth)", lambda: run)]

    def daemons(self):
        return {"dockerd": self.dockerd.pid, "containerd": self.ctd.pid}

    def answers(self):
        return self.dockerd.docker("version", check=False, timeout=10).returncode == 0

    def all_running(self, names):
        p = self.dockerd.docker("ps", "--filter", "status=running", "--format", "{{.Names}}",
                                check=False, timeout=10)
        return p.returncode == 0 and set(p.stdout.split()) >= set(names)

    def remove_all(self):
        self.sockets.update(self.ctd.shim_sockets().values())
        ids = self.dockerd.docker("ps", "-aq").stdout.split()
        chunks = [ids[i:i + 13] for i in range(0, len(ids), 13)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for p in pool.map(lambda c: self.dockerd.docker("rm", "-f", *c, check=False), chunks):
                if p.returncode != 0:
                    print(f"warning: docker rm -f: {p.stderr.strip()}", file=sys.stderr)
        reap("containerd-shim-runc-v2 (under dockerd)", self.shim_pids)

    def close(self):
        try:
            if self.dockerd is not None and self.dockerd.proc.poll() is None:
                self.remove_all()
        finally:
            if self.dockerd is not None:
                self.dockerd.stop()
            self.ctd.stop()
            reap("containerd-shim-runc-v2 (under dockerd)", self.shim_pids, grace=2)
            remove_stale_sockets("dockerd's", sorted(self.sockets))


# ---- one peer's run -------------------------------------------------------------

def recovery(peer, names):
    """kill -9 of the daemon with `names` running, restart: seconds until the
    first answer and until every one is listed running; and what one probe
    takes against a daemon that is up (the clients' own cost)."""
    answer_probe = statistics.median(timed(peer.answers)[0] for _ in range(5))
    list_probe = statistics.median(timed(lambda: peer.all_running(names))[0] for _ in range(5))
    peer.kill9()
    t0 = time.monotonic()
    peer.spawn()
    if not wait_for(peer.answers, 120, interval=0.005):
        raise SystemExit(f"{peer.name} did not answer within 120 s of its restart")
    first = time.monotonic() - t0
    if not wait_for(lambda: peer.all_running(names), 120, interval=0.005):
        raise SystemExit(f"{peer.name}: not all {len(names)} running 120 s after its restart")
    everything = time.monotonic() - t0
    info, internal_ms = peer.recovery_info()
    return dict(first=first, all=everything, answer_probe=answer_probe, list_probe=list_probe,
                info=info, internal_ms=internal_ms)


def bench_peer(peer, watcher, args, tag):
    """Sequential starts with memory at the chosen counts, recovery, then
    concurrent starts, for the peer's first client; sequential and
    concurrent starts for its other clients."""
    result = {"starts": [], "memory": {}, "recovery": None, "load": [os.getloadavg()[0]],
              "contention": []}
    pause_at = sorted({n for n in (args.memory_at, args.count) if 0 < n <= args.count})

    def measure(n, starts):
        time.sleep(SETTLE_S)
        peer.note_shims([s.pid for s in starts])
        result["memory"][n] = memory(peer.daemons(), [s.pid for s in starts])

    for k, (label, make_run) in enumerate(peer.clients):
        names = [f"{tag}{k}s{i}" for i in range(args.count)]
        print(f"{peer.name}: {label}: {args.count} sequential", file=sys.stderr, flush=True)
        result["contention"].append(contention())
        starts, seq = sequential(make_run(), names, watcher, pause_at if k == 0 else (),
                                 measure)
        peer.note_shims([s.pid for s in starts])
        if k == 0 and not args.skip_recovery:
            print(f"{peer.name}: kill -9 and restart with {args.count} running", file=sys.stderr,
                  flush=True)
            result["contention"].append(contention())
            result["recovery"] = recovery(peer, names)
        peer.remove_all()
        names = [f"{tag}{k}c{i}" for i in range(args.count)]
        print(f"{peer.name}: {label}: {args.count} from {args.clients} clients", file=sys.stderr,
              flush=True)
        result["contention"].append(contention())
        starts, conc = concurrently(make_run, names, watcher, args.clients)
        peer.note_shims([s.pid for s in starts])
        peer.remove_all()
        result["starts"].append((label, seq, conc))
    result["load"].append(os.getloadavg()[0])
    return result


# ---- report ---------------------------------------------------------------------

def mib(kb):
    return f"{kb / 1024:.1f}"


def ratio(a, b):
    return f"{a / b:.3f}" if b else "-"


def report(results, args, watcher):
    count, clients = args.count, args.clients
    print(f"## Start: {count} containers `run -d`, until the command (`/bin/sleep`) runs")
    print()
    print(f"| peer | client | sequential median ms | p90 ms | CLI/API returns, median ms "
          f"| containers/s | {clients} clients: median ms | p90 ms | containers/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rates = {}
    for peer, r in results.items():
        for label, seq, conc in r["starts"]:
            rates[label] = (seq["per_s"], conc["per_s"])
            print(f"| {peer} | {label} | {seq['median']:.1f} | {seq['p90']:.1f} "
                  f"| {seq['returned']:.1f} | {seq['per_s']:.1f} | {conc['median']:.1f} "
                  f"| {conc['p90']:.1f} | {conc['per_s']:.1f} |")
    print()
    ctr = next((v for k, v in rates.items() if k.startswith("ctr run -d (runc")), None)
    dkr = next((v for k, v in rates.items() if k.startswith("docker")), None)
    for label, (seq, conc) in rates.items():
        if label.startswith("berth"):
            parts = []
            if ctr:
                parts.append(f"/ ctr run -d (runc): sequential {ratio(seq, ctr[0])}, "
                             f"{clients} clients {ratio(conc, ctr[1])}")
            if dkr:
                parts.append(f"/ docker run -d: sequential {ratio(seq, dkr[0])}, "
                             f"{clients} clients {ratio(conc, dkr[1])}")
            if parts:
                print(f"throughput {label} " + "; ".join(parts))
    print("other work on the machine, per peer: load average (1 min) at its start and end; "
          "contention (wall / CPU time of a 50 ms busy loop, before each of its phases; 1.0: "
          "a core to itself): " + ", ".join(
              f"{peer} {r['load'][0]:.1f} -> {r['load'][-1]:.1f}, "
              f"{' '.join(f'{c:.1f}' for c in r['contention'])}" for peer, r in results.items()))
    if watcher.late:
        print(f"({watcher.late} starts were timed by a /proc scan after the exec-event socket "
              "overflowed: later than their real exec)")
    print()

    print("## Memory: the daemon(s) and all shims, MiB, summed from /proc/PID/smaps_rollup")
    print()
    print("| peer | running | daemon(s) | daemon Pss | shims | shims Pss | Pss total "
          "| Private_Dirty total | Rss total | threads (daemons + shims) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    totals = {}
    for peer, r in results.items():
        for n, m in sorted(r["memory"].items()):
            totals[(peer, n)] = m["total"]
            daemons = " + ".join(m["daemons"])
            threads = sum(d["Threads"] for d in m["daemons"].values()) + m["shim_threads"]
            print(f"| {peer} | {n} | {daemons} | "
                  f"{' + '.join(mib(d['Pss']) for d in m['daemons'].values())} "
                  f"| {m['shim_count']} {'/'.join(sorted(m['shim_exes']))} | {mib(m['shims']['Pss'])} "
                  f"| {mib(m['total']['Pss'])} | {mib(m['total']['Private_Dirty'])} "
                  f"| {mib(m['total']['Rss'])} | {threads} |")
    print()
    for n in sorted({n for _, n in totals}):
        ours = totals.get(("berthd", n))
        if not ours:
            continue
        for other in ("containerd", "containerd-berth", "dockerd"):
            theirs = totals.get((other, n))
            if theirs:
                print(f"berthd / {other} with {n}: Pss {ratio(ours['Pss'], theirs['Pss'])}, "
                      f"Private_Dirty {ratio(ours['Private_Dirty'], theirs['Private_Dirty'])}")
    print()

    print(f"## Recovery: kill -9 of the daemon with {count} running, restart")
    print()
    print("| peer | first answer ms | all listed running ms | probe ms (daemon up): answer "
          "| list | probes |")
    print("|---|---|---|---|---|---|")
    probes = {"berthd": "System.Version / Tasks.List (Python gRPC, new connection each)",
              "containerd": "`ctr version` / `ctr task ls`",
              "containerd-berth": "`ctr version` / `ctr task ls`",
              "dockerd": "`docker version` / `docker ps`"}
    recs = {}
    for peer, r in results.items():
        rec = r["recovery"]
        if rec is None:
            continue
        recs[peer] = rec
        print(f"| {peer} | {rec['first'] * 1000:.0f} | {rec['all'] * 1000:.0f} "
              f"| {rec['answer_probe'] * 1000:.1f} | {rec['list_probe'] * 1000:.1f} "
              f"| {probes[peer]} |")
    print()
    for peer, rec in recs.items():
        if rec["info"]:
            print(f"{peer}: {rec['info']}")
    if "berthd" in recs:
        for other in ("containerd", "containerd-berth", "dockerd"):
            if other in recs:
                print(f"berthd / {other}: first answer {ratio(recs['berthd']['first'], recs[other]['first'])}, "
                      f"all running {ratio(recs['berthd']['all'], recs[other]['all'])}")
    print()

    print("## Targets (issue 14)")
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    ours, theirs = totals.get(("berthd", count)), totals.get(("containerd", count))
    if ours and theirs:
        print(f"- berthd + {count} shims Pss <= 0.1 x containerd + {count} runc shims: "
              f"{ratio(ours['Pss'], theirs['Pss'])} {met(ours['Pss'] <= 0.1 * theirs['Pss'])}")
    if ctr:
        for label, (seq, conc) in rates.items():
            if label.startswith("berth"):
                print(f"- {label} start throughput >= 2 x ctr run -d's: sequential "
                      f"{ratio(seq, ctr[0])} {met(seq >= 2 * ctr[0])}, {clients} clients "
                      f"{ratio(conc, ctr[1])} {met(conc >= 2 * ctr[1])}")
    if "berthd" in recs:
        rec = recs["berthd"]
        print(f"- recovery of {count} under 1 s: all listed running after {rec['all'] * 1000:.0f} ms "
              f"(first answer {rec['first'] * 1000:.0f} ms, berthd's own duration_ms "
              f"{rec['internal_ms']}) {met(rec['all'] < 1)}")


# ---- main -------------------------------------------------------------------------

class Api:
    """The berth.v1 Python stubs, generated at run time into `outdir`."""

    def __init__(self, outdir):
        os.makedirs(outdir)
        subprocess.run(["/usr/bin/python3", "-m", "grpc_tools.protoc", f"-I{ROOT}/proto",
                        "-I/usr/include", f"--python_out={outdir}", f"--grpc_python_out={outdir}",
                        *PROTOS], check=True)
        sys.path.insert(0, outdir)
        import grpc
        from berth.v1 import containers_pb2, containers_pb2_grpc, system_pb2, system_pb2_grpc
        from berth.v1 import tasks_pb2, tasks_pb2_grpc
        self.grpc = grpc
        self.c, self.cg = containers_pb2, containers_pb2_grpc
        self.t, self.tg = tasks_pb2, tasks_pb2_grpc
        self.s, self.sg = system_pb2, system_pb2_grpc
        self.ns_pb2, self.ns = system_pb2, system_pb2_grpc


def settled(path, quiet=3, timeout=600):
    """Waits until `path` is executable and has not changed for `quiet` s
    (a rebuild may be linking it)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        st = os.stat(path)
        now = (st.st_size, st.st_mtime_ns, st.st_mode)
        if now == last and os.access(path, os.X_OK):
            return
        last = now
        time.sleep(quiet)
    raise SystemExit(f"{path} keeps changing (or is not executable)")


def copy_binaries(bindir):
    """The binaries, copied once they are settled (a concurrent rebuild must
    not change them under the run), then written back (dirty page-cache
    pages of a fresh file are counted as dirty in every process that maps
    it)."""
    os.mkdir(bindir)
    for name, path in BINARIES.items():
        if os.path.exists(path):
            settled(path)
            shutil.copy2(path, os.path.join(bindir, name))
    os.symlink("berth-shim", os.path.join(bindir, "containerd-shim-berth-v2"))
    subprocess.run(["sync"], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="containers per phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--memory-at", type=int, default=20,
                        help="memory is also read when this many run (and at --count)")
    parser.add_argument("--peers", default=DEFAULT_PEERS,
                        help=f"comma-separated, in order, of {','.join(ALL_PEERS)}")
    parser.add_argument("--skip-docker", action="store_true", help="leave dockerd out")
    parser.add_argument("--skip-recovery", action="store_true", help="no kill -9 and restart")
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p and not (args.skip_docker and p == "dockerd")]
    for p in peers:
        if p not in ALL_PEERS:
            parser.error(f"unknown peer {p}")
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    for name in ("berthd", "berth-shim", "berth"):
        if not os.path.exists(BINARIES[name]):
            raise SystemExit(f"{BINARIES[name]} not found: build first (./scripts/build.sh)")
    tools = {"containerd": ["containerd", "ctr", "containerd-shim-runc-v2", "runc", "umoci"],
             "containerd-berth": ["containerd", "ctr", "umoci"],
             "dockerd": ["dockerd", "containerd", "containerd-shim-runc-v2"]}
    for p in peers:
        for tool in tools.get(p, []):
            if shutil.which(tool) is None:
                raise SystemExit(f"{tool} not found (apt-get install containerd runc umoci docker.io)")
    if "dockerd" in peers and not os.path.exists(DOCKER):
        raise SystemExit(f"{DOCKER} not found: apt-get install docker.io")

    token = os.urandom(3).hex()
    work = tempfile.mkdtemp(prefix="berth-supervisor-bench-")
    # What this run will make outside `work` (shared places, private names),
    # to be removed at the end: cgroups and runtime roots.
    berthd_ns = f"bench-{token}"
    ctd_ns = f"berth-bench-{token}"
    docker_ns = f"berth-bench-{token}-moby"
    docker_cgroup = f"berth-bench-{token}-docker"
    made_cgroups = (missing_cgroups(f"berth/{berthd_ns}") + missing_cgroups(ctd_ns)
                    + missing_cgroups(docker_cgroup))
    made_dirs = missing_cgroups("berth") + [
        d for d in (f"/run/containerd/runc/{ctd_ns}", f"/run/containerd/berth/{ctd_ns}",
                    f"/run/containerd/runc/{docker_ns}", "/run/containerd/runc",
                    "/run/containerd/berth", "/run/containerd/s", "/run/containerd")
        if not os.path.exists(d)]
    watcher = None
    results = {}
    try:
        bindir = os.path.join(work, "bin")
        copy_binaries(bindir)
        rootfs = bundle_fixture.make_rootfs(os.path.join(work, "rootfs"))
        watcher = ExecWatcher(token)
        image_tar = None
        for i, name in enumerate(peers):
            base = os.path.join(work, name)
            os.mkdir(base)
            peer = None
            print(f"--- {name}", file=sys.stderr, flush=True)
            try:
                if name == "berthd":
                    peer = BerthdPeer(base, bindir, rootfs, berthd_ns, Api(os.path.join(work, "pyapi")))
                elif name.startswith("containerd"):
                    if image_tar is None:
                        image_tar = oci_image_tar(rootfs, work)
                    runtime = "io.containerd.berth.v2" if name == "containerd-berth" else "io.containerd.runc.v2"
                    peer = ContainerdPeer(base, bindir, image_tar, ctd_ns, runtime, name)
                else:
                    peer = DockerdPeer(base, bindir, rootfs, docker_ns, "/" + docker_cgroup)
                results[name] = bench_peer(peer, watcher, args, tag=f"p{i}")
            except (Exception, SystemExit) as e:
                print(f"{name}: failed: {e}", file=sys.stderr)
            finally:
                if peer is not None:
                    peer.close()
        report(results, args, watcher)
    finally:
        if watcher is not None:
            left = watcher.leftovers()
            if left:
                print(f"warning: {len(left)} container processes left; killing them", file=sys.stderr)
                reap("container", left, grace=0)
            watcher.stop()
        unmount_all_under(work)
        shutil.rmtree(work, ignore_errors=True)
        remove_cgroups(made_cgroups)
        remove_dirs(sorted(made_dirs, key=len, reverse=True))


if __name__ == "__main__":
    main()
