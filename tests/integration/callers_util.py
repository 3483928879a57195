"""Real callers of a runc-compatible runtime, for end-to-end tests: a private
dockerd, a private podman, and a logging wrapper that records every command
line a caller sends to berth (used by test_callers.py). containerd has its
own module, containerd_util."""
import json
import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass

from conftest import wait_for

DOCKERD = shutil.which("dockerd")
DOCKER = "/usr/bin/docker"  # the client that matches Debian's dockerd
DOCKER_IMAGE = "berth-busybox:test"
PODMAN = shutil.which("podman")
PODMAN_IMAGE = "localhost/berth-busybox:test"
# podman's default ulimits (nofile and nproc 1048576) exceed this host's hard
# limits, which the runtime cannot raise without CAP_SYS_RESOURCE
PODMAN_ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]


def import_rootfs(cmd, rootfs, image):
    """`CMD import - IMAGE` fed with a tar of ROOTFS (docker and podman alike)."""
    tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
    imp = subprocess.run(cmd + ["import", "-", image], stdin=tar.stdout, capture_output=True,
                         text=True, timeout=120)
    tar.stdout.close()
    tar.wait()
    assert imp.returncode == 0, imp.stderr


class Dockerd:
    """A private dockerd 20.10 (Debian's docker.io): own data and exec roots,
    socket and pid file, --iptables=false --bridge=none, RUNTIME added as
    `berth` (and made the default runtime with default=True), and an image
    made by `docker import` of the busybox rootfs. dockerd starts its own
    containerd under the exec root."""

    def __init__(self, base, base_rootfs, runtime, default=False):
        self.base = base
        self.sock = base / "docker.sock"
        self.exec_root = base / "exec"
        self.log = open(base / "dockerd.log", "w")
        args = [DOCKERD, "--data-root", str(base / "data"), "--exec-root", str(self.exec_root),
                "-H", f"unix://{self.sock}", "--pidfile", str(base / "docker.pid"),
                "--iptables=false", "--bridge=none", "--ip-masq=false",
                "--add-runtime", f"berth={runtime}"]
        if default:
            args += ["--default-runtime", "berth"]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        try:
            assert wait_for(lambda: self.sock.exists() and self.docker("version").returncode == 0,
                            timeout=60), (base / "dockerd.log").read_text()[-2000:]
            import_rootfs([DOCKER, "-H", f"unix://{self.sock}"], base_rootfs, DOCKER_IMAGE)
        except BaseException:
            self.stop()
            raise

    def docker(self, *args, timeout=90, **kw):
        return subprocess.run([DOCKER, "-H", f"unix://{self.sock}", *args], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)

    def stop(self):
        if self.proc.poll() is None:
            for cid in self.docker("ps", "-aq").stdout.split():
                self.docker("rm", "-f", cid)
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.log.close()
        subprocess.run(["umount", "-R", str(self.base)], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


class Podman:
    """podman 4 with --runtime RUNTIME and private storage (--root/--runroot
    under BASE), cgroupfs manager (no systemd here), file events, and an image
    made by `podman import` of the busybox rootfs."""

    def __init__(self, base, base_rootfs, runtime):
        self.base = base
        self.cmd = [PODMAN, "--root", str(base / "root"), "--runroot", str(base / "run"),
                    "--runtime", runtime, "--cgroup-manager", "cgroupfs",
                    "--events-backend", "file", "--log-level", "error"]
        try:
            import_rootfs(self.cmd, base_rootfs, PODMAN_IMAGE)
        except BaseException:
            self.stop()
            raise

    def podman(self, *args, timeout=120, env=None):
        return subprocess.run(self.cmd + list(args), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env=env)

    def stop(self):
        self.podman("rm", "-af")
        self.podman("rmi", "-af")
        subprocess.run(["umount", "-R", str(self.base)], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)

# --- the logging wrapper ------------------------------------------------------

# Runs berth as a child with the same argv and the same stdio and inherited
# fds (close_fds=False: console sockets, --preserve-fds, anything a caller
# passes), then exits with berth's status. Around the call it appends one
# JSON line to the log (O_APPEND, one write() each, so concurrent calls do not
# interleave): "start" with argv and the fds it inherited, "end" with the exit
# status and, for --pid-file, the raw bytes of that file as berth left it.
WRAPPER = textwrap.dedent('''\
    #!/usr/bin/python3 -I
    import json, os, subprocess, sys

    LOG = {log!r}
    BERTH = {berth!r}

    def fds():
        found = {{}}
        for name in os.listdir("/proc/self/fd"):
            try:
                found[name] = os.readlink("/proc/self/fd/" + name)
            except OSError:
                pass  # the listing's own directory fd
        return found

    def record(**entry):
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, (json.dumps(entry) + "\\n").encode())
        finally:
            os.close(fd)

    def pid_file(argv):
        for i, arg in enumerate(argv):
            for flag in ("--pid-file", "-pid-file"):
                if arg == flag and i + 1 < len(argv):
                    return argv[i + 1]
                if arg.startswith(flag + "="):
                    return arg[len(flag) + 1:]
        return None

    call = "%d-%s" % (os.getpid(), os.urandom(4).hex())
    argv = sys.argv[1:]
    record(event="start", call=call, argv=argv, fds=fds())
    status = subprocess.call([BERTH] + argv, close_fds=False)
    if status < 0:
        status = 128 - status  # killed by signal N: report as a shell would
    end = dict(event="end", call=call, status=status)
    path = pid_file(argv)
    if path is not None:
        end["pid_file_path"] = path
        try:
            with open(path, "rb") as f:
                end["pid_file"] = f.read().decode("latin-1")
        except OSError as e:
            end["pid_file_error"] = e.strerror
    record(**end)
    sys.exit(status)
''')


class Wrapper:
    """The logging wrapper, written as DIRECTORY/berth (callers such as podman
    name the runtime after its file name), in front of the berth binary."""

    def __init__(self, directory, berth):
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "berth")
        self.log = os.path.join(directory, "calls.jsonl")
        with open(self.path, "w") as f:
            f.write(WRAPPER.format(log=self.log, berth=berth))
        os.chmod(self.path, 0o755)

    def calls(self):
        return read_calls(self.log)


# runc's global flags that take a value (the others are booleans).
GLOBAL_VALUE_FLAGS = {"root", "log", "log-format", "criu", "rootless"}


@dataclass
class Call:
    """One recorded invocation of the runtime."""
    argv: list
    fds: dict                   # fd number -> what it pointed to, as the wrapper inherited them
    global_flags: list          # argv before the subcommand
    command: str                # the subcommand (None for a bare `--version`)
    args: list                  # argv after the subcommand
    status: int = None          # None: the wrapper never finished (still running or killed)
    pid_file_path: str = None   # the argv's --pid-file, if it had one
    pid_file: str = None        # its raw content after berth returned
    pid_file_error: str = None  # or why it could not be read

    def __str__(self):
        return " ".join(self.argv) + f"  -> {self.status}"


def parse_argv(argv):
    """Splits argv the way runc does: global flags (Go's flag syntax: -f, --f,
    --f=v, --f v), the subcommand, then the subcommand's arguments."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        name = argv[i].lstrip("-")
        i += 2 if name in GLOBAL_VALUE_FLAGS else 1  # "--f=v" has "=" in its name
    return argv[:i], (argv[i] if i < len(argv) else None), argv[i + 1:]


def read_calls(log):
    """The wrapper's log as a list of Calls, in the order they started."""
    calls = {}
    if not os.path.exists(log):
        return []
    with open(log) as f:
        for line in f:
            entry = json.loads(line)
            if entry["event"] == "start":
                global_flags, command, args = parse_argv(entry["argv"])
                calls[entry["call"]] = Call(argv=entry["argv"], fds=entry["fds"],
                                            global_flags=global_flags, command=command, args=args)
            else:
                call = calls[entry["call"]]
                call.status = entry["status"]
                call.pid_file_path = entry.get("pid_file_path")
                call.pid_file = entry.get("pid_file")
                call.pid_file_error = entry.get("pid_file_error")
    return list(calls.values())
