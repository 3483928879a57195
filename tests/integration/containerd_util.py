"""A private containerd 1.6 for end-to-end tests: own config, socket, root
and state directories, started and stopped by the test module. With `path`,
containerd (and so the shims it starts) finds extra binaries there, such as
containerd-shim-berth-v2."""
import os
import shutil
import subprocess
import time

from conftest import wait_for

CONTAINERD = shutil.which("containerd")


class Containerd:
    def __init__(self, base, base_rootfs, path=None):
        self.base = base
        self.sock = str(base / "containerd.sock")
        self.config = base / "config.toml"
        self.config.write_text(f'''version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
''')
        self.env = dict(os.environ)
        if path:
            self.env["PATH"] = f"{path}:{self.env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
        self.log = open(base / "containerd.log", "w")
        self.rootfs = str(base / "rootfs")
        shutil.copytree(base_rootfs, self.rootfs, symlinks=True)
        self.proc = self._start()

    def _start(self):
        p = subprocess.Popen([CONTAINERD, "--config", str(self.config)], stdout=self.log,
                             stderr=self.log, env=self.env)
        assert wait_for(lambda: os.path.exists(self.sock), timeout=20), "containerd did not start"
        return p

    def ctr(self, *args, timeout=60, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(["ctr", "--address", self.sock, *args], capture_output=True,
                              text=True, timeout=timeout, env=self.env, **kw)

    def ctr_line(self, *args):
        """The ctr command line as one string (for script(1))."""
        return " ".join(["ctr", "--address", self.sock, *args])

    def restart(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = self._start()

    def task_pid(self, cid):
        for line in self.ctr("task", "ls").stdout.splitlines():
            if line.split() and line.split()[0] == cid:
                return int(line.split()[1])
        return None

    def cleanup(self, cid):
        self.ctr("task", "kill", "-s", "SIGKILL", cid)
        for _ in range(50):
            if self.ctr("task", "delete", cid).returncode == 0 or \
                    "not found" in self.ctr("task", "ls").stdout:
                break
            time.sleep(0.1)
        self.ctr("container", "delete", cid)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()
        subprocess.run(["umount", "-R", str(self.base)], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def make_oci_image(base_rootfs, workdir):
    """An OCI image layout of the busybox rootfs, made with umoci (one layer,
    cmd sh, PATH set), as the tar `ctr image import` reads."""
    layout = os.path.join(workdir, "layout")
    bundle = os.path.join(workdir, "unpacked")
    image = f"{layout}:latest"
    for args in (["init", "--layout", layout], ["new", "--image", image],
                 ["unpack", "--image", image, bundle]):
        subprocess.run(["umoci", *args], check=True, capture_output=True)
    subprocess.run(["cp", "-a", f"{base_rootfs}/.", os.path.join(bundle, "rootfs")], check=True)
    for args in (["repack", "--image", image, bundle],
                 ["config", "--image", image, "--config.cmd", "sh",
                  "--config.env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]):
        subprocess.run(["umoci", *args], check=True, capture_output=True)
    tar = os.path.join(workdir, "image.tar")
    subprocess.run(["tar", "-C", layout, "-cf", tar, "."], check=True)
    return tar


IMAGE = "localhost/berth-busybox:latest"


def import_image(ctd, tar):
    p = ctd.ctr("images", "import", "--base-name", IMAGE.split(":")[0], tar)
    assert p.returncode == 0, p.stderr
    assert IMAGE in ctd.ctr("images", "ls", "-q").stdout.split()
