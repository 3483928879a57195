#!/usr/bin/python3
"""Image import and unpack (issue 15): `berthctl load -i` beside
`ctr images import` (containerd 1.6, overlayfs snapshotter), `docker load -i`
(dockerd 20.10, overlay2) and `podman load -i` (podman 4.3, overlay), in one
run, on the same archive files.

Images (made at the start of the run in a temp dir, removed at the end):
  small  a busybox rootfs (Debian's busybox-static, tests/fixtures/bundle.py's
         make_rootfs): one gzip layer
  large  about 1 GB uncompressed in 4 gzip layers, each a copy of part of a
         directory tree of this machine (/usr/lib, /usr/share, /usr/bin, and
         /usr/lib again further on), files taken in sorted order until the
         layer's budget is reached; gzip -6 (GNU gzip, as umoci and docker
         use level 6-ish defaults)

Each image is one tar that is both an OCI image layout (oci-layout,
index.json, blobs/sha256/...) and a `docker save` archive (manifest.json
whose Config and Layers name the same blobs): the layout docker 25's
`docker save` writes. So every tool reads the same bytes with the same gzip
layers: berthd and ctr take the OCI index (both prefer it when present),
dockerd 20.10 takes manifest.json (it inflates gzip layers in a save
archive), podman tries oci-archive first. (skopeo's docker-archive
destination would store the layers uncompressed, which is not the gzip
import this measures.)

Every run of a tool on an image starts from nothing: a fresh private store
(and daemon: berthd, containerd, or dockerd on a private containerd; all on
their own sockets and dirs in the temp dir), then `sync; echo 3 >
/proc/sys/vm/drop_caches`, then the import. Measured: wall seconds of the
client, CPU seconds (the client's rusage, children included, plus
utime+stime+cutime+cstime of each daemon from /proc/PID/stat before and
after), MB/s of uncompressed layer data (sum of the layer tars' sizes /
wall), and the disk used afterwards (du -s over the store directories, one
du so hard links count once):
  berthd      ROOT/content + ROOT/layers
  containerd  ROOT/io.containerd.content.v1.content + ROOT/io.containerd.snapshotter.v1.overlayfs
  dockerd     DATA/overlay2 + DATA/image
  podman      its --root
Then the store and daemon are stopped and removed.

    bench/images.py [--quick] [--reps N] [--tools berthd,containerd,dockerd,podman]
                    [--images small,large] [--large-mb N] [--modes import,pull]
                    [--keep-going]

--modes pull (or import,pull) measures the pull of the same images from a
local registry: one Debian docker-registry (/usr/bin/docker-registry serve,
plain HTTP on 127.0.0.1:PORT, filesystem storage in the temp dir) for the
whole run, each image pushed to it once with skopeo from the OCI layout of
its archive (`skopeo copy oci:DIR:latest docker://127.0.0.1:PORT/bench/
bench-NAME:latest`: the same gzip blobs, an OCI manifest). Each pull is
timed the same way as an import, from a fresh store and daemon and dropped
caches (the registry's blobs are read from disk too), with
  berthd      berthctl pull -q REF (berthd takes a loopback registry as
              plain-HTTP capable)
  containerd  ctr images pull --plain-http --snapshotter overlayfs REF
              (fetches, then unpacks for the default platform)
  dockerd     docker pull -q REF (dockerd takes 127.0.0.0/8 as insecure
              without --insecure-registry)
  podman      podman pull -q --tls-verify=false REF
and the registry's CPU time (utime+stime from /proc) reported beside the
client's and the daemon's, not in their sum.

--quick: the small image and a large one of 120 MB, one rep. A tool that is
not installed is skipped with the reason. Runs as root; nothing of the
host's daemons, sockets or /var/lib dirs is touched.
"""
import argparse
import hashlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import bundle as bundle_fixture  # noqa: E402
from peers import (DOCKER, Containerd, Dockerd, reap, stop_process, unmount_all_under,  # noqa: E402
                   wait_for)

BUILD = os.path.join(ROOT, "build")
# copied into the run's temp dir at the start, so that a rebuild of ./build
# during the run does not change (or remove) the binaries being measured
BERTHD = os.path.join(BUILD, "supervisor", "berthd")
BERTHCTL = os.path.join(BUILD, "supervisor", "berthctl", "berthctl")
ALL_TOOLS = ["berthd", "containerd", "dockerd", "podman"]
ALL_IMAGES = ["small", "large"]
ALL_MODES = ["import", "pull"]
DOCKER_REGISTRY = "/usr/bin/docker-registry"
# no proxy for the loopback registry, whatever the caller's environment says
CLEAN_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
# (source tree, share of the large image's budget)
LARGE_LAYERS = [("/usr/lib", 0.30), ("/usr/share", 0.30), ("/usr/bin", 0.25), ("/usr/lib", 0.15)]
CLK_TCK = os.sysconf("SC_CLK_TCK")
MB = 1e6


# ---- images -----------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def copy_budget(src, dst, budget, skip=0):
    """Copies regular files, symlinks and dirs of `src` to `dst`/`src` in
    sorted walk order: the first `skip` bytes of file data are passed over,
    then files are taken until `budget` bytes are copied. Returns bytes
    copied."""
    seen = copied = 0
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not (os.path.islink(path) or os.path.isfile(path)):
                continue
            size = st.st_size if os.path.isfile(path) and not os.path.islink(path) else 0
            seen += size
            if seen <= skip:
                continue
            if copied >= budget:
                return copied
            target = os.path.join(dst, path.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                if os.path.islink(path):
                    os.symlink(os.readlink(path), target)
                else:
                    shutil.copy2(path, target)
                    copied += size
            except OSError:
                pass
    return copied


def make_layers(srcdirs, out):
    """A gzip layer blob per directory of `srcdirs` (tar of its top-level
    entries, numeric owners, sorted; GNU gzip -6 -n, all layers compressed in
    parallel). Returns [(diff_id hex, blob hex, blob size, tar size)]."""
    tars = []
    for i, d in enumerate(srcdirs):
        tar = os.path.join(out, f"layer{i}.tar")
        subprocess.run(["tar", "-C", d, "--sort=name", "--numeric-owner", "-cf", tar,
                        *sorted(os.listdir(d))], check=True)
        tars.append(tar)
    infos = [(sha256_file(t), os.path.getsize(t)) for t in tars]
    procs = [subprocess.Popen(["gzip", "-6", "-n", "-f", t]) for t in tars]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("gzip failed")
    layers = []
    for t, (diff_id, tar_size) in zip(tars, infos):
        gz = t + ".gz"
        layers.append((diff_id, sha256_file(gz), os.path.getsize(gz), tar_size, gz))
    return layers


def write_archive(layers, name, out):
    """One tar that is an OCI image layout and a docker save archive at once
    (documents first, then the blobs). Returns its path."""
    layout = out + ".d"
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return digest

    for diff_id, blob, size, tar_size, gz in layers:
        os.rename(gz, os.path.join(blobs, blob))
    config = {"created": "2024-01-02T03:04:05Z", "architecture": "amd64", "os": "linux",
              "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + l[0] for l in layers]},
              "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"bench layer {i}"}
                          for i in range(len(layers))]}
    cdata = json.dumps(config).encode()
    cdigest = put(cdata)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": "sha256:" + cdigest, "size": len(cdata)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": "sha256:" + l[1], "size": l[2]} for l in layers]}
    mdata = json.dumps(manifest).encode()
    mdigest = put(mdata)
    ref = f"docker.io/library/{name}:latest"
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mdigest,
         "size": len(mdata), "annotations": {"io.containerd.image.name": ref,
                                             "org.opencontainers.image.ref.name": "latest"}}]}
    docker_manifest = [{"Config": f"blobs/sha256/{cdigest}", "RepoTags": [f"{name}:latest"],
                        "Layers": [f"blobs/sha256/{l[1]}" for l in layers]}]
    for fname, doc in (("oci-layout", {"imageLayoutVersion": "1.0.0"}), ("index.json", index),
                       ("manifest.json", docker_manifest)):
        with open(os.path.join(layout, fname), "w") as f:
            json.dump(doc, f)
    blob_names = [cdigest, mdigest] + [l[1] for l in layers]
    subprocess.run(["tar", "-C", layout, "--numeric-owner", "-cf", out, "oci-layout", "index.json",
                    "manifest.json", "--no-recursion", "blobs", "blobs/sha256",
                    *[f"blobs/sha256/{b}" for b in blob_names]], check=True)
    shutil.rmtree(layout)
    return out


class Image:
    def __init__(self, name, path, layers):
        self.name = name
        self.path = path
        self.layers = len(layers)
        self.uncompressed = sum(l[3] for l in layers)
        self.compressed = sum(l[2] for l in layers)


def make_small(work):
    d = os.path.join(work, "small-src")
    os.makedirs(d)
    bundle_fixture.make_rootfs(d)
    layers = make_layers([d], work)
    shutil.rmtree(d)
    return Image("small", write_archive(layers, "bench-small", os.path.join(work, "small.tar")),
                 layers)


def make_large(work, total_mb):
    budget = total_mb * MB
    dirs = []
    offsets = {}
    for i, (src, share) in enumerate(LARGE_LAYERS):
        d = os.path.join(work, f"large-src{i}")
        os.makedirs(d)
        got = copy_budget(src, d, share * budget, skip=offsets.get(src, 0))
        offsets[src] = offsets.get(src, 0) + got + 1  # the next layer from this tree starts after
        dirs.append(d)
    layers = make_layers(dirs, work)
    for d in dirs:
        shutil.rmtree(d)
    return Image("large", write_archive(layers, "bench-large", os.path.join(work, "large.tar")),
                 layers)


# ---- the registry -----------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """One docker-registry on 127.0.0.1 (plain HTTP) with its storage in
    `workdir`, as tests/integration/test_registry.py starts it."""

    def __init__(self, workdir):
        self.dir = workdir
        os.makedirs(workdir)
        self.storage = os.path.join(workdir, "storage")
        os.makedirs(self.storage)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        config = {"version": 0.1,
                  "log": {"level": "warn", "accesslog": {"disabled": True}},
                  "storage": {"filesystem": {"rootdirectory": self.storage}},
                  "http": {"addr": self.host, "secret": "berth-bench"}}
        self.config = os.path.join(workdir, "config.yml")  # JSON is YAML
        with open(self.config, "w") as f:
            json.dump(config, f)
        self.log = open(os.path.join(workdir, "registry.log"), "w")
        self.proc = subprocess.Popen([DOCKER_REGISTRY, "serve", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=CLEAN_ENV)
        def up():
            if self.proc.poll() is not None:
                return True
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        if not wait_for(up, 30, interval=0.1) or self.proc.poll() is not None:
            raise SystemExit(f"docker-registry did not start; see {workdir}/registry.log")

    @property
    def pid(self):
        return self.proc.pid

    def push(self, image, work):
        """Pushes the OCI layout inside `image`'s archive (unpacked to a temp
        dir) as bench/bench-NAME:latest; returns the reference to pull."""
        layout = os.path.join(work, f"{image.name}-layout")
        os.makedirs(layout)
        try:
            subprocess.run(["tar", "-C", layout, "-xf", image.path], check=True)
            ref = f"{self.host}/bench/bench-{image.name}:latest"
            p = subprocess.run(["skopeo", "--insecure-policy", "copy", "-q",
                                "--dest-tls-verify=false", "--dest-no-creds",
                                f"oci:{layout}:latest", f"docker://{ref}"],
                               capture_output=True, text=True, env=CLEAN_ENV, timeout=600)
            if p.returncode != 0:
                raise SystemExit(f"skopeo copy to {ref}: {p.stderr.strip()}")
            return ref
        finally:
            shutil.rmtree(layout, ignore_errors=True)

    def stop(self):
        stop_process(self.proc)
        self.log.close()


# ---- measuring --------------------------------------------------------------

def proc_cpu(pid):
    """utime+stime+cutime+cstime of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(argv, env=None, log=None):
    """Runs `argv`; returns (wall s, client CPU s incl. its children)."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log or subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {p.returncode}: {err.decode(errors='replace').strip()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime


def du(paths):
    paths = [p for p in paths if os.path.exists(p)]
    if not paths:
        return 0
    out = subprocess.run(["du", "-s", "-c", "-B1", *paths], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    return int(out[-1].split()[0])


# ---- the tools ----------------------------------------------------------------

class Berthd:
    name = "berthd"

    @staticmethod
    def missing():
        for b in (BERTHD, BERTHCTL):
            if not os.access(b, os.X_OK):
                return f"{b} not built"
        return None

    def __init__(self, base):
        self.base = base
        self.sock = os.path.join(base, "berthd.sock")
        self.root = os.path.join(base, "root")
        self.log = open(os.path.join(base, "berthd.log"), "a")
        self.proc = subprocess.Popen([BERTHD, "--address", self.sock, "--root", self.root,
                                      "--state", os.path.join(base, "state")],
                                     stdout=self.log, stderr=self.log)
        if not wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 20) \
                or self.proc.poll() is not None:
            raise RuntimeError(f"berthd did not start; see {base}/berthd.log")
        self.pids = [self.proc.pid]

    def import_argv(self, image):
        return [BERTHCTL, "--address", self.sock, "load", "-q", "-i", image.path]

    def pull_argv(self, ref):
        return [BERTHCTL, "--address", self.sock, "pull", "-q", ref]

    def check(self, image):
        out = subprocess.run([BERTHCTL, "--address", self.sock, "images"], capture_output=True,
                             text=True).stdout
        return "bench-" + image.name in out

    def stores(self):
        return [os.path.join(self.root, "content"), os.path.join(self.root, "layers")]

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class ContainerdTool:
    name = "containerd"

    @staticmethod
    def missing():
        for b in ("containerd", "ctr"):
            if not shutil.which(b):
                return f"{b} not installed (apt-get install containerd)"
        return None

    def __init__(self, base):
        self.c = Containerd(base)
        self.pids = [self.c.pid]

    def import_argv(self, image):
        return self.c.ctr_argv("images", "import", "--snapshotter", "overlayfs", image.path)

    def pull_argv(self, ref):
        return self.c.ctr_argv("images", "pull", "--plain-http", "--snapshotter", "overlayfs", ref)

    def check(self, image):
        snaps = self.c.ctr("snapshots", "--snapshotter", "overlayfs", "ls").stdout.splitlines()[1:]
        return ("bench-" + image.name in self.c.ctr("images", "ls", "-q").stdout
                and len(snaps) == image.layers)

    def stores(self):
        r = os.path.join(self.c.base, "root")
        return [os.path.join(r, "io.containerd.content.v1.content"),
                os.path.join(r, "io.containerd.snapshotter.v1.overlayfs")]

    def stop(self):
        self.c.stop()


class DockerdTool:
    name = "dockerd"

    @staticmethod
    def missing():
        if not shutil.which("dockerd"):
            return "dockerd not installed (apt-get install docker.io)"
        if not os.access(DOCKER, os.X_OK):
            return f"{DOCKER} not installed"
        return ContainerdTool.missing()

    def __init__(self, base):
        cbase = os.path.join(base, "containerd")
        os.makedirs(cbase)
        self.c = Containerd(cbase)
        try:
            self.d = Dockerd(base, self.c)
        except BaseException:
            self.c.stop()
            raise
        self.pids = [self.d.pid, self.c.pid]

    def import_argv(self, image):
        return self.d.docker_argv("load", "-q", "-i", image.path)

    def pull_argv(self, ref):
        return self.d.docker_argv("pull", "-q", ref)

    def check(self, image):
        return "bench-" + image.name in self.d.docker("images").stdout

    def stores(self):
        return [os.path.join(self.d.base, "data", "overlay2"),
                os.path.join(self.d.base, "data", "image")]

    def stop(self):
        self.d.stop()
        self.c.stop()


class PodmanTool:
    name = "podman"

    @staticmethod
    def missing():
        return None if shutil.which("podman") else "podman not installed (apt-get install podman)"

    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "root")
        tmp = os.path.join(base, "tmp")
        os.makedirs(tmp)
        self.env = dict(CLEAN_ENV, TMPDIR=tmp)
        self.pids = []

    def podman_argv(self, *args):
        return ["podman", "--root", self.root, "--runroot", os.path.join(self.base, "runroot"),
                "--storage-driver", "overlay", "--tmpdir", os.path.join(self.base, "podtmp"),
                "--events-backend", "none", "--cgroup-manager", "cgroupfs", *args]

    def import_argv(self, image):
        return self.podman_argv("load", "-q", "-i", image.path)

    def pull_argv(self, ref):
        return self.podman_argv("pull", "-q", "--tls-verify=false", ref)

    def check(self, image):
        out = subprocess.run(self.podman_argv("images"), capture_output=True, text=True,
                             env=self.env).stdout
        return "bench-" + image.name in out

    def stores(self):
        return [self.root]

    def stop(self):
        # no daemon; what podman's overlay driver mounted (if anything) is
        # unmounted by the caller before the directory is removed
        pass


TOOLS = {t.name: t for t in (Berthd, ContainerdTool, DockerdTool, PodmanTool)}


def run_one(tool_cls, image, work, index, ref=None, registry=None):
    """One import of `image` (or, with `ref`, one pull of it from `registry`)
    by a fresh `tool_cls`."""
    base = os.path.join(work, f"{tool_cls.name[:2]}{index}")
    os.makedirs(base)
    tool = None
    try:
        tool = tool_cls(base)
        env = getattr(tool, "env", None) or getattr(getattr(tool, "d", None), "env", None) \
            or getattr(getattr(tool, "c", None), "env", None)
        argv = tool.pull_argv(ref) if ref else tool.import_argv(image)
        time.sleep(0.5)  # the daemon's start-up work settles
        drop_caches()
        before = sum(proc_cpu(p) for p in tool.pids)
        reg_before = proc_cpu(registry.pid) if registry else 0
        wall, client_cpu = timed(argv, env=env)
        daemon_cpu = sum(proc_cpu(p) for p in tool.pids) - before
        registry_cpu = proc_cpu(registry.pid) - reg_before if registry else 0
        if not tool.check(image):
            raise RuntimeError(f"{tool_cls.name}: image bench-{image.name} not listed, or not "
                               f"unpacked, after the {'pull' if ref else 'import'}")
        disk = du(tool.stores())
        return dict(wall=wall, client_cpu=client_cpu, daemon_cpu=daemon_cpu, disk=disk,
                    registry_cpu=registry_cpu)
    finally:
        if tool is not None:
            tool.stop()
        reap(tool_cls.name, getattr(tool, "pids", []) if tool else [])
        unmount_all_under(base)
        shutil.rmtree(base, ignore_errors=True)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def print_table(results, images, tools, mode="import"):
    print()
    reps = max((len(r) for r in results.values()), default=1)
    print(f"{mode}:" + (f" medians of {reps} runs; wall s min-max in brackets" if reps > 1 else ""))
    pull = mode == "pull"
    print("| image | tool | wall s | CPU s (client + daemon) | "
          + ("registry CPU s | " if pull else "") + "MB/s uncompressed | disk MB | "
          "wall vs berthd (peer/berthd) | disk vs berthd (peer/berthd) |")
    print("|---|---|---|---|---|---|---|---|" + ("---|" if pull else ""))
    for image in images:
        base = results.get(("berthd", image.name))
        for t in tools:
            runs = results.get((t, image.name))
            if not runs:
                continue
            wall = median([r["wall"] for r in runs])
            ccpu = median([r["client_cpu"] for r in runs])
            dcpu = median([r["daemon_cpu"] for r in runs])
            disk = median([r["disk"] for r in runs])
            if base:
                bwall = median([r["wall"] for r in base])
                bdisk = median([r["disk"] for r in base])
                rw, rd = f"{wall / bwall:.2f}x", f"{disk / bdisk:.2f}x"
            else:
                rw = rd = "-"
            spread = "" if len(runs) < 2 else \
                f" [{min(r['wall'] for r in runs):.2f}-{max(r['wall'] for r in runs):.2f}]"
            rcpu = f" {median([r['registry_cpu'] for r in runs]):.2f} |" if pull else ""
            print(f"| {image.name} | {t} | {wall:.2f}{spread} | {ccpu + dcpu:.2f} ({ccpu:.2f} + {dcpu:.2f}) "
                  f"|{rcpu} {image.uncompressed / MB / wall:.1f} | {disk / MB:.1f} | {rw} | {rd} |")
    print()
    print("wall vs berthd > 1: the peer took longer (berthd's throughput is that many times the "
          "peer's); disk vs berthd > 1: the peer uses more disk.")


def copy_binary(path, bindir):
    """A copy of `path` in `bindir`; retried while a concurrent relink has
    the file empty or changing (its size and mtime differ before and after)."""
    for _ in range(60):
        st = os.stat(path)
        if st.st_size > 0:
            dest = shutil.copy2(path, bindir)
            after = os.stat(path)
            if (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns) \
                    and os.path.getsize(dest) == st.st_size and os.access(dest, os.X_OK):
                return dest
        time.sleep(1)
    raise SystemExit(f"{path} keeps changing (a rebuild is running); try again later")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small image + a 120 MB large one, 1 rep")
    ap.add_argument("--reps", type=int, default=1, help="runs of each tool on each image")
    ap.add_argument("--tools", default=",".join(ALL_TOOLS))
    ap.add_argument("--images", default=",".join(ALL_IMAGES))
    ap.add_argument("--large-mb", type=int, default=1000, help="uncompressed size of the large image")
    ap.add_argument("--modes", default="import",
                    help="import, pull (from a local docker-registry), or import,pull")
    ap.add_argument("--pull", action="store_const", const="pull", dest="modes",
                    help="the same as --modes pull")
    ap.add_argument("--keep-going", action="store_true", help="report a failed run and go on")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    if args.quick:
        args.reps, args.large_mb = 1, 120
    tools = [t for t in args.tools.split(",") if t]
    for t in tools:
        if t not in TOOLS:
            raise SystemExit(f"unknown tool {t}; known: {', '.join(ALL_TOOLS)}")
    names = [i for i in args.images.split(",") if i]
    for n in names:
        if n not in ALL_IMAGES:
            raise SystemExit(f"unknown image {n}; known: {', '.join(ALL_IMAGES)}")
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in ALL_MODES:
            raise SystemExit(f"unknown mode {m}; known: {', '.join(ALL_MODES)}")
    if "pull" in modes:
        for b in (DOCKER_REGISTRY, "/usr/bin/skopeo"):
            if not os.access(b, os.X_OK):
                raise SystemExit(f"{b} not installed (apt-get install docker-registry skopeo)")
    present = []
    for t in tools:
        why = TOOLS[t].missing()
        if why:
            print(f"skipping {t}: {why}")
        else:
            present.append(t)

    work = tempfile.mkdtemp(prefix="bim", dir="/tmp")
    results = {}
    registry = None
    try:
        if "berthd" in present:
            global BERTHD, BERTHCTL
            bindir = os.path.join(work, "bin")
            os.makedirs(bindir)
            for b in (BERTHD, BERTHCTL):
                copy_binary(b, bindir)
            print(f"berthd: {BERTHD}, built {time.strftime('%Y-%m-%d %H:%M', time.gmtime(os.path.getmtime(BERTHD)))} UTC")
            BERTHD, BERTHCTL = (os.path.join(bindir, os.path.basename(b)) for b in (BERTHD, BERTHCTL))
        images = []
        for n in names:
            t0 = time.monotonic()
            img = make_small(work) if n == "small" else make_large(work, args.large_mb)
            print(f"image {n}: {img.layers} gzip layer(s), {img.uncompressed / MB:.1f} MB "
                  f"uncompressed, {img.compressed / MB:.1f} MB compressed, archive "
                  f"{os.path.getsize(img.path) / MB:.1f} MB (made in {time.monotonic() - t0:.0f} s)",
                  flush=True)
            images.append(img)
        refs = {}
        if "pull" in modes:
            registry = Registry(os.path.join(work, "registry"))
            for img in images:
                t0 = time.monotonic()
                refs[img.name] = registry.push(img, work)
                print(f"pushed {refs[img.name]} in {time.monotonic() - t0:.0f} s", flush=True)
        index = 0
        for mode in modes:
            for rep in range(args.reps):
                for img in images:
                    for t in present:  # interleaved: each rep runs every tool once
                        index += 1
                        try:
                            r = run_one(TOOLS[t], img, work, index,
                                        ref=refs.get(img.name) if mode == "pull" else None,
                                        registry=registry if mode == "pull" else None)
                        except (RuntimeError, SystemExit) as e:
                            if not args.keep_going:
                                raise
                            print(f"{mode} {t} on {img.name}: FAILED: {e}", flush=True)
                            continue
                        results.setdefault((mode, t, img.name), []).append(r)
                        print(f"{mode:6} rep {rep + 1} {img.name:5} {t:10} wall {r['wall']:7.2f} s  "
                              f"cpu {r['client_cpu']:6.2f} + {r['daemon_cpu']:6.2f} s  "
                              + (f"registry {r['registry_cpu']:5.2f} s  " if mode == "pull" else "")
                              + f"disk {r['disk'] / MB:8.1f} MB", flush=True)
        for mode in modes:
            print_table({k[1:]: v for k, v in results.items() if k[0] == mode}, images, present,
                        mode)
    finally:
        if registry is not None:
            registry.stop()
            reap("docker-registry", [registry.pid])
        unmount_all_under(work)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
