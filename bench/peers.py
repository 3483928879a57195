"""What the benchmarks share: a private containerd 1.6 and a private dockerd
20.10 (Debian's, on their own sockets and directories, never the host's),
an OCI image of the busybox rootfs for `ctr image import`, /proc readers
(smaps_rollup, status) and the clean-up helpers (mounts, cgroups, processes
and shim sockets a run leaves behind).

Everything here is started by the calling benchmark in a temp dir it owns
and removes; nothing touches the host's daemons."""
import os
import shutil
import signal
import subprocess
import sys
import time

DOCKER = "/usr/bin/docker"  # Debian's client, the one that matches its dockerd 20.10
CGROUP_ROOT = "/sys/fs/cgroup"


# ---- /proc ----------------------------------------------------------------

def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    raise KeyError(name)


def parent_pid(pid):
    return int(status_field(pid, "PPid"))


def running(pid):
    try:
        return status_field(pid, "State") not in ("Z", "X")
    except (OSError, KeyError):
        return False


def smaps_rollup(pid):
    """Rss, Pss and Private_Dirty of `pid`, in kB."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Private_Dirty"):
                values[key] = int(rest.split()[0])
    return values


def wait_for(predicate, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# ---- clean-up ---------------------------------------------------------------

def mounts_under(base):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == base or point.startswith(base + "/"):
                found.append(point)
    return found


def unmount_all_under(base):
    for point in sorted(mounts_under(base), key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
    left = mounts_under(base)
    if left:
        print(f"warning: still mounted under {base}: {left}", file=sys.stderr)


def missing_cgroups(relative):
    """/sys/fs/cgroup/<hierarchy>/<relative> for every hierarchy where it does
    not exist yet: the ones a run will make, and may remove afterwards."""
    return [d for d in (os.path.join(CGROUP_ROOT, h, relative.strip("/"))
                        for h in sorted(os.listdir(CGROUP_ROOT)))
            if not os.path.exists(d)]


def remove_cgroups(dirs):
    """rmdir of each of `dirs` and of what is below it, deepest first (a
    cgroup that still holds a process stays, with a warning)."""
    for top in dirs:
        if not os.path.isdir(top):
            continue
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: len(w[0]), reverse=True):
            try:
                os.rmdir(dirpath)
            except OSError as e:
                print(f"warning: rmdir {dirpath}: {e.strerror}", file=sys.stderr)


def remove_dirs(dirs):
    """rmdir of each (made by this run, empty by now); one in use stays."""
    for d in dirs:
        try:
            os.rmdir(d)
        except OSError:
            pass


def reap(name, pids, grace=10):
    """Waits up to `grace` s for this run's processes (known by pid) to exit,
    then reports and kills any that stays."""
    deadline = time.monotonic() + grace
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if running(p)}
        time.sleep(0.05)
    for pid in sorted(alive):
        print(f"warning: {name} process {pid} still running; killing it", file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def remove_stale_sockets(name, sockets):
    """A shim removes its socket file when it exits; any left by this run's
    (now dead) shims is reported and removed."""
    stale = [path for path in sockets if os.path.exists(path)]
    if stale:
        print(f"warning: {len(stale)} of {len(sockets)} {name} shims left their socket in "
              f"{os.path.dirname(stale[0])}; removing them", file=sys.stderr)
    for path in stale:
        os.unlink(path)


def stop_process(proc, timeout=20):
    """SIGTERM, then SIGKILL after `timeout` s, of a Popen this run started."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def kill9(proc):
    """kill -9 of a Popen this run started, and its reaping."""
    proc.kill()
    proc.wait()


# ---- images -----------------------------------------------------------------

def oci_image_tar(rootfs, workdir):
    """An OCI image layout of `rootfs` in a tar, as `ctr image import` reads
    it: one layer, made with umoci, with PATH in its config."""
    layout = os.path.join(workdir, "oci-layout")
    unpacked = os.path.join(workdir, "oci-unpacked")
    image = f"{layout}:latest"
    subprocess.run(["umoci", "init", "--layout", layout], check=True, capture_output=True)
    subprocess.run(["umoci", "new", "--image", image], check=True, capture_output=True)
    subprocess.run(["umoci", "unpack", "--image", image, unpacked], check=True, capture_output=True)
    subprocess.run(["cp", "-a", f"{rootfs}/.", os.path.join(unpacked, "rootfs")], check=True)
    subprocess.run(["umoci", "repack", "--image", image, unpacked], check=True, capture_output=True)
    subprocess.run(["umoci", "config", "--image", image,
                    "--config.env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                   check=True, capture_output=True)
    tar = os.path.join(workdir, "oci-image.tar")
    subprocess.run(["tar", "-C", layout, "-cf", tar, "."], check=True)
    shutil.rmtree(unpacked, ignore_errors=True)
    return tar


# ---- containerd -------------------------------------------------------------

class Containerd:
    """A private containerd on its own socket and directories under `base`,
    CRI disabled, with `bindir` (if given: containerd-shim-berth-v2 and
    berth) first on its PATH. `ctr` talks to it in namespace `ns`."""

    TASK_STATE = "io.containerd.runtime.v2.task"

    def __init__(self, base, bindir=None, ns="default"):
        self.base = base
        self.ns = ns
        self.sock = os.path.join(base, "containerd.sock")
        self.config = os.path.join(base, "config.toml")
        with open(self.config, "w") as f:
            f.write(f'''version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
''')
        self.env = dict(os.environ)
        if bindir:
            self.env["PATH"] = f"{bindir}:{self.env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
        self.log = open(os.path.join(base, "containerd.log"), "a")
        self.proc = None
        self.start()

    def spawn(self):
        """Starts containerd (again, after a kill: the socket it left is removed)."""
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = subprocess.Popen(["containerd", "--config", self.config], stdout=self.log,
                                     stderr=self.log, env=self.env)

    def start(self):
        """spawn(), then waits for its socket."""
        self.spawn()
        if not wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 20,
                        interval=0.005) or self.proc.poll() is not None:
            raise SystemExit(f"containerd did not start; see {self.base}/containerd.log")

    @property
    def pid(self):
        return self.proc.pid

    def ctr_argv(self, *args):
        return ["ctr", "--address", self.sock, "-n", self.ns, *args]

    def ctr(self, *args, check=True, timeout=120):
        p = subprocess.run(self.ctr_argv(*args), capture_output=True, text=True, timeout=timeout,
                           env=self.env, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise SystemExit(f"ctr {' '.join(args)}: {p.stderr.strip()}")
        return p

    def task_pids(self):
        """Container id -> pid of its task, for the RUNNING tasks."""
        pids = {}
        for line in self.ctr("task", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "RUNNING":
                pids[fields[0]] = int(fields[1])
        return pids

    def task_ids(self):
        return {line.split()[0] for line in self.ctr("task", "ls").stdout.splitlines()[1:] if line.split()}

    def shim_socket(self, cid):
        """The socket of container `cid`'s shim, from its bundle's address file."""
        with open(os.path.join(self.base, "state", self.TASK_STATE, self.ns, cid, "address")) as f:
            return f.read().strip().removeprefix("unix://")

    def shim_sockets(self):
        """Container id -> its shim's socket, for every bundle there is."""
        found = {}
        try:
            cids = os.listdir(os.path.join(self.base, "state", self.TASK_STATE, self.ns))
        except OSError:
            return found
        for cid in cids:
            try:
                found[cid] = self.shim_socket(cid)
            except OSError:
                pass
        return found

    def remove(self, cid):
        """Kills and deletes task and container; reports a delete that fails
        for another reason than the task still running."""
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=False)
        failures = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(failures) < 3:
            p = self.ctr("task", "delete", cid, check=False)
            if p.returncode == 0 or cid not in self.task_ids():
                break
            if "must be stopped" not in p.stderr:
                failures.append((p.stderr.strip().splitlines() or ["(no message)"])[-1])
            time.sleep(0.05)
        else:
            print(f"warning: ctr task delete {cid} failed: {' / '.join(dict.fromkeys(failures))}",
                  file=sys.stderr)
        self.ctr("container", "delete", cid, check=False)

    def stop(self):
        stop_process(self.proc)
        self.log.close()


# ---- dockerd ----------------------------------------------------------------

class Dockerd:
    """A private dockerd 20.10 (Debian's docker.io) on the private containerd
    `containerd` (--containerd, its own containerd namespaces), with its own
    data and exec roots, socket and pid file, no networking (--iptables=false
    --bridge=none), --live-restore (containers outlive a dockerd restart, as
    they outlive containerd's and berthd's), containers' cgroups below
    `cgroup_parent`, and `runtimes` (name -> path) added with --add-runtime,
    `default_runtime` the default."""

    def __init__(self, base, containerd, runtimes=None, default_runtime=None, cgroup_parent=None):
        self.base = base
        self.sock = os.path.join(base, "docker.sock")
        self.argv = ["dockerd", "--data-root", os.path.join(base, "data"),
                     "--exec-root", os.path.join(base, "exec"), "-H", f"unix://{self.sock}",
                     "--pidfile", os.path.join(base, "docker.pid"),
                     "--containerd", containerd.sock,
                     "--containerd-namespace", containerd.ns,
                     "--containerd-plugins-namespace", containerd.ns + "-plugins",
                     "--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-masq=false",
                     "--userland-proxy=false", "--live-restore"]
        for name, path in (runtimes or {}).items():
            self.argv += ["--add-runtime", f"{name}={path}"]
        if default_runtime:
            self.argv += ["--default-runtime", default_runtime]
        if cgroup_parent:
            self.argv += ["--cgroup-parent", cgroup_parent]
        self.env = dict(os.environ, DOCKER_CONFIG=os.path.join(base, "client-config"))
        self.log = open(os.path.join(base, "dockerd.log"), "a")
        self.proc = None
        self.start()

    def spawn(self):
        """Starts dockerd (again, after a kill)."""
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=self.log, env=self.env)

    def start(self):
        """spawn(), then waits until it answers."""
        self.spawn()
        if not wait_for(lambda: self.proc.poll() is not None or self.answers(), 60, interval=0.05) \
                or self.proc.poll() is not None:
            raise SystemExit(f"dockerd did not start; see {self.base}/dockerd.log")

    @property
    def pid(self):
        return self.proc.pid

    def docker_argv(self, *args):
        return [DOCKER, "-H", f"unix://{self.sock}", *args]

    def docker(self, *args, check=True, timeout=120, **kw):
        p = subprocess.run(self.docker_argv(*args), capture_output=True, text=True,
                           timeout=timeout, stdin=kw.pop("stdin", subprocess.DEVNULL),
                           env=self.env, **kw)
        if check and p.returncode != 0:
            raise SystemExit(f"docker {' '.join(args)}: {p.stderr.strip()}")
        return p

    def answers(self):
        return os.path.exists(self.sock) and self.docker("version", check=False).returncode == 0

    def import_rootfs(self, rootfs, image):
        """`docker import` of a tar of `rootfs` as `image`."""
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        p = self.docker("import", "-", image, check=False, stdin=tar.stdout)
        tar.stdout.close()
        tar.wait()
        if p.returncode != 0:
            raise SystemExit(f"docker import: {p.stderr.strip()}")

    def stop(self):
        stop_process(self.proc, timeout=60)
        self.log.close()
